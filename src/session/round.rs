//! One browser round of a session: from opening the page to the reason it ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{info, warn};

use super::pace::Pacer;
use super::process::{ProfileGuard, claim_profile};
use super::queue::{Body, SendQueue};
use super::supervisor::{Command, Ctx, Exit, SessionEvent};
use crate::bridge::event::{BridgeEvent, Envelope, encoded_messages};
use crate::bridge::page::{CallError, Media, Page};
use crate::tenant::SessionState;

/// The longest a poll waits for events.
const POLL_WAIT: Duration = Duration::from_millis(1_000);
/// Events taken per poll at most.
const POLL_MAX: u32 = 200;
/// Tries of one send before it is reported failed.
const SEND_TRIES: u32 = 4;
/// Messages of a chat checked when a send may already have gone out.
const RECENT_CHECK: u32 = 50;

/// One browser's life, with what it borrows from the session.
pub(super) struct Round<'a> {
    ctx: &'a Ctx,
    queue: &'a mut SendQueue,
    commands: &'a mut mpsc::UnboundedReceiver<Command>,
    pacer: Pacer,
    /// QR codes shown in this link attempt.
    qr_shown: u32,
    last_pair_code: Option<String>,
    /// Whether the session got online in this round (resets the crash count).
    pub(super) reached_online: bool,
}

