//! The browser bridge: one chromedriver and one Chromium per session, an init script
//! injected before navigation, and calls into the page.
//!
//! - [`driver`]: the chromedriver process in its own process group, killed as a whole.
//! - [`browser`]: the WebDriver session on Chromium with a given profile.
//! - [`error`]: [`BridgeError`], the errors of this layer.
//! - [`page`]: typed calls to `window.__wab` (protocol v1), injected as [`BRIDGE_JS`].
//! - [`event`]: the page's events as typed Rust values.
//! - [`group`]: process groups: alive, members, kill and wait.

pub mod browser;
pub mod driver;
pub mod error;
pub mod event;
pub mod group;
pub mod page;

pub use browser::{Browser, BrowserOptions};
pub use driver::Driver;
pub use error::BridgeError;

/// The page side of the bridge (`src/bridge/bridge.js`), compiled in.
pub const BRIDGE_JS: &str = include_str!("bridge.js");
