//! The operator commands run directly through `registry::execute`, with no browser:
//! each command's parsing and usage errors, and the admin-chat parts of the field
//! cases (F16 names, `!status`, `!iniciar`, `!remover … confirmar`, the audit log).
//!
//! A [`Desk`] is a temp dir with its own `admin.toml` whose browser binaries are
//! `/bin/false`: a session that a command starts fails at once and starts no browser.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use orbitbot::admin::registry::{self, COMMANDS, Spec};
use orbitbot::admin::{Admin, Asker, Out};
use orbitbot::client::catalog::Catalog;
use orbitbot::client::permissions::{EVERYTHING, PermissionSet};
use orbitbot::client::{Outlet, Pipeline};
use orbitbot::config::Config;
use orbitbot::session::Sessions;
use orbitbot::store::{AuditEntry, HistoryEntry, LogRecord, Store, TenantDb};
use orbitbot::tenant::{SessionState, TenantId};
use tokio::sync::mpsc;

use crate::common::tid;
use crate::pipeline::{C1, C2, COMMANDS as CATALOG};

/// The operator of FIELD-CASES.md.
const OPERATOR: &str = "5511999990000";

/// The naming rule as every refused name shows it.
const RULE: &str = "Use de 2 a 32 caracteres";

/// The named persona every desk has.
const PERSONA: &str = r#"
name = "loja"
description = "Atendente da loja"
system = "Você é a atendente da loja."
"#;

/// The generic text of an internal fault: no operator mistake may ever produce it.
const INTERNAL: &str = "Erro interno";

/// An orbitbot without browsers: config, store, sessions, pipeline, control plane.
/// Everything lives under `root/srv/`, so a path that escaped the data folders by
/// `..` twice would still land inside `root` and be seen by [`Desk::tree`].
pub(crate) struct Desk {
    pub(crate) root: tempfile::TempDir,
    pub(crate) store: Arc<Store>,
    pub(crate) sessions: Arc<Sessions>,
    pipeline: Arc<Pipeline>,
    pub(crate) admin: Arc<Admin>,
    drain: tokio::task::JoinHandle<()>,
}

impl Desk {
    /// A desk with the field cases' client commands.
    pub(crate) fn new() -> Desk {
        Desk::with("", "")
    }

    /// Same, with extra `[admin]` and `[limits]` lines.
    pub(crate) fn with(admin: &str, limits: &str) -> Desk {
        let root = tempfile::tempdir().unwrap();
        let srv = root.path().join("srv");
        std::fs::create_dir_all(srv.join("commands")).unwrap();
        std::fs::write(srv.join("commands/casos.toml"), CATALOG).unwrap();
        std::fs::create_dir_all(srv.join("commands/personas")).unwrap();
        std::fs::write(srv.join("commands/personas/loja.toml"), PERSONA).unwrap();
        let text = format!(
            "[admin]\noperators = [\"{OPERATOR}\"]\n{admin}\n\
             [whatsapp]\nengine = \"simulator\"\nurl = \"http://127.0.0.1:9\"\n\
             chromium = \"/bin/false\"\nchromedriver = \"/bin/false\"\n\
             [limits]\nmin_gap_ms = 50\n{limits}"
        );
        std::fs::write(srv.join("admin.toml"), text).unwrap();
        let config = Arc::new(Config::load(&srv.join("admin.toml")).unwrap());
        let store = Arc::new(Store::open(&config.paths.data).unwrap());
        // Session events are not looked at here; draining them keeps sessions moving.
        let (events, mut rx) = mpsc::channel(64);
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let sessions =
            Arc::new(Sessions::new(Arc::clone(&config), Arc::clone(&store), events).unwrap());
        let catalog = Catalog::load(&config.paths.commands).unwrap();
        let outlet: Arc<dyn Outlet> = sessions.clone();
        let pipeline = Arc::new(Pipeline::new(
            Arc::clone(&config),
            Arc::clone(&store),
            outlet,
            catalog,
            None,
        ));
        let admin = Arc::new(Admin::new(
            config,
            Arc::clone(&store),
            Arc::clone(&sessions),
            Arc::clone(&pipeline),
            None,
        ));
        Desk {
            root,
            store,
            sessions,
            pipeline,
            admin,
            drain,
        }
    }

    /// The operator writes `text` to the admin chat; the answers' texts, joined.
    pub(crate) async fn say(&self, text: &str) -> String {
        let asker = Asker {
            chat: format!("{OPERATOR}@c.us"),
            actor: OPERATOR.to_owned(),
        };
        let outs = registry::execute(&self.admin, &asker, text).await;
        assert!(!outs.is_empty(), "no answer to {text:?}");
        let texts: Vec<&str> = outs
            .iter()
            .map(|out| match out {
                Out::Text(text) => text.as_str(),
                Out::Image { caption, .. } => caption.as_str(),
            })
            .collect();
        texts.join("\n")
    }

    /// Like [`Desk::say`], and the answer holds every one of `words`.
    async fn expect(&self, text: &str, words: &[&str]) -> String {
        let reply = self.say(text).await;
        for word in words {
            assert!(reply.contains(word), "{text:?}: {word:?} not in {reply:?}");
        }
        reply
    }

    /// A tenant made straight in the store (no session).
    pub(crate) fn add(&self, name: &str) -> TenantId {
        let id = tid(name);
        self.store.create_tenant(&id, now_ms()).unwrap();
        id
    }

    /// A tenant's own database.
    pub(crate) fn db(&self, name: &str) -> Arc<TenantDb> {
        self.store.tenant(&tid(name)).unwrap()
    }

    /// The tenants' ids, sorted.
    pub(crate) fn tenants(&self) -> Vec<String> {
        let records = self.store.control().tenants().unwrap();
        records.iter().map(|t| t.id.to_string()).collect()
    }

    /// The tenant's settings as its database holds them.
    pub(crate) fn settings(&self, name: &str) -> Vec<(String, String)> {
        self.db(name).settings().unwrap().into_iter().collect()
    }

    /// The tenant's permission rules as the client pipeline reads them.
    fn perms(&self, name: &str) -> PermissionSet {
        PermissionSet::load(self.store.control(), &tid(name)).unwrap()
    }

    /// The keys of the tenant's permission rules as stored.
    fn rules(&self, name: &str) -> Vec<String> {
        let rules = self.store.control().permissions(&tid(name)).unwrap();
        rules.into_keys().collect()
    }

    /// The audit log, oldest first.
    pub(crate) fn audit(&self) -> Vec<AuditEntry> {
        self.store.control().audit(None, 1_000).unwrap()
    }

    /// `srv/<rel>`.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join("srv").join(rel)
    }

    /// Every file and folder under the root, relative to it (symlinks not followed).
    fn tree(&self) -> BTreeSet<PathBuf> {
        let root = self.root.path();
        let mut out = BTreeSet::new();
        let mut folders = vec![root.to_owned()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_dir() {
                    folders.push(entry.path());
                }
                out.insert(entry.path().strip_prefix(root).unwrap().to_owned());
            }
        }
        out
    }

    /// Stops every session a command started and waits until each is gone.
    pub(crate) async fn close(self) {
        self.sessions.stop_all().await;
        self.drain.abort();
    }
}

fn now_ms() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap()
}

