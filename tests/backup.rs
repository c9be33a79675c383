//! Backups from the shell while `run` is not up (the store opened directly): an
//! archive holds one tenant only, a changed byte or another tenant's archive is
//! refused, an existing tenant is replaced only when asked (F22).

use std::path::Path;

use orbitbot::backup;
use orbitbot::store::{HistoryEntry, Store};
use orbitbot::tenant::TenantId;

use crate::common::{orbitbot, text, tid, write_config};

fn row(id: &str) -> HistoryEntry {
    HistoryEntry {
        id: id.to_owned(),
        chat: "5511999990001@c.us".to_owned(),
        from: "5511999990001@c.us".to_owned(),
        from_me: false,
        kind: "chat".to_owned(),
        text: Some(format!("mensagem {id}")),
        media: None,
        t_ms: 1_000,
        ack: 0,
        edited: false,
        revoked: false,
        truncated: false,
    }
}

/// Two tenants with their own rows and profile files.
fn two_tenants(dir: &Path) {
    let store = Store::open(&dir.join("data")).unwrap();
    for name in ["loja-a", "loja-b"] {
        let id = tid(name);
        store.create_tenant(&id, 1).unwrap();
        let db = store.tenant(&id).unwrap();
        for n in 0..50 {
            db.record_message(&row(&format!("{name}-{n}"))).unwrap();
        }
        db.set_setting("grupos", "todos").unwrap();
        let profile = dir.join("tokens").join(name).join("profile/Default");
        std::fs::create_dir_all(&profile).unwrap();
        std::fs::write(profile.join("Cookies"), format!("segredo de {name}")).unwrap();
    }
}

fn run_ok(config: &Path, args: &[&str]) -> String {
    let out = orbitbot(config, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn run_err(config: &Path, args: &[&str]) -> String {
    let out = orbitbot(config, args);
    assert!(
        !out.status.success(),
        "{args:?} should fail: {}",
        text(&out.stdout)
    );
    text(&out.stderr)
}

fn archives(dir: &Path, tenant: &str) -> Vec<String> {
    let folder = dir.join("backups").join(tenant);
    let list = backup::list(&folder).unwrap();
    list.into_iter().map(|a| a.name).collect()
}

#[test]
fn shell_backups_hold_one_tenant_and_refuse_changed_or_foreign_archives() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    two_tenants(dir.path());

    let said = run_ok(&config, &["backup", "loja-a"]);
    assert!(said.contains("Backup de loja-a"), "{said}");
    let names = archives(dir.path(), "loja-a");
    assert_eq!(names.len(), 1);
    assert!(run_ok(&config, &["backups", "loja-a"]).contains(&names[0]));

    // Only loja-a's rows and files are inside.
    let unpacked = dir.path().join("unpacked");
    let archive = dir.path().join("backups/loja-a").join(&names[0]);
    let manifest = backup::extract(&archive, &unpacked).unwrap();
    assert_eq!(manifest.tenant, "loja-a");
    let cookies = std::fs::read_to_string(unpacked.join("profile/Default/Cookies")).unwrap();
    assert_eq!(cookies, "segredo de loja-a");
    let copy = Store::open(&dir.path().join("copy")).unwrap();
    copy.restore_tenant_db(&tid("loja-a"), &unpacked.join("tenant.redb"))
        .unwrap();
    let rows = copy
        .tenant(&tid("loja-a"))
        .unwrap()
        .history(None, 1_000)
        .unwrap();
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| r.id.starts_with("loja-a-")));
    drop(copy);

    // Over an existing tenant only with --replace; a changed byte is refused first.
    let err = run_err(&config, &["restore", "loja-a"]);
    assert!(
        err.contains("já existe") && err.contains("substituir"),
        "{err}"
    );
    let mut bytes = std::fs::read(&archive).unwrap();
    let pristine = bytes.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&archive, &bytes).unwrap();
    let err = run_err(&config, &["restore", "loja-a", "--replace"]);
    assert!(err.contains("corrompido ou alterado"), "{err}");
    std::fs::write(&archive, &pristine).unwrap();

    // Another tenant's archive in loja-b's folder is refused; names, never paths.
    let foreign = dir.path().join("backups/loja-b").join(&names[0]);
    std::fs::create_dir_all(foreign.parent().unwrap()).unwrap();
    std::fs::copy(&archive, &foreign).unwrap();
    let err = run_err(&config, &["restore", "loja-b", "--replace"]);
    assert!(err.contains("é do cliente loja-a"), "{err}");
    let err = run_err(
        &config,
        &["restore", "loja-a", "--file", "../loja-b/x.tar.zst"],
    );
    assert!(err.contains("Não há backup"), "{err}");

    // A real replace brings back the snapshot: rows added later are gone.
    {
        let store = Store::open(&dir.path().join("data")).unwrap();
        let db = store.tenant(&tid("loja-a")).unwrap();
        db.record_message(&row("depois-do-backup")).unwrap();
    }
    let said = run_ok(&config, &["restore", "loja-a", "--replace"]);
    assert!(said.contains("restaurado de"), "{said}");
    let store = Store::open(&dir.path().join("data")).unwrap();
    let db = store.tenant(&tid("loja-a")).unwrap();
    assert!(db.message("depois-do-backup").unwrap().is_none());
    assert_eq!(db.history(None, 1_000).unwrap().len(), 50);
    assert_eq!(
        db.settings().unwrap().get("grupos").map(String::as_str),
        Some("todos")
    );
    let other = store.tenant(&tid("loja-b")).unwrap();
    assert_eq!(
        other.history(None, 1_000).unwrap().len(),
        50,
        "loja-b untouched"
    );
}

