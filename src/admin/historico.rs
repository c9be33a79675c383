//! `!historico <cliente> [contato] [n]`: the tenant's newest messages, of one contact
//! or of all.

use super::registry::{
    Answer, CommandError, Invocation, Run, Spec, at_most, count_arg, existing, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::chat::{ChatId, PhoneNumber};
use crate::store::HistoryEntry;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "historico",
    aliases: &["history", "conversa"],
    usage: "<cliente> [contato] [n]",
    help: "Mostra as últimas n mensagens do cliente, de um contato ou de todos (padrão 20).",
    about_tenant: true,
    run: Run::Now(run),
};

/// Characters of one message shown.
const SHOWN: usize = 200;

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 3)?;
    let id = tenant_arg(inv, 0)?;
    let (_, db) = existing(admin, &id)?;
    // A short number is a count; anything else in second place is a contact.
    let count_second = inv.args.get(1).is_some_and(|a| a.len() <= 3);
    let (contact, n) = match count_second {
        true => (None, count_arg(inv, 1, 20, 200)?),
        false => (contact_arg(inv)?, count_arg(inv, 2, 20, 200)?),
    };
    let chat = match &contact {
        Some(address) => Some(db.canonical_chat(address)?),
        None => None,
    };
    let rows = db.history(chat.as_deref(), n)?;
    if rows.is_empty() {
        return Ok(vec![Out::Text(format!("💬 {id}: nenhuma mensagem."))]);
    }
    let tz = &admin.config.admin.timezone;
    let mut lines = vec![format!("💬 {id}: últimas {} mensagens", rows.len())];
    lines.extend(rows.iter().map(|row| line(row, tz)));
    Ok(vec![Out::Text(lines.join("\n"))])
}

fn contact_arg(inv: &Invocation) -> Result<Option<String>, CommandError> {
    let Some(text) = inv.args.get(1) else {
        return Ok(None);
    };
    if let Ok(phone) = PhoneNumber::parse(text) {
        return Ok(Some(phone.chat_id().to_string()));
    }
    ChatId::parse(text)
        .map(|c| Some(c.to_string()))
        .map_err(|e| CommandError::Usage(e.to_string()))
}

/// `04/12/2026 15:01 ← 5511…: texto`.
fn line(row: &HistoryEntry, tz: &jiff::tz::TimeZone) -> String {
    let at = crate::clock::local_time(row.t_ms, tz);
    let at = at.get(..16).unwrap_or(&at);
    let arrow = if row.from_me { "→" } else { "←" };
    let who = if row.from_me { &row.chat } else { &row.from };
    let who = who.trim_end_matches("@c.us");
    let mut text: String = row
        .text
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(SHOWN)
        .collect();
    if row.media.is_some() {
        text = format!("[{}] {text}", row.kind);
    }
    let marks = match (row.edited, row.revoked) {
        (_, true) => " (apagada)",
        (true, _) => " (editada)",
        _ => "",
    };
    format!("{at} {arrow} {who}: {text}{marks}")
}
