//! One tenant's pipeline worker: takes the tenant's session events in batches and, per
//! batch, records and claims the messages in one transaction, decides the replies,
//! queues them in the outbox in one transaction, and hands them to the session.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{Instrument, debug, error, info, warn};

use super::assist::{self, Done, Lane, Prepared, Settled};
use super::catalog::{Action, Plugin};
use super::classify::{Class, Me, classify, normal, sender_phone};
use super::handle::{self, Facts, Job, JobKind, Outcome, Scene};
use super::listen::{self, Heard, Unheard};
use super::permissions::PermissionSet;
use super::pipeline::Shared;
use super::settings::TenantSettings;
use super::words::parse_command;
use crate::bridge::event::{BridgeEvent, InboundMessage};
use crate::session::split::{MAX_MESSAGE_CHARS, part_id, split_message};
use crate::session::{Command, SendOpts, SessionEvent};
use crate::store::{
    Arrival, Completion, HistoryEntry, KvWrite, MediaRef, OutboxEntry, OutboxState, Sighting,
    StoreError, StoreResult, TenantDb,
};
use crate::tenant::TenantId;

/// Events handled together at most (one transaction each way).
const MAX_BATCH: usize = 256;
/// Inbound text kept, in characters; longer texts are cut and flagged `truncated`.
pub const TEXT_CAP: usize = 16_000;
/// Tries of one store write before the batch is given up (and logged).
const WRITE_TRIES: u32 = 4;

/// The worker of one tenant.
pub(super) struct Worker {
    tenant: TenantId,
    shared: Arc<Shared>,
    me: Me,
    /// Outbox ids given to the session and not yet reported done.
    handed: HashSet<String>,
    /// Whether the journal left by an earlier run was handled.
    recovered: bool,
    /// Questions for the AI.
    lane: Lane,
    /// Voice notes being heard.
    listening: JoinSet<Heard>,
}

impl Worker {
    /// A worker for `tenant`; it learns the account's number from the store and from
    /// the session's `online`.
    pub(super) fn new(tenant: TenantId, shared: Arc<Shared>) -> Worker {
        Worker {
            tenant,
            shared,
            me: Me::default(),
            handed: HashSet::new(),
            recovered: false,
            lane: Lane::default(),
            listening: JoinSet::new(),
        }
    }

