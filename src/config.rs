//! `admin.toml` → validated [`Config`].
//!
//! Two stages, as in ripgrep: the file is read into the `raw` structs (serde,
//! unknown keys refused), then [`validate`] turns them into a [`Config`] whose every
//! value has been checked and whose every path is absolute. Errors name the key and
//! say what is allowed, in pt-BR, because the operator reads them.

mod raw;
mod show;
pub(crate) mod syntax;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;

use crate::chat::PhoneNumber;

/// The longest Unix socket path the system takes (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Where the configuration is read from when `--config` is not given.
pub const DEFAULT_PATH: &str = "admin.toml";

/// A configuration error, ready to show to the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "não consegui ler {}: {source}; indique o arquivo com --config <arquivo> \
         (o exemplo é o admin.toml do repositório)",
        .path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key is unknown, missing or of the wrong type.
    #[error("{file}, linha {line}: {key}: {message}")]
    Syntax {
        /// The file name as given.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// The key as `[section] key`, or the section alone.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A value is well-formed TOML but not allowed.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// The file name as given.
        file: String,
        /// The key as `[section] key`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// Which engine the browser pages get injected with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `@wppconnect/wa-js`, for the real WhatsApp Web.
    WaJs,
    /// The simulator's fake engine (`orbitbot simulator`).
    Simulator,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (absolute).
    pub file: PathBuf,
    /// `[admin]`.
    pub admin: AdminConfig,
    /// `[whatsapp]`.
    pub whatsapp: WhatsappConfig,
    /// `[paths]`.
    pub paths: PathsConfig,
    /// `[limits]`.
    pub limits: Limits,
    /// `[backups]`.
    pub backups: BackupConfig,
    /// `[ai]`; `None` means AI is off.
    pub ai: Option<AiConfig>,
    /// `[transcription]`.
    pub transcription: TranscriptionConfig,
    /// `[panel]`; `None` means the panel is off.
    pub panel: Option<PanelConfig>,
}

/// `[admin]`: who runs the show and how times and commands look.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Phones allowed to run operator commands.
    pub operators: Vec<PhoneNumber>,
    /// The time zone times are shown in.
    pub timezone: TimeZone,
    /// The time zone's name, as written.
    pub timezone_name: String,
    /// The command prefix (`!`).
    pub prefix: String,
}

/// `[whatsapp]`: the site, its engine and the browser binaries.
#[derive(Debug, Clone)]
pub struct WhatsappConfig {
    /// The WhatsApp Web address (the simulator's, in tests and the demo).
    pub url: url::Url,
    /// Which engine is injected.
    pub engine: Engine,
    /// The pinned wa-js bundle.
    pub wa_js: PathBuf,
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary.
    pub chromedriver: PathBuf,
    /// Lifetime of the first QR code of an attempt.
    pub qr_first: Duration,
    /// Lifetime of each later QR code.
    pub qr_next: Duration,
}

/// `[paths]`: where tenant data lives (all absolute).
#[derive(Debug, Clone)]
pub struct PathsConfig {
    /// Browser profiles, `tokens/<tenant>/`.
    pub tokens: PathBuf,
    /// Databases, locks and the control socket.
    pub data: PathBuf,
    /// Backup archives, `backups/<tenant>/`.
    pub backups: PathBuf,
    /// Client commands and plugins, `commands/*.toml`.
    pub commands: PathBuf,
}

/// `[limits]`: pacing and caps.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Minimum gap between two sends of one tenant.
    pub min_gap: Duration,
    /// Send cap per tenant per minute.
    pub per_minute: u32,
    /// Typing delay per character (capped at 4 s per message).
    pub typing_per_char: Duration,
    /// Older inbound messages are recorded, not answered.
    pub stale_after: Duration,
    /// `!novo` refuses beyond this many tenants.
    pub max_tenants: u32,
    /// QR images sent per link attempt.
    pub qr_resends: u32,
    /// Crashes in a row before a session is `failed`.
    pub restart_attempts: u32,
}

