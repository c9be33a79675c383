//! AI answers for one tenant: questions wait in a lane, at most [`IN_FLIGHT`] go to
//! the endpoint at once and one per contact, so a contact's answers keep their order
//! and each sees the turns before it.
//!
//! A question is journaled with its message until its answer is queued (see
//! [`super::handle::Ask`]); a restart asks again. Before asking, and again with the
//! answer, the lane looks at the message: one deleted meanwhile gets no answer. The
//! tenant's daily budget is counted from the tokens each answer used; over it, the bot
//! answers commands only and the operator is told once that day.

use std::collections::{HashMap, HashSet, VecDeque};

use tokio::task::{Id, JoinSet};
use tracing::{Instrument, debug, info, warn};

use super::handle::{Ask, Job};
use super::pipeline::{Notice, Shared};
use super::settings::TenantSettings;
use crate::ai::{AiClient, AiError, Answer, ChatRequest, persona, prompt};
use crate::config::Config;
use crate::replies;
use crate::store::{KvWrite, StoreResult, TenantDb};
use crate::tenant::TenantId;

/// Questions of one tenant at the endpoint at once.
pub(super) const IN_FLIGHT: usize = 4;
/// Extra history rows read past the turns wanted (the message itself, later ones).
const SLACK_ROWS: usize = 32;
/// The shortest gap between two "assistant resting" notices to one contact.
const RESTING_GAP_MS: u64 = 12 * 3_600_000;

/// Where the tenant's AI state lives in its plugin store.
pub(super) mod kv {
    /// The namespace.
    pub(crate) const AI: &str = "ia";
    /// Tokens used on a day: `tokens:<yyyy-mm-dd>`.
    pub(crate) const TOKENS: &str = "tokens:";
    /// The operator was told the budget ran out that day: `aviso:<yyyy-mm-dd>`.
    pub(crate) const TOLD: &str = "aviso:";
    /// A contact was told the assistant is resting: `pausa:<contact>`.
    pub(crate) const RESTING: &str = "pausa:";
}

/// An answer that came back (or did not).
pub(super) struct Done {
    /// The journal entry.
    pub(super) seq: u64,
    /// The message and its question.
    pub(super) job: Job,
    /// What the endpoint said.
    pub(super) result: Result<Answer, AiError>,
}

/// The questions of one tenant.
#[derive(Default)]
pub(super) struct Lane {
    waiting: VecDeque<(u64, Job)>,
    busy: HashSet<String>,
    running: HashMap<Id, (u64, Job)>,
    tasks: JoinSet<Done>,
}

impl Lane {
    /// Queues a question (the job's `ask` is set).
    pub(super) fn push(&mut self, seq: u64, job: Job) {
        let queued = self.waiting.iter().any(|(s, _)| *s == seq);
        let running = self.running.values().any(|(s, _)| *s == seq);
        if !queued && !running {
            self.waiting.push_back((seq, job));
        }
    }

    /// The next question that may go now: room at the endpoint, and its contact
    /// has none in flight. The contact counts as busy until [`Lane::release`].
    pub(super) fn next(&mut self) -> Option<(u64, Job)> {
        if self.busy.len() >= IN_FLIGHT {
            return None;
        }
        let at = self.waiting.iter().position(|(_, job)| {
            job.ask
                .as_ref()
                .is_some_and(|ask| !self.busy.contains(&ask.from))
        })?;
        let (seq, job) = self.waiting.remove(at)?;
        if let Some(ask) = &job.ask {
            self.busy.insert(ask.from.clone());
        }
        Some((seq, job))
    }

    /// Sends a question to the endpoint.
    pub(super) fn spawn(&mut self, seq: u64, job: Job, client: AiClient, request: ChatRequest) {
        let task_job = job.clone();
        let asking = async move {
            let result = client.chat(&request).await;
            Done {
                seq,
                job: task_job,
                result,
            }
        };
        // The tenant's span goes along: the client's retry warnings name the tenant.
        let handle = self.tasks.spawn(asking.in_current_span());
        self.running.insert(handle.id(), (seq, job));
    }