/// A history row of `contact` (digits) in its chat, `ago_s` seconds ago.
fn row(id: &str, contact: &str, from_me: bool, ago_s: u64) -> HistoryEntry {
    let chat = format!("{contact}@c.us");
    HistoryEntry {
        id: id.to_owned(),
        from: if from_me {
            "5511999990010@c.us".into()
        } else {
            chat.clone()
        },
        chat,
        from_me,
        kind: "chat".to_owned(),
        text: Some(format!("texto {id}")),
        media: None,
        t_ms: now_ms() - ago_s * 1_000,
        ack: 0,
        edited: false,
        revoked: false,
        truncated: false,
    }
}

/// A command's declaration by name.
fn spec(name: &str) -> &'static Spec {
    registry::find(name).unwrap()
}

/// What a usage error answers: what is wrong, the usage line, the help.
fn usage(name: &str, what: &str) -> String {
    let spec = spec(name);
    let line = registry::usage_line(spec, "!");
    format!("⚠️ {what}\nUso: {line}\n{}", spec.help)
}

/// `logs` of `!logs clientea 5`.
fn command_word(text: &str) -> &str {
    text[1..].split(' ').next().unwrap()
}

/// The commands whose first argument is a tenant that must be given.
fn tenant_commands() -> impl Iterator<Item = &'static Spec> {
    COMMANDS.iter().filter(|s| s.usage.starts_with("<cliente>"))
}

// ---------------------------------------------------------------------------------
// 1. Parsing

#[tokio::test]
async fn prefix_and_name_ignore_case() {
    let desk = Desk::new();
    let help = desk.expect("!ajuda", &["Comandos do operador"]).await;
    for text in ["!AJUDA", "!Ajuda", "!aJuDa", "  !ajuda", "!ajuda\n"] {
        assert_eq!(desk.say(text).await, help, "{text:?}");
    }
    let usage = usage("logs", "Falta o nome do cliente.");
    assert_eq!(desk.say("!LOGS").await, usage);
    assert_eq!(desk.say("!Log").await, usage);
}

#[tokio::test]
async fn a_custom_prefix_is_used_in_every_answer() {
    let desk = Desk::with("prefix = \"/\"", "");
    desk.expect("/ajuda", &["/novo <cliente> [telefone]"]).await;
    desk.expect("/AJUDA", &["Comandos do operador"]).await;
    desk.expect("!ajuda", &["Mande /ajuda"]).await;
    desk.expect("/nvo", &["comando desconhecido: /nvo.", "/novo?"])
        .await;
    desk.expect("/logs", &["Uso: /logs <cliente> [n]"]).await;
    desk.add("clientea");
    desk.expect("/remover clientea", &["/remover clientea confirmar"])
        .await;
    desk.expect("/parar clientea", &["/iniciar clientea"]).await;
    let lost = desk.say("/logs fantasma").await;
    assert!(lost.contains("/clientes") && !lost.contains('!'), "{lost}");
}

#[tokio::test]
async fn composed_and_decomposed_accents_read_the_same() {
    let desk = Desk::new();
    desk.add("clientea");
    let composed = desk.say("!hist\u{F3}rico clientea").await;
    let decomposed = desk.say("!histo\u{301}rico clientea").await;
    assert_eq!(composed, decomposed);
    // Accents in command names are ignored, as for client commands.
    assert!(
        composed.contains("clientea: nenhuma mensagem"),
        "{composed}"
    );
    // In arguments too: a decomposed accent in a setting's key is the same key.
    let key = desk
        .say("!config clientea hora\u{301}rio seg-sex 08:00-18:00")
        .await;
    assert_eq!(
        key,
        desk.say("!config clientea hor\u{E1}rio seg-sex 08:00-18:00")
            .await
    );
    assert!(key.starts_with("⚙️ clientea horario = "), "{key}");
}

#[tokio::test]
async fn invisible_marks_inside_names_and_arguments_are_dropped() {
    let desk = Desk::new();
    desk.add("clientea");
    let plain = desk.say("!status clientea").await;
    for text in [
        "!sta\u{200B}tus clientea",
        "\u{FEFF}!status clientea",
        "!status client\u{200D}ea",
        "!status\u{2060} clientea\u{200B}",
        "!STA\u{AD}TUS clientea",
    ] {
        assert_eq!(desk.say(text).await, plain, "{text:?}");
    }
    desk.expect("!no\u{200B}vo", &["Uso: !novo <cliente> [telefone]"])
        .await;
}

#[tokio::test]
async fn any_whitespace_splits_the_arguments() {
    let desk = Desk::new();
    let id = desk.add("clientea");
    let db = desk.store.tenant(&id).unwrap();
    for n in 0..3 {
        db.record_message(&row(&format!("M{n}"), C1, false, 60))
            .unwrap();
    }
    let plain = desk.say("!historico clientea 2").await;
    assert!(plain.contains("últimas 2 mensagens"), "{plain}");
    for text in [
        "!historico\u{A0}clientea\u{A0}2",
        "!historico\tclientea\t\t2",
        "!historico \u{2007}clientea\u{202F}2 ",
        "!historico\nclientea\n2",
        "!historico\u{3000}clientea  2",
    ] {
        assert_eq!(desk.say(text).await, plain, "{text:?}");
    }
    desk.say("!negar\u{A0}clientea\tmenu").await;
    assert!(!desk.perms("clientea").allows("menu", None, true));
}

#[tokio::test]
async fn every_alias_runs_its_command() {
    let desk = Desk::new();
    for spec in COMMANDS {
        for args in ["", " ../x"] {
            let by_name = desk.say(&format!("!{}{args}", spec.name)).await;
            for alias in spec.aliases {
                let reply = desk.say(&format!("!{}{args}", alias.to_uppercase())).await;
                assert_eq!(reply, by_name, "!{alias}{args}");
            }
        }
    }
    // The English ones the issue names, each doing its job.
    desk.expect("!help", &["Comandos do operador"]).await;
    desk.expect("!new", &["Uso: !novo <cliente> [telefone]"])
        .await;
    desk.expect(
        "!clients",
        &["Nenhum cliente ainda. Crie com !novo <cliente>."],
    )
    .await;
    desk.add("clientea");
    desk.expect("!stop clientea", &["⏹️ clientea parado."])
        .await;
    desk.expect("!start clientea", &["▶️ Iniciando clientea…"])
        .await;
    desk.expect("!remove clientea", &["!remover clientea confirmar"])
        .await;
    desk.close().await;
}

#[tokio::test]
async fn a_text_without_the_prefix_gets_a_hint() {
    let desk = Desk::new();
    let hint = "Sou o orbitbot. Mande !ajuda para ver os comandos.";
    for text in [
        "oi",
        "ajuda",
        "novo clientea",
        "! ajuda",
        "!",
        "",
        "oi !ajuda",
        "?ajuda",
    ] {
        assert_eq!(desk.say(text).await, hint, "{text:?}");
    }
    assert!(desk.audit().is_empty(), "a plain text is no command");
}

#[tokio::test]
async fn an_unknown_name_gets_the_closest_command() {
    let desk = Desk::new();
    for (typed, close) in [
        ("!nvo", "!novo"),
        ("!NOVOO", "!novo"),
        ("!stauts", "!status"),
        ("!permitr", "!permitir"),
        ("!cliente", "!clientes"),
        ("!hlep", "!help"),
    ] {
        let reply = desk.say(&format!("{typed} clientea")).await;
        let word = typed.to_lowercase();
        let want = format!(
            "❓ comando desconhecido: {word}. Você quis dizer {close}? \
             Mande !ajuda para ver a lista."
        );
        assert_eq!(reply, want);
    }
    let far = desk.say("!xyzzyx").await;
    assert_eq!(
        far,
        "❓ comando desconhecido: !xyzzyx. Mande !ajuda para ver a lista."
    );
    assert!(desk.tenants().is_empty());
}

