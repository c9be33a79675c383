//! Tenant ids and tenant records.
//!
//! A [`TenantId`] is the only way a tenant name reaches a file path, so every rule that
//! keeps paths safe lives here: names are checked, never rewritten.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The reserved id of the operator's own WhatsApp session.
const ADMIN: &str = "admin";

/// The longest tenant id, in characters.
const MAX_LEN: usize = 32;

/// A validated tenant name: `^[a-z0-9][a-z0-9_-]{1,31}$` after trimming and lower-casing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

/// Why a text is not a valid tenant id; its `Display` is the pt-BR answer for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantIdError {
    /// Nothing was given.
    #[error("informe o nome do cliente. {RULE}")]
    Empty,
    /// `admin` names the operator's own session.
    #[error("\"admin\" é reservado para a sessão do operador; escolha outro nome")]
    Reserved,
    /// The text breaks the character or length rule.
    #[error("nome de cliente inválido \"{0}\". {RULE}")]
    Invalid(String),
}

/// The naming rule, as shown to the operator.
const RULE: &str = "Use de 2 a 32 caracteres: letras minúsculas sem acento, números, \
                    '-' ou '_', começando por letra ou número (ex.: loja-da-ana)";

impl TenantId {
    /// Checks an operator-given name; see the type's rule.
    pub fn parse(input: &str) -> Result<Self, TenantIdError> {
        let name = input.trim().to_lowercase();
        if name.is_empty() {
            return Err(TenantIdError::Empty);
        }
        if name == ADMIN {
            return Err(TenantIdError::Reserved);
        }
        if !is_valid(&name) {
            return Err(TenantIdError::Invalid(shorten(input.trim())));
        }
        Ok(Self(name))
    }

    /// The id of the operator's own session; made only by the supervisor, never from input.
    pub fn admin() -> Self {
        Self(ADMIN.to_owned())
    }

    /// Whether this is the operator's own session.
    pub fn is_admin(&self) -> bool {
        self.0 == ADMIN
    }

    /// The id as text; safe as one path component.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads back an id that this program stored earlier (the admin id included).
    pub(crate) fn from_stored(text: &str) -> Result<Self, TenantIdError> {
        if text == ADMIN {
            return Ok(Self::admin());
        }
        Self::parse(text)
    }
}

fn is_valid(name: &str) -> bool {
    let bytes = name.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes[1..]
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_');
    (2..=MAX_LEN).contains(&bytes.len()) && first_ok && rest_ok
}

/// Keeps an echoed bad name short enough for a chat reply.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 40;
    if text.chars().count() <= SHOWN {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN).collect();
    format!("{head}…")
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl FromStr for TenantId {
    type Err = TenantIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Self::from_stored(&text).map_err(serde::de::Error::custom)
    }
}

/// The life-cycle state of a tenant's session (DESIGN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// The browser is starting.
    Starting,
    /// Waiting for a QR scan.
    Qr,
    /// Waiting for a pairing code to be typed on the phone.
    Pairing,
    /// Logged in, loading chats.
    Syncing,
    /// Logged in and answering.
    Online,
    /// WhatsApp Web was opened elsewhere.
    Conflict,
    /// The phone removed this linked device.
    LoggedOut,
    /// Nobody scanned in time; `!qr` starts a new attempt.
    QrExpired,
    /// The browser died; a restart is due.
    Crashed,
    /// Stopped by the operator.
    Stopped,
    /// Crashed too often in a row; waits for `!iniciar`.
    Failed,
}

impl SessionState {
    /// Whether a session in this state has ended (its task is gone).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::LoggedOut | Self::QrExpired | Self::Stopped | Self::Failed
        )
    }

    /// Every state, in the order of DESIGN.md §5.
    pub const ALL: [SessionState; 11] = [
        Self::Starting,
        Self::Qr,
        Self::Pairing,
        Self::Syncing,
        Self::Online,
        Self::Conflict,
        Self::LoggedOut,
        Self::QrExpired,
        Self::Crashed,
        Self::Stopped,
        Self::Failed,
    ];

    /// The state's stored and displayed name (`qr_expired`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Qr => "qr",
            Self::Pairing => "pairing",
            Self::Syncing => "syncing",
            Self::Online => "online",
            Self::Conflict => "conflict",
            Self::LoggedOut => "logged_out",
            Self::QrExpired => "qr_expired",
            Self::Crashed => "crashed",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    /// The state a session takes when orbitbot itself restarts (DESIGN.md §5).
    pub fn after_restart(self) -> SessionState {
        match self {
            Self::Online | Self::Syncing | Self::Starting | Self::Conflict | Self::Crashed => {
                Self::Starting
            }
            Self::Qr | Self::Pairing => Self::QrExpired,
            Self::LoggedOut | Self::QrExpired | Self::Stopped | Self::Failed => self,
        }
    }
}

