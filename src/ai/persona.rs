//! Personas: how the AI talks for a tenant.
//!
//! Each file of `commands/personas/*.toml` declares one named persona (format in
//! `docs/commands.md`); they are read in file-name order into [`Personas`], with errors
//! that name the file, the line and the key in pt-BR. A tenant stores its choice under
//! the setting [`SETTING`]: nothing (the default persona), a persona's name, or a free
//! text that describes one ([`PersonaChoice`]). [`system_prompt`] turns the chosen
//! persona into the system message of every request.

mod choice;
mod file;

use std::path::{Path, PathBuf};

use tracing::warn;

use crate::client::words;

pub use choice::{PersonaChoice, TEXT_CHARS};

/// The tenant-settings key that stores the persona choice.
pub const SETTING: &str = "persona";

/// The name of the default persona, built in or declared by a file.
const DEFAULT_NAME: &str = "padrao";

/// The name given to a persona made of a free text.
const TEXT_NAME: &str = "texto";

/// The built-in default persona's description.
const DEFAULT_DESCRIPTION: &str = "Assistente cordial e objetivo";

/// The built-in default persona's instructions.
const DEFAULT_SYSTEM: &str = "Você é o assistente virtual de uma empresa e atende os \
clientes dela pelo WhatsApp. Seja cordial, claro e objetivo. Responda só o que souber: \
quando não tiver certeza, diga isso com franqueza e ofereça o contato de uma pessoa da \
equipe. Nunca invente preços, prazos, endereços ou condições.";

/// The last paragraph of every system prompt.
const SHORT_ANSWERS: &str = "Respostas curtas, em texto simples, próprias para o WhatsApp.";

/// How the AI talks: instructions, temperature, language, topics to avoid, signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    /// The persona's name (`vendedora`), or `texto` for a free text.
    pub name: String,
    /// One line shown in lists (`Vendedora simpática`).
    pub description: String,
    /// The instructions: the first paragraph of the system prompt.
    pub system: String,
    /// Sampling temperature, 0.0 to 2.0; `None` leaves the endpoint's default.
    pub temperature: Option<f32>,
    /// The language to answer in (`português do Brasil`).
    pub language: Option<String>,
    /// Topics not to talk about.
    pub forbidden: Vec<String>,
    /// Appended to every AI answer after a blank line.
    pub signature: Option<String>,
}

/// The personas of `commands/personas/*.toml`, in file-name order.
#[derive(Debug, Clone, Default)]
pub struct Personas {
    list: Vec<Persona>,
    /// The file of each persona, in the same order as `list`.
    files: Vec<PathBuf>,
}

/// Why a persona file or a persona choice is refused; its `Display` is the pt-BR text
/// for the operator.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// The folder exists but cannot be listed.
    #[error("não consegui ler a pasta de personas {}: {source}", .dir.display())]
    Folder {
        /// The folder.
        dir: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file cannot be read.
    #[error("não consegui ler {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file is not valid TOML, or a key is unknown or of the wrong type.
    #[error("{file}, linha {line}: {key}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// The key, like `temperature`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A value is well-formed TOML but not allowed.
    #[error("{file}, linha {line}: {key}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line of the value.
        line: usize,
        /// The key, like `system`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A required key is absent.
    #[error("{file}: {key}: obrigatória e ausente; ex.: {example}")]
    Missing {
        /// The file.
        file: String,
        /// The key.
        key: &'static str,
        /// A line that would do.
        example: &'static str,
    },
    /// Nothing was typed after the command.
    #[error(
        "diga qual persona usar: o nome de uma ({available}), padrao, ou um texto com a \
         descrição"
    )]
    Empty {
        /// The names that can be chosen, comma-separated.
        available: String,
    },
    /// One word that names no persona.
    #[error(
        "persona \"{name}\" não existe; {}disponíveis: {available} \
         (ou escreva um texto com a descrição)",
        choice::hint_text(.hint.as_deref())
    )]
    Unknown {
        /// The word as typed.
        name: String,
        /// The names that can be chosen, comma-separated.
        available: String,
        /// The name nearest to the word, if one is close.
        hint: Option<String>,
    },
    /// A free text too short to describe a persona.
    #[error(
        "texto curto demais para uma persona; escreva ao menos {} palavras e {} letras, \
         ex.: Você é a Ana, vendedora simpática e direta",
        choice::TEXT_MIN_WORDS,
        choice::TEXT_MIN_CHARS
    )]
    TooShort,
    /// A free text over [`TEXT_CHARS`].
    #[error("texto longo demais ({chars} caracteres); use até {limit}")]
    TooLong {
        /// Its length in characters.
        chars: usize,
        /// The most allowed.
        limit: usize,
    },
}

impl Personas {
    /// Reads every `*.toml` file in `dir` (`<commands>/personas`), in file-name order; a
    /// missing folder means no personas.
    pub fn load(dir: &Path) -> Result<Personas, PersonaError> {
        let mut personas = Personas::empty();
        for path in toml_files(dir)? {
            let read = std::fs::read_to_string(&path);
            let text = read.map_err(|source| PersonaError::Read {
                path: path.clone(),
                source,
            })?;
            let persona = file::parse(&path.display().to_string(), &text, &personas)?;
            personas.list.push(persona);
            personas.files.push(path);
        }
        Ok(personas)
    }

