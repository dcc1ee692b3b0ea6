//! Channel settings: every problem reported at once with its path, a full round trip through
//! `to_value`, and redaction that never lets a secret out.

use serde_json::{Value, json};
use watchtower_alerting::ChannelConfig;
use watchtower_alerting::channels::REDACTED;
use watchtower_core::ChannelKind;

fn problems(value: Value) -> Vec<(String, String)> {
    ChannelConfig::parse(&value, "channels[0]")
        .expect_err("invalid settings")
        .into_iter()
        .map(|problem| (problem.field, problem.problem))
        .collect()
}

fn fields(value: Value) -> Vec<String> {
    problems(value)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

#[test]
fn every_email_problem_is_listed_at_once() {
    let listed = fields(json!({
        "kind": "email",
        "port": 70000,
        "security": "ssl",
        "password": "hunter2",
        "from": "not an address",
        "to": ["ops@example.com", "nobody", 7],
        "colour": "red",
    }));
    assert_eq!(
        listed,
        [
            "channels[0].host",
            "channels[0].security",
            "channels[0].port",
            "channels[0].password",
            "channels[0].from",
            "channels[0].to[1]",
            "channels[0].to[2]",
            "channels[0].colour",
        ]
    );
}

#[test]
fn every_problem_of_the_other_kinds_is_listed_with_its_path() {
    assert_eq!(
        fields(json!({ "kind": "slack" })),
        ["channels[0].webhook_url"]
    );
    assert_eq!(
        fields(json!({ "kind": "discord", "webhook_url": "ftp://example.com/x" })),
        ["channels[0].webhook_url"]
    );
    assert_eq!(
        fields(json!({ "kind": "teams", "webhook_url": "not a url" })),
        ["channels[0].webhook_url"]
    );
    assert_eq!(
        fields(
            json!({ "kind": "telegram", "bot_token": "nocolon", "chat_id": "someone", "api_base": "https://u:p@api.example" })
        ),
        [
            "channels[0].bot_token",
            "channels[0].chat_id",
            "channels[0].api_base"
        ]
    );
    assert_eq!(
        fields(json!({ "kind": "pagerduty", "routing_key": "", "events_url": 5 })),
        ["channels[0].routing_key", "channels[0].events_url"]
    );
    assert_eq!(
        fields(json!({ "kind": "ntfy", "topic": "has spaces", "server": "ntfy.example" })),
        ["channels[0].server", "channels[0].topic"]
    );
    assert_eq!(
        fields(json!({ "kind": "sms", "account_sid": "AC1", "from": "+1", "to": "555-0100" })),
        [
            "channels[0].account_sid",
            "channels[0].auth_token",
            "channels[0].from",
            "channels[0].to"
        ]
    );
    assert_eq!(
        fields(json!({
            "kind": "webhook",
            "url": "https://example.com/hook",
            "secret": "plain-text",
            "headers": { "webhook-id": "mine", "bad header": "x", "X-Ok": 3 },
        })),
        [
            "channels[0].secret",
            "channels[0].headers.X-Ok",
            "channels[0].headers.bad header",
            "channels[0].headers.webhook-id",
        ]
    );
}

#[test]
fn a_missing_or_unknown_kind_is_reported_alone() {
    assert_eq!(
        problems(json!({ "webhook_url": "https://example.com" })),
        [("channels[0].kind".to_owned(), "is required".to_owned())]
    );
    assert_eq!(fields(json!({ "kind": "fax" })), ["channels[0].kind"]);
    assert_eq!(fields(json!("slack")), ["channels[0]"]);
}

#[test]
fn a_webhook_secret_must_be_whsec_base64_of_24_to_64_bytes() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let secret = |bytes: usize| format!("whsec_{}", STANDARD.encode(vec![7u8; bytes]));
    let parse = |secret: String| {
        ChannelConfig::parse(
            &json!({ "kind": "webhook", "url": "https://example.com", "secret": secret }),
            "",
        )
    };
    assert!(parse(secret(24)).is_ok());
    assert!(parse(secret(64)).is_ok());
    assert!(parse(secret(16)).is_err());
    assert!(parse(secret(65)).is_err());
    assert!(parse("whsec_!!!".into()).is_err());
}

