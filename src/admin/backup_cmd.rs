//! `!backup <cliente>`: an archive of the tenant (database, control data, browser
//! profile) in `backups/<cliente>/`; the browser pauses only for the profile copy.

use super::registry::{
    Answer, BoxFuture, CommandError, Invocation, Run, Spec, at_most, existing, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::backup;
use crate::replies;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "backup",
    aliases: &["copia", "salvar"],
    usage: "<cliente>",
    help: "Faz um backup do cliente (dados e login) em backups/<cliente>/.",
    about_tenant: true,
    run: Run::Later(start),
};

fn start<'a>(admin: &'a Admin, _: &'a Asker, inv: &'a Invocation) -> BoxFuture<'a, Answer> {
    Box::pin(run(admin, inv))
}

async fn run(admin: &Admin, inv: &Invocation) -> Answer {
    at_most(inv, 1)?;
    let id = tenant_arg(inv, 0)?;
    existing(admin, &id)?;
    let sessions = Some(&*admin.sessions);
    let taken = backup::take(&admin.config, &admin.store, sessions, &id, None)
        .await
        .map_err(|e| CommandError::Refused(format!("❌ Backup de {id} falhou: {e}")))?;
    Ok(vec![Out::Text(replies::backup_taken(id.as_str(), &taken))])
}
