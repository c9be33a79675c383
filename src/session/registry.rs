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
use crate::tenant::{SessionState, TenantId, TenantRecord};

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
    user_agent: Option<String>,
    start_gate: Arc<tokio::sync::Semaphore>,
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
        let user_agent = user_agent(&config.whatsapp.chromium);
        Ok(Sessions {
            config,
            store,
            engine,
            user_agent,
            start_gate: Arc::new(tokio::sync::Semaphore::new(parallel_starts())),
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
        if let Some(agent) = &self.user_agent {
            browser.extra_args.push(format!("--user-agent={agent}"));
        }
        SessionSpec {
            tenant: tenant.clone(),
            paths,
            browser,
            url: c.whatsapp.url.to_string(),
            engine: Arc::clone(&self.engine),
            limits: c.limits.clone(),
            start_gate: Arc::clone(&self.start_gate),
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

    /// Stops every session, all at once, and waits for all of them. Each tenant keeps
    /// the state it had before (not `stopped`): orbitbot shutting down is no operator
    /// stop, and the next start resumes them by the restart rules.
    pub async fn stop_all(&self) {
        let handles: Vec<SessionHandle> = self.lock().drain().map(|(_, h)| h).collect();
        let mut stops = tokio::task::JoinSet::new();
        for handle in handles {
            let store = Arc::clone(&self.store);
            let before = handle.state();
            stops.spawn(async move {
                let tenant = handle.tenant().clone();
                stop_and_record(handle, &store).await;
                keep_state(&store, &tenant, before);
            });
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

    /// The state to show for a tenant: its running session's, else the one stored.
    pub fn current(&self, record: &TenantRecord) -> SessionState {
        self.state(&record.id).unwrap_or(record.state)
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

/// Browsers starting at once: one per core, at least two.
fn parallel_starts() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// A plain desktop Chrome user agent of the installed Chromium's major version: the
/// headless one says "HeadlessChrome", which WhatsApp Web may refuse.
fn user_agent(chromium: &std::path::Path) -> Option<String> {
    let out = std::process::Command::new(chromium)
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let major = chrome_major(&text)?;
    Some(format!(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/{major}.0.0.0 Safari/537.36"
    ))
}

/// `156` from `Chromium 156.0.8078.114 built on Debian`.
fn chrome_major(version: &str) -> Option<u32> {
    let number = version.split_whitespace().find(|w| w.contains('.'))?;
    number.split('.').next()?.parse().ok()
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

/// Puts back the state a session had before a shutdown stopped it (a session that
/// had ended by itself keeps what it recorded).
fn keep_state(store: &Store, tenant: &TenantId, before: SessionState) {
    if tenant.is_admin() || before.is_terminal() {
        return;
    }
    let now = crate::clock::now_ms();
    if let Err(e) = store.control().set_state(tenant, before, now) {
        warn!(%tenant, error = %e, "state before shutdown not kept");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_major_version() {
        assert_eq!(
            chrome_major("Chromium 156.0.8078.114 built on Debian GNU/Linux 12"),
            Some(156)
        );
        assert_eq!(chrome_major("Google Chrome 131.0.6778.85 "), Some(131));
        assert_eq!(chrome_major("nonsense"), None);
    }
}
