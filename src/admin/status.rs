//! `!status [cliente]`: every tenant with state, number, uptime, queue, messages today
//! and last error; one tenant adds memory and the last message's time.

use super::registry::{Answer, CommandError, Invocation, Run, Spec, at_most, existing, tenant_arg};
use super::{Admin, Asker, Out};
use crate::ai::persona::SETTING;
use crate::client::permissions::PermissionSet;
use crate::client::settings::TenantSettings;
use crate::session::process::ProfilePaths;
use crate::store::TenantDb;
use crate::tenant::{SessionState, TenantId, TenantRecord};

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "status",
    aliases: &["estado", "situacao"],
    usage: "[cliente]",
    help: "Mostra o estado de todos os clientes, ou os detalhes de um.",
    about_tenant: true,
    run: Run::Now(run),
};

/// History rows looked at for "messages today".
const TODAY_CAP: usize = 20_000;

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 1)?;
    if inv.args.is_empty() {
        return overview(admin);
    }
    let id = tenant_arg(inv, 0)?;
    let (record, db) = existing(admin, &id)?;
    let mut lines = vec![format!("📊 {}", summary(admin, &record)?)];
    let paths = ProfilePaths::new(&admin.config.paths.tokens, &admin.config.paths.data, &id);
    let memory = crate::session::process::recorded_group(&paths)
        .and_then(crate::procmem::group_pss_bytes)
        .map_or("sem navegador".to_owned(), crate::procmem::human);
    lines.push(format!("memória (PSS): {memory}"));
    let (_, last) = activity(admin, &id)?;
    let tz = &admin.config.admin.timezone;
    let last = last.map_or("nenhuma".to_owned(), |t| crate::clock::local_time(t, tz));
    lines.push(format!("última mensagem: {last}"));
    let archives =
        crate::backup::list(&crate::backup::tenant_dir(&admin.config.paths.backups, &id));
    let newest = archives.ok().and_then(|list| list.into_iter().next());
    let backup = newest.map_or("nenhum".to_owned(), |a| {
        let age = crate::clock::now_ms().saturating_sub(a.created_ms);
        format!("há {} ({})", crate::replies::age(age), a.name)
    });
    lines.push(format!("último backup: {backup}"));
    lines.push(ai_line(admin, &id, &db)?);
    Ok(vec![Out::Text(lines.join("\n"))])
}

/// `IA: vendedora (…) · 1.234 de 50.000 tokens hoje`, or that AI is off or denied.
fn ai_line(admin: &Admin, id: &TenantId, db: &TenantDb) -> Result<String, CommandError> {
    if admin.config.ai.is_none() {
        return Ok("IA: desligada (sem [ai] no admin.toml)".to_owned());
    }
    if !PermissionSet::load(admin.store.control(), id)?.feature("ia", None) {
        let prefix = &admin.config.admin.prefix;
        return Ok(format!("IA: bloqueada ({prefix}permitir {id} ia)"));
    }
    let stored = db.settings()?;
    let catalog = admin.pipeline.catalog();
    let chosen = stored.get(SETTING).map(String::as_str);
    let persona = catalog.personas().resolve(chosen);
    let mut shown = persona.describe();
    if let Some(name) = chosen.filter(|c| !c.contains(char::is_whitespace))
        && catalog.personas().get(name).is_none()
    {
        shown.push_str(&format!("; a persona \"{name}\" não existe mais"));
    }
    let setting = TenantSettings::from_map(&stored).daily_tokens;
    let budget = crate::client::daily_budget(&admin.config, setting);
    let used = crate::client::tokens_today(db, &admin.config, crate::clock::now_ms())?;
    Ok(format!(
        "IA: {} · {} de {} tokens hoje",
        shown,
        crate::replies::thousands(used),
        crate::replies::thousands(budget)
    ))
}

fn overview(admin: &Admin) -> Answer {
    let tenants = admin.store.control().tenants()?;
    let total = crate::replies::count(tenants.len(), "cliente", "clientes");
    let mut lines = vec![format!("📊 {total}")];
    for record in &tenants {
        lines.push(format!("• {}", summary(admin, record)?));
    }
    Ok(vec![Out::Text(lines.join("\n"))])
}

/// `loja — online (+5511…) · há 2 h 5 min · fila 0 · hoje 12 msgs`.
fn summary(admin: &Admin, record: &TenantRecord) -> Result<String, super::registry::CommandError> {
    let id = &record.id;
    let state = admin.sessions.current(record);
    let mut parts = vec![format!("{id} — {}", state.label())];
    if let Some(phone) = &record.phone {
        parts[0].push_str(&format!(" (+{phone})"));
    }
    if state == SessionState::Online {
        let up = crate::clock::now_ms().saturating_sub(record.state_since_ms);
        parts.push(format!("há {}", crate::replies::age(up)));
    }
    parts.push(format!("fila {}", admin.sessions.queued(id)));
    let (today, _) = activity(admin, id)?;
    parts.push(format!(
        "hoje {}",
        crate::replies::count(today, "msg", "msgs")
    ));
    if let Some(error) = admin.alerts.last_error(id) {
        parts.push(format!("último erro: {error}"));
    }
    Ok(parts.join(" · "))
}

/// Messages since local midnight, and the newest message's time.
fn activity(
    admin: &Admin,
    id: &TenantId,
) -> Result<(usize, Option<u64>), super::registry::CommandError> {
    let tz = admin.config.admin.timezone.clone();
    let midnight = jiff::Timestamp::now()
        .to_zoned(tz)
        .start_of_day()
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0);
    let db = admin.store.tenant(id)?;
    Ok(db.activity_since(u64::try_from(midnight).unwrap_or(0), TODAY_CAP)?)
}
