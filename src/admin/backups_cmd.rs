//! `!backups <cliente>`: the tenant's archives with size and age, newest first.

use super::registry::{Answer, CommandError, Invocation, Run, Spec, at_most, existing, tenant_arg};
use super::{Admin, Asker, Out};
use crate::backup;
use crate::replies;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "backups",
    aliases: &["copias"],
    usage: "<cliente>",
    help: "Lista os backups do cliente, do mais novo ao mais antigo.",
    about_tenant: true,
    run: Run::Now(run),
};

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 1)?;
    let id = tenant_arg(inv, 0)?;
    let dir = backup::tenant_dir(&admin.config.paths.backups, &id);
    let list = backup::list(&dir).map_err(|e| CommandError::Internal(e.to_string()))?;
    // A removed tenant's archives are still listed: they are how it comes back.
    if list.is_empty() {
        existing(admin, &id)?;
    }
    Ok(vec![Out::Text(replies::backups_list(id.as_str(), &list))])
}
