//! Per-tenant settings: what `!config <cliente> <chave> <valor>` may change.
//!
//! A setting is stored as text in the tenant's database, under the name of its
//! [`SettingKey`]. [`validate`] checks a value as the operator typed it and returns the
//! normalized text to store; [`TenantSettings::from_map`] reads the stored texts back
//! into typed values, skipping (with a warning) any that no longer validate.

use std::collections::BTreeMap;

use super::hours::{BusinessHours, HoursError};
use super::template::{Template, TemplateError};
use super::words;

/// Every documented key with what it accepts, in pt-BR (shown by `!config`'s help).
pub const KEYS: &[(&str, &str)] = &[
    (
        "grupos",
        "nao | mencao | todos: nos grupos, nunca, só quando mencionado, ou sempre",
    ),
    (
        "horario",
        "dias e horas de atendimento, ex.: seg-sex 08:00-18:00; sáb 09:00-13:00",
    ),
    (
        "ausencia",
        "texto enviado fora do horário (aceita {nome}, {horario}...), ou off",
    ),
    (
        "saudacao",
        "texto enviado no primeiro contato (aceita {nome}...), ou off",
    ),
    (
        "idioma",
        "idioma das mensagens de voz: código de duas letras (pt, en, es...) ou auto",
    ),
    (
        "transcricao.eco",
        "sim | nao: devolver ao contato o texto da mensagem de voz",
    ),
    (
        "ia.tokens_dia",
        "limite diário de tokens da IA: número inteiro positivo, ex.: 50000",
    ),
    (
        "comando.<nome>",
        "on | off | texto que substitui a resposta do comando (aceita {nome}...)",
    ),
];

/// The keys as a list for error messages.
const KEY_LIST: &str = "grupos, horario, ausencia, saudacao, idioma, transcricao.eco, \
                        ia.tokens_dia ou comando.<nome>";

/// A setting's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SettingKey {
    /// `grupos`: whether and when to answer in groups.
    Grupos,
    /// `horario`: business hours.
    Horario,
    /// `ausencia`: the away message, sent outside business hours.
    Ausencia,
    /// `saudacao`: the greeting sent to a new contact.
    Saudacao,
    /// `idioma`: the language of voice notes.
    Idioma,
    /// `transcricao.eco`: whether transcripts are sent back.
    TranscricaoEco,
    /// `ia.tokens_dia`: the AI's daily token budget.
    IaTokensDia,
    /// `comando.<nome>`: a command turned on or off, or its reply replaced.
    Comando(String),
}

/// How a tenant answers in groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupMode {
    /// Never (`nao`).
    Off,
    /// Only when the message mentions the account (`mencao`).
    #[default]
    Mentions,
    /// To every message (`todos`).
    All,
}

/// A text setting that can also be turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextSetting {
    /// Turned off (`off`): nothing is sent.
    Off,
    /// This text is sent.
    Text(Template),
}

/// A tenant's override of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOverride {
    /// The command runs as declared (`on`).
    On,
    /// The command is turned off (`off`).
    Off,
    /// The command answers this text instead of its own action.
    Reply(Template),
}

/// The settings of one tenant; `None` means "not set, use the default".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantSettings {
    /// `grupos`.
    pub groups: GroupMode,
    /// `horario`; `None` means always open.
    pub hours: Option<BusinessHours>,
    /// `ausencia`.
    pub away: Option<TextSetting>,
    /// `saudacao`.
    pub greeting: Option<TextSetting>,
    /// `idioma`: a two-letter code or `auto`.
    pub language: Option<String>,
    /// `transcricao.eco`.
    pub transcript_echo: Option<bool>,
    /// `ia.tokens_dia`.
    pub daily_tokens: Option<u64>,
    /// `comando.<nome>`, by command name.
    pub commands: BTreeMap<String, CommandOverride>,
}

