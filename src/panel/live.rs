//! `/l/{token}`: the live QR link a client opens. It shows the tenant's current QR,
//! swaps it on every rotation (server-sent events), then "conectado ✅"; if the
//! attempt runs out while the link is valid, a button starts a new one. Nothing else
//! of the tenant, and nothing of any other, is reachable through a token.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tracing::info;

use super::board::Change;
use super::links::{self, Found, Link};
use super::{Shared, html};
use crate::tenant::{SessionState, TenantId};
use std::sync::Arc;

const GONE: &str = "Este link expirou ou foi substituído por um mais novo. \
                    Peça um link novo a quem te enviou.";

fn find(panel: &Shared, token: &str) -> Option<Link> {
    match links::find(&panel.admin.store, token) {
        Ok(Found::Live(link)) => Some(link),
        Ok(Found::Gone) | Err(_) => None,
    }
}

fn gone() -> Response {
    let body = format!("<div class=\"note bad\">{GONE}</div>");
    (
        StatusCode::NOT_FOUND,
        html::page("Link expirado", None, &body),
    )
        .into_response()
}

/// `GET /l/{token}`.
pub async fn page(State(panel): State<Shared>, Path(token): Path<String>) -> Response {
    let Some(link) = find(&panel, &token) else {
        return gone();
    };
    let name = link.tenant.as_str();
    if link.linked {
        return html::page("Conectado", None, &connected(name)).into_response();
    }
    let state = panel.admin.sessions.state(&link.tenant);
    let code = panel.admin.board.code(&link.tenant);
    let (img, status) = match (&code, state) {
        (Some(code), _) => (
            format!(
                "<img id=\"qr\" alt=\"QR para conectar\" src=\"/l/{token}/qr.png?n={}\">",
                code.seq
            ),
            "Escaneie este QR. Ele muda sozinho a cada poucos segundos.",
        ),
        (None, Some(s)) if !s.is_terminal() => (
            "<img id=\"qr\" alt=\"QR para conectar\" hidden>".to_owned(),
            "Preparando o QR… aguarde alguns segundos.",
        ),
        _ => (
            "<img id=\"qr\" alt=\"QR para conectar\" hidden>".to_owned(),
            "",
        ),
    };
    let stopped = state_of(&panel, &link.tenant) == Some(SessionState::QrExpired);
    let tz = &panel.admin.config.admin.timezone;
    let until = crate::clock::local_time(link.expires_ms, tz);
    let body = format!(
        "<h1>Conectar o WhatsApp de {name}</h1>\
         <div class=\"box qr\" id=\"live\" data-token=\"{token}\">{img}\
         <p id=\"status\">{status}</p>\
         <form method=\"post\" action=\"/l/{token}/novo\" id=\"again\"{hidden}>\
         <p>O QR expirou antes de ser escaneado.</p><button>Gerar um QR novo</button></form></div>\
         <ol class=\"box\" id=\"passos\"><li>Abra o WhatsApp no celular.</li>\
         <li>Toque em <b>Configurações</b> (ou ⋮) → <b>Aparelhos conectados</b> → \
         <b>Conectar um aparelho</b>.</li><li>Aponte a câmera para o QR acima.</li></ol>\
         <p class=\"muted\" id=\"validade\">Link válido até {until} ou até conectar.</p>\
         <script src=\"/js/painel.js\"></script>",
        token = html::esc(&token),
        hidden = if stopped { "" } else { " hidden" },
        until = html::esc(&until),
    );
    html::page("Conectar WhatsApp", None, &body).into_response()
}

fn connected(name: &str) -> String {
    format!(
        "<div class=\"box qr\"><p class=\"big\">conectado ✅</p>\
         <p>O WhatsApp de {} está conectado. Pode fechar esta página.</p></div>",
        html::esc(name)
    )
}

/// `GET /l/{token}/qr.png`: the current QR as an image.
pub async fn image(State(panel): State<Shared>, Path(token): Path<String>) -> Response {
    let Some(link) = find(&panel, &token).filter(|l| !l.linked) else {
        return gone();
    };
    let Some(code) = panel.admin.board.code(&link.tenant) else {
        return (StatusCode::NOT_FOUND, "sem QR agora").into_response();
    };
    match crate::qr::png(&code.text) {
        Ok(png) => {
            let mut response = png.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            response
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "QR não gerado").into_response(),
    }
}

