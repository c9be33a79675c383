//! What the bot answers to one claimed message. Reads only: every reply and every
//! state change lands in an [`Outcome`] that the worker commits in one transaction.
//!
//! For a contact's message, in order: stale messages get at most one "voltamos"
//! (F08); a paused bot or contact stays quiet; groups pass only when the tenant
//! allows them, and then only commands and mentions (F04); a prefix command runs
//! when the contact may use it; otherwise a first contact is greeted, a keyword or
//! pattern runs its command, and outside business hours the away text goes once.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::catalog::{Action, Catalog, CommandSpec};
use super::classify::{Me, normal};
use super::permissions::{EVERYTHING, PermissionSet};
use super::plugins;
use super::settings::{CommandOverride, GroupMode, TenantSettings, TextSetting};
use super::template::{Template, Vars};
use super::words::{Parsed, clean, fold, parse_command};
use crate::ai::prompt;
use crate::bridge::event::InboundMessage;
use crate::config::Config;
use crate::replies;
use crate::store::{KvWrite, StoreResult, TenantDb};
use crate::tenant::TenantId;

/// The shortest gap between two "voltamos" or two away texts to one contact.
const ONCE_PER_MS: u64 = 12 * 3_600_000;
/// The most words a voice note may have to be taken as a spoken command.
const SPOKEN_WORDS: usize = 3;
/// The permission item of AI answers (`!negar <cliente> ia`).
pub(super) const AI_FEATURE: &str = "ia";
/// How long `!atendente` silences the bot for a contact.
pub(super) const ATTENDANT_MS: u64 = 24 * 3_600_000;

/// Plugin-state namespaces.
pub(super) mod kv {
    /// The owner's `!pausar` (key [`PAUSED`]).
    pub(crate) const OWNER: &str = "dono";
    /// The key of the whole-bot pause.
    pub(crate) const PAUSED: &str = "pausado";
    /// Contacts waiting for a person, until a time (key: the contact).
    pub(crate) const ATTENDANT: &str = "atendente";
    /// When a contact last got a "voltamos".
    pub(crate) const BACK: &str = "voltamos";
    /// When a contact last got the away text.
    pub(crate) const AWAY: &str = "ausencia";
}

/// A message journaled for handling.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Job {
    /// The message as the page reported it (text capped).
    pub(super) msg: InboundMessage,
    /// Where it came from.
    pub(super) kind: JobKind,
    /// Set once decided: the question waiting for the AI. The journal keeps it until
    /// the answer is queued, so a restart asks again instead of deciding again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ask: Option<Ask>,
    /// A voice note whose transcript is now `msg.text`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) heard: bool,
    /// For `!transcrever`: what the quoted voice note said, once heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) quoted_text: Option<String>,
}

/// A question for the AI about one message, and where its answer goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Ask {
    /// The answer's message id, fixed when decided.
    pub(super) reply_id: String,
    /// The chat the answer goes to.
    pub(super) to: String,
    /// The contact (canonical id): one question per contact at a time.
    pub(super) from: String,
    /// The history thread (canonical chat id).
    pub(super) chat: String,
    /// In a group, only this author's turns are context.
    pub(super) author: Option<String>,
    /// A command's prompt (`ai = "..."`), rendered; `None`: answer the message itself.
    pub(super) prompt: Option<String>,
}

/// Where a journaled message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum JobKind {
    /// A private chat.
    Direct,
    /// A group; whether the account was mentioned.
    Group {
        /// Mentioned.
        mentioned: bool,
    },
    /// The owner's note-to-self.
    Owner,
}

/// What recording the message taught.
#[derive(Debug, Clone, Default)]
pub(super) struct Facts {
    /// The sender as its canonical contact id (`None`: a group message without author).
    pub(super) from: Option<String>,
    /// Whether it was the contact's first message.
    pub(super) new_contact: bool,
}

