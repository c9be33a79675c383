//! The `orbitbot` binary: check-config, tenants, and the one-run-per-data-dir rule.

use orbitbot::store::Store;
use orbitbot::tenant::SessionState;

use crate::common::{Running, orbitbot, text, tid, write_config};

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
    assert!(shown.contains("# comandos: a pasta"), "{shown}");

    std::fs::create_dir(dir.path().join("commands")).unwrap();
    let bad = "[[command]]\nname = \"menu\"\nhelp = \"x\"\nreply = \"{nme}\"\n";
    std::fs::write(dir.path().join("commands/loja.toml"), bad).unwrap();
    let out = orbitbot(&config, &["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("loja.toml") && err.contains("nme"), "{err}");
    let good = "[[command]]\nname = \"menu\"\nhelp = \"x\"\nreply = \"{nome}\"\n";
    std::fs::write(dir.path().join("commands/loja.toml"), good).unwrap();
    let out = orbitbot(&config, &["check-config"]);
    assert!(text(&out.stdout).contains("# comandos (1): !menu"));
}

#[test]
fn check_config_checks_the_persona_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let personas = dir.path().join("commands/personas");
    std::fs::create_dir_all(&personas).unwrap();
    let good = "name = \"vendedora\"\ndescription = \"Vendedora\"\nsystem = \"Você vende.\"\n";
    std::fs::write(personas.join("vendedora.toml"), good).unwrap();
    let out = orbitbot(&config, &["check-config"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("# personas (1): vendedora"));

    std::fs::write(
        personas.join("vendedora.toml"),
        format!("{good}temperature = 3\n"),
    )
    .unwrap();
    let out = orbitbot(&config, &["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("vendedora.toml, linha 4: temperature: fora do intervalo (3)"),
        "{err}"
    );
}

#[test]
fn run_refuses_to_start_when_the_ai_key_variable_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let ai = "[ai]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n\
              api_key_env = \"ORBITBOT_TEST_AI_KEY_UNSET\"\n";
    let text_now = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text_now}{ai}")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orbitbot"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("ORBITBOT_TEST_AI_KEY_UNSET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("ORBITBOT_TEST_AI_KEY_UNSET"), "{err}");
    assert!(err.contains("não está definida"), "{err}");
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

    let run = Running::start(&config);
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
