//! How failed deliveries are classified: what a retry may fix, and how long the service asked
//! us to wait.

use crate::support::{Answer, Receiver, down, sender};
use serde_json::json;
use std::time::Duration;
use watchtower_alerting::{ChannelConfig, Sender, SenderOptions};

const ROUTE: &str = "/services/T0/B0/SECRETslack";

async fn slack_answering(answer: Answer) -> (Receiver, ChannelConfig) {
    let receiver = Receiver::start(ROUTE, answer).await;
    let config = ChannelConfig::parse(
        &json!({ "kind": "slack", "webhook_url": receiver.url(ROUTE) }),
        "",
    )
    .expect("valid settings");
    (receiver, config)
}

#[tokio::test]
async fn a_503_is_retryable() {
    let (_receiver, slack) = slack_answering(Answer::status(503, "maintenance")).await;
    let error = sender().deliver(&slack, &down()).await.unwrap_err();
    assert!(error.retryable);
    assert_eq!(error.status_code, Some(503));
    assert!(error.message.contains("maintenance"), "{error}");
    assert_eq!(error.retry_after, None);
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_that_long() {
    let (_receiver, slack) = slack_answering(Answer {
        headers: vec![("retry-after", "7")],
        ..Answer::status(429, "rate_limited")
    })
    .await;
    let error = sender().deliver(&slack, &down()).await.unwrap_err();
    assert!(error.retryable);
    assert_eq!(error.status_code, Some(429));
    assert_eq!(error.retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn a_400_is_not_retryable() {
    let (_receiver, slack) = slack_answering(Answer::status(400, "invalid_payload")).await;
    let error = sender().deliver(&slack, &down()).await.unwrap_err();
    assert!(!error.retryable);
    assert_eq!(error.status_code, Some(400));
    assert!(error.to_string().contains("invalid_payload"), "{error}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (receiver, slack) = slack_answering(Answer {
        headers: vec![("location", "http://127.0.0.1:9/elsewhere")],
        ..Answer::status(302, "")
    })
    .await;
    let error = sender().deliver(&slack, &down()).await.unwrap_err();
    assert!(!error.retryable);
    assert_eq!(error.status_code, Some(302));
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn nothing_listening_is_a_retryable_connection_error_without_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let slack = ChannelConfig::parse(
        &json!({ "kind": "slack", "webhook_url": format!("http://{address}{ROUTE}") }),
        "",
    )
    .expect("valid settings");

    let error = sender().deliver(&slack, &down()).await.unwrap_err();
    assert!(error.retryable);
    assert_eq!(error.status_code, None);
    assert!(error.message.contains("connect"), "{error}");
    assert!(!error.message.contains("SECRET"), "{error}");
}

#[tokio::test]
async fn no_answer_within_the_timeout_is_retryable() {
    let (_receiver, slack) = slack_answering(Answer {
        delay: Some(Duration::from_secs(60)),
        ..Answer::status(200, "ok")
    })
    .await;
    let impatient = Sender::new(SenderOptions {
        timeout: Duration::from_millis(300),
        ..SenderOptions::default()
    });
    let error = impatient.deliver(&slack, &down()).await.unwrap_err();
    assert!(error.retryable);
    assert_eq!(error.status_code, None);
}