#[test]
fn a_removed_tenant_is_created_again_by_its_restore() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    two_tenants(dir.path());
    run_ok(&config, &["backup", "loja-b"]);
    {
        let store = Store::open(&dir.path().join("data")).unwrap();
        store.remove_tenant(&tid("loja-b")).unwrap();
    }
    std::fs::remove_dir_all(dir.path().join("tokens/loja-b")).unwrap();
    let said = run_ok(&config, &["restore", "loja-b"]);
    assert!(said.contains("criado e restaurado"), "{said}");
    let store = Store::open(&dir.path().join("data")).unwrap();
    let record = store
        .control()
        .tenant(&TenantId::parse("loja-b").unwrap())
        .unwrap();
    assert!(record.is_some());
    let cookies = dir.path().join("tokens/loja-b/profile/Default/Cookies");
    assert_eq!(
        std::fs::read_to_string(cookies).unwrap(),
        "segredo de loja-b"
    );
}

#[test]
fn daily_backups_keep_the_newest_and_never_the_logout_archives() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let text = std::fs::read_to_string(&config).unwrap() + "[backups]\nkeep = 2\n";
    std::fs::write(&config, text).unwrap();
    two_tenants(dir.path());
    let config = orbitbot::config::Config::load(&config).unwrap();
    let store = Store::open(&config.paths.data).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let aside = dir.path().join("tokens/loja-a/logged-out-20261204T000000Z");
    std::fs::create_dir_all(&aside).unwrap();
    std::fs::write(aside.join("Cookies"), "credenciais antigas").unwrap();
    runtime.block_on(async {
        let id = tid("loja-a");
        let kept = backup::archive_logouts(&config, &store, &id).await.unwrap();
        assert_eq!(kept.len(), 1);
        for _ in 0..3 {
            let failed = backup::daily(&config, &store, None).await;
            assert!(failed.is_empty(), "{failed:?}");
        }
    });
    assert!(!aside.exists(), "cleared once archived");
    let a = archives(dir.path(), "loja-a");
    assert_eq!(
        a.iter().filter(|n| n.starts_with("logout-")).count(),
        1,
        "{a:?}"
    );
    assert_eq!(
        a.iter().filter(|n| !n.starts_with("logout-")).count(),
        2,
        "{a:?}"
    );
    assert_eq!(archives(dir.path(), "loja-b").len(), 2);
}
