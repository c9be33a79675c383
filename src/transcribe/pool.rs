//! The transcriber: one model shared by every tenant, a fixed number of worker threads
//! off the async runtime, and a queue per tenant taken in turn, so one tenant's burst
//! of voice notes never holds another's behind it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use tracing::{Span, debug, warn};

use super::decode::Audio;
use super::model::{ModelError, Transcript, Whisper};
use crate::tenant::TenantId;

/// Why a note was not transcribed.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The model failed on this note.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The transcriber is shutting down.
    #[error("a transcrição está sendo encerrada")]
    Closed,
}

struct Note {
    audio: Audio,
    language: String,
    span: Span,
    reply: oneshot::Sender<Result<Transcript, PoolError>>,
}

#[derive(Default)]
struct Queues {
    waiting: HashMap<TenantId, VecDeque<Note>>,
    /// Tenants with notes waiting, in the order they get their next turn.
    turns: VecDeque<TenantId>,
    closed: bool,
}

impl Queues {
    fn push(&mut self, tenant: &TenantId, note: Note) {
        let queue = self.waiting.entry(tenant.clone()).or_default();
        if queue.is_empty() {
            self.turns.push_back(tenant.clone());
        }
        queue.push_back(note);
    }

    /// The next note, taking tenants in turn.
    fn next(&mut self) -> Option<Note> {
        let tenant = self.turns.pop_front()?;
        let queue = self.waiting.get_mut(&tenant)?;
        let note = queue.pop_front();
        if queue.is_empty() {
            self.waiting.remove(&tenant);
        } else {
            self.turns.push_back(tenant);
        }
        note
    }

    fn len(&self) -> usize {
        self.waiting.values().map(VecDeque::len).sum()
    }
}

struct Shared {
    whisper: Arc<Whisper>,
    /// Threads whisper.cpp uses for one note.
    threads_per_note: u32,
    queues: Mutex<Queues>,
    ready: Condvar,
}

/// The shared transcriber.
pub struct Transcriber {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Transcriber {
    /// Starts `workers` threads on `whisper`. The cores are shared out among them:
    /// whisper.cpp's threads spin while they wait, so more threads than cores make
    /// every note many times slower (measured in `benches/transcribe.rs`).
    pub fn start(whisper: Arc<Whisper>, workers: u32) -> Transcriber {
        let workers = workers.max(1);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cores = u32::try_from(cores).unwrap_or(1);
        let shared = Arc::new(Shared {
            whisper,
            threads_per_note: (cores / workers).max(1),
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
        });
        let threads = (0..workers)
            .map(|n| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("whisper-{n}"))
                    .spawn(move || work(&shared))
            })
            .filter_map(|spawned| match spawned {
                Ok(handle) => Some(handle),
                Err(e) => {
                    warn!(error = %e, "transcription thread not started");
                    None
                }
            })
            .collect();
        Transcriber { shared, threads }
    }

    /// Transcribes a note of `tenant` in `language` (`pt`, `auto`, ...) when its turn
    /// comes; the current tracing span (the tenant's) goes with it.
    pub async fn transcribe(
        &self,
        tenant: &TenantId,
        audio: Audio,
        language: &str,
    ) -> Result<Transcript, PoolError> {
        let (reply, answer) = oneshot::channel();
        let note = Note {
            audio,
            language: language.to_owned(),
            span: Span::current(),
            reply,
        };
        {
            let mut queues = self.lock();
            if queues.closed || self.threads.is_empty() {
                return Err(PoolError::Closed);
            }
            queues.push(tenant, note);
            debug!(waiting = queues.len(), "voice note queued");
        }
        self.shared.ready.notify_one();
        answer.await.unwrap_or(Err(PoolError::Closed))
    }

    /// Notes waiting for a thread.
    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.shared
            .queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Transcriber {
    /// Refuses what waits and lets the threads finish the note in hand.
    fn drop(&mut self) {
        let left: Vec<Note> = {
            let mut queues = self.lock();
            queues.closed = true;
            std::iter::from_fn(|| queues.next()).collect()
        };
        for note in left {
            let _ = note.reply.send(Err(PoolError::Closed));
        }
        self.shared.ready.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn work(shared: &Shared) {
    loop {
        let note = {
            let mut queues = shared.queues.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(note) = queues.next() {
                    break note;
                }
                if queues.closed {
                    return;
                }
                queues = shared
                    .ready
                    .wait(queues)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        if note.reply.is_closed() {
            continue;
        }
        let _entered = note.span.enter();
        let result = shared
            .whisper
            .transcribe(&note.audio.samples, &note.language, shared.threads_per_note)
            .map_err(PoolError::from);
        let _ = note.reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> (Note, oneshot::Receiver<Result<Transcript, PoolError>>) {
        let (reply, answer) = oneshot::channel();
        let note = Note {
            audio: Audio {
                samples: Vec::new(),
            },
            language: "pt".into(),
            span: Span::none(),
            reply,
        };
        (note, answer)
    }

    #[test]
    fn tenants_take_turns() {
        let (a, b) = (
            TenantId::parse("loja-a").unwrap(),
            TenantId::parse("loja-b").unwrap(),
        );
        let mut queues = Queues::default();
        let mut keep = Vec::new();
        for (tenant, language) in [(&a, "a1"), (&a, "a2"), (&a, "a3"), (&b, "b1")] {
            let (mut n, rx) = note();
            n.language = language.into();
            keep.push(rx);
            queues.push(tenant, n);
        }
        let order: Vec<String> = std::iter::from_fn(|| queues.next())
            .map(|n| n.language)
            .collect();
        assert_eq!(order, ["a1", "b1", "a2", "a3"]);
        assert_eq!(queues.len(), 0);
    }
}
