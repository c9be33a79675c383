//! Taking and restoring one tenant's backup, with or without its running session.
//!
//! A backup copies the tenant database inside one read transaction (the tenant keeps
//! working), adds its control data, then pauses the tenant's browser only while its
//! profile is copied: messages that arrive meanwhile wait on WhatsApp's side and are
//! delivered when the session is back, so nothing is lost. A restore verifies the
//! archive (manifest and checksums) before touching anything.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{
    ArchiveWriter, BackupError, BackupResult, CONTROL_ENTRY, ControlData, DB_ENTRY, PROFILE_DIR,
    archive_name, extract, is_archive_name, list, tenant_dir, verify,
};
use crate::config::Config;
use crate::session::Sessions;
use crate::store::Store;
use crate::tenant::{SessionState, TenantId};

/// Profile bytes between two progress lines in the log.
const PROGRESS_EVERY: u64 = 50 << 20;

/// A backup taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The archive's file name in `backups/<tenant>/`.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// How long it took.
    pub took: Duration,
    /// How long the tenant's browser was paused.
    pub paused: Duration,
}

/// A restore done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The archive used.
    pub name: String,
    /// Whether the tenant was created by the restore.
    pub created: bool,
}

/// Takes a backup of `id` into `backups/<id>/`; with `sessions`, its running browser is
/// paused while the profile is copied. `prefix` names special archives (`logout`).
pub async fn take(
    config: &Config,
    store: &Store,
    sessions: Option<&Sessions>,
    id: &TenantId,
    prefix: Option<&str>,
) -> BackupResult<Taken> {
    let start = Instant::now();
    store
        .control()
        .tenant(id)?
        .ok_or_else(|| crate::store::StoreError::TenantNotFound(id.clone()))?;
    let dir = tenant_dir(&config.paths.backups, id);
    std::fs::create_dir_all(&dir).map_err(|e| BackupError::io(&dir, e))?;
    let (now, name) = free_name(&dir, prefix).await;
    let writer = first_entries(config, store, id, &dir.join(&name), now).await?;

    let paused_at = Instant::now();
    let resume = pause(store, sessions, id).await;
    let profile = profile_of(config, id);
    let written = blocking(move || add_profile(writer, &profile)).await;
    if resume && let Some(sessions) = sessions {
        sessions.start(id);
    }
    let paused = paused_at.elapsed();

    let (_, size) = blocking({
        let tenant = id.to_string();
        move || written?.finish(&tenant, now)
    })
    .await?;
    info!(tenant = %id, %name, size, paused_ms = paused.as_millis(), "backup taken");
    Ok(Taken {
        name,
        size,
        took: start.elapsed(),
        paused,
    })
}

