//! The client pipeline on real Chromium against the simulator: the field cases that
//! are about WhatsApp itself (echoes, statuses and channels, LIDs, duplicates, edits,
//! a backlog after downtime, bursts and rate limits, a 70 000-character AI answer), and
//! a kill -9 of `orbitbot run` in the middle of a burst.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use orbitbot::ai::AiClient;
use orbitbot::client::catalog::Catalog;
use orbitbot::client::{Outlet, Pipeline};
use orbitbot::config::Config;
use orbitbot::session::{SessionEvent, Sessions};
use orbitbot::store::Store;
use orbitbot::tenant::{SessionState, TenantId};
use orbitbot::transcribe::model::Whisper;
use orbitbot::transcribe::pool::Transcriber;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::common::Running;
use crate::pipeline::COMMANDS;
use crate::session::Env;
use crate::support::fake_ai::{FakeAi, FakeReply};
use crate::support::speech::voice_note;
use crate::support::{Net, browser_slot, browser_slots, eventually};

const CLIENT: &str = "5511999990010";
const MENU: &str = "Menu: 1) Horários 2) Preços";

/// Sessions and the client pipeline in this process, as `run` wires them.
struct Client {
    _dir: tempfile::TempDir,
    config: Arc<Config>,
    store: Arc<Store>,
    sessions: Arc<Sessions>,
    tee: mpsc::UnboundedReceiver<SessionEvent>,
    router: tokio::task::JoinHandle<()>,
}

impl Client {
    async fn new(net: &Net, limits: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        write_commands(dir.path());
        let text = format!(
            "[admin]\noperators = [\"5511999990000\"]\n\
             [whatsapp]\nurl = \"{}\"\nengine = \"simulator\"\n\
             [limits]\ntyping_ms_per_char = 0\n{limits}",
            net.url("/")
        );
        std::fs::write(dir.path().join("admin.toml"), text).unwrap();
        let config = Arc::new(Config::load(&dir.path().join("admin.toml")).unwrap());
        let store = Arc::new(Store::open(&config.paths.data).unwrap());
        let (tx, mut events) = mpsc::channel(1_024);
        let sessions =
            Arc::new(Sessions::new(Arc::clone(&config), Arc::clone(&store), tx).unwrap());
        let catalog = Catalog::load(&config.paths.commands).unwrap();
        let outlet: Arc<dyn Outlet> = Arc::clone(&sessions) as Arc<dyn Outlet>;
        let ai = config
            .ai
            .as_ref()
            .map(|ai| AiClient::new(ai, None).unwrap());
        let mut pipeline =
            Pipeline::new(Arc::clone(&config), Arc::clone(&store), outlet, catalog, ai);
        if config.transcription.model.exists() {
            let whisper = Whisper::load(&config.transcription.model).unwrap();
            let transcriber = Transcriber::start(Arc::new(whisper), 1);
            pipeline = pipeline.with_transcriber(Arc::new(transcriber));
        }
        let (tee_tx, tee) = mpsc::unbounded_channel();
        let router = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let _ = tee_tx.send(event.clone());
                pipeline.dispatch(event);
            }
        });
        Client {
            _dir: dir,
            config,
            store,
            sessions,
            tee,
            router,
        }
    }

    /// Creates `loja`, links it to `CLIENT` and waits until it is online.
    async fn linked(net: &Net, limits: &str) -> (Client, TenantId) {
        net.phone(CLIENT, "Loja").await;
        let mut client = Client::new(net, limits).await;
        let loja = TenantId::parse("loja").unwrap();
        client.store.create_tenant(&loja, 1).unwrap();
        client.sessions.start(&loja);
        let code = client
            .wait(|e| match e {
                SessionEvent::Qr { code, .. } => Some(code.clone()),
                _ => None,
            })
            .await;
        net.ok("/sim/scan", json!({"phone": CLIENT, "code": code}))
            .await;
        client.online().await;
        (client, loja)
    }

    async fn online(&mut self) {
        self.wait(|e| matches!(e, SessionEvent::Online { .. }).then_some(()))
            .await;
    }

    async fn wait<T>(&mut self, mut pick: impl FnMut(&SessionEvent) -> Option<T>) -> T {
        loop {
            let got = tokio::time::timeout(Duration::from_secs(60), self.tee.recv()).await;
            let event = got.expect("session event in time").expect("sessions run");
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    }

    async fn stop(self) {
        self.sessions.stop_all().await;
        self.router.abort();
    }
}

