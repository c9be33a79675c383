//! Panel passwords: argon2id hashes in PHC form (`$argon2id$v=19$...`), made by
//! `orbitbot panel-password` and checked at login.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The shortest password `panel-password` accepts.
pub const MIN_LENGTH: usize = 10;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short to be worth hashing.
    #[error("a senha precisa ter pelo menos {MIN_LENGTH} caracteres")]
    TooShort,
    /// The hasher refused (never expected with the defaults).
    #[error("não consegui gerar o hash: {0}")]
    Hash(String),
}

/// The argon2id hash of `password`, with a fresh random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `phc`; a malformed hash matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash no password matches, checked for unknown phones so that a wrong phone takes
/// as long as a wrong password.
pub(crate) fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&crate::panel::token::random()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("senha-boa-123").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("senha-boa-123", &phc));
        assert!(!verify("senha-boa-124", &phc));
        assert!(!verify("senha-boa-123", "$argon2id$lixo"));
        assert_ne!(hash("senha-boa-123").unwrap(), phc, "salted");
        assert!(matches!(hash("curta"), Err(PasswordError::TooShort)));
        assert!(!verify("", decoy()));
    }
}
