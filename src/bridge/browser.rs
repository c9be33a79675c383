//! A WebDriver session on Chromium with its own profile directory, an init script
//! registered before navigation, and `execute` calls into the page.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use super::{BridgeError, Driver};

/// How long closing the WebDriver session may take before the group is killed anyway.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long chromedriver may take to accept the first session.
const SESSION_TIMEOUT: Duration = Duration::from_secs(20);

/// Flags that keep Chromium quiet, local and usable headless on a server.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-blink-features=AutomationControlled",
    "--password-store=basic",
    "--use-mock-keychain",
];

/// What to launch: binaries, the profile directory and any extra Chromium flags.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary.
    pub chromedriver: PathBuf,
    /// The profile directory (`--user-data-dir`); it must be absolute.
    pub profile: PathBuf,
    /// More flags for Chromium, e.g. a user agent.
    pub extra_args: Vec<String>,
}

impl BrowserOptions {
    /// Options with the Debian binaries and the given profile directory.
    pub fn new(profile: impl Into<PathBuf>) -> Self {
        Self {
            chromium: PathBuf::from("/usr/bin/chromium"),
            chromedriver: PathBuf::from("/usr/bin/chromedriver"),
            profile: profile.into(),
            extra_args: Vec::new(),
        }
    }

    /// The Chromium command-line flags for these options.
    pub fn chromium_args(&self) -> Vec<String> {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        if nix::unistd::geteuid().is_root() {
            args.push("--no-sandbox".to_owned());
        }
        args.push(format!("--user-data-dir={}", self.profile.display()));
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// One Chromium under one chromedriver; dropping it kills both.
#[derive(Debug)]
pub struct Browser {
    client: Option<Client>,
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver and opens a Chromium session with the options' profile.
    pub async fn launch(options: &BrowserOptions) -> Result<Self, BridgeError> {
        let mut driver = Driver::spawn(&options.chromedriver)?;
        let client = connect(&mut driver, options).await?;
        Ok(Self {
            client: Some(client),
            driver,
        })
    }

    /// The process group of chromedriver and its Chromium.
    pub fn pgid(&self) -> i32 {
        self.driver.pgid()
    }

    /// The WebDriver address and session id, so that a later orbitbot can still reach
    /// this page if this one dies (to take the messages it holds).
    pub async fn endpoint(&self) -> Option<(String, String)> {
        let session = self.client().ok()?.session_id().await.ok()??;
        Some((self.driver.url(), session))
    }

    /// Whether chromedriver is still running.
    pub fn running(&mut self) -> bool {
        self.driver.running()
    }

    /// Registers `source` to run in every new document before the page's own scripts.
    pub async fn add_init_script(&self, source: &str) -> Result<(), BridgeError> {
        let cmd = CdpExecute {
            cmd: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": source }),
        };
        self.client()?.issue_cmd(cmd).await?;
        Ok(())
    }

    /// Navigates to `url` and waits for the load.
    pub async fn goto(&self, url: &str) -> Result<(), BridgeError> {
        self.client()?.goto(url).await?;
        Ok(())
    }

    /// Runs `script` as a function body with `args`; a returned promise is awaited.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, BridgeError> {
        Ok(self.client()?.execute(script, args).await?)
    }

    /// Ends the session (Chromium writes its profile), then kills the process group.
    pub async fn close(self) -> Result<(), BridgeError> {
        let Self { client, mut driver } = self;
        // A wedged chromedriver must not hold the close: the group is killed anyway.
        let outcome = match client {
            Some(client) => match tokio::time::timeout(CLOSE_TIMEOUT, client.close()).await {
                Ok(closed) => closed.map_err(BridgeError::from),
                Err(_) => Err(BridgeError::Timeout("close".to_owned())),
            },
            None => Ok(()),
        };
        // Killing waits for the group to empty: keep that off the async workers.
        let killed = tokio::task::spawn_blocking(move || driver.kill()).await;
        if let Err(e) = killed {
            tracing::warn!("waiting for the browser's process group failed: {e}");
        }
        outcome
    }

    /// The WebDriver client itself, for what the bridge does not wrap (clicks,
    /// screenshots in tests).
    pub fn client(&self) -> Result<&Client, BridgeError> {
        self.client.as_ref().ok_or(BridgeError::Closed)
    }
}

/// Opens the WebDriver session, retrying while chromedriver is still starting.
async fn connect(driver: &mut Driver, options: &BrowserOptions) -> Result<Client, BridgeError> {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": options.chromium, "args": options.chromium_args() }),
    );
    let start = Instant::now();
    loop {
        // chromedriver speaks plain HTTP on loopback: no TLS needed.
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps.clone());
        match builder.connect(&driver.url()).await {
            Ok(client) => return Ok(client),
            Err(e) if start.elapsed() > SESSION_TIMEOUT => {
                return Err(BridgeError::Session(e.to_string()));
            }
            Err(e) if !driver.running() => {
                return Err(BridgeError::Session(format!("chromedriver exited: {e}")));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`: one Chrome DevTools command.
#[derive(Debug)]
struct CdpExecute {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for CdpExecute {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}
