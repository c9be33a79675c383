//! Reading an archive: verifying it against its manifest, and extracting it.
//!
//! NOTE: one pass reads the whole stream (so zstd checks its frame checksum), hashes
//! every entry, and compares with the manifest, which comes last. A bad entry name is
//! held until the manifest's format version is known, so an archive of a newer format
//! is refused as such rather than for names this build does not know.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    BackupError, BackupResult, EntryInfo, FORMAT_VERSION, Hashing, Kind, MANIFEST_ENTRY, Manifest,
    TRAILER_LEN, check_name, dir_key, to_hex, trailer,
};

/// The largest manifest read, in bytes.
const MAX_MANIFEST: u64 = 64 << 20;

/// Checks an archive completely: every entry's size and sha256 against the manifest
/// (missing, extra or changed entries are refused), the entry names, and the format
/// version. Returns the manifest.
pub fn verify(path: &Path) -> BackupResult<Manifest> {
    let file = File::open(path).map_err(|e| BackupError::io(path, e))?;
    scan(&file, &mut |_, _| Ok(()))
}

/// Verifies an archive, then extracts it into `dest` (which must be empty or missing)
/// and nowhere else. Nothing is written when verification fails; a failure during
/// extraction removes what was written. The manifest itself is not extracted.
pub fn extract(path: &Path, dest: &Path) -> BackupResult<Manifest> {
    let mut file = File::open(path).map_err(|e| BackupError::io(path, e))?;
    let manifest = scan(&file, &mut |_, _| Ok(()))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| BackupError::io(path, e))?;
    let made = prepare(dest)?;
    let result = scan(&file, &mut |item, data| write_item(dest, item, data));
    let result = result.and_then(|again| match again == manifest {
        true => Ok(manifest),
        false => Err(tampered("o arquivo mudou durante a extração")),
    });
    if result.is_err() {
        clear(dest, made);
    }
    result
}

/// One entry handed to a scan's sink, by its checked name.
enum Item<'a> {
    File(&'a str),
    Dir(&'a str),
}

type Sink<'s> = dyn FnMut(&Item<'_>, &mut dyn Read) -> BackupResult<()> + 's;

/// Reads the whole archive from the start, giving every well-named entry to `sink`,
/// and checks it.
fn scan(file: &File, sink: &mut Sink<'_>) -> BackupResult<Manifest> {
    let len = file.metadata().map_err(unreadable)?.len();
    let body_len = len
        .checked_sub(TRAILER_LEN)
        .ok_or_else(|| tampered("arquivo curto demais"))?;
    let expected = read_trailer(file, body_len)?;
    let body = Hashing::new(file.take(body_len));
    let decoder = zstd::Decoder::new(body).map_err(unreadable)?;
    let mut archive = tar::Archive::new(decoder);
    let mut seen = Seen::default();
    for entry in archive.entries().map_err(unreadable)? {
        seen.take(entry.map_err(unreadable)?, sink)?;
    }
    let mut decoder = archive.into_inner();
    only_zeros_left(&mut decoder)?;
    let (read, sha256) = decoder.finish().into_inner().finish();
    if read != body_len || sha256 != expected {
        return Err(tampered("o sha256 do arquivo não confere"));
    }
    seen.finish()
}

/// The sha256 the trailer holds, in hex, once the trailer's frame header is checked.
fn read_trailer(file: &File, at: u64) -> BackupResult<String> {
    let mut bytes = [0u8; TRAILER_LEN as usize];
    file.read_exact_at(&mut bytes, at).map_err(unreadable)?;
    let (head, sha256) = bytes.split_at(8);
    if trailer(sha256)[..8] != *head {
        return Err(tampered("falta o sha256 no fim do arquivo"));
    }
    Ok(to_hex(sha256))
}

fn unreadable(e: io::Error) -> BackupError {
    tampered(&format!("não foi possível ler o conteúdo ({e})"))
}

fn tampered(reason: &str) -> BackupError {
    BackupError::Tampered(reason.to_owned())
}

/// Reads what follows the tar's end (its zero blocks) to the end of the zstd stream,
/// so the frame checksum is checked, and refuses anything but zeros.
fn only_zeros_left(rest: &mut impl Read) -> BackupResult<()> {
    let mut buf = vec![0; 64 << 10];
    loop {
        let n = rest.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            return Ok(());
        }
        if buf[..n].iter().any(|b| *b != 0) {
            return Err(tampered("há dados depois do fim do arquivo"));
        }
    }
}

