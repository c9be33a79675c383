//! A WhatsApp Web page with our bridge in it: typed calls to `window.__wab`.
//!
//! [`Page::open`] launches the browser, injects `WPPConfig` + the engine + `bridge.js`
//! before navigation, loads the site and waits for `__wab`. Every other method is one
//! `__wab` call through WebDriver `execute` (chromedriver awaits the returned promise).

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::event::{InboundMessage, PollBatch, parse_poll};
use super::{BRIDGE_JS, BridgeError, Browser, BrowserOptions};

/// Base64 characters per `stage`/`readMedia` call (a multiple of 4).
const CHUNK_B64: usize = 512 * 1024;
/// How long one `__wab` call may take before the browser counts as hung (a poll gets
/// this on top of its own wait).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a page may take to expose `__wab` after navigation.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// The bridge's greeting (`__wab.hello()`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Hello {
    /// The protocol version (1).
    pub protocol: u32,
    /// This page load's id.
    pub boot: String,
    /// Whether the engine is ready.
    pub ready: bool,
}

/// The bridge's view of the session (`__wab.status()`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// This page load's id.
    pub boot: String,
    /// The last event sequence number given out.
    pub seq: u64,
    /// Events not yet acknowledged.
    pub queued: u64,
    /// Events lost to a full queue.
    pub overflowed: u64,
    /// Whether the engine is ready.
    pub engine_ready: bool,
    /// Whether the account is logged in.
    pub authenticated: bool,
    /// WhatsApp's stream mode.
    pub stream: Option<String>,
    /// The account's chat id.
    pub me: Option<String>,
    /// The account's LID.
    pub lid: Option<String>,
}

/// What a send returned.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sent {
    /// The message's key id.
    pub id: Option<String>,
    /// WhatsApp's ack at send time.
    pub ack: Option<i8>,
}

/// A media file to send.
#[derive(Debug, Clone)]
pub struct Media<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// Its MIME type.
    pub mimetype: &'a str,
    /// A file name, for documents.
    pub filename: Option<&'a str>,
    /// A caption.
    pub caption: Option<&'a str>,
    /// Send as a voice note.
    pub ptt: bool,
}

/// A downloaded media file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its MIME type, as the page reported it.
    pub mimetype: String,
}

/// A failed `__wab` call the page reported (`{ok: false, error}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PageError(pub String);

/// Either the browser failed (crash, WebDriver error) or the page refused the call.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The browser or WebDriver failed: the session needs a restart.
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    /// The page answered with an error (`rate-overlimit`, `engine-not-ready`, ...).
    #[error("a página recusou: {0}")]
    Page(#[from] PageError),
}

/// One WhatsApp Web page under our bridge.
#[derive(Debug)]
pub struct Page {
    browser: Browser,
}

impl Page {
    /// Launches the browser (chromedriver and Chromium in a new process group).
    pub async fn launch(options: &BrowserOptions) -> Result<Page, BridgeError> {
        Ok(Page {
            browser: Browser::launch(options).await?,
        })
    }

    /// Injects `engine` (after `WPPConfig`) and the bridge before navigation, opens
    /// `url` and waits until `__wab` answers.
    pub async fn load(&self, engine: &str, url: &str) -> Result<Hello, BridgeError> {
        self.browser.add_init_script(&init_script(engine)).await?;
        match tokio::time::timeout(HELLO_TIMEOUT, self.browser.goto(url)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(unreachable_or(e, url)),
            Err(_) => return Err(BridgeError::Timeout("goto".to_owned())),
        }
        self.wait_hello().await
    }

    /// The WebDriver address and session id of the page.
    pub async fn endpoint(&self) -> Option<(String, String)> {
        self.browser.endpoint().await
    }

    /// The browser's process group.
    pub fn pgid(&self) -> i32 {
        self.browser.pgid()
    }

    /// Closes the browser and kills its process group.
    pub async fn close(self) -> Result<(), BridgeError> {
        self.browser.close().await
    }

