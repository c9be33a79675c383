//! End to end: `orbitbot run` as a separate process, driven only through the
//! simulator's control API, as an operator and clients would. The demo's story (the
//! QR image decoded from the operator's chat and scanned), a pairing code, a link
//! attempt that expires and a fresh `!qr` (F10), then kill -9 and a restart: sessions
//! come back without a QR, nothing is answered twice, one restart alert (F11); a
//! logout from the phone (F15) and `!remover` (F13).

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::Running;
use crate::support::{Net, browser_slots, eventually, processes_with};

pub(crate) const ADMIN: &str = "5511999990099";
pub(crate) const OPERATOR: &str = "5511999990000";
pub(crate) const CLIENT_A: &str = "5511999990010";
const CLIENT_B: &str = "5511999990020";
pub(crate) const CUSTOMER: &str = "5511999990001";

fn write_config(dir: &Path, net: &Net) -> std::path::PathBuf {
    let text = format!(
        "[admin]\noperators = [\"{OPERATOR}\"]\n\
         [whatsapp]\nurl = \"{}\"\nengine = \"simulator\"\nqr_first_s = 4\nqr_next_s = 2\n\
         [limits]\nmin_gap_ms = 100\ntyping_ms_per_char = 0\nqr_resends = 3\n",
        net.url("/")
    );
    let commands = dir.join("commands");
    std::fs::create_dir_all(&commands).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("commands/padrao.toml");
    std::fs::copy(shipped, commands.join("padrao.toml")).unwrap();
    let path = dir.join("admin.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A simulator with these phones, a temp dir and a config for `run` in it.
pub(crate) async fn rig(phones: &[&str]) -> (Net, tempfile::TempDir, std::path::PathBuf) {
    let net = Net::start().await;
    for phone in phones {
        net.phone(phone, "x").await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &net);
    (net, dir, config)
}

/// The operator's chat: what the admin account sent to the operator.
pub(crate) async fn operator_chat(net: &Net) -> Vec<Value> {
    let admin = format!("{ADMIN}@c.us");
    let inbox = net.inbox(OPERATOR).await;
    inbox.into_iter().filter(|m| m["from"] == admin).collect()
}

pub(crate) fn text_of(m: &Value) -> String {
    let text = m["body"].as_str().or(m["caption"].as_str());
    text.unwrap_or_default().to_owned()
}

/// Waits for a message in the operator's chat, after the first `after`, whose text
/// contains `needle`.
pub(crate) async fn expect_operator(net: &Net, after: usize, needle: &str) -> Value {
    let what = format!("operator message with {needle:?}");
    eventually(&what, 60, || async {
        let chat = operator_chat(net).await;
        chat.into_iter()
            .skip(after)
            .find(|m| text_of(m).contains(needle))
    })
    .await
}

pub(crate) async fn say(net: &Net, text: &str) -> usize {
    let seen = operator_chat(net).await.len();
    let body = json!({"from": OPERATOR, "to": ADMIN, "body": text});
    net.ok("/sim/messages", body).await;
    seen
}

/// The QR text of a PNG image sent in the chat.
fn decode_image(m: &Value) -> String {
    let b64 = m["media_b64"].as_str().expect("an image");
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    orbitbot::demo::decode(&png).expect("a QR code")
}

pub(crate) async fn linked_admin(net: &Net, data: &Path) {
    let png = data.join("admin-qr.png");
    let code = eventually("the admin QR image", 60, || async {
        orbitbot::demo::decode(&std::fs::read(&png).ok()?)
    })
    .await;
    net.ok("/sim/scan", json!({"phone": ADMIN, "code": code}))
        .await;
    eventually("admin linked", 30, || async {
        (net.account(ADMIN).await["state"] == "main").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_runs_everything_from_whatsapp_across_a_kill_9() {
    let _slots = browser_slots(2).await;
    let (net, dir, config) = rig(&[ADMIN, OPERATOR, CLIENT_A, CLIENT_B, CUSTOMER]).await;
    let first = tokio::task::block_in_place(|| Running::start(&config));
    linked_admin(&net, &dir.path().join("data")).await;

    // The demo's story: QR image → decoded → scanned → online → a customer answered.
    let seen = say(&net, "!novo demo-loja").await;
    let image = expect_operator(&net, seen, "QR de demo-loja #1").await;
    let caption = text_of(&image);
    assert!(caption.contains("válido até "), "{caption}");
    net.ok(
        "/sim/scan",
        json!({"phone": CLIENT_A, "code": decode_image(&image)}),
    )
    .await;
    expect_operator(&net, seen, "demo-loja online").await;
    let body = json!({"from": CUSTOMER, "to": CLIENT_A, "body": "!menu"});
    net.ok("/sim/messages", body).await;
    eventually("the menu", 30, || async {
        let inbox = net.inbox(CUSTOMER).await;
        (!inbox.is_empty()).then_some(())
    })
    .await;

    // A stranger gets one polite refusal a day; an edited command runs nothing (F20).
    for _ in 0..2 {
        let body = json!({"from": CUSTOMER, "to": ADMIN, "body": "!novo invasor"});
        net.ok("/sim/messages", body).await;
    }
    let seen = say(&net, "!novo clentx").await;
    let typo = eventually("the typo's id", 10, || async {
        let inbox = net.inbox(ADMIN).await;
        let sent = inbox.iter().rev().find(|m| m["body"] == "!novo clentx");
        sent.and_then(|m| m["id"].as_str().map(str::to_owned))
    })
    .await;
    expect_operator(&net, seen, "Cliente clentx criado").await;
    let edit = json!({"from": OPERATOR, "to": ADMIN, "id": typo, "body": "!novo clientex"});
    net.ok("/sim/edits", edit).await;
    let seen = say(&net, "!remover clentx confirmar").await;
    expect_operator(&net, seen, "clentx removido").await;
    let seen = say(&net, "!clientes").await;
    let list = text_of(&expect_operator(&net, seen, "👥").await);
    assert!(
        !list.contains("clientex") && !list.contains("clentx"),
        "{list}"
    );
    let refusals = net.inbox(CUSTOMER).await;
    let refusals: Vec<&Value> = refusals
        .iter()
        .filter(|m| m["from"] == format!("{ADMIN}@c.us"))
        .collect();
    assert_eq!(refusals.len(), 1, "one refusal a day: {refusals:#?}");
    assert!(
        net.inbox(CUSTOMER)
            .await
            .iter()
            .all(|m| text_of(m) != "invasor")
    );

    // A pairing code instead of a scan.
    let seen = say(&net, &format!("!novo loja-b {CLIENT_B}")).await;
    let code_msg = expect_operator(&net, seen, "Código de pareamento").await;
    let text = text_of(&code_msg);
    let code = text
        .split_whitespace()
        .find(|w| w.len() == 9 && w.as_bytes()[4] == b'-')
        .unwrap_or_else(|| panic!("a XXXX-XXXX code in {text}"));
    net.ok("/sim/pair", json!({"phone": CLIENT_B, "code": code}))
        .await;
    expect_operator(&net, seen, "loja-b online").await;

    // F10: nobody scans; codes rotate, then the attempt expires; !qr starts afresh.
    net.ok(
        "/sim/config",
        json!({"qr_first_ms": 3000, "qr_next_ms": 1500, "qr_count": 3}),
    )
    .await;
    let seen = say(&net, "!novo parada").await;
    let expired = expect_operator(&net, seen, "expirou").await;
    assert!(text_of(&expired).contains("!qr parada"));
    let chat = operator_chat(&net).await;
    let images: Vec<String> = chat[seen..]
        .iter()
        .filter(|m| m["type"] == "image")
        .map(text_of)
        .collect();
    assert!(!images.is_empty() && images.len() <= 3, "{images:#?}");
    assert!(images[0].contains("#1"));
    let old_code = decode_image(chat[seen..].iter().find(|m| m["type"] == "image").unwrap());
    let seen = say(&net, "!qr parada").await;
    let fresh = expect_operator(&net, seen, "QR de parada #1").await;
    assert_ne!(
        decode_image(&fresh),
        old_code,
        "a fresh code, never a cached one"
    );
    expect_operator(&net, seen, "expirou").await;

    // kill -9, then a restart: both linked tenants back without a QR, one alert.
    let replies_before = net.inbox(CUSTOMER).await.len();
    assert_eq!(replies_before, 2, "the menu and the refusal");
    let mut loads = Vec::new();
    for phone in [ADMIN, CLIENT_A, CLIENT_B] {
        loads.push(net.account(phone).await["page_loads"].as_u64().unwrap());
    }
    tokio::task::block_in_place(|| first.kill_9());
    let seen = operator_chat(&net).await.len();
    let second = tokio::task::block_in_place(|| Running::start(&config));
    let summary = expect_operator(&net, seen, "reiniciado").await;
    let summary = text_of(&summary);
    assert!(
        summary.contains("demo-loja") && summary.contains("loja-b"),
        "{summary}"
    );
    for (phone, before) in [ADMIN, CLIENT_A, CLIENT_B].into_iter().zip(loads) {
        eventually("back online without a scan", 60, || async {
            let account = net.account(phone).await;
            let reloaded = account["page_loads"].as_u64().unwrap() > before;
            let main = account["state"] == "main" && account["connected"] == true;
            (reloaded && main).then_some(())
        })
        .await;
    }
    // Online in the simulator comes a moment before orbitbot records it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = say(&net, "!status").await;
    let status = text_of(&expect_operator(&net, seen, "📊").await);
    assert!(status.contains("demo-loja — online"), "{status}");
    assert!(status.contains("loja-b — online"), "{status}");
    assert!(
        status.contains("parada — QR expirado"),
        "stays expired: {status}"
    );
    let restarts = operator_chat(&net).await;
    let restarts = restarts
        .iter()
        .filter(|m| text_of(m).contains("reiniciado"))
        .count();
    assert_eq!(restarts, 1, "one restart alert, not one per session");
    assert_eq!(
        net.inbox(CUSTOMER).await.len(),
        replies_before,
        "nothing answered twice"
    );

    // F13: loja-b's browser is killed: detected, restarted, the operator told once.
    let seen = operator_chat(&net).await.len();
    let loads = net.account(CLIENT_B).await["page_loads"].as_u64().unwrap();
    let pgid = std::fs::read_to_string(dir.path().join("data/run/loja-b.pgid")).unwrap();
    let pgid: i32 = pgid.split_whitespace().next().unwrap().parse().unwrap();
    let own = nix::unistd::getpgrp().as_raw();
    assert!(
        pgid > 1 && pgid != own,
        "a browser group of its own: {pgid}"
    );
    let group = nix::unistd::Pid::from_raw(pgid);
    nix::sys::signal::killpg(group, nix::sys::signal::SIGKILL).unwrap();
    expect_operator(&net, seen, "o navegador caiu").await;
    eventually("loja-b back after the crash", 60, || async {
        let account = net.account(CLIENT_B).await;
        let back = account["page_loads"].as_u64().unwrap() > loads && account["state"] == "main";
        back.then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let chat = operator_chat(&net).await;
    let crashes = chat[seen..]
        .iter()
        .filter(|m| text_of(m).contains("navegador caiu"))
        .count();
    assert_eq!(crashes, 1, "told once");

    // F15: the phone logs loja-b out: one alert, no reconnect.
    let seen = operator_chat(&net).await.len();
    let loads = net.account(CLIENT_B).await["page_loads"].clone();
    net.ok(&format!("/sim/phones/{CLIENT_B}/logout"), json!({}))
        .await;
    let alert = expect_operator(&net, seen, "desconectado").await;
    assert!(text_of(&alert).contains("!qr loja-b"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        net.account(CLIENT_B).await["page_loads"],
        loads,
        "no reconnect"
    );
    let alerts = operator_chat(&net).await;
    let alerts = alerts[seen..]
        .iter()
        .filter(|m| text_of(m).contains("desconectado"))
        .count();
    assert_eq!(alerts, 1);

    // F15: the logged-out credentials are archived, then cleared.
    let backups = dir.path().join("backups/loja-b");
    eventually("the logout archive", 30, || async {
        let list = orbitbot::backup::list(&backups).ok()?;
        list.iter()
            .any(|a| a.name.starts_with("logout-"))
            .then_some(())
    })
    .await;
    let tokens = std::fs::read_dir(dir.path().join("tokens/loja-b")).unwrap();
    let aside = tokens
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("logged-out-"));
    assert_eq!(aside.count(), 0, "cleared after archiving");

    // F22 from the phone: !backup, then the tenant removed and restored: back online
    // without a QR.
    let seen = say(&net, "!backup demo-loja").await;
    let taken = text_of(&expect_operator(&net, seen, "Backup de demo-loja").await);
    assert!(taken.contains(".tar.zst"), "{taken}");
    let seen = say(&net, "!backups demo-loja").await;
    expect_operator(&net, seen, "Backups de demo-loja (1)").await;

    // F13: !remover ends demo-loja's browser and its files.
    let profile = dir.path().join("tokens/demo-loja");
    assert!(!processes_with(&profile.display().to_string()).is_empty());
    let seen = say(&net, "!remover demo-loja confirmar").await;
    expect_operator(&net, seen, "demo-loja removido").await;
    eventually("no demo-loja browser", 30, || async {
        processes_with(&profile.display().to_string())
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(!profile.exists());

    let loads = net.account(CLIENT_A).await["page_loads"].as_u64().unwrap();
    let seen = say(&net, "!restaurar demo-loja").await;
    expect_operator(&net, seen, "demo-loja criado e restaurado").await;
    eventually("demo-loja back from its backup, no scan", 60, || async {
        let account = net.account(CLIENT_A).await;
        let back = account["page_loads"].as_u64().unwrap() > loads && account["state"] == "main";
        back.then_some(())
    })
    .await;
    expect_operator(&net, seen, "demo-loja online").await;
    let chat = operator_chat(&net).await;
    assert!(
        chat[seen..].iter().all(|m| m["type"] != "image"),
        "no QR needed"
    );

    let (status, log) = tokio::task::block_in_place(|| second.stop());
    assert!(status.success(), "{log}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_pair_links_the_admin_with_a_pairing_code_on_the_terminal() {
    let _slots = browser_slots(1).await;
    let (net, dir, config) = rig(&[ADMIN, OPERATOR]).await;
    let run = tokio::task::block_in_place(|| Running::start_with(&config, &["--pair", ADMIN]));
    // The run's stdout, `run-<n>.out` beside the config.
    let out = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "out"))
        .unwrap();
    let code = eventually("the pairing code on stdout", 60, || async {
        let text = std::fs::read_to_string(&out).ok()?;
        let line = text
            .lines()
            .find(|l| l.contains("Código de pareamento do admin"))?;
        line.split_whitespace().last().map(str::to_owned)
    })
    .await;
    net.ok("/sim/pair", json!({"phone": ADMIN, "code": code}))
        .await;
    eventually("admin linked by code", 30, || async {
        (net.account(ADMIN).await["state"] == "main").then_some(())
    })
    .await;
    let seen = say(&net, "!clientes").await;
    expect_operator(&net, seen, "Nenhum cliente ainda").await;
    let (status, log) = tokio::task::block_in_place(|| run.stop());
    assert!(status.success(), "{log}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_voice_note_runs_only_after_sim() {
    let _slots = browser_slots(1).await;
    let (net, dir, config) = rig(&[ADMIN, OPERATOR]).await;
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[transcription]\nmodel = \"{}\"\n",
        model.display()
    ));
    std::fs::write(&config, text).unwrap();
    let run = tokio::task::block_in_place(|| Running::start(&config));
    linked_admin(&net, &dir.path().join("data")).await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let spoken = |id: &str| {
        json!({"from": OPERATOR, "to": ADMIN, "id": id, "type": "ptt",
               "mimetype": "audio/ogg; codecs=opus",
               "media_b64": b64.encode(crate::support::speech::voice_note("Clientes."))})
    };
    let seen = operator_chat(&net).await.len();
    net.ok("/sim/messages", spoken("VOZ-1")).await;
    let heard = text_of(&expect_operator(&net, seen, "🎤").await);
    assert!(heard.starts_with("🎤 Entendi: !clientes"), "{heard}");
    let seen = say(&net, "sim").await;
    expect_operator(&net, seen, "Nenhum cliente ainda").await;
    let seen = operator_chat(&net).await.len();
    net.ok("/sim/messages", spoken("VOZ-2")).await;
    expect_operator(&net, seen, "🎤 Entendi: !clientes").await;
    let seen = say(&net, "não").await;
    expect_operator(&net, seen, "Cancelado: !clientes").await;
    let (status, log) = tokio::task::block_in_place(|| run.stop());
    assert!(status.success(), "{log}");
    net.shutdown().await;
}

#[test]
fn the_demo_walks_the_whole_story() {
    let _slots = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(browser_slots(2));
    // From the repository, where `models/` holds the voice model of step 8.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orbitbot"))
        .arg("demo")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("[8/8]")
            && stdout.contains("🎤 Transcrição:")
            && stdout.contains("demo completa"),
        "{stdout}"
    );
}
