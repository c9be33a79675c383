//! Reading the TOML text, with serde's messages turned into the operator's language.

use super::ConfigError;
use super::raw;

/// Parses the text; a failure names the line, the key and what is allowed.
pub(super) fn parse(file: &str, text: &str) -> Result<raw::File, ConfigError> {
    toml::from_str(text).map_err(|err| {
        let start = err.span().map_or(0, |s| s.start).min(text.len());
        let line = text[..start].matches('\n').count() + 1;
        let (key, message) = explain(text, start, err.message());
        ConfigError::Syntax {
            file: file.to_owned(),
            line,
            key,
            message,
        }
    })
}

/// The top-level sections of `admin.toml`.
const SECTIONS: [&str; 8] = [
    "admin",
    "whatsapp",
    "paths",
    "limits",
    "backups",
    "ai",
    "transcription",
    "panel",
];

/// Works out the key at `at` and a pt-BR message for serde's `message`.
fn explain(text: &str, at: usize, message: &str) -> (String, String) {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let header = header_on_line(text, line_start);
    let section = header.clone().or_else(|| section_at(text, line_start));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, allowed) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed = allowed_names(allowed);
        // An unknown table is reported on its own header: its parent is the section.
        let parent = match header {
            Some(h) => h.rsplit_once('.').map(|(p, _)| p.to_owned()),
            None => section,
        };
        return match parent {
            None => (
                format!("[{name}]"),
                format!("seção desconhecida; permitidas: {allowed}"),
            ),
            Some(sec) => (
                format!("[{sec}] {name}"),
                format!("chave desconhecida; permitidas: {allowed}"),
            ),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return match section {
            _ if SECTIONS.contains(&name) => (
                format!("[{name}]"),
                "seção obrigatória e ausente".to_owned(),
            ),
            None => (name.to_owned(), "obrigatória e ausente".to_owned()),
            Some(sec) => (
                format!("[{sec}] {name}"),
                "obrigatória e ausente".to_owned(),
            ),
        };
    }
    let key = match (section, key_on_line(text, line_start)) {
        (Some(sec), Some(name)) => format!("[{sec}] {name}"),
        (None, Some(name)) => name,
        (Some(sec), None) => format!("[{sec}]"),
        (None, None) => "arquivo".to_owned(),
    };
    (key, translate(message))
}

/// The names after serde's "expected one of", comma-separated.
pub(crate) fn allowed_names(tail: &str) -> String {
    let names: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    if names.is_empty() {
        "nenhuma".to_owned()
    } else {
        names.join(", ")
    }
}

/// The innermost `[section]` or `[[section]]` header before byte `at`.
fn section_at(text: &str, at: usize) -> Option<String> {
    text[..at].lines().rev().find_map(header)
}

/// The header written on the line starting at `line_start`, if it is one.
fn header_on_line(text: &str, line_start: usize) -> Option<String> {
    text[line_start..].lines().next().and_then(header)
}

/// `section` for a `[section]` or `[[section]]` line.
pub(crate) fn header(line: &str) -> Option<String> {
    let inner = line.trim().strip_prefix('[')?.split(']').next()?;
    Some(inner.trim_start_matches('[').trim().to_owned())
}

/// The key written at the start of the line starting at `line_start`, if any.
pub(crate) fn key_on_line(text: &str, line_start: usize) -> Option<String> {
    let line = text[line_start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

/// Puts the common serde messages into pt-BR; others pass through.
pub(crate) fn translate(message: &str) -> String {
    let message = message.trim();
    if message == "duplicate key" {
        return "chave repetida; escreva cada chave uma só vez".to_owned();
    }
    if message.starts_with("string values must be quoted") || message.contains("expected literal") {
        return "valor ausente ou texto sem aspas; escreva chave = valor, textos entre aspas"
            .to_owned();
    }
    let (kind, rest) = match (
        message.strip_prefix("invalid type: "),
        message.strip_prefix("invalid value: "),
    ) {
        (Some(rest), _) => ("tipo errado", rest),
        (None, Some(rest)) => ("valor inválido", rest),
        (None, None) => return message.to_owned(),
    };
    let Some((found, expected)) = rest.split_once(", expected ") else {
        return message.to_owned();
    };
    // A number too big for any integer is read as i128: it is out of range, not a
    // wrong type.
    if found.ends_with(" as i128") || (kind == "valor inválido" && found.starts_with("integer")) {
        let number = found
            .trim_end_matches(" as i128")
            .trim_start_matches("integer ");
        return format!(
            "número fora do intervalo ({number}); use {}",
            expected_pt(expected)
        );
    }
    format!("{kind} ({found}); esperado {}", expected_pt(expected))
}

fn expected_pt(expected: &str) -> &str {
    match expected {
        "u32" => "um número inteiro de 0 a 4294967295",
        "u8" | "u16" | "u64" | "usize" | "i32" | "i64" => "um número inteiro não negativo",
        "a boolean" => "true ou false",
        "a string" => "um texto entre aspas",
        "a sequence" => "uma lista, ex.: [\"...\"]",
        other => other,
    }
}
