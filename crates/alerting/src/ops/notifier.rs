//! Delivers ops alerts to the operators' channel through the same `Sender` as team notifications,
//! one at a time and in order (a recovery never overtakes its alert), retrying with backoff. Every
//! failed attempt is logged; there is no outbox, so an alert whose retries run out is only in the
//! log.

use super::{OpsEvent, message};
use crate::channels::{ChannelConfig, Delivered, DeliveryError, Sender};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How often and how patiently one message is tried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    /// Doubled after each retryable failure (or the receiver's `Retry-After`), up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts over about half a minute: 2 s, 4 s, 8 s, 16 s between them.
    fn default() -> Self {
        Self {
            attempts: 5,
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// The operators' channel and how to reach it.
#[derive(Debug, Clone)]
pub struct OpsNotifier {
    sender: Arc<Sender>,
    channel: ChannelConfig,
    /// Names this instance in every message (`web-1:8080`).
    instance: String,
    retry: RetryPolicy,
}

/// Events waiting for delivery at most; beyond it new ones are logged and dropped.
const QUEUE: usize = 64;

impl OpsNotifier {
    pub fn new(
        sender: Arc<Sender>,
        channel: ChannelConfig,
        instance: String,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            sender,
            channel,
            instance,
            retry,
        }
    }

    /// Sends one event, retrying retryable failures; logs each failure and the outcome.
    pub async fn deliver(&self, event: &OpsEvent) -> Result<Delivered, DeliveryError> {
        let notification = message::notification(event, &self.instance);
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 1;
        loop {
            match self.sender.deliver(&self.channel, &notification).await {
                Ok(delivered) => {
                    tracing::info!(
                        signal = %event.signal,
                        kind = ?event.kind,
                        attempt,
                        status = ?delivered.status_code,
                        "ops alert delivered to the operators' channel"
                    );
                    return Ok(delivered);
                }
                Err(error) if error.retryable && attempt < self.retry.attempts => {
                    let wait = error
                        .retry_after
                        .unwrap_or(backoff)
                        .max(backoff)
                        .min(self.retry.max_backoff);
                    tracing::warn!(
                        signal = %event.signal,
                        kind = ?event.kind,
                        attempt,
                        %error,
                        retry_in_ms = wait.as_millis() as u64,
                        "ops alert not delivered; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(self.retry.max_backoff);
                    attempt += 1;
                }
                Err(error) => {
                    tracing::error!(
                        signal = %event.signal,
                        kind = ?event.kind,
                        attempt,
                        %error,
                        message = %notification.cause,
                        "ops alert could not be delivered to the operators' channel; giving up"
                    );
                    return Err(error);
                }
            }
        }
    }

    /// Starts the delivery task. It sends queued events in order and ends once every sender of
    /// the returned queue is dropped and the queue is empty.
    pub fn start(self) -> (mpsc::Sender<OpsEvent>, JoinHandle<()>) {
        let (queue, mut events) = mpsc::channel::<OpsEvent>(QUEUE);
        let task = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let _ = self.deliver(&event).await;
            }
        });
        (queue, task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{OpsConfig, OpsEventKind, Signal};
    use axum::http::StatusCode;
    use std::sync::Mutex;
    use watchtower_core::Timestamp;

    /// A receiver that answers the statuses it is given in turn, then 204, and keeps the
    /// `webhook-id` of every request.
    async fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(statuses));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post({
                let seen = seen.clone();
                move |headers: axum::http::HeaderMap| async move {
                    let id = headers["webhook-id"].to_str().unwrap().to_owned();
                    seen.lock().unwrap().push(id);
                    let mut answers = answers.lock().unwrap();
                    let status = if answers.is_empty() {
                        204
                    } else {
                        answers.remove(0)
                    };
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    fn notifier(url: &str) -> OpsNotifier {
        let channel =
            ChannelConfig::parse(&serde_json::json!({"kind": "webhook", "url": url}), "ops")
                .unwrap();
        OpsNotifier::new(
            Arc::new(Sender::new(Default::default())),
            channel,
            "test-instance".into(),
            RetryPolicy {
                attempts: 3,
                first_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
            },
        )
    }

    fn alert() -> OpsEvent {
        OpsEvent {
            kind: OpsEventKind::Alert,
            signal: Signal::FailedLogins,
            value: Some(11.0),
            detail: String::new(),
            threshold: OpsConfig::default().failed_logins,
            since: Timestamp(1_700_000_000_000),
            at: Timestamp(1_700_000_000_000),
        }
    }

    #[tokio::test]
    async fn retryable_failures_are_retried_with_the_same_id() {
        let (url, seen) = receiver(vec![503, 502]).await;
        notifier(&url).deliver(&alert()).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|id| id == &seen[0]), "{seen:?}");
    }

    #[tokio::test]
    async fn attempts_are_bounded_and_permanent_failures_stop_at_once() {
        let (url, seen) = receiver(vec![503, 503, 503, 503]).await;
        let error = notifier(&url).deliver(&alert()).await.unwrap_err();
        assert!(error.retryable);
        assert_eq!(seen.lock().unwrap().len(), 3);

        let (url, seen) = receiver(vec![400]).await;
        let error = notifier(&url).deliver(&alert()).await.unwrap_err();
        assert!(!error.retryable);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}
