//! The fake WhatsApp Web: the page (`GET /`) with its nonce CSP, the fake engine
//! (`GET /sim/engine.js`) and the routes the page's own scripts talk to.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::address::{chat_id, lid_of, phone_digits};
use super::error::SimError;
use super::extract::Body;
use super::linking::{REASON_PAGE, begin_attempt, gone, spawn_pair_expiry};
use super::message::{NetMsg, key_or_new, message_kind};
use super::world::{AccountState, Sim, World, now_ms, random_b64};

/// The page's markup; `{{NONCE}}` and `{{SCRIPT}}` are filled per response.
const PAGE_HTML: &str = include_str!("page.html");
/// The page's own script: the fake WhatsApp Web app.
const PAGE_JS: &str = include_str!("page.js");
/// The fake engine, playing wa-js.
pub(crate) const ENGINE_JS: &str = include_str!("engine.js");
/// How long a poll waits for an event.
const POLL_WAIT: Duration = Duration::from_millis(1500);

/// Answers of the page routes.
type Answer = Result<Json<Value>, SimError>;

/// The page, the engine and the page protocol.
pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/", get(index))
        .route("/sim/engine.js", get(engine))
        .route("/sim/page/attach", post(attach))
        .route("/sim/page/poll", get(poll))
        .route("/sim/page/send", post(send))
        .route("/sim/page/refresh_qr", post(refresh_qr))
        .route("/sim/page/pair_code", post(pair_code))
        .route("/sim/page/takeover", post(takeover))
        .route("/sim/page/logout", post(logout))
        .route("/sim/page/media", get(media))
        .route("/sim/page/messages", get(messages))
        .route("/sim/page/read", post(read))
}

async fn index() -> Response {
    let nonce = random_b64(18);
    let html = PAGE_HTML
        .replace("{{NONCE}}", &nonce)
        .replace("{{SCRIPT}}", PAGE_JS);
    let csp = format!(
        "default-src 'self'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'"
    );
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    (headers, html).into_response()
}

async fn engine() -> Response {
    let headers = [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")];
    (headers, ENGINE_JS).into_response()
}

/// The login the page keeps in its profile.
#[derive(Debug, Deserialize)]
struct Auth {
    account: String,
    token: String,
}

/// `POST /sim/page/attach`: a page load.
#[derive(Debug, Deserialize)]
struct AttachRequest {
    auth: Option<Auth>,
}

async fn attach(State(sim): State<Sim>, Body(req): Body<AttachRequest>) -> Answer {
    let (page, login) = sim.with(|w| {
        let page = w.new_page(now_ms());
        let login = req.auth.as_ref().and_then(|auth| valid_login(w, auth));
        match (&login, &req.auth) {
            (Some(phone), _) => w.bind(page, phone),
            (None, Some(auth)) => tell_ended_login(w, page, auth),
            (None, None) => {}
        }
        (page, login)
    });
    if login.is_none() {
        begin_attempt(&sim, page);
    }
    let answer = json!({
        "page": page,
        "logged_in": login.is_some(),
        "me": login.as_deref().map(chat_id),
        "lid": login.as_deref().map(lid_of),
    });
    Ok(Json(answer))
}

/// The account whose current login `auth` is.
fn valid_login(w: &World, auth: &Auth) -> Option<String> {
    let phone = phone_digits(&auth.account)?;
    let account = w.accounts.get(&phone)?;
    let valid = account.state != AccountState::LoggedOut && account.token == auth.token;
    valid.then_some(phone)
}

/// A page that still holds a login this simulator ended (the phone logged out or
/// linked another page while no page was attached) hears it as the real site does.
fn tell_ended_login(w: &mut World, page: u64, auth: &Auth) {
    let reason = phone_digits(&auth.account).and_then(|p| w.ended_reason(&p, &auth.token));
    if let Some(reason) = reason {
        w.push(page, "logout", json!({ "reason": reason }));
    }
}

/// Query of the page routes that name only the page.
#[derive(Debug, Deserialize)]
struct PageQuery {
    page: u64,
    #[serde(default)]
    after: u64,
}

/// Keeps a page counted as polling while its poll is in flight.
struct Polling<'a> {
    sim: &'a Sim,
    page: u64,
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.sim.with(|w| {
            if let Some(page) = w.pages.get_mut(&self.page) {
                page.polling = page.polling.saturating_sub(1);
                page.last_seen_ms = now_ms();
            }
        });
    }
}

