//! `orbitbot run`: the long-running service.
//!
//! Phases: take the data folder's lock, open the store, end browsers an earlier killed
//! run left behind, load the client commands, start the admin session and resume the
//! tenants' sessions (DESIGN.md §5 restart rules) with their events routed to the
//! client pipeline, serve the control socket, then wait for Ctrl-C or SIGTERM and shut
//! down in order (stop accepting, stop every session and its browser, let the pipeline
//! finish, flush tenant logs, release the lock).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::UnixListener;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::admin::Admin;
use crate::ai::{AiClient, AiError, ApiKey};
use crate::bridge::event::{BridgeEvent, encoded_messages, parse_poll};
use crate::chat::PhoneNumber;
use crate::client::catalog::{Catalog, CatalogError};
use crate::client::{Outlet, Pipeline};
use crate::config::Config;
use crate::control;
use crate::session::{SessionError, SessionEvent, Sessions, process};
use crate::store::{DataDirLock, LockError, LogSink, Store, StoreError};
use crate::tenant::TenantId;
use crate::transcribe::model::Whisper;
use crate::transcribe::pool::Transcriber;
use serde_json::json;

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
    /// A `commands/*.toml` file is wrong.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The AI endpoint cannot be used as configured (its key is missing, say).
    #[error("IA: {0}")]
    Ai(#[from] AiError),
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
/// With `pair`, the admin account is linked by a pairing code for that phone instead
/// of a QR.
pub async fn run(
    config: Arc<Config>,
    sink: &LogSink,
    pair: Option<PhoneNumber>,
) -> Result<(), RunError> {
    let ai = ai_client(&config)?;
    for dir in [&config.paths.tokens, &config.paths.backups] {
        make_dir(dir)?;
    }
    let lock = DataDirLock::acquire(&config.paths.data)?;
    let store = Arc::new(Store::open(&config.paths.data)?);
    let panel_listener = bind_panel(&config).await?;
    sink.attach(&store);
    take_leftover_messages(&store, &config.paths.data).await;
    let leftovers = process::end_leftovers(&config.paths.data);
    if leftovers > 0 {
        info!(leftovers, "ended browsers left by an earlier run");
    }

    let catalog = load_catalog(&config.paths.commands)?;
    let (events, inbound) = mpsc::channel(1_024);
    let sessions = Arc::new(Sessions::new(
        Arc::clone(&config),
        Arc::clone(&store),
        events,
    )?);
    let outlet: Arc<dyn Outlet> = Arc::clone(&sessions) as Arc<dyn Outlet>;
    let mut pipeline = Pipeline::new(Arc::clone(&config), Arc::clone(&store), outlet, catalog, ai);
    if let Some(transcriber) = transcriber(&config).await {
        pipeline = pipeline.with_transcriber(transcriber);
    }
    let pipeline = Arc::new(pipeline);
    let admin = Arc::new(Admin::new(
        Arc::clone(&config),
        Arc::clone(&store),
        Arc::clone(&sessions),
        Arc::clone(&pipeline),
        pair,
    ));
    let (to_admin, admin_events) = mpsc::unbounded_channel();
    let admin_task = tokio::spawn(Arc::clone(&admin).run(admin_events));
    let notices = tokio::spawn(tell_notices(&pipeline, Arc::clone(&admin)));
    let (end_routing, routing) = watch::channel(false);
    let router = tokio::spawn(route(inbound, Arc::clone(&pipeline), to_admin, routing));
    sessions.start(&TenantId::admin());
    let resumed = sessions.resume()?;

    let socket = control::socket_path(&config.paths.data);
    let listener = bind(&socket)?;
    let (stop, stopped) = watch::channel(false);
    let desk = Arc::new(control::Desk {
        config: Arc::clone(&config),
        store: Arc::clone(&store),
        sessions: Some(Arc::clone(&sessions)),
    });
    let server = tokio::spawn(control::serve(listener, desk, stopped.clone()));
    let panel = match (&config.panel, panel_listener) {
        (Some(settings), Some(listener)) => {
            let panel = crate::panel::Panel::new(Arc::clone(&admin), settings.clone());
            Some(tokio::spawn(crate::panel::serve(listener, panel, stopped)))
        }
        _ => None,
    };
    let tenants = store.control().tenants()?.len();
    let resumed = resumed.len();
    info!(data = %config.paths.data.display(), tenants, resumed, "orbitbot running");

    wait_for_signal().await;
    info!("shutting down");
    let _ = stop.send(true);
    let _ = server.await;
    if let Some(panel) = panel {
        let _ = panel.await;
    }
    sessions.stop_all().await;
    let _ = end_routing.send(true);
    let _ = router.await;
    let _ = admin_task.await;
    notices.abort();
    let _ = notices.await;
    drop(admin);
    if let Ok(pipeline) = Arc::try_unwrap(pipeline) {
        pipeline.shutdown().await;
    }
    drop(sessions);
    let _ = std::fs::remove_file(&socket);
    sink.flush();
    drop(store);
    drop(lock);
    info!("stopped");
    Ok(())
}

/// The web panel's listener when `[panel]` is set.
async fn bind_panel(config: &Config) -> Result<Option<tokio::net::TcpListener>, RunError> {
    let Some(panel) = &config.panel else {
        return Ok(None);
    };
    let bound = tokio::net::TcpListener::bind(panel.listen).await;
    bound.map(Some).map_err(|source| RunError::Io {
        what: "não consegui abrir o painel em",
        path: PathBuf::from(panel.listen.to_string()),
        source,
    })
}

/// The AI client when `[ai]` is set; its key must be in the environment.
fn ai_client(config: &Config) -> Result<Option<AiClient>, RunError> {
    let Some(ai) = &config.ai else {
        return Ok(None);
    };
    let key = ai
        .api_key_env
        .as_deref()
        .map(ApiKey::from_env)
        .transpose()?;
    let host = ai.base_url.host_str().unwrap_or_default();
    info!(model = %ai.model, host, "AI answers on");
    Ok(Some(AiClient::new(ai, key)?))
}

/// The shared transcriber on `[transcription] model`; without the model, voice notes
/// get a polite "not now" and the log names the command that fetches it.
async fn transcriber(config: &Config) -> Option<Arc<Transcriber>> {
    let settings = &config.transcription;
    let path = settings.model.clone();
    let loaded = tokio::task::spawn_blocking(move || Whisper::load(&path)).await;
    match loaded {
        Ok(Ok(whisper)) => {
            info!(
                workers = settings.workers,
                "voice notes transcribed locally"
            );
            Some(Arc::new(Transcriber::start(
                Arc::new(whisper),
                settings.workers,
            )))
        }
        Ok(Err(e)) => {
            warn!(error = %e, "voice notes will not be transcribed");
            None
        }
        Err(e) => {
            warn!(error = %e, "transcription model not loaded");
            None
        }
    }
}

/// Passes the pipeline's notices to the operators until aborted.
fn tell_notices(pipeline: &Pipeline, admin: Arc<Admin>) -> impl Future<Output = ()> + use<> {
    let heard = pipeline.notices();
    async move {
        let Some(mut heard) = heard else { return };
        while let Some(notice) = heard.recv().await {
            admin.alerts.on_notice(&admin, &notice);
        }
    }
}

/// A killed run leaves its browsers running, and their pages keep taking messages
/// until this run ends them: what they hold is spooled for the pipeline first, so a
/// message delivered while orbitbot was down is answered, not lost.
async fn take_leftover_messages(store: &Store, data: &Path) {
    let Ok(http) = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
    else {
        return;
    };
    for (tenant, url, session) in process::leftover_pages(data) {
        let Ok(id) = TenantId::parse(&tenant) else {
            continue;
        };
        let script = json!({"script": "return window.__wab.poll(0, 0, 1000, null)", "args": []});
        let endpoint = format!("{url}/session/{session}/execute/sync");
        let answer = match http.post(&endpoint).json(&script).send().await {
            Ok(res) => res.json::<serde_json::Value>().await.ok(),
            Err(e) => {
                warn!(%tenant, error = %e, "leftover page not reachable");
                None
            }
        };
        let Some(batch) = answer.and_then(|a| parse_poll(a["value"].clone()).ok()) else {
            continue;
        };
        let messages = encoded_messages(&batch.events);
        if messages.is_empty() || id.is_admin() {
            continue;
        }
        match store.tenant(&id).and_then(|db| db.spool(&messages)) {
            Ok(()) => {
                info!(%tenant, messages = messages.len(), "messages taken from a leftover browser")
            }
            Err(e) => warn!(%tenant, error = %e, "messages of a leftover browser not spooled"),
        }
    }
}

/// Hands session events to the client pipeline and the admin plane until the
/// sessions are stopped.
async fn route(
    mut events: mpsc::Receiver<SessionEvent>,
    pipeline: Arc<Pipeline>,
    admin: mpsc::UnboundedSender<SessionEvent>,
    mut end: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => forward(&pipeline, &admin, event),
                None => break,
            },
            _ = end.wait_for(|end| *end) => {
                while let Ok(event) = events.try_recv() {
                    forward(&pipeline, &admin, event);
                }
                break;
            }
        }
    }
}

