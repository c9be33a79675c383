//! Putting a tenant's database back from a backup.

use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;

use super::{LOG_KEEP, Store, StoreError, StoreResult, TenantDb};
use crate::tenant::TenantId;

impl Store {
    /// Replaces a tenant's database with the file at `from` (a copy made by
    /// [`TenantDb::copy_to`], typically taken out of a backup), moving it into place.
    ///
    /// `from` is checked before anything is replaced: it must open as a tenant database
    /// (tables it lacks are created). Works whether or not the tenant exists; a new
    /// tenant also needs its control rows ([`super::ControlDb::restore_tenant`]).
    ///
    /// The caller must have stopped everything that uses this tenant (its session and
    /// pipeline) first: the cached handle is dropped, but a handle still held elsewhere
    /// keeps the old, replaced file open, and what it writes is lost.
    pub fn restore_tenant_db(&self, id: &TenantId, from: &Path) -> StoreResult<()> {
        drop(TenantDb::open(from, LOG_KEEP, Arc::default())?);
        let dest = self.tenant_db_path(id);
        let mut cache = self.lock_cache();
        cache.remove(id);
        move_into_place(from, &dest)?;
        let db = TenantDb::open(&dest, LOG_KEEP, Arc::clone(&self.stall_ms))?;
        cache.insert(id.clone(), Arc::new(db));
        tracing::info!(tenant = %id, "tenant database restored");
        Ok(())
    }
}

/// Renames `from` over `dest`; across filesystems, copies it beside `dest` first so
/// `dest` is replaced in one step all the same.
fn move_into_place(from: &Path, dest: &Path) -> StoreResult<()> {
    match std::fs::rename(from, dest) {
        Err(e) if e.kind() == ErrorKind::CrossesDevices => copy_then_rename(from, dest)?,
        other => other.map_err(|source| io_error(dest, source))?,
    }
    sync_parent(dest)
}

fn copy_then_rename(from: &Path, dest: &Path) -> StoreResult<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_error(dir, e))?;
    let mut source = std::fs::File::open(from).map_err(|e| io_error(from, e))?;
    std::io::copy(&mut source, &mut temp).map_err(|e| io_error(temp.path(), e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| io_error(temp.path(), e))?;
    temp.persist(dest).map_err(|e| io_error(dest, e.error))?;
    std::fs::remove_file(from).map_err(|e| io_error(from, e))
}

/// Makes a rename in `path`'s folder durable.
fn sync_parent(path: &Path) -> StoreResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let handle = std::fs::File::open(dir).map_err(|e| io_error(dir, e))?;
    handle.sync_all().map_err(|e| io_error(dir, e))
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::store::Permission;
    use crate::tenant::{SessionState, TenantRecord};

    fn id(name: &str) -> TenantId {
        TenantId::parse(name).unwrap()
    }

    #[test]
    fn restore_replaces_what_the_tenant_sees() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ana = id("ana");
        store.create_tenant(&ana, 1).unwrap();
        let db = store.tenant(&ana).unwrap();
        db.kv_set("p", "before", b"1").unwrap();
        let copy = dir.path().join("copy.redb");
        db.copy_to(&copy).unwrap();
        db.kv_set("p", "after", b"2").unwrap();
        drop(db);

        store.restore_tenant_db(&ana, &copy).unwrap();

        let db = store.tenant(&ana).unwrap();
        assert_eq!(db.kv_get("p", "before").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.kv_get("p", "after").unwrap(), None);
        assert!(!copy.exists());
        db.kv_set("p", "later", b"3").unwrap();
    }

    #[test]
    fn a_bad_file_replaces_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ana = id("ana");
        store.create_tenant(&ana, 1).unwrap();
        store.tenant(&ana).unwrap().kv_set("p", "k", b"v").unwrap();
        let bad = dir.path().join("bad.redb");
        std::fs::write(&bad, vec![0x5a; 8192]).unwrap();

        assert!(store.restore_tenant_db(&ana, &bad).is_err());

        let kept = store.tenant(&ana).unwrap().kv_get("p", "k").unwrap();
        assert_eq!(kept, Some(b"v".to_vec()));
    }

    #[test]
    fn restore_brings_back_a_tenant_that_was_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ana = id("ana");
        store.create_tenant(&ana, 1).unwrap();
        store
            .control()
            .set_permission(&ana, "menu", Permission::Deny)
            .unwrap();
        store
            .control()
            .set_phone(&ana, Some("5511999990000".into()))
            .unwrap();
        store
            .tenant(&ana)
            .unwrap()
            .set_setting("grupos", "sim")
            .unwrap();
        let copy = dir.path().join("copy.redb");
        store.tenant(&ana).unwrap().copy_to(&copy).unwrap();
        let record = store.control().tenant(&ana).unwrap().unwrap();
        let permissions = store.control().permissions(&ana).unwrap();
        store.remove_tenant(&ana).unwrap();

        store.restore_tenant_db(&ana, &copy).unwrap();
        store
            .control()
            .restore_tenant(&record, &permissions)
            .unwrap();

        assert_eq!(store.control().tenant(&ana).unwrap(), Some(record));
        assert_eq!(store.control().permissions(&ana).unwrap(), permissions);
        let settings = store.tenant(&ana).unwrap().settings().unwrap();
        assert_eq!(settings["grupos"], "sim");
    }

    #[test]
    fn restoring_control_rows_replaces_the_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (ana, bia) = (id("ana"), id("bia"));
        let mut record = store.create_tenant(&ana, 1).unwrap();
        store.create_tenant(&bia, 1).unwrap();
        let control = store.control();
        control
            .set_permission(&ana, "menu", Permission::Deny)
            .unwrap();
        control
            .set_permission(&bia, "menu", Permission::Deny)
            .unwrap();
        record.state = SessionState::Stopped;
        let wanted = BTreeMap::from([("agenda".to_owned(), Permission::Allow)]);

        control.restore_tenant(&record, &wanted).unwrap();

        assert_eq!(control.permissions(&ana).unwrap(), wanted);
        assert_eq!(
            control.permissions(&bia).unwrap().len(),
            1,
            "others untouched"
        );
        let state = control.tenant(&ana).unwrap().map(|r: TenantRecord| r.state);
        assert_eq!(state, Some(SessionState::Stopped));
        control.clear_permissions(&ana).unwrap();
        assert!(control.permissions(&ana).unwrap().is_empty());
    }
}
