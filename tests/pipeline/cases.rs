//! Field cases F01–F08, F17, F20, F21 (inbound) through the pipeline.

use std::collections::HashSet;
use std::time::Duration;

use orbitbot::bridge::event::BridgeEvent;
use orbitbot::client::TEXT_CAP;
use orbitbot::client::permissions::grant;
use orbitbot::store::Permission;
use serde_json::json;

use super::{ACCOUNT, Bench, C1, C2, C3, GROUP, ago, qualify};

const MENU: &str = "Menu: 1) Horários 2) Preços";

#[tokio::test]
async fn f01_own_echoes_and_notes_to_self_never_answer() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    b.deliver(
        "clientea",
        json!({"id": "IN-1", "from": C1, "body": "!menu"}),
    );
    let reply = b.send().await;
    assert_eq!(
        (reply.to.as_str(), reply.text.as_str()),
        (qualify(C1).as_str(), MENU)
    );
    b.deliver(
        "clientea",
        json!({"id": "OUT-ECHO-9", "from": ACCOUNT, "to": C1, "fromMe": true,
               "body": "Menu: 1) Horários 2) Preços"}),
    );
    // The echo of our own reply, with its id, and a note-to-self that is no owner command.
    b.deliver(
        "clientea",
        json!({"id": reply.id, "from": ACCOUNT, "to": C1, "fromMe": true, "body": MENU}),
    );
    b.deliver(
        "clientea",
        json!({"id": "SELF-1", "from": ACCOUNT, "to": ACCOUNT, "fromMe": true, "body": "!menu"}),
    );
    b.nothing_more("clientea").await;

    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    let echo = db.message("OUT-ECHO-9").unwrap().expect("echo recorded");
    assert!(echo.from_me);
    assert_eq!(echo.chat, qualify(C1));
    let ours = db
        .message(&reply.id)
        .unwrap()
        .expect("our reply recorded once");
    assert!(ours.from_me);
    let thread = db.history(Some(&qualify(C1)), 100).unwrap();
    assert_eq!(
        thread.len(),
        3,
        "IN-1, OUT-ECHO-9 and our reply: {thread:#?}"
    );
}

#[tokio::test]
async fn f02_f03_statuses_channels_and_stubs_leave_no_trace() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    let ignored = [
        json!({"id": "ST-1", "from": "status@broadcast", "author": C2, "body": "!novo teste",
               "type": "image"}),
        json!({"id": "ST-2", "from": "status@broadcast", "author": ACCOUNT,
               "body": "Promoção hoje", "fromMe": true, "to": "status@broadcast"}),
        json!({"id": "NL-1", "from": "120363000000000002@newsletter", "body": "Notícia do dia"}),
        json!({"id": "NL-2", "from": "120363000000000002@newsletter", "body": "",
               "type": "unknown"}),
        json!({"id": "CT-1", "from": C1, "body": "!menu", "type": "ciphertext"}),
        json!({"id": "PR-1", "from": C1, "body": "!menu", "type": "protocol"}),
        json!({"id": "ODD-1", "from": C1, "body": "!menu", "type": "teleport"}),
    ];
    for fields in ignored {
        b.deliver("clientea", fields);
    }
    // The filter keys on the chat, not on fromMe: a real own message is still recorded.
    b.deliver(
        "clientea",
        json!({"id": "OWN-1", "from": ACCOUNT, "to": C2, "fromMe": true, "body": "oi"}),
    );
    b.nothing_more("clientea").await;

    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    for id in ["ST-1", "ST-2", "NL-1", "NL-2", "CT-1", "PR-1", "ODD-1"] {
        assert!(db.message(id).unwrap().is_none(), "{id} left a history row");
    }
    assert!(db.contact("status@broadcast").unwrap().is_none());
    assert!(
        db.contact("120363000000000002@newsletter")
            .unwrap()
            .is_none()
    );
    assert!(
        db.contact(&qualify(C2)).unwrap().is_none(),
        "no contact from a status"
    );
    assert!(db.message("OWN-1").unwrap().is_some());
}

