//! Whop webhook signatures, both schemes, over the raw body bytes and before any parsing:
//! - Standard Webhooks (API v1): `webhook-id`, `webhook-timestamp` and `webhook-signature` (a
//!   space-separated list of `v1,<base64>`; any match is enough), HMAC-SHA256 over
//!   `"{id}.{timestamp}.{body}"` keyed by the secret's base64-decoded bytes (`whsec_` optional);
//! - legacy v5: `x-whop-signature: t=<unix seconds>,v1=<hex>`, HMAC-SHA256 over `"{t}.{body}"`
//!   keyed by the secret's UTF-8 bytes.
//!
//! Every configured secret is tried (rotation), each comparison is constant-time (`hmac`'s
//! `verify_slice`), the timestamp must be within 5 minutes of now, and every header and the body
//! are bounded before any work.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use watchtower_core::Timestamp;

/// The largest body accepted (Whop's events are a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// How far a delivery's timestamp may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;
/// The longest header value read; anything longer is refused unread.
const MAX_HEADER_BYTES: usize = 4096;
/// At most this many signatures in one `webhook-signature` list are tried.
const MAX_SIGNATURES: usize = 16;

/// One configured webhook secret, as both schemes use it. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    /// The Standard Webhooks key: the base64 after an optional `whsec_`, decoded. `None` when the
    /// text is not base64 (such a secret can only verify legacy deliveries).
    standard_key: Option<Vec<u8>>,
    /// The legacy key: the text's UTF-8 bytes.
    legacy_key: Vec<u8>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    /// Reads a secret as configured. Refuses only what can verify nothing: an empty text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("a Whop webhook secret cannot be empty".into());
        }
        if text.len() > 1024 {
            return Err("a Whop webhook secret is at most 1024 characters".into());
        }
        let encoded = text.strip_prefix("whsec_").unwrap_or(text);
        let standard_key = STANDARD.decode(encoded).ok().filter(|key| !key.is_empty());
        Ok(Self {
            standard_key,
            legacy_key: text.as_bytes().to_vec(),
        })
    }

    fn standard_mac(&self) -> Option<Hmac<Sha256>> {
        let key = self.standard_key.as_ref()?;
        Some(Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length"))
    }

    fn legacy_mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.legacy_key).expect("HMAC takes a key of any length")
    }
}

/// The signature headers of a delivery, as sent (absent ones `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    pub webhook_id: Option<&'a str>,
    pub webhook_timestamp: Option<&'a str>,
    pub webhook_signature: Option<&'a str>,
    pub x_whop_signature: Option<&'a str>,
}

/// Which scheme signed a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Standard Webhooks (Whop API v1).
    StandardWebhooks,
    /// The legacy `x-whop-signature` (Whop API v5).
    Legacy,
}

impl Scheme {
    /// `v1` or `v5`, as recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "v1",
            Scheme::Legacy => "v5",
        }
    }
}

/// A delivery whose signature holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub scheme: Scheme,
    /// The key that makes a redelivery the same delivery: `webhook-id`, or for the legacy scheme
    /// (which sends no id) `v5_` and the body's SHA-256.
    pub delivery_id: String,
    /// When it was signed.
    pub signed_at: Timestamp,
}

/// Why a delivery is refused. The words go to the security event, never to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no signature headers")]
    Unsigned,
    #[error("malformed signature headers: {0}")]
    Malformed(&'static str),
    #[error("the timestamp is more than 5 minutes from now")]
    Stale,
    #[error("no signature matches a configured secret")]
    Mismatch,
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("no webhook secret is configured")]
    NoSecrets,
}

/// Verifies a delivery against every secret: Standard Webhooks when `webhook-signature` is
/// present, otherwise the legacy header. `now` is the receiver's clock.
pub fn verify(
    secrets: &[WebhookSecret],
    headers: SignatureHeaders<'_>,
    body: &[u8],
    now: Timestamp,
) -> Result<Verified, VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecrets);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(VerifyError::TooLarge);
    }
    if let Some(signatures) = headers.webhook_signature {
        verify_standard(secrets, headers, signatures, body, now)
    } else if let Some(signature) = headers.x_whop_signature {
        verify_legacy(secrets, signature, body, now)
    } else {
        Err(VerifyError::Unsigned)
    }
}

