//! The simulator on real Chromium, with the fake engine injected through the bridge.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    ANA, BIA, CAIO, Net, Page, browser_slot, eventually, net_with_phones, processes_with,
};

/// A 1x1 PNG.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

#[tokio::test]
async fn qr_rotates_goes_idle_and_scan_links() {
    let _slot = browser_slot().await;
    let net = net_with_phones().await;
    let config = json!({ "qr_first_ms": 1200, "qr_next_ms": 700, "qr_count": 3 });
    net.ok("/sim/config", config).await;
    let profile = tempfile::tempdir().unwrap();
    let page = Page::open(&net, profile.path()).await;

    // The QR in data-ref is the engine's auth code and the attempt's current code.
    let first = page
        .wait(
            "document.querySelector('[data-ref]').getAttribute('data-ref')",
            10,
        )
        .await;
    let auth = page.js("return WPP.conn.getAuthCode()").await;
    assert_eq!(auth["fullCode"], first);
    assert!(auth["ref"].as_str().unwrap().starts_with("2@"));
    assert_eq!(net.state().await["attempts"][0]["qr"], first);
    assert_eq!(page.js("return WPP.conn.getStreamData().mode").await, "QR");
    assert_eq!(page.js("return WPP.conn.isAuthenticated()").await, false);

    // It rotates, then goes idle.
    page.wait(
        "window.__events.some(e => e.name === 'conn.qrcode_idle')",
        10,
    )
    .await;
    let codes: Vec<Value> = page.events("conn.auth_code_change").await;
    let full: Vec<&str> = codes
        .iter()
        .filter_map(|c| c["fullCode"].as_str())
        .collect();
    assert_eq!(full.len(), 3, "{codes:?}");
    assert_eq!(full[0], first);
    assert!(full[0] != full[1] && full[1] != full[2]);
    assert_eq!(page.data_ref().await, "");
    assert_eq!(net.state().await["attempts"][0]["idle"], true);
    let stale = json!({ "phone": ANA, "code": full[2] });
    assert_eq!(net.post("/sim/scan", stale).await.0, 409);

    // refreshQR() starts a new attempt; scanning it links and reaches MAIN.
    net.ok("/sim/config", json!({ "qr_first_ms": 60000 })).await;
    let fresh = page.js("return WPP.conn.refreshQR()").await;
    let code = fresh["fullCode"].as_str().unwrap().to_owned();
    assert_eq!(page.data_ref().await, code);
    net.ok("/sim/scan", json!({ "phone": ANA, "code": code }))
        .await;
    page.wait_main().await;
    assert_eq!(page.events("conn.authenticated").await.len(), 1);
    let modes = page.events("conn.stream_mode_changed").await;
    assert_eq!(modes.last().unwrap(), "MAIN");
    let me = page.js("return WPP.conn.getMyUserId()._serialized").await;
    assert_eq!(me, format!("{ANA}@c.us"));
    let lid = page.js("return WPP.conn.getMyUserLid()._serialized").await;
    assert!(lid.as_str().unwrap().ends_with("@lid"));
    assert_eq!(page.js("return WPP.conn.getAuthCode()").await, Value::Null);
    let account = net.account(ANA).await;
    assert_eq!(
        (account["state"].clone(), account["connected"].clone()),
        (json!("main"), json!(true))
    );
    assert!(net.state().await["attempts"].as_array().unwrap().is_empty());

    // Scripts that do not carry the nonce are blocked by the CSP.
    let blocked = page
        .js(
            "const s = document.createElement('script'); s.textContent = 'window.__injected = 1'; \
             document.body.appendChild(s); \
             await new Promise(r => setTimeout(r, 100)); return window.__injected === undefined",
        )
        .await;
    assert_eq!(blocked, true);
    page.close().await;
    net.shutdown().await;
}

