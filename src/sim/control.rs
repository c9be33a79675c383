//! The control API (`/sim/...`) that tests and the demo drive; its routes, fields and
//! status codes are the contract of SIMULATOR.md.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::address::{chat_id, group_id, lid_of, phone_digits};
use super::error::SimError;
use super::extract::Body;
use super::linking::{REASON_PHONE, begin_attempt};
use super::message::{NetMsg, key_or_new, message_kind};
use super::world::{Faults, Group, Phone, Sim, World, now_ms};

/// Answers of the control API.
type Answer = Result<Json<Value>, SimError>;

/// The control routes.
pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/sim/health", get(health))
        .route("/sim/config", post(config))
        .route("/sim/phones", post(add_phone))
        .route("/sim/groups", post(add_group))
        .route("/sim/scan", post(scan))
        .route("/sim/pair", post(pair))
        .route("/sim/messages", post(send_message))
        .route("/sim/edits", post(edit))
        .route("/sim/revokes", post(revoke))
        .route("/sim/faults", post(faults))
        .route("/sim/raw", post(raw))
        .route("/sim/phones/{phone}/logout", post(logout))
        .route("/sim/phones/{phone}/conflict", post(conflict))
        .route("/sim/phones/{phone}/inbox", get(inbox))
        .route("/sim/state", get(state))
}

async fn health() -> Json<Value> {
    Json(json!({ "ok": true }))
}

/// `POST /sim/config`: any subset of the timings.
#[derive(Debug, Deserialize)]
struct ConfigPatch {
    qr_first_ms: Option<u64>,
    qr_next_ms: Option<u64>,
    qr_count: Option<u32>,
    latency_ms: Option<u64>,
    ack_delay_ms: Option<u64>,
    pair_code_ms: Option<u64>,
}

async fn config(State(sim): State<Sim>, Body(patch): Body<ConfigPatch>) -> Answer {
    let config = sim.with(|w| {
        let c = &mut w.config;
        c.qr_first_ms = patch.qr_first_ms.unwrap_or(c.qr_first_ms);
        c.qr_next_ms = patch.qr_next_ms.unwrap_or(c.qr_next_ms);
        c.qr_count = patch.qr_count.unwrap_or(c.qr_count);
        c.latency_ms = patch.latency_ms.unwrap_or(c.latency_ms);
        c.ack_delay_ms = patch.ack_delay_ms.unwrap_or(c.ack_delay_ms);
        c.pair_code_ms = patch.pair_code_ms.unwrap_or(c.pair_code_ms);
        c.clone()
    });
    Ok(Json(json!(config)))
}

/// `POST /sim/phones`.
#[derive(Debug, Deserialize)]
struct NewPhone {
    phone: String,
    name: Option<String>,
}

async fn add_phone(State(sim): State<Sim>, Body(req): Body<NewPhone>) -> Answer {
    let digits = phone_digits(&req.phone)
        .ok_or_else(|| SimError::BadRequest(format!("not a phone number: {}", req.phone)))?;
    let phone = sim.with(|w| {
        let entry = w.phones.entry(digits.clone()).or_insert_with(|| Phone {
            chat_id: chat_id(&digits),
            lid: lid_of(&digits),
            phone: digits.clone(),
            name: None,
        });
        if req.name.is_some() {
            entry.name = req.name;
        }
        entry.clone()
    });
    Ok(Json(json!(phone)))
}

/// `POST /sim/groups`.
#[derive(Debug, Deserialize)]
struct NewGroup {
    id: Option<String>,
    name: Option<String>,
    members: Vec<String>,
}

async fn add_group(State(sim): State<Sim>, Body(req): Body<NewGroup>) -> Answer {
    let id = match &req.id {
        Some(id) => {
            group_id(id).ok_or_else(|| SimError::BadRequest(format!("bad group id: {id}")))?
        }
        None => format!("120363{:012}@g.us", fastrand::u64(..1_000_000_000_000)),
    };
    let group = sim.with(|w| {
        let members = req
            .members
            .iter()
            .map(|m| known_member(w, m))
            .collect::<Result<Vec<_>, _>>()?;
        let group = Group {
            id: id.clone(),
            name: req.name,
            members,
        };
        w.groups.insert(id, group.clone());
        Ok::<_, SimError>(group)
    })?;
    Ok(Json(json!(group)))
}

