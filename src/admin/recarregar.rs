//! `!recarregar`: reads `commands/*.toml` again; a wrong file keeps the old commands.

use super::registry::{Answer, CommandError, Invocation, Run, Spec, at_most};
use super::{Admin, Asker, Out};
use crate::client::catalog::Catalog;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "recarregar",
    aliases: &["reload"],
    usage: "",
    help: "Lê de novo os comandos e as personas dos clientes (commands/).",
    about_tenant: false,
    run: Run::Now(run),
};

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 0)?;
    let catalog = Catalog::load(&admin.config.paths.commands)
        .map_err(|e| CommandError::Refused(format!("❌ Comandos não recarregados: {e}")))?;
    let n = catalog.commands().len();
    let personas = crate::replies::count(catalog.personas().list().len(), "persona", "personas");
    admin.pipeline.set_catalog(catalog);
    Ok(vec![Out::Text(format!(
        "🔄 {n} comandos de cliente e {personas} carregados."
    ))])
}
