//! Records are stored as JSON bytes: readable in a hex dump, and new optional fields
//! can be added later without a migration.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{StoreError, StoreResult};

/// Encodes a record.
pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // NOTE: our records are plain structs with string keys; serialising them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes a record read from `table`.
pub(super) fn decode<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        reason: e.to_string(),
    })
}
