//! The `orbitbot` binary: check-config, tenants, and the one-run-per-data-dir rule.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use orbitbot::store::Store;
use orbitbot::tenant::SessionState;

use crate::common::{tid, write_config};

fn orbitbot(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orbitbot"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `orbitbot run`, killed if the test fails before stopping it.
struct Running(Option<Child>);

impl Running {
    fn start(config: &Path, data: &Path) -> Running {
        let child = Command::new(env!("CARGO_BIN_EXE_orbitbot"))
            .arg("--config")
            .arg(config)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let running = Running(Some(child));
        let socket = data.join("orbitbot.sock");
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

    fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// Sends SIGTERM and returns the exit status and stderr.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let child = self.0.take().unwrap();
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status, text(&out.stderr))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn check_config_prints_the_validated_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let out = orbitbot(&config, &["check-config"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("operators = [\"5511999990000\"]"), "{shown}");
    assert!(shown.contains("engine = \"simulator\""), "{shown}");
    let data = dir.path().join("data");
    assert!(
        shown.contains(&format!("data = \"{}\"", data.display())),
        "{shown}"
    );
}

#[test]
fn a_bad_config_fails_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("admin.toml");
    std::fs::write(&config, "[admin]\noperators = [\"abc\"]\n").unwrap();
    let out = orbitbot(&config, &["tenants"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("erro: "), "{err}");
    assert!(
        err.contains("[admin] operators: telefone inválido \"abc\""),
        "{err}"
    );
    let missing = orbitbot(&dir.path().join("nao-existe.toml"), &["check-config"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("não consegui ler"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn tenants_without_and_with_a_running_run_and_one_run_per_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let data = dir.path().join("data");

    let empty = orbitbot(&config, &["tenants"]);
    assert!(empty.status.success(), "{}", text(&empty.stderr));
    assert!(text(&empty.stdout).contains("nenhum cliente ainda"));

    {
        let store = Store::open(&data).unwrap();
        let loja = tid("loja-da-ana");
        store.create_tenant(&loja, 1_000).unwrap();
        // States that stay as they are when `run` starts (no browser is started).
        store
            .control()
            .set_state(&loja, SessionState::Stopped, 2_000)
            .unwrap();
        let padaria = tid("padaria");
        store.create_tenant(&padaria, 1_000).unwrap();
        store
            .control()
            .set_state(&padaria, SessionState::QrExpired, 3_000)
            .unwrap();
    }
    let direct = text(&orbitbot(&config, &["tenants"]).stdout);
    let rows: Vec<Vec<&str>> = direct
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["cliente", "estado", "telefone", "desde"],
        "{direct}"
    );
    assert_eq!(rows[1][..3], ["loja-da-ana", "stopped", "-"], "{direct}");
    assert_eq!(rows[2][..3], ["padaria", "qr_expired", "-"], "{direct}");
    let column = |row: usize, word: &str| direct.lines().nth(row).unwrap().find(word).unwrap();
    assert_eq!(
        column(1, "stopped"),
        column(2, "qr_expired"),
        "aligned columns: {direct}"
    );

    let run = Running::start(&config, &data);
    let through_socket = orbitbot(&config, &["tenants"]);
    assert!(
        through_socket.status.success(),
        "{}",
        text(&through_socket.stderr)
    );
    assert_eq!(
        text(&through_socket.stdout),
        direct,
        "same answer through run's socket"
    );

    let second = orbitbot(&config, &["run"]);
    assert_eq!(second.status.code(), Some(1));
    let err = text(&second.stderr);
    let pid = run.pid().to_string();
    assert!(err.contains("já está em uso pelo processo"), "{err}");
    assert!(
        err.contains(&pid),
        "the refusal names the holder {pid}: {err}"
    );

    let (status, log) = run.stop();
    assert!(status.success(), "run exits cleanly on SIGTERM: {log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(
        !data.join("orbitbot.sock").exists(),
        "socket removed on shutdown"
    );
    let after = orbitbot(&config, &["tenants"]);
    assert_eq!(text(&after.stdout), direct);
}