#[tokio::test]
async fn ajuda_lists_every_command_and_explains_one() {
    let desk = Desk::new();
    let all = desk.say("!ajuda").await;
    assert!(all.starts_with("📋 *Comandos do operador*\n"), "{all}");
    for spec in COMMANDS {
        let line = format!("{} — {}", registry::usage_line(spec, "!"), spec.help);
        assert!(
            all.lines().any(|l| l == line),
            "{line:?} missing from {all}"
        );
    }
    assert_eq!(all.lines().count(), COMMANDS.len() + 1);
    let novo = desk.say("!ajuda novo").await;
    let spec = spec("novo");
    assert_eq!(
        novo,
        format!(
            "*!novo <cliente> [telefone]*\n{}\nTambém: !new, !criar",
            spec.help
        )
    );
    for text in ["!ajuda new", "!ajuda !novo", "!help NOVO", "!ajuda criar"] {
        assert_eq!(desk.say(text).await, novo, "{text:?}");
    }
    for spec in COMMANDS {
        let detail = desk.say(&format!("!ajuda {}", spec.name)).await;
        assert!(detail.contains(spec.help), "{detail}");
    }
    desk.expect("!ajuda nvo", &["comando desconhecido: !nvo.", "!novo?"])
        .await;
}

// ---------------------------------------------------------------------------------
// 2. Usage errors of every command

#[tokio::test]
async fn every_tenant_command_wants_a_valid_existing_tenant() {
    let desk = Desk::new();
    for spec in tenant_commands() {
        let name = spec.name;
        let missing = desk.say(&format!("!{name}")).await;
        if name != "novo" {
            assert_eq!(missing, usage(name, "Falta o nome do cliente."));
        }
        assert!(missing.contains("Uso: !"), "{missing}");
        let bad = desk.say(&format!("!{name} ../x")).await;
        assert!(bad.contains("nome de cliente inválido \"../x\""), "{bad}");
        assert!(bad.contains(RULE), "{bad}");
        // `!restaurar` creates a missing tenant: it says there is no backup instead.
        if name != "novo" && name != "restaurar" {
            let lost = desk.say(&format!("!{name} fantasma")).await;
            let want = "cliente fantasma não encontrado; veja a lista com !clientes";
            assert_eq!(lost, want, "!{name}");
        }
    }
    desk.expect("!status fantasma", &["cliente fantasma não encontrado"])
        .await;
    desk.expect("!status ../x", &[RULE]).await;
    assert!(desk.tenants().is_empty());
}

#[tokio::test]
async fn counts_out_of_range_get_the_usage() {
    let desk = Desk::new();
    desk.add("clientea");
    for (text, bad) in [
        ("!logs clientea 0", "0"),
        ("!logs clientea 999", "999"),
        ("!logs clientea dez", "dez"),
        ("!logs clientea -1", "-1"),
        ("!logs clientea 1.5", "1.5"),
        ("!logs clientea +5", "+5"),
        ("!logs clientea 201", "201"),
        (
            "!logs clientea 99999999999999999999999",
            "99999999999999999999999",
        ),
    ] {
        let what = format!("\"{bad}\" não é uma quantidade válida: use um número de 1 a 200.");
        assert_eq!(desk.say(text).await, usage("logs", &what), "{text}");
    }
    for (text, bad) in [
        ("!historico clientea 0", "0"),
        ("!historico clientea 999", "999"),
        ("!historico clientea dez", "dez"),
        ("!historico clientea 5511999990001 0", "0"),
        ("!historico clientea 5511999990001 dez", "dez"),
    ] {
        let what = format!("\"{bad}\" não é uma quantidade válida: use um número de 1 a 200.");
        assert_eq!(desk.say(text).await, usage("historico", &what), "{text}");
    }
    desk.expect("!logs clientea 200", &["nenhum registro ainda"])
        .await;
    desk.expect("!historico clientea 1", &["nenhuma mensagem"])
        .await;
}

#[tokio::test]
async fn missing_arguments_get_the_usage() {
    let desk = Desk::new();
    desk.add("clientea");
    let item = "Falta o comando ou recurso.";
    assert_eq!(
        desk.say("!permitir clientea").await,
        usage("permitir", item)
    );
    assert_eq!(desk.say("!negar clientea").await, usage("negar", item));
    let keys = desk.say("!config clientea").await;
    assert!(
        keys.starts_with("⚠️ Falta a chave. Chaves:\ngrupos: "),
        "{keys}"
    );
    assert!(
        keys.contains("\nUso: !config <cliente> <chave> [valor|padrao]\n"),
        "{keys}"
    );
    for key in [
        "horario",
        "ausencia",
        "saudacao",
        "idioma",
        "transcricao.eco",
    ] {
        assert!(keys.contains(&format!("\n{key}: ")), "{key} not in {keys}");
    }
    let number = desk.say("!enviar clientea").await;
    assert_eq!(number, usage("enviar", "Falta o número."));
    let text = desk.say("!enviar clientea 5511999990001").await;
    assert_eq!(text, usage("enviar", "Falta o texto."));
    desk.expect(
        "!enviar clientea abc oi",
        &["telefone inválido \"abc\"", "Uso: !enviar"],
    )
    .await;
    desk.expect(
        "!enviar clientea 123 oi",
        &["tem 3 dígitos", "Uso: !enviar"],
    )
    .await;
    desk.expect(
        "!qr clientea abc",
        &["telefone inválido \"abc\"", "Uso: !qr"],
    )
    .await;
    desk.expect("!historico clientea fulano", &["Uso: !historico"])
        .await;
    desk.expect("!permitir clientea menu fulano", &["Uso: !permitir"])
        .await;
    assert!(desk.rules("clientea").is_empty());
}

#[tokio::test]
async fn extra_arguments_are_refused_and_nothing_is_done() {
    let desk = Desk::new();
    desk.add("clientea");
    desk.add("clienteb");
    let plain = [
        "!parar clientea clienteb",
        "!iniciar clientea clienteb",
        "!logs clientea 5 6",
        "!status clientea clienteb",
        "!clientes todos",
        "!recarregar agora",
        "!historico clientea 5511999990001 5 6",
        "!ajuda novo qr",
        "!backup clientea clienteb",
        "!backups clientea clienteb",
        "!restaurar clientea a b c",
        "!link clientea clienteb",
    ];
    for text in plain {
        let name = command_word(text);
        assert_eq!(desk.say(text).await, usage(name, "Argumentos demais."));
    }
    // A phone may be written with spaces: what follows it makes it no phone.
    let phone_last = [
        "!qr clientea 5511999990001 agora",
        "!permitir clientea menu 5511999990001 5511999990002",
        "!negar clientea menu 5511999990001 agora",
    ];
    for text in phone_last {
        desk.expect(text, &["inválido", "Uso: !"]).await;
    }
    let confirm = [
        "!remover clientea confirmar já",
        "!remover clientea confirmar confirmar",
    ];
    for text in confirm {
        desk.expect(text, &["!remover clientea confirmar"]).await;
    }
    let novo = "!novo clientec 5511999990001 x";
    desk.expect(novo, &[RULE]).await;
    assert_eq!(desk.tenants(), ["clientea", "clienteb"]);
    for id in ["clientea", "clienteb"] {
        assert_eq!(desk.sessions.state(&tid(id)), None, "{id} was started");
        assert!(desk.rules(id).is_empty());
    }
    // Every command has its case above, but those ending in free text.
    let all = [&plain[..], &phone_last, &confirm, &[novo]].concat();
    let covered: Vec<&str> = all.into_iter().map(command_word).collect();
    for spec in COMMANDS {
        let free = ["config", "enviar", "persona"].contains(&spec.name);
        assert!(
            free || covered.contains(&spec.name),
            "no case for !{}",
            spec.name
        );
    }
}

