//! The command line: `orbitbot [--config FILE] <command>`.
//!
//! - [`model`]: `orbitbot model fetch|check`, the Whisper model for voice notes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::chat::PhoneNumber;
use crate::client::catalog::Catalog;
use crate::config::{self, Config};
use crate::control::{self, Reply, Request};
use crate::store::LogSink;
use crate::tenant::TenantRecord;

pub mod model;

/// orbitbot: many clients' WhatsApp accounts on one server, run from your own WhatsApp.
#[derive(Debug, Parser)]
#[command(name = "orbitbot", version, about)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = config::DEFAULT_PATH, value_name = "FILE")]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: the admin session, every tenant, the control socket.
    Run {
        /// Link the admin account with a pairing code for this phone instead of a QR.
        #[arg(long, value_name = "PHONE")]
        pair: Option<String>,
    },
    /// Check the configuration and the client commands; print them, secrets masked.
    CheckConfig,
    /// List the tenants with their session state.
    Tenants,
    /// Take a backup of a tenant (its browser pauses briefly while `run` is up).
    Backup {
        /// The tenant.
        tenant: String,
    },
    /// List a tenant's backups, newest first.
    Backups {
        /// The tenant.
        tenant: String,
    },
    /// Restore a tenant from one of its own backups (verified first).
    Restore {
        /// The tenant.
        tenant: String,
        /// The archive's name, as `backups` lists it (default: the newest).
        #[arg(long, value_name = "NAME")]
        file: Option<String>,
        /// Replace the tenant if it exists.
        #[arg(long)]
        replace: bool,
    },
    /// Play the whole story on the simulator with real Chromium (no config needed).
    Demo,
    /// The Whisper model for voice notes: fetch it, or check that it loads and runs.
    Model {
        /// `fetch` or `check`.
        #[command(subcommand)]
        action: model::ModelAction,
    },
    /// Print the argon2 hash of a panel password (read from standard input) for
    /// `[[panel.users]] password_hash`.
    PanelPassword,
    /// Run the WhatsApp simulator (no configuration file needed).
    Simulator {
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:7600", value_name = "ADDR")]
        listen: std::net::SocketAddr,
    },
}

/// Runs one subcommand; errors are printed for the operator.
pub fn execute(cli: Cli, sink: &LogSink) -> ExitCode {
    let outcome = match cli.command {
        Command::CheckConfig => load(&cli.config).and_then(|c| check_config(&c)),
        Command::Tenants => load(&cli.config).and_then(|c| tenants(&Arc::new(c))),
        Command::Backup { tenant } => ask(&cli.config, Request::Backup { tenant }),
        Command::Backups { tenant } => ask(&cli.config, Request::Backups { tenant }),
        Command::Restore {
            tenant,
            file,
            replace,
        } => ask(
            &cli.config,
            Request::Restore {
                tenant,
                file,
                replace,
            },
        ),
        Command::Run { pair } => load(&cli.config).and_then(|c| run(c, sink, pair.as_deref())),
        Command::Simulator { listen } => simulator(listen),
        Command::Demo => demo(),
        Command::Model { action } => model::execute(action, &cli.config),
        Command::PanelPassword => panel_password(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("erro: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Reads a password from standard input (one line; typed twice on a terminal) and
/// prints its hash.
fn panel_password() -> Result<(), String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let mut lines = stdin.lock().lines();
    let mut read = |prompt: &str| {
        if terminal {
            eprint!("{prompt}");
        }
        let line = lines.next().transpose().map_err(|e| e.to_string())?;
        Ok::<_, String>(line.unwrap_or_default().trim_end_matches('\r').to_owned())
    };
    let password = read("Senha do painel: ")?;
    if terminal && read("Repita a senha: ")? != password {
        return Err("as duas senhas não são iguais".to_owned());
    }
    let hash = crate::panel::password::hash(&password).map_err(|e| e.to_string())?;
    println!("{hash}");
    if terminal {
        let user = format!("phone = \"…\", password_hash = \"{hash}\"");
        eprintln!("Cole em admin.toml, em [[panel.users]]: {user}");
    }
    Ok(())
}

fn load(path: &std::path::Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}

/// Prints the configuration, then checks `commands/*.toml` and
/// `commands/personas/*.toml` (a wrong file fails with its name, key and line).
fn check_config(config: &Config) -> Result<(), String> {
    print!("{}", config.display_masked());
    let dir = &config.paths.commands;
    if !dir.is_dir() {
        println!(
            "\n# comandos: a pasta {} não existe; clientes ficam sem comandos",
            dir.display()
        );
        return Ok(());
    }
    let catalog = Catalog::load(dir).map_err(|e| e.to_string())?;
    let names: Vec<String> = catalog
        .commands()
        .iter()
        .map(|c| format!("{}{}", config.admin.prefix, c.name))
        .collect();
    println!("\n# comandos ({}): {}", names.len(), names.join(" "));
    let personas: Vec<&str> = catalog
        .personas()
        .list()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    println!("# personas ({}): {}", personas.len(), personas.join(" "));
    Ok(())
}

fn run(config: Config, sink: &LogSink, pair: Option<&str>) -> Result<(), String> {
    let pair = pair
        .map(PhoneNumber::parse)
        .transpose()
        .map_err(|e| format!("--pair: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime
        .block_on(crate::run::run(std::sync::Arc::new(config), sink, pair))
        .map_err(|e| e.to_string())
}

fn demo() -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime
        .block_on(crate::demo::run())
        .map(drop)
        .map_err(|e| e.to_string())
}

fn simulator(listen: std::net::SocketAddr) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime
        .block_on(crate::sim::serve(listen))
        .map_err(|e| e.to_string())
}

/// Sends a request that answers with a text, and prints it.
fn ask(path: &std::path::Path, request: Request) -> Result<(), String> {
    let config = Arc::new(load(path)?);
    match control::request(&config, &request) {
        Ok(Reply::Text(text)) => {
            println!("{text}");
            Ok(())
        }
        Ok(Reply::Error(message)) => Err(message),
        Ok(other) => Err(format!("resposta inesperada: {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

fn tenants(config: &Arc<Config>) -> Result<(), String> {
    match control::request(config, &Request::Tenants) {
        Ok(Reply::Tenants(list)) => {
            print!("{}", tenant_table(&list, &config.admin.timezone));
            Ok(())
        }
        Ok(Reply::Error(message) | Reply::Text(message)) => Err(message),
        Err(e) => Err(e.to_string()),
    }
}

/// The tenants as an aligned table, or a hint when there are none.
fn tenant_table(list: &[TenantRecord], tz: &jiff::tz::TimeZone) -> String {
    if list.is_empty() {
        return "nenhum cliente ainda\n".to_owned();
    }
    let mut out = format!(
        "{:<32}  {:<10}  {:<15}  {}\n",
        "cliente", "estado", "telefone", "desde"
    );
    for t in list {
        let phone = t.phone.as_deref().unwrap_or("-");
        let since = crate::clock::local_time(t.state_since_ms, tz);
        out += &format!("{:<32}  {:<10}  {:<15}  {since}\n", t.id, t.state, phone);
    }
    out
}
