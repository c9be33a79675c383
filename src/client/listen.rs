//! Voice notes heard before they are answered: the audio is downloaded through the
//! tenant's session, decoded in a blocking task, and transcribed by the shared
//! [`Transcriber`]; its text then stands for the message (commands, AI, history).
//!
//! A note that cannot be heard gets one clear reply and no retry loop: media gone
//! from WhatsApp's servers is asked for once more (WhatsApp then asks the phone to
//! upload it again) before "áudio antigo indisponível".

use std::sync::Arc;

use tokio::sync::oneshot;
use tracing::{info, warn};

use super::handle::{Facts, Job};
use super::pipeline::Shared;
use crate::bridge::event::InboundMessage;
use crate::replies;
use crate::session::Command;
use crate::tenant::TenantId;
use crate::transcribe::decode::{self, DecodeError};
use crate::transcribe::pool::Transcriber;

/// The permission item of transcription (`!negar <cliente> transcricao`).
pub(super) const FEATURE: &str = "transcricao";

/// Message kinds that carry a voice note or audio.
const AUDIO_KINDS: &[&str] = &["ptt", "audio"];

/// Downloads of media gone from the servers tried in all (the second asks again).
const EXPIRED_TRIES: u32 = 2;

/// Whether a message kind is a voice note or an audio.
pub(crate) fn is_audio_kind(kind: &str) -> bool {
    AUDIO_KINDS.contains(&kind)
}

/// Whether a message is audio to transcribe: a voice note, an audio, or a document
/// whose type is audio (F18).
pub(super) fn is_audio(msg: &InboundMessage) -> bool {
    let audio_type = msg
        .mimetype
        .as_deref()
        .is_some_and(|m| m.trim().to_ascii_lowercase().starts_with("audio/"));
    is_audio_kind(&msg.kind) || (msg.kind == "document" && audio_type)
}

/// A note heard, or why not.
pub(super) struct Heard {
    /// The journal entry.
    pub(super) seq: u64,
    /// The message.
    pub(super) job: Job,
    /// What recording it taught.
    pub(super) facts: Facts,
    /// The text, or why there is none.
    pub(super) result: Result<String, Unheard>,
}

/// Why a note has no text.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unheard {
    /// The session is not running: the note waits for the next one.
    #[error("sessão parada; o áudio fica para quando ela voltar")]
    NoSession,
    /// The media is gone from WhatsApp's servers.
    #[error("mídia antiga indisponível: {0}")]
    Expired(String),
    /// The media could not be downloaded or decrypted.
    #[error("download do áudio falhou: {0}")]
    Download(String),
    /// The audio could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The transcriber failed or is off.
    #[error("transcrição falhou: {0}")]
    Transcribe(String),
    /// Nothing was said (silence, noise).
    #[error("nenhuma fala reconhecida")]
    Silent,
}

impl Unheard {
    /// The one reply the contact gets; `None` while the note waits for its session.
    pub(super) fn reply(&self, max_seconds: u64) -> Option<String> {
        match self {
            Unheard::NoSession => None,
            Unheard::Expired(_) => Some(replies::voice_expired().to_owned()),
            Unheard::Decode(DecodeError::TooLong { .. }) => {
                Some(replies::voice_too_long(max_seconds))
            }
            Unheard::Download(_) | Unheard::Decode(_) | Unheard::Silent => {
                Some(replies::voice_unreadable().to_owned())
            }
            Unheard::Transcribe(_) => Some(replies::voice_unavailable().to_owned()),
        }
    }
}

/// Hears one note of `tenant` in `language`: the message's own, or the one it quotes
/// (`!transcrever`).
pub(super) async fn hear(
    shared: Arc<Shared>,
    tenant: TenantId,
    transcriber: Arc<Transcriber>,
    language: String,
    (seq, job, facts): (u64, Job, Facts),
) -> Heard {
    let note = note_of(&job).to_owned();
    let hint = job.msg.mimetype.clone().filter(|_| note == job.msg.id);
    let result = text_of(&shared, &tenant, &transcriber, &language, &note, hint).await;
    match &result {
        Ok(text) => info!(id = %job.msg.id, chars = text.chars().count(), "voice note heard"),
        Err(e) => warn!(id = %job.msg.id, error = %e, "voice note not heard"),
    }
    Heard {
        seq,
        job,
        facts,
        result,
    }
}

/// The message whose audio a job hears: the quoted one for `!transcrever`.
pub(super) fn note_of(job: &Job) -> &str {
    match (&job.msg.quoted_id, is_audio(&job.msg)) {
        (Some(quoted), false) => quoted,
        _ => &job.msg.id,
    }
}

async fn text_of(
    shared: &Shared,
    tenant: &TenantId,
    transcriber: &Transcriber,
    language: &str,
    note: &str,
    hint: Option<String>,
) -> Result<String, Unheard> {
    let (bytes, mimetype) = download(shared, tenant, note).await?;
    let mimetype = Some(mimetype).filter(|m| !m.is_empty()).or(hint);
    let max = shared.config.transcription.max_duration;
    let audio =
        tokio::task::spawn_blocking(move || decode::decode(&bytes, mimetype.as_deref(), max))
            .await
            .map_err(|e| Unheard::Transcribe(e.to_string()))??;
    let transcript = transcriber
        .transcribe(tenant, audio, language)
        .await
        .map_err(|e| Unheard::Transcribe(e.to_string()))?;
    let text = transcript.text.trim();
    if text.is_empty() {
        return Err(Unheard::Silent);
    }
    Ok(text.to_owned())
}

/// The note's bytes and type, through the session; media gone from the servers is
/// asked for once more.
async fn download(
    shared: &Shared,
    tenant: &TenantId,
    msg_id: &str,
) -> Result<(Vec<u8>, String), Unheard> {
    let mut tries = 0;
    loop {
        tries += 1;
        let (reply, answer) = oneshot::channel();
        let command = Command::Download {
            msg_id: msg_id.to_owned(),
            reply,
        };
        if !shared.outlet.send(tenant, command) {
            return Err(Unheard::NoSession);
        }
        let why = match answer.await {
            Ok(Ok(download)) => return Ok((download.bytes, download.mimetype)),
            Ok(Err(why)) => why,
            Err(_) => return Err(Unheard::NoSession),
        };
        if !gone(&why) {
            return Err(Unheard::Download(why));
        }
        if tries >= EXPIRED_TRIES {
            return Err(Unheard::Expired(why));
        }
    }
}

/// Whether a download error says the media is gone from the servers.
fn gone(why: &str) -> bool {
    let why = why.to_ascii_lowercase();
    ["expired", "gone", "not found", "404", "410"]
        .iter()
        .any(|word| why.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_media_is_told_apart() {
        assert!(gone(
            "media expired: gone from the servers (re-upload failed)"
        ));
        assert!(gone("HTTP 404"));
        assert!(!gone("media decryption failed"));
    }
}
