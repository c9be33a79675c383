//! The HTTP client of an OpenAI-compatible chat endpoint.
//!
//! One [`AiClient`] per process: it posts a [`ChatRequest`] to
//! `<base_url>/chat/completions`, retries what may pass on a second try (no answer,
//! 429, 5xx) with a doubling backoff or the server's `Retry-After`, and keeps at most
//! 8 requests open at once. The API key lives in [`ApiKey`], which never
//! prints it; the `Authorization` header is marked sensitive and server texts that
//! echo the key are masked before they reach an error or a log line.

mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use tokio::sync::Semaphore;
use tracing::{debug, instrument, warn};

use super::{Answer, ChatRequest};
use crate::config::AiConfig;

/// How long connecting to the endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Extra tries after a retryable failure, by default (3 tries in all).
const DEFAULT_RETRIES: u32 = 2;

/// The first wait before a retry, by default; it doubles after each retry.
const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Requests one client keeps open at once (its clones included).
const IN_FLIGHT: usize = 8;

/// How much of an error body is kept, in characters.
const BODY_CUT: usize = 200;

/// What stands in place of the key.
const MASK: &str = "***";

/// The API key, read from the environment; never printed.
pub struct ApiKey(String);

impl ApiKey {
    /// The key in the environment variable `var` (surrounding blanks dropped).
    pub fn from_env(var: &str) -> Result<ApiKey, AiError> {
        let missing = || AiError::MissingKey {
            var: var.to_owned(),
        };
        let value = std::env::var(var).map_err(|_| missing())?;
        match value.trim() {
            "" => Err(missing()),
            key => Ok(ApiKey(key.to_owned())),
        }
    }

    /// A key given directly (tests).
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The `Authorization` header, marked sensitive so it is never printed.
    fn header(&self) -> Result<HeaderValue, AiError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| AiError::Client("a chave da API tem caracteres inválidos".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// `text` with every copy of the key masked.
    fn redact(&self, text: &str) -> String {
        text.replace(&self.0, MASK)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({MASK})")
    }
}

/// Why a chat request failed; `Display` is a short pt-BR text for the operator.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    /// The key's environment variable is unset or empty.
    #[error("a variável de ambiente {var} (de [ai] api_key_env) não está definida")]
    MissingKey {
        /// The variable's name.
        var: String,
    },
    /// No connection: refused, unknown host, reset before the answer.
    #[error("não consegui falar com a IA: {0}")]
    Unreachable(String),
    /// No whole answer within the timeout.
    #[error("a IA não respondeu em {}", duration_text(*.0))]
    Timeout(Duration),
    /// The endpoint answered with an error status.
    #[error("a IA respondeu com erro HTTP {code}{}: {body}", hint(*.code))]
    Status {
        /// The HTTP status.
        code: u16,
        /// The start of the body, blanks squeezed, the key masked.
        body: String,
    },
    /// A 2xx answer without a usable reply.
    #[error("a IA deu uma resposta inválida: {0}")]
    BadAnswer(String),
    /// The HTTP client could not be set up.
    #[error("não consegui preparar o cliente da IA: {0}")]
    Client(String),
}

impl AiError {
    /// Whether another try may succeed: no answer, a timeout, 429 or 5xx.
    pub fn retryable(&self) -> bool {
        match self {
            AiError::Unreachable(_) | AiError::Timeout(_) => true,
            AiError::Status { code, .. } => *code == 429 || (500..=599).contains(code),
            _ => false,
        }
    }
}

/// What to check for a status that usually means a wrong `base_url` or key.
fn hint(code: u16) -> &'static str {
    match code {
        404 | 405 => " (confira [ai] base_url: o endereço base, terminado em /v1)",
        401 | 403 => " (confira a chave em [ai] api_key_env)",
        _ => "",
    }
}

