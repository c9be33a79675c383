//! The client commands declared in `commands/*.toml` (format in `docs/commands.md`).
//!
//! Two stages, as for `admin.toml`: each file is read into the `raw` structs (serde,
//! unknown keys refused), then checked into [`CommandSpec`]s. Every file in the folder is
//! read, in file-name order, into one [`Catalog`]: names and aliases are unique across
//! files, and at most one file has a `[greeting]` or an `[away]`. Errors name the file,
//! the command and the key, in pt-BR, because the operator reads them.

mod raw;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::template::Template;
use super::words;
use crate::ai::persona::{PersonaError, Personas};

/// The most memory one compiled pattern may take, so a careless regex cannot hog it.
const PATTERN_SIZE_LIMIT: usize = 1 << 18;

/// The longest alias, in characters.
const MAX_ALIAS: usize = 32;

/// What a command without `help` is told.
const NO_HELP: &str = "obrigatória; descreva o comando em uma frase, \
                       ex.: help = \"Mostra o menu\"";

/// What a command without an action is told.
const NO_ACTION: &str =
    "falta a ação; use reply = \"texto\", plugin = \"ajuda\" ou ai = \"instrução\"";

/// What a command with more than one action is told.
const TWO_ACTIONS: &str = "use só uma ação: reply, plugin ou ai";

/// What an empty `ai` prompt is told.
const NO_PROMPT: &str = "instrução vazia; ex.: ai = \"Resuma a conversa até aqui\"";

/// The example shown for a bad keyword.
const KEYWORD: &str = "ex.: keywords = [\"cardápio\"]";

/// The example shown for a bad pattern.
const PATTERN: &str = "ex.: patterns = ['(?i)\\bquanto custa\\b']";

/// Every declared command, with the greeting and away texts.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    commands: Vec<CommandSpec>,
    /// Each name and alias, [`words::fold`]ed, with its command's index in `commands`.
    words: HashMap<String, usize>,
    greeting: Option<Special>,
    away: Option<Special>,
    /// The personas of the `personas` subfolder.
    personas: Personas,
}

/// A `[greeting]` or `[away]` text and the file that declared it.
#[derive(Debug, Clone)]
struct Special {
    reply: Template,
    file: PathBuf,
}

/// One declared command.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The command word, normalized (`menu`).
    pub name: String,
    /// Other words for the same command, normalized (`cardápio`).
    pub aliases: Vec<String>,
    /// The arguments part of the usage line (`<pedido>`), or empty.
    pub usage: String,
    /// One sentence for `!ajuda`.
    pub help: String,
    /// What the command does.
    pub action: Action,
    /// Words or phrases that run the command when a message contains them, folded.
    pub keywords: Vec<String>,
    /// Regular expressions that run the command when a message matches one.
    pub patterns: Vec<Regex>,
    /// Denied to every contact unless allowed per contact.
    pub restricted: bool,
    /// The file that declared it.
    pub file: PathBuf,
}

/// What a command does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Answers this text.
    Reply(Template),
    /// Runs a built-in plugin.
    Plugin(Plugin),
    /// Asks the AI with this prompt (a template, like a reply).
    Ai(Template),
}

/// The built-in plugins a command may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plugin {
    /// `ajuda`: the list of commands, made from their declarations.
    Ajuda,
    /// `atendente`: hands the conversation to a person.
    Atendente,
    /// `horario`: the business hours and whether it is open now.
    Horario,
    /// `transcrever`: the text of the voice note the command quotes.
    Transcrever,
}

/// Why the command files cannot be used; its `Display` is the pt-BR answer for the
/// operator.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The folder cannot be listed.
    #[error(
        "não encontrei a pasta de comandos {}: {source}; crie-a com os arquivos .toml \
         dos comandos (o repositório traz commands/padrao.toml)",
        .dir.display()
    )]
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
        /// The table and key, like `[[command]] nº 2: aliases`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A value is well-formed TOML but not allowed.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The table and key, like `[[command]] nº 2 (menu): reply`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A file of the `personas` subfolder is wrong; it names the file, line and key.
    #[error(transparent)]
    Persona(#[from] PersonaError),
}

