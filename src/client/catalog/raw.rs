//! The first stage: a command file exactly as written, and its syntax errors in pt-BR.

use serde::Deserialize;

use super::CatalogError;
use crate::config::syntax;

/// A whole `commands/*.toml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    #[serde(default)]
    pub(super) command: Vec<Command>,
    pub(super) greeting: Option<Special>,
    pub(super) away: Option<Special>,
}

/// One `[[command]]`; required keys are optional here so that their absence is reported
/// with the command's number and name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Command {
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
    #[serde(default)]
    pub(super) usage: String,
    pub(super) help: Option<String>,
    pub(super) reply: Option<String>,
    pub(super) plugin: Option<String>,
    pub(super) ai: Option<String>,
    #[serde(default)]
    pub(super) keywords: Vec<String>,
    #[serde(default)]
    pub(super) patterns: Vec<String>,
    #[serde(default)]
    pub(super) restricted: bool,
}

/// `[greeting]` or `[away]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Special {
    pub(super) reply: String,
}

/// Parses the text of `file`; a failure names the line, the table and the key.
pub(super) fn parse(file: &str, text: &str) -> Result<File, CatalogError> {
    toml::from_str(text).map_err(|err| {
        let at = err.span().map_or(0, |s| s.start).min(text.len());
        let line = text[..at].matches('\n').count() + 1;
        let (key, message) = explain(text, at, err.message());
        CatalogError::Syntax {
            file: file.to_owned(),
            line,
            key,
            message,
        }
    })
}

/// A key as errors show it, and what is wrong with it.
type Key = (String, String);

/// Works out the key at byte `at` and a pt-BR message for serde's `message`.
fn explain(text: &str, at: usize, message: &str) -> Key {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default().trim();
    let on_header = syntax::header(line).is_some();
    let table = table_at(text, line_start);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, allowed) = rest.split_once('`').unwrap_or((rest, ""));
        return unknown(table.as_deref(), on_header.then_some(line), name, allowed);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let table = table.unwrap_or_else(|| "arquivo".to_owned());
        return (join(&table, name), "obrigatória e ausente".to_owned());
    }
    if on_header && message.trim() == "duplicate key" {
        let table = table.unwrap_or_else(|| "arquivo".to_owned());
        return (table, DUPLICATE_TABLE.to_owned());
    }
    let key = match (table, syntax::key_on_line(text, line_start)) {
        (Some(table), Some(name)) => join(&table, &name),
        (Some(table), None) => table,
        (None, Some(name)) => name,
        (None, None) => "arquivo".to_owned(),
    };
    (key, syntax::translate(message))
}

/// What a repeated table header is told.
const DUPLICATE_TABLE: &str = "seção repetida; [greeting] e [away] vêm uma só vez, \
                               e cada comando abre com [[command]]";

/// The key and message for serde's unknown field `name` (`allowed` lists the others),
/// written in a table or, when `header` is the line as written, as a table.
fn unknown(table: Option<&str>, header: Option<&str>, name: &str, allowed: &str) -> Key {
    const TABLES: &str = "use [[command]], [greeting] ou [away]";
    match (table, header) {
        (_, Some(line)) => (line.to_owned(), format!("seção desconhecida; {TABLES}")),
        (None, None) => (name.to_owned(), format!("chave fora de seção; {TABLES}")),
        (Some(table), None) => (
            join(table, name),
            format!(
                "chave desconhecida; permitidas: {}",
                syntax::allowed_names(allowed)
            ),
        ),
    }
}

/// A key inside a table, as errors show it: `[[command]] nº 2: help`, `[away] reply`.
pub(super) fn join(table: &str, key: &str) -> String {
    if table.starts_with("[[") {
        format!("{table}: {key}")
    } else {
        format!("{table} {key}")
    }
}

/// The table around the line starting at `line_start`: `[[command]] nº 2`, `[greeting]`.
fn table_at(text: &str, line_start: usize) -> Option<String> {
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let headers: Vec<&str> = text[..line_end]
        .lines()
        .filter(|line| line.trim_start().starts_with('['))
        .collect();
    let last = syntax::header(headers.last()?)?;
    if last != "command" {
        return Some(format!("[{last}]"));
    }
    let number = headers
        .iter()
        .filter(|line| syntax::header(line).as_deref() == Some("command"))
        .count();
    Some(format!("[[command]] nº {number}"))
}
