//! Browser processes and their profiles: who owns a profile, and no orphan ever.
//!
//! Each tenant's chromedriver runs in its own process group, and Chromium inherits it,
//! so ending the group ends the whole browser. The group id is recorded in
//! `<data>/run/<tenant>.pgid` (with the boot it belongs to) while the browser lives; a
//! record found at start-up is a leftover of an orbitbot that was killed, and its group
//! is ended. A profile is owned through `tokens/<tenant>/orbitbot.lock`; Chromium's own
//! `Singleton*` files are cleared when their owner is dead on this host, and a live
//! owner orbitbot did not start makes the start refuse.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use tracing::info;

use crate::bridge::group;

use crate::tenant::TenantId;

/// Chromium's files that mark a profile as in use.
const SINGLETONS: [&str; 3] = ["SingletonLock", "SingletonSocket", "SingletonCookie"];

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Another session of this orbitbot holds the profile.
    #[error("o perfil de {tenant} já está aberto por outra sessão")]
    ProfileBusy {
        /// The tenant.
        tenant: TenantId,
    },
    /// A process orbitbot did not start is using the profile.
    #[error(
        "o perfil de {tenant} está em uso pelo processo {owner}, que o orbitbot não iniciou; \
         feche esse navegador e tente de novo"
    )]
    ForeignOwner {
        /// The tenant.
        tenant: TenantId,
        /// What Chromium's lock says (`host-pid`).
        owner: String,
    },
    /// A file operation failed.
    #[error("erro de arquivo em {}: {source}", .path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ProcessError + '_ {
    move |source| ProcessError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where a tenant's files live: its profile folder and its process record.
#[derive(Debug, Clone)]
pub struct ProfilePaths {
    /// `tokens/<tenant>/`.
    pub root: PathBuf,
    /// `tokens/<tenant>/profile`, Chromium's `--user-data-dir`.
    pub profile: PathBuf,
    /// `<data>/run/<tenant>.pgid`.
    pub pgid_file: PathBuf,
}

impl ProfilePaths {
    /// The paths of `tenant` under the configured folders (absolute when they are).
    pub fn new(tokens: &Path, data: &Path, tenant: &TenantId) -> ProfilePaths {
        let root = tokens.join(tenant.as_str());
        ProfilePaths {
            profile: root.join("profile"),
            pgid_file: data.join("run").join(format!("{tenant}.pgid")),
            root,
        }
    }
}

/// A profile this process owns until the guard is dropped.
#[derive(Debug)]
pub struct ProfileGuard {
    _lock: File,
    paths: ProfilePaths,
}

impl ProfileGuard {
    /// The paths of the owned profile.
    pub fn paths(&self) -> &ProfilePaths {
        &self.paths
    }

    /// Records the process group of the browser just started on this profile, and
    /// where its page can be reached (WebDriver address and session).
    pub fn record_group(
        &self,
        pgid: u32,
        endpoint: Option<(String, String)>,
    ) -> Result<(), ProcessError> {
        let file = &self.paths.pgid_file;
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let reach = endpoint.map_or(String::new(), |(url, session)| format!(" {url} {session}"));
        let text = format!("{pgid} {}{reach}\n", boot_id());
        let tmp = file.with_extension("pgid.tmp");
        std::fs::write(&tmp, text).map_err(io_error(&tmp))?;
        std::fs::rename(&tmp, file).map_err(io_error(file))
    }

    /// Ends the recorded browser group, waits for it, and forgets the record.
    pub fn end_group(&self) {
        end_recorded(&self.paths.pgid_file);
    }
}