/// A group member: any phone form of a known phone; anything else is unknown (404).
fn known_member(w: &World, member: &str) -> Result<String, SimError> {
    w.known_phone(member)
        .map_err(|_| SimError::missing("member", member))
}

/// `POST /sim/scan` and `POST /sim/pair`.
#[derive(Debug, Deserialize)]
struct LinkRequest {
    phone: String,
    code: String,
}

async fn scan(State(sim): State<Sim>, Body(req): Body<LinkRequest>) -> Answer {
    let linked = sim.with(|w| {
        let phone = w.known_phone(&req.phone)?;
        let replaced = w.scan(&phone, req.code.trim())?;
        Ok::<_, SimError>((phone, replaced))
    })?;
    linked_answer(&sim, linked)
}

async fn pair(State(sim): State<Sim>, Body(req): Body<LinkRequest>) -> Answer {
    let linked = sim.with(|w| {
        let phone = w.known_phone(&req.phone)?;
        let replaced = w.pair(&phone, req.code.trim())?;
        Ok::<_, SimError>((phone, replaced))
    })?;
    linked_answer(&sim, linked)
}

/// The answer of a new login; the page it replaced, if any, gets a new attempt.
fn linked_answer(sim: &Sim, (phone, replaced): (String, Option<u64>)) -> Answer {
    if let Some(page) = replaced {
        begin_attempt(sim, page);
    }
    Ok(Json(json!({ "account": phone, "phone": phone })))
}

/// `POST /sim/messages`.
#[derive(Debug, Deserialize)]
struct NewMessage {
    from: String,
    to: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    body: Option<String>,
    caption: Option<String>,
    media_b64: Option<String>,
    mimetype: Option<String>,
    filename: Option<String>,
    duration_s: Option<u64>,
    group: Option<String>,
    #[serde(default)]
    as_lid: bool,
    id: Option<String>,
    t: Option<i64>,
    quoted_id: Option<String>,
    #[serde(default)]
    mentions: Vec<String>,
}

async fn send_message(State(sim): State<Sim>, Body(req): Body<NewMessage>) -> Answer {
    let latency = sim.with(|w| w.config.latency_ms);
    let msg = sim.with(|w| build_message(w, req))?;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let key = msg.key.clone();
    sim.with(|w| w.route(msg));
    Ok(Json(json!({ "id": key })))
}

/// Checks the addresses of a posted message and builds it.
fn build_message(w: &World, req: NewMessage) -> Result<NetMsg, SimError> {
    let sender = w.known_phone(&req.from)?;
    let (to, group) = match &req.group {
        Some(group) => {
            let id = w.known_group(group)?;
            let member = w
                .groups
                .get(&id)
                .is_some_and(|g| g.members.contains(&sender));
            if !member {
                return Err(SimError::NotFound(format!("{sender} is not in group {id}")));
            }
            (id.clone(), Some(id))
        }
        None => {
            let to = req
                .to
                .as_deref()
                .ok_or_else(|| SimError::BadRequest("missing to".into()))?;
            (w.known_phone(to)?, None)
        }
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
        as_lid: req.as_lid,
        t: req
            .t
            .unwrap_or_else(|| i64::try_from(now_ms() / 1000).unwrap_or_default()),
        quoted_id: req.quoted_id,
        mentions: req.mentions,
    })
}

/// `POST /sim/edits` and `POST /sim/revokes`.
#[derive(Debug, Deserialize)]
struct Change {
    from: String,
    #[allow(dead_code)]
    to: Option<String>,
    id: String,
    body: Option<String>,
}

async fn edit(State(sim): State<Sim>, Body(req): Body<Change>) -> Answer {
    sim.with(|w| {
        let sender = w.known_phone(&req.from)?;
        w.edit(&sender, &req.id, req.body.as_deref().unwrap_or_default())?;
        Ok(Json(json!({ "id": req.id })))
    })
}

async fn revoke(State(sim): State<Sim>, Body(req): Body<Change>) -> Answer {
    sim.with(|w| {
        let sender = w.known_phone(&req.from)?;
        w.revoke(&sender, &req.id)?;
        Ok(Json(json!({ "id": req.id })))
    })
}