#[tokio::test]
async fn no_command_panics_or_fails_inside_whatever_it_is_given() {
    let desk = Desk::new();
    desk.add("clientea");
    let long = "a".repeat(300);
    let args = [
        "",
        "clientea",
        "clientea 0",
        "clientea 5511999990001",
        "clientea 5511999990001 oi tudo bem",
        "clientea * +55 (11) 99999-0001",
        "clientea comando.menu",
        "clientea \u{200B}",
        "../../etc 5",
        "ADMIN",
        "👨‍👩‍👧 🎉",
        "clientea 👨‍👩‍👧",
        "clientea 18446744073709551616",
        "\u{0}\u{1}",
        long.as_str(),
    ];
    // No argument list says `confirmar`: !remover only ever asks.
    let words = COMMANDS
        .iter()
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()));
    for word in words {
        for arg in args {
            let reply = desk.say(&format!("!{word} {arg}")).await;
            assert!(!reply.contains(INTERNAL), "!{word} {arg}: {reply}");
        }
    }
    desk.close().await;
}

// ---------------------------------------------------------------------------------
// 3. F16: tenant names

#[tokio::test]
async fn f16_bad_names_are_refused_with_the_rule_and_make_nothing() {
    let desk = Desk::new();
    let before = desk.tree();
    let long = format!("!novo {}", "a".repeat(200));
    for (text, words) in [
        (
            "!novo ../../etc",
            vec!["nome de cliente inválido \"../../etc\"", RULE],
        ),
        (
            "!novo clientea/../admin",
            vec!["\"clientea/../admin\"", RULE],
        ),
        (
            "!novo cliente X",
            vec!["não pode ter espaços", "\"cliente X\"", RULE],
        ),
        ("!novo cliente\u{A0}X", vec!["não pode ter espaços", RULE]),
        (
            "!novo João",
            vec!["nome de cliente inválido \"João\"", RULE],
        ),
        ("!novo joa\u{303}o", vec!["nome de cliente inválido", RULE]),
        (
            long.as_str(),
            vec!["nome de cliente inválido \"aaaa", "…\"", RULE],
        ),
        ("!novo admin", vec!["\"admin\" é reservado"]),
        ("!novo ADMIN", vec!["\"admin\" é reservado"]),
        ("!novo a", vec!["\"a\"", RULE]),
        ("!novo -loja", vec!["\"-loja\"", RULE]),
        ("!novo loja.com", vec!["\"loja.com\"", RULE]),
        ("!novo loja\\x", vec![RULE]),
        ("!novo .", vec![RULE]),
        ("!novo ..", vec![RULE]),
        ("!novo", vec!["Uso: !novo <cliente> [telefone]", RULE]),
    ] {
        let reply = desk.expect(text, &words).await;
        assert!(!reply.contains("criado"), "{text:?}: {reply}");
    }
    assert!(desk.tenants().is_empty(), "{:?}", desk.tenants());
    assert_eq!(desk.tree(), before, "files were made for refused names");
}

#[tokio::test]
async fn f16_a_name_is_trimmed_and_lowered_then_checked() {
    let desk = Desk::new();
    let before = desk.tree();
    desk.expect("!novo clientex ", &["✅ Cliente clientex criado."])
        .await;
    desk.expect("!novo ClienteY\u{A0}", &["✅ Cliente clientey criado."])
        .await;
    desk.expect(
        "!novo\t loja-da_ana2 \n",
        &["✅ Cliente loja-da_ana2 criado."],
    )
    .await;
    assert_eq!(desk.tenants(), ["clientex", "clientey", "loja-da_ana2"]);
    let logged: Vec<Option<TenantId>> = desk.audit().into_iter().map(|a| a.tenant).collect();
    assert_eq!(
        logged[1],
        Some(tid("clientey")),
        "the log names the checked id"
    );
    let sessions = Arc::clone(&desk.sessions);
    for id in ["clientex", "clientey", "loja-da_ana2"] {
        sessions.stop(&tid(id)).await;
    }
    let made: Vec<PathBuf> = desk.tree().difference(&before).cloned().collect();
    let allowed = ["srv/tokens", "srv/data", "srv/backups"];
    for path in &made {
        assert!(
            allowed.iter().any(|a| path.starts_with(a)),
            "{} made outside tokens/, data/, backups/",
            path.display()
        );
    }
    for id in ["clientex", "clientey", "loja-da_ana2"] {
        let db = PathBuf::from(format!("srv/data/tenants/{id}.redb"));
        assert!(made.contains(&db), "{} missing: {made:?}", db.display());
    }
    desk.close().await;
}

#[tokio::test]
async fn f16_novo_creates_the_tenant_once() {
    let desk = Desk::new();
    let made = desk.say("!novo clientea").await;
    assert_eq!(
        made,
        "✅ Cliente clientea criado. Abrindo o WhatsApp Web; o QR chega em instantes."
    );
    assert_eq!(desk.tenants(), ["clientea"]);
    assert!(desk.path("data/tenants/clientea.redb").is_file());
    assert!(desk.store.tenant(&tid("clientea")).is_ok());
    for again in ["!novo clientea", "!novo CLIENTEA", "!new clientea "] {
        desk.expect(again, &["clientea já existe"]).await;
    }
    assert_eq!(desk.tenants(), ["clientea"]);
    let outcomes: Vec<String> = desk.audit().into_iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes[0], "ok");
    assert_eq!(outcomes[1], "recusado: clientea já existe");
    desk.close().await;
}

#[tokio::test]
async fn novo_takes_a_phone_in_any_format_for_a_pairing_code() {
    let desk = Desk::new();
    for (text, id) in [
        ("!novo clientea 5511999990010", "clientea"),
        ("!novo clienteb +5511999990011", "clienteb"),
        ("!novo clientec +55 (11) 99999-0012", "clientec"),
    ] {
        let want = format!(
            "✅ Cliente {id} criado. Abrindo o WhatsApp Web; o QR e o código de \
             pareamento chegam em instantes."
        );
        assert_eq!(desk.say(text).await, want, "{text}");
    }
    desk.expect("!novo cliented 55abc", &["não pode ter espaços", RULE])
        .await;
    assert_eq!(desk.tenants(), ["clientea", "clienteb", "clientec"]);
    desk.close().await;
}

#[tokio::test]
async fn max_tenants_is_enforced() {
    let desk = Desk::with("", "max_tenants = 2");
    desk.add("clientea");
    desk.expect("!novo clienteb", &["criado"]).await;
    let full = desk.say("!novo clientec").await;
    assert_eq!(
        full,
        "🚫 Limite de 2 clientes atingido ([limits] max_tenants)."
    );
    desk.expect("!novo clientea", &["clientea já existe"]).await;
    assert_eq!(desk.tenants(), ["clientea", "clienteb"]);
    assert!(!desk.path("data/tenants/clientec.redb").exists());
    desk.expect("!remover clientea confirmar", &["removido"])
        .await;
    desk.expect("!novo clientec", &["criado"]).await;
    desk.close().await;
}

