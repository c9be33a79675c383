//! orbitbot's integration tests: one binary, so the crate links once.

// Helpers outside #[test] fns unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_cmds;
mod admin_e2e;
mod ai_client;
mod backup;
mod cli;
mod client_sim;
mod common;
mod panel;
mod pipeline;
mod run;
mod session;
mod sim_api;
mod sim_browser;
mod store;
mod support;
mod transcribe_decode;
mod transcribe_model;