async fn poll(State(sim): State<Sim>, Query(q): Query<PageQuery>) -> Answer {
    let mut changed = sim.subscribe();
    sim.with(|w| {
        let page = w.pages.get_mut(&q.page).ok_or_else(|| gone(q.page))?;
        page.polling += 1;
        page.events
            .retain(|e| e["seq"].as_u64().unwrap_or(0) > q.after);
        Ok::<_, SimError>(())
    })?;
    let _polling = Polling {
        sim: &sim,
        page: q.page,
    };
    let deadline = tokio::time::Instant::now() + POLL_WAIT;
    loop {
        let events = sim.peek(|w| w.pages.get(&q.page).map(|p| p.events.clone()));
        match events {
            None => return Err(gone(q.page)),
            Some(events) if !events.is_empty() => return Ok(Json(json!({ "events": events }))),
            Some(_) => {}
        }
        if tokio::time::timeout_at(deadline, changed.changed())
            .await
            .is_err()
        {
            return Ok(Json(json!({ "events": [] })));
        }
    }
}

/// `POST /sim/page/send`: a message typed on the page.
#[derive(Debug, Deserialize)]
struct PageSend {
    page: u64,
    to: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    body: Option<String>,
    caption: Option<String>,
    media_b64: Option<String>,
    mimetype: Option<String>,
    filename: Option<String>,
    duration_s: Option<u64>,
    id: Option<String>,
    quoted_id: Option<String>,
    #[serde(default)]
    mentions: Vec<String>,
}

async fn send(State(sim): State<Sim>, Body(req): Body<PageSend>) -> Answer {
    let (msg, latency, ack_delay) = sim.with(|w| {
        let msg = page_message(w, req)?;
        if let Some(error) = w.take_send_fault(&msg.sender) {
            return Err(SimError::Fault(error));
        }
        Ok((msg, w.config.latency_ms, w.config.ack_delay_ms))
    })?;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let key = msg.key.clone();
    let model = sim.with(|w| {
        let model = w.model(&msg, &msg.sender, true);
        w.route(msg);
        w.ack(&key, 1);
        model
    });
    let sim = sim.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(ack_delay)).await;
        // A message already read does not step back to "delivered".
        sim.with(|w| {
            if !w.read.contains(&key) {
                w.ack(&key, 2);
            }
        });
    });
    Ok(Json(model))
}

/// Checks a page send and builds its message.
fn page_message(w: &World, req: PageSend) -> Result<NetMsg, SimError> {
    let sender = w
        .pages
        .get(&req.page)
        .ok_or_else(|| gone(req.page))?
        .account
        .clone()
        .filter(|phone| w.can_send(phone))
        .ok_or_else(|| SimError::Conflict("page is not logged in and ready".to_owned()))?;
    let (to, group) = match w.known_group(&req.to) {
        Ok(group) => (group.clone(), Some(group)),
        Err(_) => (w.known_phone(&req.to)?, None),
    };
    let has_media = req.media_b64.is_some();
    let kind = message_kind(req.kind.as_deref(), has_media, req.mimetype.as_deref());
    Ok(NetMsg {
        key: key_or_new(req.id),
        sender_name: w.phones.get(&sender).and_then(|p| p.name.clone()),
        sender,
        to,
        group,
        kind,
        body: req.body,
        caption: req.caption,
        media_b64: req.media_b64,
        mimetype: req.mimetype,
        filename: req.filename,
        duration_s: req.duration_s,
        as_lid: false,
        t: i64::try_from(now_ms() / 1000).unwrap_or_default(),
        quoted_id: req.quoted_id,
        mentions: req.mentions,
    })
}

