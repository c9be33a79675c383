//! Reply templates: texts with variables in braces, like `Olá {nome}!`.
//!
//! A [`Template`] is checked once, when a command file or a setting is read, so a typo in
//! a variable is reported to whoever wrote it instead of reaching a contact. Rendering
//! never fails.

use std::fmt;

use super::words;

/// The variables a template may use, in the order they are listed to users.
const NAMES: [&str; 8] = [
    "nome", "numero", "cliente", "data", "hora", "horario", "args", "prefixo",
];

/// What `{nome}` shows when the contact's name is unknown.
const DEFAULT_NAME: &str = "cliente";

/// A reply text with its variables located, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// One piece of a template: plain text or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A known variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Nome,
    Numero,
    Cliente,
    Data,
    Hora,
    Horario,
    Args,
    Prefixo,
}

/// The values a template is rendered with; each field is the variable of the same name.
#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub struct Vars {
    /// The contact's name; empty shows `cliente`.
    pub nome: String,
    /// The contact's phone digits, or empty.
    pub numero: String,
    /// The tenant id.
    pub cliente: String,
    /// The date as `dd/mm/aaaa` (see [`Vars::set_time`]).
    pub data: String,
    /// The time as `HH:MM` (see [`Vars::set_time`]).
    pub hora: String,
    /// The tenant's business hours as text.
    pub horario: String,
    /// The command's arguments.
    pub args: String,
    /// The command prefix (`!`).
    pub prefixo: String,
}

/// Why a text is not a valid template; its `Display` is the pt-BR answer for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The text is empty or only spaces.
    #[error("texto vazio; escreva a resposta, ex.: \"Olá {{nome}}!\"")]
    Empty,
    /// A `{name}` that is not a known variable.
    #[error(
        "variável desconhecida {{{0}}}; use {{nome}}, {{numero}}, {{cliente}}, \
         {{data}}, {{hora}}, {{horario}}, {{args}} ou {{prefixo}} (para chaves no \
         texto, escreva {{{{ e }}}})"
    )]
    Unknown(String),
    /// A `{` never closed.
    #[error(
        "\"{{\" sem \"}}\" em \"{0}\"; feche a variável, ex.: {{nome}}, ou \
         escreva {{{{ para uma chave no texto"
    )]
    Unclosed(String),
    /// A `}` never opened.
    #[error("\"}}\" sem \"{{\" antes; escreva }}}} para uma chave no texto")]
    Stray,
}

