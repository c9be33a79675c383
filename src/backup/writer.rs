//! Writing an archive: entries streamed through tar and zstd into a temporary file
//! beside the target, renamed to the target once the manifest closes it.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tempfile::TempPath;

use super::{
    BackupError, BackupResult, EntryInfo, FORMAT_VERSION, Hashing, Kind, MANIFEST_ENTRY, Manifest,
    check_name, dir_key, sha256_hex, trailer,
};

/// zstd's compression level: fast, and most of a profile compresses little more above.
const LEVEL: i32 = 3;

type Stream = tar::Builder<zstd::Encoder<'static, HashWriter<BufWriter<File>>>>;

/// An archive being written. Dropped without [`ArchiveWriter::finish`], it leaves
/// nothing behind: the final name only ever holds a complete archive.
pub struct ArchiveWriter {
    target: PathBuf,
    temp: TempPath,
    tar: Stream,
    entries: Vec<EntryInfo>,
    names: HashSet<String>,
    /// A failure in the middle of an entry left the stream unusable.
    broken: bool,
}

impl ArchiveWriter {
    /// Starts an archive to be named `path` (its folder is created when missing);
    /// refuses a path that exists.
    pub fn create(path: &Path) -> BackupResult<ArchiveWriter> {
        if path.exists() {
            return Err(BackupError::Exists(path.to_owned()));
        }
        let dir = parent(path);
        fs::create_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
        let temp = tempfile::Builder::new()
            .prefix(".")
            .suffix(".partial")
            .tempfile_in(dir)
            .map_err(|e| BackupError::io(dir, e))?;
        let (file, temp) = temp.into_parts();
        let out = HashWriter::new(BufWriter::new(file));
        let temp_err = |e| BackupError::io(&*temp, e);
        let mut encoder = zstd::Encoder::new(out, LEVEL).map_err(temp_err)?;
        encoder.include_checksum(true).map_err(temp_err)?;
        Ok(ArchiveWriter {
            target: path.to_owned(),
            temp,
            tar: tar::Builder::new(encoder),
            entries: Vec::new(),
            names: HashSet::new(),
            broken: false,
        })
    }

    /// Adds a file entry with the given content.
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> BackupResult<()> {
        self.claim(name, Kind::File)?;
        let header = file_header(bytes.len() as u64, now_secs());
        let size = self.append(name, header, bytes)?;
        self.entries.push(EntryInfo {
            path: name.to_owned(),
            size,
            sha256: sha256_hex(bytes),
        });
        Ok(())
    }

    /// Adds a file entry with the content of `src`, streamed (its sha256 is computed
    /// while it is written).
    pub fn add_file(&mut self, name: &str, src: &Path) -> BackupResult<()> {
        let file = File::open(src).map_err(|e| BackupError::io(src, e))?;
        self.add_open_file(name, src, file).map(|_| ())
    }

