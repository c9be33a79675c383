//! `orbitbot run` as a process, against the simulator: sessions come back logged in
//! after a kill -9 (F11), and the browsers the killed run left are ended (F13).

use std::path::Path;
use std::time::Duration;

use orbitbot::bridge::group;
use orbitbot::tenant::SessionState;
use serde_json::json;

use crate::common::{Running, orbitbot};
use crate::session::{linked_loja, no_process_left};
use crate::support::{browser_slots, eventually};

const CLIENT: &str = "5511999990010";
const CUSTOMER: &str = "5511999990001";

fn state_of(config: &Path, tenant: &str) -> Option<String> {
    let table = String::from_utf8_lossy(&orbitbot(config, &["tenants"]).stdout).into_owned();
    let row = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(tenant))?;
    row.split_whitespace().nth(1).map(str::to_owned)
}

fn read_pgid(file: &Path) -> Option<u32> {
    std::fs::read_to_string(file)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_next_run_ends_leftovers_and_resumes_logged_in() {
    let _slots = browser_slots(2).await;
    // Link the tenant once with the library, then hand the data folder to `run`.
    let (net, env, loja) = linked_loja().await;
    env.sessions.stop_all().await;
    env.store
        .control()
        .set_state(&loja, SessionState::Online, 1)
        .unwrap();
    let config = env.config.file.clone();
    let pgid_file = env.paths(&loja).pgid_file;
    let admin_pgid_file = pgid_file.with_file_name("admin.pgid");
    drop(env.sessions);
    drop(env.store);

    let first = tokio::task::block_in_place(|| Running::start(&config));
    eventually("loja online under run", 60, || async {
        (state_of(&config, "loja").as_deref() == Some("online")).then_some(())
    })
    .await;
    let old_loja = read_pgid(&pgid_file).unwrap();
    let old_admin = eventually("admin browser", 30, || async {
        read_pgid(&admin_pgid_file)
    })
    .await;

    tokio::task::block_in_place(|| first.kill_9());
    assert!(group::alive(old_loja), "kill -9 leaves the browser behind");

    let body = json!({ "from": CUSTOMER, "to": CLIENT, "body": "enquanto o orbitbot caía" });
    net.ok("/sim/messages", body).await;
    let second = tokio::task::block_in_place(|| Running::start(&config));
    eventually("leftovers ended", 30, || async {
        (no_process_left(old_loja) && no_process_left(old_admin)).then_some(())
    })
    .await;
    eventually("loja online again, no QR", 60, || async {
        (state_of(&config, "loja").as_deref() == Some("online")).then_some(())
    })
    .await;
    let new_loja = read_pgid(&pgid_file).unwrap();
    assert_ne!(new_loja, old_loja);
    // Online again means logged in from the kept profile: nobody scanned a second time.
    let account = net.account(CLIENT).await;
    assert_eq!(
        (account["state"].as_str(), account["connected"].as_bool()),
        (Some("main"), Some(true))
    );

    let (status, log) = tokio::task::block_in_place(|| second.stop());
    assert!(status.success(), "{log}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(no_process_left(new_loja), "a clean stop ends every browser");
    assert!(!pgid_file.exists());

    // A clean stop is no operator stop: the next run resumes the tenant.
    assert_eq!(state_of(&config, "loja").as_deref(), Some("online"));
    let third = tokio::task::block_in_place(|| Running::start(&config));
    eventually("loja resumed after a clean stop", 60, || async {
        let loaded = read_pgid(&pgid_file).is_some_and(|pgid| pgid != new_loja);
        (loaded && state_of(&config, "loja").as_deref() == Some("online")).then_some(())
    })
    .await;
    let (status, log) = tokio::task::block_in_place(|| third.stop());
    assert!(status.success(), "{log}");
    drop(env.dir);
    net.shutdown().await;
}
