//! `!permitir` and `!negar <cliente> <comando|recurso|*> [contato]`: what a tenant, or
//! one of its contacts, may use.

use super::registry::{
    Answer, CommandError, Invocation, Run, Spec, existing, rest_after, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::chat::{ChatId, PhoneNumber};
use crate::client::permissions::{EVERYTHING, FEATURES, grant};
use crate::client::words::clean;
use crate::replies;
use crate::store::Permission;

/// `!permitir`.
pub(super) const ALLOW: Spec = Spec {
    name: "permitir",
    aliases: &["allow", "liberar"],
    usage: "<cliente> <comando|recurso|*> [contato]",
    help: "Libera um comando ou recurso (ia, transcricao, grupos) para o cliente ou um contato.",
    about_tenant: true,
    run: Run::Now(allow),
};

/// `!negar`.
pub(super) const DENY: Spec = Spec {
    name: "negar",
    aliases: &["deny", "bloquear"],
    usage: "<cliente> <comando|recurso|*> [contato]",
    help: "Bloqueia um comando ou recurso para o cliente ou um contato (* bloqueia tudo).",
    about_tenant: true,
    run: Run::Now(deny),
};

fn allow(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    run(admin, inv, Permission::Allow)
}

fn deny(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    run(admin, inv, Permission::Deny)
}

fn run(admin: &Admin, inv: &Invocation, perm: Permission) -> Answer {
    let id = tenant_arg(inv, 0)?;
    let (_, db) = existing(admin, &id)?;
    let Some(word) = inv.args.get(1) else {
        return Err(CommandError::Usage(
            "Falta o comando ou recurso.".to_owned(),
        ));
    };
    let item = item(admin, word)?;
    // The contact is the rest: a phone may be written with spaces.
    let contact = match clean(rest_after(inv, 2)).as_str() {
        "" => None,
        text => Some(db.canonical_chat(&contact(text)?)?),
    };
    grant(admin.store.control(), &id, &item, contact.as_deref(), perm)?;
    let verb = if perm == Permission::Allow {
        "✅ liberado"
    } else {
        "🚫 bloqueado"
    };
    let whom = contact.map_or("todos os contatos".to_owned(), |c| {
        c.trim_end_matches("@c.us").to_owned()
    });
    let what = if item == EVERYTHING {
        "tudo".to_owned()
    } else {
        item
    };
    Ok(vec![Out::Text(format!("{id}: {what} {verb} para {whom}."))])
}

/// A feature, `*`, or a command of the catalog (by name or alias).
fn item(admin: &Admin, word: &str) -> Result<String, CommandError> {
    let word = crate::client::words::normalize(
        word.trim_start_matches(admin.config.admin.prefix.as_str()),
    );
    if word == EVERYTHING || FEATURES.iter().any(|(f, _)| *f == word) {
        return Ok(word);
    }
    let catalog = admin.pipeline.catalog();
    if let Some(spec) = catalog.command(&word) {
        return Ok(spec.name.clone());
    }
    let features: Vec<&str> = FEATURES.iter().map(|(f, _)| *f).collect();
    let text = replies::unknown_item(&word, &features.join(", "));
    Err(CommandError::Refused(text))
}

fn contact(text: &str) -> Result<String, CommandError> {
    if let Ok(phone) = PhoneNumber::parse(text) {
        return Ok(phone.chat_id().to_string());
    }
    ChatId::parse(text)
        .map(|c| c.to_string())
        .map_err(|e| CommandError::Usage(e.to_string()))
}
