//! Regressions of the outside QA pass on the control API and the page protocol.

use serde_json::{Value, json};

use super::{ANA, BIA, CAIO, attempt, net_with_phones, paired_page};
use crate::support::{Net, eventually};

/// Events queued for `page` (none acknowledged).
async fn page_events(net: &Net, page: u64) -> Vec<Value> {
    let (status, polled) = net
        .get(&format!("/sim/page/poll?page={page}&after=0"))
        .await;
    assert_eq!(status, 200, "{polled}");
    polled["events"].as_array().cloned().unwrap_or_default()
}

/// Waits until `page` has an event of `kind`, and returns its data.
async fn page_event(net: &Net, page: u64, kind: &str) -> Value {
    eventually(kind, 5, || async {
        let events = page_events(net, page).await;
        events
            .into_iter()
            .find(|e| e["kind"] == kind)
            .map(|e| e["data"].clone())
    })
    .await
}

/// The stored login (`{account, token}`) a linked page received.
async fn login_of(net: &Net, page: u64) -> Value {
    let linked = page_event(net, page, "linked").await;
    json!({ "account": linked["account"], "token": linked["token"] })
}

/// A new page load that presents `auth`; returns its id and whether it is logged in.
async fn reload(net: &Net, auth: Value) -> (u64, bool) {
    let attached = net.ok("/sim/page/attach", json!({ "auth": auth })).await;
    let page = attached["page"].as_u64().unwrap();
    (page, attached["logged_in"] == true)
}

async fn raw_request(net: &Net, method: reqwest::Method, path: &str) -> (u16, String, Value) {
    let res = net
        .http
        .request(method, net.url(path))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    (status, kind.unwrap_or_default(), json)
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json_errors() {
    let net = Net::start().await;
    let cases = [
        (reqwest::Method::GET, "/nope", 404),
        (reqwest::Method::POST, "/sim/nope", 404),
        (reqwest::Method::GET, "/sim/config", 405),
        (reqwest::Method::DELETE, "/sim/phones", 405),
        (reqwest::Method::POST, "/sim/health", 405),
        (reqwest::Method::GET, "/sim/page/poll", 400),
    ];
    for (method, path, want) in cases {
        let (status, kind, body) = raw_request(&net, method.clone(), path).await;
        assert_eq!(status, want, "{method} {path}");
        assert!(
            kind.starts_with("application/json"),
            "{method} {path}: {kind}"
        );
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {path}: {body}"
        );
    }
    net.shutdown().await;
}

#[tokio::test]
async fn multi_megabyte_media_is_accepted() {
    let net = net_with_phones().await;
    let media = "A".repeat(6 * 1024 * 1024);
    let msg = json!({
        "from": BIA, "to": ANA, "type": "document", "media_b64": media,
        "mimetype": "application/pdf", "filename": "big.pdf",
    });
    let sent = net.ok("/sim/messages", msg).await;
    let inbox = net.inbox(ANA).await;
    assert_eq!(inbox[0]["id"], sent["id"]);
    assert_eq!(inbox[0]["media_b64"].as_str().unwrap().len(), media.len());
    net.shutdown().await;
}

#[tokio::test]
async fn an_empty_id_is_a_random_one() {
    let net = net_with_phones().await;
    let sent = net
        .ok(
            "/sim/messages",
            json!({ "from": BIA, "to": ANA, "body": "x", "id": "" }),
        )
        .await;
    let id = sent["id"].as_str().unwrap();
    assert!(!id.is_empty());
    assert_eq!(net.inbox(ANA).await[0]["id"], id);
    net.shutdown().await;
}

#[tokio::test]
async fn group_members_that_are_no_phones_are_unknown() {
    let net = net_with_phones().await;
    for member in ["not-a-phone", "123@g.us", "42"] {
        let group = json!({ "members": [ANA, member] });
        let (status, error) = net.post("/sim/groups", group).await;
        assert_eq!(status, 404, "{member}: {error}");
        assert!(error["error"].is_string());
    }
    let (status, error) = net.post("/sim/groups", json!({ "members": ANA })).await;
    assert_eq!((status, error["error"].is_string()), (400, true));
    let (status, _) = net.post("/sim/groups", json!({ "name": "x" })).await;
    assert_eq!(status, 400);
    net.shutdown().await;
}

#[tokio::test]
async fn only_the_sender_edits_or_revokes() {
    let net = net_with_phones().await;
    let sent = net
        .ok(
            "/sim/messages",
            json!({ "from": ANA, "to": BIA, "body": "a" }),
        )
        .await;
    for from in [BIA, CAIO] {
        let edit = json!({ "from": from, "to": BIA, "id": sent["id"], "body": "forged" });
        let (status, error) = net.post("/sim/edits", edit).await;
        assert_eq!((status, error["error"].is_string()), (404, true), "{from}");
        let revoke = json!({ "from": from, "to": BIA, "id": sent["id"] });
        let (status, error) = net.post("/sim/revokes", revoke).await;
        assert_eq!((status, error["error"].is_string()), (404, true), "{from}");
    }
    let edit = json!({ "from": ANA, "to": BIA, "id": sent["id"], "body": "b" });
    assert_eq!(net.ok("/sim/edits", edit).await["id"], sent["id"]);
    let revoke = json!({ "from": ANA, "to": BIA, "id": sent["id"] });
    assert_eq!(net.ok("/sim/revokes", revoke).await["id"], sent["id"]);
    net.shutdown().await;
}

