//! Live QR links: `!link <cliente>` hands out `<base_url>/l/<token>`, a page that
//! shows one tenant's current QR until it links or the link's time runs out.
//!
//! A link is kept in the admin account's database as the token's digest (never the
//! token itself) with its tenant and expiry, plus which link is the tenant's current
//! one: a new link revokes the old. Once the tenant links, its link says "conectado"
//! and shows no code again. Links survive a restart.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::token;
use crate::store::{Store, StoreResult, TenantDb};
use crate::tenant::TenantId;

/// Links by token digest.
const BY_DIGEST: &str = "painel.link";
/// Each tenant's current link digest.
const BY_TENANT: &str = "painel.link.cliente";

/// One link as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The only tenant it shows.
    pub tenant: TenantId,
    /// When it stops working, Unix milliseconds.
    pub expires_ms: u64,
    /// Whether the tenant linked through it (or while it was current).
    pub linked: bool,
    /// The operator's chat that asked for it: told when the tenant links.
    #[serde(default)]
    pub operator: Option<String>,
}

/// What a token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A live link.
    Live(Link),
    /// Unknown, revoked or expired: the page says only that.
    Gone,
}

/// A fresh link for `tenant`, valid for `ttl`; the tenant's previous link stops
/// working. Returns the token (only ever shown, never stored) and the link.
pub fn create(
    store: &Store,
    tenant: &TenantId,
    ttl: Duration,
    operator: Option<&str>,
) -> StoreResult<(String, Link)> {
    let db = admin_db(store)?;
    revoke_in(&db, tenant)?;
    let token = token::random();
    let digest = token::digest(&token);
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    let link = Link {
        tenant: tenant.clone(),
        expires_ms: crate::clock::now_ms().saturating_add(ttl_ms),
        linked: false,
        operator: operator.map(str::to_owned),
    };
    db.kv_set(BY_DIGEST, &digest, &encode(&link))?;
    db.kv_set(BY_TENANT, tenant.as_str(), digest.as_bytes())?;
    Ok((token, link))
}

/// What `token` opens now; an expired link is forgotten on the way.
pub fn find(store: &Store, token: &str) -> StoreResult<Found> {
    if !token::well_formed(token) {
        return Ok(Found::Gone);
    }
    let db = admin_db(store)?;
    let digest = token::digest(token);
    let Some(link) = db.kv_get(BY_DIGEST, &digest)?.and_then(|v| decode(&v)) else {
        return Ok(Found::Gone);
    };
    if link.expires_ms <= crate::clock::now_ms() {
        db.kv_remove(BY_DIGEST, &digest)?;
        return Ok(Found::Gone);
    }
    Ok(Found::Live(link))
}

/// The tenant linked: its current link now says so and shows no code.
pub fn mark_linked(store: &Store, tenant: &TenantId) -> StoreResult<()> {
    let db = admin_db(store)?;
    let Some(digest) = current(&db, tenant)? else {
        return Ok(());
    };
    if let Some(mut link) = db.kv_get(BY_DIGEST, &digest)?.and_then(|v| decode(&v)) {
        link.linked = true;
        db.kv_set(BY_DIGEST, &digest, &encode(&link))?;
    }
    Ok(())
}

/// The tenant's current link stops working (a new `!link`, or the tenant removed).
pub fn revoke(store: &Store, tenant: &TenantId) -> StoreResult<()> {
    revoke_in(&*admin_db(store)?, tenant)
}

fn revoke_in(db: &TenantDb, tenant: &TenantId) -> StoreResult<()> {
    if let Some(digest) = current(db, tenant)? {
        db.kv_remove(BY_DIGEST, &digest)?;
        db.kv_remove(BY_TENANT, tenant.as_str())?;
    }
    Ok(())
}

fn current(db: &TenantDb, tenant: &TenantId) -> StoreResult<Option<String>> {
    let digest = db.kv_get(BY_TENANT, tenant.as_str())?;
    Ok(digest.and_then(|d| String::from_utf8(d).ok()))
}

fn admin_db(store: &Store) -> StoreResult<Arc<TenantDb>> {
    store.tenant(&TenantId::admin())
}

fn encode(link: &Link) -> Vec<u8> {
    serde_json::to_vec(link).unwrap_or_default()
}

fn decode(bytes: &[u8]) -> Option<Link> {
    serde_json::from_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_link_opens_its_tenant_until_revoked_or_expired() {
        let (_dir, store) = store();
        let ana = TenantId::parse("loja-da-ana").unwrap();
        let (first, _) = create(&store, &ana, Duration::from_secs(60), None).unwrap();
        let Found::Live(link) = find(&store, &first).unwrap() else {
            panic!("live")
        };
        assert_eq!(link.tenant, ana);
        assert!(!link.linked);

        let (second, _) = create(&store, &ana, Duration::from_secs(60), None).unwrap();
        assert_eq!(
            find(&store, &first).unwrap(),
            Found::Gone,
            "revoked by a new one"
        );
        mark_linked(&store, &ana).unwrap();
        let Found::Live(link) = find(&store, &second).unwrap() else {
            panic!("live")
        };
        assert!(link.linked);

        revoke(&store, &ana).unwrap();
        assert_eq!(find(&store, &second).unwrap(), Found::Gone);
        assert_eq!(find(&store, "nada").unwrap(), Found::Gone);
        assert_eq!(find(&store, &token::random()).unwrap(), Found::Gone);
    }

    #[test]
    fn an_expired_link_is_gone() {
        let (_dir, store) = store();
        let ana = TenantId::parse("ana").unwrap();
        let (token, _) = create(&store, &ana, Duration::ZERO, None).unwrap();
        assert_eq!(find(&store, &token).unwrap(), Found::Gone);
    }
}
