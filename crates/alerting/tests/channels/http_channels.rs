//! Each HTTP channel against a local receiver that accepts only the service's documented route
//! and method; the recorded request is then checked field by field.

use crate::support::{AT, Answer, Receiver, down, sender, up};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use watchtower_alerting::{ChannelConfig, Notification, NotificationEvent};
use watchtower_core::MonitorState;

fn channel(value: Value) -> ChannelConfig {
    ChannelConfig::parse(&value, "channel").expect("valid settings")
}

fn assert_json_request(recorded: &crate::support::Recorded) {
    assert_eq!(recorded.method, "POST");
    assert_eq!(recorded.header("content-type"), "application/json");
    assert!(
        recorded.header("user-agent").starts_with("WatchTower/"),
        "{}",
        recorded.header("user-agent")
    );
}

#[tokio::test]
async fn slack_gets_block_kit_with_a_text_fallback() {
    let receiver = Receiver::start("/services/T0/B0/SECRETslack", Answer::status(200, "ok")).await;
    let slack = channel(json!({
        "kind": "slack",
        "webhook_url": receiver.url("/services/T0/B0/SECRETslack"),
    }));

    let delivered = sender().deliver(&slack, &down()).await.expect("delivered");
    assert_eq!(delivered.status_code, Some(200));

    let request = receiver.single();
    assert_json_request(&request);
    assert_eq!(request.path, "/services/T0/B0/SECRETslack");
    let body = request.json();
    assert_eq!(body["text"], "[DOWN] Checkout API");
    let blocks = body["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[0]["text"]["text"], "[DOWN] Checkout API");
    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    assert_eq!(
        blocks[1]["text"]["text"],
        "Checkout API is DOWN: status 503"
    );
    let fields: Vec<&str> = blocks[2]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|field| field["text"].as_str().expect("text"))
        .collect();
    assert!(fields.contains(&"*Cause*\nstatus 503"), "{fields:?}");
    assert!(fields.contains(&"*State*\nDOWN (was UP)"), "{fields:?}");
    assert!(fields.len() <= 10);
    let buttons = blocks[3]["elements"].as_array().expect("buttons");
    assert_eq!(blocks[3]["type"], "actions");
    assert_eq!(buttons[0]["type"], "button");
    assert_eq!(buttons[0]["url"], "https://wt.example/incidents/3");
    assert_eq!(buttons[1]["url"], "https://wt.example/ack/3?sig=abc");
}

#[tokio::test]
async fn discord_gets_one_embed_coloured_by_state() {
    let route = "/api/webhooks/123/SECRETdiscord";
    let receiver = Receiver::start(route, Answer::status(204, "")).await;
    let discord = channel(json!({ "kind": "discord", "webhook_url": receiver.url(route) }));

    let delivered = sender()
        .deliver(&discord, &down())
        .await
        .expect("delivered");
    assert_eq!(delivered.status_code, Some(204));
    sender().deliver(&discord, &up()).await.expect("delivered");

    let requests = receiver.requests();
    assert_json_request(&requests[0]);
    let body = requests[0].json();
    assert_eq!(body["allowed_mentions"]["parse"], json!([]));
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], "[DOWN] Checkout API");
    assert_eq!(embed["color"], 0xD93025);
    assert_eq!(embed["timestamp"], "2026-11-27T10:15:00Z");
    assert_eq!(embed["url"], "https://wt.example/incidents/3");
    assert!(
        embed["description"]
            .as_str()
            .expect("description")
            .starts_with("Checkout API is DOWN: status 503")
    );
    assert!(
        embed["fields"]
            .as_array()
            .expect("fields")
            .contains(&json!({ "name": "Cause", "value": "status 503", "inline": true }))
    );

    let recovery = &requests[1].json()["embeds"][0];
    assert_eq!(recovery["title"], "[UP] Checkout API — down for 12m 30s");
    assert_eq!(recovery["color"], 0x1E8E3E);
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_message() {
    let route = "/webhookb2/SECRETteams";
    let receiver = Receiver::start(route, Answer::status(202, "")).await;
    let teams = channel(json!({ "kind": "teams", "webhook_url": receiver.url(route) }));

    sender().deliver(&teams, &down()).await.expect("delivered");

    let request = receiver.single();
    assert_json_request(&request);
    let body = request.json();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], "[DOWN] Checkout API");
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(card["body"][2]["type"], "FactSet");
    assert!(
        card["body"][2]["facts"]
            .as_array()
            .expect("facts")
            .contains(&json!({ "title": "Target", "value": "https://shop.example/api/health" }))
    );
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(card["actions"][1]["title"], "Acknowledge");
}

