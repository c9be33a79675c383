//! Who may use the panel: login against `[[panel.users]]`, sessions kept in memory
//! behind an HttpOnly, SameSite=Strict cookie (`Secure` on https), a CSRF token per
//! session checked on every form, and lockout after repeated failures.
//!
//! Lockout is per phone, not per address: behind a reverse proxy every visitor has
//! the proxy's address, and locking it would lock every operator out at once.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Shared, html, password, token};
use crate::chat::PhoneNumber;
use crate::config::PanelConfig;

/// The login session's cookie.
pub const COOKIE: &str = "orbitbot_sessao";
/// The login form's own CSRF cookie (before there is a session).
pub const PRE_COOKIE: &str = "orbitbot_entrada";
/// A session unused this long ends.
const IDLE: Duration = Duration::from_secs(12 * 3600);
/// Failures of one phone within [`WINDOW`] that lock it.
const PHONE_FAILURES: u32 = 5;
/// How far back failures count, and how long a lock lasts.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// A signed-in operator, as a handler gets them.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Their phone, digits only.
    pub phone: String,
    /// Their session's CSRF token, for the forms on the page.
    pub csrf: String,
    /// Their session cookie's value.
    token: String,
}

#[derive(Debug, Clone)]
struct Session {
    phone: String,
    csrf: String,
    last_ms: u64,
    notes: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first_ms: u64,
}

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Phone or password wrong (never says which).
    #[error("Telefone ou senha incorretos.")]
    Wrong,
    /// Too many failures; try again later.
    #[error("Muitas tentativas erradas. Tente de novo em {0} min.")]
    Locked(u64),
}

/// Sessions and failure counts.
#[derive(Debug, Default)]
pub struct Logins {
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Logins {
    /// Checks a login; on success opens a session and returns its cookie value.
    pub fn login(
        &self,
        panel: &PanelConfig,
        phone: &str,
        password: &str,
    ) -> Result<String, LoginError> {
        let phone = PhoneNumber::parse(phone).map(|p| p.as_str().to_owned());
        let key = format!("tel:{}", phone.as_deref().unwrap_or("?"));
        if let Some(left) = self.locked(&key, PHONE_FAILURES) {
            return Err(LoginError::Locked(left.as_secs().div_ceil(60)));
        }
        let user = phone
            .as_ref()
            .ok()
            .and_then(|p| panel.users.iter().find(|u| u.phone.as_str() == p));
        let hash = user.map_or(password::decoy(), |u| u.password_hash.as_str());
        let right = password::verify(password, hash) && user.is_some();
        let Some(user) = user.filter(|_| right) else {
            self.fail(&key);
            return Err(LoginError::Wrong);
        };
        self.failures().remove(&key);
        Ok(self.open(user.phone.as_str()))
    }

    fn open(&self, phone: &str) -> String {
        let value = token::random();
        let session = Session {
            phone: phone.to_owned(),
            csrf: token::random(),
            last_ms: crate::clock::now_ms(),
            notes: Vec::new(),
        };
        let mut sessions = self.sessions();
        let now = crate::clock::now_ms();
        sessions.retain(|_, s| !idle(s, now));
        sessions.insert(token::digest(&value), session);
        value
    }

    /// The operator behind a cookie value, if the session is alive.
    fn operator(&self, value: &str) -> Option<Operator> {
        let now = crate::clock::now_ms();
        let mut sessions = self.sessions();
        let key = token::digest(value);
        let session = sessions.get_mut(&key)?;
        if idle(session, now) {
            sessions.remove(&key);
            return None;
        }
        session.last_ms = now;
        Some(Operator {
            phone: session.phone.clone(),
            csrf: session.csrf.clone(),
            token: value.to_owned(),
        })
    }

    /// Whether the operator's session is still open (not logged out, not idle).
    pub fn alive(&self, operator: &Operator) -> bool {
        let now = crate::clock::now_ms();
        let sessions = self.sessions();
        let session = sessions.get(&token::digest(&operator.token));
        session.is_some_and(|s| !idle(s, now))
    }

    /// Ends a session.
    pub fn logout(&self, operator: &Operator) {
        self.sessions().remove(&token::digest(&operator.token));
    }

    /// Keeps texts to show on the operator's next page (what an action did).
    pub fn tell(&self, operator: &Operator, notes: Vec<String>) {
        if let Some(s) = self.sessions().get_mut(&token::digest(&operator.token)) {
            s.notes.extend(notes);
        }
    }

    /// The texts kept for the operator, once.
    pub fn notes(&self, operator: &Operator) -> Vec<String> {
        self.sessions()
            .get_mut(&token::digest(&operator.token))
            .map(|s| std::mem::take(&mut s.notes))
            .unwrap_or_default()
    }

    fn locked(&self, key: &str, limit: u32) -> Option<Duration> {
        let now = crate::clock::now_ms();
        let mut failures = self.failures();
        let f = *failures.get(key)?;
        let window = u64::try_from(WINDOW.as_millis()).unwrap_or(u64::MAX);
        let ends = f.first_ms.saturating_add(window);
        if now >= ends {
            failures.remove(key);
            return None;
        }
        (f.count >= limit).then(|| Duration::from_millis(ends - now))
    }

    fn fail(&self, key: &str) {
        let now = crate::clock::now_ms();
        let mut failures = self.failures();
        let f = failures.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            first_ms: now,
        });
        f.count += 1;
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn idle(session: &Session, now: u64) -> bool {
    let idle = u64::try_from(IDLE.as_millis()).unwrap_or(u64::MAX);
    now.saturating_sub(session.last_ms) > idle
}

impl Operator {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check(&self, sent: &str) -> Result<(), html::Problem> {
        match token::same(sent, &self.csrf) {
            true => Ok(()),
            false => Err(html::refused(html::FORM_EXPIRED)),
        }
    }
}

impl FromRequestParts<Shared> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, panel: &Shared) -> Result<Self, Response> {
        cookie(parts, COOKIE)
            .and_then(|value| panel.logins.operator(&value))
            .ok_or_else(|| Redirect::to("/entrar").into_response())
    }
}