    /// The next answer back; `None` when nothing is in flight.
    pub(super) async fn finished(&mut self) -> Option<Done> {
        loop {
            let (id, done) = match self.tasks.join_next_with_id().await? {
                Ok((id, done)) => (id, Ok(done)),
                Err(e) => (e.id(), Err(e.to_string())),
            };
            let Some((seq, job)) = self.running.remove(&id) else {
                continue;
            };
            return Some(done.unwrap_or_else(|why| Done {
                seq,
                job,
                result: Err(AiError::Client(why)),
            }));
        }
    }

    /// Lets the contact's next question go.
    pub(super) fn release(&mut self, contact: &str) {
        self.busy.remove(contact);
    }

    /// Drops what is in flight (shutdown): the journal keeps every question.
    pub(super) fn abort(&mut self) {
        self.tasks.abort_all();
    }
}

/// The key of a day's token count, in the operator's time zone.
pub(super) fn day_key(prefix: &str, config: &Config, now_ms: u64) -> String {
    let ms = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let now = jiff::Timestamp::from_millisecond(ms).unwrap_or_else(|_| jiff::Timestamp::now());
    let day = now.to_zoned(config.admin.timezone.clone()).date();
    format!("{prefix}{day}")
}

/// Tokens the tenant used today.
pub fn tokens_today(db: &TenantDb, config: &Config, now_ms: u64) -> StoreResult<u64> {
    let key = day_key(kv::TOKENS, config, now_ms);
    let value = db.kv_get(kv::AI, &key)?;
    Ok(value
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
        .unwrap_or(0))
}

/// The tenant's daily token budget: its `ia.tokens_dia`, else `[ai] daily_tokens`.
pub fn daily_budget(config: &Config, setting: Option<u64>) -> u64 {
    setting
        .or(config.ai.as_ref().map(|ai| ai.daily_tokens))
        .unwrap_or(0)
}

/// How many history rows to read for `turns` turns.
pub(super) fn rows_for(turns: u32) -> usize {
    usize::try_from(turns)
        .unwrap_or(usize::MAX)
        .saturating_add(SLACK_ROWS)
}

/// What to do with a question now.
pub(super) enum Prepared {
    /// Ask the endpoint.
    Ask(AiClient, ChatRequest),
    /// Settle it without asking.
    Settle(Settled),
}

/// A question's end: the reply, the state written with it, and what the operator hears.
#[derive(Default)]
pub(super) struct Settled {
    /// The reply (answer, fallback or notice), if any.
    pub(super) reply: Option<String>,
    /// Counters and marks.
    pub(super) kv: Vec<KvWrite>,
    /// For the operators.
    pub(super) notice: Option<Notice>,
}

/// Builds the request for a question, unless it needs none: the message was deleted,
/// AI is no longer configured, or today's budget is spent.
pub(super) fn prepare(
    shared: &Shared,
    tenant: &TenantId,
    db: &TenantDb,
    job: &Job,
    now_ms: u64,
) -> StoreResult<Prepared> {
    let (Some(ask), Some(client), Some(ai)) = (&job.ask, &shared.ai, &shared.config.ai) else {
        let reply = job.ask.as_ref().and_then(|ask| ask.prompt.as_ref());
        let prefix = &shared.config.admin.prefix;
        return Ok(Prepared::Settle(Settled {
            reply: reply.map(|_| replies::ai_unavailable(prefix)),
            ..Settled::default()
        }));
    };
    if deleted(db, &job.msg.id)? {
        info!(id = %job.msg.id, "message deleted before the AI was asked; not answered");
        return Ok(Prepared::Settle(Settled::default()));
    }
    let stored = db.settings()?;
    let settings = TenantSettings::from_map(&stored);
    let budget = daily_budget(&shared.config, settings.daily_tokens);
    if tokens_today(db, &shared.config, now_ms)? >= budget {
        return resting(shared, tenant, db, ask, budget, now_ms).map(Prepared::Settle);
    }
    let catalog = shared.catalog();
    let persona = catalog
        .personas()
        .resolve(stored.get(persona::SETTING).map(String::as_str));
    let wanted = usize::try_from(ai.history_turns).unwrap_or(usize::MAX);
    let history = db.history(Some(&ask.chat), rows_for(ai.history_turns))?;
    let turns = prompt::turns(&history, &job.msg.id, wanted, ask.author.as_deref());
    let text = match &ask.prompt {
        Some(prompt) => prompt.clone(),
        // The message as the turns show it: `[imagem] legenda` for a photo.
        None => (db.message(&job.msg.id)?.as_ref())
            .and_then(prompt::content)
            .or_else(|| job.msg.text.clone())
            .unwrap_or_default(),
    };
    let request = prompt::chat_request(&persona, tenant.as_str(), turns, &text);
    Ok(Prepared::Ask(client.clone(), request))
}

