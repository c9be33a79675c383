//! `/clientes/{id}/logs` (filter by level, search) and `/clientes/{id}/historico`
//! (by contact, paged): read-only views of one tenant's database.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Operator;
use super::html::Problem;
use super::tenant_page::lookup;
use super::{Shared, html};
use crate::store::{HistoryEntry, LogRecord};

/// Log records looked through for a search.
const LOG_SCAN: usize = 5_000;
/// Log records shown at most.
const LOG_SHOWN: usize = 300;
/// What a contact that is no phone gets.
pub(super) const WRONG_CONTACT: &str =
    "Contato inválido: escreva o telefone com DDI e DDD (ex.: 5511988887777).";
/// Messages per history page.
const PAGE: usize = 50;
/// Recent messages looked through for the contact list.
const CONTACT_SCAN: usize = 1_000;

/// The logs page's filter.
#[derive(Debug, Default, Deserialize)]
pub struct LogFilter {
    #[serde(default)]
    nivel: String,
    #[serde(default)]
    busca: String,
}

/// The history page's choice.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryPage {
    #[serde(default)]
    contato: String,
    #[serde(default)]
    pagina: String,
}

/// The levels, most severe first; a filter shows its level and the more severe.
const LEVELS: [&str; 5] = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

/// `GET /clientes/{id}/logs?nivel=WARN&busca=texto`.
pub async fn logs(
    State(panel): State<Shared>,
    operator: Operator,
    Path(id): Path<String>,
    Query(filter): Query<LogFilter>,
) -> Result<Response, Problem> {
    let (id, _, db) = lookup(&panel.admin, &id)?;
    let records = db
        .logs(LOG_SCAN)
        .map_err(|e| html::not_found(&e.user_message()))?;
    let level = LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(filter.nivel.trim()))
        .unwrap_or(LEVELS.len() - 1);
    let needle = filter.busca.trim().to_lowercase();
    let shown: Vec<&LogRecord> = records
        .iter()
        .rev()
        .filter(|r| LEVELS.iter().position(|l| *l == r.level).unwrap_or(0) <= level)
        .filter(|r| needle.is_empty() || r.message.to_lowercase().contains(&needle))
        .take(LOG_SHOWN)
        .collect();
    let tz = &panel.admin.config.admin.timezone;
    let rows: String = shown.iter().map(|r| log_row(r, tz)).collect();
    let options: String = LEVELS
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let selected = if i == level { " selected" } else { "" };
            format!("<option{selected}>{l}</option>")
        })
        .collect();
    let name = id.as_str();
    let body = format!(
        "<p><a href=\"/clientes/{name}\">← {name}</a></p><h1>Logs de {name}</h1>\
         <form class=\"box\" method=\"get\">\
         <label>Nível até <select name=\"nivel\">{options}</select></label> \
         <label>Buscar <input name=\"busca\" value=\"{}\"></label> <button>Filtrar</button></form>\
         <p class=\"muted\">{} registros (os mais novos primeiro).</p><table>{rows}</table>",
        html::esc(&filter.busca),
        shown.len()
    );
    Ok(html::page("Logs", Some(&operator), &body).into_response())
}