/// `[backups]`: the daily schedule.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// Local time of the daily backup; `None` means no schedule.
    pub daily_at: Option<jiff::civil::Time>,
    /// How many scheduled archives to keep per tenant.
    pub keep: u32,
}

/// `[ai]`: an OpenAI-compatible chat endpoint.
#[derive(Debug, Clone)]
pub struct AiConfig {
    /// The endpoint's base URL (`…/v1`).
    pub base_url: url::Url,
    /// The model name sent with each request.
    pub model: String,
    /// The environment variable holding the API key, if the endpoint needs one.
    pub api_key_env: Option<String>,
    /// How many earlier turns with a contact go into a request.
    pub history_turns: u32,
    /// Default token budget per tenant per day.
    pub daily_tokens: u64,
    /// How long one request may take, from connecting to the last byte of the answer.
    pub timeout: Duration,
}

/// `[transcription]`: voice notes.
#[derive(Debug, Clone)]
pub struct TranscriptionConfig {
    /// The ggml Whisper model.
    pub model: PathBuf,
    /// Default language code (`pt`), or `auto`.
    pub language: String,
    /// Concurrent transcriptions.
    pub workers: u32,
    /// Longer notes are refused.
    pub max_duration: Duration,
    /// Whether transcripts are sent back by default.
    pub echo: bool,
}

/// `[panel]`: the optional web panel.
#[derive(Debug, Clone)]
pub struct PanelConfig {
    /// Where the panel listens.
    pub listen: SocketAddr,
    /// The public address used in QR links.
    pub base_url: url::Url,
    /// How long a live QR link stays valid.
    pub link_ttl: Duration,
    /// Who may sign in.
    pub users: Vec<PanelUser>,
}

/// One operator allowed into the panel.
#[derive(Debug, Clone)]
pub struct PanelUser {
    /// Their phone, which is their login.
    pub phone: PhoneNumber,
    /// The argon2 hash of their password (a secret: never shown).
    pub password_hash: String,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file = path.to_string_lossy().into_owned();
        let raw = syntax::parse(&file, &text)?;
        let abs = std::path::absolute(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        validate(raw, &abs, &file)
    }

    /// The validated configuration, one `key = value` per line, secrets masked.
    pub fn display_masked(&self) -> String {
        show::render(self)
    }
}

/// Turns the raw file into a [`Config`], checking every value.
fn validate(raw: raw::File, abs: &Path, file: &str) -> Result<Config, ConfigError> {
    let base = abs.parent().unwrap_or(Path::new("/"));
    let check = Check { file, base };
    let admin = check.admin(raw.admin)?;
    let panel = raw.panel.map(|p| check.panel(p, &admin.operators));
    Ok(Config {
        file: abs.to_owned(),
        panel: panel.transpose()?,
        admin,
        whatsapp: check.whatsapp(raw.whatsapp)?,
        paths: check.paths(raw.paths)?,
        limits: check.limits(raw.limits)?,
        backups: check.backups(raw.backups)?,
        ai: raw.ai.map(|ai| check.ai(ai)).transpose()?,
        transcription: check.transcription(raw.transcription)?,
    })
}

/// The validation stage: knows the file name for errors and the folder for paths.
struct Check<'a> {
    file: &'a str,
    base: &'a Path,
}

