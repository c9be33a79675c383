//! Every inbound event is classified before any logic runs; the default is to ignore.
//!
//! Statuses, channels, protocol stubs, ciphertext placeholders and unknown types are
//! nobody's chat (F02, F03). The account's own messages are recorded, never answered
//! (F01); a note-to-self from the linked phone is the owner talking to the bot. Groups
//! say who wrote (`author`) apart from where to answer (the group, F04).

use crate::bridge::event::InboundMessage;
use crate::chat::{ChatId, ChatIdError, ChatKind};

/// Message types that carry something a person wrote or sent.
const KNOWN_TYPES: &[&str] = &[
    "chat",
    "image",
    "video",
    "audio",
    "ptt",
    "ptv",
    "document",
    "sticker",
    "location",
    "vcard",
    "multi_vcard",
    "poll_creation",
    "buttons_response",
    "list_response",
];

/// The account's own addresses, learnt when it came online.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Me {
    /// `<phone>@c.us`.
    pub chat: Option<String>,
    /// `<lid>@lid`.
    pub lid: Option<String>,
}

impl Me {
    /// Whether an address (either form) is the account's own.
    pub fn is(&self, address: &str) -> bool {
        let Ok(id) = ChatId::parse(address) else {
            return false;
        };
        let id = id.to_string();
        self.chat.as_deref() == Some(id.as_str()) || self.lid.as_deref() == Some(id.as_str())
    }
}

/// What an inbound message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Not for the pipeline; the reason goes to the debug log.
    Ignore(&'static str),
    /// The account's own message to a chat: our reply's echo, or typed on the phone.
    Own {
        /// The chat it went to.
        chat: String,
    },
    /// A note-to-self from the linked phone: the owner's `!pausar`, `!retomar`, ...
    OwnerNote,
    /// A contact writing in a private chat.
    Direct {
        /// The chat (the contact's phone or LID address).
        chat: String,
    },
    /// A member writing in a group.
    Group {
        /// The group.
        chat: String,
        /// The member, when WhatsApp said who (permissions are decided on it).
        author: Option<String>,
        /// Whether the account was mentioned.
        mentioned: bool,
    },
}

/// Classifies a message for an account.
pub fn classify(m: &InboundMessage, me: &Me) -> Class {
    let chat = match ChatId::parse(&m.chat_id) {
        Ok(chat) => chat,
        Err(ChatIdError::NotAChat(_)) => return Class::Ignore("status or channel"),
        Err(ChatIdError::Invalid(_)) => return Class::Ignore("unknown chat"),
    };
    if [m.from.as_deref(), m.author.as_deref()]
        .into_iter()
        .flatten()
        .any(|a| matches!(ChatId::parse(a), Err(ChatIdError::NotAChat(_))))
    {
        return Class::Ignore("status or channel");
    }
    if !KNOWN_TYPES.contains(&m.kind.as_str()) {
        return Class::Ignore("protocol, placeholder or unknown type");
    }
    let chat_text = chat.to_string();
    if m.from_me {
        return match me.is(&chat_text) {
            true => Class::OwnerNote,
            false => Class::Own { chat: chat_text },
        };
    }
    match chat.kind() {
        ChatKind::Group => Class::Group {
            author: m.author.as_deref().and_then(normal),
            mentioned: m.mentions.iter().any(|x| me.is(x)),
            chat: chat_text,
        },
        ChatKind::User | ChatKind::Lid if me.is(&chat_text) => Class::Ignore("own chat"),
        ChatKind::User | ChatKind::Lid => Class::Direct { chat: chat_text },
    }
}

/// An address in its normal form (`@s.whatsapp.net` read as `@c.us`, no device).
pub fn normal(address: &str) -> Option<String> {
    ChatId::parse(address).ok().map(|id| id.to_string())
}

/// The phone digits WhatsApp gave beside a LID sender (`senderPn`), if any.
pub fn sender_phone(m: &InboundMessage) -> Option<String> {
    let pn = ChatId::parse(m.sender_pn.as_deref()?).ok()?;
    pn.phone().map(|p| p.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "5511999990010@c.us";

    fn me() -> Me {
        Me {
            chat: Some(ACCOUNT.into()),
            lid: Some("184467440001299@lid".into()),
        }
    }

    fn msg(chat: &str, kind: &str) -> InboundMessage {
        serde_json::from_value(serde_json::json!({
            "id": "X", "chatId": chat, "from": chat, "type": kind, "text": "oi"
        }))
        .unwrap()
    }

    #[test]
    fn statuses_channels_and_stubs_are_ignored() {
        let status = msg("status@broadcast", "image");
        assert_eq!(classify(&status, &me()), Class::Ignore("status or channel"));
        let channel = msg("120363000000000002@newsletter", "chat");
        assert_eq!(
            classify(&channel, &me()),
            Class::Ignore("status or channel")
        );
        for kind in [
            "protocol",
            "ciphertext",
            "unknown",
            "e2e_notification",
            "gp2",
            "",
        ] {
            let stub = msg("5511999990001@c.us", kind);
            assert!(matches!(classify(&stub, &me()), Class::Ignore(_)), "{kind}");
        }
        assert!(matches!(
            classify(&msg("nonsense", "chat"), &me()),
            Class::Ignore(_)
        ));
    }

    #[test]
    fn own_messages_are_echoes_or_notes_to_self() {
        let mut echo = msg("5511999990001@c.us", "chat");
        echo.from_me = true;
        assert_eq!(
            classify(&echo, &me()),
            Class::Own {
                chat: "5511999990001@c.us".into()
            }
        );
        let mut note = msg(ACCOUNT, "chat");
        note.from_me = true;
        assert_eq!(classify(&note, &me()), Class::OwnerNote);
        let mut by_lid = msg("184467440001299@lid", "chat");
        by_lid.from_me = true;
        assert_eq!(classify(&by_lid, &me()), Class::OwnerNote);
        let mut status = msg("status@broadcast", "chat");
        status.from_me = true;
        assert!(matches!(classify(&status, &me()), Class::Ignore(_)));
    }

    #[test]
    fn groups_keep_author_apart_from_chat() {
        let mut m = msg("120363000000000001@g.us", "chat");
        m.author = Some("5511999990002@s.whatsapp.net".into());
        m.mentions = vec!["184467440001299@lid".into()];
        assert_eq!(
            classify(&m, &me()),
            Class::Group {
                chat: "120363000000000001@g.us".into(),
                author: Some("5511999990002@c.us".into()),
                mentioned: true,
            }
        );
        m.author = None;
        m.mentions.clear();
        assert!(matches!(
            classify(&m, &me()),
            Class::Group {
                author: None,
                mentioned: false,
                ..
            }
        ));
    }

    #[test]
    fn lid_senders_are_direct_and_give_their_phone() {
        let mut m = msg("184467440001201@lid", "chat");
        m.sender_pn = Some("5511999990001@s.whatsapp.net".into());
        assert_eq!(
            classify(&m, &me()),
            Class::Direct {
                chat: "184467440001201@lid".into()
            }
        );
        assert_eq!(sender_phone(&m).as_deref(), Some("5511999990001"));
        m.sender_pn = None;
        assert_eq!(sender_phone(&m), None);
    }
}
