//! Secrets handed to clients (session cookies, API keys, invitation links): 256 random bits,
//! stored only as their SHA-256, so a copy of the database grants nothing.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a token is for; its prefix lets people (and secret scanners) tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    ApiKey,
    Invitation,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "wts_",
            TokenKind::ApiKey => "wtk_",
            TokenKind::Invitation => "wti_",
        }
    }
}

/// A fresh token: the prefix and 32 random bytes in hex.
pub fn new_token(kind: TokenKind) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{}{}", kind.prefix(), hex::encode(bytes))
}

/// What the store keeps and looks tokens up by. A plain hash is enough: the token has 256 bits
/// of entropy, so there is nothing to brute-force and the lookup stays one indexed equality.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a session: derived from the session token, which only the browser (the
/// HttpOnly cookie) and the server know, so a cross-site page cannot compute it.
pub fn csrf_token(session_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"watchtower csrf v1\0");
    hasher.update(session_token.as_bytes());
    hex::encode(hasher.finalize())
}

/// Compares two secrets in time that does not depend on where they first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hash_stably() {
        let a = new_token(TokenKind::ApiKey);
        let b = new_token(TokenKind::ApiKey);
        assert!(a.starts_with("wtk_") && a.len() == 4 + 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_ne!(csrf_token(&a), token_hash(&a));
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