impl Check<'_> {
    fn fail<T>(&self, key: &str, message: impl Into<String>) -> Result<T, ConfigError> {
        Err(ConfigError::Invalid {
            file: self.file.to_owned(),
            key: key.to_owned(),
            message: message.into(),
        })
    }

    fn admin(&self, raw: raw::Admin) -> Result<AdminConfig, ConfigError> {
        const KEY: &str = "[admin] operators";
        if raw.operators.is_empty() {
            return self.fail(
                KEY,
                "informe ao menos um telefone, ex.: [\"5511988887777\"]",
            );
        }
        let mut operators = Vec::new();
        for phone in &raw.operators {
            match PhoneNumber::parse(phone) {
                Ok(p) if operators.contains(&p) => {}
                Ok(p) => operators.push(p),
                Err(e) => return self.fail(KEY, e.to_string()),
            }
        }
        let Ok(timezone) = TimeZone::get(&raw.timezone) else {
            let msg = format!(
                "fuso horário desconhecido \"{}\"; use um nome IANA, ex.: America/Sao_Paulo",
                raw.timezone
            );
            return self.fail("[admin] timezone", msg);
        };
        let prefix_ok = (1..=3).contains(&raw.prefix.chars().count())
            && raw
                .prefix
                .chars()
                .all(|c| !c.is_alphanumeric() && !c.is_whitespace());
        if !prefix_ok {
            let msg = "use de 1 a 3 sinais sem letras, números ou espaços, ex.: \"!\"";
            return self.fail("[admin] prefix", msg);
        }
        Ok(AdminConfig {
            operators,
            timezone,
            timezone_name: raw.timezone,
            prefix: raw.prefix,
        })
    }

    fn whatsapp(&self, raw: raw::Whatsapp) -> Result<WhatsappConfig, ConfigError> {
        let url = self.http_url("[whatsapp] url", &raw.url)?;
        let engine = match raw.engine.as_str() {
            "wa-js" => Engine::WaJs,
            "simulator" => Engine::Simulator,
            other => {
                let msg = format!("\"{other}\" não existe; use \"wa-js\" ou \"simulator\"");
                return self.fail("[whatsapp] engine", msg);
            }
        };
        let wa_js = self.path("[whatsapp] wa_js", &raw.wa_js)?;
        if engine == Engine::WaJs && !wa_js.is_file() {
            let msg = format!("\"{}\" não existe; rode scripts/setup", wa_js.display());
            return self.fail("[whatsapp] wa_js", msg);
        }
        Ok(WhatsappConfig {
            url,
            engine,
            wa_js,
            chromium: self.program("[whatsapp] chromium", &raw.chromium)?,
            chromedriver: self.program("[whatsapp] chromedriver", &raw.chromedriver)?,
            qr_first: self.seconds("[whatsapp] qr_first_s", raw.qr_first_s, 1, 600)?,
            qr_next: self.seconds("[whatsapp] qr_next_s", raw.qr_next_s, 1, 600)?,
        })
    }

    fn paths(&self, raw: raw::Paths) -> Result<PathsConfig, ConfigError> {
        let data = self.folder("[paths] data", &raw.data)?;
        // The control socket lives in the data folder; Unix socket paths are short.
        if data.join("orbitbot.sock").as_os_str().len() > MAX_SOCKET_PATH {
            let msg = format!(
                "\"{}\" é longo demais para o socket de controle; use um caminho de até {} \
                 caracteres",
                data.display(),
                MAX_SOCKET_PATH - "/orbitbot.sock".len()
            );
            return self.fail("[paths] data", msg);
        }
        Ok(PathsConfig {
            tokens: self.folder("[paths] tokens", &raw.tokens)?,
            data,
            backups: self.folder("[paths] backups", &raw.backups)?,
            commands: self.folder("[paths] commands", &raw.commands)?,
        })
    }

    fn limits(&self, raw: raw::Limits) -> Result<Limits, ConfigError> {
        let ms = Duration::from_millis;
        Ok(Limits {
            min_gap: ms(self.range("[limits] min_gap_ms", raw.min_gap_ms, 0, 60_000)?),
            per_minute: self.range("[limits] per_minute", raw.per_minute, 1, 600)?,
            typing_per_char: ms(self.range(
                "[limits] typing_ms_per_char",
                raw.typing_ms_per_char,
                0,
                1_000,
            )?),
            stale_after: self.seconds("[limits] stale_after_s", raw.stale_after_s, 1, 604_800)?,
            max_tenants: self.range("[limits] max_tenants", raw.max_tenants, 1, 1_000)?,
            qr_resends: self.range("[limits] qr_resends", raw.qr_resends, 1, 50)?,
            restart_attempts: self.range(
                "[limits] restart_attempts",
                raw.restart_attempts,
                1,
                100,
            )?,
        })
    }

    fn backups(&self, raw: raw::Backups) -> Result<BackupConfig, ConfigError> {
        let daily_at = match raw.daily_at {
            None => None,
            Some(text) => Some(self.clock_time("[backups] daily_at", &text)?),
        };
        Ok(BackupConfig {
            daily_at,
            keep: self.range("[backups] keep", raw.keep, 1, 365)?,
        })
    }

    fn ai(&self, raw: raw::Ai) -> Result<AiConfig, ConfigError> {
        if raw.model.trim().is_empty() {
            return self.fail(
                "[ai] model",
                "informe o nome do modelo, ex.: \"gpt-4o-mini\"",
            );
        }
        if let Some(var) = &raw.api_key_env {
            let first_ok = var.starts_with(|c: char| c.is_ascii_uppercase() || c == '_');
            let rest_ok = var
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !first_ok || !rest_ok {
                // NOTE: the value is not shown: it may be the key itself.
                let msg = "não é nome de variável de ambiente (o valor não é mostrado: \
                           a chave não vai no arquivo); use maiúsculas, números e '_', \
                           ex.: \"OPENAI_API_KEY\"";
                return self.fail("[ai] api_key_env", msg);
            }
        }
        let base_url = self.http_url("[ai] base_url", &raw.base_url)?;
        if base_url
            .path()
            .trim_end_matches('/')
            .ends_with("/chat/completions")
        {
            let msg = "use o endereço base, sem /chat/completions, ex.: \
                       \"http://127.0.0.1:11434/v1\"";
            return self.fail("[ai] base_url", msg);
        }
        Ok(AiConfig {
            base_url,
            model: raw.model,
            api_key_env: raw.api_key_env,
            history_turns: self.range("[ai] history_turns", raw.history_turns, 0, 100)?,
            daily_tokens: self.range("[ai] daily_tokens", raw.daily_tokens, 1, 1_000_000_000)?,
            timeout: self.seconds("[ai] timeout_s", raw.timeout_s, 1, 600)?,
        })
    }

    fn transcription(&self, raw: raw::Transcription) -> Result<TranscriptionConfig, ConfigError> {
        let lang_ok = raw.language == "auto"
            || (raw.language.len() == 2 && raw.language.chars().all(|c| c.is_ascii_lowercase()));
        if !lang_ok {
            let msg = format!(
                "\"{}\" não é um idioma; use um código de 2 letras (pt, en, es) ou \"auto\"",
                raw.language
            );
            return self.fail("[transcription] language", msg);
        }
        Ok(TranscriptionConfig {
            model: self.path("[transcription] model", &raw.model)?,
            language: raw.language,
            workers: self.range("[transcription] workers", raw.workers, 1, 16)?,
            max_duration: self.seconds("[transcription] max_seconds", raw.max_seconds, 1, 3_600)?,
            echo: raw.echo,
        })
    }

    fn panel(
        &self,
        raw: raw::Panel,
        operators: &[PhoneNumber],
    ) -> Result<PanelConfig, ConfigError> {
        let Ok(listen) = raw.listen.parse::<SocketAddr>() else {
            let msg = format!(
                "\"{}\" não é endereço:porta, ex.: \"127.0.0.1:8080\"",
                raw.listen
            );
            return self.fail("[panel] listen", msg);
        };
        let mut users = Vec::new();
        for user in raw.users {
            let phone = PhoneNumber::parse(&user.phone)
                .or_else(|e| self.fail("[[panel.users]] phone", e.to_string()))?;
            if !operators.contains(&phone) {
                let msg = format!("{phone} não está em [admin] operators (só eles entram)");
                return self.fail("[[panel.users]] phone", msg);
            }
            if users.iter().any(|u: &PanelUser| u.phone == phone) {
                let msg = format!("{phone} aparece duas vezes");
                return self.fail("[[panel.users]] phone", msg);
            }
            if !user.password_hash.starts_with("$argon2") {
                let msg = "use um hash argon2 (gere com `orbitbot panel-password`)";
                return self.fail("[[panel.users]] password_hash", msg);
            }
            users.push(PanelUser {
                phone,
                password_hash: user.password_hash,
            });
        }
        if users.is_empty() {
            let msg = "nenhum operador pode entrar: gere um hash com `orbitbot panel-password`";
            return self.fail("[[panel.users]]", msg);
        }
        let base_url = self.http_url("[panel] base_url", &raw.base_url)?;
        let extra = base_url.path() != "/"
            || base_url.query().is_some()
            || base_url.fragment().is_some()
            || !base_url.username().is_empty()
            || base_url.password().is_some();
        if extra {
            let msg = format!(
                "\"{}\" não é só a origem; use esquema, servidor e porta \
                 (ex.: \"https://painel.exemplo.com\"): o painel fica na raiz do endereço",
                raw.base_url
            );
            return self.fail("[panel] base_url", msg);
        }
        Ok(PanelConfig {
            listen,
            base_url,
            link_ttl: self.seconds("[panel] link_ttl_s", raw.link_ttl_s, 30, 86_400)?,
            users,
        })
    }

    fn range<T>(&self, key: &str, value: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: PartialOrd + std::fmt::Display + Copy,
    {
        if value < min || value > max {
            return self.fail(
                key,
                format!("{value} fora do intervalo permitido ({min} a {max})"),
            );
        }
        Ok(value)
    }

    fn seconds(&self, key: &str, value: u64, min: u64, max: u64) -> Result<Duration, ConfigError> {
        self.range(key, value, min, max).map(Duration::from_secs)
    }

    fn http_url(&self, key: &str, text: &str) -> Result<url::Url, ConfigError> {
        match url::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
            _ => self.fail(
                key,
                format!("\"{text}\" não é um endereço http(s), ex.: \"http://127.0.0.1:7600\""),
            ),
        }
    }

    fn clock_time(&self, key: &str, text: &str) -> Result<jiff::civil::Time, ConfigError> {
        let parsed = text
            .split_once(':')
            .filter(|(h, m)| h.len() == 2 && m.len() == 2)
            .and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?)))
            .and_then(|(h, m)| jiff::civil::Time::new(h, m, 0, 0).ok());
        match parsed {
            Some(time) => Ok(time),
            None => self.fail(
                key,
                format!("\"{text}\" não é um horário HH:MM, ex.: \"03:30\""),
            ),
        }
    }

    /// A file path, resolved against the config folder; it need not exist yet.
    fn path(&self, key: &str, text: &str) -> Result<PathBuf, ConfigError> {
        if text.trim().is_empty() || text.contains('\0') {
            return self.fail(
                key,
                "informe um caminho, ex.: \"data\" ou \"/srv/orbitbot/data\"",
            );
        }
        Ok(self.base.join(text))
    }

    /// A folder orbitbot creates when missing: nothing on its way may be a file.
    fn folder(&self, key: &str, text: &str) -> Result<PathBuf, ConfigError> {
        let path = self.path(key, text)?;
        let blocker = path
            .ancestors()
            .find(|p| p.exists())
            .filter(|p| !p.is_dir());
        if let Some(file) = blocker {
            let msg = format!(
                "\"{text}\" não pode ser pasta: {} é um arquivo; aponte para uma pasta",
                file.display()
            );
            return self.fail(key, msg);
        }
        Ok(path)
    }

    /// A program that must exist now.
    fn program(&self, key: &str, text: &str) -> Result<PathBuf, ConfigError> {
        let path = self.path(key, text)?;
        if !path.is_file() {
            let msg = format!(
                "\"{}\" não existe; rode scripts/setup ou aponte para o executável",
                path.display()
            );
            return self.fail(key, msg);
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests;