// ---------------------------------------------------------------------------------
// 4. !permitir and !negar

#[tokio::test]
async fn permitir_and_negar_write_what_the_pipeline_reads() {
    let desk = Desk::new();
    desk.add("clientea");
    desk.add("clienteb");
    let c1 = format!("{C1}@c.us");
    for (text, reply) in [
        (
            "!negar clientea menu",
            "clientea: menu 🚫 bloqueado para todos os contatos.",
        ),
        (
            "!permitir clientea limpar",
            "clientea: limpar ✅ liberado para todos os contatos.",
        ),
        (
            "!negar clientea ia",
            "clientea: ia 🚫 bloqueado para todos os contatos.",
        ),
        (
            "!permitir clientea grupos",
            "clientea: grupos ✅ liberado para todos os contatos.",
        ),
        (
            "!negar clientea transcricao",
            "clientea: transcricao 🚫 bloqueado para todos os contatos.",
        ),
    ] {
        assert_eq!(desk.say(text).await, reply, "{text}");
    }
    let perms = desk.perms("clientea");
    assert!(!perms.allows("menu", Some(&c1), true));
    assert!(perms.allows("limpar", Some(&c1), false));
    assert!(!perms.feature("ia", Some(&c1)));
    assert!(perms.feature("grupos", None));
    assert!(!perms.feature("transcricao", Some(&c1)));
    // An alias or a prefixed name is the command's own name; case does not matter.
    desk.expect(
        "!permitir clientea cardapio",
        &["clientea: menu ✅ liberado"],
    )
    .await;
    assert!(desk.perms("clientea").allows("menu", Some(&c1), false));
    desk.expect("!negar clientea !MENU", &["clientea: menu 🚫 bloqueado"])
        .await;
    assert!(!desk.perms("clientea").allows("menu", None, true));
    // The other tenant has no rule at all.
    assert!(desk.rules("clienteb").is_empty());
}

#[tokio::test]
async fn a_star_blocks_or_frees_everything() {
    let desk = Desk::new();
    desk.add("clientea");
    let (c1, c2) = (format!("{C1}@c.us"), format!("{C2}@c.us"));
    desk.expect(
        "!negar clientea * 5511999990002",
        &["tudo 🚫 bloqueado para 5511999990002."],
    )
    .await;
    let perms = desk.perms("clientea");
    assert!(!perms.allows(EVERYTHING, Some(&c2), true));
    assert!(perms.allows(EVERYTHING, Some(&c1), true));
    desk.expect(
        "!negar clientea *",
        &["tudo 🚫 bloqueado para todos os contatos."],
    )
    .await;
    assert!(!desk.perms("clientea").allows(EVERYTHING, Some(&c1), true));
    desk.expect("!permitir clientea *", &["tudo ✅ liberado"])
        .await;
    assert!(desk.perms("clientea").allows(EVERYTHING, Some(&c1), false));
}

#[tokio::test]
async fn permissions_for_one_contact_take_its_phone_in_any_format() {
    let desk = Desk::new();
    desk.add("clientea");
    let c1 = format!("{C1}@c.us");
    for contact in [
        "+55 (11) 99999-0001",
        "5511999990001",
        "+5511999990001",
        "55 11 99999.0001",
        "5511999990001@c.us",
        "5511999990001@s.whatsapp.net",
    ] {
        let reply = desk.say(&format!("!negar clientea limpar {contact}")).await;
        assert_eq!(
            reply, "clientea: limpar 🚫 bloqueado para 5511999990001.",
            "{contact}"
        );
        desk.say(&format!("!permitir clientea limpar {contact}"))
            .await;
        let perms = desk.perms("clientea");
        assert!(perms.allows("limpar", Some(&c1), false), "{contact}");
        assert!(!perms.allows("limpar", Some(&format!("{C2}@c.us")), false));
        desk.say(&format!("!negar clientea limpar {contact}")).await;
        assert!(
            !desk.perms("clientea").allows("limpar", Some(&c1), true),
            "{contact}"
        );
    }
    // A LID the tenant knows stands for its phone: one rule for the person.
    let db = desk.db("clientea");
    db.link_lid("184467440001201@lid", C1, now_ms()).unwrap();
    desk.expect(
        "!permitir clientea limpar 184467440001201@lid",
        &["para 5511999990001."],
    )
    .await;
    assert!(desk.perms("clientea").allows("limpar", Some(&c1), false));
    assert_eq!(desk.rules("clientea"), ["limpar 5511999990001@c.us"]);
}

#[tokio::test]
async fn an_unknown_item_is_refused() {
    let desk = Desk::new();
    desk.add("clientea");
    for (text, word) in [
        ("!permitir clientea naoexiste", "naoexiste"),
        ("!negar clientea backup", "backup"),
        ("!negar clientea ia2", "ia2"),
        ("!permitir clientea **", "**"),
    ] {
        let reply = desk.say(text).await;
        let want = format!("\"{word}\" não é um comando nem um recurso. Recursos: ia, ");
        assert!(reply.starts_with(&want), "{text}: {reply}");
    }
    assert!(desk.rules("clientea").is_empty());
    let outcome = desk.audit().pop().unwrap().outcome;
    assert!(outcome.starts_with("recusado: \"**\""), "{outcome}");
}

// ---------------------------------------------------------------------------------
// 5. !config

#[tokio::test]
async fn config_keeps_good_values_in_the_tenant_database() {
    let desk = Desk::new();
    desk.add("clientea");
    desk.add("clienteb");
    for (key, value, stored) in [
        ("grupos", "todos", "todos"),
        ("grupos", "Menção", "mencao"),
        ("GRUPOS", "NAO", "nao"),
        (
            "ausencia",
            "Fechados agora, {nome}.",
            "Fechados agora, {nome}.",
        ),
        ("ausência", "off", "off"),
        (
            "saudacao",
            "Olá {nome}, bem-vindo à {cliente}!",
            "Olá {nome}, bem-vindo à {cliente}!",
        ),
        ("idioma", "EN", "en"),
        ("idioma", "auto", "auto"),
        ("transcricao.eco", "Não", "nao"),
        ("transcrição.eco", "sim", "sim"),
        ("ia.tokens_dia", "50.000", "50000"),
        ("ia.tokens_dia", "1200", "1200"),
        ("comando.ping", "off", "off"),
        ("comando.ping", "ON", "on"),
        (
            "comando.saldo",
            "Saldo só na loja, {nome}.",
            "Saldo só na loja, {nome}.",
        ),
    ] {
        let reply = desk.say(&format!("!config clientea {key} {value}")).await;
        let name = orbitbot::client::settings::SettingKey::parse(key)
            .unwrap()
            .name();
        assert_eq!(reply, format!("⚙️ clientea {name} = {stored}"));
        let settings = desk.db("clientea").settings().unwrap();
        assert_eq!(
            settings.get(&name).map(String::as_str),
            Some(stored),
            "{key}"
        );
    }
    let hours = desk
        .say("!config clientea horario seg-sex 08:00-18:00; sáb 09:00-13:00")
        .await;
    let stored = desk.db("clientea").settings().unwrap()["horario"].clone();
    assert_eq!(hours, format!("⚙️ clientea horario = {stored}"));
    assert!(
        stored.contains("08:00") && stored.contains("13:00"),
        "{stored}"
    );
    assert!(
        desk.settings("clienteb").is_empty(),
        "clienteb got {:?}",
        desk.settings("clienteb")
    );
}

