//! Channel settings (`ChannelSettings::parse`, which runs `ChannelConfig::parse` for the service
//! and checks the templates): never panics, what is stored reads back to the same settings, and
//! the redacted form shown by the API holds no secret that `to_value` stores.

use serde_json::Value;
use watchtower_alerting::templates::ChannelSettings;

/// Fields whose values the API must never show.
const SECRET_FIELDS: [&str; 7] = [
    "password",
    "topic",
    "token",
    "routing_key",
    "auth_token",
    "bot_token",
    "secret",
];

pub fn run(data: &[u8]) {
    if data.len() > crate::MAX_INPUT_BYTES {
        return;
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(settings) = ChannelSettings::parse(&value, "") else {
        return;
    };
    let stored = settings.to_value();
    let reparsed = ChannelSettings::parse(&stored, "")
        .unwrap_or_else(|problems| panic!("to_value -> parse failed: {problems:?}\n{stored}"));
    assert_eq!(
        reparsed, settings,
        "to_value -> parse changed the settings: {stored}"
    );

    let shown = settings.redacted().to_string();
    // A secret that also appears in a shown field (a URL that contains it) is not a leak.
    let mut public = stored.clone();
    if let Value::Object(map) = &mut public {
        map.retain(|name, _| !SECRET_FIELDS.contains(&name.as_str()));
    }
    let public = public.to_string();
    for field in SECRET_FIELDS {
        if let Some(Value::String(secret)) = stored.get(field)
            && secret.len() >= 8
            && !public.contains(secret.as_str())
        {
            assert!(
                !shown.contains(secret.as_str()),
                "redacted() shows {field}: {shown}"
            );
        }
    }
}
