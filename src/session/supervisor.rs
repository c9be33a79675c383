//! One task per session: the browser's life, its states and its send queue.
//!
//! [`spawn`] starts the task. Each round it claims the profile, opens the page, then
//! loops: run due commands and sends, long-poll the page, turn events into states and
//! [`SessionEvent`]s. How a round ends decides what follows (DESIGN.md §5): a crash
//! restarts with backoff on the same profile, until `restart_attempts` crashes in a row
//! make the session `failed`; a logout moves the profile aside and ends; an idle link
//! attempt ends as `qr_expired` (the admin's instead refreshes); a stop ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{Instrument, debug, info, info_span, warn};

use super::process::{ProfilePaths, move_profile_aside};
use super::queue::SendQueue;
use super::round::Round;
use crate::bridge::BrowserOptions;
use crate::bridge::event::{BridgeEvent, InboundMessage};
use crate::bridge::page::Download;
use crate::config::Limits;
use crate::store::Store;
use crate::tenant::{SessionState, TenantId};

/// How long a stopping session may take before it is aborted (F14).
const STOP_GRACE: Duration = Duration::from_secs(20);
/// The first restart delay after a crash; it doubles per crash in a row.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest restart delay.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Everything one session needs to run.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Whose session.
    pub tenant: TenantId,
    /// Its profile and process record.
    pub paths: ProfilePaths,
    /// Browser binaries and flags (the profile is `paths.profile`).
    pub browser: BrowserOptions,
    /// The WhatsApp Web address.
    pub url: String,
    /// The engine script (wa-js or the simulator's).
    pub engine: Arc<str>,
    /// Pacing and restart limits.
    pub limits: Limits,
    /// Browsers that may be starting at once (shared by the sessions of one orbitbot):
    /// on a small machine, many starts at once would all time out.
    pub start_gate: Arc<tokio::sync::Semaphore>,
}

/// A request to a running session.
#[derive(Debug)]
pub enum Command {
    /// Queue a text (split when long) with a caller-chosen id (parts get `-2`, `-3`...).
    SendText {
        /// The chat.
        to: String,
        /// The text.
        text: String,
        /// The message id of the first part.
        id: String,
        /// How to queue it.
        opts: SendOpts,
    },
    /// Queue a media file with a caller-chosen id.
    SendMedia {
        /// The chat.
        to: String,
        /// The file.
        file: MediaFile,
        /// The message id.
        id: String,
        /// How to queue it.
        opts: SendOpts,
    },
    /// Download a message's media.
    Download {
        /// The message's key id.
        msg_id: String,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Download, String>>,
    },
    /// The last messages of a chat.
    Recent {
        /// The chat.
        chat: String,
        /// How many.
        n: u32,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Vec<InboundMessage>, String>>,
    },
    /// Mark a chat as read.
    MarkSeen(String),
    /// Ask for a pairing code for this phone (digits) instead of QR codes.
    PairingCode(String),
    /// Win the session back after a conflict.
    Takeover,
    /// Log out of this linked device.
    Logout,
    /// Close the browser and end the session.
    Stop,
}

/// How a send is queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOpts {
    /// It may have gone out already (queued before a crash): the chat is checked
    /// (`recent`) before it is sent.
    pub check_first: bool,
    /// It waits behind every normal send (a "voltamos" after downtime must not delay
    /// a live answer).
    pub low_priority: bool,
}

/// A media file to send, owned.
#[derive(Debug, Clone)]
pub struct MediaFile {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its MIME type.
    pub mimetype: String,
    /// A file name, for documents.
    pub filename: Option<String>,
    /// A caption.
    pub caption: Option<String>,
    /// Send as a voice note.
    pub ptt: bool,
}

/// What a session tells the rest of orbitbot.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The session's state changed (persisted already).
    State {
        /// Whose.
        tenant: TenantId,
        /// The new state.
        state: SessionState,
        /// Why, when there is more to say (an error, a logout reason).
        detail: Option<String>,
    },
    /// A QR code to show; `seq` counts from 1 within this link attempt.
    Qr {
        /// Whose.
        tenant: TenantId,
        /// The QR text.
        code: String,
        /// 1 for the attempt's first code.
        seq: u32,
    },
    /// A pairing code to type on the phone.
    PairCode {
        /// Whose.
        tenant: TenantId,
        /// Eight characters.
        code: String,
    },
    /// Logged in and answering.
    Online {
        /// Whose.
        tenant: TenantId,
        /// The account's chat id.
        me: Option<String>,
        /// The account's LID.
        lid: Option<String>,
    },
    /// A message, ack, revoke or edit from the page.
    Inbound {
        /// Whose.
        tenant: TenantId,
        /// The event.
        event: BridgeEvent,
    },
    /// A queued send finished: `Ok` once WhatsApp took it, `Err` after the last try.
    SendDone {
        /// Whose.
        tenant: TenantId,
        /// The message id.
        id: String,
        /// How it ended.
        result: Result<(), String>,
        /// The session ended before trying it (stopped, logged out, ...): it was not
        /// sent and may be sent by a later session.
        unsent: bool,
    },
}

