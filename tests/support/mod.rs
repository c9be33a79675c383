//! Shared helpers: an in-process simulator, its HTTP client, and browsers on it; a
//! fake AI endpoint; spoken test audio.

pub(crate) mod fake_ai;
pub(crate) mod speech;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use orbitbot::bridge::{Browser, BrowserOptions};
use orbitbot::sim::{self, Simulator};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, SemaphorePermit};

/// At most two Chromium at once: the CI box has two cores.
static BROWSERS: Semaphore = Semaphore::const_new(2);

/// Wait for a browser slot.
pub(crate) async fn browser_slot() -> SemaphorePermit<'static> {
    BROWSERS.acquire().await.unwrap()
}

/// Wait for `n` browser slots at once (a test that runs several browsers).
pub(crate) async fn browser_slots(n: u32) -> SemaphorePermit<'static> {
    BROWSERS.acquire_many(n).await.unwrap()
}

/// Phones the simulator tests use.
pub(crate) const ANA: &str = "5511988887777";
pub(crate) const BIA: &str = "5511977776666";
pub(crate) const CAIO: &str = "5521966665555";

/// A simulator with the phones of Ana, Bia and Caio.
pub(crate) async fn net_with_phones() -> Net {
    let net = Net::start().await;
    net.phone(ANA, "Ana").await;
    net.phone(BIA, "Bia").await;
    net.phone(CAIO, "Caio").await;
    net
}

/// A simulator on a free loopback port and a client for it.
pub(crate) struct Net {
    pub(crate) sim: Simulator,
    pub(crate) http: reqwest::Client,
}

impl Net {
    pub(crate) async fn start() -> Self {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let sim = Simulator::start(addr).await.unwrap();
        Self {
            sim,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.sim.addr())
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `POST` that must answer 200.
    pub(crate) async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(path, body.clone()).await;
        assert_eq!(status, 200, "{path} {body} -> {answer}");
        answer
    }

    pub(crate) async fn phone(&self, phone: &str, name: &str) {
        self.ok("/sim/phones", json!({ "phone": phone, "name": name }))
            .await;
    }

    pub(crate) async fn state(&self) -> Value {
        self.get("/sim/state").await.1
    }

    /// The account entry of `phone` in `/sim/state`.
    pub(crate) async fn account(&self, phone: &str) -> Value {
        let state = self.state().await;
        let accounts = state["accounts"].as_array().cloned().unwrap_or_default();
        accounts
            .into_iter()
            .find(|a| a["phone"] == phone)
            .unwrap_or(Value::Null)
    }

    pub(crate) async fn inbox(&self, phone: &str) -> Vec<Value> {
        let (status, list) = self.get(&format!("/sim/phones/{phone}/inbox")).await;
        assert_eq!(status, 200);
        list.as_array().cloned().unwrap()
    }

    pub(crate) async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

/// Polls `check` until it returns `Some`, failing after `secs` seconds.
pub(crate) async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Records every engine event into `window.__events` (runs after the engine).
const RECORDER: &str = r#"
(() => {
  const names = ['conn.auth_code_change', 'conn.qrcode_idle', 'conn.link_code_change',
    'conn.authenticated', 'conn.stream_mode_changed', 'conn.logout', 'conn.logout_reason',
    'conn.needs_update', 'conn.main_ready', 'chat.new_message', 'chat.msg_ack_change',
    'chat.msg_revoke', 'chat.msg_edited'];
  window.__events = [];
  for (const name of names) {
    WPP.on(name, (payload) => {
      const copy = JSON.parse(JSON.stringify(payload === undefined ? null : payload));
      window.__events.push({ name, payload: copy });
    });
  }
})();
"#;

/// A page of the simulator in a real Chromium with the fake engine injected.
pub(crate) struct Page {
    pub(crate) browser: Browser,
}

impl Page {
    pub(crate) async fn open(net: &Net, profile: &Path) -> Self {
        let browser = Browser::launch(&BrowserOptions::new(profile))
            .await
            .unwrap();
        let script = format!("{}\n{RECORDER}", sim::engine_js());
        browser.add_init_script(&script).await.unwrap();
        browser.goto(&net.sim.url()).await.unwrap();
        let page = Self { browser };
        page.wait("WPP.isReady", 10).await;
        page
    }

    /// Runs a function body in the page (promises are awaited).
    pub(crate) async fn js(&self, body: &str) -> Value {
        self.browser.execute(body, vec![]).await.unwrap()
    }

    /// Runs a function body with arguments.
    pub(crate) async fn call(&self, body: &str, args: Vec<Value>) -> Value {
        self.browser.execute(body, args).await.unwrap()
    }

    /// Waits until the expression `cond` is truthy.
    pub(crate) async fn wait(&self, cond: &str, secs: u64) -> Value {
        let body = format!("try {{ return ({cond}) || null; }} catch (e) {{ return null; }}");
        eventually(cond, secs, || async {
            let value = self.js(&body).await;
            (!value.is_null() && value != Value::Bool(false)).then_some(value)
        })
        .await
    }

    /// The current `data-ref` of the QR element.
    pub(crate) async fn data_ref(&self) -> String {
        let value = self
            .js("return document.querySelector('[data-ref]').getAttribute('data-ref')")
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Payloads of the recorded events named `name`.
    pub(crate) async fn events(&self, name: &str) -> Vec<Value> {
        let body =
            "return window.__events.filter(e => e.name === arguments[0]).map(e => e.payload)";
        let list = self.call(body, vec![json!(name)]).await;
        list.as_array().cloned().unwrap_or_default()
    }

    /// Waits for a `chat.new_message` whose key id is `id`.
    pub(crate) async fn message(&self, id: &str) -> Value {
        let cond = format!(
            "window.__events.filter(e => e.name === 'chat.new_message' \
             && e.payload.id.id === '{id}').pop()"
        );
        self.wait(&cond, 10).await["payload"].clone()
    }

    /// Waits for the QR, scans it as `phone` and waits for stream mode MAIN.
    pub(crate) async fn link(&self, net: &Net, phone: &str) {
        let code = self
            .wait(
                "document.querySelector('[data-ref]').getAttribute('data-ref')",
                10,
            )
            .await;
        net.ok("/sim/scan", json!({ "phone": phone, "code": code }))
            .await;
        self.wait_main().await;
    }

    pub(crate) async fn wait_main(&self) {
        self.wait(
            "WPP.conn.getStreamData().mode === 'MAIN' && WPP.conn.isAuthenticated()",
            10,
        )
        .await;
    }

    pub(crate) async fn close(self) {
        self.browser.close().await.unwrap();
    }
}

/// Processes whose command line mentions `needle` (e.g. a profile directory).
pub(crate) fn processes_with(needle: &str) -> Vec<String> {
    let out = std::process::Command::new("pgrep")
        .arg("-af")
        .arg(needle)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("pgrep"))
        .map(str::to_owned)
        .collect()
}
