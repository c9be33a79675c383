//! A tenant's persona choice, as typed after `!persona`: the default, a name, or a text.

use unicode_segmentation::UnicodeSegmentation;

use super::{PersonaError, Personas};
use crate::client::words;

/// The longest free-text persona, in characters.
pub const TEXT_CHARS: usize = 2_000;

/// The fewest words of a free-text persona.
pub(super) const TEXT_MIN_WORDS: usize = 2;

/// The fewest characters of a free-text persona.
pub(super) const TEXT_MIN_CHARS: usize = 10;

/// How much of a free text [`PersonaChoice::describe`] shows, in characters.
const SHOWN_CHARS: usize = 60;

/// What the words for the default persona fold to.
const DEFAULT_WORDS: [&str; 2] = ["padrao", "default"];

/// What a tenant chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonaChoice {
    /// The default persona (`padrao`): the setting is cleared.
    Default,
    /// A declared persona, by its canonical name.
    Named(String),
    /// A free text that describes the persona, trimmed.
    Text(String),
}

impl Personas {
    /// Reads what was typed after `!persona <cliente>`: `padrao`, `padrão` or `default`
    /// → the default; a persona's name (case and accents ignored) → that persona; any
    /// other single word is refused with the names available and the nearest one; a
    /// longer text (at least 2 words and 10 characters, at most [`TEXT_CHARS`]) describes
    /// the persona itself.
    pub fn choose(&self, text: &str) -> Result<PersonaChoice, PersonaError> {
        let text = text.trim_matches(|c: char| c.is_whitespace() || words::is_invisible(c));
        if text.is_empty() {
            let available = self.available().join(", ");
            return Err(PersonaError::Empty { available });
        }
        if means_default(text) {
            return Ok(PersonaChoice::Default);
        }
        if let Some(persona) = self.get(text) {
            return Ok(PersonaChoice::Named(persona.name.clone()));
        }
        if !text.contains(char::is_whitespace) {
            return Err(self.unknown(text));
        }
        free_text(text)
    }

    /// The error for a word that names no persona.
    fn unknown(&self, word: &str) -> PersonaError {
        let available = self.available();
        let hint = words::closest(word, available.iter().copied()).map(str::to_owned);
        PersonaError::Unknown {
            name: word.to_owned(),
            available: available.join(", "),
            hint,
        }
    }
}

impl PersonaChoice {
    /// What to store under [`super::SETTING`]: `None` (clear it) for the default, else
    /// the name or the text.
    pub fn stored(&self) -> Option<String> {
        match self {
            PersonaChoice::Default => None,
            PersonaChoice::Named(value) | PersonaChoice::Text(value) => Some(value.clone()),
        }
    }

    /// How the operator is told the choice, in pt-BR: the default persona's own,
    /// `vendedora (Vendedora simpática)` (the description comes from `personas`), or
    /// `texto livre: “Você é…”` (cut to 60 characters).
    pub fn describe(&self, personas: &Personas) -> String {
        match self {
            PersonaChoice::Default => personas.default_persona().describe(),
            PersonaChoice::Named(name) => personas
                .get(name)
                .map_or_else(|| name.clone(), super::Persona::describe),
            PersonaChoice::Text(text) => describe_text(text),
        }
    }
}

/// Whether `word` asks for the default persona (`padrao`, `padrão`, `default`).
pub(super) fn means_default(word: &str) -> bool {
    DEFAULT_WORDS.contains(&words::fold(word).as_str())
}

/// `texto livre: “…”` with the text on one line, cut to [`SHOWN_CHARS`].
pub(super) fn describe_text(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut shown = String::new();
    let mut count = 0;
    for grapheme in line.graphemes(true) {
        count += grapheme.chars().count();
        if count > SHOWN_CHARS {
            shown.push('…');
            break;
        }
        shown.push_str(grapheme);
    }
    format!("texto livre: “{shown}”")
}

/// `você quis dizer "x"? ` for a hint, else nothing.
pub(super) fn hint_text(hint: Option<&str>) -> String {
    hint.map(|name| format!("você quis dizer \"{name}\"? "))
        .unwrap_or_default()
}

/// A free-text persona: long enough to describe one, not too long.
fn free_text(text: &str) -> Result<PersonaChoice, PersonaError> {
    let chars = text.chars().count();
    if text.split_whitespace().count() < TEXT_MIN_WORDS || chars < TEXT_MIN_CHARS {
        return Err(PersonaError::TooShort);
    }
    if chars > TEXT_CHARS {
        return Err(PersonaError::TooLong {
            chars,
            limit: TEXT_CHARS,
        });
    }
    Ok(PersonaChoice::Text(text.to_owned()))
}
