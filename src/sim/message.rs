//! Messages on the simulated network, and how each party sees them: as a wa-js message
//! model on an account's page, or as an inbox entry of a phone.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};

use super::address::{chat_id, lid_of};

/// Media types: messages of these types carry a file.
const MEDIA_TYPES: &[&str] = &["image", "video", "audio", "ptt", "document", "sticker"];

/// One message as the network holds it.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetMsg {
    /// The key id (`id.id` in wa-js), shared by every view of the message.
    pub(crate) key: String,
    /// The sender's digits.
    pub(crate) sender: String,
    /// The sender's display name.
    pub(crate) sender_name: Option<String>,
    /// The recipient phone's digits, or the group id.
    pub(crate) to: String,
    /// The group, when sent to one.
    pub(crate) group: Option<String>,
    /// wa-js message type: `chat`, `image`, `ptt`, `revoked`, ...
    pub(crate) kind: String,
    /// The text of a `chat` message.
    pub(crate) body: Option<String>,
    /// The caption of a media message.
    pub(crate) caption: Option<String>,
    /// The file of a media message, base64.
    pub(crate) media_b64: Option<String>,
    /// The file's MIME type.
    pub(crate) mimetype: Option<String>,
    /// The file's name.
    pub(crate) filename: Option<String>,
    /// Duration of audio or video, seconds.
    pub(crate) duration_s: Option<u64>,
    /// Sent with the sender's LID as `from`.
    pub(crate) as_lid: bool,
    /// Unix seconds.
    pub(crate) t: i64,
    /// The key id of the quoted message.
    pub(crate) quoted_id: Option<String>,
    /// Mentioned chat ids or LIDs.
    pub(crate) mentions: Vec<String>,
}

/// A message delivered to a phone, as `GET /sim/phones/{phone}/inbox` lists it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InboxEntry {
    id: String,
    from: String,
    to: String,
    group: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    body: Option<String>,
    caption: Option<String>,
    mimetype: Option<String>,
    filename: Option<String>,
    media_b64: Option<String>,
    quoted_id: Option<String>,
    t: i64,
    /// When it was delivered, Unix milliseconds.
    pub(crate) received_ms: u64,
}

impl NetMsg {
    /// Whether the message carries a file.
    pub(crate) fn is_media(&self) -> bool {
        self.media_b64.is_some() || MEDIA_TYPES.contains(&self.kind.as_str())
    }

    /// The sender's address as the network shows it: chat id, or LID with `as_lid`.
    pub(crate) fn sender_address(&self) -> String {
        if self.as_lid {
            lid_of(&self.sender)
        } else {
            chat_id(&self.sender)
        }
    }

    /// The chat this message belongs to, seen from `viewer`'s account.
    pub(crate) fn chat_for(&self, viewer: &str) -> String {
        match &self.group {
            Some(group) => group.clone(),
            None if self.sender == viewer => chat_id(&self.to),
            None => self.sender_address(),
        }
    }

    /// Whether `chat` (any form) names this message's chat for `viewer`.
    pub(crate) fn in_chat(&self, viewer: &str, chat: &str) -> bool {
        let own = self.chat_for(viewer);
        let phone_form = (self.group.is_none() && self.sender != viewer)
            .then(|| [chat_id(&self.sender), lid_of(&self.sender)]);
        own == chat || phone_form.is_some_and(|forms| forms.iter().any(|f| f == chat))
    }

    /// The wa-js `MsgKey` of this message on `viewer`'s page.
    pub(crate) fn key_for(&self, viewer: &str) -> Value {
        let from_me = self.sender == viewer;
        let remote = self.chat_for(viewer);
        let participant = (self.group.is_some() && !from_me).then(|| self.sender_address());
        let mut serialized = format!("{from_me}_{remote}_{}", self.key);
        if let Some(p) = &participant {
            serialized = format!("{serialized}_{p}");
        }
        json!({
            "id": self.key,
            "fromMe": from_me,
            "remote": remote,
            "participant": participant,
            "_serialized": serialized,
        })
    }

    /// The wa-js message model of this message on `viewer`'s page.
    pub(crate) fn model_for(&self, viewer: &str, is_new: bool) -> Value {
        let from_me = self.sender == viewer;
        let remote = self.chat_for(viewer);
        let from = match (&self.group, from_me) {
            (_, true) => chat_id(viewer),
            (Some(group), false) => group.clone(),
            (None, false) => self.sender_address(),
        };
        let to = if from_me {
            remote.clone()
        } else {
            chat_id(viewer)
        };
        let author = self.group.as_ref().map(|_| match from_me {
            true => chat_id(viewer),
            false => self.sender_address(),
        });
        let mut model = json!({
            "id": self.key_for(viewer),
            "from": from,
            "to": to,
            "author": author,
            "type": self.kind,
            "body": self.model_body(),
            "caption": self.caption,
            "t": self.t,
            "isGroupMsg": self.group.is_some(),
            "isNewMsg": is_new,
            "isMedia": self.is_media(),
            "ack": if from_me { 1 } else { 0 },
            "self": if from_me { "out" } else { "in" },
            "notifyName": self.sender_name.clone().unwrap_or_default(),
            "mentionedJidList": self.mentions,
        });
        self.add_media_fields(&mut model);
        self.add_optional_fields(&mut model, viewer);
        model
    }

