//! The admin control plane: the operator runs everything by writing to the admin
//! account from their own phone (DESIGN.md §1, §7).
//!
//! - [`registry`]: the operator commands, one file each, and how a message becomes one.
//! - [`delivery`]: QR images and pairing codes sent to the operator while a tenant links.
//! - [`alerts`]: what the operator is told unasked (session lost, logged out, ...).
//! - [`console`]: the admin session's own QR on the terminal and in `admin-qr.png`.
//!
//! One task takes every session event in order: the admin session's messages become
//! operator commands (run one at a time by a second task, so that a slow `!parar`
//! never delays a QR image); the tenants' events feed QR delivery and alerts.

mod ajuda;
pub mod alerts;
mod backup_cmd;
mod backups_cmd;
mod clientes;
mod config_cmd;
pub mod console;
pub mod delivery;
mod enviar;
mod historico;
mod iniciar;
mod link_cmd;
mod logs;
mod novo;
mod parar;
mod permitir;
mod persona;
mod qr_cmd;
mod recarregar;
pub mod registry;
mod remover;
mod restaurar;
mod status;
mod voice;

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::bridge::event::{BridgeEvent, InboundMessage};
use crate::chat::PhoneNumber;
use crate::client::Pipeline;
use crate::client::classify::{Class, Me, classify, normal, sender_phone};
use crate::config::Config;
use crate::session::{Command, MediaFile, SendOpts, SessionEvent, Sessions};
use crate::store::{AuditEntry, Store};
use crate::tenant::TenantId;

/// How often the data folder's disk is checked.
const DISK_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// What a command answers: texts and images for the operator's chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// A text (split when long, paced like any reply).
    Text(String),
    /// A PNG image with its caption.
    Image {
        /// The PNG bytes.
        png: Vec<u8>,
        /// The caption.
        caption: String,
    },
}

/// Who ran a command, and where answers go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    /// The chat to answer in (the operator's chat with the admin account).
    pub chat: String,
    /// For the audit log: the operator's phone, or `admin` for a note-to-self.
    pub actor: String,
}

/// Everything the control plane works with.
pub struct Admin {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Arc<Store>,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) delivery: delivery::Deliveries,
    pub(crate) alerts: alerts::Alerts,
    pub(crate) console: console::Console,
    /// Commands heard in operators' voice notes, waiting for their `sim`.
    pub(crate) spoken: voice::Spoken,
    /// The live view the web panel shows (states, current QR codes).
    pub board: crate::panel::Board,
    me: Mutex<Me>,
}

impl Admin {
    /// The control plane of one `run`; `pair` asks a pairing code for the admin
    /// account instead of showing its QR.
    pub fn new(
        config: Arc<Config>,
        store: Arc<Store>,
        sessions: Arc<Sessions>,
        pipeline: Arc<Pipeline>,
        pair: Option<PhoneNumber>,
    ) -> Admin {
        let console = console::Console::new(&config.paths.data, pair);
        Admin {
            config,
            store,
            sessions,
            pipeline,
            delivery: delivery::Deliveries::default(),
            alerts: alerts::Alerts::default(),
            spoken: voice::Spoken::default(),
            board: crate::panel::Board::default(),
            console,
            me: Mutex::new(Me::default()),
        }
    }