/// The admin plane gets the admin session's events and the tenants' lifecycle
/// events; the pipeline gets the tenants' events.
fn forward(pipeline: &Pipeline, admin: &mpsc::UnboundedSender<SessionEvent>, event: SessionEvent) {
    match &event {
        SessionEvent::Qr { tenant, seq, .. } => info!(%tenant, seq, "QR code shown"),
        SessionEvent::Online { tenant, .. } => info!(%tenant, "online"),
        SessionEvent::Inbound {
            tenant,
            event: BridgeEvent::Message(m),
        } => debug!(%tenant, id = %m.id, kind = %m.kind, from_me = m.from_me, "message"),
        SessionEvent::PairCode { tenant, .. } => info!(%tenant, "pairing code shown"),
        other => debug!(event = ?other, "session event"),
    }
    let tenant_message =
        matches!(event, SessionEvent::Inbound { .. }) && !event.tenant().is_admin();
    if !tenant_message {
        let _ = admin.send(event.clone());
    }
    pipeline.dispatch(event);
}

/// The client commands of `commands/*.toml`; without that folder, none (logged).
fn load_catalog(dir: &Path) -> Result<Catalog, RunError> {
    if !dir.is_dir() {
        warn!(dir = %dir.display(), "no commands folder: clients get no commands");
        return Ok(Catalog::empty());
    }
    let catalog = Catalog::load(dir)?;
    info!(
        commands = catalog.commands().len(),
        personas = catalog.personas().list().len(),
        "client commands loaded"
    );
    Ok(catalog)
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
