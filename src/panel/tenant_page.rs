//! `/clientes/{id}`: one tenant: state (live) and its history, number, queue, last
//! error, the actions (with confirmation where they stop or replace something),
//! persona, permissions, settings and backups.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::auth::Operator;
use super::html::Problem;
use super::{Shared, html};
use crate::admin::Admin;
use crate::ai::persona::SETTING;
use crate::store::{LogRecord, Permission, StoreError, TenantDb};

/// A tenant's stored settings, by key.
type Settings = std::collections::BTreeMap<String, String>;
use crate::tenant::{SessionState, TenantId, TenantRecord};

/// State changes shown, newest first.
const STATE_HISTORY: usize = 15;
/// Log records looked through for state changes and errors.
const STATE_SCAN: usize = 2_000;
/// Errors and warnings shown, newest first.
const ERRORS_SHOWN: usize = 5;
/// Queued messages shown, oldest first.
const QUEUE_SHOWN: usize = 20;

/// A tenant named in a URL, with its record and database; `None` answers 404.
pub fn lookup(
    admin: &Admin,
    id: &str,
) -> Result<(TenantId, TenantRecord, std::sync::Arc<TenantDb>), Problem> {
    let missing = || html::not_found(&format!("Cliente \"{id}\" não existe."));
    let Ok(id) = TenantId::parse(id) else {
        return Err(missing());
    };
    if id.is_admin() {
        return Err(missing());
    }
    match admin.store.control().tenant(&id) {
        Ok(Some(record)) => match admin.store.tenant(&id) {
            Ok(db) => Ok((id, record, db)),
            Err(e) => Err(html::not_found(&e.user_message())),
        },
        Ok(None) => Err(missing()),
        Err(e) => Err(html::not_found(&e.user_message())),
    }
}

/// `GET /clientes/{id}`.
pub async fn show(
    State(panel): State<Shared>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (id, record, db) = lookup(&panel.admin, &id)?;
    let body = body(&panel, &operator, &id, &record, &db)
        .map_err(|e| html::not_found(&e.user_message()))?;
    Ok(html::page(id.as_str(), Some(&operator), &body).into_response())
}

fn body(
    panel: &Shared,
    op: &Operator,
    id: &TenantId,
    record: &TenantRecord,
    db: &TenantDb,
) -> Result<String, StoreError> {
    let admin = &panel.admin;
    let name = id.as_str();
    let state = admin.sessions.current(record);
    let phone = record
        .phone
        .as_deref()
        .map_or("—".to_owned(), |p| format!("+{p}"));
    let tz = &admin.config.admin.timezone;
    let since = crate::clock::local_time(record.state_since_ms, tz);
    let error = admin
        .alerts
        .last_error(id)
        .unwrap_or_else(|| "nenhum".to_owned());
    let url = format!("/clientes/{name}/acao");
    let confirm = |action: &str, label: &str| {
        format!(
            "<a href=\"/clientes/{name}/confirmar?acao={action}\"><button type=\"button\" \
             class=\"danger\">{label}</button></a>"
        )
    };
    let logs = db.logs(STATE_SCAN)?;
    let stored = db.settings()?;
    // The buttons that fit the state when the page was made.
    let startable = state.is_terminal() || state == SessionState::Conflict;
    let actions = [
        startable.then(|| html::action(op, &url, &[("acao", "iniciar")], "Iniciar")),
        (state != SessionState::Stopped).then(|| confirm("parar", "Parar")),
        (state != SessionState::Online)
            .then(|| html::action(op, &url, &[("acao", "link")], "Link do QR")),
        Some(html::action(
            op,
            &url,
            &[("acao", "backup")],
            "Backup agora",
        )),
        Some(confirm("remover", "Remover")),
    ]
    .into_iter()
    .flatten()
    .collect::<String>();
    Ok(format!(
        "{notes}<h1>{name}</h1><div class=\"box\"><p class=\"big\">{state_label}</p>\
         <p>Número: <span data-phone-of=\"{name}\">{phone}</span> · desde {since}<br>\
         Fila de envio: {queue} · Último erro: {error}</p>\
         <div class=\"actions\">{actions}</div>\
         <p><a href=\"/clientes/{name}/logs\">Logs</a> · \
         <a href=\"/clientes/{name}/historico\">Histórico de mensagens</a></p></div>\
         <h2>Fila de envio</h2>{queue_rows}<h2>Últimos erros</h2>{errors}\
         <h2>Histórico de estados</h2>{states}\
         <h2>Persona</h2>{persona}<h2>Permissões</h2>{permissions}\
         <h2>Configurações</h2>{settings}<h2>Backups</h2>{backups}\
         <script src=\"/js/painel.js\"></script>",
        notes = html::notes(&panel.logins.notes(op)),
        state_label = html::state(name, state),
        phone = html::esc(&phone),
        since = html::esc(&since),
        queue = admin.sessions.queued(id),
        error = html::esc(&error),
        queue_rows = queue(admin, db)?,
        errors = errors(admin, &logs),
        states = states(admin, &logs),
        persona = persona(admin, op, &url, &stored),
        permissions = permissions(admin, op, &url, id)?,
        settings = settings(op, &url, &stored),
        backups = backups(admin, id),
    ))
}