impl Catalog {
    /// Reads every `*.toml` file in `dir`, in file-name order, and the personas of
    /// `dir/personas` (none without that folder).
    pub fn load(dir: &Path) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::empty();
        for path in toml_files(dir)? {
            let read = std::fs::read_to_string(&path);
            let text = read.map_err(|source| CatalogError::Read {
                path: path.clone(),
                source,
            })?;
            let file = raw::parse(&path.display().to_string(), &text)?;
            catalog.add_file(&path, file)?;
        }
        catalog.personas = Personas::load(&dir.join("personas"))?;
        Ok(catalog)
    }

    /// A catalog without commands, greeting, away text or personas.
    pub fn empty() -> Catalog {
        Catalog::default()
    }

    /// The command called `word` by name or alias, ignoring case and accents.
    pub fn command(&self, word: &str) -> Option<&CommandSpec> {
        let index = self.words.get(&words::fold(word))?;
        self.commands.get(*index)
    }

    /// Every command, in the order of the files and of each file.
    pub fn commands(&self) -> &[CommandSpec] {
        &self.commands
    }

    /// The first command, in file order, that `text` triggers: one of its keywords is
    /// in the text as whole words (case and accents ignored), or one of its patterns
    /// matches the text (in NFC, invisible marks removed).
    pub fn triggered(&self, text: &str) -> Option<&CommandSpec> {
        let folded = words::fold(text);
        let message_words = split_words(&folded);
        let clean = words::clean(text);
        self.commands.iter().find(|command| {
            let keyword = |k: &String| contains_phrase(&message_words, k);
            command.keywords.iter().any(keyword)
                || command.patterns.iter().any(|p| p.is_match(&clean))
        })
    }

    /// The text for a contact's first message, if a file declares one.
    pub fn greeting(&self) -> Option<&Template> {
        self.greeting.as_ref().map(|special| &special.reply)
    }

    /// The text for messages outside business hours, if a file declares one.
    pub fn away(&self) -> Option<&Template> {
        self.away.as_ref().map(|special| &special.reply)
    }

    /// The personas declared in `personas/*.toml`.
    pub fn personas(&self) -> &Personas {
        &self.personas
    }

    /// The name or alias nearest to a mistyped `word`, if one is close enough.
    pub fn suggest(&self, word: &str) -> Option<&str> {
        let all = self.commands.iter().flat_map(CommandSpec::words);
        words::closest(word, all)
    }

    /// Checks one parsed file and adds what it declares.
    fn add_file(&mut self, path: &Path, file: raw::File) -> Result<(), CatalogError> {
        let shown = path.display().to_string();
        for (i, raw) in file.command.into_iter().enumerate() {
            let spot = Spot {
                file: &shown,
                number: i + 1,
                name: None,
            };
            let command = spot.spec(raw, path)?;
            let name = command.name.clone();
            self.add_command(&spot.named(&name), command)?;
        }

        if let Some(raw) = file.greeting {
            self.greeting = Some(special(self.greeting.as_ref(), "greeting", path, raw)?);
        }
        if let Some(raw) = file.away {
            self.away = Some(special(self.away.as_ref(), "away", path, raw)?);
        }
        Ok(())
    }

    /// Adds a checked command, refusing a name or alias another command already has.
    fn add_command(&mut self, at: &Spot, spec: CommandSpec) -> Result<(), CatalogError> {
        let index = self.commands.len();
        for (i, word) in spec.words().enumerate() {
            let taken = *self.words.entry(words::fold(word)).or_insert(index);
            if taken != index {
                let other = &self.commands[taken];
                let message = format!(
                    "\"{word}\" já é nome ou apelido do comando \"{}\" em {}; \
                     use outro",
                    other.name,
                    other.file.display()
                );
                return at.fail(if i == 0 { "name" } else { "aliases" }, message);
            }
        }
        self.commands.push(spec);
        Ok(())
    }
}

