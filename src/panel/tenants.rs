//! `/clientes`: every tenant with its live state, the form for a new one, and the
//! server-sent events (`/eventos`) that keep the states current.

use std::convert::Infallible;

use axum::Form;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::auth::Operator;
use super::board::Change;
use super::html::Problem;
use super::{Shared, html};
use crate::chat::PhoneNumber;
use crate::tenant::TenantRecord;

/// How often an open tenant list checks that its login is still alive.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// The new-tenant form as posted.
#[derive(Debug, Deserialize)]
pub struct NewTenant {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nome: String,
    #[serde(default)]
    telefone: String,
}

/// `GET /`: the tenants (or the login, through the extractor).
pub async fn home(_: Operator) -> Redirect {
    Redirect::to("/clientes")
}

/// `GET /clientes`.
pub async fn list(State(panel): State<Shared>, operator: Operator) -> Result<Response, Problem> {
    let records = panel
        .admin
        .store
        .control()
        .tenants()
        .map_err(|e| html::not_found(&e.user_message()))?;
    let rows: String = records.iter().map(|r| row(&panel, r)).collect();
    let empty = match records.is_empty() {
        true => "<p>Nenhum cliente ainda. Crie o primeiro abaixo.</p>",
        false => "",
    };
    let body = format!(
        "{notes}<h1>Clientes ({count})</h1>{empty}\
         <table id=\"clientes\"><thead><tr><th>Cliente</th><th>Estado</th>\
         <th>Número</th><th class=\"hide-phone\">Fila</th></tr></thead>\
         <tbody>{rows}</tbody></table>\
         <h2>Novo cliente</h2><form class=\"box\" method=\"post\" action=\"/clientes/novo\">{csrf}\
         <label>Nome (2 a 32: letras minúsculas sem acento, números, - ou _)<br>\
         <input name=\"nome\" required placeholder=\"loja-da-ana\"></label><br>\
         <label>Telefone do cliente (opcional, para código de pareamento)<br>\
         <input name=\"telefone\" inputmode=\"tel\"></label><br><button>Criar</button>\
         <p class=\"muted\">Os QR vão para o seu WhatsApp, como no !novo; para mandar um link \
         ao cliente, abra o cliente e toque em \"Link do QR\".</p></form>\
         <script src=\"/js/painel.js\"></script>",
        notes = html::notes(&panel.logins.notes(&operator)),
        count = records.len(),
        csrf = html::csrf_field(&operator),
    );
    Ok(html::page("Clientes", Some(&operator), &body).into_response())
}

fn row(panel: &Shared, record: &TenantRecord) -> String {
    let id = record.id.as_str();
    let state = panel.admin.sessions.current(record);
    let phone = record
        .phone
        .as_deref()
        .map_or("—".to_owned(), |p| format!("+{p}"));
    format!(
        "<tr data-tenant=\"{id}\"><td><a href=\"/clientes/{id}\">{id}</a></td><td>{}</td>\
         <td data-phone-of=\"{id}\">{}</td><td class=\"hide-phone\">{}</td></tr>",
        html::state(id, state),
        html::esc(&phone),
        panel.admin.sessions.queued(&record.id)
    )
}

/// `POST /clientes/novo`: runs `!novo <nome> [telefone]`.
pub async fn create(
    State(panel): State<Shared>,
    operator: Operator,
    Form(form): Form<NewTenant>,
) -> Result<Response, Problem> {
    operator.check(&form.csrf)?;
    let (name, phone) = (form.nome.trim(), form.telefone.trim());
    let notes = if name.is_empty() {
        vec!["Preencha o campo \"Nome\" (ex.: loja-da-ana).".to_owned()]
    } else if name.contains(char::is_whitespace) {
        vec!["O nome do cliente é uma palavra só, sem espaços (ex.: loja-da-ana).".to_owned()]
    } else if let Some(Err(e)) = (!phone.is_empty()).then(|| PhoneNumber::parse(phone)) {
        vec![format!("No campo \"Telefone do cliente\": {e}")]
    } else {
        panel.run(&operator, &["novo", name, phone]).await
    };
    panel.logins.tell(&operator, notes);
    Ok(Redirect::to("/clientes").into_response())
}

/// `GET /eventos`: every tenant's state changes, as `estado` events
/// (`{"tenant","state","label","phone"}`).
pub async fn events(
    State(panel): State<Shared>,
    operator: Operator,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = panel.admin.board.watch();
    let closing = panel.closing();
    // The states now, for what the page may have missed since it was rendered.
    let first: Vec<Event> = panel
        .admin
        .store
        .control()
        .tenants()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let state = panel.admin.sessions.current(&r);
            state_event(&Change::State {
                tenant: r.id,
                state,
            })
        })
        .collect();
    let watch = (changes, closing, panel, operator);
    let stream = futures_util::stream::unfold(watch, |mut watch| async move {
        let (changes, closing, panel, operator) = &mut watch;
        loop {
            let change = tokio::select! {
                change = changes.recv() => Some(change),
                _ = tokio::time::sleep(RECHECK) => None,
                _ = closing.wait_for(|c| *c) => return None,
            };
            // A session that logged out or went idle stops hearing.
            if !panel.logins.alive(operator) {
                return None;
            }
            let event = match change {
                None => continue,
                Some(Ok(change)) => state_event(&change),
                Some(Err(RecvError::Lagged(_))) => {
                    Some(Event::default().event("recarregar").data("{}"))
                }
                Some(Err(RecvError::Closed)) => return None,
            };
            if let Some(event) = event {
                return Some((Ok(event), watch));
            }
        }
    });
    let first = futures_util::stream::iter(first.into_iter().map(Ok));
    Sse::new(first.chain(stream)).keep_alive(KeepAlive::default())
}

fn state_event(change: &Change) -> Option<Event> {
    let (state, phone) = match change {
        Change::State { state, .. } => (*state, None),
        Change::Online { phone, .. } => (crate::tenant::SessionState::Online, phone.clone()),
        Change::Qr { .. } => return None,
    };
    let data = serde_json::json!({
        "tenant": change.tenant().as_str(),
        "state": state.as_str(),
        "label": state.label(),
        "phone": phone,
    });
    Some(Event::default().event("estado").data(data.to_string()))
}