/// What a scan saw so far.
#[derive(Default)]
struct Seen {
    entries: BTreeMap<String, EntryInfo>,
    names: HashSet<String>,
    manifest: Option<Vec<u8>>,
    /// The first badly named entry, reported once the format is known.
    bad: Option<BackupError>,
}

impl Seen {
    /// Takes the next entry: checks its name, hashes its content through `sink`.
    fn take<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        sink: &mut Sink<'_>,
    ) -> BackupResult<()> {
        if self.manifest.is_some() {
            return Err(tampered("o manifest.json não é a última entrada"));
        }
        let kind = entry.header().entry_type();
        let (path, kind) = match classify(&entry.path_bytes(), kind, entry.size()) {
            Ok(named) => named,
            Err(e) => {
                self.bad.get_or_insert(e);
                return Ok(());
            }
        };
        let key = match kind {
            Kind::File => path.clone(),
            Kind::Dir => dir_key(&path),
        };
        if !self.names.insert(key.clone()) {
            return Err(tampered(&format!("entrada repetida: {key}")));
        }
        match kind {
            Kind::File if path == MANIFEST_ENTRY => self.manifest = Some(read_manifest(entry)?),
            Kind::File => self.file(path, &mut entry, sink)?,
            Kind::Dir => {
                sink(&Item::Dir(&path), &mut io::empty())?;
                self.record(key, 0, String::new());
            }
        }
        Ok(())
    }

    fn file(&mut self, path: String, data: &mut dyn Read, sink: &mut Sink<'_>) -> BackupResult<()> {
        let mut reader = Hashing::new(data);
        sink(&Item::File(&path), &mut reader)?;
        io::copy(&mut reader, &mut io::sink()).map_err(unreadable)?;
        let (size, sha256) = reader.finish();
        self.record(path, size, sha256);
        Ok(())
    }

    fn record(&mut self, path: String, size: u64, sha256: String) {
        let info = EntryInfo {
            path: path.clone(),
            size,
            sha256,
        };
        self.entries.insert(path, info);
    }

    /// Checks the manifest: present, of a known format, and matching what was read.
    fn finish(self) -> BackupResult<Manifest> {
        let bytes = self
            .manifest
            .ok_or_else(|| tampered("falta o manifest.json"))?;
        let manifest = parse_manifest(&bytes)?;
        if let Some(bad) = self.bad {
            return Err(bad);
        }
        compare(&manifest, self.entries)?;
        Ok(manifest)
    }
}

/// An entry's checked name and kind: a regular file or a folder, well named.
fn classify(raw: &[u8], kind: tar::EntryType, size: u64) -> BackupResult<(String, Kind)> {
    let name = String::from_utf8_lossy(raw).into_owned();
    let bad = || BackupError::BadEntry(name.chars().take(200).collect());
    let text = std::str::from_utf8(raw).map_err(|_| bad())?;
    let (text, kind) = match kind {
        tar::EntryType::Regular => (text, Kind::File),
        tar::EntryType::Directory if size == 0 => {
            (text.strip_suffix('/').unwrap_or(text), Kind::Dir)
        }
        _ => return Err(bad()),
    };
    check_name(text, kind)?;
    Ok((text.to_owned(), kind))
}

fn read_manifest(entry: impl Read) -> BackupResult<Vec<u8>> {
    let mut bytes = Vec::new();
    entry
        .take(MAX_MANIFEST + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(tampered("manifest.json grande demais"));
    }
    Ok(bytes)
}