impl SessionEvent {
    /// Whose session it came from.
    pub fn tenant(&self) -> &TenantId {
        match self {
            Self::State { tenant, .. }
            | Self::Qr { tenant, .. }
            | Self::PairCode { tenant, .. }
            | Self::Online { tenant, .. }
            | Self::Inbound { tenant, .. }
            | Self::SendDone { tenant, .. } => tenant,
        }
    }
}

/// The outside's handle on a session task.
#[derive(Debug)]
pub struct SessionHandle {
    tenant: TenantId,
    commands: mpsc::UnboundedSender<Command>,
    stopping: watch::Sender<bool>,
    state: watch::Receiver<SessionState>,
    queued: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl SessionHandle {
    /// Whose session.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        *self.state.borrow()
    }

    /// A receiver of state changes.
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.state.clone()
    }

    /// Messages waiting in the send queue.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Whether the task still runs.
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Sends a command; `false` if the session has ended.
    pub fn command(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Asks the session to stop and waits until its browser is gone; a session that
    /// does not end within the grace time is aborted (its browser group is killed as
    /// the task's page is dropped). Returns whether it ended by itself.
    pub async fn stop(mut self) -> bool {
        let _ = self.commands.send(Command::Stop);
        self.stopping.send_replace(true);
        if tokio::time::timeout(STOP_GRACE, &mut self.task)
            .await
            .is_ok()
        {
            return true;
        }
        warn!(tenant = %self.tenant, "session did not stop in time; aborting it");
        self.task.abort();
        let _ = self.task.await;
        false
    }
}

/// Starts a session task; `store` persists its states (not for the admin session).
pub fn spawn(
    spec: SessionSpec,
    store: Option<Arc<Store>>,
    events: mpsc::Sender<SessionEvent>,
) -> SessionHandle {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (state_tx, state) = watch::channel(SessionState::Starting);
    let (stopping, stopping_rx) = watch::channel(false);
    let queued = Arc::new(AtomicUsize::new(0));
    let tenant = spec.tenant.clone();
    let span = info_span!("session", tenant = %tenant);
    let ctx = Ctx {
        spec,
        store,
        events,
        state: state_tx,
        queued: Arc::clone(&queued),
        stopping: stopping_rx,
    };
    let task = tokio::spawn(supervise(ctx, command_rx).instrument(span));
    SessionHandle {
        tenant,
        commands,
        stopping,
        state,
        queued,
        task,
    }
}

/// What a session task holds for its whole life.
pub(super) struct Ctx {
    pub(super) spec: SessionSpec,
    pub(super) store: Option<Arc<Store>>,
    events: mpsc::Sender<SessionEvent>,
    pub(super) state: watch::Sender<SessionState>,
    pub(super) queued: Arc<AtomicUsize>,
    /// Turns true when a stop is asked: long steps (launch, load) give up at once.
    pub(super) stopping: watch::Receiver<bool>,
}

/// How one browser round ended.
pub(super) enum Exit {
    /// The site could not be reached: retried with backoff, never `failed`.
    Unreachable(String),
    Stopped,
    LoggedOut(Option<String>),
    QrExpired,
    Crashed(String),
    Refused(String),
}

impl Ctx {
    fn tenant(&self) -> &TenantId {
        &self.spec.tenant
    }

    pub(super) async fn publish(&self, event: SessionEvent) {
        let _ = self.events.send(event).await;
    }

    /// Persists and publishes a state change; repeats are ignored.
    pub(super) async fn set_state(&self, state: SessionState, detail: Option<String>) {
        if *self.state.borrow() == state && detail.is_none() {
            return;
        }
        self.record_state(state, detail).await;
    }

    /// Persists and publishes a state, even when it is the current one (the session's
    /// first state, which the store may not know yet).
    async fn record_state(&self, state: SessionState, detail: Option<String>) {
        self.state.send_replace(state);
        if let Some(store) = &self.store {
            let tenant = self.tenant().clone();
            let store = Arc::clone(store);
            let now = crate::clock::now_ms();
            let saved =
                tokio::task::spawn_blocking(move || store.control().set_state(&tenant, state, now))
                    .await;
            if let Ok(Err(e)) = saved {
                warn!(error = %e, %state, "session state not persisted");
            }
        }
        info!(%state, detail = detail.as_deref().unwrap_or(""), "session state");
        let tenant = self.tenant().clone();
        self.publish(SessionEvent::State {
            tenant,
            state,
            detail,
        })
        .await;
    }
}

