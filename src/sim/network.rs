//! Message traffic: delivery to phones' inboxes and accounts' pages, echoes of own
//! sends, acks, edits, revokes and history reads.

use serde_json::{Value, json};

use super::address::{group_id, phone_digits};
use super::error::SimError;
use super::message::NetMsg;
use super::world::{AccountState, World, now_ms};

impl World {
    /// The digits of a known phone written in any form, LID included.
    pub(crate) fn known_phone(&self, input: &str) -> Result<String, SimError> {
        if input.ends_with("@lid") {
            let found = self.phones.values().find(|p| p.lid == input);
            return found
                .map(|p| p.phone.clone())
                .ok_or_else(|| SimError::missing("phone", input));
        }
        let digits = phone_digits(input)
            .ok_or_else(|| SimError::BadRequest(format!("not a phone number: {input}")))?;
        match self.phones.contains_key(&digits) {
            true => Ok(digits),
            false => Err(SimError::missing("phone", input)),
        }
    }

    /// The id of a known group.
    pub(crate) fn known_group(&self, input: &str) -> Result<String, SimError> {
        group_id(input)
            .filter(|id| self.groups.contains_key(id))
            .ok_or_else(|| SimError::missing("group", input))
    }

    /// `msg` as a wa-js model on `viewer`'s page, its quote resolved to a message key.
    pub(crate) fn model(&self, msg: &NetMsg, viewer: &str, is_new: bool) -> Value {
        let mut model = msg.model_for(viewer, is_new);
        let quoted = msg.quoted_id.as_ref().and_then(|q| self.messages.get(q));
        if let Some(quoted) = quoted {
            model["quotedMsgId"] = quoted.key_for(viewer);
            model["quotedParticipant"] = json!(quoted.sender_address());
        }
        model
    }

    /// The phones a message reaches (not its sender, except a note-to-self).
    fn recipients(&self, msg: &NetMsg) -> Vec<String> {
        match &msg.group {
            Some(group) => self.groups.get(group).map_or_else(Vec::new, |g| {
                g.members
                    .iter()
                    .filter(|m| **m != msg.sender)
                    .cloned()
                    .collect()
            }),
            None => vec![msg.to.clone()],
        }
    }

    /// Delivers `msg`: every recipient's inbox and page, and the echo on the sender's.
    pub(crate) fn route(&mut self, msg: NetMsg) {
        let now = now_ms();
        let recipients = self.recipients(&msg);
        for phone in &recipients {
            let entry = msg.inbox_entry(phone, now);
            self.inboxes.entry(phone.clone()).or_default().push(entry);
            let model = self.model(&msg, phone, true);
            self.deliver(phone, "msg", model);
        }
        if !recipients.contains(&msg.sender) {
            let model = self.model(&msg, &msg.sender, true);
            self.deliver(&msg.sender.clone(), "msg", model);
        }
        self.order.push(msg.key.clone());
        self.messages.insert(msg.key.clone(), msg);
    }

    /// Message `key` as sent by `sender`: only the sender may change it.
    fn sent_by(&mut self, sender: &str, key: &str) -> Result<&mut NetMsg, SimError> {
        self.messages
            .get_mut(key)
            .filter(|m| m.sender == sender)
            .ok_or_else(|| SimError::NotFound(format!("unknown message {key} from {sender}")))
    }

    /// The sender edits message `key`; every party's page hears `chat.msg_edited`.
    pub(crate) fn edit(&mut self, sender: &str, key: &str, body: &str) -> Result<(), SimError> {
        let msg = self.sent_by(sender, key)?;
        match msg.is_media() {
            true => msg.caption = Some(body.to_owned()),
            false => msg.body = Some(body.to_owned()),
        }
        let msg = msg.clone();
        for phone in self.parties(&msg) {
            let data = json!({
                "chat": msg.chat_for(&phone),
                "id": msg.key_for(&phone)["_serialized"],
                "msg": self.model(&msg, &phone, false),
            });
            self.deliver(&phone, "edit", data);
        }
        Ok(())
    }