#[tokio::test]
async fn messages_flow_both_ways() {
    let _slot = browser_slot().await;
    let net = net_with_phones().await;
    let profile = tempfile::tempdir().unwrap();
    let page = Page::open(&net, profile.path()).await;
    page.link(&net, ANA).await;

    // Text.
    let sent = net
        .ok(
            "/sim/messages",
            json!({ "from": BIA, "to": ANA, "body": "oi", "id": "TXT1" }),
        )
        .await;
    assert_eq!(sent["id"], "TXT1");
    let msg = page.message("TXT1").await;
    assert_eq!(msg["body"], "oi");
    assert_eq!(msg["type"], "chat");
    assert_eq!(msg["from"]["_serialized"], format!("{BIA}@c.us"));
    assert_eq!(msg["to"]["_serialized"], format!("{ANA}@c.us"));
    assert_eq!(msg["id"]["fromMe"], false);
    assert_eq!(msg["id"]["_serialized"], format!("false_{BIA}@c.us_TXT1"));
    assert_eq!(msg["isNewMsg"], true);
    assert_eq!(msg["isGroupMsg"], false);
    assert_eq!(msg["notifyName"], "Bia");
    assert!(msg["t"].as_i64().unwrap() > 1_600_000_000);

    // Media with caption, and its download.
    let image = json!({ "from": BIA, "to": ANA, "type": "image", "caption": "foto", "id": "IMG1",
        "media_b64": PNG_B64, "mimetype": "image/png", "filename": "a.png" });
    net.ok("/sim/messages", image).await;
    let msg = page.message("IMG1").await;
    assert_eq!(
        (msg["type"].clone(), msg["caption"].clone()),
        (json!("image"), json!("foto"))
    );
    assert_eq!(msg["mimetype"], "image/png");
    assert!(msg["size"].as_u64().unwrap() > 0);
    let data_url = page
        .js("const b = await WPP.chat.downloadMedia('IMG1'); return WPP.util.blobToBase64(b)")
        .await;
    assert_eq!(data_url, format!("data:image/png;base64,{PNG_B64}"));

    // Group message with author; LID sender with senderPn.
    let group = net
        .ok("/sim/groups", json!({ "members": [ANA, BIA, CAIO] }))
        .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    net.ok(
        "/sim/messages",
        json!({ "from": CAIO, "group": gid, "body": "g", "id": "GRP1" }),
    )
    .await;
    let msg = page.message("GRP1").await;
    assert_eq!(msg["from"]["_serialized"], gid.as_str());
    assert_eq!(msg["author"]["_serialized"], format!("{CAIO}@c.us"));
    assert_eq!(msg["isGroupMsg"], true);
    let lid_msg = json!({ "from": CAIO, "to": ANA, "body": "lid", "as_lid": true, "id": "LID1" });
    net.ok("/sim/messages", lid_msg).await;
    let msg = page.message("LID1").await;
    assert!(
        msg["from"]["_serialized"]
            .as_str()
            .unwrap()
            .ends_with("@lid")
    );
    assert_eq!(msg["senderPn"], format!("{CAIO}@c.us"));
    assert_eq!(msg["id"]["id"], "LID1");

    // Quotes and mentions.
    let reply = json!({ "from": BIA, "to": ANA, "body": "re", "id": "QUO1", "quoted_id": "TXT1",
        "mentions": [format!("{ANA}@c.us")] });
    net.ok("/sim/messages", reply).await;
    let msg = page.message("QUO1").await;
    assert_eq!(msg["quotedMsgId"]["id"], "TXT1");
    assert_eq!(msg["quotedStanzaID"], "TXT1");
    assert_eq!(
        msg["mentionedJidList"][0]["_serialized"],
        format!("{ANA}@c.us")
    );

    // A page send lands in the inbox and echoes back with fromMe, then acks.
    let ret = page
        .js(&format!(
            "return WPP.chat.sendTextMessage('{BIA}@c.us', 'ola', {{ messageId: 'OUT1' }})"
        ))
        .await;
    assert_eq!(ret["id"], format!("true_{BIA}@c.us_OUT1"));
    let inbox = net.inbox(BIA).await;
    let out = inbox.iter().find(|m| m["id"] == "OUT1").unwrap();
    assert_eq!(
        (out["body"].clone(), out["from"].clone()),
        (json!("ola"), json!(format!("{ANA}@c.us")))
    );
    let echo = page.message("OUT1").await;
    assert_eq!(echo["id"]["fromMe"], true);
    page.wait(
        "window.__events.some(e => e.name === 'chat.msg_ack_change' && e.payload.ack >= 2)",
        5,
    )
    .await;

    // A file send carries its media to the inbox.
    page.js(&format!(
        "return WPP.chat.sendFileMessage('{BIA}@c.us', 'data:image/png;base64,{PNG_B64}', \
         {{ type: 'image', caption: 'c', messageId: 'OUT2' }})"
    ))
    .await;
    let inbox = net.inbox(BIA).await;
    let out = inbox.iter().find(|m| m["id"] == "OUT2").unwrap();
    assert_eq!(
        (out["media_b64"].clone(), out["caption"].clone()),
        (json!(PNG_B64), json!("c"))
    );

    // Injected send error: exactly one send fails, after one success.
    net.ok(
        "/sim/faults",
        json!({ "account": ANA, "send_error": "rate-overlimit", "after_n": 1 }),
    )
    .await;
    let send = format!(
        "return WPP.chat.sendTextMessage('{BIA}@c.us', 'x').then(() => 'ok', e => e.message)"
    );
    assert_eq!(page.js(&send).await, "ok");
    assert_eq!(page.js(&send).await, "rate-overlimit");
    assert_eq!(page.js(&send).await, "ok");

    // Media faults.
    net.ok("/sim/faults", json!({ "account": ANA, "media": "expired" }))
        .await;
    let download = "return WPP.chat.downloadMedia('IMG1').then(() => 'ok', e => e.message)";
    assert!(
        page.js(download)
            .await
            .as_str()
            .unwrap()
            .contains("expired")
    );
    net.ok("/sim/faults", json!({ "account": ANA, "media": null }))
        .await;
    assert_eq!(page.js(download).await, "ok");

    // Phone-typed messages of the account echo with fromMe; note-to-self too.
    net.ok(
        "/sim/messages",
        json!({ "from": ANA, "to": BIA, "body": "do celular", "id": "PH1" }),
    )
    .await;
    assert_eq!(page.message("PH1").await["id"]["fromMe"], true);
    net.ok(
        "/sim/messages",
        json!({ "from": ANA, "to": ANA, "body": "!pausar", "id": "SELF1" }),
    )
    .await;
    let note = page.message("SELF1").await;
    assert_eq!(note["id"]["fromMe"], true);
    assert_eq!(note["to"]["_serialized"], format!("{ANA}@c.us"));

    // Edits, revokes, raw events, history.
    net.ok(
        "/sim/edits",
        json!({ "from": BIA, "to": ANA, "id": "TXT1", "body": "oi!" }),
    )
    .await;
    let edited = page
        .wait("window.__events.find(e => e.name === 'chat.msg_edited')", 5)
        .await;
    assert_eq!(edited["payload"]["msg"]["body"], "oi!");
    net.ok(
        "/sim/revokes",
        json!({ "from": BIA, "to": ANA, "id": "TXT1" }),
    )
    .await;
    let revoked = page
        .wait("window.__events.find(e => e.name === 'chat.msg_revoke')", 5)
        .await;
    assert_eq!(revoked["payload"]["refId"]["id"], "TXT1");
    let raw = json!({ "to": ANA, "event": "chat.new_message", "payload": {
        "id": { "id": "STATUS1", "fromMe": false, "remote": "status@broadcast",
                "_serialized": "false_status@broadcast_STATUS1" },
        "from": "status@broadcast", "type": "image", "isNewMsg": true } });
    net.ok("/sim/raw", raw).await;
    let status = page.message("STATUS1").await;
    assert_eq!(status["from"]["_serialized"], "status@broadcast");
    let history = page
        .js(&format!(
            "return WPP.chat.getMessages('{BIA}@c.us', {{ count: 50 }})"
        ))
        .await;
    let ids: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"]["id"].as_str())
        .collect();
    assert!(ids.contains(&"OUT1") && ids.contains(&"PH1"), "{ids:?}");

    let read = page
        .js(&format!("return WPP.chat.markIsRead('{BIA}@c.us')"))
        .await;
    assert_eq!(read["unreadCount"], 0);

    // Conflict until takeover.
    net.ok(&format!("/sim/phones/{ANA}/conflict"), json!({}))
        .await;
    page.wait("WPP.conn.getStreamData().mode === 'CONFLICT'", 5)
        .await;
    assert_eq!(net.account(ANA).await["state"], "conflict");
    page.js("return WPP.whatsapp.Socket.takeover()").await;
    page.wait_main().await;
    assert_eq!(net.account(ANA).await["state"], "main");
    page.close().await;
    net.shutdown().await;
}