/// Everything a decision reads.
pub(super) struct Scene<'a> {
    /// Whose messages.
    pub(super) tenant: &'a TenantId,
    /// Limits, prefix and time zone.
    pub(super) config: &'a Config,
    /// The client commands as loaded last.
    pub(super) catalog: &'a Catalog,
    /// The tenant's own settings (`!config`).
    pub(super) settings: &'a TenantSettings,
    /// The operator's rules for this tenant.
    pub(super) perms: &'a PermissionSet,
    /// The tenant's database, for reads (writes go in the [`Outcome`]).
    pub(super) db: &'a TenantDb,
    /// The account's own addresses.
    pub(super) me: &'a Me,
    /// Now, Unix milliseconds.
    pub(super) now_ms: u64,
    /// Now, in the operator's time zone.
    pub(super) now: jiff::Zoned,
    /// Contacts with a live (not stale) message in this batch.
    pub(super) live: &'a HashSet<String>,
    /// Whether an AI endpoint is configured.
    pub(super) ai_on: bool,
}

impl Scene<'_> {
    /// The command prefix.
    pub(super) fn prefix(&self) -> &str {
        &self.config.admin.prefix
    }

    /// Whether the tenant is open now (always, without business hours).
    pub(super) fn open_now(&self) -> bool {
        self.settings
            .hours
            .as_ref()
            .is_none_or(|h| h.is_open(self.now.datetime()))
    }

    /// The business hours as `{horario}` shows them.
    pub(super) fn hours_text(&self) -> String {
        match &self.settings.hours {
            Some(hours) => hours.to_string(),
            None => replies::any_time().to_owned(),
        }
    }
}

/// One reply to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reply {
    /// Its deterministic message id.
    pub(super) id: String,
    /// The chat.
    pub(super) to: String,
    /// The text.
    pub(super) text: String,
    /// Waits behind normal replies.
    pub(super) low_priority: bool,
}

/// The replies and state changes of a batch.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Replies, in the order they go.
    pub(super) replies: Vec<Reply>,
    /// Plugin-state changes, committed with the replies.
    pub(super) kv: Vec<KvWrite>,
    /// Settings changed (the owner's `!persona`), committed with the replies.
    pub(super) settings: Vec<(String, Option<String>)>,
    /// Questions for the AI, by the id of the message they answer.
    pub(super) asks: Vec<(String, Ask)>,
}

impl Outcome {
    /// Queues a reply to `msg`; its id depends only on the tenant, `msg` and how
    /// many replies `msg` got before, so handling `msg` again gives the same ids.
    pub(super) fn reply(&mut self, s: &Scene<'_>, msg: &InboundMessage, to: &str, text: String) {
        let id = self.next_id(s, msg);
        self.replies.push(Reply {
            id,
            to: to.to_owned(),
            text,
            low_priority: false,
        });
    }

    /// Asks the AI about `msg` for `t`; its answer takes the next reply id.
    pub(super) fn ask(&mut self, s: &Scene<'_>, t: &Target<'_>, prompt: Option<String>) {
        let author = t.msg.is_group.then(|| t.from.to_owned());
        let chat = if author.is_some() { t.to } else { t.from };
        let ask = Ask {
            reply_id: self.next_id(s, t.msg),
            to: t.to.to_owned(),
            from: t.from.to_owned(),
            chat: chat.to_owned(),
            author,
            prompt,
        };
        self.asks.push((t.msg.id.clone(), ask));
    }

    fn next_id(&self, s: &Scene<'_>, msg: &InboundMessage) -> String {
        let prefix = reply_prefix(s.tenant, &msg.id);
        let replies = self.replies.iter().filter(|r| r.id.starts_with(&prefix));
        let asks = self.asks.iter().filter(|(id, _)| *id == msg.id);
        reply_id(s.tenant, &msg.id, replies.count() + asks.count())
    }

    /// A stored value, as this batch left it.
    pub(super) fn get(&self, db: &TenantDb, ns: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        for write in self.kv.iter().rev() {
            match write {
                KvWrite::Set(n, k, v) if n == ns && k == key => return Ok(Some(v.clone())),
                KvWrite::Remove(n, k) if n == ns && k == key => return Ok(None),
                _ => {}
            }
        }
        db.kv_get(ns, key)
    }