#[tokio::test]
async fn telegram_gets_escaped_html_at_send_message() {
    let receiver = Receiver::start(
        "/bot123456:SECRET-telegram/sendMessage",
        Answer::status(200, r#"{"ok":true,"result":{"message_id":1}}"#),
    )
    .await;
    let telegram = channel(json!({
        "kind": "telegram",
        "bot_token": "123456:SECRET-telegram",
        "chat_id": "-100123",
        "api_base": receiver.base,
    }));
    let mut notification = down();
    notification.monitor_name = "<b>Shop</b> & Co".into();

    sender()
        .deliver(&telegram, &notification)
        .await
        .expect("delivered");

    let request = receiver.single();
    assert_json_request(&request);
    assert_eq!(request.path, "/bot123456:SECRET-telegram/sendMessage");
    let body = request.json();
    assert_eq!(body["chat_id"], -100123);
    assert_eq!(body["parse_mode"], "HTML");
    let text = body["text"].as_str().expect("text");
    assert!(
        text.starts_with("<b>[DOWN] &lt;b&gt;Shop&lt;/b&gt; &amp; Co</b>\n"),
        "{text}"
    );
    assert!(text.contains("<b>Cause:</b> status 503"), "{text}");
    assert!(text.contains("<a href=\"https://wt.example/incidents/3\">View incident</a>"));
    assert!(!text.contains("<b>Shop</b>"));
}

#[tokio::test]
async fn telegram_errors_never_show_the_bot_token() {
    let receiver = Receiver::start(
        "/bot123456:SECRET-telegram/sendMessage",
        Answer::status(
            401,
            r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
        ),
    )
    .await;
    let telegram = channel(json!({
        "kind": "telegram",
        "bot_token": "123456:SECRET-telegram",
        "chat_id": "@status_channel",
        "api_base": receiver.base,
    }));

    let error = sender().deliver(&telegram, &down()).await.unwrap_err();
    assert!(!error.retryable);
    assert_eq!(error.status_code, Some(401));
    assert!(error.message.contains("Unauthorized"), "{error}");
    assert!(!error.to_string().contains("SECRET"), "{error}");
    assert_eq!(receiver.single().json()["chat_id"], "@status_channel");
}

#[tokio::test]
async fn pagerduty_triggers_on_down_and_resolves_on_up_under_one_dedup_key() {
    let receiver = Receiver::start(
        "/v2/enqueue",
        Answer::status(
            202,
            r#"{"status":"success","message":"Event processed","dedup_key":"incident-3"}"#,
        ),
    )
    .await;
    let pagerduty = channel(json!({
        "kind": "pagerduty",
        "routing_key": "R0UTINGKEYSECRETpagerduty",
        "events_url": receiver.url("/v2/enqueue"),
    }));

    let delivered = sender()
        .deliver(&pagerduty, &down())
        .await
        .expect("trigger");
    assert_eq!(delivered.status_code, Some(202));
    assert!(delivered.detail.contains("Event processed"));
    sender().deliver(&pagerduty, &up()).await.expect("resolve");

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_json_request(&requests[0]);
    let trigger = requests[0].json();
    assert_eq!(trigger["routing_key"], "R0UTINGKEYSECRETpagerduty");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "incident-3");
    let payload = &trigger["payload"];
    assert_eq!(payload["summary"], "Checkout API is DOWN: status 503");
    assert_eq!(payload["source"], "https://shop.example/api/health");
    assert_eq!(payload["severity"], "critical");
    assert_eq!(payload["timestamp"], "2026-11-27T10:15:00Z");
    assert_eq!(payload["custom_details"]["Cause"], "status 503");
    assert_eq!(
        trigger["links"][0]["href"],
        "https://wt.example/incidents/3"
    );

    let resolve = requests[1].json();
    assert_eq!(
        resolve,
        json!({
            "routing_key": "R0UTINGKEYSECRETpagerduty",
            "event_action": "resolve",
            "dedup_key": "incident-3",
        })
    );
}

