//! The client pipeline driven directly (no browser): sessions are stood in for by an
//! outlet that records every command and reports each send done, as a session would.
//! Field cases about pure logic live here; the ones about WhatsApp itself run on the
//! simulator in `client_sim`.

mod ai;
mod cases;
mod features;
mod voice;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use orbitbot::ai::{AiClient, ApiKey};
use orbitbot::bridge::event::{BridgeEvent, InboundMessage};
use orbitbot::bridge::page::Download;
use orbitbot::client::catalog::Catalog;
use orbitbot::client::{Notice, Outlet, Pipeline};
use orbitbot::config::Config;
use orbitbot::session::{Command, SessionEvent};
use orbitbot::store::Store;
use orbitbot::tenant::TenantId;
use orbitbot::transcribe::model::Whisper;
use orbitbot::transcribe::pool::Transcriber;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The tenant's own number (FIELD-CASES conventions).
pub(crate) const ACCOUNT: &str = "5511999990010";
pub(crate) const C1: &str = "5511999990001";
pub(crate) const C2: &str = "5511999990002";
pub(crate) const C3: &str = "5511999990003";
pub(crate) const GROUP: &str = "120363000000000001@g.us";

/// The commands the field cases name, as a test's own `commands/*.toml`.
pub(crate) const COMMANDS: &str = r#"
[[command]]
name = "menu"
aliases = ["cardapio"]
help = "Mostra o menu"
reply = "Menu: 1) Horários 2) Preços"
keywords = ["cardápio"]

[[command]]
name = "saldo"
help = "Mostra o saldo"
reply = "Seu saldo, {nome}: R$ 10,00"

[[command]]
name = "status"
help = "Situação do pedido"
reply = "Pedido a caminho"

[[command]]
name = "limpar"
help = "Limpa a conversa"
reply = "Conversa limpa"
restricted = true

[[command]]
name = "preco"
help = "Preços"
reply = "Preços para {nome} ({numero}) em {cliente}: consulte {args}"
patterns = ['(?i)\bquanto custa\b']

[[command]]
name = "atendente"
help = "Chama uma pessoa"
plugin = "atendente"

[[command]]
name = "horario"
help = "Nosso horário"
plugin = "horario"

[[command]]
name = "ajuda"
help = "Lista os comandos"
plugin = "ajuda"

[[command]]
name = "ping"
help = "Teste"
reply = "pong"

[[command]]
name = "resumo"
help = "Resumo por IA"
ai = "Resuma a conversa"

[[command]]
name = "transcrever"
help = "Transcreve o áudio respondido"
plugin = "transcrever"
"#;

/// One send a session was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) tenant: String,
    pub(crate) to: String,
    pub(crate) text: String,
    pub(crate) id: String,
    pub(crate) check_first: bool,
    pub(crate) low_priority: bool,
}

/// Records commands; while `up`, reports every send done at once, like a session.
struct FakeSessions {
    up: AtomicBool,
    tx: mpsc::UnboundedSender<(TenantId, Command)>,
}

impl Outlet for FakeSessions {
    fn send(&self, tenant: &TenantId, command: Command) -> bool {
        self.up.load(Ordering::Relaxed) && self.tx.send((tenant.clone(), command)).is_ok()
    }
}

/// A data folder, a config, the store and a running pipeline.
pub(crate) struct Bench {
    _dir: tempfile::TempDir,
    pub(crate) config: Arc<Config>,
    pub(crate) store: Arc<Store>,
    pipeline: Option<Arc<Pipeline>>,
    outlet: Arc<FakeSessions>,
    sent: mpsc::UnboundedReceiver<Sent>,
    pump: tokio::task::JoinHandle<()>,
    /// What the pipeline told the operators.
    pub(crate) notices: mpsc::UnboundedReceiver<Notice>,
    /// The key the AI client sends (the tests' `[ai]` names no variable).
    ai_key: Option<String>,
    /// What a download of a message's media gives, by message id.
    media: Media,
    /// Downloads asked for, by message id, in order.
    pub(crate) downloads: Arc<Mutex<Vec<String>>>,
    /// The transcriber the pipeline hears voice notes with.
    transcriber: Option<Arc<Transcriber>>,
}

