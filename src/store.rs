//! The store: one control database and one database per tenant, all redb.
//!
//! `data/control.redb` holds tenants, their permissions, and the audit log of operator
//! commands. `data/tenants/<tenant>.redb` holds everything of one tenant (history,
//! logs, outbox, processed ids, inbound journal, contacts, settings, plugin state), so
//! a tenant can be backed up, restored or removed alone and no query of one tenant can
//! reach another's rows. Callers see typed records only, never redb types.

mod codec;
mod control;
mod lock;
mod logs;
mod restore;
mod tenant_db;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub use control::{AuditEntry, ControlDb, Permission};
pub use lock::{DataDirLock, LockError};
pub use logs::{LogSink, TenantLogLayer};
pub use tenant_db::{
    Arrival, Arrived, Completion, Contact, CopyStats, HistoryEntry, KvWrite, LogRecord, MediaRef,
    OutboxEntry, OutboxState, Sighting, TenantDb,
};

use crate::tenant::{SessionState, TenantId, TenantRecord};

/// A store failure. Internal faults carry redb's error for the log; users see
/// [`StoreError::user_message`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed (I/O, corruption, another process holding the file).
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    /// Creating a folder or removing a file failed.
    #[error("file error at {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A stored record no longer decodes.
    #[error("corrupt record in {table}: {reason}")]
    Corrupt {
        /// The table holding it.
        table: &'static str,
        /// What did not decode.
        reason: String,
    },
    /// The tenant already exists.
    #[error("tenant {0} already exists")]
    TenantExists(TenantId),
    /// The tenant does not exist.
    #[error("tenant {0} not found")]
    TenantNotFound(TenantId),
}

impl StoreError {
    /// What the operator is told, in pt-BR.
    pub fn user_message(&self) -> String {
        match self {
            Self::TenantExists(id) => format!("{id} já existe"),
            Self::TenantNotFound(id) => {
                format!("cliente {id} não encontrado; veja a lista com !clientes")
            }
            Self::Db(_) | Self::Io { .. } | Self::Corrupt { .. } => {
                "erro interno ao acessar os dados; detalhes no log do servidor".to_owned()
            }
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Db(redb::Error::from(e))
            }
        }
    )*};
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Log records kept per tenant; the oldest go first.
const LOG_KEEP: u64 = 10_000;

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// The opened data folder: the control database and a cache of tenant databases.
pub struct Store {
    root: PathBuf,
    control: ControlDb,
    tenants: Mutex<HashMap<TenantId, Arc<TenantDb>>>,
    stall_ms: Arc<AtomicU64>,
}

impl Store {
    /// Opens (creating when missing) the store under `data_dir`, with the admin's database.
    pub fn open(data_dir: &Path) -> StoreResult<Store> {
        let tenants_dir = data_dir.join("tenants");
        std::fs::create_dir_all(&tenants_dir).map_err(|source| StoreError::Io {
            path: tenants_dir.clone(),
            source,
        })?;
        let store = Store {
            root: data_dir.to_owned(),
            control: ControlDb::open(&data_dir.join("control.redb"))?,
            tenants: Mutex::new(HashMap::new()),
            stall_ms: Arc::default(),
        };
        store.open_db(&TenantId::admin(), true)?;
        Ok(store)
    }

    /// The data folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The control database.
    pub fn control(&self) -> &ControlDb {
        &self.control
    }

    /// Fault hook for tests: every write transaction of every tenant database waits
    /// `stall` first (zero turns it off). Proves that slow writes never block replies
    /// nor lose rows (F17).
    pub fn inject_write_stall(&self, stall: Duration) {
        let ms = u64::try_from(stall.as_millis()).unwrap_or(u64::MAX);
        self.stall_ms.store(ms, Ordering::Relaxed);
    }

    /// Where a tenant's database lives: `<data>/tenants/<tenant>.redb`.
    pub fn tenant_db_path(&self, id: &TenantId) -> PathBuf {
        self.root.join("tenants").join(format!("{id}.redb"))
    }

    /// Creates a tenant: its control record (state `starting`) and its database.
    pub fn create_tenant(&self, id: &TenantId, now_ms: u64) -> StoreResult<TenantRecord> {
        let record = self
            .control
            .insert_tenant(id, SessionState::Starting, now_ms)?;
        if let Err(e) = self.open_db(id, true) {
            // NOTE: no half-made tenant: the record goes when its database cannot be made.
            let _ = self.control.remove_tenant(id);
            return Err(e);
        }
        Ok(record)
    }

    /// An existing tenant's database (the admin's included); never creates one.
    pub fn tenant(&self, id: &TenantId) -> StoreResult<Arc<TenantDb>> {
        self.open_db(id, false)
    }

    /// Removes a tenant's control rows and its database file.
    pub fn remove_tenant(&self, id: &TenantId) -> StoreResult<()> {
        self.control.remove_tenant(id)?;
        self.lock_cache().remove(id);
        let path = self.tenant_db_path(id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StoreError::Io { path, source: e })
            }
            _ => Ok(()),
        }
    }

    fn open_db(&self, id: &TenantId, create: bool) -> StoreResult<Arc<TenantDb>> {
        let mut cache = self.lock_cache();
        if let Some(db) = cache.get(id) {
            return Ok(Arc::clone(db));
        }
        let path = self.tenant_db_path(id);
        if !create && !path.exists() {
            return Err(StoreError::TenantNotFound(id.clone()));
        }
        let db = Arc::new(TenantDb::open(&path, LOG_KEEP, Arc::clone(&self.stall_ms))?);
        cache.insert(id.clone(), Arc::clone(&db));
        Ok(db)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Arc<TenantDb>>> {
        self.tenants.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
