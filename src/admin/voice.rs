//! An operator's voice note in the admin chat: heard by the local model, shown back as
//! the command it seems to be, and run only when the operator answers `sim` within
//! [`CONFIRM_WITHIN`]; `não` (or anything else) drops it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::registry;
use super::{Admin, Asker};
use crate::client::words::{closest, fold};
use crate::replies;
use crate::session::Command;
use crate::tenant::TenantId;
use crate::transcribe::decode;

/// How long a heard command waits for its `sim`.
pub(crate) const CONFIRM_WITHIN: Duration = Duration::from_secs(5 * 60);

/// Commands heard and not yet confirmed, by operator.
#[derive(Debug, Default)]
pub(crate) struct Spoken {
    pending: Mutex<HashMap<String, (String, Instant)>>,
}

/// What an operator's text does to a command heard before.
pub(crate) enum Confirmation {
    /// `sim`: run this command.
    Run(String),
    /// `não`, or something else: the command is dropped; say this.
    Dropped(String),
}

impl Spoken {
    /// Keeps `command` for `actor`'s `sim`.
    pub(crate) fn propose(&self, actor: &str, command: String) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.insert(actor.to_owned(), (command, Instant::now() + CONFIRM_WITHIN));
    }

    /// The answer to a command heard before, if `actor` has one waiting; a typed
    /// command (with the prefix) replaces it silently.
    pub(crate) fn confirm(&self, actor: &str, text: &str, prefix: &str) -> Option<Confirmation> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let (command, until) = pending.remove(actor)?;
        if text.trim_start().starts_with(prefix) {
            return None;
        }
        if Instant::now() > until {
            return Some(Confirmation::Dropped(format!(
                "⌛ O comando ouvido expirou sem confirmação: {command}"
            )));
        }
        match fold(text.trim()).trim_end_matches(['.', '!']) {
            "sim" | "s" | "ok" | "confirmo" | "yes" => Some(Confirmation::Run(command)),
            _ => Some(Confirmation::Dropped(format!("❎ Cancelado: {command}"))),
        }
    }
}

/// Hears an operator's voice note and proposes the command it names; the reply.
pub(crate) async fn hear(admin: &Admin, asker: &Asker, msg_id: &str) -> String {
    let prefix = &admin.config.admin.prefix;
    let transcript = match transcript(admin, msg_id).await {
        Ok(text) => text,
        Err(why) => {
            tracing::warn!(id = msg_id, error = %why, "operator's voice note not heard");
            return replies::operator_voice_unheard(&why);
        }
    };
    let tenants: Vec<String> = admin
        .store
        .control()
        .tenants()
        .map(|list| list.into_iter().map(|t| t.id.to_string()).collect())
        .unwrap_or_default();
    match command_of(&transcript, prefix, &tenants) {
        Some(command) => {
            let shown = replies::operator_voice_heard(&command);
            admin.spoken.propose(&asker.actor, command);
            shown
        }
        None => replies::operator_voice_no_command(&transcript, prefix),
    }
}

/// The command a transcript names: its first word is an operator command (or alias);
/// the words after it that spell an existing tenant (`loja da ana` → `loja-da-ana`)
/// become that tenant's name.
pub(crate) fn command_of(transcript: &str, prefix: &str, tenants: &[String]) -> Option<String> {
    let words: Vec<String> = fold(transcript)
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let (first, rest) = words.split_first()?;
    let first = &without_enclitic(first);
    // Speech is not spelling: "cliente" for "clientes" still names the command, but
    // only a near-whole word does ("bom" is not "logs").
    let spec = registry::find(first).or_else(|| {
        let names = registry::COMMANDS
            .iter()
            .flat_map(|spec| std::iter::once(spec.name).chain(spec.aliases.iter().copied()))
            .filter(|name| name.starts_with(first.as_str()) || first.starts_with(name));
        registry::find(closest(first, names).filter(|_| first.chars().count() >= 4)?)
    })?;
    let mut args: Vec<String> = rest.to_vec();
    for n in (1..=args.len()).rev() {
        let joined = args[..n].join("-");
        if tenants.contains(&joined) {
            args.splice(..n, [joined]);
            break;
        }
    }
    let args = args.join(" ");
    Some(
        format!("{prefix}{} {args}", spec.name)
            .trim_end()
            .to_owned(),
    )
}

/// A word without a pronoun the transcriber may hang on it: "Clientes." is sometimes
/// heard as "Cliente-se.".
fn without_enclitic(word: &str) -> String {
    const PRONOUNS: [&str; 10] = [
        "se", "me", "te", "lhe", "lo", "la", "los", "las", "nos", "vos",
    ];
    match word.rsplit_once('-') {
        Some((stem, pronoun)) if PRONOUNS.contains(&pronoun) && !stem.is_empty() => stem.to_owned(),
        _ => word.to_owned(),
    }
}

/// The note's text: downloaded through the admin session, decoded, transcribed.
async fn transcript(admin: &Admin, msg_id: &str) -> Result<String, String> {
    let transcriber = admin
        .pipeline
        .transcriber()
        .ok_or_else(|| "modelo de voz não carregado; rode `orbitbot model fetch`".to_owned())?;
    let (reply, answer) = oneshot::channel();
    let command = Command::Download {
        msg_id: msg_id.to_owned(),
        reply,
    };
    if !admin.sessions.command(&TenantId::admin(), command) {
        return Err("a sessão do admin não está rodando".to_owned());
    }
    let download = answer
        .await
        .map_err(|_| "a sessão do admin parou".to_owned())??;
    let settings = &admin.config.transcription;
    let max = settings.max_duration;
    let mimetype = Some(download.mimetype).filter(|m| !m.is_empty());
    let audio = tokio::task::spawn_blocking(move || {
        decode::decode(&download.bytes, mimetype.as_deref(), max)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let heard = transcriber
        .transcribe(&TenantId::admin(), audio, &settings.language)
        .await
        .map_err(|e| e.to_string())?;
    Ok(heard.text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transcript_becomes_a_command_with_the_tenant_spelled() {
        let tenants = ["loja-da-ana".to_owned(), "oficina".to_owned()];
        let cases = [
            ("Status, loja da Ana.", Some("!status loja-da-ana")),
            ("Status.", Some("!status")),
            ("Cliente.", Some("!clientes")),
            ("Cliente-se.", Some("!clientes")),
            ("Logs oficina 5", Some("!logs oficina 5")),
            ("Parar loja da Ana", Some("!parar loja-da-ana")),
            ("Bom dia, tudo bem?", None),
            ("", None),
        ];
        for (said, expected) in cases {
            assert_eq!(
                command_of(said, "!", &tenants).as_deref(),
                expected,
                "{said}"
            );
        }
    }

    #[test]
    fn only_sim_within_the_time_runs() {
        let spoken = Spoken::default();
        spoken.propose("5511", "!status".into());
        let yes = spoken.confirm("5511", "Sim.", "!");
        assert!(matches!(yes, Some(Confirmation::Run(c)) if c == "!status"));
        assert!(spoken.confirm("5511", "sim", "!").is_none(), "used once");
        spoken.propose("5511", "!parar x".into());
        assert!(matches!(
            spoken.confirm("5511", "não", "!"),
            Some(Confirmation::Dropped(_))
        ));
        spoken.propose("5511", "!parar x".into());
        assert!(
            spoken.confirm("5511", "!status", "!").is_none(),
            "a typed command wins"
        );
        assert!(spoken.confirm("other", "sim", "!").is_none());
    }
}
