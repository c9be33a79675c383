//! What each tenant, and each contact of a tenant, may use.
//!
//! A rule allows or denies one item (a command, a plugin or a feature) for the whole
//! tenant or for one contact; `*` stands for every item. The most specific rule wins:
//! the item for that contact, then `*` for that contact, then the item for the
//! tenant, then the item's default (commands are on unless declared `restricted`;
//! `grupos` is off; `ia` and `transcricao` are on). The operator's `!permitir` and
//! `!negar` call [`grant`]; the pipeline reads a [`PermissionSet`].

use std::collections::BTreeMap;

use crate::store::{ControlDb, Permission, StoreResult};
use crate::tenant::TenantId;

/// The item standing for every item of a contact (a block or allow list).
pub const EVERYTHING: &str = "*";

/// Features the operator turns on or off per tenant, with their defaults.
pub const FEATURES: &[(&str, bool)] = &[("ia", true), ("transcricao", true), ("grupos", false)];

/// Allows or denies `item` for a tenant, or for one contact of it (its canonical
/// chat id).
pub fn grant(
    control: &ControlDb,
    tenant: &TenantId,
    item: &str,
    contact: Option<&str>,
    perm: Permission,
) -> StoreResult<()> {
    control.set_permission(tenant, &rule_key(item, contact), perm)
}

/// A feature's default when no rule names it (`None`: not a feature).
pub fn feature_default(item: &str) -> Option<bool> {
    FEATURES.iter().find(|(f, _)| *f == item).map(|(_, on)| *on)
}

fn rule_key(item: &str, contact: Option<&str>) -> String {
    match contact {
        Some(contact) => format!("{item} {contact}"),
        None => item.to_owned(),
    }
}

/// A tenant's rules, read once per batch of messages.
#[derive(Debug, Clone, Default)]
pub struct PermissionSet {
    rules: BTreeMap<String, Permission>,
}

impl PermissionSet {
    /// The tenant's rules as stored.
    pub fn load(control: &ControlDb, tenant: &TenantId) -> StoreResult<PermissionSet> {
        Ok(PermissionSet {
            rules: control.permissions(tenant)?,
        })
    }

    /// Whether `contact` (or the tenant, for `None`) may use `item`, which is allowed
    /// by default when `default` is true.
    pub fn allows(&self, item: &str, contact: Option<&str>, default: bool) -> bool {
        let specific = contact
            .into_iter()
            .flat_map(|c| [rule_key(item, Some(c)), rule_key(EVERYTHING, Some(c))]);
        let decided = specific
            .chain([item.to_owned()])
            .find_map(|key| self.rules.get(&key).copied());
        decided.map_or(default, |p| p == Permission::Allow)
    }

    /// Whether a feature is on for this contact (`ia`, `transcricao`, `grupos`).
    pub fn feature(&self, feature: &str, contact: Option<&str>) -> bool {
        let default = feature_default(feature).unwrap_or(false);
        self.allows(feature, contact, default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rules: &[(&str, Permission)]) -> PermissionSet {
        PermissionSet {
            rules: rules.iter().map(|(k, p)| ((*k).to_owned(), *p)).collect(),
        }
    }

    const ANA: &str = "5511999990001@c.us";
    const BIA: &str = "5511999990002@c.us";

    #[test]
    fn the_most_specific_rule_wins() {
        let rules = set(&[
            ("limpar 5511999990001@c.us", Permission::Allow),
            ("menu", Permission::Deny),
            ("* 5511999990002@c.us", Permission::Deny),
        ]);
        assert!(rules.allows("limpar", Some(ANA), false));
        assert!(!rules.allows("limpar", Some(BIA), false));
        assert!(!rules.allows("limpar", None, false));
        assert!(!rules.allows("menu", Some(ANA), true));
        assert!(!rules.allows("horario", Some(BIA), true), "blocked contact");
        assert!(rules.allows("horario", Some(ANA), true));
    }

    #[test]
    fn features_have_defaults() {
        let none = set(&[]);
        assert!(none.feature("ia", Some(ANA)));
        assert!(!none.feature("grupos", None));
        let on = set(&[("grupos", Permission::Allow), ("ia", Permission::Deny)]);
        assert!(on.feature("grupos", None));
        assert!(!on.feature("ia", Some(ANA)));
        assert_eq!(feature_default("menu"), None);
    }
}
