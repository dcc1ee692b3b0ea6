//! WatchTower's REST API driven the way a user drives it: sign in as the first administrator
//! (created at start from `WATCHTOWER_ADMIN_EMAIL`/`WATCHTOWER_ADMIN_PASSWORD`), create a
//! read-write API key with the session cookie and its CSRF token, then send every request with
//! `Authorization: Bearer` over a keep-alive connection.
//!
//! Every rate limit is lifted with `serve`'s flags, including the one on authenticated requests
//! per client address (1,200 a minute), which a bench sending thousands of requests from
//! 127.0.0.1 would exceed.

use crate::http_client::Connection;
use anyhow::Context;
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The administrator every API run signs in as.
const ADMIN_EMAIL: &str = "bench@example.com";
/// The Default team, which the first administrator owns.
const TEAM: i64 = 1;
/// The longest a request may take (a 5,000-monitor YAML apply on PostgreSQL takes seconds).
const REQUEST_DEADLINE: Duration = Duration::from_secs(120);
/// Pages walked at most when listing every monitor (500 each).
const MAX_LIST_PAGES: usize = 2_000;

/// A fresh password for this run's administrator.
pub fn admin_password() -> String {
    format!("bench-{:016x}", rand::random::<u64>())
}

/// The environment that makes `watchtower serve` create the administrator on a fresh database.
pub fn admin_env(password: &str) -> Vec<(String, String)> {
    vec![
        ("WATCHTOWER_ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("WATCHTOWER_ADMIN_PASSWORD".into(), password.into()),
    ]
}

/// `serve` flags that lift the rate limits, so the bench measures latency and not throttling.
pub fn unthrottled_args() -> Vec<String> {
    [
        "--rate-limit-per-key",
        "--rate-limit-per-session",
        "--rate-limit-per-ip",
        "--rate-limit-per-ip-authenticated",
    ]
    .into_iter()
    .flat_map(|flag| [flag.to_owned(), "1000000".to_owned()])
    .collect()
}

/// A signed-in client with its own keep-alive connection.
pub struct ApiClient {
    address: SocketAddr,
    /// The credential header every request carries: `authorization` (the API key) or, for a
    /// client acting as a browser on the dashboard, `cookie` (the session).
    credential: (&'static str, String),
    /// The session cookie from signing in, for [`ApiClient::browser`].
    session_cookie: String,
    connection: Connection,
}

impl ApiClient {
    /// Signs in with the password, creates an API key and keeps the connection for it.
    pub async fn sign_in(address: SocketAddr, password: &str) -> anyhow::Result<Self> {
        let mut connection = Connection::open(address).await?;
        let login = json!({"email": ADMIN_EMAIL, "password": password});
        let response = connection
            .send(
                Method::POST,
                "/api/auth/login",
                &[("content-type", "application/json")],
                Bytes::from(login.to_string()),
            )
            .await?;
        let cookie = response
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.contains("watchtower_session="))
            .and_then(|value| value.split(';').next())
            .map(str::to_owned);
        let me = expect_json(response, "POST /api/auth/login")?;
        let cookie = cookie.context("the login set no session cookie")?;
        let csrf = me["csrf_token"]
            .as_str()
            .context("the login answered no csrf_token")?
            .to_owned();
        let path = format!("/api/teams/{TEAM}/api-keys");
        let response = connection
            .send(
                Method::POST,
                &path,
                &[
                    ("content-type", "application/json"),
                    ("cookie", &cookie),
                    ("x-csrf-token", &csrf),
                ],
                Bytes::from(json!({"name": "bench", "scope": "read_write"}).to_string()),
            )
            .await?;
        let created = expect_json(response, &format!("POST {path}"))?;
        let key = created["key"].as_str().context("no key in the answer")?;
        Ok(Self {
            address,
            credential: ("authorization", format!("Bearer {key}")),
            session_cookie: cookie,
            connection,
        })
    }

    /// Another client with the same key on a connection of its own (for concurrent requests).
    pub async fn another(&self) -> anyhow::Result<Self> {
        Ok(Self {
            address: self.address,
            credential: self.credential.clone(),
            session_cookie: self.session_cookie.clone(),
            connection: Connection::open(self.address).await?,
        })
    }

    /// A client that sends the session cookie instead of the key, as a browser on the
    /// dashboard does, on a connection of its own.
    pub async fn browser(&self) -> anyhow::Result<Self> {
        Ok(Self {
            address: self.address,
            credential: ("cookie", self.session_cookie.clone()),
            session_cookie: self.session_cookie.clone(),
            connection: Connection::open(self.address).await?,
        })
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None, Bytes::new()).await
    }

    pub async fn post(&mut self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let body = Bytes::from(body.to_string());
        self.call(Method::POST, path, Some("application/json"), body)
            .await
    }

    pub async fn put_yaml(&mut self, path: &str, body: String) -> anyhow::Result<Value> {
        self.call(
            Method::PUT,
            path,
            Some("application/yaml"),
            Bytes::from(body),
        )
        .await
    }

    /// GET `path` and how long it took (milliseconds, until the whole body was read), with the
    /// body's size; any status but 200 is an error.
    pub async fn timed_get(&mut self, path: &str) -> anyhow::Result<(f64, usize)> {
        let asked = Instant::now();
        let response = self.send(Method::GET, path, None, Bytes::new()).await?;
        let elapsed = asked.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            response.status() == 200,
            "GET {path} answered {}: {}",
            response.status(),
            body_start(response.body())
        );
        Ok((elapsed, response.body().len()))
    }

    /// Every monitor of the team (`query` filters, e.g. `state=up`), walking `next_after`.
    pub async fn list_all(&mut self, query: &str) -> anyhow::Result<Vec<Value>> {
        let mut monitors = Vec::new();
        let mut after = None;
        for _ in 0..MAX_LIST_PAGES {
            let mut path = String::from("/api/monitors?limit=500");
            if !query.is_empty() {
                path.push('&');
                path.push_str(query);
            }
            if let Some(id) = after {
                path.push_str(&format!("&after={id}"));
            }
            let mut page = self.get(&path).await?;
            if let Value::Array(listed) = page["monitors"].take() {
                monitors.extend(listed);
            }
            after = page["next_after"].as_i64();
            if after.is_none() {
                return Ok(monitors);
            }
        }
        anyhow::bail!("more than {MAX_LIST_PAGES} pages of monitors")
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<Value> {
        let what = format!("{method} {path}");
        let response = self.send(method, path, content_type, body).await?;
        expect_json(response, &what)
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<http::Response<Bytes>> {
        let mut headers = vec![(self.credential.0, self.credential.1.as_str())];
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        let sent = self.connection.send(method, path, &headers, body);
        tokio::time::timeout(REQUEST_DEADLINE, sent)
            .await
            .with_context(|| format!("{path} took over {REQUEST_DEADLINE:?}"))?
    }
}

/// The JSON of a 2xx answer (`null` when it has no body); anything else is an error with the
/// start of the body.
fn expect_json(response: http::Response<Bytes>, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    anyhow::ensure!(
        status.is_success(),
        "{what} answered {status}: {}",
        body_start(response.body())
    );
    if response.body().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(response.body()).with_context(|| format!("{what}: not JSON"))
}

fn body_start(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}