    /// Adds the folder `dir` as `prefix/` with everything under it: regular files and
    /// folders only (symlinks, sockets and Chromium's `Singleton*` locks are skipped;
    /// a file that disappears meanwhile is skipped too). After each file, `progress`
    /// gets the bytes of file content written by this call so far.
    pub fn add_dir(
        &mut self,
        prefix: &str,
        dir: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> BackupResult<()> {
        let mut walk = Walk { done: 0, progress };
        self.add_dir_entry(prefix)?;
        self.add_tree(prefix, dir, &mut walk)
    }

    /// Closes the archive with its manifest (the last entry), makes it durable and
    /// gives it its final name. Returns the manifest and the archive's size in bytes.
    pub fn finish(mut self, tenant: &str, created_ms: u64) -> BackupResult<(Manifest, u64)> {
        if self.broken {
            return Err(BackupError::Aborted);
        }
        let manifest = Manifest {
            format: FORMAT_VERSION,
            orbitbot: env!("CARGO_PKG_VERSION").to_owned(),
            tenant: tenant.to_owned(),
            created_ms,
            entries: std::mem::take(&mut self.entries),
        };
        let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        let header = file_header(json.len() as u64, created_ms / 1000);
        self.append(MANIFEST_ENTRY, header, json.as_slice())?;
        let size = self.close()?;
        Ok((manifest, size))
    }

    /// Ends the streams, appends the trailer, syncs the file and renames it to the
    /// target.
    fn close(self) -> BackupResult<u64> {
        let temp_err = |e| BackupError::io(&*self.temp, e);
        let encoder = self.tar.into_inner().map_err(temp_err)?;
        let (mut buffered, sha256) = encoder.finish().map_err(temp_err)?.finish();
        buffered.write_all(&trailer(&sha256)).map_err(temp_err)?;
        let file = buffered
            .into_inner()
            .map_err(|e| temp_err(e.into_error()))?;
        file.sync_all().map_err(temp_err)?;
        let size = file.metadata().map_err(temp_err)?.len();
        drop(file);
        let target = self.target;
        self.temp
            .persist_noclobber(&target)
            .map_err(|e| match e.error.kind() {
                ErrorKind::AlreadyExists => BackupError::Exists(target.clone()),
                _ => BackupError::io(&target, e.error),
            })?;
        sync_dir(parent(&target))?;
        Ok(size)
    }

    /// Checks a new entry's name (the manifest's is reserved) and that it is new.
    fn claim(&mut self, name: &str, kind: Kind) -> BackupResult<()> {
        if name == MANIFEST_ENTRY {
            return Err(BackupError::BadEntry(name.to_owned()));
        }
        check_name(name, kind)?;
        let key = match kind {
            Kind::File => name.to_owned(),
            Kind::Dir => dir_key(name),
        };
        if !self.names.insert(key) {
            return Err(BackupError::Duplicate(name.to_owned()));
        }
        Ok(())
    }

    /// Writes one entry's header and content; returns the content's size. The stream
    /// is unusable after a failure here.
    fn append(
        &mut self,
        name: &str,
        mut header: tar::Header,
        data: impl Read,
    ) -> BackupResult<u64> {
        if self.broken {
            return Err(BackupError::Aborted);
        }
        self.broken = true;
        let size = header.size().unwrap_or(0);
        self.tar
            .append_data(&mut header, name, data)
            .map_err(|e| BackupError::io(&*self.temp, e))?;
        self.broken = false;
        Ok(size)
    }

    /// Adds an opened file; returns its size.
    fn add_open_file(&mut self, name: &str, src: &Path, file: File) -> BackupResult<u64> {
        self.claim(name, Kind::File)?;
        let meta = file.metadata().map_err(|e| BackupError::io(src, e))?;
        if !meta.is_file() {
            return Err(BackupError::BadEntry(name.to_owned()));
        }
        let (len, mtime) = (meta.len(), secs(meta.modified().ok()));
        let mut reader = Hashing::new(file.take(len));
        self.append(name, file_header(len, mtime), &mut reader)?;
        let (size, sha256) = reader.finish();
        if size != len {
            // The entry is shorter than its header says: the archive is lost.
            self.broken = true;
            return Err(BackupError::Changed(src.to_owned()));
        }
        let path = name.to_owned();
        self.entries.push(EntryInfo { path, size, sha256 });
        Ok(size)
    }

    fn add_dir_entry(&mut self, name: &str) -> BackupResult<()> {
        self.claim(name, Kind::Dir)?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        header.set_mtime(now_secs());
        self.append(&dir_key(name), header, std::io::empty())?;
        self.entries.push(EntryInfo {
            path: dir_key(name),
            size: 0,
            sha256: String::new(),
        });
        Ok(())
    }

    /// Adds what `dir` holds under the entry name `name`, in name order.
    fn add_tree(&mut self, name: &str, dir: &Path, walk: &mut Walk<'_>) -> BackupResult<()> {
        let read = fs::read_dir(dir).map_err(|e| BackupError::io(dir, e))?;
        let mut children = read
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BackupError::io(dir, e))?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let file_name = child.file_name();
            let Some(base) = file_name.to_str() else {
                let shown = file_name.to_string_lossy();
                return Err(BackupError::BadEntry(format!("{name}/{shown}")));
            };
            if !base.starts_with("Singleton") {
                self.add_child(&format!("{name}/{base}"), &child, walk)?;
            }
        }
        Ok(())
    }

    fn add_child(
        &mut self,
        name: &str,
        child: &fs::DirEntry,
        walk: &mut Walk<'_>,
    ) -> BackupResult<()> {
        let path = child.path();
        let kind = match child.file_type() {
            Ok(kind) => kind,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(BackupError::io(path, e)),
        };
        if kind.is_dir() {
            self.add_dir_entry(name)?;
            return self.add_tree(name, &path, walk);
        }
        if !kind.is_file() {
            return Ok(());
        }
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(BackupError::io(path, e)),
        };
        walk.done += self.add_open_file(name, &path, file)?;
        (walk.progress)(walk.done);
        Ok(())
    }
}

