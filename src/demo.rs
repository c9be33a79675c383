//! `orbitbot demo`: the story of DESIGN.md §1, on real Chromium, against the simulator.
//!
//! It starts the simulator in this process and `orbitbot run` as a child process on a
//! fresh folder with fast limits, then plays the operator, the client and a customer
//! through the simulator's control API only, printing each step and how long it took:
//! link the admin account from its QR image → `!novo demo-loja` → the QR image arrives
//! in the operator's chat (saved as PNG) → decoded and scanned by the client's phone →
//! the online alert → a customer's `!menu` is answered → `!status` → a customer's voice
//! note (spoken now with espeak-ng) is transcribed by the local model. It succeeds only
//! if every step happened.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::sim::Simulator;

/// The admin account's phone.
const ADMIN: &str = "5511999990099";
/// The operator's own phone.
const OPERATOR: &str = "5511999990000";
/// The client's phone.
const CLIENT: &str = "5511999990010";
/// A customer of the client.
const CUSTOMER: &str = "5511999990001";
/// The tenant the demo creates.
const TENANT: &str = "demo-loja";
/// The steps of the story.
const STEPS: u32 = 8;
/// What the customer says in the voice note of step 8.
const VOICE_NOTE: &str = "Bom dia, eu gostaria de saber o preço da entrega para amanhã.";
/// How long one step may take.
const STEP: Duration = Duration::from_secs(120);

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A step did not happen in time.
    #[error("o passo \"{0}\" não aconteceu a tempo; veja {log}", log = .1.display())]
    Step(String, PathBuf),
    /// The simulator or a file could not be used.
    #[error("{0}")]
    Setup(String),
}

fn setup(e: impl std::fmt::Display) -> DemoError {
    DemoError::Setup(e.to_string())
}

/// Runs the demo; returns the folder it used (with the QR image it forwarded).
pub async fn run() -> Result<PathBuf, DemoError> {
    let dir = tempfile::Builder::new()
        .prefix("orbitbot-demo-")
        .tempdir()
        .map_err(setup)?
        .keep();
    let sim = Simulator::start(([127, 0, 0, 1], 0).into())
        .await
        .map_err(setup)?;
    let demo = Demo::new(&sim, &dir);
    let outcome = demo.story().await;
    demo.stop_orbitbot().await;
    sim.shutdown().await;
    outcome.map(|()| dir)
}

struct Demo {
    http: reqwest::Client,
    sim: String,
    dir: PathBuf,
    child: std::sync::Mutex<Option<std::process::Child>>,
    /// Operator-chat messages already printed.
    shown: std::sync::atomic::AtomicUsize,
}

