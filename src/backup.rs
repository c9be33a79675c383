//! Backup archives of one tenant: one `.tar.zst` file, verified before anything is
//! restored from it.
//!
//! An archive holds these entries, and no others (any other name is refused):
//!
//! - `tenant.redb`: a consistent copy of the tenant database
//!   ([`crate::store::TenantDb::copy_to`]);
//! - `control.json`: the tenant's control rows, a [`ControlData`];
//! - `profile/...`: the browser profile, regular files and folders only;
//! - `manifest.json`, always the last entry: a [`Manifest`] with the format version and
//!   the size and sha256 of every other entry.
//!
//! The file is one zstd frame holding the tar, then a zstd skippable frame (the
//! trailer) holding the sha256 of every byte before it: zstd's own checksum covers the
//! content only, not its frame and block headers, and the trailer makes a changed byte
//! anywhere count. `zstd -d` and `tar --zstd` skip the trailer.
//!
//! [`ArchiveWriter`] writes one under a temporary name and renames it when complete;
//! [`verify`] recomputes every checksum; [`extract`] verifies first and never writes
//! outside its destination. Archives live in `backups/<tenant>/`, named by the time
//! they were taken ([`archive_name`]); [`list`] and [`prune`] manage that folder.

mod manifest;
mod names;
mod ops;
mod reader;
mod writer;

pub use manifest::{ControlData, EntryInfo, Manifest};
pub use names::{ArchiveInfo, archive_name, is_archive_name, list, prune, tenant_dir};
pub use ops::{Restored, Taken, archive_logouts, daily, restore, take};
pub use reader::{extract, verify};
pub use writer::ArchiveWriter;

use std::io::{self, Read};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::store::StoreError;

/// The archive format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The manifest's entry name; always the archive's last entry.
pub const MANIFEST_ENTRY: &str = "manifest.json";

/// The tenant database's entry name.
pub const DB_ENTRY: &str = "tenant.redb";

/// The control rows' entry name ([`ControlData`] as JSON).
pub const CONTROL_ENTRY: &str = "control.json";

/// The folder entry holding the browser profile.
pub const PROFILE_DIR: &str = "profile";

/// The magic number of the trailer, a zstd skippable frame.
const TRAILER_MAGIC: u32 = 0x184D_2A5B;

/// The trailer's length: magic number, frame size, sha256.
const TRAILER_LEN: u64 = 40;

/// The trailer ending an archive whose other bytes hash to `sha256`.
fn trailer(sha256: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TRAILER_LEN as usize);
    out.extend_from_slice(&TRAILER_MAGIC.to_le_bytes());
    out.extend_from_slice(&32u32.to_le_bytes());
    out.extend_from_slice(sha256);
    out
}

/// The file entries outside the profile.
const TOP_FILES: [&str; 3] = [DB_ENTRY, CONTROL_ENTRY, MANIFEST_ENTRY];

/// The longest entry name accepted, in bytes.
const MAX_NAME: usize = 1024;

/// Shorthand for backup results.
pub type BackupResult<T> = Result<T, BackupError>;

/// A backup failure; its `Display` is the pt-BR text for the operator.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("falha ao ler ou gravar {}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The archive does not decode or does not match its manifest.
    #[error("arquivo corrompido ou alterado: {0}")]
    Tampered(String),
    /// An entry that no archive of ours holds (absolute, `..`, unknown name or type).
    #[error("arquivo corrompido ou alterado: entrada não permitida \"{0}\"")]
    BadEntry(String),
    /// The manifest's format version is not the one this build reads.
    #[error(
        "formato de backup {found} desconhecido: esta versão do orbitbot lê só o formato \
         {supported}"
    )]
    UnknownFormat {
        /// The version in the manifest.
        found: u32,
        /// The version this build reads ([`FORMAT_VERSION`]).
        supported: u32,
    },
    /// The archive was taken of another tenant.
    #[error("este backup é do cliente {found}, não de {expected}")]
    WrongTenant {
        /// The tenant in the manifest.
        found: String,
        /// The tenant asked for.
        expected: String,
    },
    /// The archive to write exists already.
    #[error("o arquivo {} já existe", .0.display())]
    Exists(PathBuf),
    /// The folder to extract into is not empty.
    #[error("a pasta {} não está vazia", .0.display())]
    NotEmpty(PathBuf),
    /// A file changed size while it was being archived.
    #[error("o arquivo {} mudou durante a cópia; tente de novo", .0.display())]
    Changed(PathBuf),
    /// The same entry was added twice.
    #[error("entrada repetida no backup: {0}")]
    Duplicate(String),
    /// An earlier failure left the archive being written unusable.
    #[error("o backup foi interrompido por um erro anterior")]
    Aborted,
    /// Reading the tenant's data from the store failed.
    #[error("{}", .0.user_message())]
    Store(#[from] StoreError),
    /// Refused as asked: no such archive, a tenant that exists, ... (the pt-BR why).
    #[error("{0}")]
    Refused(String),
}

impl BackupError {
    fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

/// Checks an entry name (a folder's without its trailing `/`) against the names an
/// archive may hold. The manifest's own name is checked by its callers.
fn check_name(name: &str, kind: Kind) -> BackupResult<()> {
    let bad = || BackupError::BadEntry(name.chars().take(200).collect());
    let clean = name.len() <= MAX_NAME
        && !name.contains(['\\', '\0'])
        && name.split('/').all(|c| !matches!(c, "" | "." | ".."));
    if !clean {
        return Err(bad());
    }
    let in_profile = name
        .strip_prefix(PROFILE_DIR)
        .is_some_and(|rest| rest.starts_with('/'));
    let allowed = match kind {
        Kind::File => in_profile || TOP_FILES.contains(&name),
        Kind::Dir => in_profile || name == PROFILE_DIR,
    };
    if allowed { Ok(()) } else { Err(bad()) }
}

/// How a folder is named in the manifest: with a trailing `/`.
fn dir_key(name: &str) -> String {
    format!("{name}/")
}

/// Counts and hashes what passes through a reader.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The size read and the sha256 of it, in lowercase hex.
    fn finish(self) -> (u64, String) {
        (self.size, to_hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// The sha256 of some bytes, in lowercase hex.
fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_the_allowed_ones_only() {
        let ok = [
            ("tenant.redb", Kind::File),
            ("control.json", Kind::File),
            ("manifest.json", Kind::File),
            ("profile", Kind::Dir),
            ("profile/Default", Kind::Dir),
            ("profile/Default/Cookies", Kind::File),
            ("profile/a b/ção.txt", Kind::File),
        ];
        for (name, kind) in ok {
            assert!(check_name(name, kind).is_ok(), "{name}");
        }
        let bad = [
            ("../evil", Kind::File),
            ("/etc/x", Kind::File),
            ("profile/../../x", Kind::File),
            ("profile/./x", Kind::File),
            ("profile//x", Kind::File),
            ("profile/x/", Kind::File),
            ("profile\\..\\x", Kind::File),
            ("profile", Kind::File),
            ("profilex/y", Kind::File),
            ("tenant.redb", Kind::Dir),
            ("other.txt", Kind::File),
            ("", Kind::File),
        ];
        for (name, kind) in bad {
            assert!(check_name(name, kind).is_err(), "{name}");
        }
        let long = format!("profile/{}", "a".repeat(MAX_NAME));
        assert!(check_name(&long, Kind::File).is_err());
    }

    #[test]
    fn sha256_is_the_known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut reader = Hashing::new(&b"abc"[..]);
        std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
        assert_eq!(reader.finish(), (3, sha256_hex(b"abc")));
    }
}