/// Messages written but not yet sent, oldest first.
fn queue(admin: &Admin, db: &TenantDb) -> Result<String, StoreError> {
    let tz = &admin.config.admin.timezone;
    let pending = db.pending_outbox()?;
    let rows: String = pending
        .iter()
        .take(QUEUE_SHOWN)
        .map(|e| {
            let text: String = e.text.chars().take(120).collect();
            format!(
                "<tr><td>{}</td><td>{}</td><td class=\"msg\">{}</td><td>{}</td></tr>",
                html::esc(&crate::clock::local_time(e.created_ms, tz)),
                html::esc(e.to.trim_end_matches("@c.us")),
                html::esc(&text),
                e.attempts
            )
        })
        .collect();
    Ok(match pending.is_empty() {
        true => "<p class=\"muted\">Nada esperando envio.</p>".to_owned(),
        false => format!(
            "<p class=\"muted\">{} na fila.</p><table><tr><th>Desde</th><th>Para</th>\
             <th>Texto</th><th>Tentativas</th></tr>{rows}</table>",
            pending.len()
        ),
    })
}

/// The newest errors and warnings of the tenant's log.
fn errors(admin: &Admin, logs: &[LogRecord]) -> String {
    let tz = &admin.config.admin.timezone;
    let rows: Vec<String> = logs
        .iter()
        .rev()
        .filter(|r| r.level == "ERROR" || r.level == "WARN")
        .take(ERRORS_SHOWN)
        .map(|r| super::records::log_row(r, tz))
        .collect();
    match rows.is_empty() {
        true => "<p class=\"muted\">Nenhum erro recente.</p>".to_owned(),
        false => format!("<table>{}</table>", rows.join("")),
    }
}

/// The newest state changes, from the tenant's log.
fn states(admin: &Admin, logs: &[LogRecord]) -> String {
    let tz = &admin.config.admin.timezone;
    let rows: Vec<String> = logs
        .iter()
        .rev()
        .filter(|r| r.message.starts_with("session state"))
        .filter_map(|r| {
            let word = r
                .message
                .split_whitespace()
                .find_map(|w| w.strip_prefix("state="))?;
            let state = SessionState::ALL.into_iter().find(|s| s.as_str() == word)?;
            let detail = r.message.split_once("detail=").map_or("", |(_, d)| d);
            let detail = detail.trim_matches('"');
            Some(format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                html::esc(&crate::clock::local_time(r.t_ms, tz)),
                html::esc(state.label()),
                html::esc(detail)
            ))
        })
        .take(STATE_HISTORY)
        .collect();
    match rows.is_empty() {
        true => "<p class=\"muted\">Nenhuma mudança registrada.</p>".to_owned(),
        false => format!("<table>{}</table>", rows.join("")),
    }
}