    /// `body` as WhatsApp Web has it: the text, or for media an (empty) thumbnail.
    fn model_body(&self) -> String {
        match self.is_media() {
            true => String::new(),
            false => self.body.clone().unwrap_or_default(),
        }
    }

    fn add_media_fields(&self, model: &mut Value) {
        if !self.is_media() {
            return;
        }
        model["mimetype"] = json!(self.mimetype);
        model["filename"] = json!(self.filename);
        model["size"] = json!(self.media_size());
        model["duration"] = json!(self.duration_s);
    }

    fn add_optional_fields(&self, model: &mut Value, viewer: &str) {
        if self.as_lid && self.sender != viewer {
            model["senderPn"] = json!(chat_id(&self.sender));
        }
        if let Some(quoted) = &self.quoted_id {
            model["quotedStanzaID"] = json!(quoted);
            model["quotedMsgId"] = json!(quoted);
        }
    }

    /// The decoded size of the media, bytes.
    pub(crate) fn media_size(&self) -> usize {
        let b64 = self.media_b64.as_deref().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_or(0, |bytes| bytes.len())
    }

    /// The inbox entry of this message for the phone `recipient`.
    pub(crate) fn inbox_entry(&self, recipient: &str, received_ms: u64) -> InboxEntry {
        InboxEntry {
            id: self.key.clone(),
            from: chat_id(&self.sender),
            to: chat_id(recipient),
            group: self.group.clone(),
            kind: self.kind.clone(),
            body: self.body.clone(),
            caption: self.caption.clone(),
            mimetype: self.mimetype.clone(),
            filename: self.filename.clone(),
            media_b64: self.media_b64.clone(),
            quoted_id: self.quoted_id.clone(),
            t: self.t,
            received_ms,
        }
    }
}

/// A fresh message key id in WhatsApp Web's style.
pub(crate) fn new_key() -> String {
    format!("3EB0{:016X}", fastrand::u64(..))
}

/// The caller's message id, or a fresh one when it gave none (or an empty one).
pub(crate) fn key_or_new(id: Option<String>) -> String {
    id.filter(|id| !id.is_empty()).unwrap_or_else(new_key)
}

/// The wa-js type of a new message: the caller's, else guessed from its media, else
/// `chat`.
pub(crate) fn message_kind(kind: Option<&str>, has_media: bool, mimetype: Option<&str>) -> String {
    match (kind, has_media) {
        (Some(kind), _) => kind.to_owned(),
        (None, true) => media_type(mimetype).to_owned(),
        (None, false) => "chat".to_owned(),
    }
}

/// The wa-js type for a file of `mimetype` when the caller gave none.
pub(crate) fn media_type(mimetype: Option<&str>) -> &'static str {
    match mimetype.unwrap_or_default() {
        m if m.starts_with("image/") => "image",
        m if m.starts_with("video/") => "video",
        m if m.starts_with("audio/ogg") => "ptt",
        m if m.starts_with("audio/") => "audio",
        _ => "document",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> NetMsg {
        NetMsg {
            key: "K1".into(),
            sender: "5511000000001".into(),
            to: "5511000000002".into(),
            kind: "chat".into(),
            body: Some("oi".into()),
            t: 10,
            ..NetMsg::default()
        }
    }

    #[test]
    fn incoming_and_echo_views() {
        let m = msg();
        let inbound = m.model_for("5511000000002", true);
        assert_eq!(inbound["from"], "5511000000001@c.us");
        assert_eq!(inbound["id"]["fromMe"], false);
        let echo = m.model_for("5511000000001", true);
        assert_eq!(echo["id"]["fromMe"], true);
        assert_eq!(echo["to"], "5511000000002@c.us");
        assert_eq!(echo["id"]["_serialized"], "true_5511000000002@c.us_K1");
    }

    #[test]
    fn lid_sender_carries_phone() {
        let m = NetMsg {
            as_lid: true,
            ..msg()
        };
        let model = m.model_for("5511000000002", true);
        assert!(model["from"].as_str().is_some_and(|f| f.ends_with("@lid")));
        assert_eq!(model["senderPn"], "5511000000001@c.us");
        assert!(m.in_chat("5511000000002", "5511000000001@c.us"));
    }
}
