//! WhatsApp addresses: [`PhoneNumber`] and [`ChatId`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Fewest digits in a phone number with its country code.
const MIN_DIGITS: usize = 8;
/// Most digits in a phone number (E.164).
const MAX_DIGITS: usize = 15;

/// A phone number as WhatsApp uses it: country code and number, digits only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

/// Why a text is not a phone number; its `Display` is the pt-BR answer for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Letters or other signs that never appear in a written phone number.
    #[error(
        "telefone inválido \"{0}\": use só números com DDI e DDD, \
         ex.: 5511988887777 ou +55 (11) 98888-7777"
    )]
    Characters(String),
    /// Too few or too many digits.
    #[error(
        "telefone inválido \"{0}\": tem {1} dígitos; com DDI e DDD são de 8 a 15, \
         ex.: 5511988887777"
    )]
    Length(String, usize),
}

impl PhoneNumber {
    /// Reads `5511988887777`, `+55 (11) 98888-7777`, `55 11 98888.7777` and the like.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let text = input.trim();
        let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
        let plus_ok = text.rfind('+').is_none_or(|at| at == 0);
        if text.is_empty() || !text.chars().all(allowed) || !plus_ok {
            return Err(PhoneError::Characters(text.to_owned()));
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            return Err(PhoneError::Length(text.to_owned(), digits.len()));
        }
        Ok(Self(digits))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The personal chat of this number (`<digits>@c.us`).
    pub fn chat_id(&self) -> ChatId {
        ChatId {
            user: self.0.clone(),
            kind: ChatKind::User,
        }
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a chat id points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatKind {
    /// A person by phone number (`@c.us`).
    User,
    /// A group (`@g.us`).
    Group,
    /// A person by WhatsApp's private id (`@lid`).
    Lid,
}

impl ChatKind {
    fn suffix(self) -> &'static str {
        match self {
            Self::User => "c.us",
            Self::Group => "g.us",
            Self::Lid => "lid",
        }
    }
}

/// A chat address: `<user>@c.us`, `<id>@g.us` or `<id>@lid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId {
    user: String,
    kind: ChatKind,
}

/// Why a text is not a chat id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatIdError {
    /// Statuses and channels are not chats anyone answers.
    #[error("\"{0}\" não é uma conversa (status ou canal)")]
    NotAChat(String),
    /// Anything else that does not look like a WhatsApp address.
    #[error("endereço de conversa inválido \"{0}\": use 5511988887777@c.us, …@g.us ou …@lid")]
    Invalid(String),
}

impl ChatId {
    /// Reads an address as WhatsApp writes it; `@s.whatsapp.net` is read as `@c.us`.
    pub fn parse(input: &str) -> Result<Self, ChatIdError> {
        let text = input.trim();
        let invalid = || ChatIdError::Invalid(text.to_owned());
        let (user, server) = text.split_once('@').ok_or_else(invalid)?;
        let kind = match server {
            "c.us" | "s.whatsapp.net" => ChatKind::User,
            "g.us" => ChatKind::Group,
            "lid" => ChatKind::Lid,
            "broadcast" | "newsletter" => return Err(ChatIdError::NotAChat(text.to_owned())),
            _ => return Err(invalid()),
        };
        // A device suffix (`123:4@lid`) names the same person.
        let user = user.split(':').next().unwrap_or_default();
        let group_ok = |c: char| kind == ChatKind::Group && c == '-';
        if user.is_empty()
            || user.len() > 64
            || !user.chars().all(|c| c.is_ascii_digit() || group_ok(c))
        {
            return Err(invalid());
        }
        Ok(Self {
            user: user.to_owned(),
            kind,
        })
    }

    /// What the address points at.
    pub fn kind(&self) -> ChatKind {
        self.kind
    }

    /// The part before `@`.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The phone number, for `@c.us` addresses.
    pub fn phone(&self) -> Option<PhoneNumber> {
        (self.kind == ChatKind::User).then(|| PhoneNumber(self.user.clone()))
    }
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.kind.suffix())
    }
}

impl FromStr for ChatId {
    type Err = ChatIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ChatId {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChatId {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_to_digits() {
        for form in ["+55 (11) 98888-7777", "5511988887777", " 55 11 98888.7777 "] {
            assert_eq!(PhoneNumber::parse(form).unwrap().as_str(), "5511988887777");
        }
    }

    #[test]
    fn bad_phones_are_explained() {
        assert_eq!(
            PhoneNumber::parse("12345").unwrap_err().to_string(),
            "telefone inválido \"12345\": tem 5 dígitos; com DDI e DDD são de 8 a 15, \
             ex.: 5511988887777"
        );
        assert!(matches!(
            PhoneNumber::parse("55abc"),
            Err(PhoneError::Characters(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("55+11988887777"),
            Err(PhoneError::Characters(_))
        ));
        assert!(matches!(
            PhoneNumber::parse(""),
            Err(PhoneError::Characters(_))
        ));
        assert!(PhoneNumber::parse(&"9".repeat(16)).is_err());
    }

    #[test]
    fn chat_ids_in_every_form() {
        let net = ChatId::parse("5511988887777@s.whatsapp.net").unwrap();
        assert_eq!(net.to_string(), "5511988887777@c.us");
        assert_eq!(net.phone().unwrap().as_str(), "5511988887777");
        assert_eq!(
            ChatId::parse("120363@g.us").unwrap().kind(),
            ChatKind::Group
        );
        assert_eq!(
            ChatId::parse("5511-1600000000@g.us").unwrap().user(),
            "5511-1600000000"
        );
        let lid = ChatId::parse("987654321:12@lid").unwrap();
        assert_eq!(
            (lid.kind(), lid.to_string().as_str()),
            (ChatKind::Lid, "987654321@lid")
        );
        assert!(lid.phone().is_none());
        assert_eq!(
            PhoneNumber::parse("5511988887777").unwrap().chat_id(),
            ChatId::parse("5511988887777@c.us").unwrap()
        );
    }

    #[test]
    fn statuses_channels_and_junk_are_refused() {
        assert!(matches!(
            ChatId::parse("status@broadcast"),
            Err(ChatIdError::NotAChat(_))
        ));
        assert!(matches!(
            ChatId::parse("1203@newsletter"),
            Err(ChatIdError::NotAChat(_))
        ));
        for bad in [
            "5511",
            "@c.us",
            "55a@c.us",
            "55@x.us",
            "../x@c.us",
            "1-2@c.us",
        ] {
            assert!(
                matches!(ChatId::parse(bad), Err(ChatIdError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
