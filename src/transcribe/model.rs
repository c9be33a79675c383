//! The ggml Whisper model: what a model file is ([`inspect`]), loading it and turning
//! 16 kHz mono samples into text ([`Whisper`]).
//!
//! The file is whisper.cpp's legacy ggml format, made by `scripts/model/fetch` (the
//! set-up runs it; so does `orbitbot model fetch`). Nothing is downloaded at run time: a
//! missing file is [`ModelError::Missing`], whose message names [`FETCH_COMMAND`].
//!
//! - [`facts`]: the file's header and checksum, without loading it.
//! - [`engine`]: the loaded model and one transcription.

pub mod engine;
pub mod facts;

use std::path::PathBuf;

pub use engine::{SAMPLE_RATE, Transcript, Whisper};
pub use facts::{ModelFacts, inspect};

/// The command that fetches the model; every "missing model" message names it.
pub const FETCH_COMMAND: &str = "orbitbot model fetch";

/// Why a model could not be read, loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No file at the configured path.
    #[error(
        "o modelo de transcrição não está em {}; baixe-o com `{FETCH_COMMAND}`",
        path.display()
    )]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file is not a ggml Whisper model this build can read.
    #[error(
        "{} não é um modelo Whisper ggml válido ({reason}); baixe-o de novo com \
         `{FETCH_COMMAND}`",
        path.display()
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// whisper.cpp refused to load the file.
    #[error("não foi possível carregar o modelo de transcrição: {0}")]
    Load(String),
    /// A transcription failed.
    #[error("não foi possível transcrever o áudio: {0}")]
    Transcribe(String),
}