    /// No personas: only the built-in default.
    pub fn empty() -> Personas {
        Personas::default()
    }

    /// The persona called `name`, ignoring case, accents and surrounding spaces.
    pub fn get(&self, name: &str) -> Option<&Persona> {
        self.index(name).map(|i| &self.list[i])
    }

    /// Every declared persona, in file-name order.
    pub fn list(&self) -> &[Persona] {
        &self.list
    }

    /// The persona named `padrao` if a file declares one, else the built-in one.
    pub fn default_persona(&self) -> Persona {
        self.get(DEFAULT_NAME).cloned().unwrap_or_else(builtin)
    }

    /// The persona to use for the value stored under [`SETTING`]: none → the default;
    /// one word → the persona of that name (the default, with a warning, if it is gone);
    /// a text with spaces → a persona made of that text.
    pub fn resolve(&self, stored: Option<&str>) -> Persona {
        let Some(value) = stored.map(str::trim).filter(|v| !v.is_empty()) else {
            return self.default_persona();
        };
        if value.contains(char::is_whitespace) {
            return from_text(value);
        }
        if let Some(persona) = self.get(value) {
            return persona.clone();
        }
        if !choice::means_default(value) {
            warn!(
                persona = value,
                "stored persona no longer exists; using the default"
            );
        }
        self.default_persona()
    }

    /// The position of the persona called `name`, compared [`words::fold`]ed.
    fn index(&self, name: &str) -> Option<usize> {
        let wanted = words::fold(name.trim());
        self.list
            .iter()
            .position(|p| words::fold(&p.name) == wanted)
    }

    /// The file that declared the persona called `name`, if one did.
    fn file_of(&self, name: &str) -> Option<&Path> {
        self.index(name).map(|i| self.files[i].as_path())
    }

    /// The names that can be chosen: `padrao` first unless a file declares it, then every
    /// persona's name.
    fn available(&self) -> Vec<&str> {
        let names = self.list.iter().map(|p| p.name.as_str());
        match self.get(DEFAULT_NAME) {
            Some(_) => names.collect(),
            None => std::iter::once(DEFAULT_NAME).chain(names).collect(),
        }
    }
}

impl Persona {
    /// How the operator sees it: `vendedora (Vendedora simpática)`, or
    /// `texto livre: “Você é…”` for a free text.
    pub fn describe(&self) -> String {
        if self.name == TEXT_NAME {
            return choice::describe_text(&self.system);
        }
        format!("{} ({})", self.name, self.description)
    }
}

/// The system message for `persona` answering for `business` (the tenant id).
///
/// Paragraphs joined by a blank line (`"\n\n"`), in this order:
///
/// 1. the persona's `system`;
/// 2. `Você responde pelo WhatsApp de {business}.`;
/// 3. with a `language`: `Responda sempre em {language}.`;
/// 4. with `forbidden` topics: `Não fale sobre: a, b. Se perguntarem, diga com educação
///    que não pode ajudar com esse assunto.`;
/// 5. `Respostas curtas, em texto simples, próprias para o WhatsApp.`
pub fn system_prompt(persona: &Persona, business: &str) -> String {
    let mut paragraphs = vec![
        persona.system.clone(),
        format!("Você responde pelo WhatsApp de {business}."),
    ];
    if let Some(language) = &persona.language {
        paragraphs.push(format!("Responda sempre em {language}."));
    }
    if !persona.forbidden.is_empty() {
        paragraphs.push(format!(
            "Não fale sobre: {}. Se perguntarem, diga com educação que não pode ajudar \
             com esse assunto.",
            persona.forbidden.join(", ")
        ));
    }
    paragraphs.push(SHORT_ANSWERS.to_owned());
    paragraphs.join("\n\n")
}

/// The default persona when no file declares `padrao`.
fn builtin() -> Persona {
    Persona {
        name: DEFAULT_NAME.to_owned(),
        description: DEFAULT_DESCRIPTION.to_owned(),
        system: DEFAULT_SYSTEM.to_owned(),
        temperature: None,
        language: None,
        forbidden: Vec::new(),
        signature: None,
    }
}

/// A persona made of a free text: the text is its whole instructions.
fn from_text(text: &str) -> Persona {
    Persona {
        name: TEXT_NAME.to_owned(),
        description: "texto livre".to_owned(),
        system: text.to_owned(),
        temperature: None,
        language: None,
        forbidden: Vec::new(),
        signature: None,
    }
}

/// The `*.toml` files of `dir`, sorted by name; none when `dir` does not exist.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, PersonaError> {
    let folder = |source| PersonaError::Folder {
        dir: dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        read => read.map_err(folder)?,
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(folder)?.path();
        if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

#[cfg(test)]
mod tests;
