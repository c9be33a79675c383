//! Voice notes to text, in process: no cloud call.
//!
//! - [`decode`]: voice notes and audio files (OGG/Opus, m4a/AAC, mp3, WAV) to 16 kHz
//!   mono samples.
//! - [`model`]: the ggml Whisper model: its facts, loading it, transcribing samples.
//! - [`pool`]: one model shared by every tenant, worker threads taking tenants in turn.

pub mod decode;
pub mod model;
pub mod pool;
