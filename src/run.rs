//! `orbitbot run`: the long-running service.
//!
//! Phases: take the data folder's lock, open the store, end browsers an earlier killed
//! run left behind, start the admin session and resume the tenants' sessions (DESIGN.md
//! §5 restart rules), serve the control socket, then wait for Ctrl-C or SIGTERM and shut
//! down in order (stop accepting, stop every session and its browser, flush tenant
//! logs, release the lock).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::UnixListener;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info};

use crate::bridge::event::BridgeEvent;
use crate::config::Config;
use crate::control;
use crate::session::{SessionError, SessionEvent, Sessions, process};
use crate::store::{DataDirLock, LockError, LogSink, Store, StoreError};
use crate::tenant::TenantId;

/// Why `run` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another process holds the data folder.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The store could not be opened.
    #[error("não consegui abrir os dados: {0}")]
    Store(#[from] StoreError),
    /// Sessions cannot run (the engine is missing, say).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A folder could not be made or the socket could not be served.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Runs until a shutdown signal arrives.
pub async fn run(config: Arc<Config>, sink: &LogSink) -> Result<(), RunError> {
    for dir in [&config.paths.tokens, &config.paths.backups] {
        make_dir(dir)?;
    }
    let lock = DataDirLock::acquire(&config.paths.data)?;
    let store = Arc::new(Store::open(&config.paths.data)?);
    sink.attach(&store);
    let leftovers = process::end_leftovers(&config.paths.data);
    if leftovers > 0 {
        info!(leftovers, "ended browsers left by an earlier run");
    }

    let (events, inbound) = mpsc::channel(1_024);
    let sessions = Sessions::new(Arc::clone(&config), Arc::clone(&store), events)?;
    let router = tokio::spawn(log_events(inbound));
    sessions.start(&TenantId::admin());
    let resumed = sessions.resume()?;

    let socket = control::socket_path(&config.paths.data);
    let listener = bind(&socket)?;
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(control::serve(listener, Arc::clone(&store), stopped));
    let tenants = store.control().tenants()?.len();
    let resumed = resumed.len();
    info!(data = %config.paths.data.display(), tenants, resumed, "orbitbot running");

    wait_for_signal().await;
    info!("shutting down");
    let _ = stop.send(true);
    let _ = server.await;
    sessions.stop_all().await;
    drop(sessions);
    let _ = router.await;
    let _ = std::fs::remove_file(&socket);
    sink.flush();
    drop(store);
    drop(lock);
    info!("stopped");
    Ok(())
}

/// Until the admin plane takes them, session events are logged.
async fn log_events(mut events: mpsc::Receiver<SessionEvent>) {
    while let Some(event) = events.recv().await {
        match event {
            SessionEvent::Qr { tenant, seq, .. } => info!(%tenant, seq, "QR code shown"),
            SessionEvent::Online { tenant, .. } => info!(%tenant, "online"),
            SessionEvent::Inbound {
                tenant,
                event: BridgeEvent::Message(m),
            } => {
                debug!(%tenant, id = %m.id, kind = %m.kind, from_me = m.from_me, "message")
            }
            other => debug!(event = ?other, "session event"),
        }
    }
}

fn make_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|source| RunError::Io {
        what: "não consegui criar a pasta",
        path: dir.to_owned(),
        source,
    })
}

/// Binds the control socket, replacing a file left by a run that died (we hold the
/// lock, so nobody else is serving it).
fn bind(socket: &Path) -> Result<UnixListener, RunError> {
    let io = |source| RunError::Io {
        what: "não consegui abrir o socket de controle",
        path: socket.to_owned(),
        source,
    };
    match std::fs::remove_file(socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let listener = UnixListener::bind(socket).map_err(io)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
