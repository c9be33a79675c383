//! Random tokens (login sessions, CSRF, live QR links) and their stored form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A fresh token: 32 random bytes from the system, URL-safe base64 (43 characters).
pub fn random() -> String {
    let mut bytes = [0u8; 32];
    // NOTE: the kernel's random source failing is not recoverable; a fixed token would
    // be worse than stopping.
    #[allow(clippy::expect_used)]
    getrandom::getrandom(&mut bytes).expect("system random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: its SHA-256 in hex, so a copy of the data folder does
/// not hold usable tokens.
pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `text` looks like one of our tokens (43 URL-safe characters).
pub fn well_formed(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_compared_whole() {
        let (a, b) = (random(), random());
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b));
        assert!(!well_formed("../etc/passwd") && !well_formed(""));
        assert!(same(&a, &a.clone()) && !same(&a, &b) && !same(&a, &a[..42]));
        assert_eq!(digest("x").len(), 64);
    }
}
