//! The store through its public API, on real redb files in temp dirs.

use std::sync::{Arc, Barrier};

use orbitbot::store::{
    HistoryEntry, LogSink, OutboxEntry, OutboxState, Permission, Store, StoreError,
};
use orbitbot::tenant::SessionState;
use tracing_subscriber::layer::SubscriberExt;

use crate::common::tid;

fn message(id: &str, chat: &str, t_ms: u64) -> HistoryEntry {
    HistoryEntry {
        id: id.to_owned(),
        chat: chat.to_owned(),
        from: chat.to_owned(),
        from_me: false,
        kind: "chat".to_owned(),
        text: Some(format!("texto {id}")),
        media: None,
        t_ms,
        ack: 0,
        edited: false,
        revoked: false,
        truncated: false,
    }
}

#[test]
fn tenants_settings_and_permissions_round_trip_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let loja = tid("loja-da-ana");
    {
        let store = Store::open(dir.path()).unwrap();
        store.create_tenant(&loja, 1_000).unwrap();
        let control = store.control();
        control
            .set_state(&loja, SessionState::Online, 2_000)
            .unwrap();
        control
            .set_phone(&loja, Some("5511999990010".into()))
            .unwrap();
        let db = store.tenant(&loja).unwrap();
        db.set_setting("grupos", "mencao").unwrap();
        control
            .set_permission(&loja, "ia", Permission::Deny)
            .unwrap();
        control
            .set_permission(&loja, "menu", Permission::Allow)
            .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let record = store.control().tenant(&loja).unwrap().unwrap();
    assert_eq!(record.state, SessionState::Online);
    assert_eq!(record.state_since_ms, 2_000);
    assert_eq!(record.created_ms, 1_000);
    assert_eq!(record.phone.as_deref(), Some("5511999990010"));
    let control = store.control();
    let db = store.tenant(&loja).unwrap();
    assert_eq!(
        db.settings().unwrap().get("grupos").map(String::as_str),
        Some("mencao")
    );
    assert_eq!(
        control.permission(&loja, "ia").unwrap(),
        Some(Permission::Deny)
    );
    assert_eq!(control.permissions(&loja).unwrap().len(), 2);
    assert!(db.clear_setting("grupos").unwrap());
    assert!(db.settings().unwrap().is_empty());
}

#[test]
fn duplicate_and_missing_tenants_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loja = tid("loja");
    store.create_tenant(&loja, 1).unwrap();
    let err = store.create_tenant(&loja, 2).unwrap_err();
    assert!(matches!(err, StoreError::TenantExists(_)));
    assert_eq!(err.user_message(), "loja já existe");
    let ghost = tid("fantasma");
    assert!(matches!(
        store.tenant(&ghost),
        Err(StoreError::TenantNotFound(_))
    ));
    let set = store
        .control()
        .set_permission(&ghost, "ia", Permission::Allow);
    assert!(matches!(set, Err(StoreError::TenantNotFound(_))));
    assert!(
        !store.tenant_db_path(&ghost).exists(),
        "no file for an unknown tenant"
    );
}

#[test]
fn removing_a_tenant_removes_its_rows_and_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b) = (tid("tenant-a"), tid("tenant-b"));
    for id in [&a, &b] {
        store.create_tenant(id, 1).unwrap();
        store
            .tenant(id)
            .unwrap()
            .set_setting("grupos", "todos")
            .unwrap();
        store
            .control()
            .set_permission(id, "ia", Permission::Allow)
            .unwrap();
    }
    store.remove_tenant(&a).unwrap();
    assert!(store.control().tenant(&a).unwrap().is_none());
    assert!(store.control().permissions(&a).unwrap().is_empty());
    assert!(!store.tenant_db_path(&a).exists());
    assert_eq!(store.tenant(&b).unwrap().settings().unwrap().len(), 1);
    assert_eq!(store.control().permissions(&b).unwrap().len(), 1);
    assert!(store.tenant(&b).is_ok());
}

#[test]
fn claims_are_first_wins_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let loja = tid("loja");
    {
        let store = Store::open(dir.path()).unwrap();
        store.create_tenant(&loja, 1).unwrap();
        let db = store.tenant(&loja).unwrap();
        assert!(db.claim("MSG-1", 10).unwrap());
        assert!(!db.claim("MSG-1", 11).unwrap());
    }
    let store = Store::open(dir.path()).unwrap();
    let db = store.tenant(&loja).unwrap();
    assert!(db.is_claimed("MSG-1").unwrap());
    assert!(
        !db.claim("MSG-1", 12).unwrap(),
        "a claim survives a restart"
    );
    assert!(db.claim("MSG-2", 13).unwrap());
}