    /// Handles events until the pipeline lets go of this worker.
    /// AI answers in flight are dropped then: their questions stay journaled.
    pub(super) async fn run(mut self, mut events: mpsc::UnboundedReceiver<SessionEvent>) {
        loop {
            tokio::select! {
                event = events.recv() => {
                    let Some(first) = event else { break };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match events.try_recv() {
                            Ok(event) => batch.push(event),
                            Err(_) => break,
                        }
                    }
                    self.handle(batch).await;
                }
                Some(done) = self.lane.finished() => self.answered(done).await,
                Some(heard) = self.listening.join_next() => match heard {
                    Ok(heard) => self.heard(heard).await,
                    Err(e) => error!(error = %e, "voice note lost; heard again at next start"),
                },
            }
        }
        self.lane.abort();
        self.listening.abort_all();
    }

    fn db(&self) -> Option<Arc<TenantDb>> {
        match self.shared.store.tenant(&self.tenant) {
            Ok(db) => Some(db),
            Err(e) => {
                warn!(error = %e, "tenant database gone");
                None
            }
        }
    }

    async fn handle(&mut self, batch: Vec<SessionEvent>) {
        let Some(db) = self.db() else {
            return warn!(events = batch.len(), "events dropped");
        };
        if self.me == Me::default() {
            self.me = self.known_me();
        }
        if !self.recovered {
            self.recovered = true;
            self.recover(&db).await;
        }
        // Messages in a row are taken together; any other event first lets the
        // messages before it through, so an edit finds the message it edits.
        let mut messages = Vec::new();
        let mut online = false;
        for event in batch {
            if let SessionEvent::Inbound {
                event: BridgeEvent::Message(m),
                ..
            } = event
            {
                messages.push(*m);
                continue;
            }
            if !messages.is_empty() {
                self.take(&db, std::mem::take(&mut messages)).await;
            }
            match event {
                SessionEvent::Online { me, lid, .. } => {
                    self.me = Me {
                        chat: me.as_deref().and_then(normal).or(self.me.chat.take()),
                        lid: lid.as_deref().and_then(normal).or(self.me.lid.take()),
                    };
                    online = true;
                }
                SessionEvent::Inbound { event, .. } => self.update(&db, event).await,
                SessionEvent::SendDone {
                    id, result, unsent, ..
                } => self.sent(&db, &id, result, unsent).await,
                SessionEvent::State { state, .. } if state.is_terminal() => {
                    // NOTE: a session that ended reports nothing more; whatever it held
                    // goes again with the next one (checked against the chat first).
                    self.handed.clear();
                }
                SessionEvent::State { .. } | SessionEvent::Qr { .. } => {}
                SessionEvent::PairCode { .. } => {}
            }
        }
        if !messages.is_empty() {
            self.take(&db, messages).await;
        }
        if online {
            self.reconcile(&db).await;
        }
    }

    /// The account's number as stored, before the session says it again.
    fn known_me(&self) -> Me {
        let record = self.shared.store.control().tenant(&self.tenant);
        let phone = record.ok().flatten().and_then(|r| r.phone);
        Me {
            chat: phone.map(|p| format!("{p}@c.us")),
            lid: None,
        }
    }

    /// Records, claims and answers a batch of messages.
    /// The account's own messages are recorded after the others of their run, so a
    /// run ends before a message that follows one of ours: history keeps the order.
    async fn take(&mut self, db: &Arc<TenantDb>, messages: Vec<InboundMessage>) {
        let mut run = Vec::new();
        let mut after_own = false;
        for msg in messages {
            let own = matches!(classify(&msg, &self.me), Class::Own { .. });
            if after_own && !own {
                self.take_run(db, std::mem::take(&mut run)).await;
            }
            after_own = own;
            run.push(msg);
        }
        if !run.is_empty() {
            self.take_run(db, run).await;
        }
    }

    async fn take_run(&mut self, db: &Arc<TenantDb>, messages: Vec<InboundMessage>) {
        let mut arrivals = Vec::new();
        let mut own = Vec::new();
        let mut jobs = Vec::new();
        let taken: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
        for mut msg in messages {
            let truncated = cap_text(&mut msg);
            let class = classify(&msg, &self.me);
            let Some((arrival, job, has_sender)) = self.arrival(&msg, &class, truncated) else {
                match class {
                    Class::Own { chat } => own.push(entry(&msg, &chat, truncated)),
                    Class::Ignore(why) => debug!(id = %msg.id, kind = %msg.kind, why, "ignored"),
                    _ => {}
                }
                continue;
            };
            arrivals.push(arrival);
            jobs.push((job, has_sender));
        }
        let now = crate::clock::now_ms();
        let receive = move |db: &TenantDb| db.receive(arrivals.clone(), &taken, now);
        let arrived = match write(db, receive).await {
            Ok(arrived) => arrived,
            Err(e) => {
                error!(error = %e, "messages could not be recorded; they stay unanswered");
                return;
            }
        };
        let mut todo = Vec::new();
        for (arrived, (job, has_sender)) in arrived.into_iter().zip(jobs) {
            if !arrived.fresh {
                debug!(id = %arrived.id, "duplicate ignored");
                continue;
            }
            let facts = Facts {
                from: has_sender.then_some(arrived.from),
                new_contact: arrived.new_contact,
            };
            if let Some(seq) = arrived.job {
                todo.push((seq, job, facts));
            }
        }
        for entry in own {
            if let Err(e) = write(db, move |db| db.record_outgoing(entry.clone())).await {
                warn!(error = %e, "own message not recorded");
            }
        }
        self.answer(db, todo).await;
    }

    /// The history row and job of a message the pipeline keeps (not echoes, not
    /// ignored), and whether it names its sender.
    fn arrival(
        &self,
        msg: &InboundMessage,
        class: &Class,
        cut: bool,
    ) -> Option<(Arrival, Job, bool)> {
        let (chat, sender, kind) = match class {
            Class::Direct { chat } => (chat.clone(), Some(chat.clone()), JobKind::Direct),
            Class::Group {
                chat,
                author,
                mentioned,
            } => {
                let kind = JobKind::Group {
                    mentioned: *mentioned,
                };
                (chat.clone(), author.clone(), kind)
            }
            Class::OwnerNote => (normal(&msg.chat_id)?, None, JobKind::Owner),
            Class::Own { .. } | Class::Ignore(_) => return None,
        };
        let mut entry = entry(msg, &chat, cut);
        entry.from = sender.clone().unwrap_or_else(|| chat.clone());
        let has_sender = sender.is_some();
        let sighting = sender.map(|address| Sighting {
            phone: sender_phone(msg).filter(|_| address.ends_with("@lid")),
            address,
            name: msg.push_name.clone(),
        });
        let job = Job {
            msg: msg.clone(),
            kind,
            ask: None,
            heard: false,
            quoted_text: None,
        };
        let bytes = serde_json::to_vec(&job).ok();
        let arrival = Arrival {
            entry,
            sender: sighting,
            job: bytes,
        };
        Some((arrival, job, has_sender))
    }

    /// Handles what a run that stopped left: messages spooled by the session but not
    /// recorded, then journaled messages not yet answered.
    async fn recover(&mut self, db: &Arc<TenantDb>) {
        match read(db, |db| db.spooled()).await {
            Ok(spooled) if !spooled.is_empty() => {
                info!(
                    messages = spooled.len(),
                    "taking messages spooled before a restart"
                );
                let messages = spooled
                    .iter()
                    .filter_map(|bytes| serde_json::from_slice(bytes).ok())
                    .collect();
                self.take(db, messages).await;
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "spool unreadable"),
        }
        let pending = match read(db, |db| db.pending_jobs()).await {
            Ok(pending) => pending,
            Err(e) => return warn!(error = %e, "journal unreadable"),
        };
        if pending.is_empty() {
            return;
        }
        info!(
            jobs = pending.len(),
            "answering messages journaled before a restart"
        );
        let mut todo = Vec::new();
        for (seq, bytes) in pending {
            let Ok(job) = serde_json::from_slice::<Job>(&bytes) else {
                warn!(seq, "journal entry unreadable; dropped");
                let dropped = Completion {
                    done: vec![seq],
                    ..Completion::default()
                };
                let _ = write(db, move |db| db.complete(&dropped)).await;
                continue;
            };
            if job.ask.is_some() {
                self.lane.push(seq, job);
                continue;
            }
            let from = match job.kind {
                JobKind::Owner => None,
                JobKind::Direct => normal(&job.msg.chat_id),
                JobKind::Group { .. } => job.msg.author.as_deref().and_then(normal),
            };
            let from = from.map(|address| db.canonical_chat(&address).unwrap_or(address));
            let facts = Facts {
                from,
                new_contact: false,
            };
            todo.push((seq, job, facts));
        }
        self.answer(db, todo).await;
        self.pump(db).await;
    }

    /// Decides the replies of claimed messages, queues them with the journal cleared
    /// (or, for a question to the AI, kept with the question) in one transaction, and
    /// hands them to the session.
    async fn answer(&mut self, db: &Arc<TenantDb>, todo: Vec<(u64, Job, Facts)>) {
        let todo = self.listen_first(db, todo);
        if todo.is_empty() {
            return;
        }
        let mut outcome = match self.decide_all(db, &todo) {
            Ok(outcome) => outcome,
            Err(e) => return error!(error = %e, "replies could not be decided"),
        };
        let now = crate::clock::now_ms();
        let entries: Vec<OutboxEntry> = outcome.replies.iter().map(|r| outbox(r, now)).collect();
        let mut completion = Completion {
            replies: entries.clone(),
            kv: std::mem::take(&mut outcome.kv),
            settings: std::mem::take(&mut outcome.settings),
            ..Completion::default()
        };
        let mut asked = Vec::new();
        for (seq, job, _) in todo {
            let at = outcome.asks.iter().position(|(id, _)| *id == job.msg.id);
            let Some(ask) = at.map(|at| outcome.asks.swap_remove(at).1) else {
                completion.done.push(seq);
                continue;
            };
            let job = Job {
                ask: Some(ask),
                ..job
            };
            match serde_json::to_vec(&job) {
                Ok(bytes) => completion.later.push((seq, bytes)),
                Err(e) => error!(error = %e, "question not journaled"),
            }
            asked.push((seq, job));
        }
        let done = write(db, move |db| db.complete(&completion)).await;
        if let Err(e) = done {
            return error!(error = %e, "replies could not be queued; retried at next start");
        }
        for (reply, entry) in outcome.replies.iter().zip(entries) {
            let opts = SendOpts {
                check_first: false,
                low_priority: reply.low_priority,
            };
            self.hand(entry, opts);
        }
        for (seq, job) in asked {
            self.lane.push(seq, job);
        }
        self.pump(db).await;
    }

    /// Sends the voice notes to be heard first (their text then stands for them) and
    /// returns the rest: live audio from a contact allowed `transcricao`.
    fn listen_first(
        &mut self,
        db: &TenantDb,
        todo: Vec<(u64, Job, Facts)>,
    ) -> Vec<(u64, Job, Facts)> {
        let now = crate::clock::now_ms();
        let (audio, rest): (Vec<_>, Vec<_>) = todo.into_iter().partition(|(_, job, _)| {
            !job.heard
                && job.ask.is_none()
                && job.quoted_text.is_none()
                && job.kind != JobKind::Owner
                && (listen::is_audio(&job.msg) || self.quotes_a_note(db, job))
                && !handle::is_stale(&self.shared.config, &job.msg, now)
        });
        if audio.is_empty() {
            return rest;
        }
        let (perms, language) = match self.listening_context(db) {
            Ok(context) => context,
            Err(e) => {
                error!(error = %e, "voice notes not heard; retried at next start");
                return rest;
            }
        };
        let mut rest = rest;
        for (seq, job, facts) in audio {
            if !perms.feature(listen::FEATURE, facts.from.as_deref()) {
                rest.push((seq, job, facts));
                continue;
            }
            let Some(transcriber) = self.shared.transcriber.clone() else {
                let why = Unheard::Transcribe("modelo de transcrição não carregado".into());
                let heard = Heard {
                    seq,
                    job,
                    facts,
                    result: Err(why),
                };
                self.listening.spawn(async move { heard });
                continue;
            };
            let (shared, tenant) = (Arc::clone(&self.shared), self.tenant.clone());
            let hearing = listen::hear(
                shared,
                tenant,
                transcriber,
                language.clone(),
                (seq, job, facts),
            );
            self.listening.spawn(hearing.in_current_span());
        }
        rest
    }

    /// Whether a message is `!transcrever` answering a recorded voice note.
    fn quotes_a_note(&self, db: &TenantDb, job: &Job) -> bool {
        let Some(quoted) = &job.msg.quoted_id else {
            return false;
        };
        let text = job.msg.text.as_deref().unwrap_or_default();
        let catalog = self.shared.catalog();
        let transcribes = parse_command(text, &self.shared.config.admin.prefix)
            .and_then(|parsed| catalog.command(&parsed.name))
            .is_some_and(|spec| matches!(spec.action, Action::Plugin(Plugin::Transcrever)));
        transcribes
            && db.message(quoted).ok().flatten().is_some_and(|row| {
                row.media.is_some() && ["ptt", "audio", "document"].contains(&row.kind.as_str())
            })
    }

    /// The tenant's permissions and the language its notes are heard in.
    fn listening_context(&self, db: &TenantDb) -> StoreResult<(PermissionSet, String)> {
        let perms = PermissionSet::load(self.shared.store.control(), &self.tenant)?;
        let settings = TenantSettings::from_map(&db.settings()?);
        let language = settings
            .language
            .unwrap_or_else(|| self.shared.config.transcription.language.clone());
        Ok((perms, language))
    }

    /// A voice note was heard: its transcript goes into history beside the media
    /// reference and it is answered as text; one that could not be heard gets one
    /// clear reply (or, with no session, waits for the next one).
    async fn heard(&mut self, heard: Heard) {
        let Some(db) = self.db() else { return };
        let Heard {
            seq,
            mut job,
            facts,
            result,
        } = heard;
        match result {
            Ok(text) => {
                let (id, said) = (listen::note_of(&job).to_owned(), text.clone());
                let saved = write(&db, move |db| {
                    db.update_message(&id, |e| e.text = Some(said.clone()))
                        .map(drop)
                })
                .await;
                if let Err(e) = saved {
                    warn!(error = %e, "transcript not stored in history");
                }
                if listen::note_of(&job) == job.msg.id {
                    job.msg.text = Some(text);
                    job.heard = true;
                } else {
                    job.quoted_text = Some(text);
                }
                self.answer(&db, vec![(seq, job, facts)]).await;
            }
            Err(why) => {
                let max = self.shared.config.transcription.max_duration.as_secs();
                let Some(text) = why.reply(max) else { return };
                let reply = handle::Reply {
                    id: handle::reply_id(&self.tenant, &job.msg.id, 0),
                    to: normal(&job.msg.chat_id).unwrap_or_else(|| job.msg.chat_id.clone()),
                    text,
                    low_priority: false,
                };
                let entry = outbox(&reply, crate::clock::now_ms());
                if let Err(e) = self.finish(&db, seq, vec![entry], Vec::new()).await {
                    error!(error = %e, "voice note reply not queued");
                }
            }
        }
    }

    /// Clears journal entry `seq` and queues its replies (with plugin-state writes) in
    /// one transaction, then hands the replies to the session.
    async fn finish(
        &mut self,
        db: &Arc<TenantDb>,
        seq: u64,
        replies: Vec<OutboxEntry>,
        kv: Vec<KvWrite>,
    ) -> StoreResult<()> {
        let completion = Completion {
            done: vec![seq],
            replies: replies.clone(),
            kv,
            ..Completion::default()
        };
        write(db, move |db| db.complete(&completion)).await?;
        for entry in replies {
            self.hand(entry, SendOpts::default());
        }
        Ok(())
    }

    /// Sends the questions that may go now; those settled without the endpoint (the
    /// message deleted, the budget spent) are answered at once.
    async fn pump(&mut self, db: &Arc<TenantDb>) {
        while let Some((seq, job)) = self.lane.next() {
            let now = crate::clock::now_ms();
            let Some(from) = job.ask.as_ref().map(|ask| ask.from.clone()) else {
                continue;
            };
            match assist::prepare(&self.shared, &self.tenant, db, &job, now) {
                Ok(Prepared::Ask(client, request)) => self.lane.spawn(seq, job, client, request),
                Ok(Prepared::Settle(settled)) => self.settle(db, seq, &job, settled).await,
                Err(e) => {
                    error!(error = %e, "question not asked; retried at next start");
                    self.lane.release(&from);
                }
            }
        }
    }

    /// An answer came back: it is queued (or the fallback is), with the tokens counted.
    async fn answered(&mut self, done: Done) {
        let Some(db) = self.db() else { return };
        let now = crate::clock::now_ms();
        match assist::conclude(&self.shared, &self.tenant, &db, &done, now) {
            Ok(settled) => self.settle(&db, done.seq, &done.job, settled).await,
            Err(e) => {
                error!(error = %e, "AI answer not queued; asked again at next start");
                if let Some(ask) = &done.job.ask {
                    self.lane.release(&ask.from);
                }
            }
        }
        self.pump(&db).await;
    }

    /// Queues a question's outcome and clears its journal entry in one transaction.
    async fn settle(&mut self, db: &Arc<TenantDb>, seq: u64, job: &Job, settled: Settled) {
        let Some(ask) = &job.ask else { return };
        let now = crate::clock::now_ms();
        let replies: Vec<OutboxEntry> = settled
            .reply
            .into_iter()
            .map(|text| {
                let reply = handle::Reply {
                    id: ask.reply_id.clone(),
                    to: ask.to.clone(),
                    text,
                    low_priority: false,
                };
                outbox(&reply, now)
            })
            .collect();
        let saved = self.finish(db, seq, replies, settled.kv).await;
        self.lane.release(&ask.from);
        if let Err(e) = saved {
            return error!(error = %e, "AI answer not queued; asked again at next start");
        }
        if let Some(notice) = settled.notice {
            self.shared.notify(notice);
        }
    }

    fn decide_all(&self, db: &TenantDb, todo: &[(u64, Job, Facts)]) -> StoreResult<Outcome> {
        let shared = &self.shared;
        let catalog = shared.catalog();
        let settings = TenantSettings::from_map(&db.settings()?);
        let perms = PermissionSet::load(shared.store.control(), &self.tenant)?;
        let now_ms = crate::clock::now_ms();
        let live: HashSet<String> = todo
            .iter()
            .filter(|(_, job, _)| !handle::is_stale(&shared.config, &job.msg, now_ms))
            .filter_map(|(_, _, facts)| facts.from.clone())
            .collect();
        let scene = Scene {
            tenant: &self.tenant,
            config: &shared.config,
            catalog: &catalog,
            settings: &settings,
            perms: &perms,
            db,
            me: &self.me,
            now_ms,
            now: jiff::Timestamp::now().to_zoned(shared.config.admin.timezone.clone()),
            live: &live,
            ai_on: shared.ai.is_some(),
        };
        let mut outcome = Outcome::default();
        for (_, job, facts) in todo {
            handle::decide(&scene, job, facts, &mut outcome)?;
        }
        Ok(outcome)
    }

    /// Gives a queued reply to the session; one that does not run gets it at the
    /// next `online` (reconcile).
    fn hand(&mut self, entry: OutboxEntry, opts: SendOpts) {
        let command = Command::SendText {
            to: entry.to,
            text: entry.text,
            id: entry.id.clone(),
            opts,
        };
        if self.shared.outlet.send(&self.tenant, command) {
            self.handed.insert(entry.id);
        }
    }

    /// Sends again what the outbox holds and no session has: replies queued before a
    /// crash or while the session was down. They may have gone out already, so the
    /// session checks the chat first.
    async fn reconcile(&mut self, db: &Arc<TenantDb>) {
        let pending = match read(db, |db| db.pending_outbox()).await {
            Ok(pending) => pending,
            Err(e) => return warn!(error = %e, "outbox unreadable"),
        };
        let missing: Vec<OutboxEntry> = pending
            .into_iter()
            .filter(|e| !self.handed.contains(&e.id))
            .collect();
        if !missing.is_empty() {
            info!(replies = missing.len(), "reconciling replies queued before");
        }
        for entry in missing {
            let opts = SendOpts {
                check_first: true,
                low_priority: entry.low_priority,
            };
            self.hand(entry, opts);
        }
    }

    /// A send finished: the outbox entry is sent once its last part went, or failed;
    /// one the session never tried stays pending for the next session.
    async fn sent(
        &mut self,
        db: &Arc<TenantDb>,
        id: &str,
        result: Result<(), String>,
        unsent: bool,
    ) {
        let base = id.rsplit_once('-').map_or(id, |(base, _)| base).to_owned();
        let Ok(Some(entry)) = read(db, {
            let base = base.clone();
            move |db| db.outbox_entry(&base)
        })
        .await
        else {
            return;
        };
        if unsent {
            self.handed.remove(&base);
            return debug!(id, "reply not sent before the session ended; kept pending");
        }
        let parts = split_message(&entry.text, MAX_MESSAGE_CHARS).len();
        let state = match result {
            Ok(()) if id == part_id(&base, parts.saturating_sub(1)) => OutboxState::Sent,
            Ok(()) => return,
            Err(why) => {
                error!(id, error = %why, "reply not sent");
                OutboxState::Failed(why)
            }
        };
        self.handed.remove(&base);
        let saved = write(db, move |db| {
            db.update_outbox(&base, |e| {
                e.attempts += 1;
                e.state = state.clone();
            })
        })
        .await;
        if let Err(e) = saved {
            warn!(error = %e, "outbox state not saved");
        }
    }

    /// Acks, edits and revokes update history; an edit never runs anything (F20).
    async fn update(&mut self, db: &Arc<TenantDb>, event: BridgeEvent) {
        let saved = match event {
            BridgeEvent::Ack { ack, ids, .. } => {
                let ids: Vec<String> = ids.into_iter().flatten().collect();
                write(db, move |db| {
                    for id in &ids {
                        db.update_message(id, |e| e.ack = e.ack.max(ack))?;
                    }
                    Ok(())
                })
                .await
            }
            BridgeEvent::Edit {
                id: Some(id),
                text: Some(text),
                ..
            } => {
                let (text, cut) = capped(text);
                write(db, move |db| {
                    db.update_message(&id, |e| {
                        e.text = Some(text.clone());
                        e.truncated = cut;
                        e.edited = true;
                    })
                    .map(drop)
                })
                .await
            }
            BridgeEvent::Revoke { id: Some(id), .. } => {
                write(db, move |db| {
                    db.update_message(&id, |e| e.revoked = true).map(drop)
                })
                .await
            }
            _ => Ok(()),
        };
        if let Err(e) = saved {
            warn!(error = %e, "history update not saved");
        }
    }
}

