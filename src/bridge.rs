//! The browser bridge: the contract between Rust and the WhatsApp Web page.
//!
//! - [`BRIDGE_JS`]: `window.__wab`, protocol v1, injected after the engine.
//! - [`event`]: the page's events as typed Rust values.

pub mod event;

/// The page side of the bridge (`src/bridge/bridge.js`), compiled in.
pub const BRIDGE_JS: &str = include_str!("bridge/bridge.js");
