//! orbitbot's integration tests: one binary, so the crate links once.

mod sim_api;
mod sim_browser;
mod support;
