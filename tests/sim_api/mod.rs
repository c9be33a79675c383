//! The simulator's control API at the HTTP level: every route, its 200 and its
//! 404/409 paths. The page protocol stands in for a browser where one is needed.

use serde_json::{Value, json};

use crate::support::Net;
use crate::support::{ANA, BIA, CAIO, net_with_phones};

/// A page logged in as `phone` through a pairing code, without a browser.
async fn paired_page(net: &Net, phone: &str) -> u64 {
    let page = net.ok("/sim/page/attach", json!({})).await["page"]
        .as_u64()
        .unwrap();
    let code = net
        .ok(
            "/sim/page/pair_code",
            json!({ "page": page, "phone": phone }),
        )
        .await;
    let code = code["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);
    let dashed = format!("{}-{}", &code[..4], &code[4..]);
    let linked = net
        .ok("/sim/pair", json!({ "phone": phone, "code": dashed }))
        .await;
    assert_eq!(linked["account"], phone);
    page
}

#[tokio::test]
async fn health_config_and_phones() {
    let net = Net::start().await;
    assert_eq!(net.get("/sim/health").await, (200, json!({ "ok": true })));

    let config = net.ok("/sim/config", json!({ "qr_first_ms": 1000 })).await;
    assert_eq!(config["qr_first_ms"], 1000);
    assert_eq!(config["qr_next_ms"], 20000);
    assert_eq!(config["qr_count"], 6);
    assert!(config.get("latency_ms").is_some() && config.get("ack_delay_ms").is_some());

    let phone = net
        .ok("/sim/phones", json!({ "phone": ANA, "name": "Ana" }))
        .await;
    assert_eq!(phone["phone"], ANA);
    assert_eq!(phone["chat_id"], format!("{ANA}@c.us"));
    assert_eq!(phone["name"], "Ana");
    let lid = phone["lid"].as_str().unwrap().to_owned();
    assert!(lid.ends_with("@lid") && !lid.starts_with(ANA));
    for form in [format!("{ANA}@c.us"), format!("{ANA}@s.whatsapp.net")] {
        let again = net.ok("/sim/phones", json!({ "phone": form })).await;
        assert_eq!(again["lid"], lid.as_str());
        assert_eq!(again["name"], "Ana");
    }
    let (status, error) = net
        .post("/sim/phones", json!({ "phone": "not-a-phone" }))
        .await;
    assert_eq!(status, 400);
    assert!(error["error"].is_string());
    let (status, error) = net.post("/sim/phones", json!({})).await;
    assert_eq!((status, error["error"].is_string()), (400, true));

    let state = net.state().await;
    assert_eq!(state["phones"].as_array().unwrap().len(), 1);
    net.shutdown().await;
}

#[tokio::test]
async fn groups_and_their_404() {
    let net = net_with_phones().await;
    let group = net
        .ok(
            "/sim/groups",
            json!({ "name": "Loja", "members": [ANA, format!("{BIA}@c.us")] }),
        )
        .await;
    let id = group["id"].as_str().unwrap();
    assert!(id.ends_with("@g.us"));
    assert_eq!(group["members"], json!([ANA, BIA]));
    let fixed = net
        .ok("/sim/groups", json!({ "id": "123456", "members": [ANA] }))
        .await;
    assert_eq!(fixed["id"], "123456@g.us");
    let (status, error) = net
        .post("/sim/groups", json!({ "members": [ANA, "5599999999999"] }))
        .await;
    assert_eq!(status, 404);
    assert!(error["error"].as_str().unwrap().contains("5599999999999"));
    let state = net.state().await;
    assert_eq!(state["groups"].as_array().unwrap().len(), 2);
    net.shutdown().await;
}

#[tokio::test]
async fn messages_reach_inboxes() {
    let net = net_with_phones().await;
    let since = now_ms();
    let sent = net
        .ok(
            "/sim/messages",
            json!({ "from": BIA, "to": ANA, "body": "oi" }),
        )
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let inbox = net.inbox(ANA).await;
    assert_eq!(inbox.len(), 1);
    let entry = &inbox[0];
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["from"], format!("{BIA}@c.us"));
    assert_eq!(entry["type"], "chat");
    assert_eq!(entry["body"], "oi");
    assert!(entry["received_ms"].as_u64().unwrap() >= since);

    // The same id posted again is delivered again.
    let dup = json!({ "from": BIA, "to": format!("{ANA}@s.whatsapp.net"), "body": "oi", "id": id });
    assert_eq!(
        net.ok("/sim/messages", dup.clone()).await["id"],
        id.as_str()
    );
    assert_eq!(net.inbox(ANA).await.len(), 2);
    let (_, later) = net
        .get(&format!(
            "/sim/phones/{ANA}/inbox?since_ms={}",
            now_ms() + 60_000
        ))
        .await;
    assert_eq!(later, json!([]));

    // Media, quoted, explicit time.
    let media = json!({ "from": CAIO, "to": ANA, "type": "image", "caption": "foto",
        "media_b64": "aGVsbG8=", "mimetype": "image/png", "quoted_id": id, "t": 1700000000 });
    net.ok("/sim/messages", media).await;
    let last = net.inbox(ANA).await.pop().unwrap();
    assert_eq!(
        (last["type"].clone(), last["caption"].clone()),
        (json!("image"), json!("foto"))
    );
    assert_eq!(last["media_b64"], "aGVsbG8=");
    assert_eq!(last["quoted_id"], id.as_str());
    assert_eq!(last["t"], 1700000000);

    // A group message lands in every other member's inbox.
    let group = net
        .ok("/sim/groups", json!({ "members": [ANA, BIA, CAIO] }))
        .await;
    let gid = group["id"].as_str().unwrap();
    net.ok(
        "/sim/messages",
        json!({ "from": BIA, "group": gid, "body": "todos" }),
    )
    .await;
    assert_eq!(net.inbox(CAIO).await.pop().unwrap()["group"], gid);
    assert_eq!(net.inbox(ANA).await.pop().unwrap()["body"], "todos");
    assert!(net.inbox(BIA).await.iter().all(|m| m["body"] != "todos"));
    net.shutdown().await;
}