/// A cookie's value from the request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, `Secure` when the panel is on
/// https. It lasts while the browser is open (the server ends idle sessions); `gone`
/// deletes it.
pub fn set_cookie(panel: &PanelConfig, name: &str, value: &str, gone: bool) -> String {
    let secure = match panel.base_url.scheme() {
        "https" => "; Secure",
        _ => "",
    };
    let age = if gone { "; Max-Age=0" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PanelUser;

    fn panel(password: &str) -> PanelConfig {
        PanelConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            base_url: "https://painel.example".parse().unwrap(),
            link_ttl: Duration::from_secs(900),
            users: vec![PanelUser {
                phone: PhoneNumber::parse("5511988887777").unwrap(),
                password_hash: password::hash(password).unwrap(),
            }],
        }
    }

    #[test]
    fn the_right_password_opens_a_session_and_failures_lock() {
        let panel = panel("senha-certa-1");
        let logins = Logins::default();
        let value = logins
            .login(&panel, "+55 11 98888-7777", "senha-certa-1")
            .unwrap();
        let op = logins.operator(&value).unwrap();
        assert_eq!(op.phone, "5511988887777");
        assert!(op.check(&op.csrf).is_ok() && op.check("x").is_err());
        logins.logout(&op);
        assert!(logins.operator(&value).is_none());

        for _ in 0..PHONE_FAILURES {
            let wrong = logins.login(&panel, "5511988887777", "errada");
            assert_eq!(wrong, Err(LoginError::Wrong));
        }
        let locked = logins.login(&panel, "5511988887777", "senha-certa-1");
        assert_eq!(locked, Err(LoginError::Locked(15)));

        // Many failures for other phones (one address, say) do not lock this one.
        let logins = Logins::default();
        for n in 0..30 {
            let other = logins.login(&panel, &format!("55119000000{n:02}"), "x");
            assert_eq!(other, Err(LoginError::Wrong));
        }
        assert!(
            logins
                .login(&panel, "5511988887777", "senha-certa-1")
                .is_ok()
        );
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_on_https() {
        let cookie = set_cookie(&panel("senha-certa-1"), COOKIE, "v", false);
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(
            !cookie.contains("Max-Age"),
            "ends with the browser: {cookie}"
        );
    }
}
