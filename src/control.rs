//! The control socket `<data>/orbitbot.sock`: how shell subcommands act while `run` is up.
//!
//! redb locks each database file to one process, so while `orbitbot run` is up the
//! shell cannot open the store; it sends a [`Request`] over the socket instead (one JSON
//! line each way). When `run` is not up the shell locks the data folder itself and
//! answers the same request with the same [`handle`] function: one copy of the logic.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::backup;
use crate::config::Config;
use crate::session::Sessions;
use crate::store::{DataDirLock, LockError, Store};
use crate::tenant::{TenantId, TenantRecord};

/// The longest a shell subcommand waits for `run` to answer (a backup of a large
/// profile takes a while).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A request from the shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Every tenant with its state.
    Tenants,
    /// Take a backup of a tenant.
    Backup {
        /// The tenant, as typed.
        tenant: String,
    },
    /// List a tenant's backups.
    Backups {
        /// The tenant, as typed.
        tenant: String,
    },
    /// Restore a tenant from one of its backups.
    Restore {
        /// The tenant, as typed.
        tenant: String,
        /// The archive's name (the newest when absent).
        file: Option<String>,
        /// Replace an existing tenant.
        replace: bool,
    },
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The tenants, ordered by id.
    Tenants(Vec<TenantRecord>),
    /// The request failed; the text is for the operator.
    Error(String),
    /// A text for the operator (what was done).
    Text(String),
}

/// Why a shell subcommand could not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The data folder is locked but nobody answers on the socket.
    #[error(
        "o orbitbot (processo {holder}) está usando a pasta de dados, mas não responde em {}",
        .socket.display()
    )]
    NoAnswer {
        /// Who holds the lock.
        holder: String,
        /// The socket tried.
        socket: PathBuf,
    },
    /// Locking the folder failed.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Opening the store failed.
    #[error("não consegui abrir os dados: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The socket broke mid-answer, or the answer was not understood.
    #[error("resposta inválida do orbitbot em {}: {reason}", .socket.display())]
    Protocol {
        /// The socket.
        socket: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Where the control socket of a data folder lives.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join("orbitbot.sock")
}

/// What answers requests: the store, and the sessions while `run` is up.
pub struct Desk {
    /// The configuration (paths of backups and profiles).
    pub config: Arc<Config>,
    /// The open store.
    pub store: Arc<Store>,
    /// The running sessions (`None` from the shell, when `run` is not up).
    pub sessions: Option<Arc<Sessions>>,
}

/// Answers a request; used by `run` and by the shell alike.
pub async fn handle(desk: &Desk, request: Request) -> Reply {
    let sessions = desk.sessions.as_deref();
    let (config, store) = (&*desk.config, &*desk.store);
    match request {
        Request::Tenants => match store.control().tenants() {
            Ok(list) => Reply::Tenants(list),
            Err(e) => {
                warn!(error = %e, "listing tenants failed");
                Reply::Error(e.user_message())
            }
        },
        Request::Backup { tenant } => match tenant_id(&tenant) {
            Ok(id) => match backup::take(config, store, sessions, &id, None).await {
                Ok(taken) => Reply::Text(crate::replies::backup_taken(id.as_str(), &taken)),
                Err(e) => Reply::Error(e.to_string()),
            },
            Err(e) => e,
        },
        Request::Restore {
            tenant,
            file,
            replace,
        } => match tenant_id(&tenant) {
            Ok(id) => {
                let done = backup::restore(config, store, sessions, &id, file.as_deref(), replace);
                match done.await {
                    Ok(r) => Reply::Text(crate::replies::restored(id.as_str(), &r)),
                    Err(e) => Reply::Error(e.to_string()),
                }
            }
            Err(e) => e,
        },
        Request::Backups { tenant } => match tenant_id(&tenant) {
            Ok(id) => backups_text(config, &id),
            Err(e) => e,
        },
    }
}

fn tenant_id(text: &str) -> Result<TenantId, Reply> {
    TenantId::parse(text).map_err(|e| Reply::Error(e.to_string()))
}

fn backups_text(config: &Config, id: &TenantId) -> Reply {
    match backup::list(&backup::tenant_dir(&config.paths.backups, id)) {
        Ok(list) => Reply::Text(crate::replies::backups_list(id.as_str(), &list)),
        Err(e) => Reply::Error(e.to_string()),
    }
}

/// Gets an answer for the shell: from `run` when it is up, else from the store directly.
pub fn request(config: &Arc<Config>, request: &Request) -> Result<Reply, ControlError> {
    let data = &config.paths.data;
    let socket = socket_path(data);
    if let Ok(stream) = UnixStream::connect(&socket) {
        return exchange(stream, &socket, request);
    }
    if !data.join("control.redb").exists() {
        // Nothing stored yet: answer from an empty store without creating one.
        return Ok(handle_empty(request));
    }
    match DataDirLock::acquire(data) {
        Ok(_lock) => {
            let desk = Desk {
                config: Arc::clone(config),
                store: Arc::new(Store::open(data)?),
                sessions: None,
            };
            let runtime = tokio::runtime::Runtime::new().map_err(|e| ControlError::Protocol {
                socket: socket.clone(),
                reason: e.to_string(),
            })?;
            Ok(runtime.block_on(handle(&desk, request.clone())))
        }
        Err(LockError::Held { holder, .. }) => Err(ControlError::NoAnswer { holder, socket }),
        Err(e) => Err(e.into()),
    }
}

/// The answer of a data folder that holds nothing yet.
fn handle_empty(request: &Request) -> Reply {
    match request {
        Request::Tenants => Reply::Tenants(Vec::new()),
        Request::Backups { tenant }
        | Request::Backup { tenant }
        | Request::Restore { tenant, .. } => match tenant_id(tenant) {
            Ok(id) => Reply::Error(crate::store::StoreError::TenantNotFound(id).user_message()),
            Err(refused) => refused,
        },
    }
}

fn exchange(
    mut stream: UnixStream,
    socket: &Path,
    request: &Request,
) -> Result<Reply, ControlError> {
    let broken = |reason: String| ControlError::Protocol {
        socket: socket.to_owned(),
        reason,
    };
    let mut line = serde_json::to_string(request).map_err(|e| broken(e.to_string()))?;
    line.push('\n');
    let _ = stream.set_read_timeout(Some(ANSWER_TIMEOUT));
    stream
        .write_all(line.as_bytes())
        .map_err(|e| broken(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| broken(e.to_string()))?;
    serde_json::from_str(&answer).map_err(|e| broken(e.to_string()))
}

/// Serves the socket until `shutdown` turns true; every connection is answered.
pub async fn serve(listener: UnixListener, desk: Arc<Desk>, mut shutdown: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, Arc::clone(&desk)));
                }
                Err(e) => warn!(error = %e, "control socket accept failed"),
            },
            _ = shutdown.changed() => break,
        }
    }
    // Answers in flight get a moment to finish; a client that keeps its line open
    // does not hold up the shutdown.
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
    connections.shutdown().await;
}

async fn connection(stream: tokio::net::UnixStream, desk: Arc<Desk>) {
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(request) => {
                debug!(?request, "control request");
                handle(&desk, request).await
            }
            Err(e) => Reply::Error(format!("pedido não entendido: {e}")),
        };
        let mut text = serde_json::to_string(&reply).unwrap_or_default();
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            break;
        }
    }
}