/// Reads the manifest, its format version first.
fn parse_manifest(bytes: &[u8]) -> BackupResult<Manifest> {
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let illegible = |e: serde_json::Error| tampered(&format!("manifest.json ilegível ({e})"));
    let version: Version = serde_json::from_slice(bytes).map_err(illegible)?;
    if version.format != FORMAT_VERSION {
        return Err(BackupError::UnknownFormat {
            found: version.format,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_slice(bytes).map_err(illegible)
}

/// Refuses entries missing from the archive, absent from the manifest, or changed.
fn compare(manifest: &Manifest, mut seen: BTreeMap<String, EntryInfo>) -> BackupResult<()> {
    let mut listed = HashSet::new();
    for expected in &manifest.entries {
        if !listed.insert(expected.path.as_str()) {
            return Err(tampered(&format!(
                "entrada repetida no manifesto: {}",
                expected.path
            )));
        }
        match seen.remove(&expected.path) {
            None => return Err(tampered(&format!("falta a entrada {}", expected.path))),
            Some(found) if found != *expected => {
                let reason = format!("o conteúdo de {} não confere com o manifesto", found.path);
                return Err(tampered(&reason));
            }
            Some(_) => {}
        }
    }
    match seen.into_keys().next() {
        Some(extra) => Err(tampered(&format!(
            "a entrada {extra} não consta no manifesto"
        ))),
        None => Ok(()),
    }
}

/// Makes sure `dest` is an empty folder; `true` when it had to be created.
fn prepare(dest: &Path) -> BackupResult<bool> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dest).map_err(|e| BackupError::io(dest, e))?;
            Ok(true)
        }
        Err(e) => Err(BackupError::io(dest, e)),
        Ok(meta) if !meta.is_dir() => Err(BackupError::NotEmpty(dest.to_owned())),
        Ok(_) => {
            let mut children = fs::read_dir(dest).map_err(|e| BackupError::io(dest, e))?;
            match children.next() {
                None => Ok(false),
                Some(_) => Err(BackupError::NotEmpty(dest.to_owned())),
            }
        }
    }
}

/// Writes one entry under `dest`. Names were checked: plain components, no `..`.
fn write_item(dest: &Path, item: &Item<'_>, data: &mut dyn Read) -> BackupResult<()> {
    let (name, is_dir) = match item {
        Item::File(name) => (*name, false),
        Item::Dir(name) => (*name, true),
    };
    let path: PathBuf = dest.join(name);
    if is_dir {
        return fs::create_dir_all(&path).map_err(|e| BackupError::io(path, e));
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
    }
    let mut out = File::create_new(&path).map_err(|e| BackupError::io(&path, e))?;
    io::copy(data, &mut out).map_err(|e| BackupError::io(&path, e))?;
    out.sync_all().map_err(|e| BackupError::io(&path, e))
}