/// Body of the page routes that name only the page.
#[derive(Debug, Deserialize)]
struct PageOnly {
    page: u64,
}

async fn refresh_qr(State(sim): State<Sim>, Body(req): Body<PageOnly>) -> Answer {
    let logged_in = sim.with(|w| {
        let page = w.pages.get(&req.page).ok_or_else(|| gone(req.page))?;
        Ok::<_, SimError>(page.account.is_some())
    })?;
    if logged_in {
        return Err(SimError::Conflict("page is logged in".to_owned()));
    }
    begin_attempt(&sim, req.page);
    Ok(Json(json!({ "ok": true })))
}

/// `POST /sim/page/pair_code`.
#[derive(Debug, Deserialize)]
struct PairCodeRequest {
    page: u64,
    phone: String,
}

async fn pair_code(State(sim): State<Sim>, Body(req): Body<PairCodeRequest>) -> Answer {
    let phone = phone_digits(&req.phone)
        .ok_or_else(|| SimError::BadRequest(format!("not a phone number: {}", req.phone)))?;
    let (code, life) = sim.with(|w| w.pairing_code(req.page, &phone))?;
    if let Some(life) = life {
        spawn_pair_expiry(&sim, req.page, code.clone(), life);
    }
    Ok(Json(json!({ "code": code })))
}

async fn takeover(State(sim): State<Sim>, Body(req): Body<PageOnly>) -> Answer {
    sim.with(|w| w.takeover(req.page))?;
    Ok(Json(json!({ "ok": true })))
}

async fn logout(State(sim): State<Sim>, Body(req): Body<PageOnly>) -> Answer {
    let phone = sim.with(|w| w.page_account(req.page).map(|a| a.phone.clone()));
    let phone = phone.ok_or_else(|| SimError::Conflict("page is not logged in".to_owned()))?;
    let page = sim.with(|w| w.logout(&phone, REASON_PAGE))?;
    if let Some(page) = page {
        begin_attempt(&sim, page);
    }
    Ok(Json(json!({ "ok": true })))
}

/// The key id inside a serialized wa-js message id (`true_<chat>_<id>[_<author>]`).
fn key_of(id: &str) -> &str {
    match id.split('_').collect::<Vec<_>>().as_slice() {
        [_, _, key, ..] => key,
        _ => id,
    }
}

async fn media(State(sim): State<Sim>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let page = parse_page(&q)?;
    let id = q.get("id").map(String::as_str).unwrap_or_default();
    let (b64, mimetype) = sim.with(|w| {
        let phone = w
            .page_account(page)
            .map(|a| a.phone.clone())
            .ok_or_else(|| gone(page))?;
        w.media(&phone, key_of(id))
    })?;
    Ok(Json(json!({ "media_b64": b64, "mimetype": mimetype })))
}

async fn messages(State(sim): State<Sim>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let page = parse_page(&q)?;
    let chat = q.get("chat").cloned().unwrap_or_default();
    let count = q
        .get("count")
        .and_then(|c| c.parse::<i64>().ok())
        .unwrap_or(20);
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let list = sim.with(|w| {
        let phone = w
            .page_account(page)
            .map(|a| a.phone.clone())
            .ok_or_else(|| gone(page))?;
        Ok::<_, SimError>(w.history(&phone, &chat, count))
    })?;
    Ok(Json(json!(list)))
}

/// `POST /sim/page/read`.
#[derive(Debug, Deserialize)]
struct ReadRequest {
    page: u64,
    chat: String,
}

async fn read(State(sim): State<Sim>, Body(req): Body<ReadRequest>) -> Answer {
    sim.with(|w| {
        let phone = w.page_account(req.page).map(|a| a.phone.clone());
        let phone = phone.ok_or_else(|| gone(req.page))?;
        w.mark_read(&phone, &req.chat);
        Ok::<_, SimError>(())
    })?;
    Ok(Json(json!({ "wid": req.chat, "unreadCount": 0 })))
}

fn parse_page(q: &HashMap<String, String>) -> Result<u64, SimError> {
    q.get("page")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| SimError::BadRequest("missing page".to_owned()))
}