/// `1 s`, `60 s`, or `200 ms` below a second or off the whole second.
fn duration_text(d: Duration) -> String {
    if d >= Duration::from_secs(1) && d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// A client of one endpoint and model; clones share the connections and the
/// in-flight limit.
#[derive(Clone)]
pub struct AiClient {
    shared: Arc<Shared>,
    timing: Timing,
}

/// What every clone of a client shares.
struct Shared {
    http: reqwest::Client,
    endpoint: url::Url,
    model: String,
    key: Option<ApiKey>,
    auth: Option<HeaderValue>,
    slots: Semaphore,
}

/// The per-request timeout and the retry policy.
#[derive(Debug, Clone, Copy)]
struct Timing {
    timeout: Duration,
    retries: u32,
    backoff: Duration,
}

/// One failed try, with the wait the server asked for.
struct Failure {
    error: AiError,
    retry_after: Option<Duration>,
}

impl From<AiError> for Failure {
    fn from(error: AiError) -> Failure {
        Failure {
            error,
            retry_after: None,
        }
    }
}

impl AiClient {
    /// A client of `config`'s endpoint and model, sending `key` as a bearer token.
    pub fn new(config: &AiConfig, key: Option<ApiKey>) -> Result<AiClient, AiError> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            // NOTE: an API has no reason to redirect, and a redirect could carry the key.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AiError::Client(root_cause(&e)))?;
        let auth = key.as_ref().map(ApiKey::header).transpose()?;
        let shared = Shared {
            http,
            endpoint: endpoint(&config.base_url)?,
            model: config.model.clone(),
            key,
            auth,
            slots: Semaphore::new(IN_FLIGHT),
        };
        let timing = Timing {
            timeout: config.timeout,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
        };
        Ok(AiClient {
            shared: Arc::new(shared),
            timing,
        })
    }

    /// The same client with another timeout, number of retries and first backoff
    /// (tests use short ones).
    pub fn with_timing(self, timeout: Duration, retries: u32, backoff: Duration) -> AiClient {
        AiClient {
            timing: Timing {
                timeout,
                retries,
                backoff,
            },
            ..self
        }
    }

    /// The model named in every request.
    pub fn model(&self) -> &str {
        &self.shared.model
    }

    /// Asks the endpoint, retrying what may pass on another try.
    #[instrument(skip_all, fields(model = %self.shared.model))]
    pub async fn chat(&self, request: &ChatRequest) -> Result<Answer, AiError> {
        let body =
            wire::body(&self.shared.model, request).map_err(|e| AiError::Client(e.to_string()))?;
        let mut backoff = self.timing.backoff;
        let mut tries = 0;
        loop {
            tries += 1;
            let failure = match self.attempt(&body, tries).await {
                Ok(bytes) => return wire::answer(&bytes, request, tries),
                Err(failure) => failure,
            };
            if !failure.error.retryable() || tries > self.timing.retries {
                return Err(failure.error);
            }

            let wait = failure.retry_after.unwrap_or(backoff);
            let wait_ms = wait.as_millis();
            warn!(attempt = tries, error = %failure.error, wait_ms, "AI request failed; retrying");
            tokio::time::sleep(wait).await;
            backoff = backoff.saturating_mul(2);
        }
    }

    /// One HTTP request in an in-flight slot: the body of a 2xx answer, or why not.
    async fn attempt(&self, body: &[u8], attempt: u32) -> Result<Vec<u8>, Failure> {
        let _slot =
            self.shared.slots.acquire().await.map_err(|_| {
                Failure::from(AiError::Client("o cliente da IA foi encerrado".into()))
            })?;
        let started = Instant::now();
        let response = self.send(body).await.map_err(|e| {
            let elapsed_ms = started.elapsed().as_millis();
            debug!(attempt, error = %e, elapsed_ms, "AI request got no answer");
            Failure::from(self.transport(e))
        })?;

        let status = response.status();
        let elapsed_ms = started.elapsed().as_millis();
        debug!(attempt, status = status.as_u16(), elapsed_ms, "AI answered");
        if !status.is_success() {
            return Err(self.refusal(response).await);
        }
        let bytes = response.bytes().await.map_err(|e| self.transport(e))?;
        Ok(bytes.to_vec())
    }

    /// Posts `body` with the timeout and, when there is a key, the bearer token.
    async fn send(&self, body: &[u8]) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self
            .shared
            .http
            .post(self.shared.endpoint.clone())
            .timeout(self.timing.timeout)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(auth) = &self.shared.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        request.send().await
    }

    /// A non-2xx answer as an error, with the wait asked by `Retry-After`.
    async fn refusal(&self, response: reqwest::Response) -> Failure {
        let code = response.status();
        let retry_after = retry_after(code, response.headers());
        let text = response.text().await.unwrap_or_default();
        let error = AiError::Status {
            code: code.as_u16(),
            body: self.excerpt(&text),
        };
        Failure { error, retry_after }
    }

    /// A transport failure, without the URL (it may hold a password).
    fn transport(&self, error: reqwest::Error) -> AiError {
        let error = error.without_url();
        if error.is_timeout() && !error.is_connect() {
            AiError::Timeout(self.timing.timeout)
        } else {
            AiError::Unreachable(root_cause(&error))
        }
    }

    /// The start of a server text on one line, the key masked.
    fn excerpt(&self, text: &str) -> String {
        let text = match &self.shared.key {
            Some(key) => key.redact(text),
            None => text.to_owned(),
        };
        let squeezed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        squeezed.chars().take(BODY_CUT).collect()
    }
}

impl fmt::Debug for AiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut endpoint = self.shared.endpoint.clone();
        if endpoint.password().is_some() {
            let _ = endpoint.set_password(Some(MASK));
        }
        f.debug_struct("AiClient")
            .field("endpoint", &endpoint.as_str())
            .field("model", &self.shared.model)
            .field("key", &self.shared.key)
            .field("timing", &self.timing)
            .finish()
    }
}

/// `<base>/chat/completions`, with or without a trailing slash on `base`.
fn endpoint(base: &url::Url) -> Result<url::Url, AiError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| AiError::Client("[ai] base_url não é um endereço http(s)".into()))?
        .pop_if_empty()
        .extend(["chat", "completions"]);
    Ok(url)
}

/// The wait a 429 or 503 asks for in seconds, capped at [`MAX_RETRY_AFTER`].
fn retry_after(code: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if code != StatusCode::TOO_MANY_REQUESTS && code != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let seconds: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// The innermost cause of an error, which says what happened
/// (`Connection refused (os error 111)`).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests;