    /// A stored time (ms) as this batch left it.
    pub(super) fn get_time(&self, db: &TenantDb, ns: &str, key: &str) -> StoreResult<Option<u64>> {
        let value = self.get(db, ns, key)?;
        Ok(value.and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
    }

    /// Whether `ns`/`key` (a contact) may get its once-in-a-while text now, noting that
    /// it does: `false` within [`ONCE_PER_MS`] of the last time.
    pub(super) fn take_turn(&mut self, s: &Scene<'_>, ns: &str, key: &str) -> StoreResult<bool> {
        let last = self.get_time(s.db, ns, key)?;
        if last.is_some_and(|t| t + ONCE_PER_MS > s.now_ms) {
            return Ok(false);
        }
        self.set_time(ns, key, s.now_ms);
        Ok(true)
    }

    /// Stores a time (ms).
    pub(super) fn set_time(&mut self, ns: &str, key: &str, t_ms: u64) {
        let value = t_ms.to_string().into_bytes();
        self.kv
            .push(KvWrite::Set(ns.to_owned(), key.to_owned(), value));
    }
}

/// The message id of reply number `slot` to message `source` of `tenant`: `3EB0`
/// and 16 hex digits, like WhatsApp Web's own ids.
pub fn reply_id(tenant: &TenantId, source: &str, slot: usize) -> String {
    format!("{}{slot:X}", reply_prefix(tenant, source))
}

fn reply_prefix(tenant: &TenantId, source: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in tenant.as_str().bytes().chain([0]).chain(source.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("3EB0{hash:016X}")
}

/// Whether a message is older than the stale window.
pub fn is_stale(config: &Config, msg: &InboundMessage, now_ms: u64) -> bool {
    let window = u64::try_from(config.limits.stale_after.as_millis()).unwrap_or(u64::MAX);
    msg.t
        .is_some_and(|t| t.saturating_mul(1_000).saturating_add(window) < now_ms)
}

/// Decides the replies to one claimed message.
pub(super) fn decide(
    s: &Scene<'_>,
    job: &Job,
    facts: &Facts,
    out: &mut Outcome,
) -> StoreResult<()> {
    match job.kind {
        JobKind::Owner => plugins::owner_note(s, &job.msg, out),
        JobKind::Direct | JobKind::Group { .. } => contact_message(s, job, facts, out),
    }
}

fn contact_message(s: &Scene<'_>, job: &Job, facts: &Facts, out: &mut Outcome) -> StoreResult<()> {
    let msg = &job.msg;
    let Some(to) = normal(&msg.chat_id) else {
        return Ok(());
    };
    let direct = job.kind == JobKind::Direct;
    if is_stale(s.config, msg, s.now_ms) {
        return match (direct, facts.from.as_deref()) {
            (true, Some(from)) => back_again(s, msg, from, &to, out),
            _ => Ok(()),
        };
    }
    if bot_paused(s, facts.from.as_deref(), out)? || blocked(s, facts.from.as_deref()) {
        return Ok(());
    }
    let text = msg.text.as_deref().unwrap_or_default();
    let mut command = parse_command(text, s.prefix());
    if job.heard && command.is_none() {
        command = spoken_command(s, text);
    }
    if let JobKind::Group { mentioned } = job.kind
        && !group_passes(s, mentioned, command.is_some())
    {
        return Ok(());
    }
    let Some(from) = facts.from.as_deref() else {
        if let Some(parsed) = command {
            out.reply(s, msg, &to, replies::denied(s.prefix(), &parsed.name));
        }
        return Ok(());
    };
    let reply = Target {
        msg,
        to: &to,
        from,
        quoted_text: job.quoted_text.as_deref(),
    };
    if job.heard && echo_on(s) {
        out.reply(s, msg, &to, replies::voice_echo(text));
    }
    match command {
        Some(parsed) => run_command(s, &reply, &parsed, out),
        None => plain_text(s, &reply, text, facts.new_contact, job.kind, out),
    }
}

/// Whether transcripts go back to the contact: the tenant's `transcricao.eco`, else
/// `[transcription] echo`.
fn echo_on(s: &Scene<'_>) -> bool {
    s.settings
        .transcript_echo
        .unwrap_or(s.config.transcription.echo)
}

/// Words spoken in a short voice note that name a command ("menu", "horário por
/// favor") run it as if typed with the prefix; longer speech is a message.
fn spoken_command(s: &Scene<'_>, text: &str) -> Option<Parsed> {
    let words: Vec<String> = fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let (first, rest) = words.split_first()?;
    if words.len() > SPOKEN_WORDS || enabled(s, first).is_none() {
        return None;
    }
    Some(Parsed {
        name: first.clone(),
        args: rest.to_vec(),
        rest: rest.join(" "),
    })
}

/// Where an answer goes and whom it is for.
pub(super) struct Target<'a> {
    pub(super) msg: &'a InboundMessage,
    /// The chat to answer in.
    pub(super) to: &'a str,
    /// The contact (canonical id) permissions are decided on.
    pub(super) from: &'a str,
    /// What the quoted voice note said, when `!transcrever` had it heard.
    pub(super) quoted_text: Option<&'a str>,
}

/// Whether the operator denied everything to this contact: it gets no answer at all.
fn blocked(s: &Scene<'_>, from: Option<&str>) -> bool {
    from.is_some_and(|from| !s.perms.allows(EVERYTHING, Some(from), true))
}

/// Whether the owner paused the bot, or this contact waits for a person.
fn bot_paused(s: &Scene<'_>, from: Option<&str>, out: &Outcome) -> StoreResult<bool> {
    if out.get(s.db, kv::OWNER, kv::PAUSED)?.is_some() {
        return Ok(true);
    }
    let Some(from) = from else {
        return Ok(false);
    };
    let until = out.get_time(s.db, kv::ATTENDANT, from)?;
    Ok(until.is_some_and(|until| until > s.now_ms))
}

fn group_passes(s: &Scene<'_>, mentioned: bool, is_command: bool) -> bool {
    if !s.perms.feature("grupos", None) {
        return false;
    }
    match s.settings.groups {
        GroupMode::Off => false,
        GroupMode::Mentions => is_command || mentioned,
        GroupMode::All => true,
    }
}

/// At most one short "voltamos" per contact for messages that waited too long; none
/// when the contact also has a live message (it gets a real answer).
fn back_again(
    s: &Scene<'_>,
    msg: &InboundMessage,
    from: &str,
    to: &str,
    out: &mut Outcome,
) -> StoreResult<()> {
    if s.live.contains(from) || blocked(s, Some(from)) || bot_paused(s, Some(from), out)? {
        return Ok(());
    }
    if !out.take_turn(s, kv::BACK, from)? {
        return Ok(());
    }
    out.reply(s, msg, to, replies::back_again().to_owned());
    if let Some(last) = out.replies.last_mut() {
        last.low_priority = true;
    }
    Ok(())
}

/// A prefix command: unknown, turned off, denied, or run.
fn run_command(
    s: &Scene<'_>,
    t: &Target<'_>,
    parsed: &Parsed,
    out: &mut Outcome,
) -> StoreResult<()> {
    let prefix = s.prefix();
    let Some(spec) = enabled(s, &parsed.name) else {
        let hint = s
            .catalog
            .suggest(&parsed.name)
            .filter(|h| enabled(s, h).is_some());
        let text = replies::unknown_command(prefix, &parsed.name, hint);
        out.reply(s, t.msg, t.to, text);
        return Ok(());
    };
    if !may_use(s, spec, t.from) {
        out.reply(s, t.msg, t.to, replies::denied(prefix, &spec.name));
        return Ok(());
    }
    run_action(s, t, spec, &parsed.rest, out)
}

/// A command by name or alias, unless the tenant turned it off.
pub(super) fn enabled<'c>(s: &Scene<'c>, word: &str) -> Option<&'c CommandSpec> {
    let spec = s.catalog.command(word)?;
    match s.settings.commands.get(&spec.name) {
        Some(CommandOverride::Off) => None,
        _ => Some(spec),
    }
}