/// Hashes what passes through a writer: the archive's bytes, for its trailer.
struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The writer back, and the sha256 of what was written.
    fn finish(self) -> (W, Vec<u8>) {
        (self.inner, self.hasher.finalize().to_vec())
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The state of one [`ArchiveWriter::add_dir`] walk.
struct Walk<'a> {
    done: u64,
    progress: &'a mut dyn FnMut(u64),
}

fn file_header(size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header
}

fn now_secs() -> u64 {
    secs(Some(SystemTime::now()))
}

fn secs(t: Option<SystemTime>) -> u64 {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> BackupResult<()> {
    let handle = File::open(dir).map_err(|e| BackupError::io(dir, e))?;
    handle.sync_all().map_err(|e| BackupError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{CONTROL_ENTRY, DB_ENTRY, PROFILE_DIR, verify};

    fn files_in(dir: &Path) -> Vec<String> {
        let names = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name());
        let mut names: Vec<String> = names.map(|n| n.to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn an_existing_archive_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar.zst");
        fs::write(&path, b"old").unwrap();
        assert!(matches!(
            ArchiveWriter::create(&path),
            Err(BackupError::Exists(_))
        ));

        let other = dir.path().join("b.tar.zst");
        let writer = ArchiveWriter::create(&other).unwrap();
        fs::write(&other, b"raced").unwrap();
        assert!(matches!(
            writer.finish("ana", 0),
            Err(BackupError::Exists(_))
        ));
        assert_eq!(fs::read(&other).unwrap(), b"raced");
        assert_eq!(files_in(dir.path()), ["a.tar.zst", "b.tar.zst"]);
    }

    #[test]
    fn a_writer_dropped_unfinished_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ana/a.tar.zst");
        let mut writer = ArchiveWriter::create(&path).unwrap();
        writer.add_bytes(CONTROL_ENTRY, b"{}").unwrap();
        assert_eq!(
            files_in(&dir.path().join("ana")).len(),
            1,
            "the partial file"
        );

        drop(writer);

        assert!(files_in(&dir.path().join("ana")).is_empty());
    }

    #[test]
    fn bad_or_repeated_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ArchiveWriter::create(&dir.path().join("a.tar.zst")).unwrap();
        writer.add_bytes(DB_ENTRY, b"1").unwrap();

        let repeated = writer.add_bytes(DB_ENTRY, b"2");
        assert!(matches!(repeated, Err(BackupError::Duplicate(_))));
        for name in ["manifest.json", "../x", "/etc/x", "x.txt", "profile"] {
            let refused = writer.add_bytes(name, b"3");
            assert!(matches!(refused, Err(BackupError::BadEntry(_))), "{name}");
        }
        let missing = writer.add_file(CONTROL_ENTRY, &dir.path().join("missing"));
        assert!(matches!(missing, Err(BackupError::Io { .. })));

        let (manifest, _) = writer.finish("ana", 0).unwrap();
        assert_eq!(manifest.entries.len(), 1);
    }

    #[test]
    fn long_profile_paths_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("p");
        let deep = profile
            .join("Service Worker/CacheStorage")
            .join("a".repeat(64));
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("b".repeat(120)), b"cached").unwrap();
        let path = dir.path().join("a.tar.zst");
        let mut writer = ArchiveWriter::create(&path).unwrap();

        writer.add_dir(PROFILE_DIR, &profile, &mut |_| {}).unwrap();
        let (written, _) = writer.finish("ana", 0).unwrap();

        assert_eq!(verify(&path).unwrap(), written);
        assert!(written.entries.iter().any(|e| e.path.len() > 200));
    }
}