fn write_commands(dir: &Path) {
    std::fs::create_dir_all(dir.join("commands")).unwrap();
    std::fs::write(dir.join("commands/casos.toml"), COMMANDS).unwrap();
}

/// Registers `n` customer phones `5511977700000`, `5511977700001`, ...
async fn customers(net: &Net, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let phone = format!("55119777{i:05}");
        net.phone(&phone, &format!("Cliente {i}")).await;
        out.push(phone);
    }
    out
}

/// What the account sent to a phone (its inbox, from the account).
async fn replies_to(net: &Net, phone: &str) -> Vec<Value> {
    let inbox = net.inbox(phone).await;
    let account = format!("{CLIENT}@c.us");
    inbox.into_iter().filter(|m| m["from"] == account).collect()
}

/// Waits until every phone got at least one answer; their counts.
async fn all_answered(net: &Net, phones: &[String]) -> Vec<usize> {
    eventually("every customer answered", 90, || async {
        let mut counts = Vec::new();
        for p in phones {
            counts.push(replies_to(net, p).await.len());
        }
        counts.iter().all(|n| *n >= 1).then_some(counts)
    })
    .await
}

fn texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn post(net: &Net, from: &str, body: &str, extra: Value) -> String {
    let mut msg = json!({"from": from, "to": CLIENT, "body": body});
    if let (Some(m), Some(e)) = (msg.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    let answer = net.ok("/sim/messages", msg).await;
    answer["id"].as_str().unwrap().to_owned()
}

/// A status, a channel post and a ciphertext stub, as raw engine events.
async fn post_raw_noise(net: &Net, customer: &str) {
    let noise = [
        ("status@broadcast", "ST-1", "image", "!menu"),
        ("120363000000000002@newsletter", "NL-1", "chat", "!menu"),
        ("120363000000000002@newsletter", "NL-2", "unknown", ""),
        (&*format!("{customer}@c.us"), "CT-1", "ciphertext", ""),
    ];
    for (remote, id, kind, body) in noise {
        let payload = json!({
            "id": {"id": id, "fromMe": false, "remote": remote,
                   "_serialized": format!("false_{remote}_{id}")},
            "from": remote, "author": format!("{customer}@c.us"),
            "to": format!("{CLIENT}@c.us"), "type": kind, "body": body,
            "t": jiff::Timestamp::now().as_second(), "isNewMsg": true});
        let raw = json!({"to": CLIENT, "event": "chat.new_message", "payload": payload});
        net.ok("/sim/raw", raw).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reply_per_message_on_a_real_page() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let (client, loja) = Client::linked(&net, "min_gap_ms = 50\n").await;
    let ana = customers(&net, 1).await.remove(0);

    // F02, F03: statuses, channels and stubs reach the page and are dropped.
    post_raw_noise(&net, &ana).await;
    // F01: a message typed on the client's phone comes back as an echo; a note-to-self.
    post(&net, CLIENT, "já te respondo", json!({"to": ana})).await;
    post(&net, CLIENT, "!menu", json!({"to": CLIENT})).await;
    // F06: the same message by LID and by phone; F07: the same event twice.
    post(
        &net,
        &ana,
        "!saldo",
        json!({"id": "3EB0LID1", "as_lid": true}),
    )
    .await;
    post(&net, &ana, "!saldo", json!({"id": "3EB0LID1"})).await;
    post(&net, &ana, "!status", json!({"id": "D-1"})).await;
    post(&net, &ana, "!status", json!({"id": "D-1"})).await;
    // F20: a typo, then its edit: the edit runs nothing.
    let typo = post(&net, &ana, "!mneu", json!({})).await;
    net.ok(
        "/sim/edits",
        json!({"from": ana, "to": CLIENT, "id": typo, "body": "!menu"}),
    )
    .await;
    post(&net, &ana, "!menu", json!({"id": "LAST"})).await;

    let got = eventually("five messages to Ana", 30, || async {
        let replies = replies_to(&net, &ana).await;
        (replies.len() >= 5).then_some(replies)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = texts(&replies_to(&net, &ana).await);
    assert_eq!(
        all.len(),
        5,
        "exactly one reply per message: {all:#?} (first {got:?})"
    );
    assert_eq!(all[0], "já te respondo", "typed on the client's phone");
    assert_eq!(all[1], "Seu saldo, Cliente 0: R$ 10,00");
    assert_eq!(all[2], "Pedido a caminho");
    assert!(all[3].contains("comando desconhecido"));
    assert_eq!(all[4], MENU);
    let own = texts(&replies_to(&net, CLIENT).await);
    assert_eq!(
        own,
        ["!menu"],
        "only the note itself: the bot answered no note"
    );

    let db = client.store.tenant(&loja).unwrap();
    let edited = db.message(&typo).unwrap().unwrap();
    assert_eq!(
        (edited.text.as_deref(), edited.edited),
        (Some("!menu"), true)
    );
    let contact = db.contact(&format!("{ana}@c.us")).unwrap().unwrap();
    assert!(
        contact.lid.is_some(),
        "LID learnt from senderPn: {contact:?}"
    );
    for id in ["ST-1", "NL-1", "NL-2"] {
        assert!(db.message(id).unwrap().is_none(), "{id}");
    }
    let sent = db.history(None, 100).unwrap();
    let ours = sent.iter().filter(|e| e.from_me).count();
    assert_eq!(
        ours,
        4 + 2,
        "our 4 replies and the 2 typed on the phone, once each"
    );
    client.stop().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f08_backlog_after_downtime_gets_one_voltamos_and_live_goes_first() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let (mut client, loja) = Client::linked(&net, "min_gap_ms = 1500\n").await;
    let people = customers(&net, 4).await;
    client.sessions.stop(&loja).await;

    // While the browser is down: 8 old messages from 3 contacts, 2-3 hours old.
    for n in 0..8_i64 {
        let t = jiff::Timestamp::now().as_second() - 3 * 3600 + n * 600;
        post(&net, &people[(n % 3) as usize], "!menu", json!({"t": t})).await;
    }
    client.sessions.start(&loja);
    client.online().await;
    post(&net, &people[3], "!menu", json!({})).await;

    let live = eventually("the live answer", 30, || async {
        replies_to(&net, &people[3]).await.pop()
    })
    .await;
    eventually("three voltamos", 30, || async {
        let mut n = 0;
        for p in &people[..3] {
            n += replies_to(&net, p).await.len();
        }
        (n >= 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut last_back = 0;
    for p in &people[..3] {
        let got = replies_to(&net, p).await;
        assert_eq!(texts(&got).len(), 1, "{p}: {got:#?}");
        assert!(texts(&got)[0].starts_with("Voltamos!"));
        last_back = last_back.max(got[0]["received_ms"].as_u64().unwrap());
    }
    assert_eq!(live["body"], MENU);
    assert!(
        live["received_ms"].as_u64().unwrap() < last_back,
        "the live answer did not wait behind the backlog"
    );
    let db = client.store.tenant(&loja).unwrap();
    let inbound = db
        .history(None, 100)
        .unwrap()
        .iter()
        .filter(|e| !e.from_me)
        .count();
    assert_eq!(inbound, 9, "all recorded");
    client.stop().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f09_a_burst_is_paced_and_a_rate_limited_send_is_retried() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let (client, loja) = Client::linked(&net, "min_gap_ms = 150\nper_minute = 100\n").await;
    let people = customers(&net, 20).await;
    let group = net
        .ok(
            "/sim/groups",
            json!({"members": [CLIENT, people[0], people[1]]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let control = client.store.control();
    orbitbot::client::permissions::grant(
        control,
        &loja,
        "grupos",
        None,
        orbitbot::store::Permission::Allow,
    )
    .unwrap();
    net.ok(
        "/sim/faults",
        json!({"account": CLIENT, "send_error": "rate-overlimit", "after_n": 4}),
    )
    .await;
    for p in &people {
        post(&net, p, "!menu", json!({})).await;
    }
    for _ in 0..5 {
        let body = json!({"from": people[0], "group": group, "body": "!menu"});
        net.ok("/sim/messages", body).await;
    }

    let everything = eventually("25 replies", 60, || async {
        let mut all = Vec::new();
        for p in &people {
            all.extend(replies_to(&net, p).await);
        }
        // Each group reply lands in both members' inboxes: count the second's.
        let member = replies_to(&net, &people[1]).await;
        let to_group = member.iter().filter(|m| m["group"] == group).count();
        let direct = all.iter().filter(|m| m["group"].is_null()).count();
        (direct >= 20 && to_group >= 5).then_some(all)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let member = replies_to(&net, &people[1]).await;
    let to_group = member.iter().filter(|m| m["group"] == group).count();
    assert_eq!(to_group, 5, "one reply per group command, in the group");
    let direct: Vec<&Value> = everything.iter().filter(|m| m["group"].is_null()).collect();
    let mut per_phone: HashMap<String, usize> = HashMap::new();
    for m in &direct {
        *per_phone
            .entry(m["to"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        per_phone.len() == 20 && per_phone.values().all(|n| *n == 1),
        "one reply each: {per_phone:?}"
    );
    let mut times: Vec<u64> = direct
        .iter()
        .map(|m| m["received_ms"].as_u64().unwrap())
        .collect();
    times.sort_unstable();
    let tightest = times.windows(2).map(|w| w[1] - w[0]).min().unwrap();
    assert!(
        tightest >= 140,
        "no two sends closer than the gap: {tightest} ms"
    );
    assert_eq!(
        client.sessions.state(&loja),
        Some(SessionState::Online),
        "not torn down"
    );
    client.stop().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_a_burst_loses_and_repeats_nothing() {
    let _slots = browser_slots(2).await;
    let net = Net::start().await;
    net.phone(CLIENT, "Loja").await;
    let mut env = Env::new(&net, "min_gap_ms = 700\n").await;
    let loja = env.tenant("loja");
    env.link(&net, &loja, CLIENT).await;
    env.sessions.stop_all().await;
    env.store
        .control()
        .set_state(&loja, SessionState::Online, 1)
        .unwrap();
    write_commands(env.dir.path());
    let config = env.config.file.clone();
    drop(env.sessions);
    drop(env.store);
    let everyone = customers(&net, 15).await;
    let (people, while_down) = everyone.split_at(12);

    let first = tokio::task::block_in_place(|| Running::start(&config));
    eventually("loja online under run", 60, || async {
        (net.account(CLIENT).await["connected"] == true).then_some(())
    })
    .await;
    for p in people {
        post(&net, p, "!menu", json!({})).await;
    }
    eventually("a few replies out", 60, || async {
        let mut n = 0;
        for p in people {
            n += replies_to(&net, p).await.len();
        }
        (n >= 3).then_some(())
    })
    .await;
    tokio::task::block_in_place(|| first.kill_9());
    // Sent while orbitbot is down: the killed run's browser still takes them.
    for p in while_down {
        post(&net, p, "!menu", json!({})).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let second = tokio::task::block_in_place(|| Running::start(&config));
    let counts = all_answered(&net, &everyone).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut after = Vec::new();
    for p in &everyone {
        after.push(texts(&replies_to(&net, p).await));
    }
    assert!(
        after.iter().all(|t| t == &[MENU]),
        "exactly one each: {after:#?} {counts:?}"
    );
    let (status, log) = tokio::task::block_in_place(|| second.stop());
    assert!(status.success(), "{log}");
    drop(env.dir);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f22_a_backup_under_load_loses_nothing_and_restores_its_snapshot() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let (mut client, loja) = Client::linked(&net, "min_gap_ms = 20\nper_minute = 600\n").await;
    let people = customers(&net, 30).await;

    // 5 messages a second for 6 s; the backup runs in the middle.
    let feeder = {
        let (url, people) = (net.url("/sim/messages"), people.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for p in &people {
                let body = json!({"from": p, "to": CLIENT, "body": "!menu"});
                http.post(&url).json(&body).send().await.unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sessions = Some(&*client.sessions);
    let taken = orbitbot::backup::take(&client.config, &client.store, sessions, &loja, None)
        .await
        .unwrap();
    feeder.await.unwrap();
    client.online().await;

    // The live tenant lost nothing: every customer answered once.
    let answered = all_answered(&net, &people).await;
    assert!(answered.iter().all(|n| *n == 1), "{answered:?}");

    // The archive restores exactly a snapshot: a prefix of the live history.
    let archive =
        orbitbot::backup::tenant_dir(&client.config.paths.backups, &loja).join(&taken.name);
    let unpacked = tempfile::tempdir().unwrap();
    let target = unpacked.path().join("x");
    orbitbot::backup::extract(&archive, &target).unwrap();
    let copy = Store::open(&unpacked.path().join("data")).unwrap();
    copy.restore_tenant_db(&loja, &target.join("tenant.redb"))
        .unwrap();
    let snapshot: Vec<String> = copy
        .tenant(&loja)
        .unwrap()
        .history(None, 1_000)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let live: Vec<String> = client
        .store
        .tenant(&loja)
        .unwrap()
        .history(None, 1_000)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(
        !snapshot.is_empty() && snapshot.len() < live.len(),
        "{} of {}",
        snapshot.len(),
        live.len()
    );
    assert_eq!(
        snapshot[..],
        live[..snapshot.len()],
        "the snapshot is the live history's prefix"
    );
    client.stop().await;
    net.shutdown().await;
}

/// F21's AI answer: 70 000 characters of Portuguese with accents, emoji sequences
/// (👨‍👩‍👧) and one 5 000-character line with no spaces.
fn f21_answer() -> String {
    let mut text = String::new();
    let mut n = 0;
    while text.chars().count() < 60_000 {
        n += 1;
        text.push_str(&format!(
            "Parágrafo {n}: a família 👨‍👩‍👧 agradece a atenção, \
             ação e coração. \
             Você já conhece nossa promoção de verão? São preços únicos! 🇧🇷\n\n"
        ));
    }
    text.push_str(&"ção👨‍👩‍👧".repeat(625));
    text.push_str("\n\nFim da resposta.");
    let missing = 70_000 - text.chars().count();
    text.insert_str(0, &"é".repeat(missing));
    assert_eq!(text.chars().count(), 70_000);
    text
}

/// A part's text without its `\n(i/n)` counter.
fn without_counter(part: &str, i: usize, n: usize) -> &str {
    let counter = format!("\n({i}/{n})");
    part.strip_suffix(&counter)
        .unwrap_or_else(|| panic!("part {i} lacks {counter:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f21_a_70k_ai_answer_arrives_whole_in_ordered_parts() {
    let _slot = browser_slot().await;
    let answer = f21_answer();
    let script = answer.clone();
    let ai = FakeAi::start(move |_, _| FakeReply::text(script.clone())).await;
    let net = Net::start().await;
    let limits = format!(
        "min_gap_ms = 50\nper_minute = 60\n\
         [ai]\nbase_url = \"{}\"\nmodel = \"modelo-teste\"\n",
        ai.base_url()
    );
    let (client, _) = Client::linked(&net, &limits).await;
    let ana = customers(&net, 1).await.remove(0);
    post(&net, &ana, "me conta tudo sobre a loja", json!({})).await;

    let expected = orbitbot::session::split::split_message(&answer, 4_000).len();
    let parts = eventually("every part of the long answer", 120, || async {
        let got = texts(&replies_to(&net, &ana).await);
        (got.len() >= expected).then_some(got)
    })
    .await;
    assert_eq!(parts.len(), expected, "no part sent twice");
    assert!(expected >= 18, "{expected} parts");
    let mut whole = String::new();
    for (i, part) in parts.iter().enumerate() {
        assert!(
            part.chars().count() <= 4_000,
            "part {} has {}",
            i + 1,
            part.chars().count()
        );
        whole.push_str(without_counter(part, i + 1, expected));
    }
    let squeeze = |t: &str| t.split_whitespace().collect::<String>();
    assert_eq!(squeeze(&whole), squeeze(&answer), "text lost or reordered");
    let family = "👨‍👩‍👧";
    assert_eq!(
        whole.matches(family).count(),
        answer.matches(family).count()
    );
    assert_eq!(ai.count(), 1);
    client.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_note_on_a_real_page_is_heard_and_a_spoken_menu_runs_menu() {
    use base64::Engine as _;
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    let limits = format!(
        "min_gap_ms = 50\n[transcription]\nmodel = \"{}\"\n",
        model.display()
    );
    let (client, loja) = Client::linked(&net, &limits).await;
    let ana = customers(&net, 1).await.remove(0);
    let b64 = base64::engine::general_purpose::STANDARD;
    for (id, words) in [
        ("VN-1", "Bom dia, eu gostaria de marcar uma consulta."),
        ("VN-2", "Menu."),
    ] {
        let note = json!({"id": id, "type": "ptt", "mimetype": "audio/ogg; codecs=opus",
            "media_b64": b64.encode(voice_note(words)), "duration_s": 4});
        post(&net, &ana, "", note).await;
    }
    let got = eventually("the echoes and the menu", 180, || async {
        let got = texts(&replies_to(&net, &ana).await);
        (got.len() >= 3).then_some(got)
    })
    .await;
    assert!(got[0].starts_with("🎤 Transcrição: "), "{got:#?}");
    assert!(got[0].to_lowercase().contains("bom dia"), "{got:#?}");
    // Whisper may write "Menú": commands are matched without accents.
    assert!(
        orbitbot::client::words::fold(&got[1]).contains("menu"),
        "{got:#?}"
    );
    assert_eq!(got[2], MENU, "{got:#?}");

    // F18 on the page: audio sent as a document, an m4a audio, a note whose media fails
    // to decrypt: two heard, one polite reply, the session goes on.
    let sentence = "Bom dia, eu gostaria de marcar uma consulta.";
    let document = json!({"id": "VN-3", "type": "document", "mimetype": "audio/ogg",
        "filename": "audio.ogg", "media_b64": b64.encode(voice_note(sentence))});
    post(&net, &ana, "", document).await;
    let m4a = json!({"id": "VN-4", "type": "audio", "mimetype": "audio/mp4", "duration_s": 3,
        "media_b64": b64.encode(crate::support::speech::m4a(sentence))});
    post(&net, &ana, "", m4a).await;
    let got = eventually("the document and the m4a heard", 180, || async {
        let got = texts(&replies_to(&net, &ana).await);
        (got.len() >= 5).then_some(got)
    })
    .await;
    for heard in &got[3..5] {
        assert!(heard.to_lowercase().contains("bom dia"), "{got:#?}");
    }
    net.ok(
        "/sim/faults",
        json!({"account": CLIENT, "media": "decrypt"}),
    )
    .await;
    let broken = json!({"id": "VN-5", "type": "ptt", "mimetype": "audio/ogg; codecs=opus",
        "media_b64": b64.encode(voice_note(sentence))});
    post(&net, &ana, "", broken).await;
    let got = eventually("the polite reply", 60, || async {
        let got = texts(&replies_to(&net, &ana).await);
        (got.len() >= 6).then_some(got)
    })
    .await;
    assert!(got[5].contains("Não consegui ouvir seu áudio"), "{got:#?}");
    assert_eq!(client.sessions.state(&loja), Some(SessionState::Online));
    client.stop().await;
}
