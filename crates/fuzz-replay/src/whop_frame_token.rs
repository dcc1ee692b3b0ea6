//! Whop frame user tokens: the header check and the full verification with a fixed key, and the
//! JWKS reader, on any input. Nothing made up verifies: a token that passed would have to carry
//! an ES256 signature by the key below, whose private half is not here.

use jsonwebtoken::DecodingKey;
use watchtower_billing::frame::{keys_of, token_kid, verify_with};

/// A P-256 public key; its private key was thrown away.
const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEl+sqZ9BFiwg4sMMm8nTa+S2lEzBr
ZHuI7tMF6yiCgze8QG/OoaflmH1wffVNCz+udM31DLqQo0fQ5JpWN4IWrw==
-----END PUBLIC KEY-----
";

pub fn run(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let key = DecodingKey::from_ec_pem(PUBLIC_KEY.as_bytes()).expect("the fixed key");
    let _ = token_kid(text);
    assert!(
        verify_with(text, &key, "app_fuzz").is_err(),
        "a made-up token verified"
    );
    let _ = keys_of(data);
}
