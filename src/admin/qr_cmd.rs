//! `!qr <cliente> [telefone]`: restarts linking and sends the current code, never a
//! cached one.

use super::registry::{
    Answer, BoxFuture, CommandError, Invocation, Run, Spec, existing, phone_after, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::replies;
use crate::tenant::SessionState;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "qr",
    aliases: &["codigo"],
    usage: "<cliente> [telefone]",
    help: "Começa a conexão de novo e manda um QR novo (com telefone, um código).",
    about_tenant: true,
    run: Run::Later(start),
};

fn start<'a>(admin: &'a Admin, asker: &'a Asker, inv: &'a Invocation) -> BoxFuture<'a, Answer> {
    Box::pin(run(admin, asker, inv))
}

async fn run(admin: &Admin, asker: &Asker, inv: &Invocation) -> Answer {
    let id = tenant_arg(inv, 0)?;
    let (record, _) = existing(admin, &id)?;
    let phone = phone_after(inv, 1)
        .transpose()
        .map_err(|e| CommandError::Usage(e.to_string()))?;
    if record.state == SessionState::Online {
        return Err(CommandError::Refused(replies::already_online(id.as_str())));
    }
    admin.sessions.stop(&id).await;
    admin.delivery.begin(&id, &asker.chat, phone);
    admin.sessions.start(&id);
    Ok(vec![Out::Text(replies::new_attempt(id.as_str()))])
}