impl CommandSpec {
    /// The name, then the aliases.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// The `*.toml` files of `dir`, sorted by name.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    let folder = |source| CatalogError::Folder {
        dir: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(folder)? {
        let path = entry.map_err(folder)?.path();
        if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// A checked `[greeting]` or `[away]` (`table`), refused if `earlier` exists.
fn special(
    earlier: Option<&Special>,
    table: &str,
    path: &Path,
    raw: raw::Special,
) -> Result<Special, CatalogError> {
    let invalid = |key: String, message: String| CatalogError::Invalid {
        file: path.display().to_string(),
        key,
        message,
    };
    if let Some(earlier) = earlier {
        let message = format!("já existe em {}; deixe só uma", earlier.file.display());
        return Err(invalid(format!("[{table}]"), message));
    }

    let key = raw::join(&format!("[{table}]"), "reply");
    let reply = Template::parse(&raw.reply).map_err(|err| invalid(key, err.to_string()))?;
    Ok(Special {
        reply,
        file: path.to_owned(),
    })
}

/// The words of a folded text: its runs of letters and digits.
fn split_words(folded: &str) -> Vec<&str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect()
}

/// Whether the words of `phrase` (space-separated) appear in a row in `words`.
fn contains_phrase(words: &[&str], phrase: &str) -> bool {
    let wanted: Vec<&str> = phrase.split(' ').collect();
    words.windows(wanted.len()).any(|window| window == wanted)
}

/// Each of `items` checked, or the first error.
fn each<T>(
    items: &[String],
    check: impl Fn(&str) -> Result<T, CatalogError>,
) -> Result<Vec<T>, CatalogError> {
    items.iter().map(|item| check(item)).collect()
}

/// Where a command is declared, for errors: `file: [[command]] nº 2 (menu): key`.
struct Spot<'a> {
    file: &'a str,
    number: usize,
    name: Option<&'a str>,
}