/// Takes a tenant's profile for a new browser: locks it, ends a leftover browser of an
/// earlier orbitbot, clears Chromium's stale locks, and refuses a foreign live owner.
pub fn claim_profile(paths: ProfilePaths, tenant: &TenantId) -> Result<ProfileGuard, ProcessError> {
    std::fs::create_dir_all(&paths.profile).map_err(io_error(&paths.profile))?;
    let lock_path = paths.root.join("orbitbot.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_error(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(ProcessError::ProfileBusy {
                tenant: tenant.clone(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
    }
    let guard = ProfileGuard { _lock: lock, paths };
    // A record here is a browser an earlier, killed orbitbot left running.
    end_recorded(&guard.paths.pgid_file);
    clear_singletons(&guard.paths.profile, tenant)?;
    Ok(guard)
}

/// Ends the browser group a record names, if it still runs, and removes the record.
/// Returns whether a group was ended.
fn end_recorded(record: &Path) -> bool {
    let live = read_record(record).filter(|&pgid| group::alive(pgid));
    if let Some(pgid) = live {
        info!(pgid, record = %record.display(), "ending a recorded browser group");
        group::kill_and_wait(pgid);
    }
    let _ = std::fs::remove_file(record);
    live.is_some()
}

/// Ends every browser group recorded under `<data>/run/`: the leftovers of an orbitbot
/// that was killed. Called at start-up while holding the data folder's lock, so no
/// record there belongs to a live orbitbot. Returns how many groups were ended.
pub fn end_leftovers(data: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(data.join("run")) else {
        return 0;
    };
    entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "pgid"))
        .map(|path| end_recorded(&path))
        .filter(|&ended| ended)
        .count()
}

/// The pages that leftover browsers of a killed run still show, by tenant: their
/// WebDriver address and session, for records of this boot whose group is alive.
pub fn leftover_pages(data: &Path) -> Vec<(String, String, String)> {
    let Ok(entries) = std::fs::read_dir(data.join("run")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for path in entries.filter_map(|e| Some(e.ok()?.path())) {
        let Some(tenant) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let parts: Vec<&str> = text.split_whitespace().collect();
        let alive = read_record(&path).is_some_and(group::alive);
        if let (true, [_, _, url, session]) = (alive, parts.as_slice()) {
            out.push((tenant.to_owned(), (*url).to_owned(), (*session).to_owned()));
        }
    }
    out
}

/// The browser group recorded for a profile, if the record is from this boot.
pub fn recorded_group(paths: &ProfilePaths) -> Option<u32> {
    read_record(&paths.pgid_file)
}

/// The recorded group, if the record is from this boot (group ids do not survive one).
fn read_record(file: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut parts = text.split_whitespace();
    let pgid: u32 = parts.next()?.parse().ok()?;
    (parts.next() == Some(boot_id().as_str()) && pgid > 1).then_some(pgid)
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Clears Chromium's profile locks left by a dead browser on this host.
fn clear_singletons(profile: &Path, tenant: &TenantId) -> Result<(), ProcessError> {
    let lock = profile.join("SingletonLock");
    let Ok(target) = std::fs::read_link(&lock) else {
        return remove_singletons(profile);
    };
    let owner = target.to_string_lossy().into_owned();
    let (host, pid) = owner.rsplit_once('-').unwrap_or((&owner, ""));
    let here = nix::unistd::gethostname().ok();
    let same_host = here.as_deref().and_then(|h| h.to_str()) == Some(host);
    let alive = pid.parse().is_ok_and(group::process_alive);
    if same_host && !alive {
        info!(tenant = %tenant, owner, "clearing a stale Chromium profile lock");
        return remove_singletons(profile);
    }
    Err(ProcessError::ForeignOwner {
        tenant: tenant.clone(),
        owner,
    })
}

fn remove_singletons(profile: &Path) -> Result<(), ProcessError> {
    for name in SINGLETONS {
        let path = profile.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(&path)(e)),
            _ => {}
        }
    }
    Ok(())
}

/// Moves a logged-out profile aside to `tokens/<tenant>/logged-out-<stamp>/`, so a fresh
/// profile shows a QR and the old credentials can be archived. Returns the new place.
pub fn move_profile_aside(paths: &ProfilePaths, stamp: &str) -> Result<PathBuf, ProcessError> {
    let aside = paths.root.join(format!("logged-out-{stamp}"));
    std::fs::rename(&paths.profile, &aside).map_err(io_error(&paths.profile))?;
    std::fs::create_dir_all(&paths.profile).map_err(io_error(&paths.profile))?;
    Ok(aside)
}

#[cfg(test)]
mod tests;
