//! Status page subscribers: JSON to `parse_new_subscriber` (the API's body), and the input as a
//! subscriber link's token. A subscriber that parses has a well-formed address (an email lower
//! case and within its bound, a webhook URL that parses to itself), at most 200 distinct
//! components; and no token but the real one confirms or unsubscribes.

use serde_json::Value;
use watchtower_alerting::links::{SubscriberLink, subscriber_token, verify_subscriber_token};
use watchtower_core::status_page::MAX_COMPONENTS;
use watchtower_core::status_subscriber::{
    MAX_WEBHOOK_URL, parse_new_subscriber, subscriber_email, subscriber_webhook,
};
use watchtower_core::{StatusSubscriberId, SubscriberKind, Timestamp};

const SECRET: &str = "instance secret for the fuzz target";

pub fn run(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    links(text);
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Ok(subscriber) = parse_new_subscriber(&value) else {
        return;
    };
    match subscriber.kind {
        SubscriberKind::Email => {
            assert!(subscriber.address.len() <= 254, "{}", subscriber.address);
            assert_eq!(subscriber.address, subscriber.address.to_lowercase());
            assert_eq!(
                subscriber_email(&subscriber.address).as_deref(),
                Ok(subscriber.address.as_str()),
                "an email address does not parse to itself"
            );
        }
        SubscriberKind::Webhook => {
            assert!(subscriber.address.len() <= MAX_WEBHOOK_URL + 16);
            assert_eq!(
                subscriber_webhook(&subscriber.address).as_deref(),
                Ok(subscriber.address.as_str()),
                "a webhook URL does not parse to itself"
            );
        }
    }
    if let Some(components) = &subscriber.components {
        assert!(!components.is_empty() && components.len() <= MAX_COMPONENTS);
        let mut sorted = components.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), components.len(), "a component named twice");
    }
}

/// The input as the token of both links of subscriber 7: accepted only when it is the real one.
fn links(text: &str) {
    let (id, address, issued) = (
        StatusSubscriberId(7),
        "reader@example.com",
        Timestamp(1_000),
    );
    let now = Timestamp(2_000);
    for link in [SubscriberLink::Confirm, SubscriberLink::Unsubscribe] {
        let real = subscriber_token(SECRET, link, id, address, issued);
        let accepted = verify_subscriber_token(SECRET, link, id, address, text, now);
        assert_eq!(accepted, text == real, "{link:?} accepted {text:?}");
        assert!(verify_subscriber_token(
            SECRET, link, id, address, &real, now
        ));
    }
}