    /// The sender deletes message `key` for everyone (`chat.msg_revoke`).
    pub(crate) fn revoke(&mut self, sender: &str, key: &str) -> Result<(), SimError> {
        let msg = self.sent_by(sender, key)?;
        msg.kind = "revoked".to_owned();
        let msg = msg.clone();
        let revoke_key = super::message::new_key();
        for phone in self.parties(&msg) {
            let model = msg.model_for(&phone, false);
            let mut id = msg.key_for(&phone);
            id["id"] = json!(revoke_key);
            let data = json!({
                "author": model["author"],
                "from": model["from"],
                "to": model["to"],
                "id": id,
                "refId": msg.key_for(&phone),
                "type": "revoke",
            });
            self.deliver(&phone, "revoke", data);
        }
        Ok(())
    }

    /// Everyone who has the message: recipients and the sender.
    fn parties(&self, msg: &NetMsg) -> Vec<String> {
        let mut parties = self.recipients(msg);
        if !parties.contains(&msg.sender) {
            parties.push(msg.sender.clone());
        }
        parties
    }

    /// Tells the sender's page that its message `key` reached `ack`.
    pub(crate) fn ack(&mut self, key: &str, ack: u8) {
        let Some(msg) = self.messages.get(key).cloned() else {
            return;
        };
        let data = json!({
            "ack": ack,
            "chat": msg.chat_for(&msg.sender),
            "ids": [msg.key_for(&msg.sender)],
        });
        self.deliver(&msg.sender, "ack", data);
    }

    /// `reader` read `chat`: senders of its unread messages get the read ack (3).
    pub(crate) fn mark_read(&mut self, reader: &str, chat: &str) {
        let unread: Vec<String> = self
            .order
            .iter()
            .filter(|key| !self.read.contains(*key))
            .filter(|key| {
                self.messages.get(*key).is_some_and(|m| {
                    m.sender != reader
                        && m.in_chat(reader, chat)
                        && self.recipients(m).iter().any(|r| r == reader)
                })
            })
            .cloned()
            .collect();
        for key in unread {
            self.ack(&key, 3);
            self.read.insert(key);
        }
    }

    /// The last `count` messages of `chat` seen from `viewer`, oldest first.
    pub(crate) fn history(&self, viewer: &str, chat: &str, count: usize) -> Vec<Value> {
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<Value> = Vec::new();
        for key in self.order.iter().rev() {
            let Some(msg) = self.messages.get(key) else {
                continue;
            };
            let involved =
                msg.sender == *viewer || self.recipients(msg).iter().any(|r| r == viewer);
            if involved && msg.in_chat(viewer, chat) && seen.insert(key) {
                out.push(self.model(msg, viewer, false));
            }
            if out.len() >= count {
                break;
            }
        }
        out.reverse();
        out
    }

    /// Consumes the account's injected send failure, if one is due now.
    pub(crate) fn take_send_fault(&mut self, phone: &str) -> Option<String> {
        let faults = &mut self.accounts.get_mut(phone)?.faults;
        faults.send_error.as_ref()?;
        if faults.after_n > 0 {
            faults.after_n -= 1;
            return None;
        }
        faults.send_error.take()
    }

    /// The media of message `key` for account `phone`, or the injected failure.
    pub(crate) fn media(&self, phone: &str, key: &str) -> Result<(String, String), SimError> {
        let msg = self
            .messages
            .get(key)
            .filter(|m| m.is_media())
            .ok_or_else(|| SimError::missing("media message", key))?;
        let fault = self
            .accounts
            .get(phone)
            .and_then(|a| a.faults.media.clone());
        let received = msg.sender != phone;
        match fault.as_deref() {
            Some("expired") if received => Err(SimError::Gone(
                "media expired: gone from the servers (re-upload failed)".to_owned(),
            )),
            Some("decrypt") if received => {
                Err(SimError::Fault("media decryption failed".to_owned()))
            }
            _ => Ok((
                msg.media_b64.clone().unwrap_or_default(),
                msg.mimetype
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
            )),
        }
    }

    /// Whether account `phone` can send now.
    pub(crate) fn can_send(&self, phone: &str) -> bool {
        self.accounts
            .get(phone)
            .is_some_and(|a| a.state == AccountState::Main)
    }
}