type Media = Arc<Mutex<HashMap<String, Result<Download, String>>>>;

impl Bench {
    /// A bench with the field cases' commands and tenants `names`, all on `ACCOUNT`.
    pub(crate) async fn new(names: &[&str]) -> Bench {
        Bench::with(names, "").await
    }

    /// Same, with extra `[limits]` lines.
    pub(crate) async fn with(names: &[&str], limits: &str) -> Bench {
        Bench::build(names, limits, &[], None).await
    }

    /// A bench whose tenants answer with AI at `base_url` (`[ai]` plus `ai_lines`),
    /// sending `key`, with extra files under the data folder (`commands/personas/…`).
    pub(crate) async fn with_ai(
        names: &[&str],
        base_url: &str,
        ai_lines: &str,
        files: &[(&str, &str)],
        key: Option<&str>,
    ) -> Bench {
        let tail = format!(
            "[ai]\nbase_url = \"{base_url}\"\nmodel = \"modelo-teste\"\ntimeout_s = 10\n{ai_lines}"
        );
        Bench::build(names, &tail, files, key).await
    }

    async fn build(names: &[&str], tail: &str, files: &[(&str, &str)], key: Option<&str>) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("commands")).unwrap();
        std::fs::write(dir.path().join("commands/casos.toml"), COMMANDS).unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let text = format!(
            "[admin]\noperators = [\"5511999990000\"]\ntimezone = \"America/Sao_Paulo\"\n\
             [whatsapp]\nurl = \"http://127.0.0.1:9\"\nengine = \"simulator\"\n\
             [limits]\nmin_gap_ms = 50\n{tail}"
        );
        let path = dir.path().join("admin.toml");
        std::fs::write(&path, text).unwrap();
        let config = Arc::new(Config::load(&path).unwrap());
        let store = Arc::new(Store::open(&config.paths.data).unwrap());
        for name in names {
            let id = TenantId::parse(name).unwrap();
            store.create_tenant(&id, 1).unwrap();
            store
                .control()
                .set_phone(&id, Some(ACCOUNT.to_owned()))
                .unwrap();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let outlet = Arc::new(FakeSessions {
            up: AtomicBool::new(true),
            tx,
        });
        let (sent_tx, sent) = mpsc::unbounded_channel();
        let mut bench = Bench {
            _dir: dir,
            config,
            store,
            pipeline: None,
            outlet,
            sent,
            pump: tokio::spawn(async {}),
            notices: mpsc::unbounded_channel().1,
            ai_key: key.map(str::to_owned),
            media: Arc::default(),
            downloads: Arc::default(),
            transcriber: None,
        };
        bench.start_pipeline(rx, sent_tx);
        bench
    }

    fn start_pipeline(
        &mut self,
        mut commands: mpsc::UnboundedReceiver<(TenantId, Command)>,
        sent: mpsc::UnboundedSender<Sent>,
    ) {
        let catalog = Catalog::load(&self.config.paths.commands).unwrap();
        let outlet: Arc<dyn Outlet> = self.outlet.clone();
        let ai = self.config.ai.as_ref().map(|ai| {
            let key = self.ai_key.as_deref().map(ApiKey::new);
            let client = AiClient::new(ai, key).unwrap();
            client.with_timing(Duration::from_secs(10), 2, Duration::from_millis(50))
        });
        let mut pipeline = Pipeline::new(
            Arc::clone(&self.config),
            Arc::clone(&self.store),
            outlet,
            catalog,
            ai,
        );
        if let Some(transcriber) = &self.transcriber {
            pipeline = pipeline.with_transcriber(Arc::clone(transcriber));
        }
        let pipeline = Arc::new(pipeline);
        self.notices = pipeline.notices().unwrap();
        let feedback = Arc::clone(&pipeline);
        let (media, downloads) = (Arc::clone(&self.media), Arc::clone(&self.downloads));
        self.pump = tokio::spawn(async move {
            while let Some((tenant, command)) = commands.recv().await {
                let (to, text, id, opts) = match command {
                    Command::SendText { to, text, id, opts } => (to, text, id, opts),
                    Command::Download { msg_id, reply } => {
                        downloads.lock().unwrap().push(msg_id.clone());
                        let found = media.lock().unwrap().get(&msg_id).cloned();
                        let _ = reply.send(found.unwrap_or(Err("no media".into())));
                        continue;
                    }
                    _ => continue,
                };
                let done = SessionEvent::SendDone {
                    tenant: tenant.clone(),
                    id: id.clone(),
                    result: Ok(()),
                    unsent: false,
                };
                let _ = sent.send(Sent {
                    tenant: tenant.to_string(),
                    to,
                    text,
                    id,
                    check_first: opts.check_first,
                    low_priority: opts.low_priority,
                });
                feedback.dispatch(done);
            }
        });
        self.pipeline = Some(pipeline);
    }

    /// Stops the pipeline as `run` does at shutdown, and starts a fresh one on the same
    /// store: what a restart of orbitbot looks like to the pipeline.
    pub(crate) async fn restart(&mut self) {
        self.pump.abort();
        let _ = (&mut self.pump).await;
        let pipeline = self.pipeline.take().unwrap();
        let Ok(pipeline) = Arc::try_unwrap(pipeline) else {
            panic!("pipeline still shared");
        };
        pipeline.shutdown().await;
        let (tx, rx) = mpsc::unbounded_channel();
        self.outlet = Arc::new(FakeSessions {
            up: AtomicBool::new(true),
            tx,
        });
        let (sent_tx, sent) = mpsc::unbounded_channel();
        self.sent = sent;
        self.start_pipeline(rx, sent_tx);
    }

    /// Hears voice notes with the repository's Whisper model (`models/`), shared by
    /// every bench of the test binary; the pipeline restarts to take it.
    pub(crate) async fn hearing(&mut self) {
        self.transcriber = Some(Arc::new(Transcriber::start(whisper(), 1)));
        self.restart().await;
    }

    /// A download of `id`'s media gives these bytes.
    pub(crate) fn media(&self, id: &str, bytes: Vec<u8>, mimetype: &str) {
        let download = Download {
            bytes,
            mimetype: mimetype.to_owned(),
        };
        self.media
            .lock()
            .unwrap()
            .insert(id.to_owned(), Ok(download));
    }

    /// A download of `id`'s media fails with `why`, as the page says it.
    pub(crate) fn media_fails(&self, id: &str, why: &str) {
        self.media
            .lock()
            .unwrap()
            .insert(id.to_owned(), Err(why.to_owned()));
    }

    /// Whether the stand-in sessions take sends.
    pub(crate) fn sessions_up(&self, up: bool) {
        self.outlet.up.store(up, Ordering::Relaxed);
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        self.pipeline.as_ref().unwrap()
    }

    pub(crate) fn tenant(&self, name: &str) -> TenantId {
        TenantId::parse(name).unwrap()
    }

    /// The session of `tenant` came online as `ACCOUNT`.
    pub(crate) fn online(&self, tenant: &str) {
        self.pipeline().dispatch(SessionEvent::Online {
            tenant: self.tenant(tenant),
            me: Some(format!("{ACCOUNT}@c.us")),
            lid: Some("184467440001299@lid".into()),
        });
    }

    /// Delivers a message (a FIELD-CASES style object) to `tenant`.
    pub(crate) fn deliver(&self, tenant: &str, fields: Value) {
        let event = BridgeEvent::Message(Box::new(message(fields)));
        self.event(tenant, event);
    }

    /// Delivers any page event to `tenant`.
    pub(crate) fn event(&self, tenant: &str, event: BridgeEvent) {
        self.pipeline().dispatch(SessionEvent::Inbound {
            tenant: self.tenant(tenant),
            event,
        });
    }

    /// The next `n` sends, in order.
    pub(crate) async fn sends(&mut self, n: usize) -> Vec<Sent> {
        let mut out = Vec::new();
        while out.len() < n {
            let got = tokio::time::timeout(Duration::from_secs(60), self.sent.recv()).await;
            match got {
                Ok(Some(sent)) => out.push(sent),
                _ => panic!("waited for {n} sends, got {out:#?}"),
            }
        }
        out
    }

    /// Waits until every reply of `tenant` is reported sent (none pending).
    pub(crate) async fn settled(&self, tenant: &str) {
        let db = self.store.tenant(&self.tenant(tenant)).unwrap();
        for _ in 0..200 {
            if db.pending_outbox().unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("replies still pending: {:#?}", db.pending_outbox().unwrap());
    }

    /// The next send.
    pub(crate) async fn send(&mut self) -> Sent {
        self.sends(1).await.remove(0)
    }

    /// Proves that everything delivered before was handled with no further send:
    /// `!ping` goes after it in the same tenant's order and must be the next send.
    pub(crate) async fn nothing_more(&mut self, tenant: &str) {
        let id = format!("PROBE-{}", fastrand::u64(..));
        self.deliver(tenant, json!({"id": id, "from": C3, "body": "!ping"}));
        let next = self.send().await;
        assert_eq!(
            (next.text.as_str(), next.to.as_str()),
            ("pong", format!("{C3}@c.us").as_str()),
            "an unexpected send came first: {next:#?}"
        );
    }
}