    async fn wait_hello(&self) -> Result<Hello, BridgeError> {
        let start = Instant::now();
        loop {
            match self.hello().await {
                Ok(hello) => return Ok(hello),
                Err(e) if start.elapsed() > HELLO_TIMEOUT => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// `__wab.hello()`.
    pub async fn hello(&self) -> Result<Hello, BridgeError> {
        decode(self.raw("hello", vec![]).await?)
    }

    /// `__wab.status()`.
    pub async fn status(&self) -> Result<Status, BridgeError> {
        decode(self.raw("status", vec![]).await?)
    }

    /// Acknowledges events up to `after` of page load `boot` and waits up to `wait` for
    /// newer ones.
    pub async fn poll(
        &self,
        boot: &str,
        after: u64,
        wait: Duration,
        max: u32,
    ) -> Result<PollBatch, BridgeError> {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let args = vec![json!(after), json!(wait_ms), json!(max), json!(boot)];
        let value = self.raw_within("poll", args, wait + CALL_TIMEOUT).await?;
        parse_poll(value).map_err(BridgeError::Protocol)
    }

    /// Sends a text with the caller's message id.
    pub async fn send_text(&self, to: &str, text: &str, id: &str) -> Result<Sent, CallError> {
        let opts = json!({ "id": id });
        decode_call(
            self.raw("sendText", vec![json!(to), json!(text), opts])
                .await?,
        )
    }

    /// Sends a media file with the caller's message id, staged in chunks.
    pub async fn send_media(
        &self,
        to: &str,
        media: &Media<'_>,
        id: &str,
    ) -> Result<Sent, CallError> {
        // A fresh handle per try: chunks of an earlier, broken try never mix in.
        static UPLOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = UPLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let handle = format!("up-{id}-{n}");
        let b64 = B64.encode(media.bytes);
        for chunk in b64.as_bytes().chunks(CHUNK_B64) {
            let chunk = String::from_utf8_lossy(chunk);
            self.raw("stage", vec![json!(handle), json!(chunk)]).await?;
        }
        let opts = json!({
            "id": id,
            "mimetype": media.mimetype,
            "filename": media.filename,
            "caption": media.caption,
            "ptt": media.ptt,
        });
        decode_call(
            self.raw("sendMedia", vec![json!(to), json!(handle), opts])
                .await?,
        )
    }

    /// Downloads a message's media, read back in chunks.
    pub async fn download_media(&self, msg_id: &str) -> Result<Download, CallError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Started {
            handle: String,
            b64_len: usize,
            mimetype: Option<String>,
        }
        let started: Started = decode_call(self.raw("downloadMedia", vec![json!(msg_id)]).await?)?;
        let mut b64 = String::with_capacity(started.b64_len);
        while b64.len() < started.b64_len {
            let args = vec![json!(started.handle), json!(b64.len()), json!(CHUNK_B64)];
            match self.raw("readMedia", args).await? {
                Value::String(part) if !part.is_empty() => b64.push_str(&part),
                _ => break,
            }
        }
        let _ = self.raw("dropMedia", vec![json!(started.handle)]).await;
        let bytes = B64
            .decode(b64.as_bytes())
            .map_err(|e| PageError(format!("media-corrupt: {e}")))?;
        Ok(Download {
            bytes,
            mimetype: started.mimetype.unwrap_or_default(),
        })
    }

    /// Marks a chat as read.
    pub async fn mark_seen(&self, chat: &str) -> Result<(), CallError> {
        decode_call::<Value>(self.raw("markSeen", vec![json!(chat)]).await?).map(drop)
    }

    /// The last `n` messages of a chat, oldest first.
    pub async fn recent(&self, chat: &str, n: u32) -> Result<Vec<InboundMessage>, CallError> {
        decode_call(self.raw("recent", vec![json!(chat), json!(n)]).await?)
    }

    /// Starts a new link attempt (new QR codes).
    pub async fn refresh_qr(&self) -> Result<(), CallError> {
        decode_call::<Value>(self.raw("refreshQr", vec![]).await?).map(drop)
    }

    /// Asks for a pairing code for `phone` (digits); returns it as WhatsApp gave it.
    pub async fn request_pairing_code(&self, phone: &str) -> Result<String, CallError> {
        decode_call(self.raw("requestPairingCode", vec![json!(phone)]).await?)
    }

    /// Takes the session back after a conflict.
    pub async fn takeover(&self) -> Result<(), CallError> {
        decode_call::<Value>(self.raw("takeover", vec![]).await?).map(drop)
    }

    /// Logs the account out of this linked device.
    pub async fn logout(&self) -> Result<(), CallError> {
        decode_call::<Value>(self.raw("logout", vec![]).await?).map(drop)
    }

    async fn raw(&self, function: &str, args: Vec<Value>) -> Result<Value, BridgeError> {
        self.raw_within(function, args, CALL_TIMEOUT).await
    }

    async fn raw_within(
        &self,
        function: &str,
        args: Vec<Value>,
        limit: Duration,
    ) -> Result<Value, BridgeError> {
        let script = format!("return window.__wab.{function}(...arguments);");
        let call = self.browser.execute(&script, args);
        match tokio::time::timeout(limit, call).await {
            Ok(answer) => answer,
            Err(_) => Err(BridgeError::Timeout(function.to_owned())),
        }
    }
}

/// A navigation that failed on a network error (`net::ERR_…`) means the site is down
/// or unreachable, not that the browser broke.
fn unreachable_or(error: BridgeError, url: &str) -> BridgeError {
    let text = error.to_string();
    match text.find("net::ERR_") {
        Some(at) => {
            let reason = text[at..].split_whitespace().next().unwrap_or("net::ERR");
            BridgeError::Unreachable {
                url: url.to_owned(),
                reason: reason.to_owned(),
            }
        }
        None => error,
    }
}

/// `WPPConfig`, then the engine, then the bridge: one script, injected before navigation.
pub fn init_script(engine: &str) -> String {
    let config = json!({ "disableGoogleAnalytics": true, "deviceName": "orbitbot" });
    format!("window.WPPConfig = {config};\n{engine}\n;\n{BRIDGE_JS}")
}

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, BridgeError> {
    serde_json::from_value(value.clone())
        .map_err(|e| BridgeError::Protocol(format!("unexpected answer {value}: {e}")))
}

/// Reads `{ok: true, value}` / `{ok: false, error}`.
fn decode_call<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, CallError> {
    #[derive(Deserialize)]
    struct Answer {
        ok: bool,
        #[serde(default)]
        value: Value,
        #[serde(default)]
        error: Option<String>,
    }
    let answer: Answer = decode(value)?;
    if !answer.ok {
        return Err(PageError(answer.error.unwrap_or_else(|| "unknown".to_owned())).into());
    }
    Ok(decode(answer.value)?)
}