#[tokio::test]
async fn config_refuses_bad_values_and_keys() {
    let desk = Desk::new();
    desk.add("clientea");
    for (text, words) in [
        (
            "!config clientea grupos talvez",
            vec!["grupos: use nao, mencao ou todos"],
        ),
        (
            "!config clientea idioma portugues",
            vec!["idioma: use duas letras"],
        ),
        (
            "!config clientea idioma p1",
            vec!["idioma: use duas letras"],
        ),
        (
            "!config clientea transcricao.eco talvez",
            vec!["transcricao.eco: use sim ou nao"],
        ),
        (
            "!config clientea ia.tokens_dia 0",
            vec!["ia.tokens_dia: use um número inteiro"],
        ),
        (
            "!config clientea ia.tokens_dia -5",
            vec!["ia.tokens_dia: use um número inteiro"],
        ),
        (
            "!config clientea ia.tokens_dia 5.00",
            vec!["ia.tokens_dia: use um número inteiro"],
        ),
        (
            "!config clientea ia.tokens_dia muito",
            vec!["ia.tokens_dia: use um número inteiro"],
        ),
        (
            "!config clientea horario sempre",
            vec!["horario: dia desconhecido \"sempre\""],
        ),
        (
            "!config clientea horario seg-sex",
            vec!["horario: faltam as horas"],
        ),
        (
            "!config clientea horario seg 25:00-26:00",
            vec!["horario: horário inválido"],
        ),
        (
            "!config clientea ausencia Olá {naoexiste}",
            vec!["variável desconhecida {naoexiste}"],
        ),
        (
            "!config clientea saudacao Olá {nome",
            vec!["saudacao: \"{\" sem \"}\""],
        ),
        (
            "!config clientea comando.naoexiste off",
            vec!["Não há comando de cliente \"naoexiste\""],
        ),
        (
            "!config clientea comando.a.b off",
            vec!["nome de comando inválido \"a.b\""],
        ),
        (
            "!config clientea comando. off",
            vec!["nome de comando inválido"],
        ),
        (
            "!config clientea cor azul",
            vec!["chave desconhecida \"cor\"", "comando.<nome>"],
        ),
        (
            "!config clientea ../x 1",
            vec!["chave desconhecida \"../x\""],
        ),
    ] {
        desk.expect(text, &words).await;
    }
    assert!(
        desk.settings("clientea").is_empty(),
        "{:?}",
        desk.settings("clientea")
    );
}

#[tokio::test]
async fn config_without_a_value_shows_it_and_padrao_resets_it() {
    let desk = Desk::new();
    desk.add("clientea");
    let show = "⚙️ clientea grupos = (padrão)";
    assert_eq!(desk.say("!config clientea grupos").await, show);
    desk.say("!config clientea grupos todos").await;
    assert_eq!(
        desk.say("!config clientea Grupos").await,
        "⚙️ clientea grupos = todos"
    );
    let reset = desk.say("!config clientea grupos padrao").await;
    assert_eq!(reset, "⚙️ clientea grupos voltou ao padrão.");
    assert!(desk.settings("clientea").is_empty());
    assert_eq!(desk.say("!config clientea grupos").await, show);
    desk.say("!config clientea saudacao Oi!").await;
    desk.expect("!config clientea saudacao PADRÃO", &["voltou ao padrão"])
        .await;
    // A reset of a key never set is fine too.
    desk.expect(
        "!config clientea idioma padrao",
        &["idioma voltou ao padrão"],
    )
    .await;
    assert!(desk.settings("clientea").is_empty());
}

#[tokio::test]
async fn config_of_a_command_alias_is_kept_under_the_command_name() {
    let desk = Desk::new();
    desk.add("clientea");
    for key in [
        "comando.cardapio",
        "comando.menu",
        "comando.MENU",
        "comando.cardápio",
    ] {
        let reply = desk.say(&format!("!config clientea {key} off")).await;
        assert_eq!(reply, "⚙️ clientea comando.menu = off", "{key}");
    }
    assert_eq!(
        desk.settings("clientea"),
        [("comando.menu".into(), "off".into())]
    );
    let shown = desk.say("!config clientea comando.cardapio").await;
    assert_eq!(shown, "⚙️ clientea comando.menu = off");
    desk.say("!config clientea comando.cardapio padrao").await;
    assert!(desk.settings("clientea").is_empty());
}

// ---------------------------------------------------------------------------------
// 6. Reading: !logs, !historico, !clientes, !status; !recarregar

#[tokio::test]
async fn logs_show_the_newest_records() {
    let desk = Desk::new();
    desk.add("clientea");
    desk.add("clienteb");
    let records: Vec<LogRecord> = (1..=30)
        .map(|n| LogRecord {
            t_ms: now_ms() - 1_000 * (31 - n),
            level: "INFO".to_owned(),
            target: "orbitbot::client".to_owned(),
            message: format!("registro {n:02}"),
        })
        .collect();
    desk.db("clientea").append_logs(&records).unwrap();
    let twenty = desk.say("!logs clientea").await;
    let lines: Vec<&str> = twenty.lines().collect();
    assert_eq!(lines[0], "📜 clientea: últimos 20 registros");
    assert_eq!(lines.len(), 21);
    assert!(lines[1].ends_with(" INFO registro 11"), "{}", lines[1]);
    assert!(lines[20].ends_with(" INFO registro 30"), "{}", lines[20]);
    let five = desk.say("!logs clientea 5").await;
    assert_eq!(five.lines().count(), 6);
    assert!(
        five.starts_with("📜 clientea: últimos 5 registros\n"),
        "{five}"
    );
    desk.expect("!logs clientea 200", &["últimos 30 registros"])
        .await;
    let none = desk.say("!logs clienteb").await;
    assert_eq!(none, "📜 clienteb: nenhum registro ainda.");
}

#[tokio::test]
async fn historico_of_everyone_or_of_one_contact() {
    let desk = Desk::new();
    desk.add("clientea");
    desk.add("clienteb");
    let db = desk.db("clientea");
    for (n, (contact, mine)) in [
        (C1, false),
        (C2, false),
        (C1, true),
        (C1, false),
        (C2, true),
    ]
    .into_iter()
    .enumerate()
    {
        db.record_message(&row(&format!("H{n}"), contact, mine, 60 - n as u64))
            .unwrap();
    }
    let all = desk.say("!historico clientea").await;
    assert!(
        all.starts_with("💬 clientea: últimas 5 mensagens\n"),
        "{all}"
    );
    assert_eq!(all.lines().count(), 6);
    assert!(all.contains(&format!("← {C1}: texto H0")), "{all}");
    assert!(all.contains(&format!("→ {C2}: texto H4")), "{all}");
    let two = desk.say("!historico clientea 2").await;
    assert!(two.contains("texto H3") && two.contains("texto H4") && !two.contains("H2"));
    for contact in ["5511999990001", "+5511999990001", "5511999990001@c.us"] {
        let one = desk.say(&format!("!historico clientea {contact}")).await;
        assert!(
            one.starts_with("💬 clientea: últimas 3 mensagens\n"),
            "{contact}: {one}"
        );
        assert!(!one.contains(C2), "{one}");
    }
    // Not a count of 55 messages of everyone: a contact is one word here.
    let spaced = desk.say("!historico clientea +55 11 99999-0001").await;
    assert!(spaced.contains("Uso: !historico"), "{spaced}");
    let newest = desk.say("!historico clientea 5511999990001 1").await;
    assert!(newest.ends_with("← 5511999990001: texto H3"), "{newest}");
    let nobody = desk.say("!historico clientea 5511999990009").await;
    assert_eq!(nobody, "💬 clientea: nenhuma mensagem.");
    assert_eq!(
        desk.say("!historico clienteb").await,
        "💬 clienteb: nenhuma mensagem."
    );
}