async fn supervise(ctx: Ctx, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut queue = SendQueue::default();
    let mut failures = Failures::default();
    ctx.record_state(SessionState::Starting, None).await;
    loop {
        ctx.set_state(SessionState::Starting, None).await;
        let mut round = Round::new(&ctx, &mut queue, &mut commands);
        let exit = round.run().await;
        if round.reached_online {
            failures = Failures::default();
        }
        let delay = match after_round(&ctx, exit, &mut failures).await {
            Next::End(state, detail, why) => {
                queue.fail_all(&ctx, why).await;
                ctx.set_state(state, detail).await;
                return;
            }
            Next::Again(delay) => delay,
        };
        if wait_or_stop(delay, &mut commands, &mut queue, &ctx).await {
            queue.fail_all(&ctx, "sessão parada").await;
            ctx.set_state(SessionState::Stopped, None).await;
            return;
        }
    }
}

/// Failures in a row since the session was last online.
#[derive(Default)]
struct Failures {
    crashes: u32,
    unreachable: u32,
}

/// What follows a round.
enum Next {
    /// The session ends in this state; queued sends fail with the reason given.
    End(SessionState, Option<String>, &'static str),
    /// Another round after this delay.
    Again(Duration),
}

/// Applies the rules of DESIGN.md §5 to how a round ended. The admin session never
/// ends by itself: it is the operator's only channel.
async fn after_round(ctx: &Ctx, exit: Exit, failures: &mut Failures) -> Next {
    let admin = ctx.spec.tenant.is_admin();
    match exit {
        Exit::Stopped => Next::End(SessionState::Stopped, None, "sessão parada"),
        Exit::QrExpired => Next::End(SessionState::QrExpired, None, "QR expirou"),
        Exit::Refused(why) => Next::End(SessionState::Failed, Some(why), "sessão recusada"),
        Exit::LoggedOut(reason) => {
            set_aside(ctx);
            if !admin {
                let why = "sessão desconectada pelo celular";
                return Next::End(SessionState::LoggedOut, reason, why);
            }
            ctx.set_state(SessionState::LoggedOut, reason).await;
            Next::Again(FIRST_BACKOFF)
        }
        Exit::Unreachable(why) => {
            failures.unreachable += 1;
            warn!(error = %why, url = %ctx.spec.url, "WhatsApp Web cannot be reached; retrying");
            ctx.set_state(SessionState::Starting, Some(why)).await;
            Next::Again(backoff(failures.unreachable))
        }
        Exit::Crashed(why) => {
            failures.crashes += 1;
            warn!(crashes = failures.crashes, error = %why, "browser crashed");
            if !admin && failures.crashes >= ctx.spec.limits.restart_attempts {
                return Next::End(SessionState::Failed, Some(why), "sessão falhou");
            }
            ctx.set_state(SessionState::Crashed, Some(why)).await;
            Next::Again(backoff(failures.crashes))
        }
    }
}

fn backoff(crashes: u32) -> Duration {
    let factor = 2_u32.saturating_pow(crashes.saturating_sub(1));
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Waits `delay` while the browser is down; `true` if a stop arrived meanwhile.
/// Sends are queued for the next round; other requests are told the session restarts.
async fn wait_or_stop(
    delay: Duration,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    queue: &mut SendQueue,
    ctx: &Ctx,
) -> bool {
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return false,
            cmd = commands.recv() => match cmd {
                Some(Command::Stop) | None => return true,
                Some(other) => {
                    if let Some(refused) = queue.accept(other, ctx) {
                        refuse(refused, "a sessão está reiniciando; tente de novo em instantes");
                    }
                }
            },
        }
    }
}

/// Answers a request that cannot run now.
fn refuse(cmd: Command, why: &str) {
    match cmd {
        Command::Download { reply, .. } => {
            let _ = reply.send(Err(why.to_owned()));
        }
        Command::Recent { reply, .. } => {
            let _ = reply.send(Err(why.to_owned()));
        }
        other => debug!(?other, why, "command dropped"),
    }
}

fn set_aside(ctx: &Ctx) {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    match move_profile_aside(&ctx.spec.paths, &stamp) {
        Ok(place) => info!(place = %place.display(), "logged-out profile moved aside"),
        Err(e) => warn!(error = %e, "could not move the logged-out profile aside"),
    }
}
