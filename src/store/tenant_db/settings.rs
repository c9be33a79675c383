//! A tenant's own settings (`!config <cliente> <chave> <valor>`), kept in its database
//! so they are backed up and removed with it. Values are validated by the caller
//! (`client::settings`); here they are plain strings.

use std::collections::BTreeMap;

use redb::{ReadableDatabase, ReadableTable};

use super::{SETTINGS, TenantDb};
use crate::store::StoreResult;

impl TenantDb {
    /// Sets one setting (`grupos`, `horario`, `comando.menu`, ...).
    pub fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        let txn = self.begin_write()?;
        txn.open_table(SETTINGS)?.insert(key, value)?;
        txn.commit()?;
        Ok(())
    }

    /// Removes one setting, back to its default; `true` if it was set.
    pub fn clear_setting(&self, key: &str) -> StoreResult<bool> {
        let txn = self.begin_write()?;
        let removed = txn.open_table(SETTINGS)?.remove(key)?.is_some();
        txn.commit()?;
        Ok(removed)
    }

    /// Every setting, by key.
    pub fn settings(&self) -> StoreResult<BTreeMap<String, String>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(SETTINGS)?;
        let mut out = BTreeMap::new();
        for row in table.iter()? {
            let (key, value) = row?;
            out.insert(key.value().to_owned(), value.value().to_owned());
        }
        Ok(out)
    }
}
