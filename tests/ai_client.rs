//! The AI client through its public API, against the fake endpoint.

use std::time::{Duration, Instant};

use orbitbot::ai::client::{AiClient, AiError, ApiKey};
use orbitbot::ai::{ChatMessage, ChatRequest, Role};
use orbitbot::config::AiConfig;
use serde_json::json;

use crate::support::fake_ai::{FakeAi, FakeReply};

/// The `[ai]` section of a config pointing at `fake`.
fn config(fake: &FakeAi) -> AiConfig {
    AiConfig {
        base_url: fake.base_url().parse().unwrap(),
        model: "fake-model".to_owned(),
        api_key_env: Some("ORBITBOT_TEST_AI_KEY".to_owned()),
        history_turns: 10,
        daily_tokens: 200_000,
        timeout: Duration::from_secs(10),
    }
}

/// A client of `fake` with the key `sk-fake` and a 20 ms first backoff.
fn client(fake: &FakeAi) -> AiClient {
    AiClient::new(&config(fake), Some(ApiKey::new("sk-fake")))
        .unwrap()
        .with_timing(Duration::from_secs(10), 2, Duration::from_millis(20))
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "Você atende a Padaria Sol."),
            ChatMessage::new(Role::User, text),
        ],
        temperature: None,
    }
}

#[tokio::test]
async fn requests_are_recorded_in_order() {
    let fake = FakeAi::start(|_, n| FakeReply::text(format!("resposta {n}"))).await;
    let client = client(&fake);
    let first = client.chat(&ask("Oi")).await.unwrap();
    let second = client.chat(&ask("Tem pão?")).await.unwrap();
    assert_eq!((first.text.as_str(), first.tokens), ("resposta 0", 10));
    assert_eq!(second.text, "resposta 1");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].authorization.as_deref(), Some("Bearer sk-fake"));
    assert_eq!(requests[1].body["messages"][1]["content"], "Tem pão?");
    assert_eq!(
        requests[0].body,
        json!({
            "model": "fake-model",
            "messages": [
                {"role": "system", "content": "Você atende a Padaria Sol."},
                {"role": "user", "content": "Oi"},
            ],
            "stream": false,
        })
    );
}

#[tokio::test]
async fn a_delayed_answer_arrives() {
    let fake = FakeAi::start(|_, _| {
        FakeReply::Delay(
            Duration::from_millis(300),
            Box::new(FakeReply::text("pronto")),
        )
    })
    .await;
    let started = Instant::now();
    let answer = client(&fake).chat(&ask("Oi")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!((answer.text.as_str(), answer.tries), ("pronto", 1));
}

#[tokio::test]
async fn an_unavailable_endpoint_is_tried_again() {
    let fake = FakeAi::start(|_, n| match n {
        0 => FakeReply::Status(503),
        _ => FakeReply::text("voltei"),
    })
    .await;
    let answer = client(&fake).chat(&ask("Oi")).await.unwrap();
    assert_eq!((answer.text.as_str(), answer.tries), ("voltei", 2));
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn too_slow_an_answer_times_out_on_every_try() {
    let fake = FakeAi::start(|_, _| {
        FakeReply::Delay(Duration::from_secs(2), Box::new(FakeReply::text("tarde")))
    })
    .await;
    let client = client(&fake).with_timing(Duration::from_millis(200), 1, Duration::ZERO);
    let err = client.chat(&ask("Oi")).await.unwrap_err();
    assert!(matches!(err, AiError::Timeout(_)), "{err:?}");
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn a_wrong_base_url_is_a_404_not_retried() {
    let fake = FakeAi::start(|_, _| FakeReply::text("nunca")).await;
    let mut config = config(&fake);
    config.base_url = fake.base_url().replace("/v1", "/v2").parse().unwrap();
    let client = AiClient::new(&config, None).unwrap();
    let err = client.chat(&ask("Oi")).await.unwrap_err();
    assert!(matches!(err, AiError::Status { code: 404, .. }), "{err:?}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v2/chat/completions");
    assert_eq!(requests[0].authorization, None);
}

#[tokio::test]
async fn an_answer_without_usage_gets_an_estimate() {
    let fake = FakeAi::start(|_, _| FakeReply::Answer {
        text: "Temos sim!".to_owned(),
        tokens: None,
    })
    .await;
    let answer = client(&fake).chat(&ask("Tem pão?")).await.unwrap();
    // 26 + 8 + 10 characters → ceil(44 / 4).
    assert_eq!(answer.tokens, 11);
}
