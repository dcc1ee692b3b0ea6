//! Incident posts on status pages: JSON to `NewStatusIncident::parse` and to
//! `StatusIncidentUpdate::parse` (the API's bodies). A post or update that parses survives
//! serde unchanged (how the API answers and the store keeps components), its title and message
//! stay within their bounds, and its message is never empty (a missing one is a template).

use serde_json::Value;
use watchtower_core::status_incident::{AffectedComponent, MAX_MESSAGE, MAX_TITLE};
use watchtower_core::{ComponentState, NewStatusIncident, StatusIncidentUpdate};

pub fn run(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if let Ok(post) = NewStatusIncident::parse(&value, "") {
        let stored = serde_json::to_value(&post).expect("a post serializes");
        let decoded: NewStatusIncident = serde_json::from_value(stored.clone())
            .unwrap_or_else(|error| panic!("a post does not decode: {error}\n{stored}"));
        assert_eq!(decoded, post, "serde changed the post: {stored}");
        assert!(!post.title.is_empty() && post.title.chars().count() <= MAX_TITLE);
        check_message(&post.message);
    }
    let current = [AffectedComponent {
        name: "Website".into(),
        state: ComponentState::MajorOutage,
    }];
    if let Ok(update) = StatusIncidentUpdate::parse(&value, "", &current) {
        let stored = serde_json::to_value(&update).expect("an update serializes");
        let decoded: StatusIncidentUpdate = serde_json::from_value(stored.clone())
            .unwrap_or_else(|error| panic!("an update does not decode: {error}\n{stored}"));
        assert_eq!(decoded, update, "serde changed the update: {stored}");
        check_message(&update.message);
    }
}

fn check_message(message: &str) {
    assert!(!message.is_empty(), "an empty message");
    // A template names at most the components (200 names of 100 characters) around its words.
    assert!(
        message.chars().count() <= MAX_MESSAGE.max(200 * 102 + 200),
        "a message of {} characters",
        message.chars().count()
    );
}