fn bounded(value: &str) -> Result<&str, VerifyError> {
    if value.len() > MAX_HEADER_BYTES {
        Err(VerifyError::Malformed("a header is too long"))
    } else {
        Ok(value)
    }
}

/// Seconds since the epoch, digits only (no sign, no spaces), within the tolerance of `now`.
fn fresh_timestamp(text: &str, now: Timestamp) -> Result<i64, VerifyError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed("the timestamp is not unix seconds"));
    }
    let seconds: i64 = text
        .parse()
        .map_err(|_| VerifyError::Malformed("the timestamp is not unix seconds"))?;
    if (now.0.div_euclid(1000) - seconds).abs() > TOLERANCE_SECONDS {
        return Err(VerifyError::Stale);
    }
    Ok(seconds)
}

fn verify_standard(
    secrets: &[WebhookSecret],
    headers: SignatureHeaders<'_>,
    signatures: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<Verified, VerifyError> {
    let id = bounded(
        headers
            .webhook_id
            .ok_or(VerifyError::Malformed("webhook-id is missing"))?,
    )?;
    if id.is_empty()
        || id.len() > 256
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
    {
        return Err(VerifyError::Malformed("webhook-id is not a plain id"));
    }
    let timestamp_text = bounded(
        headers
            .webhook_timestamp
            .ok_or(VerifyError::Malformed("webhook-timestamp is missing"))?,
    )?;
    let signatures = bounded(signatures)?;
    let seconds = fresh_timestamp(timestamp_text, now)?;
    let candidates: Vec<Vec<u8>> = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .take(MAX_SIGNATURES)
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::Malformed(
            "no v1 signature in webhook-signature",
        ));
    }
    for secret in secrets {
        let Some(mut mac) = secret.standard_mac() else {
            continue;
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_text.as_bytes());
        mac.update(b".");
        mac.update(body);
        if matches_any(&mac, &candidates) {
            return Ok(Verified {
                scheme: Scheme::StandardWebhooks,
                delivery_id: id.to_owned(),
                signed_at: Timestamp(seconds * 1000),
            });
        }
    }
    Err(VerifyError::Mismatch)
}

/// Whether the MAC of the signed bytes equals any of the header's signatures, each compared in
/// constant time.
fn matches_any(mac: &Hmac<Sha256>, candidates: &[Vec<u8>]) -> bool {
    candidates
        .iter()
        .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
}