#[tokio::test]
async fn message_routes_404() {
    let net = net_with_phones().await;
    let cases = [
        json!({ "from": "5500000000000", "to": ANA, "body": "x" }),
        json!({ "from": ANA, "to": "5500000000000", "body": "x" }),
        json!({ "from": ANA, "group": "999@g.us", "body": "x" }),
    ];
    for case in cases {
        let (status, error) = net.post("/sim/messages", case.clone()).await;
        assert_eq!(status, 404, "{case}");
        assert!(error["error"].is_string());
    }
    let (status, _) = net
        .post(
            "/sim/edits",
            json!({ "from": ANA, "to": BIA, "id": "nope", "body": "b" }),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = net
        .post(
            "/sim/revokes",
            json!({ "from": ANA, "to": BIA, "id": "nope" }),
        )
        .await;
    assert_eq!(status, 404);
    let sent = net
        .ok(
            "/sim/messages",
            json!({ "from": ANA, "to": BIA, "body": "a" }),
        )
        .await;
    let edit = json!({ "from": ANA, "to": BIA, "id": sent["id"], "body": "b" });
    assert_eq!(net.ok("/sim/edits", edit).await["id"], sent["id"]);
    let revoke = json!({ "from": ANA, "to": BIA, "id": sent["id"] });
    assert_eq!(net.ok("/sim/revokes", revoke).await["id"], sent["id"]);
    let (status, _) = net.get("/sim/phones/5500000000000/inbox").await;
    assert_eq!(status, 404);
    net.shutdown().await;
}

#[tokio::test]
async fn account_routes_404_when_not_linked() {
    let net = net_with_phones().await;
    assert_eq!(
        net.post(&format!("/sim/phones/{ANA}/logout"), json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        net.post(&format!("/sim/phones/{ANA}/conflict"), json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        net.post("/sim/phones/5500000000000/logout", json!({}))
            .await
            .0,
        404
    );
    let raw = json!({ "to": ANA, "event": "conn.needs_update", "payload": null });
    assert_eq!(net.post("/sim/raw", raw).await.0, 404);
    let faults = json!({ "account": ANA, "send_error": "timeout" });
    assert_eq!(net.post("/sim/faults", faults).await.0, 404);
    let scan = json!({ "phone": "5500000000000", "code": "2@x,y,z,w" });
    assert_eq!(net.post("/sim/scan", scan).await.0, 404);
    let scan = json!({ "phone": ANA, "code": "2@x,y,z,w" });
    assert_eq!(net.post("/sim/scan", scan).await.0, 409);
    let pair = json!({ "phone": "5500000000000", "code": "ABCD-EFGH" });
    assert_eq!(net.post("/sim/pair", pair).await.0, 404);
    let pair = json!({ "phone": ANA, "code": "ABCD-EFGH" });
    assert_eq!(net.post("/sim/pair", pair).await.0, 409);
    net.shutdown().await;
}

#[tokio::test]
async fn attempts_rotate_and_go_idle() {
    let net = net_with_phones().await;
    net.ok(
        "/sim/config",
        json!({ "qr_first_ms": 300, "qr_next_ms": 200, "qr_count": 3 }),
    )
    .await;
    net.ok("/sim/page/attach", json!({})).await;
    let first = attempt(&net).await;
    let code = first["qr"].as_str().unwrap().to_owned();
    assert!(code.starts_with("2@") && code.split(',').count() == 4);
    assert_eq!(first["qr_seq"], 1);
    assert_eq!(first["idle"], false);
    assert!(first["expires_ms"].as_u64().unwrap() > first["created_ms"].as_u64().unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let second = attempt(&net).await;
    assert_eq!(second["qr_seq"], 2);
    assert_ne!(second["qr"], code.as_str());
    // The replaced code no longer links.
    assert_eq!(
        net.post("/sim/scan", json!({ "phone": ANA, "code": code }))
            .await
            .0,
        409
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let idle = attempt(&net).await;
    assert_eq!(
        (idle["idle"].clone(), idle["qr"].clone()),
        (json!(true), Value::Null)
    );
    net.shutdown().await;
}

async fn attempt(net: &Net) -> Value {
    net.state().await["attempts"][0].clone()
}

#[tokio::test]
async fn pairing_logout_conflict_faults_and_queue() {
    let net = net_with_phones().await;
    paired_page(&net, ANA).await;
    let account = net.account(ANA).await;
    assert_eq!(account["state"], "main");
    assert_eq!(account["account"], ANA);
    assert_eq!(account["connected"], true);

    let faults =
        json!({ "account": ANA, "send_error": "rate-overlimit", "after_n": 1, "media": "decrypt" });
    let set = net.ok("/sim/faults", faults).await;
    assert_eq!(set["send_error"], "rate-overlimit");
    assert_eq!(set["after_n"], 1);
    assert_eq!(set["media"], "decrypt");
    let cleared = net
        .ok("/sim/faults", json!({ "account": ANA, "media": null }))
        .await;
    assert_eq!(
        (cleared["media"].clone(), cleared["send_error"].clone()),
        (Value::Null, json!("rate-overlimit"))
    );
    assert_eq!(
        net.post("/sim/faults", json!({ "account": ANA, "media": "boom" }))
            .await
            .0,
        400
    );

    let raw = json!({ "to": ANA, "event": "conn.needs_update", "payload": null });
    net.ok("/sim/raw", raw).await;
    net.ok(&format!("/sim/phones/{ANA}@c.us/conflict"), json!({}))
        .await;
    assert_eq!(net.account(ANA).await["state"], "conflict");
    net.ok(
        "/sim/messages",
        json!({ "from": BIA, "to": ANA, "body": "while in conflict" }),
    )
    .await;
    assert_eq!(net.account(ANA).await["queued"], 1);

    net.ok(&format!("/sim/phones/{ANA}/logout"), json!({}))
        .await;
    let account = net.account(ANA).await;
    assert_eq!(
        (account["state"].clone(), account["queued"].clone()),
        (json!("logged_out"), json!(0))
    );
    assert_eq!(
        net.post(&format!("/sim/phones/{ANA}/logout"), json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        net.post(&format!("/sim/phones/{ANA}/conflict"), json!({}))
            .await
            .0,
        404
    );
    net.shutdown().await;
}

#[tokio::test]
async fn bad_json_is_answered_as_error() {
    let net = Net::start().await;
    let res = net
        .http
        .post(net.url("/sim/messages"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].is_string());
    net.shutdown().await;
}

#[tokio::test]
async fn page_and_engine_are_served() {
    let net = Net::start().await;
    let engine = net
        .http
        .get(net.url("/sim/engine.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(engine.status().as_u16(), 200);
    assert_eq!(engine.text().await.unwrap(), orbitbot::sim::engine_js());
    let a = net.http.get(net.url("/")).send().await.unwrap();
    let csp_a = a.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = a.text().await.unwrap();
    let b = net.http.get(net.url("/")).send().await.unwrap();
    let csp_b = b.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp_a.contains("script-src 'nonce-"));
    assert_ne!(csp_a, csp_b, "a fresh nonce per response");
    let nonce = csp_a
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(html.contains(&format!("<script nonce=\"{nonce}\">")));
    assert!(html.contains("data-ref"));
    net.shutdown().await;
}

fn now_ms() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(d.as_millis()).unwrap()
}

#[tokio::test]
async fn cli_prints_the_bound_address_and_needs_no_config() {
    use std::io::BufRead;

    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orbitbot"))
        .args(["simulator", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    })
    .await
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{line}"
    );
    let health: Value = reqwest::get(format!("http://{addr}/sim/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(health, json!({ "ok": true }));
}

#[tokio::test]
async fn page_sends_are_acked_up_to_read() {
    let net = net_with_phones().await;
    net.ok("/sim/config", json!({ "ack_delay_ms": 5000 })).await;
    let ana = paired_page(&net, ANA).await;
    let bia = paired_page(&net, BIA).await;
    let send = json!({ "page": ana, "to": format!("{BIA}@c.us"), "body": "oi", "id": "R1" });
    let model = net.ok("/sim/page/send", send).await;
    assert_eq!(model["id"]["_serialized"], format!("true_{BIA}@c.us_R1"));
    let read = json!({ "page": bia, "chat": format!("{ANA}@c.us") });
    net.ok("/sim/page/read", read.clone()).await;
    net.ok("/sim/page/read", read).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (_, polled) = net.get(&format!("/sim/page/poll?page={ana}&after=0")).await;
    let acks: Vec<u64> = polled["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ack")
        .map(|e| e["data"]["ack"].as_u64().unwrap())
        .collect();
    assert_eq!(acks, [1, 3], "read before the delivery ack was due");
    net.shutdown().await;
}

mod qa;
