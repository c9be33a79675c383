//! What the page's `__wab.poll` returns, as typed Rust values.
//!
//! Every event of bridge protocol v1 becomes a [`BridgeEvent`]; a shape this code does
//! not know becomes [`BridgeEvent::BridgeError`] (and a warning), never a panic.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::warn;

/// A message as the bridge reports it (DESIGN.md §4 `message` data).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundMessage {
    /// The key id (`id.id`), the same whichever form the sender used; dedupe on it.
    pub id: String,
    /// The full serialized id (`false_5511…@c.us_ABC`).
    #[serde(default)]
    pub serialized: Option<String>,
    /// The chat: the contact's or the group's id.
    pub chat_id: String,
    /// The sender as WhatsApp wrote it (`…@c.us`, `…@lid`, or the group).
    #[serde(default)]
    pub from: Option<String>,
    /// The sender's phone chat id when `from` is a LID.
    #[serde(default)]
    pub sender_pn: Option<String>,
    /// The recipient.
    #[serde(default)]
    pub to: Option<String>,
    /// The member who wrote it, in groups.
    #[serde(default)]
    pub author: Option<String>,
    /// Whether the account itself sent it (an echo of our own send, or typed on the phone).
    #[serde(default)]
    pub from_me: bool,
    /// Whether it was posted in a group.
    #[serde(default)]
    pub is_group: bool,
    /// WhatsApp's type: `chat`, `image`, `ptt`, `ciphertext`, `protocol`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The subtype, for protocol messages.
    #[serde(default)]
    pub subtype: Option<String>,
    /// The text for `chat`, the caption for media.
    #[serde(default)]
    pub text: Option<String>,
    /// The media's MIME type.
    #[serde(default)]
    pub mimetype: Option<String>,
    /// The document's file name.
    #[serde(default)]
    pub filename: Option<String>,
    /// The media's size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Audio and video length in seconds.
    #[serde(default)]
    pub duration_sec: Option<u32>,
    /// When it was sent, Unix seconds.
    #[serde(default)]
    pub t: Option<u64>,
    /// The sender's display name.
    #[serde(default)]
    pub push_name: Option<String>,
    /// The key id of the quoted message.
    #[serde(default)]
    pub quoted_id: Option<String>,
    /// Whether there is media to download.
    #[serde(default)]
    pub has_media: bool,
    /// Mentioned chat ids or LIDs.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// `false` for history replayed after downtime.
    #[serde(default)]
    pub is_new: bool,
}

/// One event from the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum BridgeEvent {
    /// A QR code to show; `seq` counts codes within this page load.
    Qr {
        /// The QR text, opaque.
        code: String,
        /// 1 for the first code of the page load.
        seq: u32,
    },
    /// The link attempt went idle: no more codes until `refreshQr`.
    QrIdle,
    /// A pairing code to type on the phone.
    PairCode {
        /// Eight characters.
        code: String,
    },
    /// The phone accepted the link.
    Authenticated,
    /// Logged in and on the main stream.
    Ready {
        /// The account's own chat id.
        me: Option<String>,
        /// The account's own LID.
        lid: Option<String>,
    },
    /// The stream mode changed (`QR`, `SYNCING`, `MAIN`, `CONFLICT`, ...).
    State {
        /// The new mode.
        mode: String,
    },
    /// A message, inbound or our own echo.
    Message(Box<InboundMessage>),
    /// Delivery receipts for sent messages.
    Ack {
        /// WhatsApp's ack number (1 sent, 2 delivered, 3 read, ...).
        ack: i8,
        /// The chat.
        #[serde(rename = "chatId")]
        chat_id: Option<String>,
        /// The key ids acknowledged.
        ids: Vec<Option<String>>,
    },
    /// The sender deleted a message for everyone.
    Revoke {
        /// The deleted message's key id.
        id: Option<String>,
        /// The chat.
        #[serde(rename = "chatId")]
        chat_id: Option<String>,
        /// Who deleted it.
        from: Option<String>,
        /// The member, in groups.
        author: Option<String>,
    },
    /// The sender edited a message.
    Edit {
        /// The edited message's key id.
        id: Option<String>,
        /// The chat.
        #[serde(rename = "chatId")]
        chat_id: Option<String>,
        /// The new text.
        text: Option<String>,
    },
    /// The phone removed this linked device (or WhatsApp did).
    Logout {
        /// WhatsApp's reason, when it gave one.
        reason: Option<String>,
    },
    /// WhatsApp Web was opened elsewhere; `takeover` wins it back.
    Conflict,
    /// WhatsApp wants a newer web client.
    NeedsUpdate,
    /// Something in the page or in this parser went wrong; the session goes on.
    BridgeError {
        /// Where it happened.
        #[serde(rename = "where")]
        place: String,
        /// What happened.
        error: String,
    },
}

/// An event with its place in the page's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sequence number to acknowledge with the next poll.
    pub seq: u64,
    /// The event.
    pub event: BridgeEvent,
}

/// What one `__wab.poll` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollBatch {
    /// The page load the events belong to; a new one resets the cursor.
    pub boot: String,
    /// The events, oldest first.
    pub events: Vec<Envelope>,
}

/// The messages among `events`, each as its id and JSON (what a spool keeps).
pub fn encoded_messages(events: &[Envelope]) -> Vec<(String, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            BridgeEvent::Message(m) => Some((m.id.clone(), serde_json::to_vec(m).ok()?)),
            _ => None,
        })
        .collect()
}