/// Whether a contact may use a command.
pub(super) fn may_use(s: &Scene<'_>, spec: &CommandSpec, from: &str) -> bool {
    s.perms.allows(EVERYTHING, Some(from), true)
        && s.perms.allows(&spec.name, Some(from), !spec.restricted)
}

/// Runs a command's action (or the tenant's replacement text).
fn run_action(
    s: &Scene<'_>,
    t: &Target<'_>,
    spec: &CommandSpec,
    args: &str,
    out: &mut Outcome,
) -> StoreResult<()> {
    if let Some(CommandOverride::Reply(template)) = s.settings.commands.get(&spec.name) {
        return templated(s, t, template, args, out);
    }
    match &spec.action {
        Action::Reply(template) => templated(s, t, template, args, out),
        Action::Plugin(plugin) => plugins::run(s, t, *plugin, args, out),
        Action::Ai(prompt) => {
            if !s.ai_on || !s.perms.feature(AI_FEATURE, Some(t.from)) {
                out.reply(s, t.msg, t.to, replies::ai_unavailable(s.prefix()));
            } else {
                let prompt = prompt.render(&vars(s, t, args)?);
                out.ask(s, t, Some(prompt));
            }
            Ok(())
        }
    }
}

fn templated(
    s: &Scene<'_>,
    t: &Target<'_>,
    template: &Template,
    args: &str,
    out: &mut Outcome,
) -> StoreResult<()> {
    let text = template.render(&vars(s, t, args)?);
    out.reply(s, t.msg, t.to, text);
    Ok(())
}

