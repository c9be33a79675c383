//! Archive names and a tenant's backup folder: listing and retention.
//!
//! Names are `<UTC time>.tar.zst` (`20261204T153012Z.tar.zst`), for scheduled and
//! manual backups alike, or `<prefix>-<UTC time>.tar.zst` for archives kept for a
//! reason (`logout-…`, taken when a phone logs the tenant out). Operators pick an
//! archive by name, never by path: [`is_archive_name`] accepts only names made here.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

use super::{BackupError, BackupResult};
use crate::tenant::TenantId;

/// The UTC time in a name, as `strftime` writes it.
const STAMP: &str = "%Y%m%dT%H%M%SZ";

/// The stamp's length in bytes.
const STAMP_LEN: usize = 16;

/// Every archive name ends so.
const SUFFIX: &str = ".tar.zst";

/// The longest prefix accepted, in letters.
const MAX_PREFIX: usize = 16;

/// One archive in a tenant's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    /// Its file name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When the file was last modified, Unix milliseconds.
    pub modified_ms: u64,
    /// When it was taken, from its name, Unix milliseconds.
    pub created_ms: u64,
}

/// A tenant's backup folder: `<backups>/<tenant>/`.
pub fn tenant_dir(backups: &Path, id: &TenantId) -> PathBuf {
    backups.join(id.as_str())
}

/// The name of an archive taken at `at_ms` (UTC, to the second), with an optional
/// prefix (lowercase letters, e.g. `logout`).
pub fn archive_name(at_ms: u64, prefix: Option<&str>) -> String {
    let at = i64::try_from(at_ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX);
    let stamp = at.strftime(STAMP);
    match prefix {
        Some(prefix) => format!("{prefix}-{stamp}{SUFFIX}"),
        None => format!("{stamp}{SUFFIX}"),
    }
}

/// Whether `name` is an archive name as [`archive_name`] makes them: a real UTC time,
/// an optional prefix of 1 to 16 lowercase letters, and nothing else (no `/`, no `..`).
pub fn is_archive_name(name: &str) -> bool {
    parse_name(name).is_some()
}

/// An archive name's prefix (if any) and time in Unix milliseconds.
fn parse_name(name: &str) -> Option<(Option<&str>, u64)> {
    let base = name.strip_suffix(SUFFIX)?;
    let split = base.len().checked_sub(STAMP_LEN)?;
    let (head, stamp) = (base.get(..split)?, base.get(split..)?);
    let prefix = match head {
        "" => None,
        _ => Some(head.strip_suffix('-').filter(|p| is_prefix(p))?),
    };
    Some((prefix, parse_stamp(stamp)?))
}

/// 1 to 16 lowercase ASCII letters.
fn is_prefix(prefix: &str) -> bool {
    let letters = prefix.bytes().all(|b| b.is_ascii_lowercase());
    letters && (1..=MAX_PREFIX).contains(&prefix.len())
}

fn parse_stamp(stamp: &str) -> Option<u64> {
    let shape_ok = stamp.bytes().enumerate().all(|(i, b)| match i {
        8 => b == b'T',
        15 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let at = DateTime::strptime(STAMP, stamp).ok()?;
    let ms = Offset::UTC.to_timestamp(at).ok()?.as_millisecond();
    u64::try_from(ms).ok()
}

/// The archives in a tenant's folder, newest first; none when the folder is missing.
/// Other files (partial archives, anything else) are left out.
pub fn list(dir: &Path) -> BackupResult<Vec<ArchiveInfo>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BackupError::io(dir, e))?;
        if let Some(info) = archive_info(&entry)? {
            out.push(info);
        }
    }
    out.sort_by(|a, b| (b.created_ms, &b.name).cmp(&(a.created_ms, &a.name)));
    Ok(out)
}

fn archive_info(entry: &fs::DirEntry) -> BackupResult<Option<ArchiveInfo>> {
    let name = entry.file_name();
    let Some((_, created_ms)) = name.to_str().and_then(parse_name) else {
        return Ok(None);
    };
    let meta = entry
        .metadata()
        .map_err(|e| BackupError::io(entry.path(), e))?;
    if !meta.is_file() {
        return Ok(None);
    }
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    let modified_ms = modified.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Ok(Some(ArchiveInfo {
        name: name.to_string_lossy().into_owned(),
        size: meta.len(),
        modified_ms,
        created_ms,
    }))
}