impl SessionState {
    /// How the operator reads the state in chat answers (pt-BR).
    pub fn label(self) -> &'static str {
        match self {
            Self::Starting => "iniciando",
            Self::Qr => "aguardando QR",
            Self::Pairing => "aguardando código",
            Self::Syncing => "sincronizando",
            Self::Online => "online",
            Self::Conflict => "em conflito",
            Self::LoggedOut => "desconectado",
            Self::QrExpired => "QR expirado",
            Self::Crashed => "navegador caiu",
            Self::Stopped => "parado",
            Self::Failed => "falhou",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What the control database knows about one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// The tenant's id.
    pub id: TenantId,
    /// Its session's last known state.
    pub state: SessionState,
    /// The phone number the client linked, once known (digits).
    pub phone: Option<String>,
    /// When the tenant was created, Unix milliseconds.
    pub created_ms: u64,
    /// When `state` last changed, Unix milliseconds.
    pub state_since_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(
            TenantId::parse("  Loja-Da-Ana ").unwrap().as_str(),
            "loja-da-ana"
        );
        assert_eq!(TenantId::parse("a1").unwrap().as_str(), "a1");
        assert_eq!(TenantId::parse("0_x-y").unwrap().as_str(), "0_x-y");
        assert!(TenantId::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn rejects_unsafe_and_odd_names() {
        for bad in [
            "../../etc",
            "a/../b",
            "loja da ana",
            "lojá",
            "ção",
            "a",
            "-abc",
            "_abc",
            "a.b",
            "a\\b",
            "a\0b",
        ] {
            assert!(
                matches!(TenantId::parse(bad), Err(TenantIdError::Invalid(_))),
                "{bad:?} should be invalid"
            );
        }
        assert_eq!(TenantId::parse("   "), Err(TenantIdError::Empty));
        assert_eq!(TenantId::parse(""), Err(TenantIdError::Empty));
        assert_eq!(TenantId::parse(" ADMIN "), Err(TenantIdError::Reserved));
        assert!(TenantId::parse(&"a".repeat(33)).is_err());
        assert!(TenantId::parse(&"a".repeat(200)).is_err());
    }

    #[test]
    fn error_text_shows_the_rule_and_a_short_echo() {
        let err = TenantId::parse(&"x y".repeat(70)).unwrap_err().to_string();
        assert!(err.starts_with("nome de cliente inválido \"x yx"), "{err}");
        assert!(err.contains("…\""), "{err}");
        assert!(err.contains("de 2 a 32 caracteres"), "{err}");
    }

    #[test]
    fn admin_only_from_the_supervisor_or_storage() {
        assert!(TenantId::admin().is_admin());
        assert_eq!(TenantId::from_stored("admin").unwrap(), TenantId::admin());
        let id: TenantId = serde_json::from_str("\"loja\"").unwrap();
        assert_eq!(id.as_str(), "loja");
        assert!(serde_json::from_str::<TenantId>("\"../x\"").is_err());
    }

    #[test]
    fn restart_rules_follow_the_design() {
        use SessionState::*;
        assert_eq!(Online.after_restart(), Starting);
        assert_eq!(Crashed.after_restart(), Starting);
        assert_eq!(Qr.after_restart(), QrExpired);
        assert_eq!(Pairing.after_restart(), QrExpired);
        assert_eq!(Stopped.after_restart(), Stopped);
        assert_eq!(Failed.after_restart(), Failed);
        assert_eq!(LoggedOut.after_restart(), LoggedOut);
    }
}
