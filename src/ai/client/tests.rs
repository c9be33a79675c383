//! The client against tiny axum servers on `127.0.0.1:0`.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::*;
use crate::ai::{ChatMessage, Role};

/// The key the tests send.
const KEY: &str = "sk-test-0123456789-secret";

/// A request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    auth: Option<String>,
    body: Value,
}

/// What the server answers: the request and how many came before it.
type Script = dyn Fn(&Seen, usize) -> Response + Send + Sync;

struct ServerState {
    seen: Mutex<Vec<Seen>>,
    script: Box<Script>,
    delay: Duration,
    open: AtomicUsize,
}

/// A server that records every request; dropping it stops it.
struct Server {
    addr: SocketAddr,
    state: Arc<ServerState>,
    _stop: oneshot::Sender<()>,
}

impl Server {
    fn base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

async fn serve(script: impl Fn(&Seen, usize) -> Response + Send + Sync + 'static) -> Server {
    serve_after(Duration::ZERO, script).await
}

/// A server that waits `delay` before each answer.
async fn serve_after(
    delay: Duration,
    script: impl Fn(&Seen, usize) -> Response + Send + Sync + 'static,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(ServerState {
        seen: Mutex::default(),
        script: Box::new(script),
        delay,
        open: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .fallback(record)
        .with_state(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await;
    });
    Server {
        addr,
        state,
        _stop: stop,
    }
}

async fn record(
    State(state): State<Arc<ServerState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        path: uri.path().to_owned(),
        auth: headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let before = {
        let mut all = state.seen.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    state.open.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(state.delay).await;
    state.open.fetch_sub(1, Ordering::SeqCst);
    (state.script)(&seen, before)
}

fn ok(text: &str) -> Response {
    let usage = json!({"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23});
    let choice = json!({"index": 0, "message": {"role": "assistant", "content": text}});
    Json(json!({"choices": [choice], "usage": usage})).into_response()
}

fn status(code: u16) -> Response {
    let code = axum::http::StatusCode::from_u16(code).unwrap();
    (code, Json(json!({"error": {"message": "nope"}}))).into_response()
}

fn config(base: &str) -> AiConfig {
    AiConfig {
        base_url: url::Url::parse(base).unwrap(),
        model: "test-model".into(),
        api_key_env: None,
        history_turns: 10,
        daily_tokens: 100_000,
        timeout: Duration::from_secs(60),
    }
}

/// A client of `base` with a 5 s timeout, 2 retries and a 10 ms backoff.
fn client_of(base: &str, key: Option<&str>) -> AiClient {
    AiClient::new(&config(base), key.map(ApiKey::new))
        .unwrap()
        .with_timing(Duration::from_secs(5), 2, Duration::from_millis(10))
}

fn client(server: &Server) -> AiClient {
    client_of(&server.base(), Some(KEY))
}

fn request(temperature: Option<f32>) -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "Você é a Lia."),
            ChatMessage::new(Role::User, "Oi"),
        ],
        temperature,
    }
}

#[tokio::test]
async fn sends_exactly_the_body_and_the_bearer_key() {
    let server = serve(|_, _| ok("Olá!")).await;
    let answer = client(&server).chat(&request(Some(0.5))).await.unwrap();
    assert_eq!(
        answer,
        Answer {
            text: "Olá!".into(),
            tokens: 23,
            tries: 1
        }
    );

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(
        seen[0].auth.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    let expected = json!({
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "Você é a Lia."},
            {"role": "user", "content": "Oi"},
        ],
        "stream": false,
        "temperature": 0.5,
    });
    assert_eq!(seen[0].body, expected);
}

#[tokio::test]
async fn without_key_or_temperature_neither_is_sent() {
    let server = serve(|_, _| ok("Olá!")).await;
    let client = client_of(&server.base(), None);
    client.chat(&request(None)).await.unwrap();
    let seen = server.seen();
    assert_eq!(seen[0].auth, None);
    let body = seen[0].body.as_object().unwrap();
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["messages", "model", "stream"]);
    assert_eq!(client.model(), "test-model");
}

#[tokio::test]
async fn a_trailing_slash_on_the_base_url_gives_the_same_path() {
    let server = serve(|_, _| ok("Olá!")).await;
    let base = format!("{}/", server.base());
    client_of(&base, None).chat(&request(None)).await.unwrap();
    assert_eq!(server.seen()[0].path, "/v1/chat/completions");
}