#[tokio::test]
async fn config_applies_to_attempts_started_afterwards() {
    let net = net_with_phones().await;
    let fast = json!({ "qr_first_ms": 300, "qr_next_ms": 200, "qr_count": 2 });
    net.ok("/sim/config", fast).await;
    net.ok("/sim/page/attach", json!({})).await;
    let slow = json!({ "qr_first_ms": 60000, "qr_next_ms": 60000, "qr_count": 10 });
    net.ok("/sim/config", slow).await;
    // With the new timings it would show a second code only after a minute.
    let running = eventually("the running attempt idle", 5, || async {
        let found = attempt(&net).await;
        (found["idle"] == true).then_some(found)
    })
    .await;
    assert_eq!(running["qr_seq"], 2);

    net.ok("/sim/page/attach", json!({})).await;
    let state = net.state().await;
    let fresh = state["attempts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let life = fresh["expires_ms"].as_u64().unwrap() - fresh["created_ms"].as_u64().unwrap();
    assert!(life >= 59_000, "{fresh}");
    net.shutdown().await;
}

#[tokio::test]
async fn pairing_code_expires_into_a_fresh_qr_and_a_new_code() {
    let net = net_with_phones().await;
    let config = net.ok("/sim/config", json!({ "pair_code_ms": 1500 })).await;
    assert_eq!(config["pair_code_ms"], 1500);
    let page = net.ok("/sim/page/attach", json!({})).await["page"]
        .as_u64()
        .unwrap();
    let ask = json!({ "page": page, "phone": ANA });
    let code = net.ok("/sim/page/pair_code", ask.clone()).await["code"].clone();
    assert_eq!(
        net.ok("/sim/page/pair_code", ask.clone()).await["code"],
        code
    );
    assert_eq!(page_event(&net, page, "pair_code").await["code"], code);
    assert!(net.state().await["attempts"].as_array().unwrap().is_empty());

    let fresh = eventually("a fresh attempt", 5, || async {
        let found = attempt(&net).await;
        found["qr"].is_string().then_some(found)
    })
    .await;
    assert_eq!(fresh["qr_seq"], 1);
    let expired = json!({ "phone": ANA, "code": code });
    assert_eq!(net.post("/sim/pair", expired).await.0, 409);
    let again = net.ok("/sim/page/pair_code", ask).await["code"].clone();
    assert_ne!(again, code);
    net.ok("/sim/pair", json!({ "phone": ANA, "code": again }))
        .await;
    assert_eq!(net.account(ANA).await["state"], "main");
    net.shutdown().await;
}

#[tokio::test]
async fn a_conflict_survives_a_reload_until_takeover() {
    let net = net_with_phones().await;
    let page = paired_page(&net, ANA).await;
    let auth = login_of(&net, page).await;
    net.ok(&format!("/sim/phones/{ANA}/conflict"), json!({}))
        .await;

    let (reloaded, logged_in) = reload(&net, auth).await;
    assert!(logged_in);
    let modes: Vec<Value> = page_events(&net, reloaded)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "mode")
        .map(|e| e["data"]["mode"].clone())
        .collect();
    assert_eq!(modes, [json!("CONFLICT")]);
    let account = net.account(ANA).await;
    assert_eq!(
        (account["state"].clone(), account["connected"].clone()),
        (json!("conflict"), json!(true))
    );

    net.ok("/sim/page/takeover", json!({ "page": reloaded }))
        .await;
    assert_eq!(net.account(ANA).await["state"], "main");
    net.shutdown().await;
}

#[tokio::test]
async fn a_logout_while_detached_reaches_the_next_page_load() {
    let net = net_with_phones().await;
    let page = paired_page(&net, ANA).await;
    let auth = login_of(&net, page).await;
    eventually("page detached", 10, || async {
        (net.account(ANA).await["connected"] == false).then_some(())
    })
    .await;
    net.ok(&format!("/sim/phones/{ANA}/logout"), json!({}))
        .await;

    let (reloaded, logged_in) = reload(&net, auth).await;
    assert!(!logged_in);
    let kinds: Vec<Value> = page_events(&net, reloaded)
        .await
        .into_iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("logout"), json!("qr")]);
    let logout = page_event(&net, reloaded, "logout").await;
    assert_eq!(logout["reason"], "unpaired");
    // A page with no stored login hears nothing of the kind.
    let (fresh, _) = reload(&net, Value::Null).await;
    assert!(
        page_events(&net, fresh)
            .await
            .iter()
            .all(|e| e["kind"] != "logout")
    );
    net.shutdown().await;
}

#[tokio::test]
async fn a_page_replaced_by_another_hears_logout_then_shows_a_qr() {
    let net = net_with_phones().await;
    let first = paired_page(&net, ANA).await;
    let second = paired_page(&net, ANA).await;
    let logout = page_event(&net, first, "logout").await;
    assert_eq!(logout["reason"], "replaced");
    let kinds: Vec<Value> = page_events(&net, first)
        .await
        .into_iter()
        .map(|e| e["kind"].clone())
        .skip_while(|k| k != "logout")
        .collect();
    assert_eq!(kinds, [json!("logout"), json!("qr")]);
    assert_eq!(net.state().await["attempts"].as_array().unwrap().len(), 1);
    let account = net.account(ANA).await;
    assert_eq!(
        (account["state"].clone(), account["connected"].clone()),
        (json!("main"), json!(true))
    );
    assert!(
        page_events(&net, second)
            .await
            .iter()
            .all(|e| e["kind"] != "logout")
    );
    net.shutdown().await;
}
