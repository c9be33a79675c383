//! One orbitbot per data folder: an advisory lock on `<data>/orbitbot.lock`.
//!
//! The lock is the kernel's (`flock`), so it ends with the process however the process
//! ends; the file holds the owner's pid so that a refused start can name it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why the data folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "a pasta de dados {} já está em uso pelo processo {holder} \
         (outro `orbitbot run`?); pare-o antes ou use outra pasta em [paths] data",
        .data.display()
    )]
    Held {
        /// The data folder.
        data: PathBuf,
        /// What the lock file says about its owner.
        holder: String,
    },
    /// The lock file could not be created or written.
    #[error("não consegui travar {}: {source}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// The held lock; dropping it releases the folder.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Locks `data` for this process, creating the folder when missing.
    pub fn acquire(data: &Path) -> Result<DataDirLock, LockError> {
        let path = data.join("orbitbot.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    data: data.to_owned(),
                    holder: read_holder(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataDirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    let pid = text.trim();
    if pid.is_empty() {
        "desconhecido".to_owned()
    } else {
        pid.to_owned()
    }
}