/// Reads a poll answer; unknown or malformed events become `BridgeError` values.
pub fn parse_poll(value: Value) -> Result<PollBatch, String> {
    let Value::Object(mut map) = value else {
        return Err(format!("poll answer is not an object: {value}"));
    };
    let boot = match map.remove("boot") {
        Some(Value::String(boot)) => boot,
        other => return Err(format!("poll answer without boot: {other:?}")),
    };
    let Some(Value::Array(raw)) = map.remove("events") else {
        return Err("poll answer without events".to_owned());
    };
    let events = raw.into_iter().filter_map(parse_envelope).collect();
    Ok(PollBatch { boot, events })
}

fn parse_envelope(raw: Value) -> Option<Envelope> {
    let seq = raw.get("seq").and_then(Value::as_u64);
    let Some(seq) = seq else {
        warn!(event = %truncate(&raw), "bridge event without seq dropped");
        return None;
    };
    let event = serde_json::from_value::<BridgeEvent>(raw.clone()).unwrap_or_else(|e| {
        warn!(seq, error = %e, "bridge event not understood");
        BridgeEvent::BridgeError {
            place: "rust".to_owned(),
            error: format!("evento não entendido ({e}): {}", truncate(&raw)),
        }
    });
    Some(Envelope { seq, event })
}

/// An event for the log, cut short (message bodies never go whole into logs).
fn truncate(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_parses() {
        let batch = parse_poll(json!({"boot": "b1", "events": [
            {"seq": 1, "kind": "qr", "data": {"code": "2@abc,k1,k2,k3", "seq": 1}, "t": 1},
            {"seq": 2, "kind": "qr_idle", "data": null},
            {"seq": 3, "kind": "pair_code", "data": {"code": "ABCD1234"}},
            {"seq": 4, "kind": "authenticated", "data": null},
            {"seq": 5, "kind": "ready", "data": {"me": "5511@c.us", "lid": "99@lid"}},
            {"seq": 6, "kind": "state", "data": {"mode": "MAIN"}},
            {"seq": 7, "kind": "ack", "data": {"ack": 2, "chatId": "5511@c.us", "ids": ["X"]}},
            {"seq": 8, "kind": "revoke", "data": {"id": "X", "chatId": "5511@c.us",
                "from": "5511@c.us", "author": null}},
            {"seq": 9, "kind": "edit", "data": {"id": "X", "chatId": "5511@c.us", "text": "novo"}},
            {"seq": 10, "kind": "logout", "data": {"reason": "device_removed"}},
            {"seq": 11, "kind": "conflict", "data": null},
            {"seq": 12, "kind": "needs_update", "data": null},
            {"seq": 13, "kind": "bridge_error", "data": {"where": "message", "error": "x"}}
        ]}))
        .unwrap();
        assert_eq!(batch.boot, "b1");
        assert_eq!(batch.events.len(), 13);
        let unknown = batch
            .events
            .iter()
            .filter(
                |e| matches!(&e.event, BridgeEvent::BridgeError { place, .. } if place == "rust"),
            )
            .count();
        assert_eq!(unknown, 0, "{:#?}", batch.events);
        assert_eq!(
            batch.events[0].event,
            BridgeEvent::Qr {
                code: "2@abc,k1,k2,k3".into(),
                seq: 1
            }
        );
    }

    #[test]
    fn a_message_with_every_field() {
        let batch = parse_poll(json!({"boot": "b", "events": [{"seq": 1, "kind": "message",
            "data": {"id": "ABC", "serialized": "false_5511@c.us_ABC", "chatId": "120@g.us",
            "from": "120@g.us", "senderPn": null, "to": "5599@c.us", "author": "77@lid",
            "fromMe": false, "isGroup": true, "type": "image", "subtype": null,
            "text": "legenda", "mimetype": "image/jpeg", "filename": null, "size": 1234,
            "durationSec": null, "t": 1718000000, "pushName": "Ana", "quotedId": null,
            "hasMedia": true, "mentions": ["5599@c.us"], "isNew": true}}]}))
        .unwrap();
        let BridgeEvent::Message(m) = &batch.events[0].event else {
            panic!()
        };
        assert_eq!((m.id.as_str(), m.kind.as_str()), ("ABC", "image"));
        assert_eq!(m.author.as_deref(), Some("77@lid"));
        assert_eq!(m.text.as_deref(), Some("legenda"));
        assert!(m.is_group && m.has_media && m.is_new && !m.from_me);
        assert_eq!(m.t, Some(1_718_000_000));
    }

    #[test]
    fn odd_shapes_become_bridge_errors_not_panics() {
        let batch = parse_poll(json!({"boot": "b", "events": [
            {"seq": 1, "kind": "teleport", "data": {}},
            {"seq": 2, "kind": "message", "data": {"id": 5}},
            {"kind": "qr"},
            {"seq": 3, "kind": "qr", "data": {"code": "x", "seq": 2}}
        ]}))
        .unwrap();
        assert_eq!(batch.events.len(), 3, "the one without seq is dropped");
        assert!(matches!(
            batch.events[0].event,
            BridgeEvent::BridgeError { .. }
        ));
        assert!(matches!(
            batch.events[1].event,
            BridgeEvent::BridgeError { .. }
        ));
        assert!(matches!(
            batch.events[2].event,
            BridgeEvent::Qr { seq: 2, .. }
        ));
        assert!(parse_poll(json!([1, 2])).is_err());
        assert!(parse_poll(json!({"events": []})).is_err());
    }
}
