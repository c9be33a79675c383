//! `orbitbot check-config`: the validated configuration as text, secrets masked.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::{Config, Engine};

/// What stands in place of a secret.
const MASK: &str = "***";

/// Renders every key with its effective value, in the file's order.
pub(super) fn render(config: &Config) -> String {
    let mut out = Lines::default();
    let c = config;

    out.section("admin");
    let phones: Vec<String> = c
        .admin
        .operators
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect();
    out.raw("operators", &format!("[{}]", phones.join(", ")));
    out.text("timezone", &c.admin.timezone_name);
    out.text("prefix", &c.admin.prefix);

    out.section("whatsapp");
    out.text("url", &masked_url(&c.whatsapp.url));
    let engine = match c.whatsapp.engine {
        Engine::WaJs => "wa-js",
        Engine::Simulator => "simulator",
    };
    out.text("engine", engine);
    out.path("wa_js", &c.whatsapp.wa_js);
    out.path("chromium", &c.whatsapp.chromium);
    out.path("chromedriver", &c.whatsapp.chromedriver);
    out.secs("qr_first_s", c.whatsapp.qr_first);
    out.secs("qr_next_s", c.whatsapp.qr_next);

    out.section("paths");
    out.path("tokens", &c.paths.tokens);
    out.path("data", &c.paths.data);
    out.path("backups", &c.paths.backups);
    out.path("commands", &c.paths.commands);

    render_limits(&mut out, config);
    render_optional(&mut out, config);
    out.0
}

fn render_limits(out: &mut Lines, c: &Config) {
    let l = &c.limits;
    out.section("limits");
    out.raw("min_gap_ms", &l.min_gap.as_millis().to_string());
    out.raw("per_minute", &l.per_minute.to_string());
    out.raw(
        "typing_ms_per_char",
        &l.typing_per_char.as_millis().to_string(),
    );
    out.secs("stale_after_s", l.stale_after);
    out.raw("max_tenants", &l.max_tenants.to_string());
    out.raw("qr_resends", &l.qr_resends.to_string());
    out.raw("restart_attempts", &l.restart_attempts.to_string());

    out.section("backups");
    match c.backups.daily_at {
        Some(t) => out.text("daily_at", &t.strftime("%H:%M").to_string()),
        None => out.comment("daily_at", "desligado"),
    }
    out.raw("keep", &c.backups.keep.to_string());
}

fn render_optional(out: &mut Lines, c: &Config) {
    match &c.ai {
        None => out.off("ai"),
        Some(ai) => {
            out.section("ai");
            out.text("base_url", &masked_url(&ai.base_url));
            out.text("model", &ai.model);
            match &ai.api_key_env {
                Some(var) => {
                    let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
                    let note = if set {
                        "definida, valor oculto"
                    } else {
                        "NÃO definida ou vazia: `orbitbot run` não inicia assim"
                    };
                    out.raw("api_key_env", &format!("\"{var}\"  # {note}"));
                }
                None => out.comment("api_key_env", "sem chave"),
            }
            out.raw("history_turns", &ai.history_turns.to_string());
            out.raw("daily_tokens", &ai.daily_tokens.to_string());
            out.secs("timeout_s", ai.timeout);
        }
    }

    let t = &c.transcription;
    out.section("transcription");
    out.path("model", &t.model);
    out.text("language", &t.language);
    out.raw("workers", &t.workers.to_string());
    out.secs("max_seconds", t.max_duration);
    out.raw("echo", &t.echo.to_string());

    match &c.panel {
        None => out.off("panel"),
        Some(panel) => {
            out.section("panel");
            out.text("listen", &panel.listen.to_string());
            out.text("base_url", &masked_url(&panel.base_url));
            out.secs("link_ttl_s", panel.link_ttl);
            for user in &panel.users {
                out.section("[panel.users]");
                out.text("phone", user.phone.as_str());
                out.text("password_hash", MASK);
            }
        }
    }
}

/// A URL with any password in it replaced by the mask.
fn masked_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some(MASK));
    }
    shown.to_string()
}

#[derive(Default)]
struct Lines(String);

impl Lines {
    fn section(&mut self, name: &str) {
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        let _ = writeln!(self.0, "[{name}]");
    }

    fn off(&mut self, name: &str) {
        self.0.push('\n');
        let _ = writeln!(self.0, "# [{name}] desligado");
    }

    fn raw(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.0, "{key} = {value}");
    }

    fn text(&mut self, key: &str, value: &str) {
        self.raw(key, &format!("{value:?}"));
    }

    fn path(&mut self, key: &str, value: &Path) {
        self.text(key, &value.display().to_string());
    }

    fn secs(&mut self, key: &str, value: Duration) {
        self.raw(key, &value.as_secs().to_string());
    }

    fn comment(&mut self, key: &str, note: &str) {
        let _ = writeln!(self.0, "# {key}: {note}");
    }
}
