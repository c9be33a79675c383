//! Every session of this orbitbot, by tenant: start, stop, command, and the restart
//! rules applied when orbitbot itself starts again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;
use tracing::{info, warn};

use super::process::ProfilePaths;
use super::supervisor::{Command, SessionEvent, SessionHandle, SessionSpec, spawn};
use crate::bridge::BrowserOptions;
use crate::config::{Config, Engine};
use crate::store::{Store, StoreError};
use crate::tenant::{SessionState, TenantId};

/// Why sessions cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The wa-js bundle is missing.
    #[error("o motor wa-js não está em {}: rode scripts/setup", .0.display())]
    EngineMissing(PathBuf),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sessions of one orbitbot.
pub struct Sessions {
    config: Arc<Config>,
    store: Arc<Store>,
    engine: Arc<str>,
    events: mpsc::Sender<SessionEvent>,
    running: Mutex<HashMap<TenantId, SessionHandle>>,
}

impl Sessions {
    /// Ready to start sessions; events of every session go to `events`.
    pub fn new(
        config: Arc<Config>,
        store: Arc<Store>,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<Sessions, SessionError> {
        let engine = engine_script(&config)?.into();
        Ok(Sessions {
            config,
            store,
            engine,
            events,
            running: Mutex::new(HashMap::new()),
        })
    }

    /// What a tenant's session runs with.
    pub fn spec(&self, tenant: &TenantId) -> SessionSpec {
        let c = &self.config;
        let paths = ProfilePaths::new(&c.paths.tokens, &c.paths.data, tenant);
        let mut browser = BrowserOptions::new(paths.profile.clone());
        browser.chromium = c.whatsapp.chromium.clone();
        browser.chromedriver = c.whatsapp.chromedriver.clone();
        SessionSpec {
            tenant: tenant.clone(),
            paths,
            browser,
            url: c.whatsapp.url.to_string(),
            engine: Arc::clone(&self.engine),
            limits: c.limits.clone(),
        }
    }

    /// Starts a tenant's session unless one runs; `false` if it was running already.
    pub fn start(&self, tenant: &TenantId) -> bool {
        let mut running = self.lock();
        if running.get(tenant).is_some_and(SessionHandle::is_running) {
            return false;
        }
        let store = (!tenant.is_admin()).then(|| Arc::clone(&self.store));
        let handle = spawn(self.spec(tenant), store, self.events.clone());
        running.insert(tenant.clone(), handle);
        true
    }

    /// Stops a tenant's session and waits until its browser is gone.
    pub async fn stop(&self, tenant: &TenantId) {
        let handle = self.lock().remove(tenant);
        if let Some(handle) = handle {
            stop_and_record(handle, &self.store).await;
        }
    }

    /// Stops every session, all at once, and waits for all of them.
    pub async fn stop_all(&self) {
        let handles: Vec<SessionHandle> = self.lock().drain().map(|(_, h)| h).collect();
        let mut stops = tokio::task::JoinSet::new();
        for handle in handles {
            let store = Arc::clone(&self.store);
            stops.spawn(async move { stop_and_record(handle, &store).await });
        }
        while stops.join_next().await.is_some() {}
    }

    /// Sends a command to a running session; `false` if it does not run.
    pub fn command(&self, tenant: &TenantId, command: Command) -> bool {
        self.lock().get(tenant).is_some_and(|h| h.command(command))
    }

    /// A running session's state, if it runs.
    pub fn state(&self, tenant: &TenantId) -> Option<SessionState> {
        self.lock()
            .get(tenant)
            .filter(|h| h.is_running())
            .map(SessionHandle::state)
    }

    /// Messages waiting in a session's send queue.
    pub fn queued(&self, tenant: &TenantId) -> usize {
        self.lock().get(tenant).map_or(0, SessionHandle::queued)
    }

    /// Applies the restart rules of DESIGN.md §5 to every stored tenant and starts the
    /// sessions that come back; returns their ids.
    pub fn resume(&self) -> Result<Vec<TenantId>, SessionError> {
        let now = crate::clock::now_ms();
        let mut started = Vec::new();
        for record in self.store.control().tenants()? {
            let next = record.state.after_restart();
            if next != record.state {
                self.store.control().set_state(&record.id, next, now)?;
            }
            if next == SessionState::Starting {
                info!(tenant = %record.id, was = %record.state, "resuming session");
                self.start(&record.id);
                started.push(record.id);
            }
        }
        Ok(started)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, SessionHandle>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The engine script the pages get: wa-js from `vendor/`, or the simulator's.
fn engine_script(config: &Config) -> Result<String, SessionError> {
    match config.whatsapp.engine {
        Engine::Simulator => Ok(crate::sim::engine_js().to_owned()),
        Engine::WaJs => {
            let path = &config.whatsapp.wa_js;
            std::fs::read_to_string(path).map_err(|e| {
                warn!(path = %path.display(), error = %e, "wa-js bundle unreadable");
                SessionError::EngineMissing(path.clone())
            })
        }
    }
}

/// Stops a session; one that had to be aborted never recorded its end, so it is
/// recorded here.
async fn stop_and_record(handle: SessionHandle, store: &Store) {
    let tenant = handle.tenant().clone();
    if !handle.stop().await && !tenant.is_admin() {
        let now = crate::clock::now_ms();
        if let Err(e) = store
            .control()
            .set_state(&tenant, SessionState::Stopped, now)
        {
            warn!(%tenant, error = %e, "state of an aborted session not recorded");
        }
    }
}
