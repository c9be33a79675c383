//! `!iniciar <cliente>`: starts a stopped or failed session again; takes a session in
//! conflict back.

use super::registry::{Answer, CommandError, Invocation, Run, Spec, at_most, existing, tenant_arg};
use super::{Admin, Asker, Out};
use crate::session::Command;
use crate::tenant::SessionState;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "iniciar",
    aliases: &["start"],
    usage: "<cliente>",
    help: "Inicia a sessão do cliente (parada, falha ou em conflito).",
    about_tenant: true,
    run: Run::Now(run),
};

fn run(admin: &Admin, asker: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 1)?;
    let id = tenant_arg(inv, 0)?;
    existing(admin, &id)?;
    if let Some(state) = admin.sessions.state(&id) {
        if state == SessionState::Conflict && admin.sessions.command(&id, Command::Takeover) {
            return Ok(vec![Out::Text(format!(
                "🔁 Retomando {id} neste servidor."
            ))]);
        }
        return Err(CommandError::Refused(format!(
            "{id} já está rodando ({}).",
            state.label()
        )));
    }
    admin.delivery.begin(&id, &asker.chat, None);
    admin.sessions.start(&id);
    Ok(vec![Out::Text(format!("▶️ Iniciando {id}…"))])
}