#[test]
fn eight_concurrent_claimers_one_winner_per_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let loja = tid("loja");
    store.create_tenant(&loja, 1).unwrap();
    let ids: Vec<String> = (0..50).map(|i| format!("ID-{i}")).collect();
    let barrier = Arc::new(Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (store, loja, ids, barrier) = (
                Arc::clone(&store),
                loja.clone(),
                ids.clone(),
                Arc::clone(&barrier),
            );
            std::thread::spawn(move || {
                let db = store.tenant(&loja).unwrap();
                barrier.wait();
                ids.iter().filter(|id| db.claim(id, 1).unwrap()).count()
            })
        })
        .collect();
    let wins: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(
        wins,
        ids.len(),
        "every id claimed exactly once across 8 claimers"
    );
}

#[test]
fn history_keeps_one_row_per_message_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loja = tid("loja");
    store.create_tenant(&loja, 1).unwrap();
    let db = store.tenant(&loja).unwrap();
    let (ana, bia) = ("5511999990001@c.us", "5511999990002@c.us");
    assert!(db.record_message(&message("A1", ana, 1)).unwrap());
    assert!(db.record_message(&message("B1", bia, 2)).unwrap());
    assert!(db.record_message(&message("A2", ana, 3)).unwrap());
    // The same id again (a decrypted copy, an echo) replaces, never duplicates.
    let mut again = message("A1", ana, 1);
    again.text = Some("decifrado".into());
    assert!(!db.record_message(&again).unwrap());
    assert!(db.update_message("A2", |m| m.ack = 3).unwrap());
    assert!(!db.update_message("nope", |m| m.ack = 3).unwrap());

    let ids = |rows: Vec<HistoryEntry>| rows.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(db.history(None, 10).unwrap()), ["A1", "B1", "A2"]);
    assert_eq!(ids(db.history(Some(ana), 10).unwrap()), ["A1", "A2"]);
    assert_eq!(ids(db.history(Some(ana), 1).unwrap()), ["A2"]);
    assert_eq!(
        db.message("A1").unwrap().unwrap().text.as_deref(),
        Some("decifrado")
    );
    assert_eq!(db.message("A2").unwrap().unwrap().ack, 3);
}

#[test]
fn outbox_is_idempotent_and_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loja = tid("loja");
    store.create_tenant(&loja, 1).unwrap();
    let db = store.tenant(&loja).unwrap();
    let out = |id: &str| OutboxEntry {
        id: id.to_owned(),
        to: "5511999990001@c.us".to_owned(),
        text: format!("resposta {id}"),
        media: None,
        created_ms: 5,
        state: OutboxState::Pending,
        attempts: 0,
        low_priority: false,
    };
    assert!(db.enqueue(&out("R2")).unwrap());
    assert!(db.enqueue(&out("R1")).unwrap());
    assert!(!db.enqueue(&out("R2")).unwrap(), "same id queued once");
    db.update_outbox("R2", |e| e.state = OutboxState::Sent)
        .unwrap();
    let pending: Vec<_> = db
        .pending_outbox()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(pending, ["R1"]);
    db.update_outbox("R1", |e| e.state = OutboxState::Failed("timeout".into()))
        .unwrap();
    assert!(db.pending_outbox().unwrap().is_empty());
    let failed = db.outbox_entry("R1").unwrap().unwrap();
    assert_eq!(failed.state, OutboxState::Failed("timeout".into()));
}

#[test]
fn contacts_merge_phone_and_lid_into_one_person() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loja = tid("loja");
    store.create_tenant(&loja, 1).unwrap();
    let db = store.tenant(&loja).unwrap();
    let lid = "184467440001201@lid";
    let (first, new) = db.touch_contact(lid, Some("Ana"), 100).unwrap();
    assert!(new);
    assert_eq!(first.chat, lid);
    db.touch_contact("5511999990001@c.us", None, 200).unwrap();
    let merged = db.link_lid(lid, "5511999990001", 300).unwrap();
    assert_eq!(merged.chat, "5511999990001@c.us");
    assert_eq!(merged.lid.as_deref(), Some(lid));
    assert_eq!(merged.name.as_deref(), Some("Ana"));
    assert_eq!(merged.first_seen_ms, 100);
    assert_eq!(db.canonical_chat(lid).unwrap(), "5511999990001@c.us");
    let (again, new) = db.touch_contact(lid, None, 400).unwrap();
    assert!(!new, "the LID now reaches the same contact");
    assert_eq!(again.last_seen_ms, 400);
    assert_eq!(
        db.contact(lid).unwrap(),
        db.contact("5511999990001@c.us").unwrap()
    );
}

