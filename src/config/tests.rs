use std::path::Path;

use super::*;

const MINIMAL: &str = "[admin]\noperators = [\"+55 (11) 98888-7777\"]\n";

fn load_text(dir: &Path, text: &str) -> Result<Config, ConfigError> {
    let path = dir.join("admin.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path)
}

fn error_of(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let text = text.replace("{dir}", &dir.path().display().to_string());
    let err = load_text(dir.path(), &text).unwrap_err().to_string();
    err.replace(&dir.path().display().to_string(), "{dir}")
}

/// A config whose binaries exist on any machine, so tests do not need Chromium;
/// `whatsapp` goes into the `[whatsapp]` section, `extra` after it.
/// The engine is the simulator's unless `whatsapp` names one (wa-js needs its bundle).
fn with_binaries_and(whatsapp: &str, extra: &str) -> String {
    let engine = if whatsapp.contains("engine") {
        ""
    } else {
        "engine = \"simulator\"\n"
    };
    format!(
        "{MINIMAL}[whatsapp]\nchromium = \"/bin/sh\"\nchromedriver = \"/bin/sh\"\n\
         {engine}{whatsapp}{extra}"
    )
}

fn with_binaries(extra: &str) -> String {
    with_binaries_and("", extra)
}

#[test]
fn defaults_fill_a_minimal_file_and_paths_are_absolute() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("vendor/wa-js")).unwrap();
    std::fs::write(dir.path().join("vendor/wa-js/wppconnect-wa.js"), "// wa-js").unwrap();
    let text = format!("{MINIMAL}[whatsapp]\nchromium = \"/bin/sh\"\nchromedriver = \"/bin/sh\"\n");
    let config = load_text(dir.path(), &text).unwrap();
    assert_eq!(config.admin.operators[0].as_str(), "5511988887777");
    assert_eq!(config.admin.prefix, "!");
    assert_eq!(config.admin.timezone_name, "America/Sao_Paulo");
    assert_eq!(config.whatsapp.engine, Engine::WaJs);
    assert_eq!(config.whatsapp.url.as_str(), "https://web.whatsapp.com/");
    assert_eq!(config.paths.data, dir.path().join("data"));
    assert_eq!(config.paths.tokens, dir.path().join("tokens"));
    assert_eq!(
        config.whatsapp.wa_js,
        dir.path().join("vendor/wa-js/wppconnect-wa.js")
    );
    assert_eq!(config.limits.min_gap, Duration::from_millis(1500));
    assert_eq!(config.limits.qr_resends, 6);
    assert_eq!(config.backups.keep, 7);
    assert!(config.backups.daily_at.is_none());
    assert!(config.ai.is_none() && config.panel.is_none());
    assert_eq!(
        config.transcription.model,
        dir.path().join("models/ggml-base-q8_0.bin")
    );
}

#[test]
fn the_shipped_example_is_valid_and_points_at_the_simulator() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("admin.toml");
    let text = std::fs::read_to_string(example).unwrap();
    let text = text
        .replace("/usr/bin/chromium", "/bin/sh")
        .replace("/usr/bin/chromedriver", "/bin/sh");
    let dir = tempfile::tempdir().unwrap();
    let config = load_text(dir.path(), &text).unwrap();
    assert_eq!(config.whatsapp.engine, Engine::Simulator);
    assert_eq!(config.whatsapp.url.as_str(), "http://127.0.0.1:7600/");
}

#[test]
fn unknown_key_names_the_key_and_what_is_allowed() {
    assert_eq!(
        error_of("[admin]\noperators = [\"5511988887777\"]\noperator = 1\n"),
        "{dir}/admin.toml, linha 3: [admin] operator: chave desconhecida; \
         permitidas: operators, timezone, prefix"
    );
    assert_eq!(
        error_of(&format!("{MINIMAL}[limit]\nmin_gap_ms = 5\n")),
        "{dir}/admin.toml, linha 3: [limit]: seção desconhecida; permitidas: admin, \
         whatsapp, paths, limits, backups, ai, transcription, panel"
    );
}

