//! `!enviar <cliente> <numero> <texto>`: sends a text from a tenant's WhatsApp, through
//! its outbox and paced queue like any reply.

use super::registry::{
    Answer, CommandError, Invocation, Run, Spec, existing, rest_after, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::chat::PhoneNumber;
use crate::session::{Command, SendOpts};
use crate::store::{Completion, OutboxEntry, OutboxState};
use crate::tenant::SessionState;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "enviar",
    aliases: &["send", "mandar"],
    usage: "<cliente> <numero> <texto>",
    help: "Envia um texto pelo WhatsApp do cliente para um número.",
    about_tenant: true,
    run: Run::Now(run),
};

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    let id = tenant_arg(inv, 0)?;
    let (_, db) = existing(admin, &id)?;
    let Some(number) = inv.args.get(1) else {
        return Err(CommandError::Usage("Falta o número.".to_owned()));
    };
    let phone = PhoneNumber::parse(number).map_err(|e| CommandError::Usage(e.to_string()))?;
    let text = rest_after(inv, 2);
    if text.is_empty() {
        return Err(CommandError::Usage("Falta o texto.".to_owned()));
    }
    if let Some(state) = admin
        .sessions
        .state(&id)
        .filter(|s| [SessionState::Qr, SessionState::Pairing].contains(s))
    {
        return Err(CommandError::Refused(format!(
            "{id} não está online ({}); a mensagem não foi enviada.",
            state.label()
        )));
    }
    if admin.sessions.state(&id).is_none() {
        let prefix = &admin.config.admin.prefix;
        return Err(CommandError::Refused(format!(
            "{id} não está rodando; use {prefix}iniciar {id}."
        )));
    }
    let entry = OutboxEntry {
        id: super::delivery::fresh_id(),
        to: phone.chat_id().to_string(),
        text: text.to_owned(),
        media: None,
        created_ms: crate::clock::now_ms(),
        state: OutboxState::Pending,
        attempts: 0,
        low_priority: false,
    };
    let queued = Completion {
        replies: vec![entry.clone()],
        ..Completion::default()
    };
    db.complete(&queued)?;
    let command = Command::SendText {
        to: entry.to,
        text: entry.text,
        id: entry.id,
        opts: SendOpts::default(),
    };
    admin.sessions.command(&id, command);
    let text = format!("📤 Mensagem para +{} na fila de {id}.", phone.as_str());
    Ok(vec![Out::Text(text)])
}
