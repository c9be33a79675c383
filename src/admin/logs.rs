//! `!logs <cliente> [n]`: the tenant's newest log records.

use super::registry::{Answer, Invocation, Run, Spec, at_most, count_arg, existing, tenant_arg};
use super::{Admin, Asker, Out};

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "logs",
    aliases: &["log"],
    usage: "<cliente> [n]",
    help: "Mostra os últimos n registros do log do cliente (padrão 20, até 200).",
    about_tenant: true,
    run: Run::Now(run),
};

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 2)?;
    let id = tenant_arg(inv, 0)?;
    let n = count_arg(inv, 1, 20, 200)?;
    let (_, db) = existing(admin, &id)?;
    let records = db.logs(n)?;
    if records.is_empty() {
        return Ok(vec![Out::Text(format!("📜 {id}: nenhum registro ainda."))]);
    }
    let tz = &admin.config.admin.timezone;
    let mut lines = vec![format!("📜 {id}: últimos {} registros", records.len())];
    for r in records {
        let at = crate::clock::local_time(r.t_ms, tz);
        let time = at.split(' ').nth(1).unwrap_or_default().to_owned();
        lines.push(format!("{time} {} {}", r.level, r.message));
    }
    Ok(vec![Out::Text(lines.join("\n"))])
}
