//! Commands, plugins, permissions, settings, pauses and exactly-once recovery.

use orbitbot::client::permissions::grant;
use orbitbot::store::{
    Arrival, Completion, HistoryEntry, OutboxEntry, OutboxState, Permission, Sighting,
};
use serde_json::json;

use super::{ACCOUNT, Bench, C1, C2, qualify};

const MENU: &str = "Menu: 1) Horários 2) Preços";

#[tokio::test]
async fn template_keyword_pattern_and_plugins_end_to_end() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    let ana = |id: &str, body: &str| json!({"id": id, "from": C1, "body": body, "pushName": "Ana"});
    b.deliver("clientea", ana("T-1", "!SALDO"));
    assert_eq!(b.send().await.text, "Seu saldo, Ana: R$ 10,00");
    b.deliver("clientea", ana("T-2", "vocês têm CARDAPIO?"));
    assert_eq!(
        b.send().await.text,
        MENU,
        "keyword, case and accents ignored"
    );
    b.deliver("clientea", ana("T-3", "Quanto custa o bolo?"));
    assert_eq!(
        b.send().await.text,
        "Preços para Ana (5511999990001) em clientea: consulte "
    );
    b.deliver("clientea", ana("T-4", "!preco\u{00A0}bolo de\u{200B} fubá"));
    assert!(b.send().await.text.ends_with("consulte bolo de fubá"));
    b.deliver("clientea", ana("T-5", "!cardapio"));
    assert_eq!(b.send().await.text, MENU, "alias");
    b.deliver("clientea", ana("T-6", "!ajuda"));
    let help = b.send().await.text;
    assert!(
        help.contains("!menu — Mostra o menu") && help.contains("!ajuda"),
        "{help}"
    );
    assert!(
        !help.contains("!limpar"),
        "restricted commands are not offered: {help}"
    );
    b.deliver("clientea", ana("T-7", "!ajuda menu"));
    let detail = b.send().await.text;
    assert!(
        detail.contains("*!menu*") && detail.contains("!cardapio"),
        "{detail}"
    );
    b.deliver("clientea", ana("T-8", "!resumo"));
    assert!(b.send().await.text.contains("IA não está disponível"));
    b.deliver("clientea", ana("T-9", "!horario"));
    assert_eq!(
        b.send().await.text,
        "🕒 Atendemos todos os dias, a qualquer hora."
    );
}

#[tokio::test]
async fn atendente_silences_one_contact_and_tells_the_owner_until_retomar() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    b.deliver(
        "clientea",
        json!({"id": "A-1", "from": C1, "body": "!atendente", "pushName": "Ana"}),
    );
    let sent = b.sends(2).await;
    assert_eq!(sent[0].to, qualify(C1));
    assert!(sent[0].text.contains("Chamei um atendente"));
    assert_eq!(
        sent[1].to,
        qualify(ACCOUNT),
        "the owner is told on their own chat"
    );
    assert!(sent[1].text.contains("Ana") && sent[1].text.contains("!retomar 5511999990001"));
    b.deliver(
        "clientea",
        json!({"id": "A-2", "from": C1, "body": "!menu"}),
    );
    b.nothing_more("clientea").await;
    b.deliver(
        "clientea",
        json!({"id": "A-3", "from": C2, "body": "!menu"}),
    );
    assert_eq!(b.send().await.to, qualify(C2), "others are still answered");

    b.deliver("clientea", self_note("O-1", "!retomar +55 11 99999-0001"));
    let resumed = b.send().await;
    assert_eq!(resumed.to, qualify(ACCOUNT));
    assert!(resumed.text.contains("5511999990001"), "{resumed:#?}");
    b.deliver(
        "clientea",
        json!({"id": "A-4", "from": C1, "body": "!menu"}),
    );
    assert_eq!(b.send().await.text, MENU);

    b.deliver("clientea", self_note("O-2", "!pausar"));
    assert!(b.send().await.text.contains("Robô pausado"));
    b.deliver(
        "clientea",
        json!({"id": "A-5", "from": C2, "body": "!menu"}),
    );
    b.deliver("clientea", self_note("O-3", "!retomar"));
    assert!(
        b.send().await.text.contains("ligado de novo"),
        "A-5 got nothing"
    );
    b.deliver("clientea", self_note("O-4", "!retomar abc"));
    assert!(b.send().await.text.contains("Não entendi o número"));
}

