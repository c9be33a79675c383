//! The optional web panel (`[panel]` in admin.toml): the same control plane as the
//! admin chat, in a browser, inside `orbitbot run`.
//!
//! - [`auth`]: login, sessions, CSRF, lockout; [`password`]: argon2 hashes.
//! - [`links`]: live QR links (`!link <cliente>`), stored as token digests.
//! - [`board`]: the live view (states, current QR codes) fed by the admin.
//! - [`login`], [`tenants`], [`tenant_page`], [`records`], [`actions`], [`live`]: the
//!   pages; [`html`]: their layout; [`token`]: random tokens.
//!
//! Every change the panel makes runs the operator command that makes it
//! ([`crate::admin::registry::execute`]), so validation, texts and the audit log are
//! the chat's own; pages only read the store.

pub mod actions;
pub mod auth;
pub mod board;
pub mod html;
pub mod links;
pub mod live;
pub mod login;
pub mod password;
pub mod records;
pub mod tenant_page;
pub mod tenants;
pub mod token;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

pub use board::Board;

use crate::admin::{Admin, Asker, Out};
use crate::config::PanelConfig;

/// What every handler shares.
pub struct Panel {
    /// The control plane the panel drives.
    pub admin: Arc<Admin>,
    /// `[panel]`.
    pub settings: PanelConfig,
    /// Login sessions and failure counts.
    pub logins: auth::Logins,
    /// Turns true when the panel stops, ending live streams.
    closing: watch::Sender<bool>,
}

/// The handlers' state.
pub type Shared = Arc<Panel>;

/// What browsers may do with our pages: scripts, styles and images only from us, no
/// frames, forms only to us.
const SECURITY_POLICY: &str = "default-src 'none'; img-src 'self'; style-src 'self'; \
     script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

impl Panel {
    /// A panel over `admin` with `settings`.
    pub fn new(admin: Arc<Admin>, settings: PanelConfig) -> Shared {
        Arc::new(Panel {
            admin,
            settings,
            logins: auth::Logins::default(),
            closing: watch::channel(false).0,
        })
    }

    /// Turns true when the panel stops: live streams end then.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Runs an operator command for a signed-in operator, as if typed in the admin
    /// chat (answers that would reach the chat come back as texts).
    pub async fn run(&self, operator: &auth::Operator, words: &[&str]) -> Vec<String> {
        let prefix = &self.admin.config.admin.prefix;
        let text = format!("{prefix}{}", words.join(" "));
        let asker = Asker {
            chat: format!("{}@c.us", operator.phone),
            actor: operator.phone.clone(),
        };
        let outs = crate::admin::registry::execute(&self.admin, &asker, &text).await;
        outs.into_iter()
            .map(|out| match out {
                Out::Text(text) => text,
                Out::Image { caption, .. } => caption,
            })
            .collect()
    }
}

/// Every route of the panel.
pub fn router(panel: Shared) -> Router {
    Router::new()
        .route("/", get(tenants::home))
        .route("/entrar", get(login::form).post(login::submit))
        .route("/sair", post(login::logout))
        .route("/clientes", get(tenants::list))
        .route("/clientes/novo", post(tenants::create))
        .route("/eventos", get(tenants::events))
        .route("/clientes/{id}", get(tenant_page::show))
        .route("/clientes/{id}/logs", get(records::logs))
        .route("/clientes/{id}/historico", get(records::history))
        .route("/clientes/{id}/acao", post(actions::submit))
        .route("/clientes/{id}/confirmar", get(actions::confirm))
        .route("/clientes/{id}/backups/{file}", get(actions::download))
        .route("/l/{token}", get(live::page))
        .route("/l/{token}/qr.png", get(live::image))
        .route("/l/{token}/eventos", get(live::events))
        .route("/l/{token}/novo", post(live::again))
        .route("/js/painel.js", get(script))
        .route("/css/painel.css", get(style))
        .fallback(unknown)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&panel),
            same_site,
        ))
        .layer(axum::middleware::map_response(guard_headers))
        .with_state(panel)
}

/// A page that is not there, in pt-BR like the others.
async fn unknown() -> html::Problem {
    html::not_found("Página não encontrada.")
}

/// Refuses a form posted from another site, before anything looks at it: the CSRF
/// token already stops it; this says no earlier and plainly (`Origin` or the
/// browser's `Sec-Fetch-Site`).
async fn same_site(
    axum::extract::State(panel): axum::extract::State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.method() == axum::http::Method::POST && crossed(&panel, request.headers()) {
        warn!("panel form from another site refused");
        return html::refused(html::FORM_EXPIRED).into_response();
    }
    next.run(request).await
}

/// Whether a request says it comes from a site other than the panel.
fn crossed(panel: &Panel, headers: &axum::http::HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let site = text(header::HeaderName::from_static("sec-fetch-site"));
    if matches!(site, Some("cross-site" | "same-site")) {
        return true;
    }
    // Our pages send their origin (referrer policy same-origin); "null" comes from a
    // sandboxed or redirected form, never from them.
    let Some(origin) = text(header::ORIGIN) else {
        return false;
    };
    let ours = panel.settings.base_url.origin().ascii_serialization();
    let host = text(header::HOST);
    origin != ours && origin.split_once("://").map(|(_, h)| h) != host
}

/// The panel's script (live states, live QR).
async fn script() -> Response {
    asset(
        include_str!("panel/painel.js"),
        "text/javascript; charset=utf-8",
    )
}

/// The panel's style sheet.
async fn style() -> Response {
    asset(include_str!("panel/painel.css"), "text/css; charset=utf-8")
}

fn asset(text: &'static str, kind: &'static str) -> Response {
    let mut response = Response::new(axum::body::Body::from(text));
    let value = HeaderValue::from_static(kind);
    response.headers_mut().insert(header::CONTENT_TYPE, value);
    response
}

/// Headers every answer carries: no caching, no framing, the content policy. A
/// request the framework could not read (a form that is no form, a wrong method)
/// gets a pt-BR page instead of its English text.
async fn guard_headers(response: Response) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    let mut response = match response.status() {
        StatusCode::BAD_REQUEST
        | StatusCode::METHOD_NOT_ALLOWED
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNSUPPORTED_MEDIA_TYPE
        | StatusCode::UNPROCESSABLE_ENTITY
            if plain =>
        {
            let status = response.status();
            let page = html::refused("Pedido inválido: use os formulários do painel.");
            (status, page).into_response()
        }
        _ => response,
    };
    let headers = response.headers_mut();
    let set = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CONTENT_SECURITY_POLICY, SECURITY_POLICY),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Serves the panel on `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, panel: Shared, mut stop: watch::Receiver<bool>) {
    let open = !panel.settings.listen.ip().is_loopback();
    if open && panel.settings.base_url.scheme() == "http" {
        warn!("panel listens beyond this machine over plain http: passwords travel in clear");
    }
    let address = listener.local_addr().ok();
    info!(address = ?address, base_url = %panel.settings.base_url, "panel listening");
    let closing = panel.closing.clone();
    let app = router(panel).into_make_service_with_connect_info::<SocketAddr>();
    let stopped = async move {
        while !*stop.borrow_and_update() {
            if stop.changed().await.is_err() {
                break;
            }
        }
        closing.send_replace(true);
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        warn!(error = %e, "panel stopped");
    }
}