/// A history row for a message.
fn entry(msg: &InboundMessage, chat: &str, truncated: bool) -> HistoryEntry {
    let media = msg.has_media.then(|| MediaRef {
        mimetype: msg.mimetype.clone().unwrap_or_default(),
        filename: msg.filename.clone(),
        size: msg.size,
        stored_at: None,
    });
    HistoryEntry {
        id: msg.id.clone(),
        chat: chat.to_owned(),
        from: msg.from.as_deref().and_then(normal).unwrap_or_default(),
        from_me: msg.from_me,
        kind: msg.kind.clone(),
        text: msg.text.clone(),
        media,
        t_ms: msg
            .t
            .map_or_else(crate::clock::now_ms, |t| t.saturating_mul(1_000)),
        ack: 0,
        edited: false,
        revoked: false,
        truncated,
    }
}

fn outbox(reply: &handle::Reply, now_ms: u64) -> OutboxEntry {
    OutboxEntry {
        id: reply.id.clone(),
        to: reply.to.clone(),
        text: reply.text.clone(),
        media: None,
        created_ms: now_ms,
        state: OutboxState::Pending,
        attempts: 0,
        low_priority: reply.low_priority,
    }
}

/// Cuts a message's text to [`TEXT_CAP`]; `true` if it was cut.
fn cap_text(msg: &mut InboundMessage) -> bool {
    let Some(text) = msg.text.take() else {
        return false;
    };
    let (text, cut) = capped(text);
    msg.text = Some(text);
    cut
}

