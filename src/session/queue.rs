//! A session's send queue: messages in order, each with its tries and earliest time.
//!
//! The queue outlives browser rounds, so a crash loses nothing queued; a message whose
//! send was in flight when the browser died is checked against the chat (`recent`)
//! before it is sent again.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::split::{MAX_MESSAGE_CHARS, part_id, split_message};
use super::supervisor::{Command, Ctx, MediaFile, SendOpts, SessionEvent};

/// What is sent.
#[derive(Debug, Clone)]
pub(super) enum Body {
    Text(String),
    Media(MediaFile),
}

/// One message waiting to go.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    pub(super) id: String,
    pub(super) to: String,
    pub(super) body: Body,
    /// Failed tries so far.
    pub(super) tries: u32,
    /// Not before this time (pacing or retry backoff), once decided.
    pub(super) ready_at: Option<Instant>,
    /// The browser died while this was being sent: it may have gone out.
    pub(super) maybe_sent: bool,
    /// Waits behind normal sends.
    pub(super) low_priority: bool,
}

impl Outgoing {
    /// Characters to "type", for the typing delay.
    pub(super) fn chars(&self) -> usize {
        match &self.body {
            Body::Text(text) => text.chars().count(),
            Body::Media(file) => file.caption.as_deref().map_or(0, |c| c.chars().count()),
        }
    }
}

/// The queue of one session.
#[derive(Debug, Default)]
pub(super) struct SendQueue {
    items: VecDeque<Outgoing>,
}

impl SendQueue {
    /// Queues a send command (a long text as several parts); other commands come back.
    pub(super) fn accept(&mut self, cmd: Command, ctx: &Ctx) -> Option<Command> {
        match cmd {
            Command::SendText { to, text, id, opts } => {
                let parts = split_message(&text, MAX_MESSAGE_CHARS);
                for (i, part) in parts.into_iter().enumerate() {
                    let id = part_id(&id, i);
                    self.push(id, to.clone(), Body::Text(part), opts);
                }
            }
            Command::SendMedia { to, file, id, opts } => {
                self.push(id, to, Body::Media(file), opts);
            }
            other => return Some(other),
        }
        self.publish_len(ctx);
        None
    }

    /// Queues one message: a normal one before every low-priority one not yet begun.
    fn push(&mut self, id: String, to: String, body: Body, opts: SendOpts) {
        let item = Outgoing {
            id,
            to,
            body,
            tries: 0,
            ready_at: None,
            maybe_sent: opts.check_first,
            low_priority: opts.low_priority,
        };
        let begun = |o: &Outgoing| o.tries > 0 || o.ready_at.is_some();
        let at = match opts.low_priority {
            true => None,
            false => self.items.iter().position(|o| o.low_priority && !begun(o)),
        };
        match at {
            Some(at) => self.items.insert(at, item),
            None => self.items.push_back(item),
        }
    }

    /// The next message, if any.
    pub(super) fn front_mut(&mut self) -> Option<&mut Outgoing> {
        self.items.front_mut()
    }

    /// How long until the next message may go (`None`: nothing queued).
    pub(super) fn next_in(&self, now: Instant) -> Option<Duration> {
        let front = self.items.front()?;
        Some(
            front
                .ready_at
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now)),
        )
    }

    /// Removes the front message and reports how its send ended.
    pub(super) async fn finish(&mut self, ctx: &Ctx, result: Result<(), String>) {
        self.finish_front(ctx, result, false).await;
    }

    async fn finish_front(&mut self, ctx: &Ctx, result: Result<(), String>, unsent: bool) {
        let Some(done) = self.items.pop_front() else {
            return;
        };
        self.publish_len(ctx);
        let tenant = ctx.spec.tenant.clone();
        let event = SessionEvent::SendDone {
            tenant,
            id: done.id,
            result,
            unsent,
        };
        ctx.publish(event).await;
    }

    /// Reports every queued message as not sent (the session ends) and empties the
    /// queue.
    pub(super) async fn fail_all(&mut self, ctx: &Ctx, why: &str) {
        while !self.items.is_empty() {
            self.finish_front(ctx, Err(why.to_owned()), true).await;
        }
    }

    fn publish_len(&self, ctx: &Ctx) {
        ctx.queued.store(self.items.len(), Ordering::Relaxed);
    }
}
