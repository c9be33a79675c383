//! One loaded Whisper model, and the transcription of 16 kHz mono samples with it.

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{debug, info, instrument};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::{ModelError, facts};

/// The sample rate Whisper takes, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;

/// One loaded model, shared by every thread that transcribes.
///
/// whisper.cpp's own logging goes through `tracing` (target `whisper_rs`), never to
/// stdout or straight to stderr: every entry point installs whisper-rs's hooks first.
///
/// NOTE: whisper-rs keeps the loaded weights behind an `Arc` of a `Send + Sync`
/// context, and every [`Whisper::transcribe`] makes its own working state, so one
/// `Whisper` serves concurrent calls without a lock.
#[derive(Debug)]
pub struct Whisper {
    context: WhisperContext,
    path: PathBuf,
}

/// What a transcription gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The segments' text joined by spaces, trimmed.
    pub text: String,
    /// The language it was read in: the one asked for, or the one detected for `auto`.
    pub language: String,
    /// How long the audio was.
    pub audio_seconds: f32,
    /// How long the transcription took.
    pub took: Duration,
}

impl Transcript {
    /// Time taken per second of audio (below 1: faster than real time).
    pub fn real_time_factor(&self) -> f32 {
        self.took.as_secs_f32() / self.audio_seconds.max(f32::EPSILON)
    }
}

impl Whisper {
    /// Loads the model at `path`; a missing file is [`ModelError::Missing`].
    #[instrument(skip_all, fields(model = %path.display()))]
    pub fn load(path: &Path) -> Result<Whisper, ModelError> {
        // Our own words for a missing or foreign file, before whisper.cpp's.
        facts::read_header(path)?;
        whisper_rs::install_logging_hooks();

        let started = Instant::now();
        let context = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| ModelError::Load(format!("{}: {e}", path.display())))?;
        info!(
            took_ms = started.elapsed().as_millis(),
            "transcription model loaded"
        );
        Ok(Whisper {
            context,
            path: path.to_owned(),
        })
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Turns 16 kHz mono samples into text. `language` is a code (`pt`, `en`, ...) or
    /// `auto`; `threads` is how many threads this call may use.
    pub fn transcribe(
        &self,
        samples: &[f32],
        language: &str,
        threads: u32,
    ) -> Result<Transcript, ModelError> {
        check_language(language)?;
        if samples.is_empty() {
            return Err(ModelError::Transcribe("o áudio está vazio".to_owned()));
        }
        let mut state = self.context.create_state().map_err(transcribe_error)?;

        let started = Instant::now();
        state
            .full(params(language, threads), samples)
            .map_err(transcribe_error)?;
        let took = started.elapsed();

        let transcript = Transcript {
            text: joined_text(&state)?,
            language: spoken_language(&state, language),
            audio_seconds: samples.len() as f32 / SAMPLE_RATE as f32,
            took,
        };
        debug!(
            audio_s = transcript.audio_seconds,
            took_ms = took.as_millis(),
            language = %transcript.language,
            "transcribed"
        );
        Ok(transcript)
    }
}

/// Greedy decoding in `language`, quiet, on `threads` threads.
fn params(language: &str, threads: u32) -> FullParams<'_, '_> {
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_language(Some(language));
    params.set_n_threads(c_int::try_from(threads.max(1)).unwrap_or(1));
    params.set_translate(false);
    params.set_no_context(true);
    // whisper.cpp prints these to stdout itself when asked.
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    params
}

/// `auto`, or a language code whisper.cpp knows.
fn check_language(language: &str) -> Result<(), ModelError> {
    whisper_rs::install_logging_hooks();
    if language == "auto" || whisper_rs::get_lang_id(language).is_some() {
        return Ok(());
    }
    Err(ModelError::Transcribe(format!(
        "idioma \"{language}\" desconhecido; use um código como pt, en, es ou \"auto\""
    )))
}

/// Every segment's text, trimmed, joined by spaces.
fn joined_text(state: &WhisperState) -> Result<String, ModelError> {
    let mut parts = Vec::new();
    for segment in state.as_iter() {
        let text = segment.to_str_lossy().map_err(transcribe_error)?;
        let text = text.trim();
        if !text.is_empty() {
            parts.push(text.to_owned());
        }
    }
    Ok(parts.join(" "))
}

/// The language asked for, or for `auto` the one whisper.cpp detected.
fn spoken_language(state: &WhisperState, asked: &str) -> String {
    if asked != "auto" {
        return asked.to_owned();
    }
    whisper_rs::get_lang_str(state.full_lang_id_from_state())
        .unwrap_or(asked)
        .to_owned()
}

fn transcribe_error(error: whisper_rs::WhisperError) -> ModelError {
    ModelError::Transcribe(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_a_missing_model_names_the_fetch_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ggml-base.bin");
        let err = Whisper::load(&path).unwrap_err();
        assert!(matches!(&err, ModelError::Missing { path: p } if *p == path));
        assert!(err.to_string().contains("`orbitbot model fetch`"), "{err}");
    }

    #[test]
    fn loading_a_foreign_file_is_invalid_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ggml-base.bin");
        std::fs::write(&path, "<html>not a model</html>, long enough for a header").unwrap();
        let err = Whisper::load(&path).unwrap_err();
        assert!(matches!(err, ModelError::Invalid { .. }), "{err:?}");
    }

    #[test]
    fn one_model_is_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Whisper>();
    }

    #[test]
    fn languages_are_checked_before_any_work() {
        assert!(check_language("pt").is_ok());
        assert!(check_language("auto").is_ok());
        let err = check_language("xx").unwrap_err();
        assert!(err.to_string().contains("\"xx\""), "{err}");
    }

    #[test]
    fn the_real_time_factor_is_time_per_audio_second() {
        let t = Transcript {
            text: String::new(),
            language: "pt".to_owned(),
            audio_seconds: 4.0,
            took: Duration::from_secs(1),
        };
        assert!((t.real_time_factor() - 0.25).abs() < 1e-6);
    }
}
