//! `!clientes`: every tenant with its state and number.

use super::registry::{Answer, Invocation, Run, Spec, at_most};
use super::{Admin, Asker, Out};

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "clientes",
    aliases: &["clients", "lista"],
    usage: "",
    help: "Lista os clientes com estado e número.",
    about_tenant: false,
    run: Run::Now(run),
};

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 0)?;
    let tenants = admin.store.control().tenants()?;
    if tenants.is_empty() {
        let prefix = &admin.config.admin.prefix;
        return Ok(vec![Out::Text(format!(
            "Nenhum cliente ainda. Crie com {prefix}novo <cliente>."
        ))]);
    }
    let lines: Vec<String> = tenants
        .iter()
        .map(|t| {
            let phone = t
                .phone
                .as_deref()
                .map_or(String::new(), |p| format!(" (+{p})"));
            format!("• {} — {}{phone}", t.id, t.state.label())
        })
        .collect();
    Ok(vec![Out::Text(format!(
        "👥 {}\n{}",
        crate::replies::count(tenants.len(), "cliente", "clientes"),
        lines.join("\n")
    ))])
}