#[test]
fn missing_and_mistyped_keys() {
    assert_eq!(
        error_of("[limits]\nper_minute = 5\n"),
        "{dir}/admin.toml, linha 1: [admin]: seção obrigatória e ausente"
    );
    assert_eq!(
        error_of(&format!("{MINIMAL}[admin]\nprefix = \"!\"\n")),
        "{dir}/admin.toml, linha 3: [admin]: chave repetida; escreva cada chave uma só vez"
    );
    assert_eq!(
        error_of(&format!(
            "{MINIMAL}[panel]\nlisten = \"127.0.0.1:1\"\nbase_url = \"http://x\"\n\
             [[panel.userz]]\nphone = \"1\"\n"
        )),
        "{dir}/admin.toml, linha 6: [panel] userz: chave desconhecida; \
         permitidas: listen, base_url, link_ttl_s, users"
    );
    assert_eq!(
        error_of("[admin]\nprefix = \"!\"\n"),
        "{dir}/admin.toml, linha 1: [admin] operators: obrigatória e ausente"
    );
    assert_eq!(
        error_of(&format!("{MINIMAL}[limits]\nmin_gap_ms = \"50\"\n")),
        "{dir}/admin.toml, linha 4: [limits] min_gap_ms: tipo errado (string \"50\"); \
         esperado um número inteiro não negativo"
    );
}

#[test]
fn bad_phone_is_explained() {
    assert_eq!(
        error_of("[admin]\noperators = [\"11 9888\"]\n"),
        "{dir}/admin.toml: [admin] operators: telefone inválido \"11 9888\": tem 6 dígitos; \
         com DDI e DDD são de 8 a 15, ex.: 5511988887777"
    );
    assert_eq!(
        error_of("[admin]\noperators = []\n"),
        "{dir}/admin.toml: [admin] operators: informe ao menos um telefone, \
         ex.: [\"5511988887777\"]"
    );
}

#[test]
fn bad_paths_are_explained() {
    assert_eq!(
        error_of(&with_binaries("[paths]\ndata = \"admin.toml/data\"\n")),
        "{dir}/admin.toml: [paths] data: \"admin.toml/data\" não pode ser pasta: \
         {dir}/admin.toml é um arquivo; aponte para uma pasta"
    );
    assert_eq!(
        error_of(&format!(
            "{MINIMAL}[whatsapp]\nengine = \"simulator\"\nchromium = \"/nao/existe/chromium\"\n"
        )),
        "{dir}/admin.toml: [whatsapp] chromium: \"/nao/existe/chromium\" não existe; \
         rode scripts/setup ou aponte para o executável"
    );
    assert_eq!(
        error_of(&with_binaries("[paths]\ntokens = \"\"\n")),
        "{dir}/admin.toml: [paths] tokens: informe um caminho, ex.: \"data\" ou \
         \"/srv/orbitbot/data\""
    );
}

#[test]
fn bad_values_name_the_allowed_range_or_form() {
    let cases = [
        (
            "",
            "[limits]\nper_minute = 0\n",
            "[limits] per_minute: 0 fora do intervalo permitido (1 a 600)",
        ),
        (
            "engine = \"puppeteer\"\n",
            "",
            "[whatsapp] engine: \"puppeteer\" não existe; use \"wa-js\" ou \"simulator\"",
        ),
        (
            "",
            "[backups]\ndaily_at = \"25:00\"\n",
            "[backups] daily_at: \"25:00\" não é um horário HH:MM, ex.: \"03:30\"",
        ),
        (
            "url = \"ftp://x\"\n",
            "",
            "[whatsapp] url: \"ftp://x\" não é um endereço http(s), \
             ex.: \"http://127.0.0.1:7600\"",
        ),
        (
            "",
            "[ai]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\ntimeout_s = 0\n",
            "[ai] timeout_s: 0 fora do intervalo permitido (1 a 600)",
        ),
        (
            "",
            "[ai]\nbase_url = \"http://127.0.0.1:9/v1/chat/completions\"\nmodel = \"m\"\n",
            "[ai] base_url: use o endereço base, sem /chat/completions, \
             ex.: \"http://127.0.0.1:11434/v1\"",
        ),
        (
            "",
            "[ai]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n\
             api_key_env = \"sk-abc123realkey\"\n",
            "[ai] api_key_env: não é nome de variável de ambiente (o valor não é \
             mostrado: a chave não vai no arquivo); use maiúsculas, números e '_', \
             ex.: \"OPENAI_API_KEY\"",
        ),
    ];
    for (whatsapp, extra, expected) in cases {
        let err = error_of(&with_binaries_and(whatsapp, extra));
        assert_eq!(err, format!("{{dir}}/admin.toml: {expected}"));
    }
    let err = error_of("[admin]\noperators = [\"5511988887777\"]\ntimezone = \"Mars/Base\"\n");
    assert!(
        err.ends_with(
            "fuso horário desconhecido \"Mars/Base\"; use um nome IANA, ex.: America/Sao_Paulo"
        ),
        "{err}"
    );
}

