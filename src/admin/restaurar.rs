//! `!restaurar <cliente> [arquivo] [substituir]`: the tenant back from one of its own
//! archives (the newest by default), verified before anything is touched; an existing
//! tenant is replaced only with `substituir`; a missing one is created.

use super::registry::{
    Answer, BoxFuture, CommandError, Invocation, Run, Spec, at_most, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::backup;
use crate::replies;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "restaurar",
    aliases: &["restore"],
    usage: "<cliente> [arquivo] [substituir]",
    help: "Restaura o cliente de um backup dele (o mais novo, se não disser qual).",
    about_tenant: true,
    run: Run::Later(start),
};

fn start<'a>(admin: &'a Admin, asker: &'a Asker, inv: &'a Invocation) -> BoxFuture<'a, Answer> {
    Box::pin(run(admin, asker, inv))
}

async fn run(admin: &Admin, asker: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 3)?;
    let id = tenant_arg(inv, 0)?;
    let rest: Vec<&str> = inv.args.iter().skip(1).map(String::as_str).collect();
    let replace = rest
        .last()
        .is_some_and(|w| w.eq_ignore_ascii_case("substituir"));
    let file = rest
        .first()
        .copied()
        .filter(|w| !w.eq_ignore_ascii_case("substituir"));
    if rest.len() == 2 && !replace {
        return Err(CommandError::Usage(
            "Depois do arquivo, só \"substituir\".".to_owned(),
        ));
    }
    admin.delivery.begin(&id, &asker.chat, None);
    let sessions = Some(&*admin.sessions);
    let done = backup::restore(&admin.config, &admin.store, sessions, &id, file, replace).await;
    match done {
        Ok(restored) => Ok(vec![Out::Text(replies::restored(id.as_str(), &restored))]),
        Err(e) => {
            admin.delivery.cancel(&id);
            Err(CommandError::Refused(format!("❌ {e}")))
        }
    }
}
