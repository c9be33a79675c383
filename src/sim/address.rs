//! Addresses on the simulated network: phones in any of their written forms, chat ids,
//! LIDs and group ids.

/// The chat-id server of phones.
pub(crate) const PHONE_SERVER: &str = "c.us";
/// The server of group ids.
pub(crate) const GROUP_SERVER: &str = "g.us";

/// The digits of a phone written as digits, `…@c.us` or `…@s.whatsapp.net`.
pub(crate) fn phone_digits(input: &str) -> Option<String> {
    let raw = input.trim();
    let user = match raw.split_once('@') {
        Some((user, "c.us" | "s.whatsapp.net")) => user,
        Some(_) => return None,
        None => raw,
    };
    let user = user
        .split(':')
        .next()
        .unwrap_or(user)
        .trim_start_matches('+');
    let valid = (5..=20).contains(&user.len()) && user.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| user.to_owned())
}

/// The chat id of a phone: `<digits>@c.us`.
pub(crate) fn chat_id(digits: &str) -> String {
    format!("{digits}@{PHONE_SERVER}")
}

/// The stable LID of a phone: other digits, derived from the phone's own.
pub(crate) fn lid_of(digits: &str) -> String {
    // FNV-1a: stable across runs and builds, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in digits.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}@lid", 100_000_000_000_000 + hash % 900_000_000_000_000)
}

/// The group id for `input`: `<digits>@g.us`, or digits alone.
pub(crate) fn group_id(input: &str) -> Option<String> {
    let user = input.trim().strip_suffix("@g.us").unwrap_or(input.trim());
    let valid = !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    valid.then(|| format!("{user}@{GROUP_SERVER}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_forms_agree() {
        for form in [
            "5511988887777",
            "5511988887777@c.us",
            "5511988887777@s.whatsapp.net",
        ] {
            assert_eq!(phone_digits(form).as_deref(), Some("5511988887777"));
        }
        assert_eq!(phone_digits("abc"), None);
        assert_eq!(phone_digits("123@g.us"), None);
    }

    #[test]
    fn lid_is_stable_and_different() {
        let lid = lid_of("5511988887777");
        assert_eq!(lid, lid_of("5511988887777"));
        assert_ne!(lid, lid_of("5511988887778"));
        assert!(lid.ends_with("@lid"));
        assert!(!lid.starts_with("5511988887777"));
    }
}