#[tokio::test]
async fn pagerduty_falls_back_to_the_idempotency_key_without_an_incident() {
    let receiver = Receiver::start("/v2/enqueue", Answer::status(202, "{}")).await;
    let pagerduty = channel(json!({
        "kind": "pagerduty",
        "routing_key": "R0UTINGKEYSECRETpagerduty",
        "events_url": receiver.url("/v2/enqueue"),
    }));
    let test = Notification {
        event: NotificationEvent::Test,
        incident_id: None,
        incident_key: None,
        ..down()
    };

    sender()
        .deliver(&pagerduty, &test)
        .await
        .expect("delivered");

    let event = receiver.single().json();
    assert_eq!(event["dedup_key"], "n-42");
    assert_eq!(event["payload"]["severity"], "info");
}

#[tokio::test]
async fn ntfy_publishes_with_title_priority_tags_and_a_bearer_token() {
    let receiver = Receiver::start("/alerts-SECRETtopic", Answer::status(200, "{}")).await;
    let ntfy = channel(json!({
        "kind": "ntfy",
        "server": receiver.base,
        "topic": "alerts-SECRETtopic",
        "token": "tk_SECRETntfy",
    }));
    assert_eq!(ntfy.kind(), watchtower_core::ChannelKind::Push);

    sender().deliver(&ntfy, &down()).await.expect("delivered");
    sender().deliver(&ntfy, &up()).await.expect("delivered");

    let requests = receiver.requests();
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/alerts-SECRETtopic");
    assert_eq!(request.header("title"), "[DOWN] Checkout API");
    assert_eq!(request.header("priority"), "5");
    assert_eq!(request.header("tags"), "rotating_light,watchtower");
    assert_eq!(request.header("authorization"), "Bearer tk_SECRETntfy");
    assert_eq!(request.header("click"), "https://wt.example/incidents/3");
    assert_eq!(
        request.header("actions"),
        "view, View incident, https://wt.example/incidents/3; view, Acknowledge, https://wt.example/ack/3?sig=abc"
    );
    let text = std::str::from_utf8(&request.body).expect("text");
    assert!(
        text.starts_with("Checkout API is DOWN: status 503\n"),
        "{text}"
    );
    assert!(text.contains("\nCause: status 503"), "{text}");

    // A title beyond ASCII travels as an RFC 2047 encoded word.
    let title = requests[1].header("title");
    let encoded = title
        .strip_prefix("=?UTF-8?B?")
        .and_then(|rest| rest.strip_suffix("?="))
        .unwrap_or_else(|| panic!("not an encoded word: {title}"));
    let decoded = String::from_utf8(STANDARD.decode(encoded).expect("base64")).expect("UTF-8");
    assert_eq!(decoded, "[UP] Checkout API — down for 12m 30s");
    assert_eq!(requests[1].header("priority"), "3");
}