/// Undoes a failed extraction: `dest` was empty or missing before.
fn clear(dest: &Path, made: bool) {
    if made {
        let _ = fs::remove_dir_all(dest);
        return;
    }
    let Ok(children) = fs::read_dir(dest) else {
        return;
    };
    for child in children.flatten() {
        let path = child.path();
        let _ = match child.file_type() {
            Ok(kind) if kind.is_dir() => fs::remove_dir_all(&path),
            _ => fs::remove_file(&path),
        };
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;
    use crate::backup::{ArchiveWriter, CONTROL_ENTRY, DB_ENTRY, PROFILE_DIR, sha256_hex};

    const AT: u64 = 1_796_398_212_345;

    /// Bytes that compress poorly, so the archive is not all zstd bookkeeping.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..len).map(|_| rng.u8(..)).collect()
    }

    /// A profile with files, an empty folder, and what must be skipped.
    fn profile(root: &Path) -> PathBuf {
        let dir = root.join("profile-src");
        fs::create_dir_all(dir.join("Default/Empty")).unwrap();
        fs::write(dir.join("Local State"), b"{\"a\":1}").unwrap();
        fs::write(dir.join("Default/Cookies"), noise(5000, 1)).unwrap();
        fs::write(dir.join("SingletonLock"), b"host-123").unwrap();
        std::os::unix::fs::symlink(dir.join("Local State"), dir.join("Default/link")).unwrap();
        UnixListener::bind(dir.join("Default/sock")).unwrap();
        dir
    }

    /// Writes a small archive of tenant `ana` into `root`; returns its path.
    fn small_archive(root: &Path) -> PathBuf {
        let db = root.join("db-src");
        fs::write(&db, noise(3000, 2)).unwrap();
        let path = root
            .join("backups/ana")
            .join(crate::backup::archive_name(AT, None));
        let mut writer = ArchiveWriter::create(&path).unwrap();
        writer.add_file(DB_ENTRY, &db).unwrap();
        writer
            .add_bytes(CONTROL_ENTRY, b"{\"record\":null}")
            .unwrap();
        let mut progress = Vec::new();
        writer
            .add_dir(PROFILE_DIR, &profile(root), &mut |n| progress.push(n))
            .unwrap();
        assert_eq!(progress, [5000, 5007], "after each file, bytes so far");
        let (manifest, size) = writer.finish("ana", AT).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), size);
        assert_eq!(manifest.tenant, "ana");
        path
    }

    #[test]
    fn an_archive_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = small_archive(dir.path());

        let manifest = verify(&path).unwrap();
        let out = dir.path().join("out");
        assert_eq!(extract(&path, &out).unwrap(), manifest);

        let paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "tenant.redb",
                "control.json",
                "profile/",
                "profile/Default/",
                "profile/Default/Cookies",
                "profile/Default/Empty/",
                "profile/Local State",
            ]
        );
        assert_eq!(manifest.format, FORMAT_VERSION);
        assert_eq!(manifest.orbitbot, env!("CARGO_PKG_VERSION"));
        assert_eq!(manifest.created_ms, AT);
        let cookies = manifest.entry("profile/Default/Cookies").unwrap();
        assert_eq!(cookies.sha256, sha256_hex(&noise(5000, 1)));
        assert_eq!(manifest.total_size(), 3000 + 15 + 5000 + 7);
        assert_eq!(fs::read(out.join("tenant.redb")).unwrap(), noise(3000, 2));
        assert_eq!(
            fs::read(out.join("control.json")).unwrap(),
            b"{\"record\":null}"
        );
        let cookies = fs::read(out.join("profile/Default/Cookies")).unwrap();
        assert_eq!(cookies, noise(5000, 1));
        assert!(out.join("profile/Default/Empty").is_dir());
        for skipped in ["SingletonLock", "Default/link", "Default/sock"] {
            assert!(!out.join("profile").join(skipped).exists(), "{skipped}");
        }
        assert!(!out.join(MANIFEST_ENTRY).exists());
        let left: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left beside the archive");
    }

    fn assert_tampered(result: BackupResult<Manifest>, what: &str) {
        let err = result.expect_err(what);
        let text = err.to_string();
        assert!(
            text.starts_with("arquivo corrompido ou alterado"),
            "{what}: {text}"
        );
    }

    #[test]
    fn any_changed_byte_is_refused_and_nothing_extracted() {
        let dir = tempfile::tempdir().unwrap();
        let good = fs::read(small_archive(dir.path())).unwrap();
        let bad = dir.path().join("bad.tar.zst");
        let out = dir.path().join("out");
        for offset in 0..good.len() {
            let mut bytes = good.clone();
            bytes[offset] ^= 0x01;
            fs::write(&bad, &bytes).unwrap();
            assert_tampered(verify(&bad), &format!("byte {offset}"));
            if offset % 97 == 0 {
                assert_tampered(extract(&bad, &out), &format!("byte {offset}"));
                assert!(!out.exists(), "nothing extracted for byte {offset}");
            }
        }
    }

    #[test]
    fn a_cut_or_extended_archive_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = fs::read(small_archive(dir.path())).unwrap();
        let bad = dir.path().join("bad.tar.zst");
        for len in [0, 10, good.len() / 2, good.len() - 1] {
            fs::write(&bad, &good[..len]).unwrap();
            assert_tampered(verify(&bad), &format!("cut at {len}"));
        }
        let mut longer = good.clone();
        longer.extend_from_slice(&good);
        fs::write(&bad, &longer).unwrap();
        assert_tampered(verify(&bad), "two archives in one file");
        longer.truncate(good.len());
        longer.push(0);
        fs::write(&bad, &longer).unwrap();
        assert_tampered(verify(&bad), "a byte after the end");
    }

    type Raw<'a> = (&'a str, tar::EntryType, &'a [u8]);

    /// A hand-built archive with these raw entries (names unchecked), and its trailer.
    fn hand_built(entries: &[Raw<'_>]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            tar.append(&header, *data).unwrap();
        }
        let mut bytes = zstd::encode_all(tar.into_inner().unwrap().as_slice(), 3).unwrap();
        let sha256 = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
        bytes.extend_from_slice(&trailer(&sha256));
        bytes
    }

    /// `entries`, then a manifest in format `format` listing `listed`.
    fn with_manifest(entries: &[Raw<'_>], listed: &[Raw<'_>], format: u32) -> Vec<u8> {
        let json = manifest_for(listed, format);
        let mut all = entries.to_vec();
        all.push((MANIFEST_ENTRY, FILE, json.as_bytes()));
        hand_built(&all)
    }

    /// The manifest JSON that lists `entries` (files) correctly, in format `format`.
    fn manifest_for(entries: &[Raw<'_>], format: u32) -> String {
        let entries: Vec<EntryInfo> = entries
            .iter()
            .map(|(name, _, data)| EntryInfo {
                path: (*name).to_owned(),
                size: data.len() as u64,
                sha256: sha256_hex(data),
            })
            .collect();
        let manifest = Manifest {
            format,
            orbitbot: "9.9.9".into(),
            tenant: "ana".into(),
            created_ms: AT,
            entries,
        };
        serde_json::to_string(&manifest).unwrap()
    }

    fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
        let path = dir.join("hand.tar.zst");
        fs::write(&path, bytes).unwrap();
        path
    }

    const FILE: tar::EntryType = tar::EntryType::Regular;

    #[test]
    fn a_hand_built_archive_of_ours_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let entries = [(DB_ENTRY, FILE, &b"db"[..]), ("profile/x", FILE, b"x")];
        let path = write(dir.path(), &with_manifest(&entries, &entries, 1));

        assert_eq!(verify(&path).unwrap().entries.len(), 2);
    }

    #[test]
    fn an_unknown_format_is_refused_by_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let entries = [(DB_ENTRY, FILE, &b"db"[..]), ("media/new", FILE, b"x")];
        let path = write(dir.path(), &with_manifest(&entries, &entries, 2));

        let err = verify(&path).unwrap_err();
        assert!(matches!(
            err,
            BackupError::UnknownFormat {
                found: 2,
                supported: 1
            }
        ));
        assert_eq!(
            err.to_string(),
            "formato de backup 2 desconhecido: esta versão do orbitbot lê só o formato 1"
        );
        assert!(extract(&path, &dir.path().join("out")).is_err());
        assert!(!dir.path().join("out").exists());
    }

    #[test]
    fn names_outside_the_archive_are_refused_and_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sub/out");
        let evil: [(&str, tar::EntryType); 6] = [
            ("../evil", FILE),
            ("/etc/x", FILE),
            ("profile/../../evil", FILE),
            ("profile/link", tar::EntryType::Symlink),
            ("profile/hard", tar::EntryType::Link),
            ("notes.txt", FILE),
        ];
        for (name, kind) in evil {
            let entries = [(DB_ENTRY, FILE, &b"db"[..]), (name, kind, b"")];
            let bytes = with_manifest(&entries, &entries, 1);
            let path = write(dir.path(), &bytes);

            let err = verify(&path).unwrap_err();
            assert!(matches!(err, BackupError::BadEntry(_)), "{name}: {err}");
            assert_tampered(extract(&path, &out), name);
            assert!(!out.exists() && !dir.path().join("evil").exists(), "{name}");
        }
    }

    #[test]
    fn entries_must_match_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let db = [(DB_ENTRY, FILE, &b"db"[..])];
        let both = [(DB_ENTRY, FILE, &b"db"[..]), (CONTROL_ENTRY, FILE, b"{}")];
        let changed = [(DB_ENTRY, FILE, &b"dB"[..])];
        let manifest = manifest_for(&db, 1);
        let after = [db[0], (MANIFEST_ENTRY, FILE, manifest.as_bytes()), both[1]];
        let cases = [
            (hand_built(&db), "falta o manifest.json"),
            (with_manifest(&both, &db, 1), "não consta no manifesto"),
            (with_manifest(&db, &both, 1), "falta a entrada"),
            (with_manifest(&db, &changed, 1), "não confere"),
            (
                hand_built(&[(MANIFEST_ENTRY, FILE, b"{\"format\":1}")]),
                "ilegível",
            ),
            (with_manifest(&[db[0], db[0]], &db, 1), "entrada repetida"),
            (hand_built(&after), "não é a última entrada"),
        ];
        for (bytes, expected) in cases {
            let err = verify(&write(dir.path(), &bytes)).unwrap_err().to_string();
            assert!(err.starts_with("arquivo corrompido ou alterado"), "{err}");
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn extract_wants_an_empty_destination() {
        let dir = tempfile::tempdir().unwrap();
        let path = small_archive(dir.path());
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("keep"), b"mine").unwrap();

        let err = extract(&path, &out).unwrap_err();

        assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
        assert_eq!(fs::read_dir(&out).unwrap().count(), 1);
        fs::remove_file(out.join("keep")).unwrap();
        extract(&path, &out).unwrap();
        assert!(out.join(DB_ENTRY).is_file());
    }
}
