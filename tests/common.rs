//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use orbitbot::tenant::TenantId;

/// A tenant id from a literal the test knows to be valid.
pub(crate) fn tid(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

/// Writes a minimal valid `admin.toml` into `dir` and returns its path; its data folder
/// is `dir/data`. Its "browser" binaries exist everywhere and start no browser, so a
/// `run` with it has an admin session that never comes up (these tests need none).
pub(crate) fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("admin.toml");
    let text = "[admin]\noperators = [\"5511999990000\"]\n\
                [whatsapp]\nurl = \"http://127.0.0.1:7600\"\nengine = \"simulator\"\n\
                chromium = \"/bin/false\"\nchromedriver = \"/bin/false\"\n\
                [limits]\nmin_gap_ms = 50\n";
    std::fs::write(&path, text).unwrap();
    path
}
