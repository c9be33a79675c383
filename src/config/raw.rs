//! The first stage: `admin.toml` exactly as written, with its defaults.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) admin: Admin,
    #[serde(default)]
    pub(super) whatsapp: Whatsapp,
    #[serde(default)]
    pub(super) paths: Paths,
    #[serde(default)]
    pub(super) limits: Limits,
    #[serde(default)]
    pub(super) backups: Backups,
    pub(super) ai: Option<Ai>,
    #[serde(default)]
    pub(super) transcription: Transcription,
    pub(super) panel: Option<Panel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Admin {
    pub(super) operators: Vec<String>,
    #[serde(default = "default_timezone")]
    pub(super) timezone: String,
    #[serde(default = "default_prefix")]
    pub(super) prefix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Whatsapp {
    pub(super) url: String,
    pub(super) engine: String,
    pub(super) wa_js: String,
    pub(super) chromium: String,
    pub(super) chromedriver: String,
    pub(super) qr_first_s: u64,
    pub(super) qr_next_s: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Paths {
    pub(super) tokens: String,
    pub(super) data: String,
    pub(super) backups: String,
    pub(super) commands: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Limits {
    pub(super) min_gap_ms: u64,
    pub(super) per_minute: u32,
    pub(super) typing_ms_per_char: u64,
    pub(super) stale_after_s: u64,
    pub(super) max_tenants: u32,
    pub(super) qr_resends: u32,
    pub(super) restart_attempts: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Backups {
    pub(super) daily_at: Option<String>,
    pub(super) keep: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Ai {
    pub(super) base_url: String,
    pub(super) model: String,
    pub(super) api_key_env: Option<String>,
    #[serde(default = "default_history_turns")]
    pub(super) history_turns: u32,
    #[serde(default = "default_daily_tokens")]
    pub(super) daily_tokens: u64,
    #[serde(default = "default_ai_timeout_s")]
    pub(super) timeout_s: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Transcription {
    pub(super) model: String,
    pub(super) language: String,
    pub(super) workers: u32,
    pub(super) max_seconds: u64,
    pub(super) echo: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Panel {
    pub(super) listen: String,
    pub(super) base_url: String,
    #[serde(default = "default_link_ttl_s")]
    pub(super) link_ttl_s: u64,
    #[serde(default)]
    pub(super) users: Vec<PanelUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PanelUser {
    pub(super) phone: String,
    pub(super) password_hash: String,
}

fn default_timezone() -> String {
    "America/Sao_Paulo".to_owned()
}

fn default_prefix() -> String {
    "!".to_owned()
}

fn default_history_turns() -> u32 {
    10
}

fn default_daily_tokens() -> u64 {
    200_000
}

fn default_ai_timeout_s() -> u64 {
    60
}

fn default_link_ttl_s() -> u64 {
    900
}

impl Default for Whatsapp {
    fn default() -> Self {
        Self {
            url: "https://web.whatsapp.com".to_owned(),
            engine: "wa-js".to_owned(),
            wa_js: "vendor/wa-js/wppconnect-wa.js".to_owned(),
            chromium: "/usr/bin/chromium".to_owned(),
            chromedriver: "/usr/bin/chromedriver".to_owned(),
            qr_first_s: 60,
            qr_next_s: 20,
        }
    }
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            tokens: "tokens".to_owned(),
            data: "data".to_owned(),
            backups: "backups".to_owned(),
            commands: "commands".to_owned(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            min_gap_ms: 1_500,
            per_minute: 20,
            typing_ms_per_char: 30,
            stale_after_s: 600,
            max_tenants: 50,
            qr_resends: 6,
            restart_attempts: 5,
        }
    }
}

impl Default for Backups {
    fn default() -> Self {
        Self {
            daily_at: None,
            keep: 7,
        }
    }
}

impl Default for Transcription {
    fn default() -> Self {
        Self {
            // The quantized model: faster, same words (benches/transcribe.rs).
            model: "models/ggml-base-q8_0.bin".to_owned(),
            language: "pt".to_owned(),
            workers: 1,
            max_seconds: 300,
            echo: true,
        }
    }
}
