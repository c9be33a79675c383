//! orbitbot's integration tests: one binary, so the crate links once.
//!
//! Modules live in folders (`tests/<name>/mod.rs`) so cargo does not build each one as
//! a test binary of its own. Helpers may unwrap: a failure there is a test failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_api;
mod sim_browser;
mod support;
