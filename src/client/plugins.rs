//! The built-in plugins a command may run (`plugin = "..."` in `commands/*.toml`), and
//! the owner's own commands sent as a note-to-self from the linked phone.

use super::catalog::Plugin;
use super::classify::normal;
use super::handle::{ATTENDANT_MS, Outcome, Scene, Target, enabled, kv, may_use, vars};
use super::words::{self, parse_command};
use crate::ai::persona;
use crate::bridge::event::InboundMessage;
use crate::chat::{ChatId, PhoneNumber};
use crate::replies;
use crate::store::{KvWrite, StoreResult};

/// Runs a plugin for a contact.
pub(super) fn run(
    s: &Scene<'_>,
    t: &Target<'_>,
    plugin: Plugin,
    args: &str,
    out: &mut Outcome,
) -> StoreResult<()> {
    match plugin {
        Plugin::Ajuda => help(s, t, args, out),
        Plugin::Atendente => attendant(s, t, out),
        Plugin::Transcrever => {
            let text = match (&t.msg.quoted_id, t.quoted_text) {
                (Some(_), Some(said)) => replies::voice_echo(said),
                (Some(_), None) => replies::voice_not_a_note(s.prefix()),
                (None, _) => replies::transcribe_usage(s.prefix()),
            };
            out.reply(s, t.msg, t.to, text);
            Ok(())
        }
        Plugin::Horario => {
            let text = match &s.settings.hours {
                Some(hours) => replies::hours(&hours.to_string(), s.open_now()),
                None => replies::always_open().to_owned(),
            };
            out.reply(s, t.msg, t.to, text);
            Ok(())
        }
    }
}

/// `!ajuda`: the commands this contact may use, from their declarations;
/// `!ajuda <comando>`: one command's usage, help and aliases.
fn help(s: &Scene<'_>, t: &Target<'_>, args: &str, out: &mut Outcome) -> StoreResult<()> {
    let prefix = s.prefix();
    let wanted = args.split_whitespace().next();
    let text = match wanted {
        Some(word) => {
            let word = word.trim_start_matches(prefix);
            match enabled(s, word).filter(|spec| may_use(s, spec, t.from)) {
                Some(spec) => {
                    let usage = format!("{prefix}{} {}", spec.name, spec.usage);
                    replies::help_detail(usage.trim_end(), &spec.help, &spec.aliases, prefix)
                }
                None => replies::unknown_command(prefix, word, None),
            }
        }
        None => {
            let mut lines = vec![replies::help_header().to_owned()];
            for spec in s.catalog.commands() {
                if enabled(s, &spec.name).is_some() && may_use(s, spec, t.from) {
                    lines.push(format!("{prefix}{} — {}", spec.name, spec.help));
                }
            }
            lines.push(replies::help_footer(prefix));
            lines.join("\n")
        }
    };
    out.reply(s, t.msg, t.to, text);
    Ok(())
}

/// `!atendente`: the bot goes quiet with this contact and the owner is told.
fn attendant(s: &Scene<'_>, t: &Target<'_>, out: &mut Outcome) -> StoreResult<()> {
    out.set_time(kv::ATTENDANT, t.from, s.now_ms + ATTENDANT_MS);
    out.reply(s, t.msg, t.to, replies::attendant_called().to_owned());
    let Some(owner) = s.me.chat.as_deref() else {
        tracing::warn!("own number unknown: the owner was not told about !atendente");
        return Ok(());
    };
    let vars = vars(s, t, "")?;
    let number = if vars.numero.is_empty() {
        t.from.to_owned()
    } else {
        vars.numero
    };
    let note = replies::attendant_wanted(s.prefix(), &vars.nome, &number);
    out.reply(s, t.msg, owner, note);
    Ok(())
}

/// The contact a `!retomar` names: a phone number, or an address (a LID) as the owner
/// was shown it; mapped to the contact's canonical id.
fn contact_of(s: &Scene<'_>, text: &str) -> StoreResult<Option<String>> {
    let address = match (PhoneNumber::parse(text), ChatId::parse(text)) {
        (Ok(phone), _) => phone.chat_id().to_string(),
        (_, Ok(chat)) => chat.to_string(),
        _ => return Ok(None),
    };
    Ok(Some(s.db.canonical_chat(&address)?))
}

/// The owner's note-to-self: `!pausar`, `!retomar [numero]`, `!persona [nome|texto]`;
/// any other note is ignored.
pub(super) fn owner_note(
    s: &Scene<'_>,
    msg: &InboundMessage,
    out: &mut Outcome,
) -> StoreResult<()> {
    let prefix = s.prefix();
    let Some(parsed) = parse_command(msg.text.as_deref().unwrap_or_default(), prefix) else {
        return Ok(());
    };
    let Some(to) = normal(&msg.chat_id) else {
        return Ok(());
    };
    let number = Some(parsed.rest.as_str()).filter(|r| !r.is_empty());
    let text = match (parsed.name.as_str(), number) {
        ("pausar", _) => {
            out.set_time(kv::OWNER, kv::PAUSED, s.now_ms);
            replies::paused(prefix)
        }
        ("retomar", None) => {
            let key = (kv::OWNER.to_owned(), kv::PAUSED.to_owned());
            out.kv.push(KvWrite::Remove(key.0, key.1));
            replies::resumed().to_owned()
        }
        ("retomar", Some(number)) => match contact_of(s, number)? {
            Some(contact) => {
                let shown = replies::resumed_contact(contact.trim_end_matches("@c.us"));
                let key = (kv::ATTENDANT.to_owned(), contact);
                out.kv.push(KvWrite::Remove(key.0, key.1));
                shown
            }
            None => replies::resume_usage(prefix),
        },
        ("persona", _) => persona(s, &parsed.rest, out)?,
        _ => return Ok(()),
    };
    out.reply(s, msg, &to, text);
    Ok(())
}

/// The owner's `!persona`: without text, the persona in use and the named ones; with a
/// name or a description, the AI's new persona (stored with the reply).
fn persona(s: &Scene<'_>, text: &str, out: &mut Outcome) -> StoreResult<String> {
    let personas = s.catalog.personas();
    let tenant = s.tenant.as_str();
    let usage = format!("Uso: {}persona <nome|texto>", s.prefix());
    // The operator's form names the tenant first; here it is always this one.
    let text = match text.split_once(char::is_whitespace) {
        Some((first, rest)) if words::fold(first) == tenant => rest.trim(),
        _ if words::fold(text.trim()) == tenant => "",
        _ => text,
    };
    if text.trim().is_empty() {
        let stored = s.db.settings()?.remove(persona::SETTING);
        let current = personas.resolve(stored.as_deref()).describe();
        let names: Vec<&str> = personas.list().iter().map(|p| p.name.as_str()).collect();
        return Ok(replies::persona_shown(tenant, &current, &names, &usage));
    }
    Ok(match personas.choose(text) {
        Ok(choice) => {
            out.settings
                .push((persona::SETTING.to_owned(), choice.stored()));
            replies::persona_set(tenant, &choice.describe(personas))
        }
        Err(e) => format!("{e}\n{usage}"),
    })
}
