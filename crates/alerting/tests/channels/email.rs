//! Email against a real SMTP server (the testkit's aiosmtpd, which saves each message and
//! refuses `reject@` permanently and `busy@` for now). Skipped, with a note, only when python3
//! or aiosmtpd is missing.

use crate::support::{down, sender};
use mail_parser::{MessageParser, MimeHeaders};
use watchtower_alerting::ChannelConfig;
use watchtower_testkit::SmtpServer;

/// The channel of `to` through `server`.
fn channel(server: &SmtpServer, to: &[&str]) -> ChannelConfig {
    ChannelConfig::parse(&server.channel_settings(to), "").expect("valid settings")
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_as_text_and_html() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let channel = channel(&server, &["ops@example.com", "Oncall <oncall@example.com>"]);

    let delivered = sender()
        .deliver(&channel, &down())
        .await
        .expect("delivered");
    assert_eq!(delivered.status_code, Some(250));
    assert!(
        delivered.detail.contains("accepted"),
        "{}",
        delivered.detail
    );

    let saved = server.messages();
    assert_eq!(saved.len(), 1);
    let message = MessageParser::default()
        .parse(&saved[0])
        .expect("a parsable message");
    assert_eq!(message.subject(), Some("[DOWN] Checkout API"));
    assert_eq!(message.message_id(), Some("n-42@watchtower.example"));
    let from = message.from().and_then(|from| from.first()).expect("From");
    assert_eq!(from.address(), Some("alerts@watchtower.example"));
    assert_eq!(from.name(), Some("WatchTower"));
    let to: Vec<&str> = message
        .to()
        .expect("To")
        .iter()
        .filter_map(|address| address.address())
        .collect();
    assert_eq!(to, ["ops@example.com", "oncall@example.com"]);

    let root = message.root_part().content_type().expect("a content type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let leaves: Vec<(String, String)> = message
        .parts
        .iter()
        .filter(|part| !part.is_multipart())
        .map(|part| {
            let content_type = part.content_type().expect("a content type");
            let text = part.text_contents().expect("text").to_owned();
            (
                format!(
                    "{}/{}",
                    content_type.ctype(),
                    content_type.subtype().unwrap_or("")
                ),
                text,
            )
        })
        .collect();
    assert_eq!(leaves.len(), 2, "{leaves:?}");
    assert_eq!(leaves[0].0, "text/plain");
    assert!(leaves[0].1.contains("Cause: status 503"), "{}", leaves[0].1);
    assert!(
        leaves[0]
            .1
            .contains("View incident: https://wt.example/incidents/3")
    );
    assert_eq!(leaves[1].0, "text/html");
    assert!(
        leaves[1].1.contains("<td>status 503</td>"),
        "{}",
        leaves[1].1
    );
    assert!(
        leaves[1]
            .1
            .contains("<a href=\"https://wt.example/ack/3?sig=abc\">Acknowledge</a>")
    );
}

#[tokio::test]
async fn a_retried_email_keeps_its_message_id_and_date() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let channel = channel(&server, &["ops@example.com"]);

    sender()
        .deliver(&channel, &down())
        .await
        .expect("delivered");
    sender()
        .deliver(&channel, &down())
        .await
        .expect("delivered again");

    let saved = server.messages();
    assert_eq!(saved.len(), 2);
    let parser = MessageParser::default();
    let first = parser.parse(&saved[0]).expect("a message");
    let second = parser.parse(&saved[1]).expect("a message");
    assert_eq!(first.message_id(), second.message_id());
    assert_eq!(first.date(), second.date());
    assert_eq!(
        first.date().map(mail_parser::DateTime::to_timestamp),
        Some(crate::support::AT / 1000)
    );
}

#[tokio::test]
async fn a_permanent_smtp_refusal_is_not_retryable() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let channel = channel(&server, &["reject@example.com"]);

    let error = sender().deliver(&channel, &down()).await.unwrap_err();
    assert!(!error.retryable, "{error}");
    assert_eq!(error.status_code, Some(550));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_transient_smtp_refusal_is_retryable() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let channel = channel(&server, &["busy@example.com"]);

    let error = sender().deliver(&channel, &down()).await.unwrap_err();
    assert!(error.retryable, "{error}");
    assert_eq!(error.status_code, Some(451));
}
