//! A local Sentry ingest endpoint: `POST /api/{project}/envelope/` as Sentry documents it. It
//! checks the `X-Sentry-Auth` header (the DSN's public key, protocol version 7), parses the
//! envelope (a JSON header line, then items: a JSON item header, then `length` bytes of payload or
//! one line) and keeps every raw body and every `event` item, so a test can check both the fields
//! and that a planted secret appears nowhere in what was sent.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PUBLIC_KEY: &str = "e2e0public0key";
const PROJECT: &str = "42";

#[derive(Default)]
struct Received {
    /// Every envelope body, as sent.
    raw: Vec<String>,
    /// The payload of every `event` item.
    events: Vec<Value>,
    /// Requests refused, and why: a test expects none.
    refused: Vec<String>,
}

/// The endpoint; `dsn` is what `--sentry-dsn` takes.
pub struct FakeSentry {
    pub dsn: String,
    received: Arc<Mutex<Received>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeSentry {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Received::default()));
        let app = axum::Router::new()
            .route("/api/{project}/envelope/", axum::routing::post(ingest))
            .with_state(received.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Sentry");
        });
        Self {
            dsn: format!("http://{PUBLIC_KEY}@{address}/{PROJECT}"),
            received,
            server,
        }
    }

    /// Waits (up to 20 s) until `count` events have arrived, and returns them all.
    pub async fn events(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.lock().events.clone();
            if events.len() >= count || Instant::now() > deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every envelope body received so far, joined.
    pub fn everything_sent(&self) -> String {
        self.lock().raw.join("\n")
    }

    /// Requests that did not follow the documented format.
    pub fn refused(&self) -> Vec<String> {
        self.lock().refused.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        self.received.lock().expect("fake Sentry state")
    }
}

impl Drop for FakeSentry {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn ingest(
    State(received): State<Arc<Mutex<Received>>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut received = received.lock().expect("fake Sentry state");
    received
        .raw
        .push(String::from_utf8_lossy(&body).into_owned());
    let refusal = if project != PROJECT {
        Some(format!("project {project}, not {PROJECT}"))
    } else if let Err(problem) = check_auth(&headers) {
        Some(problem)
    } else {
        match parse_envelope(&body) {
            Ok(items) => {
                for (kind, payload) in items {
                    if kind == "event" {
                        received.events.push(payload);
                    }
                }
                None
            }
            Err(problem) => Some(problem),
        }
    };
    match refusal {
        None => StatusCode::OK,
        Some(problem) => {
            received.refused.push(problem);
            StatusCode::BAD_REQUEST
        }
    }
}

/// `X-Sentry-Auth: Sentry sentry_version=7, sentry_key=KEY, ...`.
fn check_auth(headers: &HeaderMap) -> Result<(), String> {
    let auth = headers
        .get("x-sentry-auth")
        .and_then(|value| value.to_str().ok())
        .ok_or("no X-Sentry-Auth header")?;
    let fields = auth
        .strip_prefix("Sentry ")
        .ok_or_else(|| format!("X-Sentry-Auth does not start with 'Sentry ': {auth}"))?;
    let field = |name: &str| {
        fields
            .split(',')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
    };
    if field("sentry_key").as_deref() != Some(PUBLIC_KEY) {
        return Err(format!("wrong or missing sentry_key: {auth}"));
    }
    if field("sentry_version").as_deref() != Some("7") {
        return Err(format!("wrong or missing sentry_version: {auth}"));
    }
    Ok(())
}

/// The envelope's items as (type, JSON payload); a payload that is not JSON becomes a string.
fn parse_envelope(body: &[u8]) -> Result<Vec<(String, Value)>, String> {
    let (header, mut rest) = split_line(body);
    let header: Value =
        serde_json::from_slice(header).map_err(|error| format!("envelope header: {error}"))?;
    if !header.is_object() {
        return Err("envelope header is not an object".into());
    }
    let mut items = Vec::new();
    while !rest.is_empty() {
        let (item_header, after) = split_line(rest);
        if item_header.is_empty() {
            rest = after;
            continue;
        }
        let item_header: Value =
            serde_json::from_slice(item_header).map_err(|error| format!("item header: {error}"))?;
        let kind = item_header["type"]
            .as_str()
            .ok_or("item header without a type")?
            .to_owned();
        let (payload, after) = match item_header["length"].as_u64() {
            Some(length) => {
                let length = usize::try_from(length).map_err(|error| error.to_string())?;
                if after.len() < length {
                    return Err(format!("item of {length} bytes, {} left", after.len()));
                }
                let (payload, after) = after.split_at(length);
                (payload, after.strip_prefix(b"\n").unwrap_or(after))
            }
            None => split_line(after),
        };
        let payload = serde_json::from_slice(payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
        items.push((kind, payload));
        rest = after;
    }
    Ok(items)
}

fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&byte| byte == b'\n') {
        Some(end) => (&bytes[..end], &bytes[end + 1..]),
        None => (bytes, &[]),
    }
}