#[tokio::test]
async fn restart_keeps_login_queues_and_logout_shows_qr() {
    let _slot = browser_slot().await;
    let net = net_with_phones().await;
    let profile = tempfile::tempdir().unwrap();
    let page = Page::open(&net, profile.path()).await;
    page.link(&net, ANA).await;
    let pgid = page.browser.pgid();
    page.close().await;
    assert_no_group(pgid);
    assert!(processes_with(&profile.path().display().to_string()).is_empty());

    // While the browser is down, messages queue.
    eventually("page detached", 10, || async {
        (net.account(ANA).await["connected"] == false).then_some(())
    })
    .await;
    net.ok(
        "/sim/messages",
        json!({ "from": BIA, "to": ANA, "body": "1", "id": "Q1" }),
    )
    .await;
    net.ok(
        "/sim/messages",
        json!({ "from": CAIO, "to": ANA, "body": "2", "id": "Q2" }),
    )
    .await;
    assert_eq!(net.account(ANA).await["queued"], 2);

    // The same profile comes back logged in, without a QR, and gets the queue.
    let page = Page::open(&net, profile.path()).await;
    page.wait_main().await;
    let first = page.message("Q1").await;
    assert_eq!(first["isNewMsg"], false);
    assert_eq!(page.message("Q2").await["isNewMsg"], false);
    assert!(
        page.events("conn.auth_code_change")
            .await
            .iter()
            .all(Value::is_null)
    );
    let account = net.account(ANA).await;
    assert_eq!(
        (account["queued"].clone(), account["page_loads"].clone()),
        (json!(0), json!(2))
    );
    assert!(net.state().await["attempts"].as_array().unwrap().is_empty());

    // Logout from the phone: conn.logout, and a new QR.
    net.ok(&format!("/sim/phones/{ANA}/logout"), json!({}))
        .await;
    page.wait("window.__events.some(e => e.name === 'conn.logout')", 5)
        .await;
    assert_eq!(page.events("conn.logout_reason").await.len(), 1);
    let qr = page
        .wait(
            "document.querySelector('[data-ref]').getAttribute('data-ref')",
            5,
        )
        .await;
    assert_eq!(
        page.js("return WPP.conn.getAuthCode()").await["fullCode"],
        qr
    );
    assert_eq!(page.js("return WPP.conn.isAuthenticated()").await, false);
    assert_eq!(net.account(ANA).await["state"], "logged_out");
    page.close().await;
    net.shutdown().await;
}

