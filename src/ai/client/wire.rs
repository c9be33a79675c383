//! The endpoint's JSON: the body sent, and the [`Answer`] read out of the reply.

use serde::{Deserialize, Serialize};

use super::AiError;
use crate::ai::{Answer, ChatMessage, ChatRequest};

/// The request body: exactly these fields, `temperature` only when set.
#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

/// The part of a chat completion we read.
#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    total_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl Usage {
    /// The total, else prompt plus completion.
    fn tokens(&self) -> Option<u64> {
        let parts = self.prompt_tokens.zip(self.completion_tokens);
        self.total_tokens
            .or_else(|| parts.map(|(p, c)| p.saturating_add(c)))
    }
}

/// The JSON body asking `model` for `request`, not streamed.
pub(super) fn body(model: &str, request: &ChatRequest) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&Body {
        model,
        messages: &request.messages,
        stream: false,
        temperature: request.temperature,
    })
}

/// The answer in a 2xx body: `choices[0].message.content`, not blank.
pub(super) fn answer(bytes: &[u8], request: &ChatRequest, tries: u32) -> Result<Answer, AiError> {
    let completion: Completion = serde_json::from_slice(bytes)
        .map_err(|e| AiError::BadAnswer(format!("não é uma resposta de chat ({e})")))?;
    let text = completion
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message)
        .and_then(|message| message.content)
        .ok_or_else(|| AiError::BadAnswer("falta choices[0].message.content".into()))?;
    if text.trim().is_empty() {
        return Err(AiError::BadAnswer("o texto veio vazio".into()));
    }

    let tokens = completion
        .usage
        .and_then(|usage| usage.tokens())
        .unwrap_or_else(|| estimate(request, &text));
    Ok(Answer {
        text,
        tokens,
        tries,
    })
}

/// About one token per 4 characters of everything sent and received.
fn estimate(request: &ChatRequest, text: &str) -> u64 {
    let sent: usize = request
        .messages
        .iter()
        .map(|m| m.content.chars().count())
        .sum();
    let chars = sent.saturating_add(text.chars().count());
    u64::try_from(chars).unwrap_or(u64::MAX).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::ai::Role;

    fn request(temperature: Option<f32>) -> ChatRequest {
        ChatRequest {
            messages: vec![
                ChatMessage::new(Role::System, "12345678"),
                ChatMessage::new(Role::User, "abc"),
            ],
            temperature,
        }
    }

    fn read(reply: Value) -> Result<Answer, AiError> {
        answer(reply.to_string().as_bytes(), &request(None), 1)
    }

    fn reply(usage: Value) -> Value {
        json!({"choices": [{"message": {"role": "assistant", "content": "olá"}}], "usage": usage})
    }

    #[test]
    fn body_has_exactly_the_four_fields() {
        let sent: Value = serde_json::from_slice(&body("m", &request(Some(0.5))).unwrap()).unwrap();
        let messages = json!([
            {"role": "system", "content": "12345678"},
            {"role": "user", "content": "abc"},
        ]);
        let expected =
            json!({"model": "m", "messages": messages, "stream": false, "temperature": 0.5});
        assert_eq!(sent, expected);
        let sent: Value = serde_json::from_slice(&body("m", &request(None)).unwrap()).unwrap();
        assert_eq!(
            sent,
            json!({"model": "m", "messages": messages, "stream": false})
        );
    }

    #[test]
    fn tokens_come_from_usage_then_its_parts_then_an_estimate() {
        let total = json!({"total_tokens": 42, "prompt_tokens": 1, "completion_tokens": 1});
        assert_eq!(read(reply(total)).unwrap().tokens, 42);
        let parts = json!({"prompt_tokens": 7, "completion_tokens": 5});
        assert_eq!(read(reply(parts)).unwrap().tokens, 12);
        // 8 + 3 + 3 characters (not bytes: "olá" is 4 bytes) → ceil(14 / 4).
        assert_eq!(read(reply(Value::Null)).unwrap().tokens, 4);
        assert_eq!(read(reply(json!({}))).unwrap().tokens, 4);
    }

    #[test]
    fn unusable_replies_are_bad_answers() {
        let blank = json!({"choices": [{"message": {"content": " \n"}}]});
        let null = json!({"choices": [{"message": {"content": null}}]});
        for reply in [json!({}), json!({"choices": []}), blank, null, json!([1])] {
            let err = read(reply.clone()).unwrap_err();
            assert!(matches!(err, AiError::BadAnswer(_)), "{reply} → {err:?}");
        }
        let err = answer(b"<html>", &request(None), 1).unwrap_err();
        assert!(matches!(err, AiError::BadAnswer(_)), "{err:?}");
    }
}
