//! AI replies on any OpenAI-compatible chat endpoint (`/v1/chat/completions`).
//!
//! - [`client`]: the HTTP client: timeouts, retries with backoff, the API key kept out
//!   of logs.
//! - [`persona`]: the named personas of `commands/personas/*.toml`, a tenant's choice
//!   among them (or free text), and the system prompt they give.
//! - [`prompt`]: a request from the persona, the last turns with the contact (text
//!   only, never media) and the message; the answer cut to size and signed.

pub mod client;
pub mod persona;
pub mod prompt;

use serde::{Deserialize, Serialize};

pub use client::{AiClient, AiError, ApiKey};
pub use persona::{Persona, PersonaChoice, PersonaError, Personas};

/// Who said a message of a chat request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The persona's instructions.
    System,
    /// The contact.
    User,
    /// The bot (the tenant's account).
    Assistant,
}

/// One message of a chat request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who said it.
    pub role: Role,
    /// What was said, as plain text.
    pub content: String,
}

impl ChatMessage {
    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

/// What the bot asks the endpoint (the model comes from the client).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// System prompt first, then the turns, oldest first, then the message.
    pub messages: Vec<ChatMessage>,
    /// Sampling temperature; `None` leaves the endpoint's default.
    pub temperature: Option<f32>,
}

/// What the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The reply text, as the model wrote it.
    pub text: String,
    /// Tokens the request used (from `usage`, or estimated when absent).
    pub tokens: u64,
    /// How many HTTP requests it took (1 without retries).
    pub tries: u32,
}
