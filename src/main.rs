//! The `orbitbot` binary: parse the command line, set up logging, run.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use orbitbot::cli::{self, Cli};
use orbitbot::store::LogSink;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (sink, tenant_logs) = LogSink::start();
    // The demo prints its own steps; its logs stay quiet unless asked for.
    let default = match cli.command {
        cli::Command::Demo => "warn",
        _ => "info",
    };
    // whisper.cpp logs every model load at info through `whisper_rs`; keep its warnings.
    let filter = EnvFilter::try_from_env("ORBITBOT_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},whisper_rs=warn")));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .with(tenant_logs)
        .init();
    cli::execute(cli, &sink)
}
