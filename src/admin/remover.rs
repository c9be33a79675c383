//! `!remover <cliente> confirmar`: stops the session and deletes the tenant's data
//! (profile, database, records); its backups stay.

use super::registry::{
    Answer, BoxFuture, CommandError, Invocation, Run, Spec, existing, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::replies;
use crate::session::process::ProfilePaths;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "remover",
    aliases: &["remove", "apagar"],
    usage: "<cliente> confirmar",
    help: "Apaga o cliente: sessão, perfil e dados (os backups ficam).",
    about_tenant: true,
    run: Run::Later(start),
};

fn start<'a>(admin: &'a Admin, _: &'a Asker, inv: &'a Invocation) -> BoxFuture<'a, Answer> {
    Box::pin(run(admin, inv))
}

async fn run(admin: &Admin, inv: &Invocation) -> Answer {
    let id = tenant_arg(inv, 0)?;
    existing(admin, &id)?;
    let prefix = &admin.config.admin.prefix;
    if inv.args.get(1).map(String::as_str) != Some("confirmar") || inv.args.len() > 2 {
        let ask = replies::confirm_removal(prefix, id.as_str());
        return Err(CommandError::Refused(ask));
    }
    admin.delivery.cancel(&id);
    admin.sessions.stop(&id).await;
    admin.pipeline.forget(&id);
    admin.store.remove_tenant(&id)?;
    crate::panel::links::revoke(&admin.store, &id)?;
    let paths = ProfilePaths::new(&admin.config.paths.tokens, &admin.config.paths.data, &id);
    let folder = admin.config.paths.tokens.join(id.as_str());
    for result in [
        std::fs::remove_dir_all(&folder),
        std::fs::remove_file(&paths.pgid_file),
    ] {
        if let Err(e) = result.filter_not_found() {
            return Err(CommandError::Internal(format!(
                "removing files of {id}: {e}"
            )));
        }
    }
    Ok(vec![Out::Text(format!(
        "🗑️ {id} removido. Os backups continuam em backups/{id}/."
    ))])
}

/// `Ok` for a file that was not there.
trait NotFoundIsFine {
    fn filter_not_found(self) -> std::io::Result<()>;
}

impl NotFoundIsFine for std::io::Result<()> {
    fn filter_not_found(self) -> std::io::Result<()> {
        match self {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}