/// Removes the oldest plain archives (`<time>.tar.zst`) beyond the newest `keep`;
/// prefixed ones (`logout-…`) are never removed. Returns the names removed.
pub fn prune(dir: &Path, keep: usize) -> BackupResult<Vec<String>> {
    let plain = list(dir)?
        .into_iter()
        .filter(|a| parse_name(&a.name).is_some_and(|(prefix, _)| prefix.is_none()));
    let mut removed = Vec::new();
    for archive in plain.skip(keep) {
        let path = dir.join(&archive.name);
        fs::remove_file(&path).map_err(|e| BackupError::io(path, e))?;
        removed.push(archive.name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04T15:30:12.345Z.
    const AT: u64 = 1_796_398_212_345;

    #[test]
    fn names_carry_the_utc_time() {
        assert_eq!(archive_name(AT, None), "20261204T153012Z.tar.zst");
        let logout = archive_name(AT, Some("logout"));
        assert_eq!(logout, "logout-20261204T153012Z.tar.zst");
        assert_eq!(parse_name(&logout), Some((Some("logout"), AT - 345)));
        assert_eq!(archive_name(0, None), "19700101T000000Z.tar.zst");
    }

    #[test]
    fn only_names_made_here_are_archive_names() {
        for ok in [
            "20261204T153012Z.tar.zst",
            "logout-20261204T153012Z.tar.zst",
        ] {
            assert!(is_archive_name(ok), "{ok}");
        }
        let bad = [
            "",
            ".tar.zst",
            "20261204T153012Z.tar",
            "20261204T153012Z.tar.zst.partial",
            "../20261204T153012Z.tar.zst",
            "ana/20261204T153012Z.tar.zst",
            "/20261204T153012Z.tar.zst",
            "-20261204T153012Z.tar.zst",
            "Logout-20261204T153012Z.tar.zst",
            "log out-20261204T153012Z.tar.zst",
            "logout20261204T153012Z.tar.zst",
            "averyveryverylongprefix-20261204T153012Z.tar.zst",
            "20261304T153012Z.tar.zst",
            "20261204T253012Z.tar.zst",
            "2026120XT153012Z.tar.zst",
            "+0261204T153012Z.tar.zst",
            "20261204 153012Z.tar.zst",
            "x20261204T153012Z.tar.zst",
            "20261204T153012Ztar.zst",
        ];
        for name in bad {
            assert!(!is_archive_name(name), "{name}");
        }
    }

    fn touch(dir: &Path, name: &str, len: usize) {
        fs::write(dir.join(name), vec![0; len]).unwrap();
    }

    #[test]
    fn list_is_newest_first_and_only_archives() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(&dir.path().join("missing")).unwrap().is_empty());
        touch(dir.path(), &archive_name(AT, None), 10);
        touch(dir.path(), &archive_name(AT + 60_000, Some("logout")), 20);
        touch(dir.path(), &archive_name(AT - 86_400_000, None), 30);
        touch(dir.path(), ".20261204T153012Z.tar.zst.partial", 1);
        touch(dir.path(), "notes.txt", 1);
        fs::create_dir(dir.path().join("20251204T153012Z.tar.zst")).unwrap();

        let found = list(dir.path()).unwrap();

        let names: Vec<&str> = found.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "logout-20261204T153112Z.tar.zst",
                "20261204T153012Z.tar.zst",
                "20261203T153012Z.tar.zst",
            ]
        );
        assert_eq!(found[0].size, 20);
        assert_eq!(found[1].created_ms, AT - 345);
        assert!(found[2].modified_ms > 0);
    }

    #[test]
    fn prune_keeps_the_newest_and_every_logout_archive() {
        let dir = tempfile::tempdir().unwrap();
        let day = 86_400_000;
        for n in 0..5 {
            touch(dir.path(), &archive_name(AT + n * day, None), 1);
        }
        touch(dir.path(), &archive_name(AT - 10 * day, Some("logout")), 1);

        let removed = prune(dir.path(), 2).unwrap();

        assert_eq!(
            removed,
            [
                "20261206T153012Z.tar.zst",
                "20261205T153012Z.tar.zst",
                "20261204T153012Z.tar.zst",
            ]
        );
        let left: Vec<String> = list(dir.path())
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(
            left,
            [
                "20261208T153012Z.tar.zst",
                "20261207T153012Z.tar.zst",
                "logout-20261124T153012Z.tar.zst",
            ]
        );
        assert!(prune(dir.path(), 2).unwrap().is_empty());
        assert!(prune(&dir.path().join("missing"), 0).unwrap().is_empty());
    }
}