/// Why a setting is refused; its `Display` is the pt-BR answer for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// The key is not one of [`KEYS`].
    #[error("chave desconhecida \"{0}\"; use {KEY_LIST}")]
    UnknownKey(String),
    /// `comando.<nome>` with a name that is not a command word.
    #[error(
        "nome de comando inválido \"{0}\"; use letras sem acento, números, '-' ou '_', \
         até 32, ex.: comando.menu"
    )]
    CommandName(String),
    /// The value is not one the key accepts.
    #[error("{key}: {message}")]
    Invalid {
        /// The key's stored name.
        key: String,
        /// What is wrong and what is allowed, with an example.
        message: String,
    },
    /// The business hours do not parse.
    #[error("horario: {0}")]
    Hours(#[from] HoursError),
    /// A text's template does not parse.
    #[error("{key}: {source}")]
    Template {
        /// The key's stored name.
        key: String,
        /// What is wrong with the text.
        source: TemplateError,
    },
}

/// A value read for its key.
enum Value {
    Groups(GroupMode),
    Hours(BusinessHours),
    Text(TextSetting),
    Language(String),
    Echo(bool),
    Tokens(u64),
    Command(CommandOverride),
}

impl SettingKey {
    /// The key named `key`, compared without case or accents (`Horário` is `horario`).
    pub fn parse(key: &str) -> Result<SettingKey, SettingError> {
        let folded = words::fold(key.trim());
        let fixed = match folded.as_str() {
            "grupos" => SettingKey::Grupos,
            "horario" => SettingKey::Horario,
            "ausencia" => SettingKey::Ausencia,
            "saudacao" => SettingKey::Saudacao,
            "idioma" => SettingKey::Idioma,
            "transcricao.eco" => SettingKey::TranscricaoEco,
            "ia.tokens_dia" => SettingKey::IaTokensDia,
            _ => return command_key(&folded, key),
        };
        Ok(fixed)
    }

    /// The stored name, e.g. `horario` or `comando.menu`.
    pub fn name(&self) -> String {
        let fixed = match self {
            SettingKey::Grupos => "grupos",
            SettingKey::Horario => "horario",
            SettingKey::Ausencia => "ausencia",
            SettingKey::Saudacao => "saudacao",
            SettingKey::Idioma => "idioma",
            SettingKey::TranscricaoEco => "transcricao.eco",
            SettingKey::IaTokensDia => "ia.tokens_dia",
            SettingKey::Comando(name) => return format!("comando.{name}"),
        };
        fixed.to_owned()
    }

    /// What the key accepts, with an example, for a refused value.
    fn allowed(&self) -> &'static str {
        match self {
            SettingKey::Grupos => "use nao, mencao ou todos, ex.: grupos mencao",
            SettingKey::Idioma => "use duas letras, ex.: pt, en, es, ou auto",
            SettingKey::TranscricaoEco => "use sim ou nao, ex.: transcricao.eco nao",
            SettingKey::IaTokensDia => "use um número inteiro acima de zero, ex.: 50000",
            SettingKey::Horario => "use dias e horas, ex.: seg-sex 08:00-18:00",
            SettingKey::Ausencia | SettingKey::Saudacao => "escreva um texto, ou off",
            SettingKey::Comando(_) => "use on, off ou o texto da resposta",
        }
    }
}

/// `comando.<nome>` from a folded key; `typed` is the key as given, for errors.
fn command_key(folded: &str, typed: &str) -> Result<SettingKey, SettingError> {
    let Some(name) = folded.strip_prefix("comando.") else {
        return Err(SettingError::UnknownKey(typed.trim().to_owned()));
    };
    if !words::is_command_name(name) {
        return Err(SettingError::CommandName(name.to_owned()));
    }
    Ok(SettingKey::Comando(name.to_owned()))
}

/// Checks `value` for `key` and returns the normalized text to store.
pub fn validate(key: &SettingKey, value: &str) -> Result<String, SettingError> {
    interpret(key, value).map(|value| stored(&value))
}