impl Template {
    /// Checks `text` and locates its variables; `{{` and `}}` are literal braces.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if text.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' | '}' if chars.next_if(|(_, next)| *next == c).is_some() => {
                    literal.push(c);
                }
                '}' => return Err(TemplateError::Stray),
                '{' => {
                    let var = variable(&text[at..])?;
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                    parts.push(Part::Var(var));
                    // Skip the name and its closing brace.
                    while chars.next_if(|(_, next)| *next != '}').is_some() {}
                    chars.next();
                }
                _ => literal.push(c),
            }
        }
        parts.push(Part::Text(literal));
        parts.retain(|part| *part != Part::Text(String::new()));
        Ok(Template {
            source: text.to_owned(),
            parts,
        })
    }

    /// The text with every variable replaced by its value.
    pub fn render(&self, vars: &Vars) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(var) => out.push_str(var.value(vars)),
            }
        }
        out
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The names of the variables a template may use.
    pub fn variables() -> &'static [&'static str] {
        &NAMES
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The variable opened by the `{` that starts `text`.
fn variable(text: &str) -> Result<Var, TemplateError> {
    let inner = &text[1..];
    let Some(end) = inner
        .find(['{', '}'])
        .filter(|at| inner[*at..].starts_with('}'))
    else {
        return Err(TemplateError::Unclosed(excerpt(text)));
    };
    let name = &inner[..end];
    let unknown = || TemplateError::Unknown(name.to_owned());
    Var::from_name(&words::fold(name.trim())).ok_or_else(unknown)
}

/// The start of `text`, short enough to quote in an error.
fn excerpt(text: &str) -> String {
    const SHOWN: usize = 20;
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= SHOWN {
        return line.to_owned();
    }
    let head: String = line.chars().take(SHOWN).collect();
    format!("{head}…")
}

impl Var {
    /// The variable written `{name}` (accents and case already folded).
    fn from_name(name: &str) -> Option<Var> {
        let var = match name {
            "nome" => Var::Nome,
            "numero" => Var::Numero,
            "cliente" => Var::Cliente,
            "data" => Var::Data,
            "hora" => Var::Hora,
            "horario" => Var::Horario,
            "args" => Var::Args,
            "prefixo" => Var::Prefixo,
            _ => return None,
        };
        Some(var)
    }

    /// The variable's value in `vars`.
    fn value(self, vars: &Vars) -> &str {
        match self {
            Var::Nome if vars.nome.trim().is_empty() => DEFAULT_NAME,
            Var::Nome => &vars.nome,
            Var::Numero => &vars.numero,
            Var::Cliente => &vars.cliente,
            Var::Data => &vars.data,
            Var::Hora => &vars.hora,
            Var::Horario => &vars.horario,
            Var::Args => &vars.args,
            Var::Prefixo => &vars.prefixo,
        }
    }
}

impl Vars {
    /// Fills `data` (`dd/mm/aaaa`) and `hora` (`HH:MM`) from a zoned time.
    pub fn set_time(&mut self, at: &jiff::Zoned) {
        self.data = at.strftime("%d/%m/%Y").to_string();
        self.hora = at.strftime("%H:%M").to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            nome: "Ana".into(),
            numero: "5511988887777".into(),
            cliente: "loja-da-ana".into(),
            data: "05/12/2026".into(),
            hora: "09:30".into(),
            horario: "seg-sex 08:00-18:00".into(),
            args: "2 pizzas".into(),
            prefixo: "!".into(),
        }
    }

    fn render(text: &str, vars: &Vars) -> String {
        Template::parse(text).unwrap().render(vars)
    }

    #[test]
    fn every_variable_renders() {
        let text = "{nome} {numero} {cliente} {data} {hora}|{horario}|{args}|{prefixo}";
        let expected = "Ana 5511988887777 loja-da-ana 05/12/2026 09:30|\
                        seg-sex 08:00-18:00|2 pizzas|!";
        assert_eq!(render(text, &vars()), expected);
    }

    #[test]
    fn name_falls_back_to_cliente() {
        assert_eq!(render("Olá, {nome}!", &Vars::default()), "Olá, cliente!");
        let blank = Vars {
            nome: "  ".into(),
            ..Vars::default()
        };
        assert_eq!(render("{nome}", &blank), "cliente");
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(render("{{nome}} é {nome} }}{{", &vars()), "{nome} é Ana }{");
        assert_eq!(render("{{{nome}}}", &vars()), "{Ana}");
    }

    #[test]
    fn variable_names_ignore_case_accents_and_spaces() {
        assert_eq!(
            render("{Nome} às {HORÁRIO}", &vars()),
            "Ana às seg-sex 08:00-18:00"
        );
        assert_eq!(render("{ número }", &vars()), "5511988887777");
    }

    #[test]
    fn source_keeps_the_text_as_written() {
        let template = Template::parse("Oi {nome}\n").unwrap();
        assert_eq!(template.source(), "Oi {nome}\n");
        assert_eq!(template.to_string(), "Oi {nome}\n");
        assert_eq!(Template::variables().len(), 8);
    }

    #[test]
    fn set_time_formats_date_and_hour() {
        let at: jiff::Zoned = "2026-03-07T08:05:09-03:00[America/Sao_Paulo]"
            .parse()
            .unwrap();
        let mut vars = Vars::default();
        vars.set_time(&at);
        assert_eq!(
            (vars.data.as_str(), vars.hora.as_str()),
            ("07/03/2026", "08:05")
        );
    }

    #[test]
    fn errors_explain_what_to_write() {
        let err = |text: &str| Template::parse(text).unwrap_err().to_string();
        assert_eq!(
            err("Olá {fulano}"),
            "variável desconhecida {fulano}; use {nome}, {numero}, {cliente}, {data}, \
             {hora}, {horario}, {args} ou {prefixo} (para chaves no texto, escreva \
             {{ e }})"
        );
        assert_eq!(
            err("Olá {nome"),
            "\"{\" sem \"}\" em \"{nome\"; feche a variável, ex.: {nome}, ou \
             escreva {{ para uma chave no texto"
        );
        assert_eq!(
            err("a {no{me}"),
            "\"{\" sem \"}\" em \"{no{me}\"; feche a variável, ex.: {nome}, ou \
             escreva {{ para uma chave no texto"
        );
        assert_eq!(
            err("Olá nome}"),
            "\"}\" sem \"{\" antes; escreva }} para uma chave no texto"
        );
        assert_eq!(
            err(" \n "),
            "texto vazio; escreva a resposta, ex.: \"Olá {nome}!\""
        );
        assert_eq!(
            Template::parse("{}"),
            Err(TemplateError::Unknown(String::new()))
        );
    }
}