/// `POST /sim/faults`: absent fields stay, `null` clears.
#[derive(Debug, Deserialize)]
struct FaultRequest {
    account: String,
    #[serde(default, deserialize_with = "present")]
    send_error: Option<Option<String>>,
    after_n: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    media: Option<Option<String>>,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn faults(State(sim): State<Sim>, Body(req): Body<FaultRequest>) -> Answer {
    check_fault(req.send_error.as_ref(), &["rate-overlimit", "timeout"])?;
    check_fault(req.media.as_ref(), &["decrypt", "expired"])?;
    sim.with(|w| {
        let phone = w.known_phone(&req.account)?;
        let account = w
            .accounts
            .get_mut(&phone)
            .ok_or_else(|| SimError::missing("account", &req.account))?;
        apply_faults(&mut account.faults, req);
        let f = &account.faults;
        let answer = json!({
            "account": phone, "send_error": f.send_error, "after_n": f.after_n, "media": f.media,
        });
        Ok(Json(answer))
    })
}

fn check_fault(value: Option<&Option<String>>, allowed: &[&str]) -> Result<(), SimError> {
    match value {
        Some(Some(v)) if !allowed.contains(&v.as_str()) => Err(SimError::BadRequest(format!(
            "unknown fault {v}; expected one of {allowed:?} or null"
        ))),
        _ => Ok(()),
    }
}

fn apply_faults(faults: &mut Faults, req: FaultRequest) {
    if let Some(send_error) = req.send_error {
        faults.send_error = send_error;
        faults.after_n = req.after_n.unwrap_or(0);
    } else if let Some(after_n) = req.after_n {
        faults.after_n = after_n;
    }
    if let Some(media) = req.media {
        faults.media = media;
    }
}

/// `POST /sim/raw`.
#[derive(Debug, Deserialize)]
struct RawEvent {
    to: String,
    event: String,
    #[serde(default)]
    payload: Value,
}

async fn raw(State(sim): State<Sim>, Body(req): Body<RawEvent>) -> Answer {
    sim.with(|w| {
        let phone = w.known_phone(&req.to)?;
        let page = w
            .accounts
            .get(&phone)
            .and_then(|a| a.page)
            .ok_or_else(|| SimError::NotFound(format!("no page attached for {phone}")))?;
        w.push(
            page,
            "raw",
            json!({ "event": req.event, "payload": req.payload }),
        );
        Ok(Json(json!({ "ok": true })))
    })
}

async fn logout(State(sim): State<Sim>, Path(phone): Path<String>) -> Answer {
    let page = sim.with(|w| {
        let phone = w.known_phone(&phone)?;
        w.logout(&phone, REASON_PHONE)
    })?;
    if let Some(page) = page {
        begin_attempt(&sim, page);
    }
    Ok(Json(json!({ "ok": true })))
}

async fn conflict(State(sim): State<Sim>, Path(phone): Path<String>) -> Answer {
    sim.with(|w| {
        let phone = w.known_phone(&phone)?;
        w.conflict(&phone)?;
        Ok(Json(json!({ "ok": true })))
    })
}

async fn inbox(
    State(sim): State<Sim>,
    Path(phone): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let since: u64 = match query.get("since_ms") {
        Some(v) => v
            .parse()
            .map_err(|_| SimError::BadRequest(format!("bad since_ms: {v}")))?,
        None => 0,
    };
    sim.with(|w| {
        let phone = w.known_phone(&phone)?;
        let entries: Vec<_> = w
            .inboxes
            .get(&phone)
            .map(|list| list.iter().filter(|e| e.received_ms >= since).collect())
            .unwrap_or_default();
        Ok(Json(json!(entries)))
    })
}

async fn state(State(sim): State<Sim>) -> Json<Value> {
    Json(sim.with(|w| state_of(w)))
}

/// The whole world as `GET /sim/state` shows it.
fn state_of(w: &World) -> Value {
    let accounts: Vec<Value> = w
        .accounts
        .values()
        .map(|a| {
            json!({
                "account": a.phone, "phone": a.phone, "state": a.state,
                "connected": a.page.is_some(), "page_loads": a.page_loads,
                "queued": a.pending.len(),
            })
        })
        .collect();
    let groups: Vec<Value> = w
        .groups
        .values()
        .map(|g| json!({ "id": g.id, "name": g.name, "members": g.members }))
        .collect();
    json!({
        "phones": w.phones.values().collect::<Vec<_>>(),
        "groups": groups,
        "accounts": accounts,
        "attempts": w.attempts.values().collect::<Vec<_>>(),
        "config": w.config,
    })
}
