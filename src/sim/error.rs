//! Errors of the simulator, answered as `{"error": "<text>"}` with their status.

use axum::Json;
use axum::http::StatusCode;
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
