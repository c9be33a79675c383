//! What is sent to the model and what comes back to the chat.
//!
//! [`turns`] picks the last turns with the contact from the stored history (text only:
//! media become placeholders, base64 is never sent), [`chat_request`] puts the persona's
//! system prompt, the turns and the message together within the size limits, and
//! [`finish_answer`] cuts and signs the answer. Lengths are counted in characters
//! (`char`s); every cut falls between graphemes and ends with `…`, within the limit.

use unicode_segmentation::UnicodeSegmentation;

use super::persona::{Persona, system_prompt};
use super::{ChatMessage, ChatRequest, Role};
use crate::store::HistoryEntry;

/// The longest history turn, in characters; a longer one is cut.
pub const TURN_CHARS: usize = 2_000;

/// The longest current message, in characters; a longer one is cut.
pub const ASK_CHARS: usize = 8_000;

/// All history turns together at most, in characters; the oldest are dropped first.
pub const PROMPT_CHARS: usize = 32_000;

/// The longest answer sent, in characters (before the signature); a longer one is cut.
pub const ANSWER_CHARS: usize = 100_000;

/// The shortest run of base64 characters that marks a text as base64.
const BASE64_RUN: usize = 200;

/// What ends a cut text.
const ELLIPSIS: char = '…';

/// Message kinds that carry an attachment or something other than typed text.
const MEDIA_KINDS: [&str; 10] = [
    "image",
    "video",
    "ptv",
    "audio",
    "ptt",
    "document",
    "sticker",
    "location",
    "vcard",
    "multi_vcard",
];

/// The last `limit` turns of a chat before the message `current_id`, oldest first
/// (`history` is oldest first, as stored), as chat messages: the account's own rows
/// are [`Role::Assistant`], the others [`Role::User`].
///
/// - Only rows before `current_id` count (all of them when it is absent).
/// - In a group (`author` is `Some`), only the rows of that author and the account's.
/// - Deleted rows and rows with nothing to say are skipped.
/// - A row's text is its text or caption, cut to [`TURN_CHARS`]. A media row shows a
///   placeholder by kind before its caption: `[imagem] <caption>`, `[áudio]`,
///   `[vídeo]`, `[figurinha]`, `[documento: <file name>]`, `[localização]`,
///   `[contato]`, else `[mídia]`.
/// - A text that [`looks_like_base64`] is never sent: the row becomes its placeholder.
/// - All turns together stay within [`PROMPT_CHARS`], dropping the oldest first.
pub fn turns(
    history: &[HistoryEntry],
    current_id: &str,
    limit: usize,
    author: Option<&str>,
) -> Vec<ChatMessage> {
    let end = history
        .iter()
        .position(|row| row.id == current_id)
        .unwrap_or(history.len());
    let mut turns: Vec<ChatMessage> = history[..end]
        .iter()
        .filter(|row| !row.revoked && author.is_none_or(|a| row.from_me || row.from == a))
        .filter_map(turn)
        .collect();
    turns.drain(..turns.len().saturating_sub(limit));
    fit(turns)
}

/// The request for `ask` (the contact's message): the system prompt of `persona` for
/// `business` (the tenant id), the `turns` within [`PROMPT_CHARS`] (oldest dropped
/// first), then `ask` cut to [`ASK_CHARS`] as the last user message (`[mídia]` if it
/// [`looks_like_base64`]); the persona's temperature.
pub fn chat_request(
    persona: &Persona,
    business: &str,
    turns: Vec<ChatMessage>,
    ask: &str,
) -> ChatRequest {
    let ask = match ask.trim() {
        text if looks_like_base64(text) => "[mídia]".to_owned(),
        text => cut(text, ASK_CHARS),
    };
    let system = ChatMessage::new(Role::System, system_prompt(persona, business));
    let mut messages = vec![system];
    messages.extend(fit(turns));
    messages.push(ChatMessage::new(Role::User, ask));
    ChatRequest {
        messages,
        temperature: persona.temperature,
    }
}

/// The answer as sent: trimmed, cut to [`ANSWER_CHARS`], then a blank line and the
/// persona's signature, if it has one. An empty answer stays empty (nothing to sign).
pub fn finish_answer(text: &str, persona: &Persona) -> String {
    let answer = cut(text.trim(), ANSWER_CHARS);
    match &persona.signature {
        Some(signature) if !answer.is_empty() => format!("{answer}\n\n{signature}"),
        _ => answer,
    }
}

/// Whether `text` looks like encoded data rather than something a person wrote: it
/// starts with `data:` (any case), or it holds a run of at least 200 characters from
/// `A-Z a-z 0-9 + / = _ -` with no space or other character between them.
pub fn looks_like_base64(text: &str) -> bool {
    let start = text.trim_start();
    if start
        .get(..5)
        .is_some_and(|head| head.eq_ignore_ascii_case("data:"))
    {
        return true;
    }
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_alphanumeric() || "+/=_-".contains(c) {
            run + 1
        } else {
            0
        };
        if run >= BASE64_RUN {
            return true;
        }
    }
    false
}

/// One history row as a turn, or `None` when it has nothing to say.
fn turn(row: &HistoryEntry) -> Option<ChatMessage> {
    let role = if row.from_me {
        Role::Assistant
    } else {
        Role::User
    };
    Some(ChatMessage::new(role, cut(&content(row)?, TURN_CHARS)))
}

/// What a row said: its text, after a placeholder for media; never base64.
pub fn content(row: &HistoryEntry) -> Option<String> {
    let text = row.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let encoded = text.is_some_and(looks_like_base64);
    let text = text.filter(|_| !encoded);
    let media = encoded || row.media.is_some() || MEDIA_KINDS.contains(&row.kind.as_str());
    match (media, text) {
        (false, text) => text.map(str::to_owned),
        (true, None) => Some(placeholder(row)),
        (true, Some(text)) => Some(format!("{} {text}", placeholder(row))),
    }
}

/// `[imagem]`, `[áudio]`, `[documento: nome.pdf]`, … for a media row.
fn placeholder(row: &HistoryEntry) -> String {
    let file_name = row.media.as_ref().and_then(|m| m.filename.as_deref());
    let shown = match row.kind.as_str() {
        "image" => "imagem",
        "audio" | "ptt" => "áudio",
        "video" | "ptv" => "vídeo",
        "sticker" => "figurinha",
        "document" => match file_name.map(str::trim).filter(|f| !f.is_empty()) {
            Some(name) => return format!("[documento: {name}]"),
            None => "documento",
        },
        "location" => "localização",
        "vcard" | "multi_vcard" => "contato",
        _ => "mídia",
    };
    format!("[{shown}]")
}

/// `turns` with the oldest dropped until all fit in [`PROMPT_CHARS`].
fn fit(mut turns: Vec<ChatMessage>) -> Vec<ChatMessage> {
    let size = |turn: &ChatMessage| turn.content.chars().count();
    let mut total: usize = turns.iter().map(size).sum();
    let mut drop = 0;
    while total > PROMPT_CHARS {
        total -= size(&turns[drop]);
        drop += 1;
    }
    turns.drain(..drop);
    turns
}

/// `text` if it has at most `max` characters; else its first graphemes and `…`, at most
/// `max` characters in all.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut kept = String::new();
    let mut count = 0;
    for grapheme in text.graphemes(true) {
        count += grapheme.chars().count();
        if count >= max {
            break;
        }
        kept.push_str(grapheme);
    }
    kept.push(ELLIPSIS);
    kept
}

#[cfg(test)]
mod tests;