#[tokio::test]
async fn dropping_a_browser_leaves_no_process() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let profile = tempfile::tempdir().unwrap();
    let page = Page::open(&net, profile.path()).await;
    let mut page = page;
    assert!(page.browser.running());
    let pgid = page.browser.pgid();
    drop(page);
    assert_no_group(pgid);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(processes_with(&profile.path().display().to_string()).is_empty());
    net.shutdown().await;
}

/// No process is left in the process group `pgid`. Ended processes are orphans that
/// the machine's PID 1 reaps a moment later, so zombies get up to 5 s to go.
fn assert_no_group(pgid: i32) {
    let start = std::time::Instant::now();
    loop {
        let out = std::process::Command::new("pgrep")
            .arg("-g")
            .arg(pgid.to_string())
            .output()
            .unwrap();
        if out.stdout.is_empty() {
            return;
        }
        let left = String::from_utf8_lossy(&out.stdout).into_owned();
        let zombies = left.split_whitespace().all(is_zombie);
        assert!(
            zombies && start.elapsed() < Duration::from_secs(5),
            "left over: {left}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether process `pid` has ended and only waits to be reaped (or is gone already).
fn is_zombie(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
    matches!(state, None | Some(Some('Z')))
}

#[tokio::test]
async fn pairing_code_links_and_a_killed_browser_comes_back_logged_in() {
    let _slot = browser_slot().await;
    let net = net_with_phones().await;
    let profile = tempfile::tempdir().unwrap();
    let page = Page::open(&net, profile.path()).await;
    page.wait(
        "document.querySelector('[data-ref]').getAttribute('data-ref')",
        10,
    )
    .await;

    // The code replaces the QR attempt; a wrong code is refused; the right one links.
    let ask = format!("return WPP.conn.startLinkDeviceCodeForPhoneNumber('{ANA}')");
    let code = page.js(&ask).await.as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);
    assert_eq!(page.js(&ask).await, code.as_str(), "same phone, same code");
    assert_eq!(
        page.events("conn.link_code_change").await,
        vec![json!(code)]
    );
    assert!(net.state().await["attempts"].as_array().unwrap().is_empty());
    let wrong = if code == "AAAAAAAA" {
        "BBBB-BBBB"
    } else {
        "AAAA-AAAA"
    };
    assert_eq!(
        net.post("/sim/pair", json!({ "phone": ANA, "code": wrong }))
            .await
            .0,
        409
    );
    let dashed = format!("{}-{}", &code[..4], &code[4..]);
    net.ok("/sim/pair", json!({ "phone": ANA, "code": dashed }))
        .await;
    page.wait_main().await;

    // Killed without a clean shutdown, the browser still comes back logged in.
    page.wait("window.__simApp.conn.stored", 5).await;
    let pgid = page.browser.pgid();
    drop(page);
    assert_no_group(pgid);
    let page = Page::open(&net, profile.path()).await;
    page.wait_main().await;
    assert!(
        page.events("conn.auth_code_change")
            .await
            .iter()
            .all(Value::is_null)
    );
    page.close().await;
    net.shutdown().await;
}

#[tokio::test]
async fn raw_events_reach_the_engine_as_given() {
    let _slot = browser_slot().await;
    let net = net_with_phones().await;
    let profile = tempfile::tempdir().unwrap();
    let page = Page::open(&net, profile.path()).await;
    page.link(&net, ANA).await;

    // A message first seen as ciphertext, then decrypted, with the same id.
    for (kind, body) in [("ciphertext", ""), ("chat", "decifrada")] {
        let payload = json!({
            "id": { "id": "CIPH1", "fromMe": false, "remote": format!("{BIA}@c.us"),
                    "_serialized": format!("false_{BIA}@c.us_CIPH1") },
            "from": format!("{BIA}@c.us"), "to": format!("{ANA}@c.us"),
            "type": kind, "body": body, "t": 1_700_000_000, "isNewMsg": true });
        let raw = json!({ "to": ANA, "event": "chat.new_message", "payload": payload });
        net.ok("/sim/raw", raw).await;
    }
    let cond = "window.__events.filter(e => e.name === 'chat.new_message' \
                && e.payload.id.id === 'CIPH1').length === 2";
    page.wait(cond, 5).await;
    let both = page.events("chat.new_message").await;
    let types: Vec<&str> = both.iter().filter_map(|m| m["type"].as_str()).collect();
    assert_eq!(types, ["ciphertext", "chat"]);
    assert_eq!(both[1]["from"]["_serialized"], format!("{BIA}@c.us"));

    // Other events pass through untouched.
    let raw = json!({ "to": ANA, "event": "conn.needs_update", "payload": { "any": 1 } });
    net.ok("/sim/raw", raw).await;
    let update = page
        .wait(
            "window.__events.find(e => e.name === 'conn.needs_update')",
            5,
        )
        .await;
    assert_eq!(update["payload"], json!({ "any": 1 }));

    // The page logs itself out: conn.logout, then a QR again.
    assert_eq!(page.js("return WPP.conn.logout()").await, true);
    page.wait("window.__events.some(e => e.name === 'conn.logout')", 5)
        .await;
    assert_eq!(
        page.events("conn.logout_reason").await,
        vec![json!("user_initiated")]
    );
    page.wait(
        "document.querySelector('[data-ref]').getAttribute('data-ref')",
        5,
    )
    .await;
    assert_eq!(net.account(ANA).await["state"], "logged_out");
    page.close().await;
    net.shutdown().await;
}

mod qa;