impl Demo {
    fn new(sim: &Simulator, dir: &Path) -> Demo {
        Demo {
            http: reqwest::Client::new(),
            sim: sim.url().trim_end_matches('/').to_owned(),
            dir: dir.to_owned(),
            child: std::sync::Mutex::new(None),
            shown: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    async fn story(&self) -> Result<(), DemoError> {
        println!("orbitbot demo em {}", self.dir.display());
        self.prepare().await?;
        let qr = self
            .step(
                1,
                "orbitbot run no ar; QR do admin em data/admin-qr.png",
                || self.admin_qr(),
            )
            .await?;
        self.post("/sim/scan", json!({"phone": ADMIN, "code": qr}))
            .await?;
        self.step(2, "admin vinculado pelo QR", || self.account_main(ADMIN))
            .await?;
        self.say(OPERATOR, ADMIN, &format!("!novo {TENANT}"))
            .await?;
        let png = self
            .step(3, "QR de demo-loja chegou no chat do operador", || {
                self.qr_image()
            })
            .await?;
        let saved = self.dir.join(format!("{TENANT}-qr.png"));
        std::fs::write(&saved, &png).map_err(setup)?;
        let code = decode(&png).ok_or_else(|| setup("o QR recebido não pôde ser lido"))?;
        self.step(
            4,
            "QR decodificado e escaneado pelo celular do cliente",
            || self.scan(&code),
        )
        .await?;
        self.step(5, "alerta \"demo-loja online\"", || {
            self.operator_got("online")
        })
        .await?;
        self.say(CUSTOMER, CLIENT, "!menu").await?;
        self.step(6, "cliente respondeu !menu ao freguês", || {
            self.customer_reply()
        })
        .await?;
        self.say(OPERATOR, ADMIN, "!status").await?;
        self.step(7, "!status mostra demo-loja online", || {
            self.operator_got("demo-loja — online")
        })
        .await?;
        self.voice_note(VOICE_NOTE).await?;
        let heard = self
            .step(8, "mensagem de voz do freguês transcrita", || {
                self.customer_got("🎤 Transcrição:")
            })
            .await?;
        println!("      {CLIENT} → {CUSTOMER}: {heard}");
        println!("\nQR encaminhado: {}", saved.display());
        println!("demo completa ✅");
        Ok(())
    }

    /// Phones, config, commands, and `orbitbot run` as a child process.
    async fn prepare(&self) -> Result<(), DemoError> {
        for (phone, name) in [
            (ADMIN, "orbitbot"),
            (OPERATOR, "Operador"),
            (CLIENT, "Loja"),
            (CUSTOMER, "Ana"),
        ] {
            self.post("/sim/phones", json!({"phone": phone, "name": name}))
                .await?;
        }
        let model = std::env::current_dir()
            .map_err(setup)?
            .join("models/ggml-base-q8_0.bin");
        if !model.exists() {
            let why = format!(
                "o modelo de voz {} não existe; rode `orbitbot model fetch` na pasta do \
                 orbitbot (ou scripts/setup)",
                model.display()
            );
            return Err(setup(why));
        }
        let config = format!(
            "[admin]\noperators = [\"{OPERATOR}\"]\n\
             [whatsapp]\nurl = \"{}\"\nengine = \"simulator\"\n\
             [limits]\nmin_gap_ms = 300\ntyping_ms_per_char = 0\n\
             [transcription]\nmodel = \"{}\"\n",
            self.sim,
            model.display()
        );
        let commands = self.dir.join("commands");
        std::fs::create_dir_all(&commands).map_err(setup)?;
        std::fs::write(commands.join("padrao.toml"), DEFAULT_COMMANDS).map_err(setup)?;
        std::fs::write(self.dir.join("admin.toml"), config).map_err(setup)?;
        let log = std::fs::File::create(self.log()).map_err(setup)?;
        let exe = std::env::current_exe().map_err(setup)?;
        let child = std::process::Command::new(exe)
            .arg("--config")
            .arg(self.dir.join("admin.toml"))
            .arg("run")
            .env("ORBITBOT_LOG", "info")
            .stdout(log.try_clone().map_err(setup)?)
            .stderr(log)
            .spawn()
            .map_err(setup)?;
        *self
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(child);
        Ok(())
    }

    fn log(&self) -> PathBuf {
        self.dir.join("run.log")
    }

    /// Runs one step until `check` gives a value; prints it with its time.
    async fn step<T, F, Fut>(&self, n: u32, what: &str, mut check: F) -> Result<T, DemoError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, DemoError>>,
    {
        let start = Instant::now();
        loop {
            if let Some(value) = check().await? {
                println!(
                    "[{n}/{STEPS}] {what} … ok ({:.1} s)",
                    start.elapsed().as_secs_f64()
                );
                self.show_operator_chat().await;
                return Ok(value);
            }
            if start.elapsed() > STEP {
                println!("[{n}/{STEPS}] {what} … FALHOU");
                return Err(DemoError::Step(what.to_owned(), self.log()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The admin QR image orbitbot wrote, decoded.
    async fn admin_qr(&self) -> Result<Option<String>, DemoError> {
        let png = std::fs::read(self.dir.join("data/admin-qr.png")).ok();
        Ok(png.as_deref().and_then(decode))
    }

    async fn account_main(&self, phone: &str) -> Result<Option<()>, DemoError> {
        let state = self.get("/sim/state").await?;
        let accounts = state["accounts"].as_array().cloned().unwrap_or_default();
        let main = accounts
            .iter()
            .any(|a| a["phone"] == phone && a["state"] == "main");
        Ok(main.then_some(()))
    }

    /// The newest QR image of the tenant in the operator's chat.
    async fn qr_image(&self) -> Result<Option<Vec<u8>>, DemoError> {
        let inbox = self.inbox(OPERATOR).await?;
        let image = inbox.iter().rev().find(|m| {
            m["type"] == "image" && m["caption"].as_str().is_some_and(|c| c.contains(TENANT))
        });
        let b64 = image.and_then(|m| m["media_b64"].as_str());
        Ok(b64.and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()))
    }

    async fn scan(&self, code: &str) -> Result<Option<()>, DemoError> {
        let res = self
            .http
            .post(self.url("/sim/scan"))
            .json(&json!({"phone": CLIENT, "code": code}));
        let status = res.send().await.map_err(setup)?.status();
        Ok(status.is_success().then_some(()))
    }

    async fn operator_got(&self, text: &str) -> Result<Option<()>, DemoError> {
        let inbox = self.inbox(OPERATOR).await?;
        let found = inbox
            .iter()
            .any(|m| m["body"].as_str().is_some_and(|b| b.contains(text)));
        Ok(found.then_some(()))
    }

    /// The first answer to the customer that holds `text`.
    async fn customer_got(&self, text: &str) -> Result<Option<String>, DemoError> {
        let inbox = self.inbox(CUSTOMER).await?;
        let found = inbox
            .iter()
            .filter_map(|m| m["body"].as_str())
            .find(|b| b.contains(text));
        Ok(found.map(str::to_owned))
    }

    /// The customer records `text` as a voice note (espeak-ng, then opusenc: shaped
    /// like WhatsApp's) and sends it.
    async fn voice_note(&self, text: &str) -> Result<(), DemoError> {
        let (wav, ogg) = (self.dir.join("nota.wav"), self.dir.join("nota.ogg"));
        run_tool(
            "espeak-ng",
            &["-v", "pt-br", "-w", &wav.to_string_lossy(), text],
        )?;
        let (wav, ogg_path) = (wav.to_string_lossy(), ogg.to_string_lossy());
        let args = [
            "--quiet",
            "--bitrate",
            "16",
            "--downmix-mono",
            &wav,
            &ogg_path,
        ];
        run_tool("opusenc", &args)?;
        let bytes = std::fs::read(&ogg).map_err(setup)?;
        println!("      {CUSTOMER} → {CLIENT}: [áudio] \"{text}\"");
        let note = json!({"from": CUSTOMER, "to": CLIENT, "type": "ptt",
            "mimetype": "audio/ogg; codecs=opus", "duration_s": 4,
            "media_b64": base64::engine::general_purpose::STANDARD.encode(bytes)});
        self.post("/sim/messages", note).await.map(drop)
    }

    async fn customer_reply(&self) -> Result<Option<()>, DemoError> {
        let inbox = self.inbox(CUSTOMER).await?;
        let from = format!("{CLIENT}@c.us");
        Ok(inbox.iter().any(|m| m["from"] == from).then_some(()))
    }

    /// Prints what arrived in the operator's chat since last time.
    async fn show_operator_chat(&self) {
        let Ok(inbox) = self.inbox(OPERATOR).await else {
            return;
        };
        let seen = self
            .shown
            .swap(inbox.len(), std::sync::atomic::Ordering::Relaxed);
        for m in inbox.iter().skip(seen) {
            let text = m["body"]
                .as_str()
                .or(m["caption"].as_str())
                .unwrap_or_default();
            let kind = if m["type"] == "image" {
                "[imagem] "
            } else {
                ""
            };
            for (i, line) in text.lines().enumerate() {
                let lead = if i == 0 {
                    "      admin → operador:"
                } else {
                    "                       "
                };
                println!("{lead} {kind}{line}");
            }
        }
    }

    async fn say(&self, from: &str, to: &str, body: &str) -> Result<(), DemoError> {
        println!("      {from} → {to}: {body}");
        self.post(
            "/sim/messages",
            json!({"from": from, "to": to, "body": body}),
        )
        .await
        .map(drop)
    }

    async fn inbox(&self, phone: &str) -> Result<Vec<Value>, DemoError> {
        let list = self.get(&format!("/sim/phones/{phone}/inbox")).await?;
        Ok(list.as_array().cloned().unwrap_or_default())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, DemoError> {
        let res = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .map_err(setup)?;
        if !res.status().is_success() {
            return Err(setup(format!(
                "simulador: {path} respondeu {}",
                res.status()
            )));
        }
        res.json().await.map_err(setup)
    }

    async fn get(&self, path: &str) -> Result<Value, DemoError> {
        let res = self.http.get(self.url(path)).send().await.map_err(setup)?;
        res.json().await.map_err(setup)
    }

    /// SIGTERM, as an operator stops it: its browsers go too.
    async fn stop_orbitbot(&self) {
        let child = self
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(mut child) = child else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let waited = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        });
        let _ = waited.await;
    }
}

/// The commands the demo's orbitbot answers with: the shipped defaults.
const DEFAULT_COMMANDS: &str = include_str!("../commands/padrao.toml");

/// Runs a speech tool; a missing one names its Debian package.
fn run_tool(tool: &str, args: &[&str]) -> Result<(), DemoError> {
    let package = if tool == "opusenc" {
        "opus-tools"
    } else {
        tool
    };
    let status = std::process::Command::new(tool)
        .args(args)
        .status()
        .map_err(|e| {
            setup(format!(
                "{tool}: {e}; instale o pacote {package} (scripts/setup)"
            ))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(setup(format!("{tool} falhou ({status})")))
    }
}

/// The text of the QR code in a PNG image.
pub fn decode(png: &[u8]) -> Option<String> {
    let image = image::load_from_memory(png).ok()?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    grids.first()?.decode().ok().map(|(_, text)| text)
}