#[tokio::test]
async fn a_server_error_is_retried() {
    let server = serve(|_, n| if n == 0 { status(500) } else { ok("Olá!") }).await;
    let answer = client(&server).chat(&request(None)).await.unwrap();
    assert_eq!(answer.tries, 2);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = serve(|_, n| {
        if n > 0 {
            return ok("Olá!");
        }
        let mut busy = status(429);
        busy.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        busy
    })
    .await;
    let started = Instant::now();
    let answer = client(&server).chat(&request(None)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer.tries, 2);
}

#[tokio::test]
async fn a_bad_request_is_not_retried() {
    let server = serve(|_, _| status(400)).await;
    let err = client(&server).chat(&request(None)).await.unwrap_err();
    assert!(matches!(err, AiError::Status { code: 400, .. }), "{err:?}");
    assert!(!err.retryable());
    assert_eq!(server.seen().len(), 1);
    assert_eq!(
        err.to_string(),
        r#"a IA respondeu com erro HTTP 400: {"error":{"message":"nope"}}"#
    );
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_after_the_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let started = Instant::now();
    let client = client_of(&format!("http://{addr}/v1"), Some(KEY));
    let err = client.chat(&request(None)).await.unwrap_err();
    assert!(matches!(err, AiError::Unreachable(_)), "{err:?}");
    assert!(err.retryable());
    // Two waits: 10 ms, then 20 ms.
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert!(
        err.to_string().starts_with("não consegui falar com a IA: "),
        "{err}"
    );
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = serve_after(Duration::from_secs(2), |_, _| ok("tarde")).await;
    let client =
        client(&server).with_timing(Duration::from_millis(200), 1, Duration::from_millis(10));
    let err = client.chat(&request(None)).await.unwrap_err();
    assert!(matches!(err, AiError::Timeout(_)), "{err:?}");
    assert_eq!(err.to_string(), "a IA não respondeu em 200 ms");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn without_usage_the_tokens_are_estimated() {
    let server = serve(|_, _| {
        Json(json!({"choices": [{"message": {"content": "Olá, tudo bem?"}}]})).into_response()
    })
    .await;
    let answer = client(&server).chat(&request(None)).await.unwrap();
    // 13 + 2 + 14 characters → ceil(29 / 4).
    assert_eq!(answer.tokens, 8);
}

#[tokio::test]
async fn a_reply_that_is_not_json_is_a_bad_answer() {
    let server = serve(|_, _| "<html>oops</html>".into_response()).await;
    let err = client(&server).chat(&request(None)).await.unwrap_err();
    assert!(matches!(err, AiError::BadAnswer(_)), "{err:?}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn at_most_eight_requests_are_in_flight() {
    let server = serve_after(Duration::from_millis(400), |_, _| ok("Olá!")).await;
    let client = client(&server);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let client = client.clone();
        tasks.push(tokio::spawn(
            async move { client.chat(&request(None)).await },
        ));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.state.open.load(Ordering::SeqCst), 8);
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().tries, 1);
    }
    assert_eq!(server.seen().len(), 10);
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuf {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_key_is_never_printed() {
    let logs = LogBuf::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A server that echoes the Authorization header, as some error pages do.
    let server = serve(|seen, _| {
        let echo = format!("invalid {}", seen.auth.clone().unwrap_or_default());
        let code = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        (code, echo).into_response()
    })
    .await;
    let client = client(&server);
    let err = client.chat(&request(None)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "a IA respondeu com erro HTTP 500: invalid Bearer ***"
    );

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "{logs}");
    let printed = [
        format!("{client:?}"),
        format!("{:?}", ApiKey::new(KEY)),
        format!("{err:?}"),
        err.to_string(),
        logs,
    ];
    for text in printed {
        assert!(!text.contains(KEY), "{text}");
    }
    assert_eq!(format!("{:?}", ApiKey::new(KEY)), "ApiKey(***)");
}

#[test]
fn an_unset_key_variable_is_named() {
    let var = "ORBITBOT_TEST_UNSET_AI_KEY";
    let err = ApiKey::from_env(var).unwrap_err();
    assert!(
        matches!(&err, AiError::MissingKey { var: v } if v == var),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "a variável de ambiente ORBITBOT_TEST_UNSET_AI_KEY (de [ai] api_key_env) \
         não está definida"
    );
}

#[test]
fn only_no_answer_429_and_5xx_are_retryable() {
    let status = |code| AiError::Status {
        code,
        body: String::new(),
    };
    assert!(status(429).retryable() && status(503).retryable() && status(500).retryable());
    assert!(!status(400).retryable() && !status(401).retryable() && !status(404).retryable());
    assert!(!AiError::BadAnswer("x".into()).retryable());
    assert_eq!(
        AiError::Timeout(Duration::from_secs(60)).to_string(),
        "a IA não respondeu em 60 s"
    );
}