#[tokio::test]
async fn sms_posts_the_twilio_form_with_basic_auth() {
    let sid = "AC0123456789abcdef0123456789abcdef";
    let route = format!("/2010-04-01/Accounts/{sid}/Messages.json");
    let receiver = Receiver::start(
        &route,
        Answer::status(201, r#"{"sid":"SM1","status":"queued"}"#),
    )
    .await;
    let sms = channel(json!({
        "kind": "sms",
        "account_sid": sid,
        "auth_token": "SECRETtwilio",
        "from": "+15005550006",
        "to": "+14155550100",
        "api_base": receiver.base,
    }));

    let delivered = sender().deliver(&sms, &down()).await.expect("delivered");
    assert_eq!(delivered.status_code, Some(201));

    let request = receiver.single();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, route);
    assert_eq!(
        request.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let credentials = STANDARD.encode(format!("{sid}:SECRETtwilio"));
    assert_eq!(
        request.header("authorization"),
        format!("Basic {credentials}")
    );
    let form = request.form();
    assert_eq!(form["To"], "+14155550100");
    assert_eq!(form["From"], "+15005550006");
    assert_eq!(
        form["Body"],
        "[DOWN] Checkout API\nstatus 503\nhttps://wt.example/incidents/3"
    );
    assert_eq!(form.len(), 3);
}

type HmacSha256 = Hmac<Sha256>;

/// Verifies a Standard Webhooks signature the way a receiver would, from the raw request.
fn verify_standard_webhook(request: &crate::support::Recorded, secret: &str) {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("prefix"))
        .expect("base64");
    let id = request.header("webhook-id");
    let timestamp = request.header("webhook-timestamp");
    let seconds: i64 = timestamp.parse().expect("unix seconds");
    let now = jiff::Timestamp::now().as_second();
    assert!(
        (now - seconds).abs() < 300,
        "outside the replay window: {seconds}"
    );
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(&request.body);
    let signature = request.header("webhook-signature");
    let matched = signature.split(' ').any(|candidate| {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            return false;
        };
        let Ok(bytes) = STANDARD.decode(encoded) else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(&key).expect("a key");
        mac.update(&signed);
        mac.verify_slice(&bytes).is_ok()
    });
    assert!(matched, "no valid signature in {signature}");
}

#[tokio::test]
async fn webhooks_are_signed_as_standard_webhooks_and_retries_keep_their_id() {
    let secret = format!(
        "whsec_{}",
        STANDARD.encode(b"a 32 byte test secret, SECRETwh!")
    );
    let receiver = Receiver::start("/hooks/watchtower", Answer::status(200, "")).await;
    let webhook = channel(json!({
        "kind": "webhook",
        "url": receiver.url("/hooks/watchtower"),
        "secret": secret,
        "headers": { "Authorization": "Bearer SECRETheader" },
    }));
    let notification = down();

    sender()
        .deliver(&webhook, &notification)
        .await
        .expect("delivered");
    sender()
        .deliver(&webhook, &notification)
        .await
        .expect("delivered again");

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_json_request(request);
        verify_standard_webhook(request, &secret);
        assert_eq!(request.header("webhook-id"), "n-42");
        assert_eq!(request.header("authorization"), "Bearer SECRETheader");
    }
    assert_eq!(
        requests[0].body, requests[1].body,
        "a retry sends the same body"
    );

    let body = requests[0].json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["type"], "monitor.down");
    assert_eq!(body["timestamp"], "2026-11-27T10:15:00Z");
    let data: Notification = serde_json::from_value(body["data"].clone()).expect("a Notification");
    assert_eq!(data, notification);
    assert_eq!(body["data"]["state"], json!(MonitorState::Down));
    assert_eq!(body["data"]["at"], AT);
}

#[tokio::test]
async fn webhooks_without_a_secret_go_unsigned() {
    let receiver = Receiver::start("/hook", Answer::status(204, "")).await;
    let webhook = channel(json!({ "kind": "webhook", "url": receiver.url("/hook") }));

    sender().deliver(&webhook, &up()).await.expect("delivered");

    let request = receiver.single();
    assert!(request.headers.get("webhook-signature").is_none());
    assert_eq!(request.header("webhook-id"), "n-43");
    assert!(request.header("webhook-timestamp").parse::<i64>().is_ok());
    assert_eq!(request.json()["type"], "monitor.up");
}
