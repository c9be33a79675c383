//! What an archive says about itself (`manifest.json`) and the tenant's control rows
//! it carries (`control.json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{BackupError, BackupResult};
use crate::store::{Permission, Store, StoreError};
use crate::tenant::{TenantId, TenantRecord};

/// The manifest of an archive: its last entry, describing every other one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The archive format version ([`super::FORMAT_VERSION`] when written by this build).
    pub format: u32,
    /// The orbitbot version that wrote it.
    pub orbitbot: String,
    /// The tenant it was taken of.
    pub tenant: String,
    /// When it was taken, Unix milliseconds.
    pub created_ms: u64,
    /// Every entry but the manifest, in archive order.
    pub entries: Vec<EntryInfo>,
}

/// One entry of an archive. A folder's path ends in `/`, with size 0 and no checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryInfo {
    /// The entry's name inside the archive (`tenant.redb`, `profile/Default/Cookies`).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The sha256 of its content, in lowercase hex (empty for a folder).
    pub sha256: String,
}

impl Manifest {
    /// Refuses an archive taken of another tenant than `id`.
    pub fn check_tenant(&self, id: &TenantId) -> BackupResult<()> {
        if self.tenant == id.as_str() {
            return Ok(());
        }
        Err(BackupError::WrongTenant {
            found: self.tenant.clone(),
            expected: id.to_string(),
        })
    }

    /// The sum of the entries' sizes, before compression.
    pub fn total_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// The entry with this path, if the archive holds it.
    pub fn entry(&self, path: &str) -> Option<&EntryInfo> {
        self.entries.iter().find(|e| e.path == path)
    }
}

/// A tenant's rows in the control database, as `control.json` holds them. (Its
/// settings live in its own database, so `tenant.redb` carries them.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlData {
    /// The tenant's record: id, phone, creation time, last state.
    pub record: TenantRecord,
    /// The operator's explicit permissions, by name.
    pub permissions: BTreeMap<String, Permission>,
}

impl ControlData {
    /// Reads a tenant's control rows.
    pub fn capture(store: &Store, id: &TenantId) -> BackupResult<ControlData> {
        let control = store.control();
        let record = control
            .tenant(id)?
            .ok_or_else(|| StoreError::TenantNotFound(id.clone()))?;
        let permissions = control.permissions(id)?;
        Ok(ControlData {
            record,
            permissions,
        })
    }

    /// The JSON written to `control.json`.
    pub fn to_json(&self) -> Vec<u8> {
        // NOTE: plain structs with string keys; serialising them cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads `control.json` back.
    pub fn from_json(bytes: &[u8]) -> BackupResult<ControlData> {
        serde_json::from_slice(bytes)
            .map_err(|e| BackupError::Tampered(format!("control.json ilegível ({e})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_data_round_trips_through_json() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ana = TenantId::parse("ana").unwrap();
        store.create_tenant(&ana, 7).unwrap();
        store
            .control()
            .set_permission(&ana, "menu", Permission::Deny)
            .unwrap();

        let data = ControlData::capture(&store, &ana).unwrap();

        assert_eq!(data.permissions["menu"], Permission::Deny);
        assert_eq!(ControlData::from_json(&data.to_json()).unwrap(), data);
        let bia = TenantId::parse("bia").unwrap();
        let missing = ControlData::capture(&store, &bia).unwrap_err();
        assert!(missing.to_string().contains("não encontrado"), "{missing}");
    }

    #[test]
    fn another_tenants_archive_is_refused_by_name() {
        let manifest = Manifest {
            format: 1,
            orbitbot: "0.1.0".into(),
            tenant: "ana".into(),
            created_ms: 0,
            entries: Vec::new(),
        };
        assert!(
            manifest
                .check_tenant(&TenantId::parse("ana").unwrap())
                .is_ok()
        );
        let err = manifest
            .check_tenant(&TenantId::parse("bia").unwrap())
            .unwrap_err();
        assert_eq!(err.to_string(), "este backup é do cliente ana, não de bia");
    }
}