#[test]
fn plugin_values_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loja = tid("loja");
    store.create_tenant(&loja, 1).unwrap();
    let db = store.tenant(&loja).unwrap();
    db.kv_set("contador", "visitas", b"41").unwrap();
    db.kv_set("contador", "visitas", b"42").unwrap();
    assert_eq!(
        db.kv_get("contador", "visitas").unwrap().as_deref(),
        Some(&b"42"[..])
    );
    assert_eq!(db.kv_get("outro", "visitas").unwrap(), None);
    assert!(db.kv_remove("contador", "visitas").unwrap());
    assert!(!db.kv_remove("contador", "visitas").unwrap());
}

#[test]
fn tenant_a_never_sees_tenant_b() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b) = (tid("tenant-a"), tid("tenant-b"));
    store.create_tenant(&a, 1).unwrap();
    store.create_tenant(&b, 1).unwrap();
    let (da, db) = (store.tenant(&a).unwrap(), store.tenant(&b).unwrap());
    let chat = "5511999990001@c.us";
    db.record_message(&message("B-ONLY", chat, 1)).unwrap();
    db.claim("B-CLAIM", 1).unwrap();
    db.kv_set("p", "k", b"b").unwrap();
    db.touch_contact(chat, Some("Bia"), 1).unwrap();
    db.set_setting("ausencia", "fechado").unwrap();
    store
        .control()
        .set_permission(&b, "ia", Permission::Allow)
        .unwrap();

    assert!(da.history(None, 100).unwrap().is_empty());
    assert!(da.history(Some(chat), 100).unwrap().is_empty());
    assert!(da.message("B-ONLY").unwrap().is_none());
    assert!(da.claim("B-CLAIM", 2).unwrap(), "claims are per tenant");
    assert!(da.kv_get("p", "k").unwrap().is_none());
    assert!(da.contact(chat).unwrap().is_none());
    assert!(store.control().permissions(&a).unwrap().is_empty());
    // A tenant whose id is a prefix of another's sees nothing of it either.
    let short = tid("tenant");
    store.create_tenant(&short, 1).unwrap();
    assert!(da.settings().unwrap().is_empty());
    assert!(store.control().permissions(&short).unwrap().is_empty());
}

#[test]
fn audit_log_keeps_operator_commands_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loja = tid("loja");
    let entry =
        |command: &str, tenant: Option<&orbitbot::tenant::TenantId>| orbitbot::store::AuditEntry {
            t_ms: 1,
            actor: "5511999990000".into(),
            tenant: tenant.cloned(),
            command: command.into(),
            outcome: "ok".into(),
        };
    store
        .control()
        .append_audit(&entry("!novo loja", Some(&loja)))
        .unwrap();
    store
        .control()
        .append_audit(&entry("!clientes", None))
        .unwrap();
    store
        .control()
        .append_audit(&entry("!status loja", Some(&loja)))
        .unwrap();
    let all = store.control().audit(None, 10).unwrap();
    let commands: Vec<_> = all.iter().map(|e| e.command.as_str()).collect();
    assert_eq!(commands, ["!novo loja", "!clientes", "!status loja"]);
    let mine = store.control().audit(Some(&loja), 1).unwrap();
    assert_eq!(mine[0].command, "!status loja");
}

#[test]
fn logs_inside_a_tenant_span_land_in_that_tenant_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let (a, b) = (tid("tenant-a"), tid("tenant-b"));
    store.create_tenant(&a, 1).unwrap();
    store.create_tenant(&b, 1).unwrap();
    let (sink, layer) = LogSink::start();
    sink.attach(&store);
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("session", tenant = %a);
        let _guard = span.enter();
        tracing::info!(contact = "5511999990001", "mensagem recebida");
        let inner = tracing::debug_span!("send");
        inner.in_scope(|| tracing::warn!("envio atrasado"));
        drop(_guard);
        tracing::info!("fora de qualquer cliente");
    });
    sink.flush();
    let logs = store.tenant(&a).unwrap().logs(10).unwrap();
    let texts: Vec<_> = logs
        .iter()
        .map(|l| (l.level.as_str(), l.message.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            ("INFO", "mensagem recebida contact=\"5511999990001\""),
            ("WARN", "envio atrasado")
        ]
    );
    assert!(store.tenant(&b).unwrap().logs(10).unwrap().is_empty());
}
