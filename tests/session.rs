//! The session engine on real Chromium against the simulator: link, receive, send,
//! crash and restart, logout, QR expiry, conflict, send faults; no process left.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orbitbot::bridge::event::BridgeEvent;
use orbitbot::bridge::group;
use orbitbot::config::Config;
use orbitbot::session::process::ProfilePaths;
use orbitbot::session::{Command, SendOpts, SessionEvent, Sessions};
use orbitbot::store::Store;
use orbitbot::tenant::{SessionState, TenantId};
use serde_json::json;
use tokio::sync::mpsc;

use crate::support::{Net, browser_slot, eventually};

const CLIENT: &str = "5511999990010";
const CUSTOMER: &str = "5511999990001";

/// A simulator with the client's and a customer's phones, and the tenant `loja`
/// linked to the client's phone.
pub(crate) async fn linked_loja() -> (Net, Env, TenantId) {
    let net = Net::start().await;
    net.phone(CLIENT, "Loja").await;
    net.phone(CUSTOMER, "Ana").await;
    let mut env = Env::new(&net, "").await;
    let loja = env.tenant("loja");
    env.link(&net, &loja, CLIENT).await;
    (net, env, loja)
}

/// A data folder, a config pointing at the simulator, the store and the sessions.
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: Arc<Config>,
    pub(crate) store: Arc<Store>,
    pub(crate) sessions: Sessions,
    events: mpsc::Receiver<SessionEvent>,
    seen: Vec<SessionEvent>,
}

impl Env {
    pub(crate) async fn new(net: &Net, extra_limits: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let gap = if extra_limits.contains("min_gap_ms") {
            ""
        } else {
            "min_gap_ms = 50\n"
        };
        let text = format!(
            "[admin]\noperators = [\"5511999990000\"]\n\
             [whatsapp]\nurl = \"{}\"\nengine = \"simulator\"\n\
             [limits]\n{gap}typing_ms_per_char = 0\n{extra_limits}",
            net.url("/")
        );
        let path = dir.path().join("admin.toml");
        std::fs::write(&path, text).unwrap();
        let config = Arc::new(Config::load(&path).unwrap());
        let store = Arc::new(Store::open(&config.paths.data).unwrap());
        let (tx, events) = mpsc::channel(256);
        let sessions = Sessions::new(Arc::clone(&config), Arc::clone(&store), tx).unwrap();
        Env {
            dir,
            config,
            store,
            sessions,
            events,
            seen: Vec::new(),
        }
    }

    pub(crate) fn tenant(&self, name: &str) -> TenantId {
        let id = TenantId::parse(name).unwrap();
        self.store.create_tenant(&id, 1).unwrap();
        id
    }

    pub(crate) fn paths(&self, id: &TenantId) -> ProfilePaths {
        ProfilePaths::new(&self.config.paths.tokens, &self.config.paths.data, id)
    }

    pub(crate) fn pgid(&self, id: &TenantId) -> u32 {
        let text = std::fs::read_to_string(self.paths(id).pgid_file).unwrap();
        text.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// Waits for the first event `pick` accepts, keeping every event seen.
    async fn expect<T>(
        &mut self,
        what: &str,
        secs: u64,
        mut pick: impl FnMut(&SessionEvent) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = tokio::time::timeout(left, self.events.recv()).await;
            let Ok(Some(event)) = got else {
                panic!("timed out waiting for {what}; seen: {:#?}", self.seen);
            };
            let found = pick(&event);
            self.seen.push(event);
            if let Some(found) = found {
                return found;
            }
        }
    }

    async fn expect_state(&mut self, id: &TenantId, want: SessionState, secs: u64) {
        let what = format!("{id} {want}");
        self.expect(&what, secs, |e| match e {
            SessionEvent::State { tenant, state, .. } if tenant == id && *state == want => Some(()),
            _ => None,
        })
        .await;
    }

    /// Starts a session, scans its first QR with `phone`, waits until online.
    pub(crate) async fn link(&mut self, net: &Net, id: &TenantId, phone: &str) {
        assert!(self.sessions.start(id));
        let code = self
            .expect("a QR", 30, |e| match e {
                SessionEvent::Qr { code, seq: 1, .. } => Some(code.clone()),
                _ => None,
            })
            .await;
        net.ok("/sim/scan", json!({ "phone": phone, "code": code }))
            .await;
        let me = self
            .expect("online", 30, |e| match e {
                SessionEvent::Online { me, .. } => Some(me.clone()),
                _ => None,
            })
            .await;
        assert_eq!(me.as_deref(), Some(format!("{phone}@c.us").as_str()));
    }