/// The repository's Whisper model, loaded once for the whole test binary.
fn whisper() -> Arc<Whisper> {
    static MODEL: OnceLock<Arc<Whisper>> = OnceLock::new();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    let load = || Arc::new(Whisper::load(&path).expect("run scripts/model/fetch first"));
    Arc::clone(MODEL.get_or_init(load))
}

/// A bridge message from FIELD-CASES-style fields: `from`, `to`, `body`,
/// `timestamp`, `fromMe`, `author`, `isGroupMsg`, `type`, `fromAlt`, `mentions`.
pub(crate) fn message(fields: Value) -> InboundMessage {
    let get = |k: &str| fields.get(k).cloned().unwrap_or(Value::Null);
    let from_me = get("fromMe").as_bool().unwrap_or(false);
    let from = qualify(get("from").as_str().unwrap_or(C1));
    let to = qualify(get("to").as_str().unwrap_or(ACCOUNT));
    let group = get("isGroupMsg").as_bool().unwrap_or(false);
    let chat = match (from_me, group) {
        (true, false) => to.clone(),
        _ => from.clone(),
    };
    let now = jiff::Timestamp::now().as_second();
    let kind = get("type").as_str().unwrap_or("chat").to_owned();
    let value = json!({
        "id": get("id"),
        "chatId": chat,
        "from": from,
        "senderPn": get("fromAlt"),
        "to": to,
        "author": get("author"),
        "fromMe": from_me,
        "isGroup": group,
        "type": kind,
        "text": get("body"),
        "t": get("timestamp").as_i64().unwrap_or(now),
        "pushName": get("pushName"),
        "mentions": get("mentions").as_array().cloned().unwrap_or_default(),
        "hasMedia": get("hasMedia").as_bool().unwrap_or(false),
        "durationSec": get("seconds"),
        "quotedId": get("quotedId"),
        "mimetype": get("mimetype"),
        "filename": get("filename"),
        "isNew": true,
    });
    serde_json::from_value(value).unwrap()
}

/// `5511…` as `5511…@c.us`; addresses with a server are kept.
pub(crate) fn qualify(address: &str) -> String {
    match address.contains('@') {
        true => address.to_owned(),
        false => format!("{address}@c.us"),
    }
}

/// Now, minus `secs`, as Unix seconds.
pub(crate) fn ago(secs: i64) -> i64 {
    jiff::Timestamp::now().as_second() - secs
}
