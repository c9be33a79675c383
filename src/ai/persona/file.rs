//! One persona file: read as written (serde, unknown keys refused), then checked into a
//! [`Persona`]. Every error names the file, the line and the key, in pt-BR.

use std::ops::{Range, RangeInclusive};

use serde::Deserialize;
use toml::Spanned;

use super::{DEFAULT_NAME, Persona, PersonaError, Personas, TEXT_NAME};
use crate::client::words;
use crate::config::syntax;

/// The longest `system`, in characters.
const SYSTEM_CHARS: usize = 4_000;

/// The longest `description`, in characters.
const DESCRIPTION_CHARS: usize = 100;

/// The longest `language`, in characters.
const LANGUAGE_CHARS: usize = 40;

/// The longest topic of `forbidden`, in characters.
const TOPIC_CHARS: usize = 80;

/// The most topics in `forbidden`.
const TOPICS: usize = 20;

/// The longest `signature`, in characters.
const SIGNATURE_CHARS: usize = 200;

/// The temperatures allowed.
const TEMPERATURE: RangeInclusive<f32> = 0.0..=2.0;

/// Names a file may not take: they mean the default and a free text.
const RESERVED: [&str; 2] = ["default", TEXT_NAME];

/// What a wrong name is told.
const BAD_NAME: &str = "use até 32 letras minúsculas sem acento, números, '-' ou '_', \
                        começando por letra ou número, ex.: name = \"vendedora\"";

/// What an empty signature is told.
const NO_SIGNATURE: &str = "vazia; apague a chave ou escreva a assinatura, \
                            ex.: signature = \"— Loja da Ana\"";

/// The example shown for a bad temperature.
const TEMPERATURE_EXAMPLE: &str = "ex.: temperature = 0.7";

/// What a checked value is, or why it is refused.
type Checked<T> = Result<T, PersonaError>;

/// A persona file exactly as written; required keys are optional here so that their
/// absence gets an example.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    system: Option<Spanned<String>>,
    temperature: Option<Spanned<f32>>,
    language: Option<Spanned<String>>,
    #[serde(default)]
    forbidden: Vec<Spanned<String>>,
    signature: Option<Spanned<String>>,
}

/// Parses and checks the text of `file`; `earlier` holds the personas of the files
/// before it, whose names this one may not take.
pub(super) fn parse(file: &str, text: &str, earlier: &Personas) -> Checked<Persona> {
    let raw: Raw = toml::from_str(text).map_err(|err| syntax_error(file, text, &err))?;
    let check = Check { file, text };
    let name = check.name(raw.name, earlier)?;
    Ok(Persona {
        description: check.description(raw.description)?,
        system: check.system(raw.system)?,
        temperature: raw.temperature.map(|t| check.temperature(t)).transpose()?,
        language: raw.language.map(|l| check.language(l)).transpose()?,
        forbidden: check.forbidden(raw.forbidden)?,
        signature: raw.signature.map(|s| check.signature(s)).transpose()?,
        name,
    })
}

/// A TOML or serde error of `file`, with its line, key and a pt-BR message.
fn syntax_error(file: &str, text: &str, err: &toml::de::Error) -> PersonaError {
    let at = err.span().map_or(0, |s| s.start).min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let message = err.message();
    let (key, message) = if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, allowed) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed = syntax::allowed_names(allowed);
        let message = format!("chave desconhecida; permitidas: {allowed}");
        (name.to_owned(), message)
    } else {
        let key = syntax::key_on_line(text, line_start);
        let key = key.unwrap_or_else(|| "arquivo".to_owned());
        let typed = wrong_type(&key, message);
        let message = typed.unwrap_or_else(|| syntax::translate(message));
        (key, message)
    };
    PersonaError::Syntax {
        file: file.to_owned(),
        line: line_of(text, at),
        key,
        message,
    }
}

/// serde's "invalid type" for one of our keys, said with what the key takes.
fn wrong_type(key: &str, message: &str) -> Option<String> {
    let rest = message.trim().strip_prefix("invalid type: ")?;
    let (found, _) = rest.split_once(", expected ")?;
    let expected = match key {
        "temperature" => "um número de 0.0 a 2.0, ex.: temperature = 0.7",
        "forbidden" => "uma lista de textos, ex.: forbidden = [\"política\"]",
        "name" | "description" | "system" | "language" | "signature" => "um texto entre aspas",
        _ => return None,
    };
    Some(format!("tipo errado ({found}); esperado {expected}"))
}

/// The 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Checks the values of one file.
struct Check<'a> {
    file: &'a str,
    text: &'a str,
}

