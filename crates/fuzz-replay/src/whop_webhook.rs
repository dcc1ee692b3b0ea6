//! Whop webhooks: the verifier and the event parser on any input. The input is a header line
//! (the `webhook-signature` or `x-whop-signature` value, `|`-separated from a `webhook-id`) and
//! then the body. Neither may panic; a body signed with the configured secret verifies in both
//! schemes, and the same signature never verifies another body; the parser reads any verified
//! body without panicking.

use watchtower_billing::event::{WhopEvent, event_time_of, event_type_of};
use watchtower_billing::verify::{sign_legacy, sign_standard};
use watchtower_billing::{SignatureHeaders, WebhookSecret, verify};
use watchtower_core::Timestamp;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW_SECONDS: i64 = 1_700_000_000;

pub fn run(data: &[u8]) {
    if data.len() > crate::MAX_INPUT_BYTES {
        return;
    }
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let header = String::from_utf8_lossy(header);
    let (signature, id) = header.split_once('|').unwrap_or((&header, "msg_fuzz"));
    let secret = WebhookSecret::parse(SECRET).expect("the fuzz secret parses");
    let secrets = [secret.clone()];
    let now = Timestamp(NOW_SECONDS * 1000);

    // Whatever the headers say, the verifier answers.
    let standard = SignatureHeaders {
        webhook_id: Some(id),
        webhook_timestamp: Some("1700000000"),
        webhook_signature: Some(signature),
        x_whop_signature: None,
    };
    let forged = verify(&secrets, standard, body, now);
    let legacy = SignatureHeaders {
        x_whop_signature: Some(signature),
        ..SignatureHeaders::default()
    };
    let forged_legacy = verify(&secrets, legacy, body, now);
    // An input holding the right signature is astronomically unlikely; accepting one means the
    // comparison is broken.
    let real = sign_standard(&secret, id, NOW_SECONDS, body);
    if forged.is_ok() {
        assert!(
            signature.split(' ').any(|s| s == real),
            "accepted a forged signature"
        );
    }
    let real_legacy = sign_legacy(&secret, NOW_SECONDS, body);
    if forged_legacy.is_ok() {
        assert!(signature.contains(real_legacy.split_once(",v1=").map_or("", |p| p.1)));
    }

    // The real signatures verify this body and no other.
    let signed = SignatureHeaders {
        webhook_signature: Some(&real),
        ..standard
    };
    if id.len() <= 256
        && !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
    {
        assert!(
            verify(&secrets, signed, body, now).is_ok(),
            "a real signature was refused"
        );
        let mut other = body.to_vec();
        other.push(b'x');
        assert!(
            verify(&secrets, signed, &other, now).is_err(),
            "a signature verified another body"
        );
    }
    let signed_legacy = SignatureHeaders {
        x_whop_signature: Some(&real_legacy),
        ..SignatureHeaders::default()
    };
    assert!(verify(&secrets, signed_legacy, body, now).is_ok());

    // The parser reads anything without panicking.
    let _ = WhopEvent::parse(body);
    let _ = event_type_of(body);
    let _ = event_time_of(body);
}
