//! Log records emitted inside a tenant's span land in that tenant's log table.
//!
//! [`TenantLogLayer`] is a `tracing` layer: it remembers which spans carry a `tenant`
//! field, and for each event inside one it hands a [`LogRecord`] to a writer thread,
//! which batches them into the tenant's database. Logging never blocks on the disk:
//! when the queue is full, records are counted and dropped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::{LogRecord, Store};
use crate::tenant::TenantId;

/// Records waiting for the writer before new ones are dropped.
const QUEUE: usize = 8_192;
/// Records written per transaction at most.
const BATCH: usize = 512;

enum Job {
    Record(TenantId, LogRecord),
    Flush(mpsc::Sender<()>),
}

/// The writer side: attach a store to start writing; flush to wait for the queue.
#[derive(Clone)]
pub struct LogSink {
    tx: SyncSender<Job>,
    store: Arc<Mutex<Weak<Store>>>,
    dropped: Arc<AtomicU64>,
}

/// The `tracing` layer feeding a [`LogSink`].
pub struct TenantLogLayer {
    sink: LogSink,
}

impl LogSink {
    /// Starts the writer thread; returns the sink and the layer to install.
    pub fn start() -> (LogSink, TenantLogLayer) {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let sink = LogSink {
            tx,
            store: Arc::new(Mutex::new(Weak::new())),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        let store = Arc::clone(&sink.store);
        std::thread::Builder::new()
            .name("tenant-logs".into())
            .spawn(move || write_loop(&rx, &store))
            .map(drop)
            .unwrap_or_else(|e| eprintln!("orbitbot: no tenant log writer: {e}"));
        let layer = TenantLogLayer { sink: sink.clone() };
        (sink, layer)
    }

    /// Writes into `store` from now on (records before this are dropped).
    pub fn attach(&self, store: &Arc<Store>) {
        *self.store.lock().unwrap_or_else(PoisonError::into_inner) = Arc::downgrade(store);
    }

    /// Waits until every record queued so far is written.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Job::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        }
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, tenant: TenantId, record: LogRecord) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Job::Record(tenant, record)) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn write_loop(rx: &Receiver<Job>, store: &Mutex<Weak<Store>>) {
    let mut pending: HashMap<TenantId, Vec<LogRecord>> = HashMap::new();
    let mut waiting = Vec::new();
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        for job in first.into_iter().chain(rx.try_iter().take(BATCH)) {
            match job {
                Job::Record(tenant, record) => pending.entry(tenant).or_default().push(record),
                Job::Flush(done) => waiting.push(done),
            }
        }
        let target = store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .upgrade();
        write_pending(target.as_deref(), &mut pending);
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

fn write_pending(store: Option<&Store>, pending: &mut HashMap<TenantId, Vec<LogRecord>>) {
    for (tenant, records) in pending.drain() {
        let Some(store) = store else { continue };
        // A removed tenant's records have nowhere to go; they are dropped.
        if let Ok(db) = store.tenant(&tenant)
            && let Err(e) = db.append_logs(&records)
        {
            eprintln!("orbitbot: could not write logs of {tenant}: {e}");
        }
    }
}

/// The tenant a span belongs to, kept in the span's extensions.
struct SpanTenant(TenantId);

impl<S> tracing_subscriber::Layer<S> for TenantLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut visitor = TenantField(None);
        attrs.record(&mut visitor);
        let (Some(tenant), Some(span)) = (visitor.0, ctx.span(id)) else {
            return;
        };
        span.extensions_mut().insert(SpanTenant(tenant));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let tenant = scope.from_root().fold(None, |found, span| {
            span.extensions()
                .get::<SpanTenant>()
                .map(|t| t.0.clone())
                .or(found)
        });
        let Some(tenant) = tenant else { return };
        let meta = event.metadata();
        let mut message = Message::default();
        event.record(&mut message);
        let record = LogRecord {
            t_ms: crate::clock::now_ms(),
            level: meta.level().to_string(),
            target: meta.target().to_owned(),
            message: message.0,
        };
        self.sink.push(tenant, record);
    }
}

/// Reads the `tenant` field of a span.
struct TenantField(Option<TenantId>);

impl Visit for TenantField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "tenant" {
            self.0 = TenantId::from_stored(value).ok();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "tenant" {
            let text = format!("{value:?}");
            self.0 = TenantId::from_stored(text.trim_matches('"')).ok();
        }
    }
}

/// Formats an event as `message key=value ...`.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
}