#[tokio::test]
async fn permission_denials_and_blocked_contacts() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    let tenant = b.tenant("clientea");
    let store = std::sync::Arc::clone(&b.store);
    let control = store.control();
    grant(control, &tenant, "menu", None, Permission::Deny).unwrap();
    let bia = qualify(C2);
    grant(control, &tenant, "*", Some(&bia), Permission::Deny).unwrap();
    b.deliver(
        "clientea",
        json!({"id": "P-1", "from": C1, "body": "!menu"}),
    );
    assert_eq!(
        b.send().await.text,
        "🚫 Você não tem permissão para usar !menu."
    );
    b.deliver(
        "clientea",
        json!({"id": "P-2", "from": C1, "body": "!limpar"}),
    );
    assert_eq!(
        b.send().await.text,
        "🚫 Você não tem permissão para usar !limpar."
    );
    b.deliver(
        "clientea",
        json!({"id": "P-3", "from": C2, "body": "!saldo"}),
    );
    b.deliver(
        "clientea",
        json!({"id": "P-4", "from": C2, "body": "cardápio"}),
    );
    b.nothing_more("clientea").await;
    let ana = qualify(C1);
    grant(control, &tenant, "menu", Some(&ana), Permission::Allow).unwrap();
    b.deliver(
        "clientea",
        json!({"id": "P-5", "from": C1, "body": "!menu"}),
    );
    assert_eq!(
        b.send().await.text,
        MENU,
        "the contact's rule beats the tenant's"
    );
}

#[tokio::test]
async fn two_tenants_with_different_command_sets_keep_their_own_history() {
    let mut b = Bench::new(&["clientea", "clienteb"]).await;
    b.online("clientea");
    b.online("clienteb");
    let a = b.store.tenant(&b.tenant("clientea")).unwrap();
    a.set_setting("comando.menu", "Cardápio da A: pastel")
        .unwrap();
    a.set_setting("comando.saldo", "off").unwrap();
    for tenant in ["clientea", "clienteb"] {
        b.deliver(
            tenant,
            json!({"id": format!("{tenant}-1"), "from": C1, "body": "!menu"}),
        );
        b.deliver(
            tenant,
            json!({"id": format!("{tenant}-2"), "from": C1, "body": "!saldo"}),
        );
    }
    let sent = b.sends(4).await;
    let of = |t: &str| -> Vec<String> {
        sent.iter()
            .filter(|s| s.tenant == t)
            .map(|s| s.text.clone())
            .collect()
    };
    assert_eq!(of("clientea")[0], "Cardápio da A: pastel");
    assert!(of("clientea")[1].contains("comando desconhecido"));
    assert_eq!(of("clienteb"), [MENU, "Seu saldo, cliente: R$ 10,00"]);
    let bdb = b.store.tenant(&b.tenant("clienteb")).unwrap();
    let ids = |rows: Vec<HistoryEntry>| -> Vec<String> { rows.into_iter().map(|e| e.id).collect() };
    assert_eq!(
        ids(a.history(None, 100).unwrap()),
        ["clientea-1", "clientea-2"]
    );
    assert_eq!(
        ids(bdb.history(None, 100).unwrap()),
        ["clienteb-1", "clienteb-2"]
    );
}

#[tokio::test]
async fn greeting_on_first_contact_and_away_once_outside_hours() {
    let mut b = Bench::new(&["clientea"]).await;
    b.online("clientea");
    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    db.set_setting("saudacao", "Bem-vinda, {nome}!").unwrap();
    db.set_setting("ausencia", "Fechados. Horário: {horario}")
        .unwrap();
    // Open only on a day that is not today: closed now.
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap();
    let today = jiff::Timestamp::now()
        .to_zoned(tz)
        .weekday()
        .to_sunday_zero_offset();
    let other = ["dom", "seg", "ter", "qua", "qui", "sex", "sab"][(today as usize + 3) % 7];
    db.set_setting("horario", &format!("{other} 08:00-18:00"))
        .unwrap();
    b.deliver(
        "clientea",
        json!({"id": "H-1", "from": C1, "body": "oi", "pushName": "Ana"}),
    );
    let sent = b.sends(2).await;
    assert_eq!(sent[0].text, "Bem-vinda, Ana!");
    assert!(sent[1].text.starts_with("Fechados. Horário: "), "{sent:#?}");
    b.deliver(
        "clientea",
        json!({"id": "H-2", "from": C1, "body": "oi de novo"}),
    );
    b.nothing_more("clientea").await;
    b.deliver(
        "clientea",
        json!({"id": "H-3", "from": C1, "body": "!horario"}),
    );
    assert!(b.send().await.text.contains("Agora estamos fechados"));
}