impl<'a> Round<'a> {
    pub(super) fn new(
        ctx: &'a Ctx,
        queue: &'a mut SendQueue,
        commands: &'a mut mpsc::UnboundedReceiver<Command>,
    ) -> Round<'a> {
        Round {
            pacer: Pacer::new(&ctx.spec.limits),
            ctx,
            queue,
            commands,
            qr_shown: 0,
            last_pair_code: None,
            reached_online: false,
        }
    }

    /// Claims the profile, opens the page, drives it, and always cleans up.
    pub(super) async fn run(&mut self) -> Exit {
        let spec = &self.ctx.spec;
        let guard = match claim_profile(spec.paths.clone(), &spec.tenant) {
            Ok(guard) => guard,
            Err(e) => return Exit::Refused(e.to_string()),
        };
        let mut options = spec.browser.clone();
        options.profile = spec.paths.profile.clone();
        let mut stopping = self.ctx.stopping.clone();
        let gate = Arc::clone(&spec.start_gate);
        let permit = tokio::select! {
            permit = gate.acquire_owned() => permit.ok(),
            _ = stopping.wait_for(|stop| *stop) => return Exit::Stopped,
        };
        let launched = tokio::select! {
            launched = Page::launch(&options) => launched,
            _ = stopping.wait_for(|stop| *stop) => return Exit::Stopped,
        };
        let page = match launched {
            Ok(page) => page,
            Err(e) => return Exit::Crashed(e.to_string()),
        };
        let exit = self.record_and_drive(&guard, &page, permit).await;
        if let Err(e) = page.close().await {
            info!(error = %e, "browser close reported an error (group killed anyway)");
        }
        guard.end_group();
        exit
    }

    /// Records the browser's group, loads the page (holding the start permit until
    /// then), and drives it.
    async fn record_and_drive(
        &mut self,
        guard: &ProfileGuard,
        page: &Page,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Exit {
        let pgid = u32::try_from(page.pgid()).unwrap_or(0);
        if let Err(e) = guard.record_group(pgid, page.endpoint().await) {
            warn!(error = %e, "browser group not recorded");
        }
        let mut stopping = self.ctx.stopping.clone();
        let loaded = tokio::select! {
            loaded = page.load(&self.ctx.spec.engine, &self.ctx.spec.url) => loaded,
            _ = stopping.wait_for(|stop| *stop) => return Exit::Stopped,
        };
        drop(permit);
        match loaded {
            Ok(hello) => self.drive(page, hello.boot).await,
            Err(e @ crate::bridge::BridgeError::Unreachable { .. }) => {
                Exit::Unreachable(e.to_string())
            }
            Err(e) => Exit::Crashed(e.to_string()),
        }
    }

    /// The loop: commands, a due send, a long poll, its events.
    async fn drive(&mut self, page: &Page, mut boot: String) -> Exit {
        let mut cursor = 0;
        loop {
            while let Ok(cmd) = self.commands.try_recv() {
                if let Some(exit) = self.on_command(cmd, page).await {
                    return exit;
                }
            }
            if let Some(exit) = self.send_due(page).await {
                return exit;
            }
            // Queued sends shorten the wait only while they can go (online).
            let online = *self.ctx.state.borrow() == SessionState::Online;
            let due = self.queue.next_in(Instant::now()).filter(|_| online);
            let wait = due.map_or(POLL_WAIT, |d| d.min(POLL_WAIT));
            let batch = match page.poll(&boot, cursor, wait, POLL_MAX).await {
                Ok(batch) => batch,
                Err(e) => return Exit::Crashed(e.to_string()),
            };
            if batch.boot != boot {
                info!("page reloaded");
                boot = batch.boot;
                cursor = 0;
            }
            self.spool(&batch.events).await;
            for envelope in batch.events {
                cursor = envelope.seq;
                if let Some(exit) = self.on_event(envelope.event, page).await {
                    return exit;
                }
            }
        }
    }

    /// Keeps a batch's messages in the tenant's store before the next poll tells the
    /// page it may drop them: a crash in between loses none (the pipeline takes the
    /// spool at its next start).
    async fn spool(&self, events: &[Envelope]) {
        let Some(store) = self.ctx.store.clone() else {
            return;
        };
        let messages = encoded_messages(events);
        if messages.is_empty() {
            return;
        }
        let tenant = self.ctx.spec.tenant.clone();
        let written = tokio::task::spawn_blocking(move || {
            store.tenant(&tenant).and_then(|db| db.spool(&messages))
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            warn!("messages not spooled; a crash now could lose them");
        }
    }

    async fn on_command(&mut self, cmd: Command, page: &Page) -> Option<Exit> {
        let cmd = self.queue.accept(cmd, self.ctx)?;
        let outcome: Result<(), CallError> = match cmd {
            Command::Stop => return Some(Exit::Stopped),
            Command::Download { msg_id, reply } => {
                let got = page.download_media(&msg_id).await;
                answer(reply, got)
            }
            Command::Recent { chat, n, reply } => answer(reply, page.recent(&chat, n).await),
            Command::MarkSeen(chat) => page.mark_seen(&chat).await,
            Command::PairingCode(phone) => self.pairing_code(page, &phone).await,
            Command::Takeover => page.takeover().await,
            Command::Logout => match page.logout().await {
                Ok(()) => return Some(Exit::LoggedOut(Some("operator".to_owned()))),
                Err(e) => Err(e),
            },
            Command::SendText { .. } | Command::SendMedia { .. } => Ok(()),
        };
        match outcome {
            Err(CallError::Bridge(e)) => Some(Exit::Crashed(e.to_string())),
            Err(CallError::Page(e)) => {
                warn!(error = %e, "page refused a command");
                None
            }
            Ok(()) => None,
        }
    }

    async fn pairing_code(&mut self, page: &Page, phone: &str) -> Result<(), CallError> {
        let code = page.request_pairing_code(phone).await?;
        self.show_pair_code(code).await;
        Ok(())
    }

    async fn show_pair_code(&mut self, code: String) {
        if self.last_pair_code.as_deref() == Some(code.as_str()) {
            return;
        }
        self.last_pair_code = Some(code.clone());
        self.ctx.set_state(SessionState::Pairing, None).await;
        let tenant = self.ctx.spec.tenant.clone();
        self.ctx
            .publish(SessionEvent::PairCode { tenant, code })
            .await;
    }

    async fn on_event(&mut self, event: BridgeEvent, page: &Page) -> Option<Exit> {
        let ctx = self.ctx;
        let admin = ctx.spec.tenant.is_admin();
        match event {
            BridgeEvent::Qr { code, .. } => {
                self.qr_shown += 1;
                if !admin && self.qr_shown > ctx.spec.limits.qr_resends {
                    return Some(Exit::QrExpired);
                }
                ctx.set_state(SessionState::Qr, None).await;
                let (tenant, seq) = (ctx.spec.tenant.clone(), self.qr_shown);
                ctx.publish(SessionEvent::Qr { tenant, code, seq }).await;
            }
            BridgeEvent::QrIdle if admin => {
                self.qr_shown = 0;
                if let Err(CallError::Bridge(e)) = page.refresh_qr().await {
                    return Some(Exit::Crashed(e.to_string()));
                }
            }
            BridgeEvent::QrIdle => return Some(Exit::QrExpired),
            BridgeEvent::PairCode { code } => self.show_pair_code(code).await,
            BridgeEvent::Authenticated => ctx.set_state(SessionState::Syncing, None).await,
            BridgeEvent::Ready { me, lid } => self.online(me, lid).await,
            BridgeEvent::State { mode } if mode == "SYNCING" => {
                ctx.set_state(SessionState::Syncing, None).await;
            }
            BridgeEvent::State { .. } => {}
            BridgeEvent::Conflict => {
                ctx.set_state(SessionState::Conflict, None).await;
                // NOTE: the admin session is the operator's only channel: nobody could
                // ask it to take over, so it does at once.
                if admin && let Err(CallError::Bridge(e)) = page.takeover().await {
                    return Some(Exit::Crashed(e.to_string()));
                }
            }
            BridgeEvent::Logout { reason } => return Some(Exit::LoggedOut(reason)),
            BridgeEvent::NeedsUpdate => warn!("WhatsApp asks for a newer web client"),
            BridgeEvent::BridgeError { place, error } => warn!(place, error, "bridge error"),
            event @ (BridgeEvent::Message(_)
            | BridgeEvent::Ack { .. }
            | BridgeEvent::Revoke { .. }
            | BridgeEvent::Edit { .. }) => {
                let tenant = ctx.spec.tenant.clone();
                ctx.publish(SessionEvent::Inbound { tenant, event }).await;
            }
        }
        None
    }

    async fn online(&mut self, me: Option<String>, lid: Option<String>) {
        self.reached_online = true;
        self.qr_shown = 0;
        let phone = me
            .as_deref()
            .and_then(|m| m.strip_suffix("@c.us"))
            .map(str::to_owned);
        if let (Some(store), Some(phone)) = (&self.ctx.store, phone) {
            let (store, tenant) = (store.clone(), self.ctx.spec.tenant.clone());
            let _ = tokio::task::spawn_blocking(move || {
                store.control().set_phone(&tenant, Some(phone))
            })
            .await;
        }
        self.ctx.set_state(SessionState::Online, None).await;
        let tenant = self.ctx.spec.tenant.clone();
        self.ctx
            .publish(SessionEvent::Online { tenant, me, lid })
            .await;
    }

    /// Sends the front message when it is due and the session is online.
    async fn send_due(&mut self, page: &Page) -> Option<Exit> {
        if *self.ctx.state.borrow() != SessionState::Online {
            return None;
        }
        let now = Instant::now();
        let item = self.queue.front_mut()?;
        let chars = item.chars();
        let pacer = &mut self.pacer;
        let ready_at = *item
            .ready_at
            .get_or_insert_with(|| now + pacer.delay_before(now, chars));
        if ready_at > now {
            return None;
        }
        if item.maybe_sent && already_sent(page, &item.to, &item.id).await {
            self.queue.finish(self.ctx, Ok(())).await;
            return None;
        }
        let result = match &item.body {
            Body::Text(text) => page.send_text(&item.to, text, &item.id).await,
            Body::Media(file) => {
                let media = Media {
                    bytes: &file.bytes,
                    mimetype: &file.mimetype,
                    filename: file.filename.as_deref(),
                    caption: file.caption.as_deref(),
                    ptt: file.ptt,
                };
                page.send_media(&item.to, &media, &item.id).await
            }
        };
        self.pacer.record_send(Instant::now());
        match result {
            Ok(_) => self.queue.finish(self.ctx, Ok(())).await,
            Err(CallError::Page(e)) => {
                item.tries += 1;
                warn!(id = %item.id, tries = item.tries, error = %e, "send failed");
                if item.tries >= SEND_TRIES {
                    self.queue.finish(self.ctx, Err(e.to_string())).await;
                } else {
                    let delay = Duration::from_secs(1 << item.tries);
                    item.ready_at = Some(Instant::now() + delay);
                }
            }
            Err(CallError::Bridge(e)) => {
                item.maybe_sent = true;
                item.ready_at = None;
                return Some(Exit::Crashed(e.to_string()));
            }
        }
        None
    }
}

/// Whether a message with this id is already in the chat.
async fn already_sent(page: &Page, chat: &str, id: &str) -> bool {
    match page.recent(chat, RECENT_CHECK).await {
        Ok(messages) => messages.iter().any(|m| m.id == id && m.from_me),
        Err(_) => false,
    }
}

/// Answers a request; a browser failure is also passed up (the session restarts).
fn answer<T>(
    reply: tokio::sync::oneshot::Sender<Result<T, String>>,
    got: Result<T, CallError>,
) -> Result<(), CallError> {
    match got {
        Ok(value) => {
            let _ = reply.send(Ok(value));
            Ok(())
        }
        Err(e) => {
            let _ = reply.send(Err(e.to_string()));
            Err(e)
        }
    }
}