/// `POST /l/{token}/novo`: a new linking attempt, when the last one ran out.
pub async fn again(State(panel): State<Shared>, Path(token): Path<String>) -> Response {
    let Some(link) = find(&panel, &token).filter(|l| !l.linked) else {
        return gone();
    };
    // Only an attempt that ran out starts again from here: a stop, a failure or a
    // logout is the operator's to undo.
    if state_of(&panel, &link.tenant) == Some(SessionState::QrExpired) {
        info!(tenant = %link.tenant, "live link: new linking attempt");
        if let Some(chat) = &link.operator {
            panel.admin.delivery.begin_link(&link.tenant, chat);
        }
        panel.admin.sessions.stop(&link.tenant).await;
        panel.admin.sessions.start(&link.tenant);
    }
    Redirect::to(&format!("/l/{token}")).into_response()
}

/// How often an open link page checks that its link still works (a new `!link` or a
/// removal revokes it).
const RECHECK: Duration = Duration::from_secs(5);

/// `GET /l/{token}/eventos`: `qr` (`{"seq"}`), `estado` (`{"state","label","ended"}`),
/// `conectado`, and `expirado` (time up or revoked) for the link's tenant only.
pub async fn events(
    State(panel): State<Shared>,
    Path(token): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let Some(link) = find(&panel, &token).filter(|l| !l.linked) else {
        return Err(gone());
    };
    let first = futures_util::stream::iter(missed(&panel, &link).into_iter().map(Ok));
    let left = link.expires_ms.saturating_sub(crate::clock::now_ms());
    let watch = Watch {
        changes: panel.admin.board.watch(),
        closing: panel.closing(),
        deadline: tokio::time::Instant::now() + Duration::from_millis(left),
        recheck: tokio::time::interval(RECHECK),
        panel: Arc::clone(&panel),
        token,
        tenant: link.tenant,
        done: false,
    };
    let stream = futures_util::stream::unfold(watch, |mut watch| async move {
        let event = watch.next().await?;
        Some((Ok(event), watch))
    });
    Ok(Sse::new(first.chain(stream)).keep_alive(KeepAlive::default()))
}

/// The tenant's state: its session's, or as stored when no session runs.
fn state_of(panel: &Shared, tenant: &TenantId) -> Option<SessionState> {
    let record = panel.admin.store.control().tenant(tenant).ok().flatten();
    record.map(|r| panel.admin.sessions.current(&r))
}

/// What the page may have missed between its rendering and its stream: the state
/// now and the current code.
fn missed(panel: &Shared, link: &Link) -> Vec<Event> {
    let tenant = link.tenant.clone();
    let mut first = Vec::new();
    if let Some(state) = state_of(panel, &tenant) {
        let tenant = tenant.clone();
        first.push(live_event(&Change::State { tenant, state }).0);
    }
    if let Some(code) = panel.admin.board.code(&tenant) {
        let seq = code.seq;
        first.push(live_event(&Change::Qr { tenant, seq }).0);
    }
    first
}

/// One open link page's stream.
struct Watch {
    changes: broadcast::Receiver<Change>,
    closing: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
    /// When to check that the link still works, however busy other tenants are.
    recheck: tokio::time::Interval,
    panel: Shared,
    token: String,
    tenant: TenantId,
    done: bool,
}

impl Watch {
    /// The next event for the page; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        let expired = Event::default().event("expirado").data("{}");
        loop {
            let change = tokio::select! {
                change = self.changes.recv() => Some(change),
                _ = self.recheck.tick() => None,
                _ = tokio::time::sleep_until(self.deadline) => {
                    self.done = true;
                    return Some(expired);
                }
                _ = self.closing.wait_for(|c| *c) => return None,
            };
            // Other tenants' changes pass by; the store is read only for this link's
            // tenant or on the recheck tick.
            if matches!(&change, Some(Ok(c)) if *c.tenant() != self.tenant) {
                continue;
            }
            if find(&self.panel, &self.token).is_none() {
                self.done = true;
                return Some(expired);
            }
            match change {
                None => continue,
                Some(Err(RecvError::Lagged(_))) => {
                    self.done = true;
                    return Some(Event::default().event("recarregar").data("{}"));
                }
                Some(Err(RecvError::Closed)) => return None,
                Some(Ok(change)) => {
                    let (event, last) = live_event(&change);
                    self.done = last;
                    return Some(event);
                }
            }
        }
    }
}

/// The event for one of the link's tenant's changes, and whether it is the last.
fn live_event(change: &Change) -> (Event, bool) {
    match change {
        Change::Qr { seq, .. } => {
            let data = serde_json::json!({ "seq": seq }).to_string();
            (Event::default().event("qr").data(data), false)
        }
        Change::Online { .. } => (Event::default().event("conectado").data("{}"), true),
        Change::State { state, .. } => {
            let data = serde_json::json!({
                "state": state.as_str(),
                "label": state.label(),
                "ended": state.is_terminal(),
            });
            (
                Event::default().event("estado").data(data.to_string()),
                false,
            )
        }
    }
}