#[tokio::test]
async fn a_crash_between_claim_and_reply_and_pending_replies_are_recovered_once() {
    let mut b = Bench::new(&["clientea"]).await;
    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    // As a run killed right after recording a message: claimed, journaled, unanswered.
    let msg = super::message(json!({"id": "K-1", "from": C1, "body": "!menu"}));
    let job = json!({"msg": msg, "kind": "direct"});
    let entry = HistoryEntry {
        id: "K-1".into(),
        chat: qualify(C1),
        from: qualify(C1),
        from_me: false,
        kind: "chat".into(),
        text: Some("!menu".into()),
        media: None,
        t_ms: orbitbot::clock::now_ms(),
        ack: 0,
        edited: false,
        revoked: false,
        truncated: false,
    };
    let sighting = Sighting {
        address: qualify(C1),
        name: None,
        phone: None,
    };
    let arrival = Arrival {
        entry,
        sender: Some(sighting),
        job: Some(serde_json::to_vec(&job).unwrap()),
    };
    db.receive(vec![arrival], &[], 1).unwrap();
    // ... and a reply queued before the crash, which may or may not have gone out.
    let queued = OutboxEntry {
        id: "3EB0QUEUED".into(),
        to: qualify(C2),
        text: "resposta antiga".into(),
        media: None,
        created_ms: 1,
        state: OutboxState::Pending,
        attempts: 0,
        low_priority: false,
    };
    let c = Completion {
        replies: vec![queued],
        ..Completion::default()
    };
    db.complete(&c).unwrap();
    // ... and a message the session took from the page but the pipeline never saw.
    let spooled = super::message(json!({"id": "K-2", "from": C2, "body": "!saldo"}));
    let bytes = serde_json::to_vec(&spooled).unwrap();
    db.spool(&[("K-2".to_owned(), bytes)]).unwrap();

    b.sessions_up(true);
    b.online("clientea");
    let sent = b.sends(3).await;
    let saldo = sent.iter().find(|s| s.text.starts_with("Seu saldo"));
    assert_eq!(saldo.expect("the spooled message").to, qualify(C2));
    let menu = sent
        .iter()
        .find(|s| s.text == MENU)
        .expect("the journaled message");
    assert!(!menu.check_first);
    let old = sent
        .iter()
        .find(|s| s.id == "3EB0QUEUED")
        .expect("the pending reply");
    assert!(
        old.check_first,
        "checked against the chat before sending again"
    );
    b.nothing_more("clientea").await;
    assert!(db.pending_jobs().unwrap().is_empty());
    assert!(db.spooled().unwrap().is_empty());
    b.settled("clientea").await;

    // A restart now sends nothing again, and the duplicate of K-1 is ignored.
    b.restart().await;
    b.online("clientea");
    b.deliver(
        "clientea",
        json!({"id": "K-1", "from": C1, "body": "!menu"}),
    );
    b.nothing_more("clientea").await;
}

#[tokio::test]
async fn replies_wait_in_the_outbox_while_the_session_is_down() {
    let mut b = Bench::new(&["clientea"]).await;
    b.sessions_up(false);
    b.deliver(
        "clientea",
        json!({"id": "W-1", "from": C1, "body": "!menu"}),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let db = b.store.tenant(&b.tenant("clientea")).unwrap();
    assert_eq!(db.pending_outbox().unwrap().len(), 1);
    b.sessions_up(true);
    b.online("clientea");
    let sent = b.send().await;
    assert_eq!((sent.text.as_str(), sent.check_first), (MENU, true));
    b.nothing_more("clientea").await;
    b.settled("clientea").await;
    let state = db.outbox_entry(&sent.id).unwrap().unwrap().state;
    assert_eq!(state, OutboxState::Sent);
}

/// The owner's note-to-self.
fn self_note(id: &str, body: &str) -> serde_json::Value {
    json!({"id": id, "from": ACCOUNT, "to": ACCOUNT, "fromMe": true, "body": body})
}
