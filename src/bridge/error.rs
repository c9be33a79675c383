//! Errors of the browser bridge.

use std::path::PathBuf;

/// What can go wrong while starting, driving or stopping a browser.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// chromedriver could not be started.
    #[error("could not start chromedriver {path}: {source}")]
    Spawn {
        /// The chromedriver binary.
        path: PathBuf,
        /// Why the spawn failed.
        source: std::io::Error,
    },
    /// No free loopback port could be reserved.
    #[error("could not reserve a loopback port: {0}")]
    Port(std::io::Error),
    /// chromedriver did not accept a session in time.
    #[error("chromedriver did not open a Chromium session: {0}")]
    Session(String),
    /// A WebDriver command failed.
    #[error("webdriver command failed: {0}")]
    Command(#[from] fantoccini::error::CmdError),
    /// The session was already closed.
    #[error("the browser session is closed")]
    Closed,
    /// The site did not load: it cannot be reached (down, wrong address, no network).
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The address.
        url: String,
        /// Chromium's network error.
        reason: String,
    },
    /// A call got no answer in time (a hung or dead browser).
    #[error("no answer from the browser to {0} in time")]
    Timeout(String),
    /// The page answered something the bridge protocol does not allow.
    #[error("bridge protocol error: {0}")]
    Protocol(String),
}
