//! The operator commands: one declaration each (name, English aliases, usage, help),
//! one file each, all listed in [`COMMANDS`]. `!ajuda` is made from these
//! declarations.
//!
//! Parsing: the prefix and the name ignore case, the text is NFC-normalised with
//! invisible marks stripped, any whitespace splits the arguments. An unknown name gets
//! `comando desconhecido` with the closest name; wrong arguments get the usage. Every
//! command and its outcome go to the audit log.

use std::future::Future;
use std::pin::Pin;

use tracing::{error, info};

use super::{Admin, Asker, Out, first_line};
use crate::chat::{PhoneError, PhoneNumber};
use crate::client::words::{clean, closest, is_invisible, normalize, parse_command};
use crate::replies;
use crate::store::{StoreError, TenantDb};
use crate::tenant::{TenantId, TenantRecord};

/// A boxed future, as command functions return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A command's function.
#[derive(Clone, Copy)]
pub enum Run {
    /// Answers at once.
    Now(fn(&Admin, &Asker, &Invocation) -> Answer),
    /// Waits for something first (a browser to close, say).
    Later(for<'a> fn(&'a Admin, &'a Asker, &'a Invocation) -> BoxFuture<'a, Answer>),
}

/// A command's result.
pub type Answer = Result<Vec<Out>, CommandError>;

/// One operator command's declaration.
pub struct Spec {
    /// The pt-BR name (`novo`).
    pub name: &'static str,
    /// Other names, English ones included (`new`).
    pub aliases: &'static [&'static str],
    /// The arguments part of the usage line (`<cliente> [telefone]`).
    pub usage: &'static str,
    /// One sentence for `!ajuda`.
    pub help: &'static str,
    /// Whether the first argument names a tenant (for the audit log).
    pub about_tenant: bool,
    /// The function.
    pub run: Run,
}

/// A command as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The name as typed, normalised.
    pub name: String,
    /// The arguments.
    pub args: Vec<String>,
    /// Everything after the name, as typed (trimmed).
    pub rest: String,
}

/// Why a command did not do its job.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The arguments are wrong; the text says what, the usage follows.
    #[error("{0}")]
    Usage(String),
    /// Refused, with a short pt-BR reason for the operator.
    #[error("{0}")]
    Refused(String),
    /// Something broke inside; the operator gets a generic text, the log the detail.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TenantExists(_) | StoreError::TenantNotFound(_) => {
                CommandError::Refused(e.user_message())
            }
            other => CommandError::Internal(other.to_string()),
        }
    }
}

/// Every operator command, in the order `!ajuda` lists them.
pub const COMMANDS: &[Spec] = &[
    super::ajuda::SPEC,
    super::novo::SPEC,
    super::qr_cmd::SPEC,
    super::link_cmd::SPEC,
    super::status::SPEC,
    super::clientes::SPEC,
    super::parar::SPEC,
    super::iniciar::SPEC,
    super::remover::SPEC,
    super::backup_cmd::SPEC,
    super::backups_cmd::SPEC,
    super::restaurar::SPEC,
    super::logs::SPEC,
    super::historico::SPEC,
    super::permitir::ALLOW,
    super::permitir::DENY,
    super::persona::SPEC,
    super::config_cmd::SPEC,
    super::enviar::SPEC,
    super::recarregar::SPEC,
];

/// A command by name or alias (already normalised).
pub fn find(word: &str) -> Option<&'static Spec> {
    COMMANDS
        .iter()
        .find(|s| s.name == word || s.aliases.contains(&word))
}

fn every_word() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
}

/// Runs the command in `text` for `asker` and returns the answers; audits it.
pub async fn execute(admin: &Admin, asker: &Asker, text: &str) -> Vec<Out> {
    let prefix = admin.config.admin.prefix.clone();
    let Some(parsed) = parse_command(text, &prefix) else {
        return vec![Out::Text(replies::admin_hint(&prefix))];
    };
    let Some(spec) = find(&crate::client::words::fold(&parsed.name)) else {
        let hint = closest(&parsed.name, every_word());
        admin.audit(asker, None, &first_line(text), "comando desconhecido");
        let reply = replies::unknown_command(&prefix, &parsed.name, hint);
        return vec![Out::Text(reply)];
    };
    let inv = Invocation {
        name: parsed.name,
        args: parsed.args,
        rest: parsed.rest,
    };
    let tenant = spec
        .about_tenant
        .then(|| inv.args.first().and_then(|a| TenantId::parse(a).ok()))
        .flatten();
    let result = match spec.run {
        Run::Now(run) => run(admin, asker, &inv),
        Run::Later(run) => run(admin, asker, &inv).await,
    };
    let (outs, outcome) = settle(spec, &prefix, result);
    info!(command = spec.name, outcome = %outcome, "operator command");
    admin.audit(asker, tenant.as_ref(), &first_line(text), &outcome);
    outs
}

/// The answers and the audit outcome of a command's result.
fn settle(spec: &Spec, prefix: &str, result: Answer) -> (Vec<Out>, String) {
    match result {
        Ok(outs) => (outs, "ok".to_owned()),
        Err(CommandError::Usage(what)) => {
            let text = replies::usage(&what, &usage_line(spec, prefix), spec.help);
            (vec![Out::Text(text)], format!("uso: {what}"))
        }
        Err(CommandError::Refused(why)) => {
            let outcome = format!("recusado: {why}");
            (vec![Out::Text(why)], outcome)
        }
        Err(CommandError::Internal(detail)) => {
            error!(command = spec.name, error = %detail, "operator command failed");
            let text = replies::internal_error().to_owned();
            (vec![Out::Text(text)], format!("erro: {detail}"))
        }
    }
}