    /// The id of a message with this text, seen already or awaited.
    async fn expect_text(&mut self, from_me: bool, text: &str) -> String {
        let pick = |e: &SessionEvent| match e {
            SessionEvent::Inbound {
                event: BridgeEvent::Message(m),
                ..
            } if m.from_me == from_me && m.text.as_deref() == Some(text) => Some(m.id.clone()),
            _ => None,
        };
        if let Some(id) = self.seen.iter().find_map(pick) {
            return id;
        }
        let what = format!("message {text:?} (from_me {from_me})");
        self.expect(&what, 20, pick).await
    }
}

pub(crate) fn no_process_left(pgid: u32) -> bool {
    !group::alive(pgid) && group::members(pgid).is_empty()
}

fn chromium_of_group(pgid: u32) -> Vec<u32> {
    group::members(pgid)
        .into_iter()
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            exe.to_string_lossy().contains("chrom") && !exe.to_string_lossy().contains("driver")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_receive_send_and_stop_without_leftovers() {
    let _slot = browser_slot().await;
    let (net, mut env, loja) = linked_loja().await;
    let record = env.store.control().tenant(&loja).unwrap().unwrap();
    assert_eq!(record.state, SessionState::Online);
    assert_eq!(record.phone.as_deref(), Some(CLIENT));

    let body = json!({ "from": CUSTOMER, "to": CLIENT, "body": "oi, tudo bem?" });
    let sent = net.ok("/sim/messages", body).await;
    let id = env.expect_text(false, "oi, tudo bem?").await;
    assert_eq!(json!(id), sent["id"]);

    send_text(&env, &loja, CUSTOMER, "olá! 👋", "ORBTEST0001");
    assert_eq!(env.expect_sent("ORBTEST0001").await, Ok(()));
    assert_eq!(
        env.expect_text(true, "olá! 👋").await,
        "ORBTEST0001",
        "echo keeps our id"
    );
    let inbox = net.inbox(CUSTOMER).await;
    assert!(
        inbox
            .iter()
            .any(|m| m["id"] == "ORBTEST0001" && m["body"] == "olá! 👋"),
        "{inbox:?}"
    );

    let pgid = env.pgid(&loja);
    assert!(group::alive(pgid));
    env.sessions.stop(&loja).await;
    assert!(no_process_left(pgid), "{:?}", group::members(pgid));
    assert!(!env.paths(&loja).pgid_file.exists());
    let record = env.store.control().tenant(&loja).unwrap().unwrap();
    assert_eq!(record.state, SessionState::Stopped);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_chromium_restarts_logged_in_and_nothing_is_lost() {
    let _slot = browser_slot().await;
    let (net, mut env, loja) = linked_loja().await;

    let pgid = env.pgid(&loja);
    for pid in chromium_of_group(pgid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    env.expect_state(&loja, SessionState::Crashed, 30).await;
    let body = json!({ "from": CUSTOMER, "to": CLIENT, "body": "mandei enquanto caía" });
    net.ok("/sim/messages", body).await;
    env.expect_state(&loja, SessionState::Online, 60).await;
    assert!(
        !env.seen
            .iter()
            .skip_while(|e| !matches!(
                e,
                SessionEvent::State {
                    state: SessionState::Crashed,
                    ..
                }
            ))
            .any(|e| matches!(e, SessionEvent::Qr { .. })),
        "no QR after the restart: the profile kept the login"
    );
    env.expect_text(false, "mandei enquanto caía").await;
    assert!(no_process_left(pgid), "the crashed browser's group is gone");

    env.sessions.stop(&loja).await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_from_the_phone_ends_the_session_without_reconnecting() {
    let _slot = browser_slot().await;
    let (net, mut env, loja) = linked_loja().await;
    let pgid = env.pgid(&loja);

    net.ok(&format!("/sim/phones/{CLIENT}/logout"), json!({}))
        .await;
    env.expect_state(&loja, SessionState::LoggedOut, 30).await;
    eventually("browser gone", 10, || async {
        no_process_left(pgid).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    while let Ok(event) = env.events.try_recv() {
        assert!(!matches!(
            event,
            SessionEvent::State {
                state: SessionState::Starting,
                ..
            }
        ));
    }
    let root = env.paths(&loja).root;
    let aside: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("logged-out-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "old profile moved aside");
    let state = env.store.control().tenant(&loja).unwrap().unwrap().state;
    assert_eq!(state, SessionState::LoggedOut);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unscanned_attempt_expires_after_qr_resends_codes_and_closes_the_browser() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let timings = json!({ "qr_first_ms": 400, "qr_next_ms": 300, "qr_count": 6 });
    net.ok("/sim/config", timings).await;
    let mut env = Env::new(&net, "qr_resends = 3\n").await;
    let loja = env.tenant("loja");
    assert!(env.sessions.start(&loja));
    let mut codes = Vec::new();
    for want in 1..=3 {
        let code = env
            .expect("a QR", 30, |e| match e {
                SessionEvent::Qr { code, seq, .. } if *seq == want => Some(code.clone()),
                _ => None,
            })
            .await;
        codes.push(code);
    }
    codes.dedup();
    assert_eq!(codes.len(), 3, "codes rotate");
    let pgid = env.pgid(&loja);
    env.expect_state(&loja, SessionState::QrExpired, 30).await;
    eventually("browser gone", 10, || async {
        no_process_left(pgid).then_some(())
    })
    .await;
    assert!(
        !env.seen
            .iter()
            .any(|e| matches!(e, SessionEvent::Qr { seq: 4, .. }))
    );
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_then_takeover_and_a_rate_limited_send_is_retried_once() {
    let _slot = browser_slot().await;
    let (net, mut env, loja) = linked_loja().await;

    net.ok(&format!("/sim/phones/{CLIENT}/conflict"), json!({}))
        .await;
    env.expect_state(&loja, SessionState::Conflict, 20).await;
    assert!(env.sessions.command(&loja, Command::Takeover));
    env.expect_state(&loja, SessionState::Online, 20).await;

    let fault = json!({ "account": CLIENT, "send_error": "rate-overlimit", "after_n": 0 });
    net.ok("/sim/faults", fault).await;
    send_text(&env, &loja, CUSTOMER, "depois do limite", "ORBTEST0002");
    assert_eq!(env.expect_sent("ORBTEST0002").await, Ok(()));
    let inbox = net.inbox(CUSTOMER).await;
    let copies = inbox
        .iter()
        .filter(|m| m["body"] == "depois do limite")
        .count();
    assert_eq!(copies, 1, "{inbox:?}");
    assert_eq!(
        env.sessions.state(&loja),
        Some(SessionState::Online),
        "not torn down"
    );

    env.sessions.stop(&loja).await;
    net.shutdown().await;
}

fn send_text(env: &Env, tenant: &TenantId, to: &str, text: &str, id: &str) {
    let command = Command::SendText {
        to: format!("{to}@c.us"),
        text: text.into(),
        id: id.into(),
        opts: SendOpts::default(),
    };
    assert!(
        env.sessions.command(tenant, command),
        "session of {tenant} runs"
    );
}

impl Env {
    async fn expect_sent(&mut self, want: &str) -> Result<(), String> {
        self.expect(&format!("send {want}"), 30, |e| match e {
            SessionEvent::SendDone { id, result, .. } if id == want => Some(result.clone()),
            _ => None,
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_are_paced_media_arrives_and_a_failing_tenant_does_not_slow_another() {
    let _slots = crate::support::browser_slots(2).await;
    let net = Net::start().await;
    let (other, other_customer) = ("5511999990020", "5511999990002");
    for phone in [CLIENT, CUSTOMER, other, other_customer] {
        net.phone(phone, "x").await;
    }
    let mut env = Env::new(&net, "min_gap_ms = 400\n").await;
    let (loja, padaria) = (env.tenant("loja"), env.tenant("padaria"));
    env.link(&net, &loja, CLIENT).await;
    env.link(&net, &padaria, other).await;

    // F09: a burst to one chat leaves the account spaced by the configured gap.
    for i in 0..5 {
        send_text(
            &env,
            &loja,
            CUSTOMER,
            &format!("rajada {i}"),
            &format!("ORBBURST{i}"),
        );
    }
    for i in 0..5 {
        assert_eq!(env.expect_sent(&format!("ORBBURST{i}")).await, Ok(()));
    }
    let inbox = net.inbox(CUSTOMER).await;
    let times: Vec<u64> = inbox
        .iter()
        .filter(|m| m["body"].as_str().is_some_and(|b| b.starts_with("rajada")))
        .map(|m| m["received_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(times.len(), 5, "{inbox:?}");
    let min_gap = env.config.limits.min_gap.as_millis() as u64;
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] + 20 >= min_gap,
            "sends closer than the gap: {times:?}"
        );
    }

    // An image goes out as media with its caption.
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pixel.png")).unwrap();
    let file = orbitbot::session::MediaFile {
        bytes: png.clone(),
        mimetype: "image/png".into(),
        filename: Some("pixel.png".into()),
        caption: Some("nosso cardápio".into()),
        ptt: false,
    };
    let to = format!("{CUSTOMER}@c.us");
    assert!(env.sessions.command(
        &loja,
        Command::SendMedia {
            to,
            file,
            id: "ORBIMG1".into(),
            opts: SendOpts::default(),
        }
    ));
    assert_eq!(env.expect_sent("ORBIMG1").await, Ok(()));
    let inbox = net.inbox(CUSTOMER).await;
    let image = inbox
        .iter()
        .find(|m| m["id"] == "ORBIMG1")
        .expect("image in the inbox");
    assert_eq!(image["caption"], "nosso cardápio");
    assert_eq!(image["mimetype"], "image/png");
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(image["media_b64"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, png);

    // One tenant's rate limit backs off its own queue only.
    let fault = json!({ "account": CLIENT, "send_error": "rate-overlimit", "after_n": 0 });
    net.ok("/sim/faults", fault).await;
    send_text(&env, &loja, CUSTOMER, "vai esperar", "ORBSLOW");
    tokio::time::sleep(Duration::from_millis(100)).await;
    send_text(&env, &padaria, other_customer, "não espera", "ORBFAST");
    let first_done = env
        .expect("a send done", 30, |e| match e {
            SessionEvent::SendDone { id, .. } if id == "ORBSLOW" || id == "ORBFAST" => {
                Some(id.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(first_done, "ORBFAST");
    assert_eq!(env.expect_sent("ORBSLOW").await, Ok(()));
    assert_eq!(env.sessions.state(&loja), Some(SessionState::Online));

    env.sessions.stop_all().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_sessions_at_once_link_and_stop_cleanly() {
    let _slots = crate::support::browser_slots(2).await;
    let net = Net::start().await;
    let mut env = Env::new(&net, "").await;
    let mut tenants = Vec::new();
    for i in 0..5 {
        let phone = format!("55119999901{i:02}");
        net.phone(&phone, "x").await;
        let id = env.tenant(&format!("cliente{i}"));
        assert!(env.sessions.start(&id));
        tenants.push((id, phone));
    }
    let mut linked = 0;
    while linked < 5 {
        let (tenant, code) = env
            .expect("a first QR", 60, |e| match e {
                SessionEvent::Qr {
                    tenant,
                    code,
                    seq: 1,
                } => Some((tenant.clone(), code.clone())),
                _ => None,
            })
            .await;
        let phone = &tenants.iter().find(|(id, _)| *id == tenant).unwrap().1;
        net.ok("/sim/scan", json!({ "phone": phone, "code": code }))
            .await;
        linked += 1;
    }
    for (id, _) in &tenants {
        eventually("all online", 60, || async {
            (env.sessions.state(id) == Some(SessionState::Online)).then_some(())
        })
        .await;
    }
    let groups: Vec<u32> = tenants.iter().map(|(id, _)| env.pgid(id)).collect();
    let args = env.sessions.spec(&tenants[0].0).browser.extra_args;
    let agent = args
        .iter()
        .find(|a| a.starts_with("--user-agent="))
        .expect("a user agent");
    assert!(
        agent.contains("Chrome/") && !agent.contains("Headless"),
        "{agent}"
    );
    env.sessions.stop_all().await;
    for pgid in groups {
        assert!(
            no_process_left(pgid),
            "group {pgid} left: {:?}",
            group::members(pgid)
        );
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_held_by_a_foreign_live_process_is_refused_clearly() {
    let net = Net::start().await;
    let mut env = Env::new(&net, "").await;
    let loja = env.tenant("loja");
    let profile = env.paths(&loja).profile;
    std::fs::create_dir_all(&profile).unwrap();
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let owner = format!("{host}-{}", std::process::id());
    std::os::unix::fs::symlink(&owner, profile.join("SingletonLock")).unwrap();

    env.store
        .control()
        .set_state(&loja, SessionState::Stopped, 1)
        .unwrap();
    assert!(env.sessions.start(&loja));
    env.expect_state(&loja, SessionState::Starting, 10).await;
    let detail = env
        .expect("failed", 20, |e| match e {
            SessionEvent::State {
                state: SessionState::Failed,
                detail,
                ..
            } => detail.clone(),
            _ => None,
        })
        .await;
    assert!(
        detail.contains("em uso") && detail.contains(&owner),
        "{detail}"
    );
    assert!(
        !env.paths(&loja).pgid_file.exists(),
        "no browser was started"
    );
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_never_starts_ends_failed_after_the_restart_attempts() {
    let net = Net::start().await;
    let env = Env::new(&net, "restart_attempts = 3\n").await;
    let mut config = (*env.config).clone();
    config.whatsapp.chromedriver = "/bin/false".into();
    let (tx, mut events) = mpsc::channel(64);
    let sessions = Sessions::new(Arc::new(config), Arc::clone(&env.store), tx).unwrap();
    let loja = env.tenant("loja");
    sessions.start(&loja);
    let mut crashes = 0;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.recv()).await;
        match event.unwrap().unwrap() {
            SessionEvent::State {
                state: SessionState::Crashed,
                ..
            } => crashes += 1,
            SessionEvent::State {
                state: SessionState::Failed,
                ..
            } => break,
            _ => {}
        }
    }
    assert_eq!(
        crashes, 2,
        "the third crash in a row is `failed`, not another restart"
    );
    let state = env.store.control().tenant(&loja).unwrap().unwrap().state;
    assert_eq!(state, SessionState::Failed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(sessions.state(&loja).is_none(), "no more retries");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_code_then_inbound_fields_for_media_groups_and_lids_and_downloads() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let member = "5511999990003";
    for phone in [CLIENT, CUSTOMER, member] {
        net.phone(phone, "x").await;
    }
    let mut env = Env::new(&net, "").await;
    let loja = env.tenant("loja");

    // Link by pairing code instead of QR.
    assert!(env.sessions.start(&loja));
    env.expect_state(&loja, SessionState::Qr, 30).await;
    assert!(
        env.sessions
            .command(&loja, Command::PairingCode(CLIENT.into()))
    );
    let code = env
        .expect("a pairing code", 20, |e| match e {
            SessionEvent::PairCode { code, .. } => Some(code.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        code.chars().filter(char::is_ascii_alphanumeric).count(),
        8,
        "{code}"
    );
    net.ok("/sim/pair", json!({ "phone": CLIENT, "code": code }))
        .await;
    env.expect_state(&loja, SessionState::Online, 30).await;

    // A captioned image: the caption is the text, never the media bytes.
    use base64::Engine as _;
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pixel.png")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let image = json!({ "from": CUSTOMER, "to": CLIENT, "type": "image", "caption": "foto",
        "media_b64": b64, "mimetype": "image/png" });
    let image_id = net.ok("/sim/messages", image).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let message = env
        .expect("the image", 20, |e| match e {
            SessionEvent::Inbound {
                event: BridgeEvent::Message(m),
                ..
            } if m.id == image_id => Some(m.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (message.kind.as_str(), message.text.as_deref()),
        ("image", Some("foto"))
    );
    assert!(message.has_media && message.is_new && !message.is_group);
    assert_eq!(message.mimetype.as_deref(), Some("image/png"));
    assert_eq!(message.chat_id, format!("{CUSTOMER}@c.us"));
    let (reply, answer) = tokio::sync::oneshot::channel();
    let download = Command::Download {
        msg_id: image_id.clone(),
        reply,
    };
    assert!(env.sessions.command(&loja, download));
    let got = answer.await.unwrap().unwrap();
    assert_eq!(got.bytes, png);

    // A group message names the group as chat and the member as author.
    let group = net
        .ok(
            "/sim/groups",
            json!({ "members": [CLIENT, CUSTOMER, member] }),
        )
        .await;
    let group_id = group["id"].as_str().unwrap().to_owned();
    let post = json!({ "from": member, "group": group_id, "body": "oi grupo" });
    net.ok("/sim/messages", post).await;
    let message = env
        .expect("the group message", 20, |e| match e {
            SessionEvent::Inbound {
                event: BridgeEvent::Message(m),
                ..
            } if m.text.as_deref() == Some("oi grupo") => Some(m.clone()),
            _ => None,
        })
        .await;
    assert!(message.is_group);
    assert_eq!(message.chat_id, group_id);
    assert_eq!(
        message.author.as_deref(),
        Some(format!("{member}@c.us").as_str())
    );

    // A sender by LID carries its phone in senderPn.
    let post = json!({ "from": CUSTOMER, "to": CLIENT, "body": "pelo lid", "as_lid": true });
    net.ok("/sim/messages", post).await;
    let message = env
        .expect("the LID message", 20, |e| match e {
            SessionEvent::Inbound {
                event: BridgeEvent::Message(m),
                ..
            } if m.text.as_deref() == Some("pelo lid") => Some(m.clone()),
            _ => None,
        })
        .await;
    assert!(
        message.from.as_deref().is_some_and(|f| f.ends_with("@lid")),
        "{message:?}"
    );
    assert_eq!(
        message.sender_pn.as_deref(),
        Some(format!("{CUSTOMER}@c.us").as_str())
    );

    // Odd shapes from the page are logged, never fatal: the session goes on.
    for payload in [json!({ "foo": 1 }), json!("texto solto"), json!(null)] {
        let raw = json!({ "to": CLIENT, "event": "chat.new_message", "payload": payload });
        net.ok("/sim/raw", raw).await;
    }
    let post = json!({ "from": CUSTOMER, "to": CLIENT, "body": "ainda aqui?" });
    net.ok("/sim/messages", post).await;
    env.expect_text(false, "ainda aqui?").await;
    assert_eq!(env.sessions.state(&loja), Some(SessionState::Online));

    // A long text leaves as ordered parts with counters.
    let long = "Parágrafo longo com acentuação. ".repeat(300);
    send_text(&env, &loja, CUSTOMER, &long, "ORBLONG");
    for id in ["ORBLONG", "ORBLONG-2", "ORBLONG-3"] {
        assert_eq!(env.expect_sent(id).await, Ok(()));
    }
    let inbox = net.inbox(CUSTOMER).await;
    let parts: Vec<&str> = inbox
        .iter()
        .filter(|m| m["id"].as_str().is_some_and(|id| id.starts_with("ORBLONG")))
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(parts.len(), 3);
    assert!(
        parts[0].ends_with("(1/3)") && parts[2].ends_with("(3/3)"),
        "{parts:?}"
    );
    assert!(parts.iter().all(|p| p.chars().count() <= 4_000));

    env.sessions.stop_all().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_session_keeps_refreshing_its_qr_instead_of_expiring() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let timings = json!({ "qr_first_ms": 300, "qr_next_ms": 300, "qr_count": 2 });
    net.ok("/sim/config", timings).await;
    let mut env = Env::new(&net, "qr_resends = 2\n").await;
    let admin = TenantId::admin();
    assert!(env.sessions.start(&admin));
    let mut codes = std::collections::HashSet::new();
    while codes.len() < 5 {
        let code = env
            .expect("admin QR codes", 30, |e| match e {
                SessionEvent::Qr { code, .. } => Some(code.clone()),
                _ => None,
            })
            .await;
        codes.insert(code);
    }
    assert_eq!(env.sessions.state(&admin), Some(SessionState::Qr));
    assert!(!env.seen.iter().any(|e| matches!(
        e,
        SessionEvent::State {
            state: SessionState::QrExpired,
            ..
        }
    )));
    env.sessions.stop_all().await;
    net.shutdown().await;
}

/// F14's small version (the soak itself is `cargo bench --bench sessions`): sessions
/// stopped and started again and again come back logged in, leave no process and no
/// record behind, and keep the state they had (a shutdown is no operator stop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_start_cycles_leave_nothing_behind() {
    let _slots = crate::support::browser_slots(2).await;
    let net = Net::start().await;
    let phones = ["5511999990031", "5511999990032"];
    for phone in phones {
        net.phone(phone, "x").await;
    }
    let mut env = Env::new(&net, "").await;
    let tenants = [env.tenant("ciclo-a"), env.tenant("ciclo-b")];
    for (id, phone) in tenants.iter().zip(phones) {
        env.link(&net, id, phone).await;
    }
    for _ in 0..3 {
        let groups: Vec<u32> = tenants.iter().map(|id| env.pgid(id)).collect();
        env.sessions.stop_all().await;
        for (id, pgid) in tenants.iter().zip(groups) {
            assert!(no_process_left(pgid), "{:?}", group::members(pgid));
            assert!(!env.paths(id).pgid_file.exists());
            let state = env.store.control().tenant(id).unwrap().unwrap().state;
            assert_eq!(state, SessionState::Online, "resumed by the next start");
        }
        for id in &tenants {
            assert!(env.sessions.start(id));
        }
        for id in &tenants {
            eventually("online again", 60, || async {
                (env.sessions.state(id) == Some(SessionState::Online)).then_some(())
            })
            .await;
        }
        while let Ok(event) = env.events.try_recv() {
            assert!(
                !matches!(event, SessionEvent::Qr { .. }),
                "logged in without a QR"
            );
        }
    }
    env.sessions.stop_all().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_logout_unlinks_the_device_and_ends_the_session() {
    let _slot = browser_slot().await;
    let (net, mut env, loja) = linked_loja().await;
    let pgid = env.pgid(&loja);

    assert!(env.sessions.command(&loja, Command::Logout));
    env.expect_state(&loja, SessionState::LoggedOut, 30).await;
    eventually("browser gone", 10, || async {
        no_process_left(pgid).then_some(())
    })
    .await;
    let account = net.account(CLIENT).await;
    assert_eq!(account["state"], "logged_out", "{account}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_session_survives_conflict_and_logout() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let admin_phone = "5511999990099";
    net.phone(admin_phone, "Admin").await;
    let mut env = Env::new(&net, "").await;
    let admin = TenantId::admin();
    env.link(&net, &admin, admin_phone).await;

    // Nobody could ask the admin to take over: it does so by itself.
    net.ok(&format!("/sim/phones/{admin_phone}/conflict"), json!({}))
        .await;
    env.expect_state(&admin, SessionState::Conflict, 20).await;
    env.expect_state(&admin, SessionState::Online, 20).await;

    // Logged out from the phone, it shows a fresh QR again instead of ending.
    net.ok(&format!("/sim/phones/{admin_phone}/logout"), json!({}))
        .await;
    env.expect_state(&admin, SessionState::LoggedOut, 20).await;
    let code = env
        .expect("a new admin QR", 30, |e| match e {
            SessionEvent::Qr { code, .. } => Some(code.clone()),
            _ => None,
        })
        .await;
    net.ok("/sim/scan", json!({ "phone": admin_phone, "code": code }))
        .await;
    env.expect_state(&admin, SessionState::Online, 30).await;
    env.sessions.stop_all().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_site_is_retried_not_failed() {
    let _slot = browser_slot().await;
    let net = Net::start().await;
    let env = Env::new(&net, "restart_attempts = 1\n").await;
    let mut config = (*env.config).clone();
    // A loopback port nobody listens on: the page cannot load.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    config.whatsapp.url = url.parse().unwrap();
    let (tx, mut events) = mpsc::channel(64);
    let sessions = Sessions::new(Arc::new(config), Arc::clone(&env.store), tx).unwrap();
    let loja = env.tenant("loja");
    sessions.start(&loja);
    let mut retries = 0;
    while retries < 2 {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv()).await;
        match event.unwrap().unwrap() {
            SessionEvent::State {
                state: SessionState::Starting,
                detail: Some(why),
                ..
            } => {
                assert!(why.contains(&format!("cannot reach {url}")), "{why}");
                retries += 1;
            }
            SessionEvent::State { state, .. } => {
                assert!(
                    !matches!(state, SessionState::Failed | SessionState::Crashed),
                    "{state}"
                );
            }
            _ => {}
        }
    }
    assert!(sessions.state(&loja).is_some(), "still trying");
    sessions.stop_all().await;
    net.shutdown().await;
}