    /// Takes session events until the channel closes; operator commands run one at a
    /// time on their own task.
    pub async fn run(self: Arc<Self>, mut events: mpsc::UnboundedReceiver<SessionEvent>) {
        let (commands, queue) = mpsc::unbounded_channel();
        let worker = tokio::spawn(Arc::clone(&self).commands(queue));
        let span = info_span!("admin", tenant = "admin");
        let mut disk = tokio::time::interval(DISK_CHECK);
        async {
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Some(event) => {
                            self.after_logout(&event);
                            self.on_event(event, &commands).await;
                        }
                        None => break,
                    },
                    _ = disk.tick() => {
                        self.alerts.check_disk(&self, &self.config.paths.data);
                        self.daily_backups();
                    }
                }
            }
        }
        .instrument(span)
        .await;
        drop(commands);
        let _ = worker.await;
    }

    /// A phone logged a tenant out: its credentials are archived, then cleared.
    fn after_logout(self: &Arc<Self>, event: &SessionEvent) {
        let SessionEvent::State { tenant, state, .. } = event else {
            return;
        };
        if *state != crate::tenant::SessionState::LoggedOut || tenant.is_admin() {
            return;
        }
        let (admin, tenant) = (Arc::clone(self), tenant.clone());
        tokio::spawn(async move {
            let done = crate::backup::archive_logouts(&admin.config, &admin.store, &tenant);
            if let Err(e) = done.await {
                warn!(%tenant, error = %e, "logged-out credentials not archived");
            }
        });
    }

    /// Starts the daily backup once a day at `[backups] daily_at` (local time).
    fn daily_backups(self: &Arc<Self>) {
        let Some(at) = self.config.backups.daily_at else {
            return;
        };
        let now = jiff::Timestamp::now().to_zoned(self.config.admin.timezone.clone());
        if now.time() < at {
            return;
        }
        let today = now.date().to_string();
        let Ok(db) = self.store.tenant(&TenantId::admin()) else {
            return;
        };
        if db.kv_get("backup", "daily").ok().flatten().as_deref() == Some(today.as_bytes()) {
            return;
        }
        let _ = db.kv_set("backup", "daily", today.as_bytes());
        let admin = Arc::clone(self);
        tokio::spawn(async move {
            info!("daily backups starting");
            let sessions = Some(&*admin.sessions);
            let failed = crate::backup::daily(&admin.config, &admin.store, sessions).await;
            for (tenant, why) in failed {
                admin.tell_operators(&crate::replies::daily_backup_failed(tenant.as_str(), &why));
            }
        });
    }

    async fn on_event(&self, event: SessionEvent, commands: &mpsc::UnboundedSender<Job>) {
        let tenant = event.tenant().clone();
        if !tenant.is_admin() {
            self.board.on_event(&event);
            if matches!(event, SessionEvent::Online { .. })
                && self.config.panel.is_some()
                && let Err(e) = crate::panel::links::mark_linked(&self.store, &tenant)
            {
                warn!(%tenant, error = %e, "live link not marked linked");
            }
            self.delivery.on_event(self, &event).await;
            self.alerts.on_event(self, &event);
            return;
        }
        match event {
            SessionEvent::Qr { code, .. } => self.console.show_qr(self, &code),
            SessionEvent::PairCode { code, .. } => self.console.show_pair_code(&code),
            SessionEvent::Online { me, lid, .. } => {
                *self.me.lock().unwrap_or_else(PoisonError::into_inner) = Me {
                    chat: me.as_deref().and_then(normal),
                    lid: lid.as_deref().and_then(normal),
                };
                self.console.linked(me.as_deref());
                self.alerts.admin_online(self);
            }
            SessionEvent::Inbound {
                event: BridgeEvent::Message(m),
                ..
            } => {
                if let Some(job) = self.operator_message(*m) {
                    let _ = commands.send(job);
                }
            }
            SessionEvent::Inbound { .. }
            | SessionEvent::SendDone { .. }
            | SessionEvent::State { .. } => {}
        }
    }

    /// Runs operator commands in order.
    async fn commands(self: Arc<Self>, mut queue: mpsc::UnboundedReceiver<Job>) {
        let prefix = self.config.admin.prefix.clone();
        while let Some(job) = queue.recv().await {
            let span = info_span!("command", tenant = "admin", id = %job.id);
            let outs = if job.voice {
                let heard = voice::hear(&self, &job.asker, &job.id)
                    .instrument(span)
                    .await;
                vec![Out::Text(heard)]
            } else {
                match self.spoken.confirm(&job.asker.actor, &job.text, &prefix) {
                    Some(voice::Confirmation::Run(command)) => {
                        registry::execute(&self, &job.asker, &command)
                            .instrument(span)
                            .await
                    }
                    Some(voice::Confirmation::Dropped(text)) => vec![Out::Text(text)],
                    None => {
                        registry::execute(&self, &job.asker, &job.text)
                            .instrument(span)
                            .await
                    }
                }
            };
            self.answer(&job.asker.chat, &job.id, outs);
        }
    }

    /// An operator command out of an admin-chat message, once, from an operator; a
    /// stranger gets one polite refusal per day. Edits never reach here (they are
    /// `edit` events): an edited message runs nothing.
    fn operator_message(&self, msg: InboundMessage) -> Option<Job> {
        let me = self
            .me
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let asker = match classify(&msg, &me) {
            Class::OwnerNote => Asker {
                chat: normal(&msg.chat_id)?,
                actor: "admin".to_owned(),
            },
            Class::Direct { chat } => Asker {
                actor: self.sender(&chat, &msg),
                chat,
            },
            Class::Group { .. } | Class::Own { .. } | Class::Ignore(_) => {
                debug!(id = %msg.id, "admin chat: not a command");
                return None;
            }
        };
        let text = msg.text.clone().unwrap_or_default();
        // NOTE: the admin's own chat also carries our answers' echoes: only a command
        // there is the operator talking, anything else would answer itself forever.
        let prefix = &self.config.admin.prefix;
        let command = crate::client::words::parse_command(&text, prefix).is_some();
        if asker.actor == "admin" && !command {
            return None;
        }
        if !self.claim(&msg) {
            return None;
        }
        if !self.is_operator(&asker) {
            self.refuse(&asker, &msg.id, &text);
            return None;
        }
        if crate::client::is_stale(&self.config, &msg, crate::clock::now_ms()) {
            let note = crate::replies::late_command(&first_line(&text));
            self.answer(&asker.chat, &msg.id, vec![Out::Text(note)]);
            return None;
        }
        Some(Job {
            voice: crate::client::listen::is_audio_kind(&msg.kind),
            id: msg.id,
            asker,
            text,
        })
    }

    /// The sender's phone digits when known (a LID is mapped through `senderPn`, now
    /// or learnt before), else its address.
    fn sender(&self, chat: &str, msg: &InboundMessage) -> String {
        let Ok(db) = self.store.tenant(&TenantId::admin()) else {
            return chat.to_owned();
        };
        if let Some(phone) = sender_phone(msg).filter(|_| chat.ends_with("@lid")) {
            let _ = db.link_lid(chat, &phone, crate::clock::now_ms());
        }
        let known = db.canonical_chat(chat).unwrap_or_else(|_| chat.to_owned());
        known.trim_end_matches("@c.us").to_owned()
    }

    /// Claims an admin-chat message id: `false` for a duplicate.
    fn claim(&self, msg: &InboundMessage) -> bool {
        let claimed = self
            .store
            .tenant(&TenantId::admin())
            .and_then(|db| db.claim(&msg.id, crate::clock::now_ms()));
        match claimed {
            Ok(first) => first,
            Err(e) => {
                warn!(error = %e, "admin message not claimed; not run");
                false
            }
        }
    }

    /// Whether the sender is one of `[admin] operators` (by phone or mapped LID) or
    /// the admin account itself.
    pub(crate) fn is_operator(&self, asker: &Asker) -> bool {
        if asker.actor == "admin" {
            return true;
        }
        self.config
            .admin
            .operators
            .iter()
            .any(|op| op.as_str() == asker.actor)
    }

    /// One polite refusal per stranger per day; every attempt is audited.
    fn refuse(&self, asker: &Asker, id: &str, text: &str) {
        self.audit(asker, None, &first_line(text), "recusado: não é operador");
        let today = jiff::Timestamp::now()
            .to_zoned(self.config.admin.timezone.clone())
            .date()
            .to_string();
        let Ok(db) = self.store.tenant(&TenantId::admin()) else {
            return;
        };
        let seen = db.kv_get("recusa", &asker.chat).ok().flatten();
        if seen.as_deref() == Some(today.as_bytes()) {
            return;
        }
        let _ = db.kv_set("recusa", &asker.chat, today.as_bytes());
        let refusal = crate::replies::not_an_operator().to_owned();
        self.answer(&asker.chat, id, vec![Out::Text(refusal)]);
    }

    /// Writes one audit entry.
    pub(crate) fn audit(
        &self,
        asker: &Asker,
        tenant: Option<&TenantId>,
        command: &str,
        outcome: &str,
    ) {
        let entry = AuditEntry {
            t_ms: crate::clock::now_ms(),
            actor: asker.actor.clone(),
            tenant: tenant.cloned(),
            command: command.chars().take(300).collect(),
            outcome: outcome.to_owned(),
        };
        if let Err(e) = self.store.control().append_audit(&entry) {
            warn!(error = %e, "audit entry not written");
        }
    }

    /// Sends answers to a chat through the admin session, with ids derived from the
    /// message they answer.
    pub(crate) fn answer(&self, chat: &str, source: &str, outs: Vec<Out>) {
        let admin = TenantId::admin();
        for (slot, out) in outs.into_iter().enumerate() {
            let id = crate::client::reply_id(&admin, source, slot);
            self.send(chat, out, id);
        }
    }

    /// Sends one text or image through the admin session.
    pub(crate) fn send(&self, chat: &str, out: Out, id: String) {
        let to = chat.to_owned();
        let opts = SendOpts::default();
        let command = match out {
            Out::Text(text) => Command::SendText { to, text, id, opts },
            Out::Image { png, caption } => Command::SendMedia {
                to,
                file: MediaFile {
                    bytes: png,
                    mimetype: "image/png".to_owned(),
                    filename: Some("qr.png".to_owned()),
                    caption: Some(caption),
                    ptt: false,
                },
                id,
                opts,
            },
        };
        if !self.sessions.command(&TenantId::admin(), command) {
            warn!("admin session not running: answer not sent");
        }
    }

    /// Sends a text to every operator (alerts), with fresh ids.
    pub(crate) fn tell_operators(&self, text: &str) {
        info!(alert = %first_line(text), "alert to the operators");
        for op in &self.config.admin.operators {
            let id = delivery::fresh_id();
            self.send(&op.chat_id().to_string(), Out::Text(text.to_owned()), id);
        }
    }
}

/// An operator command waiting to run.
struct Job {
    id: String,
    asker: Asker,
    text: String,
    /// A voice note: heard, then proposed for confirmation.
    voice: bool,
}

/// The first line of a text, cut to 80 characters (for the audit log and notes).
pub(crate) fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(80).collect()
}
