//! Voice notes and audio files to 16 kHz mono samples, in process.
//!
//! The container is sniffed from the bytes ([`sniff`]); the mimetype WhatsApp sends is
//! only a hint for bytes that no magic number names. Each format takes one road:
//!
//! - OGG/Opus (every `ptt` voice note): `opus-pure` decodes straight to 16 kHz mono, the
//!   encoder delay and the end padding trimmed (module `opus`).
//! - m4a/AAC, mp3 and WAV: `symphonia` decodes; the channels are mixed to mono and the
//!   rate brought to 16 kHz by a windowed-sinc resampler (modules `media`, `resample`).
//!
//! A duration cap refuses long audio early: from the container's declared length when
//! there is one, else as soon as the decoded audio passes the cap. Nothing here panics on
//! bad bytes: they come back as [`DecodeError::Corrupt`] or [`DecodeError::Unsupported`].

mod magic;
mod media;
mod opus;
mod resample;

use std::fmt;
use std::time::Duration;

pub use magic::sniff;

/// The sample rate Whisper wants.
pub const SAMPLE_RATE: u32 = 16_000;

/// Decoded audio: 16 kHz mono f32 in [-1, 1].
#[derive(Clone, PartialEq)]
pub struct Audio {
    /// The samples, [`SAMPLE_RATE`] per second.
    pub samples: Vec<f32>,
}

impl Audio {
    /// How long the audio lasts, in seconds.
    pub fn seconds(&self) -> f32 {
        self.samples.len() as f32 / SAMPLE_RATE as f32
    }
}

/// Prints the length, not the samples: a minute of audio is a million numbers.
impl fmt::Debug for Audio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Audio")
            .field("samples", &self.samples.len())
            .field("seconds", &self.seconds())
            .finish()
    }
}

/// The container, sniffed from the bytes (magic numbers), the mimetype only a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OGG pages carrying Opus: WhatsApp voice notes (`audio/ogg; codecs=opus`).
    OggOpus,
    /// ISO base media (`ftyp`): m4a/AAC from iPhones, mp4 with an audio track.
    Mp4,
    /// MPEG-1/2 layer III, with or without an ID3v2 tag in front.
    Mp3,
    /// RIFF/WAVE, PCM inside.
    Wav,
}

/// Why audio could not be decoded; `Display` is a short pt-BR text for logs and operators.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// No bytes, or bytes that hold no audio at all.
    #[error("áudio vazio")]
    Empty,
    /// A container or codec this decoder does not read.
    #[error("formato de áudio não suportado: {what}")]
    Unsupported {
        /// What was found: `OGG/Vorbis`, `FLAC`, `MP4 sem faixa de áudio`, …
        what: String,
    },
    /// The bytes claim a known format but do not decode: damaged, truncated, or still
    /// encrypted.
    #[error("áudio corrompido: {0}")]
    Corrupt(String),
    /// Longer than the cap.
    #[error("áudio longo demais: {seconds:.1} s (máximo {max_seconds} s)")]
    TooLong {
        /// The declared length, or how much had been decoded when the cap was passed.
        seconds: f32,
        /// The cap, in whole seconds.
        max_seconds: u32,
    },
}

/// Decodes a voice note or audio file; longer than `max` is refused early (from the
/// header/duration when possible, else while decoding, without decoding all of a huge
/// file).
pub fn decode(bytes: &[u8], mimetype: Option<&str>, max: Duration) -> Result<Audio, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let cap = Cap::new(max);

    let mut samples = match sniff(bytes) {
        Some(Format::OggOpus) => opus::decode(bytes, &cap)?,
        Some(format) => media::decode(bytes, media::Hint::Sniffed(format), &cap)?,
        None => undetected(bytes, mimetype, &cap)?,
    };

    if samples.is_empty() {
        return Err(DecodeError::Empty);
    }
    sanitize(&mut samples);
    Ok(Audio { samples })
}

/// Bytes no magic number names: raw AAC (ADTS), or an mp3 with junk in front, are still
/// worth a try when the mimetype says audio; anything else is unsupported.
fn undetected(bytes: &[u8], mimetype: Option<&str>, cap: &Cap) -> Decoded {
    let unsupported = || DecodeError::Unsupported {
        what: magic::describe(bytes, mimetype),
    };
    if !magic::is_adts(bytes) && !mimetype.is_some_and(magic::is_audio_mime) {
        return Err(unsupported());
    }
    match media::decode(bytes, media::Hint::Mime(mimetype), cap) {
        Err(DecodeError::Unsupported { .. }) => Err(unsupported()),
        other => other,
    }
}

/// Keeps every sample finite and inside [-1, 1]: codecs ring a little past full scale,
/// and a float WAV can hold anything.
fn sanitize(samples: &mut [f32]) {
    for s in samples {
        *s = if s.is_finite() {
            s.clamp(-1.0, 1.0)
        } else {
            0.0
        };
    }
}

/// What each road returns: mono samples at [`SAMPLE_RATE`], not yet sanitized.
type Decoded = Result<Vec<f32>, DecodeError>;

/// The duration cap, in the units each decoder counts.
#[derive(Debug, Clone, Copy)]
struct Cap {
    max: Duration,
}

impl Cap {
    /// Slack for a declared length, which a CBR mp3 only estimates from its size; an exact
    /// length slightly over the cap is caught while decoding.
    const ESTIMATE_SLACK: f32 = 1.05;

    fn new(max: Duration) -> Self {
        Self { max }
    }

    /// Refuses audio whose container declares it longer than the cap.
    fn check_declared(&self, seconds: f32) -> Result<(), DecodeError> {
        if seconds > self.max.as_secs_f32() * Self::ESTIMATE_SLACK {
            return Err(self.too_long(seconds));
        }
        Ok(())
    }

    /// Refuses once `frames` samples at `rate` have been decoded past the cap.
    fn check_decoded(&self, frames: u64, rate: u32) -> Result<(), DecodeError> {
        let seconds = frames as f64 / f64::from(rate.max(1));
        if seconds > self.max.as_secs_f64() {
            return Err(self.too_long(seconds as f32));
        }
        Ok(())
    }

    fn too_long(&self, seconds: f32) -> DecodeError {
        DecodeError::TooLong {
            seconds,
            max_seconds: self.max.as_secs_f32().ceil() as u32,
        }
    }
}

#[cfg(test)]
mod tests;