#[test]
fn panel_users_are_operators_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    let user = |phone: &str| {
        format!("[[panel.users]]\nphone = \"{phone}\"\npassword_hash = \"$argon2id$v=19$x\"\n")
    };
    let panel = "[panel]\nlisten = \"127.0.0.1:8080\"\nbase_url = \"http://127.0.0.1:8080\"\n";
    let stranger = with_binaries(&format!("{panel}{}", user("5511900000000")));
    let e = load_text(dir.path(), &stranger).unwrap_err().to_string();
    assert!(e.contains("não está em [admin] operators"), "{e}");
    let twice = [user("5511988887777"), user("+55 11 98888-7777")].concat();
    let twice = with_binaries(&format!("{panel}{twice}"));
    let e = load_text(dir.path(), &twice).unwrap_err().to_string();
    assert!(e.contains("aparece duas vezes"), "{e}");
    let right = with_binaries(&format!("{panel}{}", user("5511988887777")));
    let config = load_text(dir.path(), &right).unwrap();
    assert_eq!(config.panel.unwrap().users.len(), 1);
    let nobody = with_binaries(panel);
    let e = load_text(dir.path(), &nobody).unwrap_err().to_string();
    assert!(e.contains("nenhum operador pode entrar"), "{e}");
    let path = right.replace(
        "base_url = \"http://127.0.0.1:8080\"",
        "base_url = \"https://x/sub\"",
    );
    let e = load_text(dir.path(), &path).unwrap_err().to_string();
    assert!(e.contains("não é só a origem"), "{e}");
    let login = right.replace("http://127.0.0.1:8080\"\n[[", "https://u:p@x\"\n[[");
    assert!(load_text(dir.path(), &login).is_err());
}

#[test]
fn check_config_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "[ai]\nbase_url = \"http://user:hunter2@127.0.0.1:9/v1\"\nmodel = \"m\"\n\
                 api_key_env = \"ORBITBOT_TEST_UNSET_KEY\"\n\
                 [panel]\nlisten = \"127.0.0.1:8080\"\nbase_url = \"http://127.0.0.1:8080\"\n\
                 [[panel.users]]\nphone = \"5511988887777\"\n\
                 password_hash = \"$argon2id$v=19$secret\"\n";
    let config = load_text(dir.path(), &with_binaries(extra)).unwrap();
    let ai = config.ai.as_ref().unwrap();
    assert_eq!(ai.timeout, Duration::from_secs(60));
    let shown = config.display_masked();
    assert!(shown.contains("timeout_s = 60\n"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(
        shown.contains("base_url = \"http://user:***@127.0.0.1:9/v1\""),
        "{shown}"
    );
    assert!(shown.contains("password_hash = \"***\""), "{shown}");
    assert!(
        shown.contains("api_key_env = \"ORBITBOT_TEST_UNSET_KEY\"  # NÃO definida ou vazia"),
        "{shown}"
    );
    assert!(shown.contains("[[panel.users]]"), "{shown}");
}

#[test]
fn out_of_range_numbers_and_missing_values_are_explained() {
    assert_eq!(
        error_of(&format!("{MINIMAL}[limits]\nper_minute = -1\n")),
        "{dir}/admin.toml, linha 4: [limits] per_minute: número fora do intervalo (`-1`); \
         use um número inteiro de 0 a 4294967295"
    );
    let huge = error_of(&format!(
        "{MINIMAL}[limits]\nmin_gap_ms = 99999999999999999999\n"
    ));
    assert!(huge.contains("número fora do intervalo"), "{huge}");
    let missing = error_of(&format!("{MINIMAL}[backups]\nkeep = \n"));
    assert!(missing.contains("valor ausente"), "{missing}");
}

#[test]
fn engine_files_and_socket_paths_are_checked_before_run() {
    let err = error_of(&with_binaries_and(
        "engine = \"wa-js\"\nwa_js = \"nada.js\"\n",
        "",
    ));
    assert!(
        err.contains("[whatsapp] wa_js") && err.contains("rode scripts/setup"),
        "{err}"
    );
    let long = "d".repeat(120);
    let err = error_of(&with_binaries(&format!("[paths]\ndata = \"{long}\"\n")));
    assert!(
        err.contains("[paths] data") && err.contains("longo demais"),
        "{err}"
    );
}

#[test]
fn repeated_operators_count_once_and_a_missing_file_says_how_to_point_at_one() {
    let dir = tempfile::tempdir().unwrap();
    let text = with_binaries("").replace(
        "operators = [\"+55 (11) 98888-7777\"]",
        "operators = [\"5511988887777\", \"+55 11 98888-7777\"]",
    );
    let config = load_text(dir.path(), &text).unwrap();
    assert_eq!(config.admin.operators.len(), 1);
    let err = Config::load(&dir.path().join("nada.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--config <arquivo>"), "{err}");
}
