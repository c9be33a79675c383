//! The client pipeline: one worker per tenant takes that tenant's session events in
//! order (tenants run concurrently), records and claims every message, decides the
//! replies, and hands them to the session through the outbox (DESIGN.md §6).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{Instrument, info_span, warn};

use super::catalog::Catalog;
use super::worker::Worker;
use crate::ai::AiClient;
use crate::config::Config;
use crate::session::{Command, SessionEvent, Sessions};
use crate::store::Store;
use crate::tenant::TenantId;
use crate::transcribe::pool::Transcriber;

/// Where replies go: a tenant's session.
pub trait Outlet: Send + Sync + 'static {
    /// Hands a command to a tenant's session; `false` if the session does not run.
    fn send(&self, tenant: &TenantId, command: Command) -> bool;
}

impl Outlet for Sessions {
    fn send(&self, tenant: &TenantId, command: Command) -> bool {
        self.command(tenant, command)
    }
}

/// What the pipeline tells the operators (through the admin chat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A tenant's AI spent its daily token budget: commands only until tomorrow.
    AiBudgetSpent {
        /// Whose.
        tenant: TenantId,
        /// The budget, in tokens.
        budget: u64,
    },
    /// A tenant's AI endpoint failed; the contact got the fallback reply.
    AiFailed {
        /// Whose.
        tenant: TenantId,
        /// What went wrong, in pt-BR.
        error: String,
    },
}

/// What every worker shares.
pub(super) struct Shared {
    /// The configuration.
    pub(super) config: Arc<Config>,
    /// The store.
    pub(super) store: Arc<Store>,
    /// Where replies go.
    pub(super) outlet: Arc<dyn Outlet>,
    /// The AI endpoint; `None`: AI is off.
    pub(super) ai: Option<AiClient>,
    /// The shared transcriber; `None`: no model loaded.
    pub(super) transcriber: Option<Arc<Transcriber>>,
    /// The client commands, replaced by `!recarregar`.
    catalog: RwLock<Arc<Catalog>>,
    /// Where notices for the operators go.
    notices: mpsc::UnboundedSender<Notice>,
}

impl Shared {
    /// The commands as loaded last.
    pub(super) fn catalog(&self) -> Arc<Catalog> {
        let guard = self.catalog.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&guard)
    }

    /// Tells the operators (dropped when nobody listens).
    pub(super) fn notify(&self, notice: Notice) {
        let _ = self.notices.send(notice);
    }
}

/// The pipeline of every client tenant.
pub struct Pipeline {
    shared: Arc<Shared>,
    workers: Mutex<HashMap<TenantId, mpsc::UnboundedSender<SessionEvent>>>,
    tasks: Mutex<JoinSet<()>>,
    notices: Mutex<Option<mpsc::UnboundedReceiver<Notice>>>,
}

impl Pipeline {
    /// A pipeline answering with `catalog` through `outlet`, and with `ai` when given.
    pub fn new(
        config: Arc<Config>,
        store: Arc<Store>,
        outlet: Arc<dyn Outlet>,
        catalog: Catalog,
        ai: Option<AiClient>,
    ) -> Pipeline {
        let (notices, heard) = mpsc::unbounded_channel();
        let shared = Shared {
            config,
            store,
            outlet,
            ai,
            transcriber: None,
            catalog: RwLock::new(Arc::new(catalog)),
            notices,
        };
        Pipeline {
            shared: Arc::new(shared),
            workers: Mutex::new(HashMap::new()),
            tasks: Mutex::new(JoinSet::new()),
            notices: Mutex::new(Some(heard)),
        }
    }

    /// Voice notes are heard with `transcriber` (set before the first event).
    #[must_use]
    pub fn with_transcriber(mut self, transcriber: Arc<Transcriber>) -> Pipeline {
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => shared.transcriber = Some(transcriber),
            None => warn!("transcriber set after the pipeline started; not used"),
        }
        self
    }

    /// The shared transcriber, when a model is loaded.
    pub fn transcriber(&self) -> Option<Arc<Transcriber>> {
        self.shared.transcriber.clone()
    }

    /// The notices for the operators; the first caller gets them.
    pub fn notices(&self) -> Option<mpsc::UnboundedReceiver<Notice>> {
        let mut guard = self.notices.lock().unwrap_or_else(PoisonError::into_inner);
        guard.take()
    }

    /// Replaces the commands (`!recarregar`); messages after this use the new ones.
    pub fn set_catalog(&self, catalog: Catalog) {
        let mut guard = self
            .shared
            .catalog
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *guard = Arc::new(catalog);
    }

    /// The commands in use.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.shared.catalog()
    }

    /// Hands an event to its tenant's worker, starting the worker on first use. The
    /// admin session's events are not for this pipeline and are dropped.
    pub fn dispatch(&self, event: SessionEvent) {
        let tenant = event.tenant().clone();
        if tenant.is_admin() {
            return;
        }
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = workers
            .entry(tenant.clone())
            .or_insert_with(|| self.spawn_worker(&tenant));
        if let Err(lost) = sender.send(event) {
            warn!(%tenant, "pipeline worker ended; restarting it");
            let sender = self.spawn_worker(&tenant);
            let _ = sender.send(lost.0);
            workers.insert(tenant, sender);
        }
    }

    /// Lets a tenant's worker finish what it holds and forgets it (the tenant was
    /// removed, say). A later event starts a fresh one.
    pub fn forget(&self, tenant: &TenantId) {
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        workers.remove(tenant);
    }

    /// Waits until every worker has handled every event it was given.
    pub async fn shutdown(self) {
        drop(self.workers);
        let mut tasks = self
            .tasks
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        while tasks.join_next().await.is_some() {}
    }

    fn spawn_worker(&self, tenant: &TenantId) -> mpsc::UnboundedSender<SessionEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker::new(tenant.clone(), Arc::clone(&self.shared));
        let span = info_span!("client", tenant = %tenant);
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks.spawn(worker.run(rx).instrument(span));
        tx
    }
}
