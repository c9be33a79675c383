//! The control database: tenants, their permissions, the audit log. (A tenant's
//! settings live in its own database.)

use std::collections::BTreeMap;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use super::{StoreError, StoreResult};
use crate::tenant::{SessionState, TenantId, TenantRecord};

const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");
const PERMISSIONS: TableDefinition<(&str, &str), bool> = TableDefinition::new("permissions");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

/// Whether a tenant may use a command, plugin or feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Permission {
    /// `!permitir`.
    Allow,
    /// `!negar`.
    Deny,
}

/// One operator command and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it ran, Unix milliseconds.
    pub t_ms: u64,
    /// Who sent it (phone or chat id), or `shell` for the command line.
    pub actor: String,
    /// The tenant it concerned, if any.
    pub tenant: Option<TenantId>,
    /// The command as written (arguments included).
    pub command: String,
    /// What happened: `ok`, `refused`, `error: …`.
    pub outcome: String,
}

/// The control database (`<data>/control.redb`).
pub struct ControlDb {
    db: Database,
}

impl ControlDb {
    /// Opens or creates the file and its tables.
    pub(super) fn open(path: &Path) -> StoreResult<ControlDb> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(TENANTS)?;
        txn.open_table(PERMISSIONS)?;
        txn.open_table(AUDIT)?;
        txn.commit()?;
        Ok(ControlDb { db })
    }

    /// Inserts a new tenant; fails with [`StoreError::TenantExists`] if it is there.
    pub(super) fn insert_tenant(
        &self,
        id: &TenantId,
        state: SessionState,
        now_ms: u64,
    ) -> StoreResult<TenantRecord> {
        let record = TenantRecord {
            id: id.clone(),
            state,
            phone: None,
            created_ms: now_ms,
            state_since_ms: now_ms,
        };
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(TENANTS)?;
            if table.get(id.as_str())?.is_some() {
                return Err(StoreError::TenantExists(id.clone()));
            }
            table.insert(id.as_str(), encode(&record).as_slice())?;
        }
        txn.commit()?;
        Ok(record)
    }

    /// A tenant's record, if it exists.
    pub fn tenant(&self, id: &TenantId) -> StoreResult<Option<TenantRecord>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TENANTS)?;
        let found = table.get(id.as_str())?;
        found.map(|v| decode("tenants", v.value())).transpose()
    }

    /// Every tenant, ordered by id.
    pub fn tenants(&self) -> StoreResult<Vec<TenantRecord>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TENANTS)?;
        let mut out = Vec::new();
        for row in table.range(..)? {
            let (_, value) = row?;
            out.push(decode("tenants", value.value())?);
        }
        Ok(out)
    }

    /// Records a new session state (and when it began, if it changed).
    pub fn set_state(
        &self,
        id: &TenantId,
        state: SessionState,
        now_ms: u64,
    ) -> StoreResult<TenantRecord> {
        self.update_tenant(id, |record| {
            if record.state != state {
                record.state = state;
                record.state_since_ms = now_ms;
            }
        })
    }

    /// Records the phone number a client linked.
    pub fn set_phone(&self, id: &TenantId, phone: Option<String>) -> StoreResult<TenantRecord> {
        self.update_tenant(id, |record| record.phone = phone)
    }

    fn update_tenant(
        &self,
        id: &TenantId,
        change: impl FnOnce(&mut TenantRecord),
    ) -> StoreResult<TenantRecord> {
        let txn = self.db.begin_write()?;
        let record = {
            let mut table = txn.open_table(TENANTS)?;
            let current = table.get(id.as_str())?.map(|v| v.value().to_vec());
            let bytes = current.ok_or_else(|| StoreError::TenantNotFound(id.clone()))?;
            let mut record: TenantRecord = decode("tenants", &bytes)?;
            change(&mut record);
            table.insert(id.as_str(), encode(&record).as_slice())?;
            record
        };
        txn.commit()?;
        Ok(record)
    }

    /// Removes a tenant with its permissions, in one transaction.
    pub(super) fn remove_tenant(&self, id: &TenantId) -> StoreResult<()> {
        let txn = self.db.begin_write()?;
        {
            let mut tenants = txn.open_table(TENANTS)?;
            if tenants.remove(id.as_str())?.is_none() {
                return Err(StoreError::TenantNotFound(id.clone()));
            }
            let mine = |(t, _): (&str, &str)| t == id.as_str();
            txn.open_table(PERMISSIONS)?.retain(|k, _| !mine(k))?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Allows or denies a command, plugin or feature for a tenant.
    pub fn set_permission(&self, id: &TenantId, name: &str, perm: Permission) -> StoreResult<()> {
        self.write_tenant_row(id, |txn| {
            let allowed = perm == Permission::Allow;
            txn.open_table(PERMISSIONS)?
                .insert((id.as_str(), name), allowed)?;
            Ok(())
        })
    }

    /// Removes every explicit permission of a tenant (back to the defaults).
    pub fn clear_permissions(&self, id: &TenantId) -> StoreResult<()> {
        self.write_tenant_row(id, |txn| {
            let mine = |(t, _): (&str, &str)| t == id.as_str();
            txn.open_table(PERMISSIONS)?.retain(|k, _| !mine(k))?;
            Ok(())
        })
    }

    /// Puts back a tenant's control rows from a backup, in one transaction: its record
    /// (inserted when missing, replaced when present) and exactly `permissions` (any
    /// other permission of the tenant is removed).
    pub fn restore_tenant(
        &self,
        record: &TenantRecord,
        permissions: &BTreeMap<String, Permission>,
    ) -> StoreResult<()> {
        let id = record.id.as_str();
        let txn = self.db.begin_write()?;
        {
            txn.open_table(TENANTS)?
                .insert(id, encode(record).as_slice())?;
            let mut table = txn.open_table(PERMISSIONS)?;
            table.retain(|(t, _), _| t != id)?;
            for (name, perm) in permissions {
                table.insert((id, name.as_str()), *perm == Permission::Allow)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The tenant's explicit permission for `name`, if the operator set one.
    pub fn permission(&self, id: &TenantId, name: &str) -> StoreResult<Option<Permission>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PERMISSIONS)?;
        let found = table.get((id.as_str(), name))?;
        Ok(found.map(|v| to_permission(v.value())))
    }

    /// Every explicit permission of a tenant, by name.
    pub fn permissions(&self, id: &TenantId) -> StoreResult<BTreeMap<String, Permission>> {
        self.tenant_rows(PERMISSIONS, id, to_permission)
    }

    /// The rows of one tenant in a `(tenant, name)`-keyed table, by name.
    fn tenant_rows<V, T>(
        &self,
        table: TableDefinition<(&'static str, &'static str), V>,
        id: &TenantId,
        read: impl Fn(V::SelfType<'_>) -> T,
    ) -> StoreResult<BTreeMap<String, T>>
    where
        V: redb::Value + 'static,
    {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(table)?;
        let mut out = BTreeMap::new();
        // Keys sort by tenant first: this tenant's rows are one run from (id, "").
        for row in table.range((id.as_str(), "")..)? {
            let (key, value) = row?;
            let (tenant, name) = key.value();
            if tenant != id.as_str() {
                break;
            }
            out.insert(name.to_owned(), read(value.value()));
        }
        Ok(out)
    }

    /// Appends to the audit log; returns the entry's sequence number.
    pub fn append_audit(&self, entry: &AuditEntry) -> StoreResult<u64> {
        let txn = self.db.begin_write()?;
        let seq = {
            let mut table = txn.open_table(AUDIT)?;
            let last = table.last()?.map(|(k, _)| k.value());
            let seq = last.map_or(1, |s| s + 1);
            table.insert(seq, encode(entry).as_slice())?;
            seq
        };
        txn.commit()?;
        Ok(seq)
    }

    /// The newest `limit` audit entries (of one tenant, if given), oldest first.
    pub fn audit(&self, tenant: Option<&TenantId>, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(AUDIT)?;
        let mut out = Vec::new();
        for row in table.range(..)?.rev() {
            if out.len() >= limit {
                break;
            }
            let entry: AuditEntry = decode("audit", row?.1.value())?;
            if tenant.is_none_or(|t| entry.tenant.as_ref() == Some(t)) {
                out.push(entry);
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Runs `write` in one transaction after checking that the tenant exists.
    fn write_tenant_row(
        &self,
        id: &TenantId,
        write: impl FnOnce(&redb::WriteTransaction) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let txn = self.db.begin_write()?;
        if txn.open_table(TENANTS)?.get(id.as_str())?.is_none() {
            return Err(StoreError::TenantNotFound(id.clone()));
        }
        write(&txn)?;
        txn.commit()?;
        Ok(())
    }
}

fn to_permission(allowed: bool) -> Permission {
    if allowed {
        Permission::Allow
    } else {
        Permission::Deny
    }
}