/// Reads `value` as what `key` holds.
fn interpret(key: &SettingKey, value: &str) -> Result<Value, SettingError> {
    let value = value.trim();
    let word = words::fold(value);
    let read = match key {
        SettingKey::Horario => return Ok(Value::Hours(BusinessHours::parse(value)?)),
        SettingKey::Ausencia | SettingKey::Saudacao => {
            return text_setting(key, value).map(Value::Text);
        }
        SettingKey::Comando(_) => return command(key, value).map(Value::Command),
        SettingKey::Grupos => group_mode(&word).map(Value::Groups),
        SettingKey::Idioma => language(&word).map(Value::Language),
        SettingKey::TranscricaoEco => yes_no(&word).map(Value::Echo),
        SettingKey::IaTokensDia => tokens(value).map(Value::Tokens),
    };
    read.ok_or_else(|| SettingError::Invalid {
        key: key.name(),
        message: key.allowed().to_owned(),
    })
}

/// The stored text of a value.
fn stored(value: &Value) -> String {
    match value {
        Value::Groups(mode) => mode.as_str().to_owned(),
        Value::Hours(hours) => hours.to_string(),
        Value::Text(TextSetting::Off) => "off".to_owned(),
        Value::Text(TextSetting::Text(text)) => text.source().to_owned(),
        Value::Language(code) => code.clone(),
        Value::Echo(true) => "sim".to_owned(),
        Value::Echo(false) => "nao".to_owned(),
        Value::Tokens(count) => count.to_string(),
        Value::Command(CommandOverride::On) => "on".to_owned(),
        Value::Command(CommandOverride::Off) => "off".to_owned(),
        Value::Command(CommandOverride::Reply(text)) => text.source().to_owned(),
    }
}

/// `nao`, `mencao` or `todos`, folded.
fn group_mode(word: &str) -> Option<GroupMode> {
    match word {
        "nao" => Some(GroupMode::Off),
        "mencao" => Some(GroupMode::Mentions),
        "todos" => Some(GroupMode::All),
        _ => None,
    }
}

/// `off`, or a template.
fn text_setting(key: &SettingKey, value: &str) -> Result<TextSetting, SettingError> {
    if words::fold(value) == "off" {
        return Ok(TextSetting::Off);
    }
    template(key, value).map(TextSetting::Text)
}

/// `on`, `off`, or a replacement reply.
fn command(key: &SettingKey, text: &str) -> Result<CommandOverride, SettingError> {
    match words::fold(text).as_str() {
        "on" => Ok(CommandOverride::On),
        "off" => Ok(CommandOverride::Off),
        _ => template(key, text).map(CommandOverride::Reply),
    }
}

/// The template of a text setting, its error naming the key.
fn template(key: &SettingKey, value: &str) -> Result<Template, SettingError> {
    Template::parse(value).map_err(|source| SettingError::Template {
        key: key.name(),
        source,
    })
}

/// A two-letter language code, or `auto`.
fn language(word: &str) -> Option<String> {
    let code_ok = word.len() == 2 && word.bytes().all(|b| b.is_ascii_lowercase());
    (code_ok || word == "auto").then(|| word.to_owned())
}

/// `sim` or `nao`, folded.
fn yes_no(word: &str) -> Option<bool> {
    match word {
        "sim" => Some(true),
        "nao" => Some(false),
        _ => None,
    }
}

/// A positive count, written plain (`50000`) or with thousands separators (`50.000`).
fn tokens(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split(['.', '_']).collect();
    let separated_ok = groups[1..].iter().all(|g| g.len() == 3);
    let digits: String = groups.concat();
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if !separated_ok || !all_digits {
        return None;
    }
    digits.parse().ok().filter(|count| *count > 0)
}

impl GroupMode {
    /// The stored word: `nao`, `mencao` or `todos`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupMode::Off => "nao",
            GroupMode::Mentions => "mencao",
            GroupMode::All => "todos",
        }
    }
}

impl TenantSettings {
    /// The settings stored as `key → value` texts; invalid entries are skipped with a
    /// warning, so a stored value that no longer validates never stops a tenant.
    pub fn from_map(map: &BTreeMap<String, String>) -> TenantSettings {
        let mut settings = TenantSettings::default();
        for (key, value) in map {
            if key == crate::ai::persona::SETTING {
                // Kept beside the settings; `!persona` checks and reads it.
                continue;
            }
            let parsed = SettingKey::parse(key)
                .and_then(|key| interpret(&key, value).map(|value| (key, value)));
            match parsed {
                Ok((key, value)) => settings.set(key, value),
                Err(error) => {
                    tracing::warn!(setting = %key, %error, "invalid setting skipped");
                }
            }
        }
        settings
    }

