//! The browser bridge: one chromedriver and one Chromium per session, an init script
//! injected before navigation, and calls into the page.
//!
//! - [`driver`]: the chromedriver process in its own process group, killed as a whole.
//! - [`browser`]: the WebDriver session on Chromium with a given profile.
//! - [`error`]: [`BridgeError`], the errors of this layer.

pub mod browser;
pub mod driver;
pub mod error;

pub use browser::{Browser, BrowserOptions};
pub use driver::Driver;
pub use error::BridgeError;