#[tokio::test]
async fn clientes_and_status_list_every_tenant() {
    let desk = Desk::new();
    assert_eq!(
        desk.say("!clientes").await,
        "Nenhum cliente ainda. Crie com !novo <cliente>."
    );
    assert_eq!(desk.say("!status").await, "📊 0 clientes");
    let a = desk.add("clientea");
    desk.add("clienteb");
    let control = desk.store.control();
    control.set_phone(&a, Some("5511999990010".into())).unwrap();
    control
        .set_state(&a, SessionState::Online, now_ms() - 7_500_000)
        .unwrap();
    let db = desk.db("clientea");
    for n in 0..3 {
        db.record_message(&row(&format!("T{n}"), C1, n == 1, 10 + n))
            .unwrap();
    }
    db.record_message(&row("OLD", C1, false, 3 * 86_400))
        .unwrap();
    let list = desk.say("!clientes").await;
    assert_eq!(
        list,
        "👥 2 clientes\n• clientea — online (+5511999990010)\n• clienteb — iniciando"
    );
    let status = desk.say("!status").await;
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(lines[0], "📊 2 clientes");
    assert_eq!(
        lines[1],
        "• clientea — online (+5511999990010) · há 2 h 5 min · fila 0 · hoje 3 msgs"
    );
    assert_eq!(lines[2], "• clienteb — iniciando · fila 0 · hoje 0 msgs");
    let one = desk.say("!status clientea").await;
    let lines: Vec<&str> = one.lines().collect();
    assert!(lines[0].starts_with("📊 clientea — online"), "{one}");
    assert_eq!(lines[1], "memória (PSS): sem navegador");
    assert!(lines[2].starts_with("última mensagem: "), "{one}");
    assert!(!lines[2].ends_with("nenhuma"), "{one}");
    desk.expect("!status clienteb", &["última mensagem: nenhuma"])
        .await;
}

#[tokio::test]
async fn recarregar_keeps_the_old_catalog_when_a_file_is_wrong() {
    let desk = Desk::new();
    desk.add("clientea");
    let count = desk.pipeline.catalog().commands().len();
    let extra = desk.path("commands/zz-extra.toml");
    std::fs::write(
        &extra,
        "[[command]]\nname = \"brinde\"\nhelp = \"Brinde\"\nreplyy = \"x\"\n",
    )
    .unwrap();
    let broken = desk.say("!recarregar").await;
    assert!(
        broken.starts_with("❌ Comandos não recarregados: "),
        "{broken}"
    );
    assert!(broken.contains("zz-extra.toml"), "{broken}");
    assert_eq!(desk.pipeline.catalog().commands().len(), count);
    assert!(desk.pipeline.catalog().command("brinde").is_none());
    desk.expect("!permitir clientea brinde", &["não é um comando"])
        .await;
    std::fs::write(
        &extra,
        "[[command]]\nname = \"brinde\"\nhelp = \"Brinde\"\nreply = \"x\"\n",
    )
    .unwrap();
    let good = desk.say("!reload").await;
    assert_eq!(
        good,
        format!(
            "🔄 {} comandos de cliente e 1 persona carregados.",
            count + 1
        )
    );
    assert!(desk.pipeline.catalog().command("brinde").is_some());
    desk.expect("!permitir clientea brinde", &["brinde ✅ liberado"])
        .await;
    desk.expect(
        "!config clientea comando.brinde off",
        &["comando.brinde = off"],
    )
    .await;
    let outcomes: Vec<String> = desk.audit().into_iter().map(|a| a.outcome).collect();
    assert!(outcomes[0].starts_with("recusado: ❌ Comandos não recarregados"));
}

// ---------------------------------------------------------------------------------
// F11–F15 in the admin chat: !parar, !iniciar, !qr, !enviar, !remover

#[tokio::test]
async fn parar_iniciar_qr_and_enviar_follow_the_session() {
    let desk = Desk::new();
    let a = desk.add("clientea");
    desk.expect(
        "!enviar clientea 5511999990001 oi",
        &["clientea não está rodando"],
    )
    .await;
    desk.expect(
        "!enviar clientea 5511999990001 oi",
        &["use !iniciar clientea."],
    )
    .await;
    assert!(desk.db("clientea").pending_outbox().unwrap().is_empty());
    assert_eq!(
        desk.say("!iniciar clientea").await,
        "▶️ Iniciando clientea…"
    );
    desk.expect("!iniciar clientea", &["clientea já está rodando ("])
        .await;
    let sent = desk
        .say("!enviar clientea +5511999990001 oi, tudo bem?")
        .await;
    assert_eq!(sent, "📤 Mensagem para +5511999990001 na fila de clientea.");
    let pending = desk.db("clientea").pending_outbox().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].to.as_str(), pending[0].text.as_str()),
        ("5511999990001@c.us", "oi, tudo bem?")
    );
    let stop = desk.say("!parar clientea").await;
    assert_eq!(stop, "⏹️ clientea parado. Para voltar: !iniciar clientea");
    let record = desk.store.control().tenant(&a).unwrap().unwrap();
    assert_eq!(record.state, SessionState::Stopped);
    assert_eq!(desk.sessions.state(&a), None);
    assert_eq!(
        desk.say("!qr clientea").await,
        "🔄 Gerando um QR novo para clientea…"
    );
    desk.sessions.stop(&a).await;
    desk.store
        .control()
        .set_state(&a, SessionState::Online, now_ms())
        .unwrap();
    let online = desk.say("!qr clientea").await;
    assert_eq!(online, "clientea já está online; não precisa de QR.");
    desk.close().await;
}

#[tokio::test]
async fn enviar_sends_the_text_as_typed() {
    let desk = Desk::new();
    desk.add("clientea");
    desk.say("!iniciar clientea").await;
    for (text, to, body) in [
        (
            "!enviar clientea 5511999990001 oi, tudo bem?",
            "5511999990001",
            "oi, tudo bem?",
        ),
        (
            "!send clientea +5511999990002 linha 1\nlinha  2 ",
            "5511999990002",
            "linha 1\nlinha  2",
        ),
        (
            "!enviar clientea \u{200B} 5511999990003 só isto",
            "5511999990003",
            "só isto",
        ),
        (
            "!enviar\u{A0}clientea\u{A0}5511999990004\u{A0}oi",
            "5511999990004",
            "oi",
        ),
    ] {
        let reply = desk.say(text).await;
        assert_eq!(
            reply,
            format!("📤 Mensagem para +{to} na fila de clientea.")
        );
        let pending = desk.db("clientea").pending_outbox().unwrap();
        let last = pending.last().unwrap();
        assert_eq!(
            (last.to.as_str(), last.text.as_str()),
            (format!("{to}@c.us").as_str(), body)
        );
    }
    desk.close().await;
}