#[tokio::test]
async fn f04_groups_decide_on_the_author_and_answer_the_group() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    let tenant = b.tenant("clientea");
    let group = |id: &str, author: Option<&str>, body: &str| {
        json!({"id": id, "from": GROUP, "author": author.map(qualify), "body": body,
               "isGroupMsg": true})
    };
    // Groups are off until the operator allows them.
    b.deliver("clientea", group("G-0", Some(C1), "!limpar"));
    b.nothing_more("clientea").await;

    let store = std::sync::Arc::clone(&b.store);
    let control = store.control();
    grant(control, &tenant, "grupos", None, Permission::Allow).unwrap();
    let ana = qualify(C1);
    grant(control, &tenant, "limpar", Some(&ana), Permission::Allow).unwrap();
    b.deliver("clientea", group("G-1", Some(C2), "!limpar"));
    b.deliver("clientea", group("G-2", Some(C1), "!limpar"));
    b.deliver("clientea", group("G-3", None, "!limpar"));
    let sent = b.sends(3).await;
    assert!(sent.iter().all(|s| s.to == GROUP), "{sent:#?}");
    let texts: Vec<&str> = sent.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "🚫 Você não tem permissão para usar !limpar.",
            "Conversa limpa",
            "🚫 Você não tem permissão para usar !limpar."
        ]
    );
    // Mention-only: chatter and keywords without a mention get nothing.
    b.deliver("clientea", group("G-4", Some(C1), "bom dia, pessoal"));
    b.deliver("clientea", group("G-5", Some(C1), "alguém tem o cardápio?"));
    b.nothing_more("clientea").await;
    let mut mentioned = group("G-6", Some(C1), "@loja cardápio?");
    mentioned["mentions"] = json!([format!("{ACCOUNT}@c.us")]);
    b.deliver("clientea", mentioned);
    let reply = b.send().await;
    assert_eq!((reply.to.as_str(), reply.text.as_str()), (GROUP, MENU));
}

#[tokio::test]
async fn f05_f06_lid_and_phone_are_one_contact() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    let lid = "184467440001201@lid";
    b.deliver(
        "clientea",
        json!({"id": "L-1", "from": lid, "fromAlt": "5511999990001@s.whatsapp.net",
               "body": "!saldo", "pushName": "Ana"}),
    );
    let first = b.send().await;
    assert_eq!(first.to, lid, "answered where it was asked");
    b.deliver(
        "clientea",
        json!({"id": "L-2", "from": C1, "body": "!saldo"}),
    );
    assert_eq!(b.send().await.to, qualify(C1));
    b.deliver(
        "clientea",
        json!({"id": "L-3", "from": "184467440001202@lid", "body": "!saldo"}),
    );
    let third = b.send().await;
    assert_eq!(third.to, "184467440001202@lid");
    assert_eq!(
        third.text, "Seu saldo, cliente: R$ 10,00",
        "no invented name or number"
    );
    // F06: the same message once per identity is one message.
    b.deliver(
        "clientea",
        json!({"id": "3EB0AAA1", "from": lid, "fromAlt": C1, "body": "!status"}),
    );
    b.deliver(
        "clientea",
        json!({"id": "3EB0AAA1", "from": C1, "body": "!status"}),
    );
    assert_eq!(b.send().await.text, "Pedido a caminho");
    b.nothing_more("clientea").await;

    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    let ana = db.contact(lid).unwrap().expect("one contact");
    assert_eq!(ana.chat, qualify(C1));
    assert_eq!(ana.lid.as_deref(), Some(lid));
    assert_eq!(db.contact(&qualify(C1)).unwrap(), Some(ana));
    let thread = db.history(Some(&qualify(C1)), 100).unwrap();
    let ids: Vec<&str> = thread
        .iter()
        .filter(|e| !e.from_me)
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["L-1", "L-2", "3EB0AAA1"],
        "one thread, one row per message"
    );
    let stranger = db.contact("184467440001202@lid").unwrap().unwrap();
    assert_eq!(
        (stranger.phone, stranger.chat.as_str()),
        (None, "184467440001202@lid")
    );
}

#[tokio::test]
async fn f07_duplicates_per_tenant_and_across_a_restart() {
    let mut b = Bench::new(&["clientea", "clienteb"]).await;
    b.online("clientea");
    b.online("clienteb");
    let d1 = json!({"id": "D-1", "from": C1, "body": "!status"});
    b.deliver("clientea", d1.clone());
    b.deliver("clientea", d1.clone());
    b.deliver("clienteb", d1.clone());
    let sent = b.sends(2).await;
    let tenants: HashSet<&str> = sent.iter().map(|s| s.tenant.as_str()).collect();
    assert_eq!(tenants, HashSet::from(["clientea", "clienteb"]));
    b.nothing_more("clientea").await;
    b.nothing_more("clienteb").await;

    b.restart().await;
    b.online("clientea");
    b.deliver("clientea", d1);
    b.nothing_more("clientea").await;
}

