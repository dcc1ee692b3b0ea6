//! Password hashing with argon2id, on the blocking pool: one hash takes tens of milliseconds of
//! CPU, which would stall every request sharing an async worker.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::LazyLock;

/// Verified when the email is unknown, so a login for a missing account takes as long as one
/// for an existing account and timing does not tell which emails exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_now("not a password anyone has").expect("hashing a constant succeeds"));

fn hash_now(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// An argon2id PHC string for `password` with a fresh salt.
pub async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| e.to_string())?
}

/// Whether `password` matches `hash`; `None` checks against a dummy hash and is always false.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong".into(), Some(hash)).await);
        assert!(!verify_password("not a password anyone has".into(), None).await);
    }
}