impl<'a> Spot<'a> {
    /// The same place, now that the command's name is known.
    fn named(&self, name: &'a str) -> Spot<'a> {
        Spot {
            name: Some(name),
            ..*self
        }
    }

    /// The command as `[[command]] nº 2 (menu)`.
    fn label(&self) -> String {
        match self.name {
            Some(name) => format!("[[command]] nº {} ({name})", self.number),
            None => format!("[[command]] nº {}", self.number),
        }
    }

    /// An error on `key` of this command (the whole command when `key` is empty).
    fn fail<T>(&self, key: &str, message: impl Into<String>) -> Result<T, CatalogError> {
        let key = match key {
            "" => self.label(),
            _ => format!("{}: {key}", self.label()),
        };
        Err(CatalogError::Invalid {
            file: self.file.to_owned(),
            key,
            message: message.into(),
        })
    }

    /// Checks a whole `[[command]]` declared in `file`.
    fn spec(&self, raw: raw::Command, file: &Path) -> Result<CommandSpec, CatalogError> {
        let name = self.name(raw.name.as_deref())?;
        let spot = self.named(&name);
        let aliases = each(&raw.aliases, |alias| spot.alias(alias))?;
        let help = spot.help(raw.help.as_deref())?;
        let action = spot.action(&raw)?;
        let keywords = each(&raw.keywords, |keyword| spot.keyword(keyword))?;
        let patterns = each(&raw.patterns, |pattern| spot.pattern(pattern))?;
        Ok(CommandSpec {
            usage: raw.usage.trim().to_owned(),
            restricted: raw.restricted,
            file: file.to_owned(),
            name,
            aliases,
            help,
            action,
            keywords,
            patterns,
        })
    }

    /// The command word, normalized and checked.
    fn name(&self, raw: Option<&str>) -> Result<String, CatalogError> {
        let Some(raw) = raw else {
            return self.fail("name", "obrigatória e ausente; ex.: name = \"menu\"");
        };
        let name = words::normalize(raw.trim());
        if !words::is_command_name(&name) {
            let message = format!(
                "nome inválido \"{raw}\"; use até 32 letras minúsculas sem acento, \
                 números, '-' ou '_', começando por letra ou número, \
                 ex.: name = \"menu\""
            );
            return self.fail("name", message);
        }
        Ok(name)
    }

    /// One alias, normalized and checked: a word, accents allowed.
    fn alias(&self, raw: &str) -> Result<String, CatalogError> {
        let alias = words::normalize(raw.trim());
        let mut chars = alias.chars();
        let first_ok = chars.next().is_some_and(char::is_alphanumeric);
        let rest_ok = chars.all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !first_ok || !rest_ok || alias.chars().count() > MAX_ALIAS {
            let message = format!(
                "apelido inválido \"{raw}\"; use uma palavra de até 32 letras, \
                 números, '-' ou '_', ex.: aliases = [\"cardapio\"]"
            );
            return self.fail("aliases", message);
        }
        Ok(alias)
    }

    /// The help sentence, trimmed; required.
    fn help(&self, raw: Option<&str>) -> Result<String, CatalogError> {
        match raw.map(str::trim) {
            Some(help) if !help.is_empty() => Ok(help.to_owned()),
            _ => self.fail("help", NO_HELP),
        }
    }

    /// The one action among `reply`, `plugin` and `ai`.
    fn action(&self, raw: &raw::Command) -> Result<Action, CatalogError> {
        let keys = [
            ("reply", &raw.reply),
            ("plugin", &raw.plugin),
            ("ai", &raw.ai),
        ];
        let given: Vec<&str> = keys
            .iter()
            .filter_map(|(key, value)| value.as_ref().map(|_| *key))
            .collect();
        if given.len() != 1 {
            let message = match given.len() {
                0 => NO_ACTION.to_owned(),
                _ => format!("{TWO_ACTIONS} (há {})", given.join(" e ")),
            };
            return self.fail("", message);
        }

        match (&raw.reply, &raw.plugin, &raw.ai) {
            (Some(reply), _, _) => self.reply(reply),
            (_, Some(plugin), _) => self.plugin(plugin).map(Action::Plugin),
            (_, _, prompt) => self.ai(prompt.as_deref().unwrap_or_default()),
        }
    }

    /// A reply template.
    fn reply(&self, raw: &str) -> Result<Action, CatalogError> {
        match Template::parse(raw) {
            Ok(template) => Ok(Action::Reply(template)),
            Err(err) => self.fail("reply", err.to_string()),
        }
    }

    /// A built-in plugin by name, ignoring case and accents.
    fn plugin(&self, raw: &str) -> Result<Plugin, CatalogError> {
        if let Some(plugin) = Plugin::from_name(&words::fold(raw.trim())) {
            return Ok(plugin);
        }
        let known = Plugin::ALL.map(Plugin::name).join(", ");
        let message = format!("plugin desconhecido \"{raw}\"; use um destes: {known}");
        self.fail("plugin", message)
    }

    /// An AI prompt, trimmed; not empty.
    fn ai(&self, raw: &str) -> Result<Action, CatalogError> {
        let prompt = raw.trim();
        if prompt.is_empty() {
            return self.fail("ai", NO_PROMPT);
        }
        match Template::parse(prompt) {
            Ok(template) => Ok(Action::Ai(template)),
            Err(err) => self.fail("ai", err.to_string()),
        }
    }

    /// A keyword folded, its words separated by single spaces.
    fn keyword(&self, raw: &str) -> Result<String, CatalogError> {
        let folded = words::fold(raw);
        let keyword = split_words(&folded).join(" ");
        if keyword.is_empty() {
            let message = format!("sem letras nem números: \"{raw}\"; {KEYWORD}");
            return self.fail("keywords", message);
        }
        Ok(keyword)
    }

    /// A size-limited regular expression that does not match every message.
    fn pattern(&self, raw: &str) -> Result<Regex, CatalogError> {
        let built = regex::RegexBuilder::new(raw)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_SIZE_LIMIT)
            .build();
        let problem = match built {
            Ok(regex) if !regex.is_match("") => return Ok(regex),
            Ok(_) => "casa até com uma mensagem vazia, ou seja, com todas".to_owned(),
            Err(regex::Error::CompiledTooBig(_)) => "é grande demais".to_owned(),
            Err(regex::Error::Syntax(detail)) => {
                let last = detail.lines().last().unwrap_or_default();
                format!("não se lê ({})", last.trim_start_matches("error: "))
            }
            Err(other) => other.to_string(),
        };
        self.fail(
            "patterns",
            format!("expressão regular '{raw}' {problem}; {PATTERN}"),
        )
    }
}

impl Plugin {
    /// Every plugin, in the order they are listed to users.
    pub const ALL: [Plugin; 4] = [
        Plugin::Ajuda,
        Plugin::Atendente,
        Plugin::Horario,
        Plugin::Transcrever,
    ];