fn verify_legacy(
    secrets: &[WebhookSecret],
    header: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<Verified, VerifyError> {
    let header = bounded(header)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',').take(MAX_SIGNATURES + 1) {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => {
                if let Ok(bytes) = hex::decode(value) {
                    candidates.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp_text = timestamp.ok_or(VerifyError::Malformed("x-whop-signature has no t="))?;
    if candidates.is_empty() {
        return Err(VerifyError::Malformed("x-whop-signature has no hex v1="));
    }
    let seconds = fresh_timestamp(timestamp_text, now)?;
    for secret in secrets {
        let mut mac = secret.legacy_mac();
        mac.update(timestamp_text.as_bytes());
        mac.update(b".");
        mac.update(body);
        if matches_any(&mac, &candidates) {
            return Ok(Verified {
                scheme: Scheme::Legacy,
                delivery_id: format!("v5_{}", hex::encode(Sha256::digest(body))),
                signed_at: Timestamp(seconds * 1000),
            });
        }
    }
    Err(VerifyError::Mismatch)
}

/// Signs as Whop does, for tests and the fuzz target: the `webhook-signature` entry.
pub fn sign_standard(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = secret
        .standard_mac()
        .expect("a Standard Webhooks secret is base64");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Signs as Whop's legacy scheme does: the `x-whop-signature` value.
pub fn sign_legacy(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    let mut mac = secret.legacy_mac();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NOW: Timestamp = Timestamp(1_700_000_000_000);
    const BODY: &[u8] = br#"{"type":"membership.activated"}"#;

    fn secret(text: &str) -> WebhookSecret {
        WebhookSecret::parse(text).expect("secret")
    }

    fn standard<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> SignatureHeaders<'a> {
        SignatureHeaders {
            webhook_id: Some(id),
            webhook_timestamp: Some(ts),
            webhook_signature: Some(sig),
            x_whop_signature: None,
        }
    }

    #[test]
    fn standard_signature_with_and_without_prefix_and_among_several() {
        let key = secret(SECRET);
        let sig = sign_standard(&key, "msg_1", 1_700_000_000, BODY);
        let verified = verify(&[key], standard("msg_1", "1700000000", &sig), BODY, NOW).unwrap();
        assert_eq!(verified.delivery_id, "msg_1");
        assert_eq!(verified.scheme, Scheme::StandardWebhooks);
        // The same key without `whsec_`.
        let bare = secret(SECRET.trim_start_matches("whsec_"));
        assert!(
            verify(
                std::slice::from_ref(&bare),
                standard("msg_1", "1700000000", &sig),
                BODY,
                NOW
            )
            .is_ok()
        );
        // Any of several entries.
        let list = format!("v1,AAAA v2,xyz {sig}");
        assert!(verify(&[bare], standard("msg_1", "1700000000", &list), BODY, NOW).is_ok());
    }

    #[test]
    fn rotation_accepts_any_configured_secret() {
        let old = secret("whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZA==");
        let new = secret(SECRET);
        let sig = sign_standard(&old, "msg_2", 1_700_000_000, BODY);
        let headers = standard("msg_2", "1700000000", &sig);
        assert!(verify(&[new.clone(), old], headers, BODY, NOW).is_ok());
        assert_eq!(
            verify(&[new], headers, BODY, NOW),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn tampered_stale_and_malformed_are_refused() {
        let key = secret(SECRET);
        let sig = sign_standard(&key, "msg_1", 1_700_000_000, BODY);
        let keys = [key.clone()];
        let tampered = br#"{"type":"membership.activated" }"#;
        assert_eq!(
            verify(&keys, standard("msg_1", "1700000000", &sig), tampered, NOW),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&keys, standard("msg_9", "1700000000", &sig), BODY, NOW),
            Err(VerifyError::Mismatch)
        );
        let old = sign_standard(&key, "msg_1", 1_699_999_600, BODY);
        assert_eq!(
            verify(&keys, standard("msg_1", "1699999600", &old), BODY, NOW),
            Err(VerifyError::Stale)
        );
        assert!(matches!(
            verify(&keys, standard("msg_1", "-5", &sig), BODY, NOW),
            Err(VerifyError::Malformed(_))
        ));
        assert_eq!(
            verify(&keys, SignatureHeaders::default(), BODY, NOW),
            Err(VerifyError::Unsigned)
        );
        assert_eq!(
            verify(&[], standard("msg_1", "1700000000", &sig), BODY, NOW),
            Err(VerifyError::NoSecrets)
        );
    }

    #[test]
    fn legacy_signature() {
        let key = secret("plain legacy secret");
        let header = sign_legacy(&key, 1_700_000_100, BODY);
        let headers = SignatureHeaders {
            x_whop_signature: Some(&header),
            ..SignatureHeaders::default()
        };
        let verified = verify(std::slice::from_ref(&key), headers, BODY, NOW).unwrap();
        assert_eq!(verified.scheme, Scheme::Legacy);
        assert!(verified.delivery_id.starts_with("v5_"));
        assert_eq!(
            verify(std::slice::from_ref(&key), headers, b"{}", NOW),
            Err(VerifyError::Mismatch)
        );
        let stale = sign_legacy(&key, 1_699_999_000, BODY);
        let headers = SignatureHeaders {
            x_whop_signature: Some(&stale),
            ..SignatureHeaders::default()
        };
        assert_eq!(verify(&[key], headers, BODY, NOW), Err(VerifyError::Stale));
    }
}
