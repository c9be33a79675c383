//! A fake OpenAI-compatible chat endpoint, scripted by the test.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The only path served; anything else is a 404.
const CHAT_PATH: &str = "/v1/chat/completions";

/// What the script decides for one request.
type Script = dyn Fn(&Value, usize) -> FakeReply + Send + Sync;

/// What the fake endpoint answers to one chat request.
#[derive(Debug, Clone)]
pub(crate) enum FakeReply {
    /// 200 with `choices[0].message.content` and, if given, `usage.total_tokens`.
    Answer {
        /// The reply text.
        text: String,
        /// `usage.total_tokens`; `None` leaves `usage` out.
        tokens: Option<u64>,
    },
    /// That status with a small JSON error body.
    Status(u16),
    /// Waits, then replies.
    Delay(Duration, Box<FakeReply>),
}

impl FakeReply {
    /// A 200 answer of `text` that used 10 tokens.
    pub(crate) fn text(text: impl Into<String>) -> FakeReply {
        FakeReply::Answer {
            text: text.into(),
            tokens: Some(10),
        }
    }

    /// The total wait and the response it ends with.
    fn settle(self) -> (Duration, Response) {
        match self {
            FakeReply::Answer { text, tokens } => (Duration::ZERO, answer(&text, tokens)),
            FakeReply::Status(code) => (Duration::ZERO, error(code)),
            FakeReply::Delay(wait, then) => {
                let (more, response) = then.settle();
                (wait + more, response)
            }
        }
    }
}

/// One request the fake endpoint received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// The JSON body (`Null` when it was not JSON).
    pub(crate) body: Value,
    /// The `Authorization` header, if sent.
    pub(crate) authorization: Option<String>,
    /// The request path.
    pub(crate) path: String,
}

struct Shared {
    recorded: Mutex<Vec<Recorded>>,
    script: Box<Script>,
}

/// A fake OpenAI-compatible endpoint on 127.0.0.1 that records every request.
/// Dropping it stops the server.
pub(crate) struct FakeAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

impl FakeAi {
    /// Serves on a free loopback port; `script` gets the request body and how many
    /// requests came before (0-based) and says what to answer.
    pub(crate) async fn start(
        script: impl Fn(&Value, usize) -> FakeReply + Send + Sync + 'static,
    ) -> FakeAi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            recorded: Mutex::default(),
            script: Box::new(script),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await;
        });
        FakeAi {
            addr,
            shared,
            _stop: stop,
        }
    }

    /// The base URL to put in `[ai] base_url`: `http://127.0.0.1:<port>/v1`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request so far, in arrival order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.shared.recorded.lock().unwrap().clone()
    }

    /// How many requests came so far.
    pub(crate) fn count(&self) -> usize {
        self.shared.recorded.lock().unwrap().len()
    }
}

/// Records the request, then answers by the script (chat path) or 404.
async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        path: uri.path().to_owned(),
    };
    let before = {
        let mut all = shared.recorded.lock().unwrap();
        all.push(recorded.clone());
        all.len() - 1
    };
    if method != Method::POST || recorded.path != CHAT_PATH {
        return error(404);
    }

    let (wait, response) = (shared.script)(&recorded.body, before).settle();
    tokio::time::sleep(wait).await;
    response
}

fn answer(text: &str, tokens: Option<u64>) -> Response {
    let message = json!({"role": "assistant", "content": text});
    let mut body = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    });
    if let Some(total) = tokens {
        body["usage"] = json!({"total_tokens": total});
    }
    Json(body).into_response()
}

fn error(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap();
    let body = json!({"error": {"message": format!("fake error {code}"), "code": code}});
    (status, Json(body)).into_response()
}