    /// The plugin's name as written in command files.
    pub fn name(self) -> &'static str {
        match self {
            Plugin::Ajuda => "ajuda",
            Plugin::Atendente => "atendente",
            Plugin::Horario => "horario",
            Plugin::Transcrever => "transcrever",
        }
    }

    /// The plugin called `name` (already folded), if there is one.
    fn from_name(name: &str) -> Option<Plugin> {
        Plugin::ALL.into_iter().find(|plugin| plugin.name() == name)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// A file with one valid command.
    const MENU: &str = "[[command]]\nname = 'menu'\nhelp = 'Menu'\nreply = 'Oi {nome}'\n";

    /// One `[[command]]` with `fields`.
    fn cmd(fields: &str) -> String {
        format!("[[command]]\n{fields}\n")
    }

    /// Loads a folder holding `files` (name, text); errors show the folder as `{dir}`.
    fn load(files: &[(&str, &str)]) -> Result<Catalog, String> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let shown = dir.path().display().to_string();
        Catalog::load(dir.path()).map_err(|err| err.to_string().replace(&shown, "{dir}"))
    }

    fn catalog(text: &str) -> Catalog {
        load(&[("a.toml", text)]).unwrap()
    }

    /// The error for one file `a.toml`, without the `{dir}/a.toml` prefix.
    fn error(text: &str) -> String {
        let err = load(&[("a.toml", text)]).unwrap_err();
        err.strip_prefix("{dir}/a.toml").unwrap_or(&err).to_owned()
    }

    fn shipped() -> Catalog {
        Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("commands")).unwrap()
    }

    fn names(catalog: &Catalog) -> Vec<&str> {
        catalog.commands().iter().map(|c| c.name.as_str()).collect()
    }

    fn plugin_of(catalog: &Catalog, word: &str) -> Option<Plugin> {
        match catalog.command(word)?.action {
            Action::Plugin(plugin) => Some(plugin),
            _ => None,
        }
    }

    #[test]
    fn the_shipped_defaults_load() {
        let catalog = shipped();
        assert_eq!(
            names(&catalog),
            [
                "menu",
                "ajuda",
                "horario",
                "atendente",
                "transcrever",
                "resumo"
            ]
        );
        let Action::Ai(resumo) = &catalog.command("summary").unwrap().action else {
            panic!("resumo should ask the AI");
        };
        assert!(resumo.source().contains("conversa"));
        let Action::Reply(menu) = &catalog.command("cardápio").unwrap().action else {
            panic!("menu should reply");
        };
        assert!(menu.source().contains("{nome}"));
        assert_eq!(plugin_of(&catalog, "ajuda"), Some(Plugin::Ajuda));
        assert_eq!(plugin_of(&catalog, "horário"), Some(Plugin::Horario));
        assert_eq!(plugin_of(&catalog, "HUMANO"), Some(Plugin::Atendente));
        assert!(catalog.greeting().is_some());
        assert!(catalog.away().unwrap().source().contains("{horario}"));
        let spec = catalog.command("menu").unwrap();
        assert!(spec.file.ends_with("commands/padrao.toml"));
        assert!(!spec.restricted && spec.usage.is_empty());
        assert_eq!(catalog.triggered("Qual o cardápio?").unwrap().name, "menu");
        assert_eq!(
            catalog.triggered("quero falar com ALGUEM").unwrap().name,
            "atendente"
        );
    }

    #[test]
    fn a_missing_folder_is_named_and_an_empty_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nada");
        let err = Catalog::load(&missing).unwrap_err().to_string();
        let start = format!("não encontrei a pasta de comandos {}: ", missing.display());
        assert!(err.starts_with(&start), "{err}");
        assert!(
            err.ends_with("(o repositório traz commands/padrao.toml)"),
            "{err}"
        );
        let empty = Catalog::load(dir.path()).unwrap();
        assert!(empty.commands().is_empty() && empty.greeting().is_none());
        assert!(Catalog::empty().command("menu").is_none());
    }

    #[test]
    fn files_load_in_name_order_and_other_files_are_ignored() {
        let pix = cmd("name = 'pix'\nhelp = 'Chave'\nreply = '123'");
        let files = [("b.toml", MENU), ("a.toml", &pix), ("c.txt", "x")];
        let catalog = load(&files).unwrap();
        assert_eq!(names(&catalog), ["pix", "menu"]);
    }

    #[test]
    fn fields_are_normalized() {
        let catalog = catalog(&cmd(
            "name = ' MENU '\naliases = ['Cardápio', 'CARDAPIO']\n\
             usage = ' <dia> '\nhelp = ' O menu '\nai = ' Resuma '\n\
             keywords = ['Menu  do DIA!']\nrestricted = true",
        ));
        let menu = &catalog.commands()[0];
        assert_eq!(menu.name, "menu");
        assert_eq!(menu.aliases, ["cardápio", "cardapio"]);
        assert_eq!(
            (menu.usage.as_str(), menu.help.as_str()),
            ("<dia>", "O menu")
        );
        assert!(matches!(&menu.action, Action::Ai(prompt) if prompt.source() == "Resuma"));
        assert_eq!(menu.keywords, ["menu do dia"]);
        assert!(menu.restricted);
        assert_eq!(
            menu.words().collect::<Vec<_>>(),
            ["menu", "cardápio", "cardapio"]
        );
    }

    #[test]
    fn commands_are_found_by_name_or_alias_ignoring_case_and_accents() {
        let text = cmd("name = 'menu'\naliases = ['cardápio']\nhelp = 'h'\nreply = 'r'");
        let catalog = catalog(&text);
        for word in [
            "menu",
            "MENU",
            "cardápio",
            "CARDÁPIO",
            "cardapio",
            "Carda\u{301}pio",
        ] {
            assert_eq!(catalog.command(word).unwrap().name, "menu", "{word}");
        }
        assert!(catalog.command("cardapios").is_none());
    }

    #[test]
    fn keywords_match_whole_words_and_phrases() {
        let catalog = catalog(&cmd("name = 'menu'\nhelp = 'h'\nreply = 'r'\n\
             keywords = ['menu', 'cardápio', 'promoção']"));
        let yes = [
            "qual o MENU?",
            "menu",
            "tem CARDAPIO hoje",
            "o menu-do-dia",
            "Promocao?",
        ];
        for text in yes {
            assert!(catalog.triggered(text).is_some(), "{text}");
        }
        for text in ["menumania", "cardápios", "me nu", "", "promo"] {
            assert!(catalog.triggered(text).is_none(), "{text}");
        }
        let phrase = cmd("name = 'x'\nhelp = 'h'\nai = 'p'\nkeywords = ['menu do  dia']");
        let phrase = self::catalog(&phrase);
        assert!(phrase.triggered("qual o Menu do Dia?").is_some());
        assert!(phrase.triggered("menu de hoje, do dia").is_none());
    }

    #[test]
    fn patterns_match_and_the_first_command_wins() {
        let preco = cmd("name = 'preco'\nhelp = 'h'\nreply = 'r'\n\
             patterns = ['(?i)\\bquanto (custa|é)\\b']");
        let outro = cmd("name = 'outro'\nhelp = 'h'\nreply = 'r'\nkeywords = ['custa']");
        let catalog = catalog(&format!("{preco}{outro}"));
        let name = |text: &str| catalog.triggered(text).map(|c| c.name.clone());
        assert_eq!(name("Oi, QUANTO CUSTA a pizza?").as_deref(), Some("preco"));
        assert_eq!(name("quanto\u{200B} é").as_deref(), Some("preco"));
        assert_eq!(name("custa caro").as_deref(), Some("outro"));
        assert_eq!(name("quantos custam"), None);
    }

    #[test]
    fn suggestions_come_from_names_and_aliases() {
        let catalog = shipped();
        assert_eq!(catalog.suggest("meun"), Some("menu"));
        assert_eq!(catalog.suggest("humanoo"), Some("humano"));
        assert_eq!(catalog.suggest("AJUDAA"), Some("ajuda"));
        assert_eq!(catalog.suggest("xyzxyz"), None);
        assert_eq!(Catalog::empty().suggest("menu"), None);
    }

    #[test]
    fn plugins_by_name() {
        let names: Vec<&str> = Plugin::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(names, ["ajuda", "atendente", "horario", "transcrever"]);
        let catalog = catalog(&cmd("name = 'h'\nhelp = 'h'\nplugin = 'HORÁRIO'"));
        assert_eq!(plugin_of(&catalog, "h"), Some(Plugin::Horario));
    }

    #[test]
    fn syntax_errors_name_the_line_and_key() {
        assert_eq!(
            error(&format!("{MENU}nme = 1\n")),
            ", linha 5: [[command]] nº 1: nme: chave desconhecida; permitidas: name, \
             aliases, usage, help, reply, plugin, ai, keywords, patterns, restricted"
        );
        assert_eq!(
            error(&format!("{MENU}[[comand]]\nname = 'a'\n")),
            ", linha 5: [[comand]]: seção desconhecida; use [[command]], [greeting] \
             ou [away]"
        );
        assert_eq!(
            error(&format!("{MENU}{}", cmd("aliases = 'x'"))),
            ", linha 6: [[command]] nº 2: aliases: tipo errado (string \"x\"); \
             esperado uma lista, ex.: [\"...\"]"
        );
        assert_eq!(
            error("[greeting]\nfoo = 1\n"),
            ", linha 2: [greeting] foo: chave desconhecida; permitidas: reply"
        );
        assert_eq!(
            error("[away]\n"),
            ", linha 1: [away] reply: obrigatória e ausente"
        );
        assert_eq!(
            error("nome = 1\n"),
            ", linha 1: nome: chave fora de seção; use [[command]], [greeting] ou [away]"
        );
        assert_eq!(
            error("[greeting]\nreply = 'a'\n[greeting]\nreply = 'b'\n"),
            ", linha 3: [greeting]: seção repetida; [greeting] e [away] vêm uma só \
             vez, e cada comando abre com [[command]]"
        );
    }

    #[test]
    fn missing_name_or_help() {
        assert_eq!(
            error(&format!("{MENU}{}", cmd("help = 'h'\nreply = 'r'"))),
            ": [[command]] nº 2: name: obrigatória e ausente; ex.: name = \"menu\""
        );
        let help = ": [[command]] nº 1 (menu): help: obrigatória; descreva o comando \
                    em uma frase, ex.: help = \"Mostra o menu\"";
        assert_eq!(error(&cmd("name = 'menu'\nreply = 'r'")), help);
        assert_eq!(error(&cmd("name = 'menu'\nhelp = ' '\nreply = 'r'")), help);
    }

    #[test]
    fn exactly_one_action() {
        assert_eq!(
            error(&cmd("name = 'menu'\nhelp = 'h'")),
            ": [[command]] nº 1 (menu): falta a ação; use reply = \"texto\", \
             plugin = \"ajuda\" ou ai = \"instrução\""
        );
        assert_eq!(
            error(&cmd(
                "name = 'menu'\nhelp = 'h'\nreply = 'r'\nai = 'p'\nplugin = 'ajuda'"
            )),
            ": [[command]] nº 1 (menu): use só uma ação: reply, plugin ou ai \
             (há reply e plugin e ai)"
        );
        assert_eq!(
            error(&cmd("name = 'menu'\nhelp = 'h'\nai = '  '")),
            ": [[command]] nº 1 (menu): ai: instrução vazia; \
             ex.: ai = \"Resuma a conversa até aqui\""
        );
    }

    #[test]
    fn bad_names_and_aliases() {
        let name = |name: &str| error(&cmd(&format!("name = '{name}'\nhelp = 'h'")));
        assert_eq!(
            name("me nu"),
            ": [[command]] nº 1: name: nome inválido \"me nu\"; use até 32 letras \
             minúsculas sem acento, números, '-' ou '_', começando por letra ou número, \
             ex.: name = \"menu\""
        );
        for bad in ["cardápio", "-menu", "", &"a".repeat(33)] {
            assert!(name(bad).contains("nome inválido"), "{bad}");
        }
        assert_eq!(
            error(&cmd(
                "name = 'menu'\naliases = ['a b']\nhelp = 'h'\nreply = 'r'"
            )),
            ": [[command]] nº 1 (menu): aliases: apelido inválido \"a b\"; use uma \
             palavra de até 32 letras, números, '-' ou '_', ex.: aliases = [\"cardapio\"]"
        );
    }

    #[test]
    fn unknown_plugin_lists_the_known() {
        assert_eq!(
            error(&cmd("name = 'x'\nhelp = 'h'\nplugin = 'pix'")),
            ": [[command]] nº 1 (x): plugin: plugin desconhecido \"pix\"; use um destes: \
             ajuda, atendente, horario, transcrever"
        );
    }

    #[test]
    fn bad_templates_are_explained() {
        assert_eq!(
            error(&cmd("name = 'menu'\nhelp = 'h'\nreply = 'Oi {fulano}'")),
            ": [[command]] nº 1 (menu): reply: variável desconhecida {fulano}; use \
             {nome}, {numero}, {cliente}, {data}, {hora}, {horario}, {args} ou {prefixo} \
             (para chaves no texto, escreva {{ e }})"
        );
        assert_eq!(
            error("[greeting]\nreply = 'Oi {nome'\n"),
            ": [greeting] reply: \"{\" sem \"}\" em \"{nome\"; feche a variável, \
             ex.: {nome}, ou escreva {{ para uma chave no texto"
        );
        assert!(error("[away]\nreply = ''\n").starts_with(": [away] reply: texto vazio"));
    }

    #[test]
    fn bad_patterns_and_keywords() {
        let with = |more: &str| {
            error(&cmd(&format!(
                "name = 'x'\nhelp = 'h'\nreply = 'r'\n{more}"
            )))
        };
        assert_eq!(
            with("patterns = ['(abc']"),
            ": [[command]] nº 1 (x): patterns: expressão regular '(abc' não se lê \
             (unclosed group); ex.: patterns = ['(?i)\\bquanto custa\\b']"
        );
        assert_eq!(
            with("patterns = ['a*']"),
            ": [[command]] nº 1 (x): patterns: expressão regular 'a*' casa até com uma \
             mensagem vazia, ou seja, com todas; \
             ex.: patterns = ['(?i)\\bquanto custa\\b']"
        );
        assert_eq!(
            with("patterns = ['\\w{1000}']"),
            ": [[command]] nº 1 (x): patterns: expressão regular '\\w{1000}' é grande \
             demais; ex.: patterns = ['(?i)\\bquanto custa\\b']"
        );
        assert_eq!(
            with("keywords = ['?!']"),
            ": [[command]] nº 1 (x): keywords: sem letras nem números: \"?!\"; \
             ex.: keywords = [\"cardápio\"]"
        );
    }

    #[test]
    fn duplicates_across_files_name_both_files() {
        let menu = cmd("name = 'menu'\naliases = ['cardápio']\nhelp = 'h'\nreply = 'r'");
        let other = cmd("name = 'cardapio'\nhelp = 'h'\nreply = 'r'");
        assert_eq!(
            load(&[("a.toml", &menu), ("b.toml", &other)]).unwrap_err(),
            "{dir}/b.toml: [[command]] nº 1 (cardapio): name: \"cardapio\" já é nome ou \
             apelido do comando \"menu\" em {dir}/a.toml; use outro"
        );
        let pix = cmd("name = 'pix'\naliases = ['MENU']\nhelp = 'h'\nreply = 'r'");
        assert_eq!(
            load(&[("a.toml", MENU), ("b.toml", &pix)]).unwrap_err(),
            "{dir}/b.toml: [[command]] nº 1 (pix): aliases: \"menu\" já é nome ou \
             apelido do comando \"menu\" em {dir}/a.toml; use outro"
        );
        let twice = error(&format!("{MENU}{MENU}"));
        assert!(
            twice.starts_with(": [[command]] nº 2 (menu): name:"),
            "{twice}"
        );
    }

    #[test]
    fn a_second_greeting_or_away_is_refused() {
        for table in ["greeting", "away"] {
            let text = format!("[{table}]\nreply = 'Oi'\n");
            let err = load(&[("a.toml", &text), ("b.toml", &text)]).unwrap_err();
            let expected = "{dir}/b.toml: [T]: já existe em {dir}/a.toml; deixe só uma";
            assert_eq!(err, expected.replace('T', table));
        }
    }
}
