//! Errors of the simulator, answered as `{"error": "<text>"}` with their status.

use axum::Json;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A refused simulator request; the text is what the caller reads.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// A phone, account, group, page or message does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request body is over the size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The request contradicts the current state (stale code, not linked, ...).
    #[error("{0}")]
    Conflict(String),
    /// The page is gone: it must attach again.
    #[error("{0}")]
    Gone(String),
    /// An injected network failure (send error, media download failure).
    #[error("{0}")]
    Fault(String),
    /// The listening socket could not be opened.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

impl SimError {
    /// A `NotFound` naming what is missing.
    pub(crate) fn missing(what: &str, name: &str) -> Self {
        Self::NotFound(format!("unknown {what}: {name}"))
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::Fault(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.to_string() }));
        (self.status(), body).into_response()
    }
}

/// The answer for a route that does not exist.
pub(crate) async fn no_route(method: Method, uri: Uri) -> SimError {
    SimError::NotFound(format!("no route: {method} {uri}"))
}

/// The answer for a route that exists, called with another method.
pub(crate) async fn wrong_method(method: Method, uri: Uri) -> SimError {
    SimError::MethodNotAllowed(format!("method {method} not allowed on {uri}"))
}

/// Turns any error answer that is not JSON yet (an extractor's plain-text rejection)
/// into `{"error": "<text>"}` with the same status.
pub(crate) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), ERROR_TEXT_LIMIT)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    let text = match text.is_empty() {
        true => status.canonical_reason().unwrap_or("error").to_owned(),
        false => text,
    };
    (status, Json(json!({ "error": text }))).into_response()
}

/// How much of a plain-text error answer is kept.
const ERROR_TEXT_LIMIT: usize = 64 * 1024;
