//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

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

/// Runs the `orbitbot` binary to completion.
pub(crate) fn orbitbot(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orbitbot"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

/// Bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `orbitbot run` (data folder `data/` beside its config). If the test fails
/// first, dropping it stops the run the way an operator would (SIGTERM, so its browsers
/// go too), and only then kills it.
pub(crate) struct Running {
    child: Option<Child>,
    log: PathBuf,
}

impl Running {
    /// Starts `run` and waits until it serves its control socket.
    pub(crate) fn start(config: &Path) -> Running {
        Running::start_with(config, &[])
    }

    /// Starts `run` with extra arguments; its stdout goes to `run-<n>.out` beside the
    /// config.
    pub(crate) fn start_with(config: &Path, extra: &[&str]) -> Running {
        let dir = config.parent().unwrap();
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = dir.join(format!("run-{n}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_orbitbot"))
            .arg("--config")
            .arg(config)
            .arg("run")
            .args(extra)
            .stdout(std::fs::File::create(dir.join(format!("run-{n}.out"))).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let running = Running {
            child: Some(child),
            log,
        };
        let socket = dir.join("data").join("orbitbot.sock");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "run did not open its control socket"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        running
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends SIGTERM, waits, and returns the exit status and what it logged.
    pub(crate) fn stop(mut self) -> (ExitStatus, String) {
        let status = terminate(self.child.as_mut().unwrap());
        self.child = None;
        (
            status,
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }

    /// SIGKILL, as a crash: the run gets no chance to clean up.
    pub(crate) fn kill_9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            terminate(child);
        }
    }
}

/// SIGTERM, up to 30 s for a clean exit, then SIGKILL.
fn terminate(child: &mut Child) -> ExitStatus {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().unwrap()
}