/// `GET /clientes/{id}/historico?contato=5511…&pagina=2`.
pub async fn history(
    State(panel): State<Shared>,
    operator: Operator,
    Path(id): Path<String>,
    Query(choice): Query<HistoryPage>,
) -> Result<Response, Problem> {
    let (id, _, db) = lookup(&panel.admin, &id)?;
    let recent = db
        .history(None, CONTACT_SCAN)
        .map_err(|e| html::not_found(&e.user_message()))?;
    let mut contacts: Vec<&str> = Vec::new();
    for entry in recent.iter().rev() {
        if !contacts.contains(&entry.chat.as_str()) {
            contacts.push(&entry.chat);
        }
    }
    let chat = chat_of(&choice.contato);
    let wrong = chat.as_ref().is_some_and(Option::is_none);
    let chat = chat.flatten();
    let page = choice
        .pagina
        .trim()
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, 100_000);
    let skip = (page - 1).saturating_mul(PAGE);
    let entries = match wrong {
        true => Vec::new(),
        false => db
            .history_page(chat.as_deref(), skip, PAGE + 1)
            .map_err(|e| html::not_found(&e.user_message()))?,
    };
    let more = entries.len() > PAGE;
    let tz = &panel.admin.config.admin.timezone;
    let rows: String = entries
        .iter()
        .rev()
        .take(PAGE)
        .map(|e| message_row(e, tz))
        .collect();
    let name = id.as_str();
    let contact_links: String = contacts
        .iter()
        .map(|c| {
            let shown = c.trim_end_matches("@c.us");
            format!(
                "<a href=\"/clientes/{name}/historico?contato={}\">{}</a> ",
                html::esc(&urlencode(shown)),
                html::esc(shown)
            )
        })
        .collect();
    let contato = urlencode(&choice.contato);
    let mut pager = String::new();
    if page > 1 {
        pager.push_str(&format!(
            "<a href=\"?contato={contato}&amp;pagina={}\">← mais novas</a> ",
            page - 1
        ));
    }
    if more {
        pager.push_str(&format!(
            "<a href=\"?contato={contato}&amp;pagina={}\">mais antigas →</a>",
            page + 1
        ));
    }
    let title = chat.as_deref().map_or("todos os contatos".to_owned(), |c| {
        c.trim_end_matches("@c.us").to_owned()
    });
    let body = format!(
        "<p><a href=\"/clientes/{name}\">← {name}</a></p><h1>Histórico de {name}</h1>\
         <form class=\"box\" method=\"get\"><label>Contato \
         <input name=\"contato\" inputmode=\"tel\" \
         value=\"{}\"></label> <button>Ver</button></form>\
         <p class=\"muted\">Contatos recentes: {contact_links}</p>\
         <h2>{} · página {page}</h2>{table}<p>{pager}</p>",
        html::esc(&choice.contato),
        html::esc(&title),
        table = match (wrong, rows.is_empty()) {
            (true, _) => format!("<div class=\"note bad\">{WRONG_CONTACT}</div>"),
            (false, true) => "<p class=\"muted\">Nenhuma mensagem.</p>".to_owned(),
            (false, false) => format!("<table>{rows}</table>"),
        },
    );
    Ok(html::page("Histórico", Some(&operator), &body).into_response())
}

/// One log record as a table row: time, level, message.
pub(super) fn log_row(r: &LogRecord, tz: &jiff::tz::TimeZone) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
        html::esc(&crate::clock::local_time(r.t_ms, tz)),
        html::esc(&r.level),
        html::esc(&r.message)
    )
}

/// The chat a typed contact means: `None` for all, `Some(None)` for one that is no
/// phone or chat address.
fn chat_of(typed: &str) -> Option<Option<String>> {
    let typed = typed.trim();
    if typed.is_empty() {
        return None;
    }
    if let Ok(phone) = crate::chat::PhoneNumber::parse(typed) {
        return Some(Some(phone.chat_id().to_string()));
    }
    Some(
        crate::chat::ChatId::parse(typed)
            .ok()
            .map(|c| c.to_string()),
    )
}

fn message_row(e: &HistoryEntry, tz: &jiff::tz::TimeZone) -> String {
    let who = match e.from_me {
        true => "➡️ nós".to_owned(),
        false => e.from.trim_end_matches("@c.us").to_owned(),
    };
    let mut text = e.text.clone().unwrap_or_default();
    if let Some(media) = &e.media {
        text = format!("[{}] {text}", media.mimetype);
    }
    if e.revoked {
        text.push_str(" (apagada)");
    }
    format!(
        "<tr><td>{}</td><td>{}</td><td class=\"msg\">{}</td></tr>",
        html::esc(&crate::clock::local_time(e.t_ms, tz)),
        html::esc(&who),
        html::esc(&text)
    )
}

/// Percent-encodes a query value.
fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