impl Check<'_> {
    /// An error on `key`, whose value is at `span`.
    fn fail<T>(&self, span: Range<usize>, key: &str, message: String) -> Checked<T> {
        Err(PersonaError::Invalid {
            file: self.file.to_owned(),
            line: line_of(self.text, span.start),
            key: key.to_owned(),
            message,
        })
    }

    /// The error for a required key that is absent.
    fn missing<T>(&self, key: &'static str, example: &'static str) -> Checked<T> {
        Err(PersonaError::Missing {
            file: self.file.to_owned(),
            key,
            example,
        })
    }

    /// The name: normalized, a valid word, not reserved, not taken by an earlier file.
    fn name(&self, raw: Option<Spanned<String>>, earlier: &Personas) -> Checked<String> {
        let Some(raw) = raw else {
            return self.missing("name", "name = \"vendedora\"");
        };
        let span = raw.span();
        let name = words::normalize(raw.get_ref().trim());
        if !words::is_command_name(&name) {
            let message = format!("nome inválido \"{}\"; {BAD_NAME}", raw.get_ref());
            return self.fail(span, "name", message);
        }
        if RESERVED.contains(&name.as_str()) {
            let message = format!(
                "\"{name}\" é reservado ({DEFAULT_NAME} e texto livre); escolha outro nome"
            );
            return self.fail(span, "name", message);
        }
        if let Some(other) = earlier.file_of(&name) {
            let message = format!(
                "\"{name}\" já é o nome da persona de {}; use outro",
                other.display()
            );
            return self.fail(span, "name", message);
        }
        Ok(name)
    }

    /// The one-line description, trimmed; required.
    fn description(&self, raw: Option<Spanned<String>>) -> Checked<String> {
        const EXAMPLE: &str = "description = \"Vendedora simpática\"";
        let Some(raw) = raw else {
            return self.missing("description", EXAMPLE);
        };
        let (span, value) = (raw.span(), raw.get_ref().trim());
        let problem = if value.is_empty() {
            "vazia".to_owned()
        } else if value.contains('\n') {
            "use uma linha só".to_owned()
        } else if let Some(long) = too_long(value, DESCRIPTION_CHARS) {
            long
        } else {
            return Ok(value.to_owned());
        };
        let message = format!("{problem}; descreva a persona em uma linha, ex.: {EXAMPLE}");
        self.fail(span, "description", message)
    }

    /// The instructions, trimmed: 1 to [`SYSTEM_CHARS`] characters; required.
    fn system(&self, raw: Option<Spanned<String>>) -> Checked<String> {
        const EXAMPLE: &str = "system = \"Você é a Ana, vendedora da loja...\"";
        let Some(raw) = raw else {
            return self.missing("system", EXAMPLE);
        };
        let (span, value) = (raw.span(), raw.get_ref().trim());
        if value.is_empty() {
            let message = format!("vazia; escreva como a persona fala, ex.: {EXAMPLE}");
            return self.fail(span, "system", message);
        }
        match too_long(value, SYSTEM_CHARS) {
            Some(message) => self.fail(span, "system", message),
            None => Ok(value.to_owned()),
        }
    }

    /// A temperature in [`TEMPERATURE`].
    fn temperature(&self, raw: Spanned<f32>) -> Checked<f32> {
        let value = *raw.get_ref();
        if TEMPERATURE.contains(&value) {
            return Ok(value);
        }
        let message =
            format!("fora do intervalo ({value}); use de 0.0 a 2.0, {TEMPERATURE_EXAMPLE}");
        self.fail(raw.span(), "temperature", message)
    }

    /// The language's name: one short line.
    fn language(&self, raw: Spanned<String>) -> Checked<String> {
        let value = raw.get_ref().trim();
        if one_short_line(value, LANGUAGE_CHARS) {
            return Ok(value.to_owned());
        }
        let message = format!(
            "idioma inválido \"{value}\"; escreva o nome do idioma em uma linha, até \
             {LANGUAGE_CHARS} caracteres, ex.: language = \"português do Brasil\""
        );
        self.fail(raw.span(), "language", message)
    }

    /// The topics to avoid: each one short line, at most [`TOPICS`].
    fn forbidden(&self, raw: Vec<Spanned<String>>) -> Checked<Vec<String>> {
        if let Some(extra) = raw.get(TOPICS) {
            let message = format!("assuntos demais ({}); use até {TOPICS}", raw.len());
            return self.fail(extra.span(), "forbidden", message);
        }
        let mut topics = Vec::with_capacity(raw.len());
        for topic in &raw {
            let value = topic.get_ref().trim();
            if !one_short_line(value, TOPIC_CHARS) {
                let message = format!(
                    "assunto inválido \"{value}\"; escreva cada assunto em uma linha, até \
                     {TOPIC_CHARS} caracteres, ex.: forbidden = [\"política\"]"
                );
                return self.fail(topic.span(), "forbidden", message);
            }
            topics.push(value.to_owned());
        }
        Ok(topics)
    }

    /// The signature, trimmed: 1 to [`SIGNATURE_CHARS`] characters.
    fn signature(&self, raw: Spanned<String>) -> Checked<String> {
        let value = raw.get_ref().trim();
        if value.is_empty() {
            return self.fail(raw.span(), "signature", NO_SIGNATURE.to_owned());
        }
        match too_long(value, SIGNATURE_CHARS) {
            Some(message) => self.fail(raw.span(), "signature", message),
            None => Ok(value.to_owned()),
        }
    }
}

/// `longa demais (n caracteres); use até max` when `value` is over `max` characters.
fn too_long(value: &str, max: usize) -> Option<String> {
    let chars = value.chars().count();
    (chars > max).then(|| format!("longa demais ({chars} caracteres); use até {max}"))
}

/// Whether `value` is not empty, has no line break and at most `max` characters.
fn one_short_line(value: &str, max: usize) -> bool {
    !value.is_empty() && !value.contains('\n') && value.chars().count() <= max
}