/// The budget is spent: a command's question gets a short notice, a plain message
/// gets it at most once per contact per 12 h; the operator hears once that day.
fn resting(
    shared: &Shared,
    tenant: &TenantId,
    db: &TenantDb,
    ask: &Ask,
    budget: u64,
    now_ms: u64,
) -> StoreResult<Settled> {
    let mut settled = Settled::default();
    let key = format!("{}{}", kv::RESTING, ask.from);
    let last = db
        .kv_get(kv::AI, &key)?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse::<u64>().ok());
    let due = last.is_none_or(|t| t + RESTING_GAP_MS <= now_ms);
    if ask.prompt.is_some() || due {
        settled.reply = Some(replies::ai_resting(&shared.config.admin.prefix));
        let value = now_ms.to_string().into_bytes();
        settled.kv.push(KvWrite::Set(kv::AI.into(), key, value));
    }
    tell_once(shared, tenant, db, budget, now_ms, &mut settled)?;
    Ok(settled)
}

/// Marks the day told and adds the notice, unless the operator was told today.
fn tell_once(
    shared: &Shared,
    tenant: &TenantId,
    db: &TenantDb,
    budget: u64,
    now_ms: u64,
    settled: &mut Settled,
) -> StoreResult<()> {
    let told = day_key(kv::TOLD, &shared.config, now_ms);
    if db.kv_get(kv::AI, &told)?.is_some() {
        return Ok(());
    }
    settled
        .kv
        .push(KvWrite::Set(kv::AI.into(), told, b"1".to_vec()));
    settled.notice = Some(Notice::AiBudgetSpent {
        tenant: tenant.clone(),
        budget,
    });
    Ok(())
}

/// What an answer (or a failure) becomes: the reply, signed by the persona, with its
/// tokens counted; nothing for a message deleted meanwhile; a friendly fallback when
/// the endpoint failed.
pub(super) fn conclude(
    shared: &Shared,
    tenant: &TenantId,
    db: &TenantDb,
    done: &Done,
    now_ms: u64,
) -> StoreResult<Settled> {
    let mut settled = Settled::default();
    let answer = match &done.result {
        Ok(answer) => answer,
        Err(e) => {
            warn!(id = %done.job.msg.id, error = %e, "AI failed; the contact gets an apology");
            if !deleted(db, &done.job.msg.id)? {
                settled.reply = Some(replies::ai_failed(&shared.config.admin.prefix));
            }
            settled.notice = Some(Notice::AiFailed {
                tenant: tenant.clone(),
                error: e.to_string(),
            });
            return Ok(settled);
        }
    };
    let day = day_key(kv::TOKENS, &shared.config, now_ms);
    settled
        .kv
        .push(KvWrite::Add(kv::AI.into(), day, answer.tokens));
    let stored = db.settings()?;
    let budget = daily_budget(
        &shared.config,
        TenantSettings::from_map(&stored).daily_tokens,
    );
    let used = tokens_today(db, &shared.config, now_ms)?.saturating_add(answer.tokens);
    if used >= budget {
        tell_once(shared, tenant, db, budget, now_ms, &mut settled)?;
    }
    debug!(
        tokens = answer.tokens,
        used,
        budget,
        tries = answer.tries,
        "AI answered"
    );
    if deleted(db, &done.job.msg.id)? {
        info!(id = %done.job.msg.id, "message deleted while the AI answered; not sent");
        return Ok(settled);
    }
    let catalog = shared.catalog();
    let persona = catalog
        .personas()
        .resolve(stored.get(persona::SETTING).map(String::as_str));
    settled.reply = Some(prompt::finish_answer(&answer.text, &persona));
    Ok(settled)
}

/// Whether the message was deleted for everyone.
fn deleted(db: &TenantDb, id: &str) -> StoreResult<bool> {
    Ok(db.message(id)?.is_some_and(|m| m.revoked))
}