/// `!novo <cliente> [telefone]`.
pub fn usage_line(spec: &Spec, prefix: &str) -> String {
    format!("{prefix}{} {}", spec.name, spec.usage)
        .trim_end()
        .to_owned()
}

/// The tenant named by argument `index`, validated (the rule is shown when invalid).
pub fn tenant_arg(inv: &Invocation, index: usize) -> Result<TenantId, CommandError> {
    let Some(text) = inv.args.get(index) else {
        return Err(CommandError::Usage(replies::missing_tenant().to_owned()));
    };
    TenantId::parse(text).map_err(|e| CommandError::Refused(e.to_string()))
}

/// An existing tenant's record and database.
pub fn existing(
    admin: &Admin,
    id: &TenantId,
) -> Result<(TenantRecord, std::sync::Arc<TenantDb>), CommandError> {
    let Some(record) = admin.store.control().tenant(id)? else {
        let prefix = &admin.config.admin.prefix;
        return Err(CommandError::Refused(replies::tenant_not_found(
            prefix,
            id.as_str(),
        )));
    };
    Ok((record, admin.store.tenant(id)?))
}

/// The text after the first `n` arguments, as typed (free text such as a message).
/// Invisible marks between words separate like spaces, as they do for the arguments.
pub fn rest_after(inv: &Invocation, n: usize) -> &str {
    let blank = |c: char| c.is_whitespace() || is_invisible(c);
    let mut rest = inv.rest.as_str();
    for _ in 0..n {
        rest = rest.trim_start_matches(blank);
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest.trim_matches(blank)
}

/// Refuses words after the first `n` arguments: `!parar a b` must not stop `a` alone.
pub fn at_most(inv: &Invocation, n: usize) -> Result<(), CommandError> {
    match inv.args.len() > n {
        true => Err(CommandError::Usage(replies::too_many_args().to_owned())),
        false => Ok(()),
    }
}

/// The phone written after the first `n` arguments, spaces allowed
/// (`+55 (11) 98888-7777`); `None` when nothing follows them.
pub fn phone_after(inv: &Invocation, n: usize) -> Option<Result<PhoneNumber, PhoneError>> {
    let text = clean(rest_after(inv, n));
    (!text.is_empty()).then(|| PhoneNumber::parse(&text))
}

/// A number argument within `1..=max`, or `default` when absent.
pub fn count_arg(
    inv: &Invocation,
    index: usize,
    default: usize,
    max: usize,
) -> Result<usize, CommandError> {
    let Some(text) = inv.args.get(index) else {
        return Ok(default);
    };
    // NOTE: digits only: `usize` parsing takes "+55" (a phone's start) as 55.
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<usize>() {
        Ok(n) if digits && (1..=max).contains(&n) => Ok(n),
        _ => Err(CommandError::Usage(replies::bad_count(text, max))),
    }
}

/// `!ajuda`: every command with its usage; `!ajuda <comando>`: one command.
pub(super) fn help(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 1)?;
    let prefix = &admin.config.admin.prefix;
    let Some(word) = inv.args.first() else {
        let mut lines = vec![replies::admin_help_header().to_owned()];
        for spec in COMMANDS {
            lines.push(format!("{} — {}", usage_line(spec, prefix), spec.help));
        }
        return Ok(vec![Out::Text(lines.join("\n"))]);
    };
    let word = normalize(word.trim_start_matches(prefix.as_str()));
    let Some(spec) = find(&word) else {
        let hint = closest(&word, every_word());
        return Err(CommandError::Refused(replies::unknown_command(
            prefix, &word, hint,
        )));
    };
    let aliases: Vec<String> = spec.aliases.iter().map(|a| (*a).to_owned()).collect();
    let text = replies::help_detail(&usage_line(spec, prefix), spec.help, &aliases, prefix);
    Ok(vec![Out::Text(text)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique_and_normal() {
        let words: Vec<&str> = every_word().collect();
        let mut sorted = words.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), words.len(), "{words:?}");
        for word in words {
            assert_eq!(normalize(word), word);
        }
        for spec in COMMANDS {
            assert!(
                !spec.help.is_empty() && spec.help.len() < 120,
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn english_aliases_find_their_command() {
        for (alias, name) in [("new", "novo"), ("help", "ajuda"), ("stop", "parar")] {
            assert_eq!(find(alias).map(|s| s.name), Some(name));
        }
        assert!(find("nada").is_none());
    }

    #[test]
    fn count_arguments_are_checked() {
        let inv = |args: &[&str]| Invocation {
            name: "logs".into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            rest: args.join(" "),
        };
        assert_eq!(count_arg(&inv(&["x"]), 1, 20, 200).unwrap(), 20);
        assert_eq!(count_arg(&inv(&["x", "5"]), 1, 20, 200).unwrap(), 5);
        for bad in ["0", "201", "-1", "dez", "+5"] {
            assert!(matches!(
                count_arg(&inv(&["x", bad]), 1, 20, 200),
                Err(CommandError::Usage(_))
            ));
        }
    }
}