/// A time and archive name not taken yet (names have a one-second resolution).
async fn free_name(dir: &Path, prefix: Option<&str>) -> (u64, String) {
    loop {
        let now = crate::clock::now_ms();
        let name = archive_name(now, prefix);
        if !dir.join(&name).exists() {
            return (now, name);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The database copy and the control data, written while the tenant keeps working.
async fn first_entries(
    config: &Config,
    store: &Store,
    id: &TenantId,
    path: &Path,
    now: u64,
) -> BackupResult<ArchiveWriter> {
    let db = store.tenant(id)?;
    let control = ControlData::capture(store, id)?.to_json();
    let copy = config.paths.data.join(format!("tmp-{id}-{now}.redb"));
    let path = path.to_owned();
    blocking(move || {
        db.copy_to(&copy)?;
        let mut writer = ArchiveWriter::create(&path)?;
        let added = writer
            .add_file(DB_ENTRY, &copy)
            .and_then(|()| writer.add_bytes(CONTROL_ENTRY, &control));
        let _ = std::fs::remove_file(&copy);
        added.map(|()| writer)
    })
    .await
}

/// Stops a running session for the profile copy; `true` if it ran (and must start
/// again). Its state is kept as "starting" so that a crash now resumes it.
async fn pause(store: &Store, sessions: Option<&Sessions>, id: &TenantId) -> bool {
    let Some(sessions) = sessions else {
        return false;
    };
    if sessions.state(id).is_none() {
        return false;
    }
    sessions.stop(id).await;
    let now = crate::clock::now_ms();
    if let Err(e) = store.control().set_state(id, SessionState::Starting, now) {
        warn!(tenant = %id, error = %e, "state during the backup pause not saved");
    }
    true
}

fn add_profile(mut writer: ArchiveWriter, profile: &Path) -> BackupResult<ArchiveWriter> {
    if !profile.is_dir() {
        return Ok(writer);
    }
    let mut next = PROGRESS_EVERY;
    let mut progress = |bytes: u64| {
        if bytes >= next {
            info!(mib = bytes >> 20, "backup: profile copy in progress");
            next = bytes + PROGRESS_EVERY;
        }
    };
    writer.add_dir(PROFILE_DIR, profile, &mut progress)?;
    Ok(writer)
}

fn profile_of(config: &Config, id: &TenantId) -> PathBuf {
    config.paths.tokens.join(id.as_str()).join("profile")
}

/// Restores `id` from one of its own archives (`file`, or the newest), verified first;
/// an existing tenant is replaced only with `replace`. With `sessions`, the session is
/// stopped before and started after.
pub async fn restore(
    config: &Config,
    store: &Store,
    sessions: Option<&Sessions>,
    id: &TenantId,
    file: Option<&str>,
    replace: bool,
) -> BackupResult<Restored> {
    let name = pick(config, id, file)?;
    let path = tenant_dir(&config.paths.backups, id).join(&name);
    let manifest = blocking(move || verify(&path)).await?;
    manifest.check_tenant(id)?;
    let exists = store.control().tenant(id)?.is_some();
    if exists && !replace {
        return Err(BackupError::Refused(crate::replies::restore_needs_replace(
            &config.admin.prefix,
            id.as_str(),
            &name,
        )));
    }
    if let Some(sessions) = sessions {
        sessions.stop(id).await;
    }
    let now = crate::clock::now_ms();
    let scratch = config.paths.data.join(format!("restore-{id}-{now}"));
    let archive = tenant_dir(&config.paths.backups, id).join(&name);
    let unpacked = scratch.clone();
    blocking(move || extract(&archive, &unpacked)).await?;
    let result = put_back(config, store, id, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result?;
    if let Some(sessions) = sessions {
        sessions.start(id);
    }
    info!(tenant = %id, %name, created = !exists, "backup restored");
    Ok(Restored {
        name,
        created: !exists,
    })
}

/// The archive to restore: one of the tenant's own, by name only (never a path).
fn pick(config: &Config, id: &TenantId, file: Option<&str>) -> BackupResult<String> {
    let archives = list(&tenant_dir(&config.paths.backups, id))?;
    let prefix = &config.admin.prefix;
    let Some(wanted) = file else {
        return archives
            .first()
            .map(|a| a.name.clone())
            .ok_or_else(|| BackupError::Refused(crate::replies::no_backups(id.as_str())));
    };
    let known = is_archive_name(wanted) && archives.iter().any(|a| a.name == wanted);
    match known {
        true => Ok(wanted.to_owned()),
        false => Err(BackupError::Refused(crate::replies::unknown_backup(
            prefix,
            id.as_str(),
            wanted,
        ))),
    }
}

/// Puts the unpacked database, control data and profile in place.
fn put_back(config: &Config, store: &Store, id: &TenantId, unpacked: &Path) -> BackupResult<()> {
    let control = std::fs::read(unpacked.join(CONTROL_ENTRY))
        .map_err(|e| BackupError::io(unpacked.join(CONTROL_ENTRY), e))?;
    let mut control = ControlData::from_json(&control)?;
    control.record.state = SessionState::Starting;
    control.record.state_since_ms = crate::clock::now_ms();
    store
        .control()
        .restore_tenant(&control.record, &control.permissions)?;
    store.restore_tenant_db(id, &unpacked.join(DB_ENTRY))?;
    let profile = profile_of(config, id);
    if profile.exists() {
        std::fs::remove_dir_all(&profile).map_err(|e| BackupError::io(&profile, e))?;
    }
    let packed = unpacked.join(PROFILE_DIR);
    if packed.is_dir() {
        if let Some(parent) = profile.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BackupError::io(parent, e))?;
        }
        std::fs::rename(&packed, &profile).map_err(|e| BackupError::io(&profile, e))?;
    }
    Ok(())
}

/// Runs blocking work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> BackupResult<T> + Send + 'static,
) -> BackupResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(BackupError::Refused(format!("falha interna: {e}"))))
}

/// Archives the profiles a phone logout moved aside (`tokens/<id>/logged-out-*/`) as
/// `logout-<time>.tar.zst`, with the tenant's data, then clears them.
pub async fn archive_logouts(
    config: &Config,
    store: &Store,
    id: &TenantId,
) -> BackupResult<Vec<Taken>> {
    let folder = config.paths.tokens.join(id.as_str());
    let mut aside: Vec<PathBuf> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                p.is_dir() && name.starts_with("logged-out-")
            })
            .collect(),
        Err(_) => return Ok(Vec::new()),
    };
    aside.sort();
    let dir = tenant_dir(&config.paths.backups, id);
    std::fs::create_dir_all(&dir).map_err(|e| BackupError::io(&dir, e))?;
    let mut taken = Vec::new();
    for profile in aside {
        let start = Instant::now();
        let (now, name) = free_name(&dir, Some("logout")).await;
        let writer = first_entries(config, store, id, &dir.join(&name), now).await?;
        let (tenant, source) = (id.to_string(), profile.clone());
        let (_, size) =
            blocking(move || add_profile(writer, &source)?.finish(&tenant, now)).await?;
        std::fs::remove_dir_all(&profile).map_err(|e| BackupError::io(&profile, e))?;
        info!(tenant = %id, %name, size, "logged-out credentials archived and cleared");
        taken.push(Taken {
            name,
            size,
            took: start.elapsed(),
            paused: Duration::ZERO,
        });
    }
    Ok(taken)
}

/// The daily backup of every tenant (the admin's own account aside), keeping the
/// newest `keep` scheduled archives of each; returns the tenants that failed, with
/// why.
pub async fn daily(
    config: &Config,
    store: &Store,
    sessions: Option<&Sessions>,
) -> Vec<(TenantId, String)> {
    let mut failed = Vec::new();
    let tenants = match store.control().tenants() {
        Ok(tenants) => tenants,
        Err(e) => return vec![(TenantId::admin(), e.user_message())],
    };
    for record in tenants {
        let id = record.id;
        if let Err(e) = take(config, store, sessions, &id, None).await {
            warn!(tenant = %id, error = %e, "daily backup failed");
            failed.push((id.clone(), e.to_string()));
            continue;
        }
        let dir = tenant_dir(&config.paths.backups, &id);
        let keep = usize::try_from(config.backups.keep).unwrap_or(usize::MAX);
        if let Err(e) = super::prune(&dir, keep) {
            warn!(tenant = %id, error = %e, "old backups not pruned");
        }
    }
    failed
}