/// One channel of each kind, each secret distinctive so a leak is easy to spot.
fn every_kind() -> Vec<(Value, Vec<&'static str>)> {
    vec![
        (
            json!({
                "kind": "email", "host": "smtp.example.com", "security": "tls",
                "username": "alerts@example.com", "password": "SECRET-smtp-password",
                "from": "WatchTower <alerts@example.com>", "to": ["ops@example.com", "oncall@example.com"],
            }),
            vec!["SECRET-smtp-password"],
        ),
        (
            json!({ "kind": "slack", "webhook_url": "https://hooks.slack.com/services/T00/B00/SECRETslackXYZ" }),
            vec!["SECRETslackXYZ", "T00/B00"],
        ),
        (
            json!({ "kind": "discord", "webhook_url": "https://discord.com/api/webhooks/123/SECRETdiscordXYZ" }),
            vec!["SECRETdiscordXYZ", "webhooks/123"],
        ),
        (
            json!({ "kind": "teams", "webhook_url": "https://example.webhook.office.com/webhookb2/SECRETteamsXYZ?sig=SECRETsig" }),
            vec!["SECRETteamsXYZ", "SECRETsig"],
        ),
        (
            json!({ "kind": "telegram", "bot_token": "123456:SECRETtelegramXYZ", "chat_id": "-100123" }),
            vec!["SECRETtelegramXYZ"],
        ),
        (
            json!({ "kind": "pagerduty", "routing_key": "SECRETpagerdutyROUTINGkey0123456" }),
            vec!["SECRETpagerduty"],
        ),
        (
            json!({ "kind": "ntfy", "topic": "SECRETtopicXYZ", "token": "tk_SECRETntfyXYZ" }),
            vec!["SECRETtopicXYZ", "tk_SECRETntfyXYZ"],
        ),
        (
            json!({
                "kind": "sms", "account_sid": "AC0123456789abcdef0123456789abcdef",
                "auth_token": "SECRETtwilioXYZ", "from": "WatchTower", "to": "+14155550100",
            }),
            vec!["SECRETtwilioXYZ"],
        ),
        (
            json!({
                "kind": "webhook", "url": "https://user:SECRETbasic@hooks.example.com/in/SECRETpath?token=SECRETquery",
                "secret": "whsec_U0VDUkVUc2lnbmluZ2tleTAxMjM0NTY3ODlhYmNkZWY=",
                "headers": { "Authorization": "Bearer SECRETheaderXYZ" },
            }),
            vec![
                "SECRETbasic",
                "SECRETpath",
                "SECRETquery",
                "SECRETheaderXYZ",
                "whsec_U0VDUkVUc2lnbmluZ2tleTAxMjM0NTY3ODlhYmNkZWY=",
            ],
        ),
    ]
}

#[test]
fn redacted_settings_never_hold_a_secret_but_keep_what_identifies_them() {
    for (input, secrets) in every_kind() {
        let config = ChannelConfig::parse(&input, "").expect("valid settings");
        let redacted = config.redacted();
        let shown = redacted.to_string();
        let debugged = format!("{config:?}");
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
            assert!(!debugged.contains(secret), "{secret} leaked in {debugged}");
        }
        assert!(shown.contains(REDACTED), "nothing redacted in {shown}");
        assert_eq!(redacted["kind"], input["kind"]);
        assert_eq!(
            redacted.as_object().expect("a mapping").len(),
            config.to_value().as_object().expect("a mapping").len(),
            "redaction keeps every field: {shown}"
        );
    }
}

#[test]
fn redacted_urls_keep_their_host() {
    let slack = ChannelConfig::parse(
        &json!({ "kind": "slack", "webhook_url": "https://hooks.slack.com/services/T00/B00/XYZ" }),
        "",
    )
    .expect("valid");
    assert_eq!(
        slack.redacted(),
        json!({ "kind": "slack", "webhook_url": "https://hooks.slack.com/********" })
    );
    let webhook = ChannelConfig::parse(
        &json!({ "kind": "webhook", "url": "http://127.0.0.1:8080/in?token=abc" }),
        "",
    )
    .expect("valid");
    assert_eq!(webhook.redacted()["url"], "http://127.0.0.1:8080/********");
}

#[test]
fn settings_round_trip_through_storage_with_defaults_spelled_out() {
    for (input, _) in every_kind() {
        let config = ChannelConfig::parse(&input, "").expect("valid settings");
        let stored = config.to_value();
        assert_eq!(
            ChannelConfig::parse(&stored, "").expect("stored settings parse"),
            config,
            "{stored}"
        );
    }
    let email = ChannelConfig::parse(
        &json!({ "kind": "email", "host": "smtp.example.com", "from": "a@example.com", "to": "b@example.com" }),
        "",
    )
    .expect("valid");
    let stored = email.to_value();
    assert_eq!(stored["port"], 587);
    assert_eq!(stored["security"], "starttls");
    assert_eq!(stored["to"], json!(["b@example.com"]));

    let defaults: Vec<Value> = [
        json!({ "kind": "telegram", "bot_token": "1:a", "chat_id": "1" }),
        json!({ "kind": "pagerduty", "routing_key": "k" }),
        json!({ "kind": "ntfy", "topic": "t" }),
        json!({ "kind": "sms", "account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "t", "from": "+15005550006", "to": "+14155550100" }),
    ]
    .iter()
    .map(|input| ChannelConfig::parse(input, "").expect("valid").to_value())
    .collect();
    assert_eq!(defaults[0]["api_base"], "https://api.telegram.org/");
    assert_eq!(
        defaults[1]["events_url"],
        "https://events.pagerduty.com/v2/enqueue"
    );
    assert_eq!(defaults[2]["server"], "https://ntfy.sh/");
    assert_eq!(defaults[3]["api_base"], "https://api.twilio.com/");
}

#[test]
fn implicit_tls_defaults_to_the_submissions_port() {
    let email = ChannelConfig::parse(
        &json!({ "kind": "email", "host": "smtp.example.com", "security": "tls", "from": "a@example.com", "to": ["b@example.com"] }),
        "",
    )
    .expect("valid");
    assert_eq!(email.to_value()["port"], 465);
}

#[test]
fn kinds_map_to_the_plan_names() {
    let kinds: Vec<ChannelKind> = every_kind()
        .into_iter()
        .map(|(input, _)| ChannelConfig::parse(&input, "").expect("valid").kind())
        .collect();
    assert_eq!(
        kinds,
        [
            ChannelKind::Email,
            ChannelKind::Slack,
            ChannelKind::Discord,
            ChannelKind::Teams,
            ChannelKind::Telegram,
            ChannelKind::Pagerduty,
            ChannelKind::Push,
            ChannelKind::Sms,
            ChannelKind::Webhook,
        ]
    );
}