fn capped(text: String) -> (String, bool) {
    match text.char_indices().nth(TEXT_CAP) {
        Some((at, _)) => (text[..at].to_owned(), true),
        None => (text, false),
    }
}

/// Runs a store write off the async runtime, retrying a few times with backoff.
async fn write<T, F>(db: &Arc<TenantDb>, op: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: Fn(&TenantDb) -> StoreResult<T> + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let mut delay = Duration::from_millis(100);
    let mut tries = 0;
    loop {
        tries += 1;
        let (db, op) = (Arc::clone(db), Arc::clone(&op));
        let result = tokio::task::spawn_blocking(move || op(&db)).await;
        let result = result.unwrap_or_else(|e| {
            Err(StoreError::Corrupt {
                table: "task",
                reason: e.to_string(),
            })
        });
        match result {
            Err(e) if tries < WRITE_TRIES => {
                warn!(error = %e, tries, "store write failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
            other => return other,
        }
    }
}

/// Runs a store read off the async runtime.
async fn read<T, F>(db: &Arc<TenantDb>, op: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&TenantDb) -> StoreResult<T> + Send + 'static,
{
    let db = Arc::clone(db);
    tokio::task::spawn_blocking(move || op(&db))
        .await
        .unwrap_or_else(|e| {
            Err(StoreError::Corrupt {
                table: "task",
                reason: e.to_string(),
            })
        })
}