/// The template variables for an answer to `t`.
pub(super) fn vars(s: &Scene<'_>, t: &Target<'_>, args: &str) -> StoreResult<Vars> {
    let contact = s.db.contact(t.from)?;
    let name = t
        .msg
        .push_name
        .clone()
        .or(contact.as_ref().and_then(|c| c.name.clone()));
    let number = contact.and_then(|c| c.phone).unwrap_or_default();
    let mut vars = Vars {
        nome: name.unwrap_or_else(|| replies::unnamed_contact().to_owned()),
        numero: number,
        cliente: s.tenant.to_string(),
        horario: s.hours_text(),
        args: clean(args),
        prefixo: s.prefix().to_owned(),
        ..Vars::default()
    };
    vars.set_time(&s.now);
    Ok(vars)
}

/// A message that is not a prefix command: a new contact is greeted; a keyword or
/// pattern runs its command; otherwise the away text (once, when closed) and, where
/// the tenant has AI and the contact may use it, the AI answers (in groups only when
/// the account is mentioned).
fn plain_text(
    s: &Scene<'_>,
    t: &Target<'_>,
    text: &str,
    new_contact: bool,
    kind: JobKind,
    out: &mut Outcome,
) -> StoreResult<()> {
    let direct = kind == JobKind::Direct;
    if direct
        && new_contact
        && let Some(greeting) = chosen(&s.settings.greeting, s.catalog.greeting())
    {
        templated(s, t, greeting, "", out)?;
    }
    let triggered = s
        .catalog
        .triggered(text)
        .filter(|spec| enabled(s, &spec.name).is_some() && may_use(s, spec, t.from));
    if let Some(spec) = triggered {
        return run_action(s, t, spec, "", out);
    }
    if direct && !s.open_now() {
        away(s, t, out)?;
    }
    let addressed = direct || kind == (JobKind::Group { mentioned: true });
    let askable = !text.trim().is_empty() && !prompt::looks_like_base64(text);
    if addressed && askable && s.ai_on && s.perms.feature(AI_FEATURE, Some(t.from)) {
        out.ask(s, t, None);
    }
    Ok(())
}

/// The away text, once per contact per closed spell.
fn away(s: &Scene<'_>, t: &Target<'_>, out: &mut Outcome) -> StoreResult<()> {
    let Some(template) = chosen(&s.settings.away, s.catalog.away()) else {
        return Ok(());
    };
    if !out.take_turn(s, kv::AWAY, t.from)? {
        return Ok(());
    }
    templated(s, t, template, "", out)
}

/// The tenant's text when set, else the catalog's; `off` turns it off.
fn chosen<'a>(
    setting: &'a Option<TextSetting>,
    default: Option<&'a Template>,
) -> Option<&'a Template> {
    match setting {
        Some(TextSetting::Off) => None,
        Some(TextSetting::Text(template)) => Some(template),
        None => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_ids_are_stable_and_per_tenant() {
        let (a, b) = (
            TenantId::parse("loja-a").unwrap(),
            TenantId::parse("loja-b").unwrap(),
        );
        let first = reply_id(&a, "D-1", 0);
        assert_eq!(first, reply_id(&a, "D-1", 0));
        assert_ne!(first, reply_id(&a, "D-1", 1));
        assert_ne!(first, reply_id(&b, "D-1", 0));
        assert!(first.starts_with("3EB0") && first.len() == 21, "{first}");
    }
}
