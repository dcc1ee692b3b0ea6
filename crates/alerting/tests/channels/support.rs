//! Local receivers standing in for the services: an axum server on 127.0.0.1:0 that accepts one
//! route and method (anything else gets 404/405, as a service would), records every request and
//! answers as told. A sample notification.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use watchtower_alerting::{Notification, NotificationEvent, Sender, SenderOptions};
use watchtower_core::{IncidentId, MonitorId, MonitorState, TeamId, Timestamp};

/// 2026-11-27 10:15:00 UTC.
pub const AT: i64 = 1_795_774_500_000;

pub fn down() -> Notification {
    Notification {
        idempotency_key: "n-42".into(),
        event: NotificationEvent::Down,
        team_id: TeamId(1),
        monitor_id: Some(MonitorId(7)),
        monitor_name: "Checkout API".into(),
        target: Some("https://shop.example/api/health".into()),
        state: MonitorState::Down,
        previous_state: Some(MonitorState::Up),
        cause: "status 503".into(),
        since: Timestamp(AT - 120_000),
        at: Timestamp(AT),
        down_since: None,
        certificate_expires_at: None,
        certificate: None,
        custom_title: None,
        custom_message: None,
        ops_signal: None,
        incident_id: Some(IncidentId(3)),
        incident_key: Some("incident-3".into()),
        incident_url: Some("https://wt.example/incidents/3".into()),
        acknowledge_url: Some("https://wt.example/ack/3?sig=abc".into()),
    }
}

/// The recovery of `down()`: same incident, a new idempotency key.
pub fn up() -> Notification {
    Notification {
        idempotency_key: "n-43".into(),
        event: NotificationEvent::Up,
        state: MonitorState::Up,
        previous_state: Some(MonitorState::Down),
        cause: String::new(),
        since: Timestamp(AT + 750_000),
        at: Timestamp(AT + 750_000),
        down_since: Some(Timestamp(AT)),
        ..down()
    }
}

pub fn sender() -> Sender {
    Sender::new(SenderOptions {
        timeout: Duration::from_secs(5),
        ..SenderOptions::default()
    })
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .expect("a visible ASCII header")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn form(&self) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }
}

/// What the receiver answers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: &'static str,
    /// Wait this long before answering (bounded by the receiver's life).
    pub delay: Option<Duration>,
}

impl Answer {
    pub fn status(status: u16, body: &'static str) -> Self {
        Self {
            status: StatusCode::from_u16(status).expect("a status code"),
            headers: Vec::new(),
            body,
            delay: None,
        }
    }
}

#[derive(Clone)]
struct Shared {
    answer: Answer,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

pub struct Receiver {
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    server: JoinHandle<()>,
}

impl Receiver {
    /// Serves POST `route` (axum syntax) on a fresh loopback port.
    pub async fn start(route: &str, answer: Answer) -> Self {
        Self::start_on("127.0.0.1:0", route, answer).await
    }

    /// Serves POST `route` on `address` (a port a sender was already told about).
    pub async fn start_on(address: &str, route: &str, answer: Answer) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            answer,
            requests: Arc::clone(&requests),
        };
        let app = Router::new()
            .route(route, axum::routing::post(record))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the receiver serves");
        });
        Self {
            base,
            requests,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("the lock").clone()
    }

    /// The only request received.
    pub fn single(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request: {requests:?}");
        requests.into_iter().next().expect("one request")
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.lock().expect("the lock").push(Recorded {
        method,
        path: uri.to_string(),
        headers,
        body,
    });
    let answer = shared.answer;
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = (answer.status, answer.body).into_response();
    for (name, value) in answer.headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}