#[tokio::test]
async fn remover_asks_first_then_removes_only_that_tenant() {
    let desk = Desk::new();
    for name in ["clientea", "clienteb"] {
        desk.add(name);
        desk.say(&format!("!config {name} grupos todos")).await;
        desk.say(&format!("!negar {name} menu")).await;
        for dir in ["tokens", "backups"] {
            let folder = desk.path(&format!("{dir}/{name}"));
            std::fs::create_dir_all(folder.join("profile")).unwrap();
            std::fs::write(folder.join("profile/Preferences"), "{}").unwrap();
        }
    }
    for text in [
        "!remover clientea",
        "!remover clientea sim",
        "!remover clientea Confirmar",
        "!remover clientea confirmar agora",
    ] {
        let ask = desk.say(text).await;
        let want = "⚠️ Isso apaga clientea: sessão, perfil e histórico. \
                    Para confirmar: !remover clientea confirmar";
        assert_eq!(ask, want, "{text}");
    }
    assert_eq!(desk.tenants(), ["clientea", "clienteb"]);
    assert!(desk.path("tokens/clientea/profile/Preferences").is_file());
    assert!(desk.path("data/tenants/clientea.redb").is_file());
    let gone = desk.say("!remover clientea confirmar").await;
    assert_eq!(
        gone,
        "🗑️ clientea removido. Os backups continuam em backups/clientea/."
    );
    assert_eq!(desk.tenants(), ["clienteb"]);
    assert!(!desk.path("tokens/clientea").exists());
    assert!(!desk.path("data/tenants/clientea.redb").exists());
    assert!(desk.path("backups/clientea/profile/Preferences").is_file());
    assert!(desk.store.tenant(&tid("clientea")).is_err());
    assert!(desk.rules("clientea").is_empty());
    // The other tenant keeps everything.
    assert!(desk.path("tokens/clienteb/profile/Preferences").is_file());
    assert_eq!(
        desk.settings("clienteb"),
        [("grupos".into(), "todos".into())]
    );
    assert!(!desk.perms("clienteb").allows("menu", None, true));
    desk.expect(
        "!remover clientea confirmar",
        &["cliente clientea não encontrado"],
    )
    .await;
    // A tenant made again under the name starts clean.
    desk.add("clientea");
    assert!(desk.settings("clientea").is_empty());
    assert!(desk.perms("clientea").allows("menu", None, true));
}

#[tokio::test]
async fn remover_stops_a_running_session() {
    let desk = Desk::new();
    desk.expect("!novo clientea", &["criado"]).await;
    assert!(desk.sessions.state(&tid("clientea")).is_some());
    desk.expect("!remover clientea confirmar", &["clientea removido"])
        .await;
    assert_eq!(desk.sessions.state(&tid("clientea")), None);
    assert!(!desk.path("tokens/clientea").exists());
    assert!(!desk.path("data/run/clientea.pgid").exists());
    assert!(desk.tenants().is_empty());
    desk.close().await;
}

// ---------------------------------------------------------------------------------
// 8. The audit log

#[tokio::test]
async fn every_command_is_audited_with_its_outcome() {
    let desk = Desk::new();
    desk.add("clientea");
    let script = [
        ("!status clientea", Some("clientea"), "ok"),
        (
            "!logs clientea 0",
            Some("clientea"),
            "uso: \"0\" não é uma quantidade",
        ),
        (
            "!logs fantasma",
            Some("fantasma"),
            "recusado: cliente fantasma não encontrado",
        ),
        ("!nvo clientea", None, "comando desconhecido"),
        ("!novo ../x", None, "recusado: nome de cliente inválido"),
        ("!ajuda", None, "ok"),
        ("!config clientea grupos todos", Some("clientea"), "ok"),
        (
            "!permitir clientea nada",
            Some("clientea"),
            "recusado: \"nada\" não é",
        ),
    ];
    for (text, _, _) in script {
        desk.say(text).await;
    }
    desk.say("oi").await;
    let audit = desk.audit();
    assert_eq!(audit.len(), script.len(), "{audit:#?}");
    for (entry, (text, tenant, outcome)) in audit.iter().zip(script) {
        assert_eq!(entry.command, text);
        assert_eq!(entry.actor, OPERATOR);
        assert_eq!(
            entry.tenant.as_ref().map(TenantId::as_str),
            tenant,
            "{text}"
        );
        assert!(
            entry.outcome.starts_with(outcome),
            "{text}: {}",
            entry.outcome
        );
        assert!(entry.t_ms.abs_diff(now_ms()) < 60_000);
    }
    let of_a = desk
        .store
        .control()
        .audit(Some(&tid("clientea")), 100)
        .unwrap();
    assert_eq!(of_a.len(), 4);
}

#[tokio::test]
async fn the_audit_keeps_the_first_line_of_a_long_command() {
    let desk = Desk::new();
    desk.add("clientea");
    let text = format!(
        "!enviar clientea 5511999990001 {}\nsegunda linha",
        "x".repeat(200)
    );
    desk.say(&text).await;
    let entry = desk.audit().pop().unwrap();
    assert_eq!(entry.command.chars().count(), 80);
    assert!(text.starts_with(&entry.command));
    assert!(
        entry
            .outcome
            .starts_with("recusado: clientea não está rodando")
    );
}

#[tokio::test]
async fn persona_takes_a_name_or_a_description_and_status_shows_it() {
    let desk = Desk::new();
    desk.add("clientea");
    let db = desk.db("clientea");
    desk.expect(
        "!persona clientea",
        &["padrao", "Disponíveis: loja", "[ai]"],
    )
    .await;
    desk.expect("!persona clientea LOJA", &["loja (Atendente da loja)"])
        .await;
    assert_eq!(db.settings().unwrap()["persona"], "loja");
    desk.expect("!persona clientea lojinha", &["não existe", "loja"])
        .await;
    assert_eq!(
        db.settings().unwrap()["persona"],
        "loja",
        "kept after a typo"
    );
    let text = "Você é o atendente simpático da padaria do bairro.";
    desk.expect(&format!("!persona clientea {text}"), &["texto livre"])
        .await;
    assert_eq!(db.settings().unwrap()["persona"], text);
    desk.expect("!persona clientea padrão", &["clientea: padrao ("])
        .await;
    assert!(!db.settings().unwrap().contains_key("persona"));
    desk.expect("!persona clientex loja", &["clientex"]).await;
    desk.expect("!config clientea persona loja", &["!persona clientea"])
        .await;
    desk.expect("!status clientea", &["IA: desligada"]).await;

    let on = Desk::with(
        "",
        "[ai]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n",
    );
    on.add("clientea");
    on.expect("!persona clientea loja", &["loja"]).await;
    let status = on.say("!status clientea").await;
    assert!(
        status.ends_with("IA: loja (Atendente da loja) · 0 de 200.000 tokens hoje"),
        "{status}"
    );
    on.expect("!config clientea ia.tokens_dia 5000", &["5000"])
        .await;
    on.expect("!status clientea", &["0 de 5.000 tokens hoje"])
        .await;
    on.db("clientea").set_setting("persona", "sumida").unwrap();
    on.expect(
        "!status clientea",
        &["padrao (", "\"sumida\" não existe mais"],
    )
    .await;
    on.expect("!negar clientea ia", &["ia"]).await;
    on.expect(
        "!status clientea",
        &["IA: bloqueada (!permitir clientea ia)"],
    )
    .await;
}