fn persona(admin: &Admin, op: &Operator, url: &str, stored: &Settings) -> String {
    let catalog = admin.pipeline.catalog();
    let current = catalog
        .personas()
        .resolve(stored.get(SETTING).map(String::as_str))
        .describe();
    let options: String = std::iter::once("padrao".to_owned())
        .chain(catalog.personas().list().iter().map(|p| p.name.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .map(|n| format!("<option>{}</option>", html::esc(n)))
        .collect();
    format!(
        "<div class=\"box\"><p>Em uso: {}</p>\
         <form method=\"post\" action=\"{url}\">{csrf}<input type=\"hidden\" name=\"acao\" \
         value=\"persona\"><label>Escolher <select name=\"valor\">{options}</select></label> \
         <button>Usar</button></form>\
         <form method=\"post\" action=\"{url}\">{csrf}<input type=\"hidden\" name=\"acao\" \
         value=\"persona\"><label>Ou descreva em texto livre<br>\
         <textarea name=\"valor\" rows=\"3\" \
         cols=\"40\" maxlength=\"2000\" placeholder=\"Você é a atendente da loja...\"></textarea>\
         </label><br><button>Usar este texto</button></form></div>",
        html::esc(&current),
        csrf = html::csrf_field(op),
    )
}

fn permissions(
    admin: &Admin,
    op: &Operator,
    url: &str,
    id: &TenantId,
) -> Result<String, StoreError> {
    let rows: String = admin
        .store
        .control()
        .permissions(id)?
        .iter()
        .map(|(name, perm)| {
            let shown = match perm {
                Permission::Allow => "✅ liberado",
                Permission::Deny => "🚫 bloqueado",
            };
            format!("<tr><td>{}</td><td>{shown}</td></tr>", html::esc(name))
        })
        .collect();
    let table = match rows.is_empty() {
        true => {
            "<p class=\"muted\">Só o padrão: tudo liberado, grupos conforme a configuração.</p>"
                .to_owned()
        }
        false => format!("<table>{rows}</table>"),
    };
    Ok(format!(
        "<div class=\"box\">{table}<form method=\"post\" action=\"{url}\">{}\
         <label>Comando ou recurso (ia, transcricao, grupos, *)<br><input name=\"item\" required>\
         </label><br><label>Contato (opcional)<br>\
         <input name=\"contato\" inputmode=\"tel\"></label><br>\
         <button name=\"acao\" value=\"permitir\">Liberar</button> \
         <button name=\"acao\" value=\"negar\" class=\"danger\">Bloquear</button></form></div>",
        html::csrf_field(op)
    ))
}

fn settings(op: &Operator, url: &str, stored: &Settings) -> String {
    let rows: String = stored
        .iter()
        .filter(|(key, _)| key.as_str() != SETTING)
        .map(|(key, value)| {
            format!(
                "<tr><td>{}</td><td><pre>{}</pre></td></tr>",
                html::esc(key),
                html::esc(value)
            )
        })
        .collect();
    let table = match rows.is_empty() {
        true => "<p class=\"muted\">Nenhuma mudança: tudo no padrão.</p>".to_owned(),
        false => format!("<table>{rows}</table>"),
    };
    format!(
        "<div class=\"box\">{table}<form method=\"post\" action=\"{url}\">{}\
         <input type=\"hidden\" name=\"acao\" value=\"config\">\
         <label>Chave (grupos, horario, ausencia, saudacao, idioma, transcricao.eco, \
         ia.tokens_dia, comando.&lt;nome&gt;)<br><input name=\"chave\" required></label><br>\
         <label>Valor (vazio mostra o atual; \"padrao\" volta ao padrão)<br>\
         <textarea name=\"valor\" rows=\"2\" cols=\"40\"></textarea></label><br>\
         <button>Salvar</button></form></div>",
        html::csrf_field(op)
    )
}

fn backups(admin: &Admin, id: &TenantId) -> String {
    let name = id.as_str();
    let dir = crate::backup::tenant_dir(&admin.config.paths.backups, id);
    let list = match crate::backup::list(&dir) {
        Ok(list) => list,
        Err(e) => return format!("<p class=\"note bad\">{}</p>", html::esc(&e.to_string())),
    };
    if list.is_empty() {
        return "<p class=\"muted\">Nenhum backup ainda.</p>".to_owned();
    }
    let tz = &admin.config.admin.timezone;
    let rows: String = list
        .iter()
        .map(|a| {
            let file = html::esc(&a.name);
            format!(
                "<tr><td><a href=\"/clientes/{name}/backups/{file}\" download>{file}</a></td>\
                 <td class=\"hide-phone\">{}</td><td>{}</td><td>\
                 <a href=\"/clientes/{name}/confirmar?acao=restaurar&amp;arquivo={file}\">\
                 <button type=\"button\" class=\"danger\">Restaurar</button></a></td></tr>",
                html::esc(&crate::clock::local_time(a.created_ms, tz)),
                html::esc(&crate::procmem::human(a.size)),
            )
        })
        .collect();
    format!("<table>{rows}</table>")
}