#[tokio::test]
async fn f08_a_replayed_backlog_is_recorded_and_gets_one_voltamos_per_contact() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    let senders: Vec<String> = (0..25).map(|n| format!("55119888800{n:02}")).collect();
    for n in 0..40 {
        let t = ago(3 * 3600 - n * 250);
        let fields = json!({"id": format!("OFF-{n:02}"), "from": senders[n as usize % 25],
                            "body": "!menu", "timestamp": t});
        b.deliver("clientea", fields);
    }
    b.deliver(
        "clientea",
        json!({"id": "LIVE-1", "from": C3, "body": "!menu"}),
    );
    let sent = b.sends(26).await;
    let live: Vec<_> = sent.iter().filter(|s| s.to == qualify(C3)).collect();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].text, MENU);
    assert!(
        !live[0].low_priority,
        "the live answer never waits behind the backlog"
    );
    let back: Vec<_> = sent.iter().filter(|s| s.to != qualify(C3)).collect();
    let contacts: HashSet<&str> = back.iter().map(|s| s.to.as_str()).collect();
    assert_eq!(contacts.len(), 25, "one per contact");
    assert!(
        back.iter()
            .all(|s| s.text.starts_with("Voltamos!") && s.low_priority)
    );
    b.nothing_more("clientea").await;

    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    let inbound = db.history(None, 1000).unwrap();
    let recorded = inbound.iter().filter(|e| !e.from_me).count();
    assert_eq!(recorded, 41 + 1, "all 41 and the probe are in history");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f17_fifty_tenants_with_stalled_writes_lose_nothing() {
    let names: Vec<String> = (0..50).map(|n| format!("loja{n:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut b = Bench::new(&refs).await;
    for name in &refs {
        b.online(name);
    }
    b.store.inject_write_stall(Duration::from_millis(200));
    for n in 0..20 {
        for name in &refs {
            let id = format!("{name}-M{n:02}");
            let from = format!("55119777{n:05}");
            b.deliver(name, json!({"id": id, "from": from, "body": "!menu"}));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = b.sends(50 * 20).await;
    b.store.inject_write_stall(Duration::ZERO);
    let ids: HashSet<&str> = sent.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), 1000, "no reply twice");
    for name in &refs {
        let db = b.store.tenant(&b.tenant(name)).unwrap();
        let rows = db.history(None, 1000).unwrap();
        assert_eq!(rows.len(), 20, "{name}: every message recorded");
        assert!(
            rows.iter().all(|e| e.id.starts_with(&format!("{name}-"))),
            "{name}"
        );
        assert_eq!(sent.iter().filter(|s| s.tenant == *name).count(), 20);
    }
}

#[tokio::test]
async fn f20_an_edit_updates_the_text_and_runs_nothing() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    b.deliver(
        "clientea",
        json!({"id": "E-1", "from": C1, "body": "!mneu"}),
    );
    let first = b.send().await;
    assert!(first.text.contains("comando desconhecido"), "{first:#?}");
    assert!(
        first.text.contains("!menu"),
        "suggests the closest: {first:#?}"
    );
    b.event(
        "clientea",
        BridgeEvent::Edit {
            id: Some("E-1".into()),
            chat_id: Some(qualify(C1)),
            text: Some("!menu".into()),
        },
    );
    b.deliver(
        "clientea",
        json!({"id": "E-2", "from": C1, "type": "protocol", "body": "!menu"}),
    );
    b.nothing_more("clientea").await;
    // Deletions and delivery receipts mark the rows they name.
    b.event(
        "clientea",
        BridgeEvent::Revoke {
            id: Some("E-1".into()),
            chat_id: Some(qualify(C1)),
            from: Some(qualify(C1)),
            author: None,
        },
    );
    b.deliver(
        "clientea",
        json!({"id": first.id, "from": ACCOUNT, "to": C1, "fromMe": true, "body": first.text}),
    );
    b.event(
        "clientea",
        BridgeEvent::Ack {
            ack: 3,
            chat_id: Some(qualify(C1)),
            ids: vec![Some(first.id.clone())],
        },
    );
    b.nothing_more("clientea").await;
    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    let edited = db.message("E-1").unwrap().unwrap();
    assert_eq!(edited.text.as_deref(), Some("!menu"));
    assert!(edited.edited && edited.revoked);
    let ours = db.message(&first.id).unwrap().unwrap();
    assert_eq!((ours.from_me, ours.ack), (true, 3), "{ours:?}");
    assert!(db.message("E-2").unwrap().is_none());
}

#[tokio::test]
async fn f21_a_huge_inbound_text_is_stored_capped_and_answered_once() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    let body = format!("!menu {}", "👨‍👩‍👧 ação ".repeat(12_000));
    b.deliver("clientea", json!({"id": "BIG-1", "from": C1, "body": body}));
    assert_eq!(b.send().await.text, MENU);
    b.nothing_more("clientea").await;
    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    let row = db.message("BIG-1").unwrap().unwrap();
    assert!(row.truncated);
    assert_eq!(row.text.unwrap().chars().count(), TEXT_CAP);
}