    /// Puts one read value in its place.
    fn set(&mut self, key: SettingKey, value: Value) {
        match (key, value) {
            (SettingKey::Grupos, Value::Groups(mode)) => self.groups = mode,
            (SettingKey::Horario, Value::Hours(hours)) => self.hours = Some(hours),
            (SettingKey::Ausencia, Value::Text(text)) => self.away = Some(text),
            (SettingKey::Saudacao, Value::Text(text)) => self.greeting = Some(text),
            (SettingKey::Idioma, Value::Language(code)) => self.language = Some(code),
            (SettingKey::TranscricaoEco, Value::Echo(on)) => {
                self.transcript_echo = Some(on);
            }
            (SettingKey::IaTokensDia, Value::Tokens(n)) => self.daily_tokens = Some(n),
            (SettingKey::Comando(name), Value::Command(command)) => {
                self.commands.insert(name, command);
            }
            // `interpret` gives every key its own kind of value.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> SettingKey {
        SettingKey::parse(text).unwrap()
    }

    fn ok(k: &str, value: &str) -> String {
        validate(&key(k), value).unwrap()
    }

    fn err(k: &str, value: &str) -> String {
        validate(&key(k), value).unwrap_err().to_string()
    }

    #[test]
    fn keys_parse_without_case_or_accents_and_name_back() {
        assert_eq!(key("GRUPOS"), SettingKey::Grupos);
        assert_eq!(key(" Horário "), SettingKey::Horario);
        assert_eq!(key("ausência"), SettingKey::Ausencia);
        assert_eq!(key("saudação"), SettingKey::Saudacao);
        assert_eq!(key("Transcrição.Eco"), SettingKey::TranscricaoEco);
        assert_eq!(key("ia.tokens_dia"), SettingKey::IaTokensDia);
        assert_eq!(key("comando.MENU"), SettingKey::Comando("menu".into()));
        assert_eq!(
            key("comando.cardápio"),
            SettingKey::Comando("cardapio".into())
        );
        for (name, _) in KEYS {
            let stored = name.replace("<nome>", "menu");
            assert_eq!(key(&stored).name(), stored);
        }
    }

    #[test]
    fn unknown_keys_list_the_documented_ones() {
        assert_eq!(
            SettingKey::parse("horas").unwrap_err().to_string(),
            "chave desconhecida \"horas\"; use grupos, horario, ausencia, saudacao, \
             idioma, transcricao.eco, ia.tokens_dia ou comando.<nome>"
        );
        assert_eq!(
            SettingKey::parse("comando.a b").unwrap_err().to_string(),
            "nome de comando inválido \"a b\"; use letras sem acento, números, '-' \
             ou '_', até 32, ex.: comando.menu"
        );
        assert!(SettingKey::parse("comando.").is_err());
        assert!(SettingKey::parse("").is_err());
    }

    #[test]
    fn grupos() {
        assert_eq!(ok("grupos", "Mencao"), "mencao");
        assert_eq!(ok("grupos", "menção"), "mencao");
        assert_eq!(ok("grupos", "NÃO"), "nao");
        assert_eq!(ok("grupos", " todos "), "todos");
        assert_eq!(
            err("grupos", "alguns"),
            "grupos: use nao, mencao ou todos, ex.: grupos mencao"
        );
    }

    #[test]
    fn horario() {
        assert_eq!(
            ok("horario", "SEG-SEX 8:00-18:00, sab 09:00-13:00"),
            "seg-sex 08:00-18:00; sáb 09:00-13:00"
        );
        assert!(err("horario", "seg-sex").starts_with("horario: faltam as horas em"));
    }

    #[test]
    fn ausencia_and_saudacao() {
        assert_eq!(ok("ausencia", "OFF"), "off");
        assert_eq!(
            ok("ausencia", " Fechados. Horário: {horario} "),
            "Fechados. Horário: {horario}"
        );
        assert_eq!(ok("saudacao", "Olá {nome}!"), "Olá {nome}!");
        let unknown = err("saudacao", "Olá {fulano}");
        assert!(
            unknown.starts_with("saudacao: variável desconhecida"),
            "{unknown}"
        );
        assert_eq!(
            err("ausencia", "  "),
            "ausencia: texto vazio; escreva a resposta, ex.: \"Olá {nome}!\""
        );
    }

    #[test]
    fn idioma() {
        assert_eq!(ok("idioma", "PT"), "pt");
        assert_eq!(ok("idioma", "en"), "en");
        assert_eq!(ok("idioma", "Auto"), "auto");
        for bad in ["por", "p", "pt-br", "12"] {
            assert_eq!(
                err("idioma", bad),
                "idioma: use duas letras, ex.: pt, en, es, ou auto"
            );
        }
    }

    #[test]
    fn transcricao_eco() {
        assert_eq!(ok("transcricao.eco", "SIM"), "sim");
        assert_eq!(ok("transcricao.eco", "não"), "nao");
        assert_eq!(
            err("transcricao.eco", "talvez"),
            "transcricao.eco: use sim ou nao, ex.: transcricao.eco nao"
        );
    }

    #[test]
    fn ia_tokens_dia() {
        assert_eq!(ok("ia.tokens_dia", "50000"), "50000");
        assert_eq!(ok("ia.tokens_dia", "50.000"), "50000");
        assert_eq!(ok("ia.tokens_dia", "1_000_000"), "1000000");
        for bad in [
            "0",
            "-5",
            "1.5",
            "abc",
            "",
            "50.00",
            "99999999999999999999999",
        ] {
            assert_eq!(
                err("ia.tokens_dia", bad),
                "ia.tokens_dia: use um número inteiro acima de zero, ex.: 50000",
                "{bad}"
            );
        }
    }

    #[test]
    fn comando() {
        assert_eq!(ok("comando.menu", "ON"), "on");
        assert_eq!(ok("comando.menu", "Off"), "off");
        assert_eq!(
            ok("comando.menu", "Hoje: pizza, {nome}!"),
            "Hoje: pizza, {nome}!"
        );
        assert!(err("comando.menu", "a } b").starts_with("comando.menu: \"}\" sem"));
    }

    #[test]
    fn from_map_reads_valid_values_and_skips_the_rest() {
        let map: BTreeMap<String, String> = [
            ("grupos", "todos"),
            ("horario", "seg-sex 08:00-18:00"),
            ("ausencia", "off"),
            ("saudacao", "Olá {nome}!"),
            ("idioma", "en"),
            ("transcricao.eco", "nao"),
            ("ia.tokens_dia", "1000"),
            ("comando.menu", "off"),
            ("comando.pix", "Chave: 123"),
            ("comando.ajuda", "on"),
            ("comando.x y", "on"),
            ("desconhecida", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let settings = TenantSettings::from_map(&map);
        assert_eq!(settings.groups, GroupMode::All);
        assert_eq!(settings.hours.unwrap().to_string(), "seg-sex 08:00-18:00");
        assert_eq!(settings.away, Some(TextSetting::Off));
        let Some(TextSetting::Text(greeting)) = settings.greeting else {
            panic!("greeting not read");
        };
        assert_eq!(greeting.source(), "Olá {nome}!");
        assert_eq!(settings.language.as_deref(), Some("en"));
        assert_eq!(settings.transcript_echo, Some(false));
        assert_eq!(settings.daily_tokens, Some(1000));
        assert_eq!(settings.commands.len(), 3);
        assert_eq!(settings.commands["menu"], CommandOverride::Off);
        assert_eq!(settings.commands["ajuda"], CommandOverride::On);
        let CommandOverride::Reply(pix) = &settings.commands["pix"] else {
            panic!("comando.pix not read");
        };
        assert_eq!(pix.source(), "Chave: 123");
    }

    #[test]
    fn from_map_skips_invalid_values_and_keeps_defaults() {
        let map: BTreeMap<String, String> = [
            ("grupos", "alguns"),
            ("horario", "nunca"),
            ("saudacao", "Oi {"),
            ("ia.tokens_dia", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(TenantSettings::from_map(&map), TenantSettings::default());
        assert_eq!(TenantSettings::default().groups, GroupMode::Mentions);
    }
}
