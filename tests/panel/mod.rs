//! The web panel: HTTP-level checks of login, CSRF, live QR links and tenant ids
//! against the panel served in process ([`http`]), and the whole story in real
//! Chromium against `orbitbot run` and the simulator ([`browser`]).

mod browser;
mod http;
