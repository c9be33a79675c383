//! `!parar <cliente>`: stops a tenant's session and closes its browser.

use super::registry::{Answer, BoxFuture, Invocation, Run, Spec, at_most, existing, tenant_arg};
use super::{Admin, Asker, Out};
use crate::tenant::SessionState;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "parar",
    aliases: &["stop"],
    usage: "<cliente>",
    help: "Para a sessão do cliente e fecha o navegador (até !iniciar).",
    about_tenant: true,
    run: Run::Later(start),
};

fn start<'a>(admin: &'a Admin, _: &'a Asker, inv: &'a Invocation) -> BoxFuture<'a, Answer> {
    Box::pin(run(admin, inv))
}

async fn run(admin: &Admin, inv: &Invocation) -> Answer {
    at_most(inv, 1)?;
    let id = tenant_arg(inv, 0)?;
    let (record, _) = existing(admin, &id)?;
    admin.delivery.cancel(&id);
    admin.sessions.stop(&id).await;
    // The operator stopped it: a live link must not start it again.
    crate::panel::links::revoke(&admin.store, &id)?;
    if !record.state.is_terminal() || record.state == SessionState::Failed {
        let now = crate::clock::now_ms();
        admin
            .store
            .control()
            .set_state(&id, SessionState::Stopped, now)?;
    }
    Ok(vec![Out::Text(format!(
        "⏹️ {id} parado. Para voltar: {}iniciar {id}",
        admin.config.admin.prefix
    ))])
}
