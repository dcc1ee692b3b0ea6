//! An in-process WatchTower on a real database (SQLite, and PostgreSQL when `TEST_DATABASE_URL`
//! is set): the `Application` the binary runs, served on a loopback port, and clients for people
//! (cookie + CSRF token) and API keys.

#![allow(
    dead_code,
    reason = "shared with tests/authorization.rs: each binary uses a different part"
)]

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use watchtower_alerting::dispatcher::DispatcherConfig;
use watchtower_application::{Application, RunningApplication};
use watchtower_billing::{BillingConfig, Clock as BillingClock, WorkerConfig};
use watchtower_core::{Plan, PlanTable, Role, TeamId, Timestamp, UserId};
use watchtower_server::middleware::error_reports::ErrorReporter;
use watchtower_server::middleware::rate_limit::RateLimitConfig;
use watchtower_store::Store;
use watchtower_testkit::TestDatabase;

pub const PASSWORD: &str = "correct horse battery staple";

/// Runs `story` against SQLite, then PostgreSQL when `TEST_DATABASE_URL` is set; each instance is
/// shut down when its story ends.
pub async fn each_backend<F, Fut>(options: Options, story: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let sqlite = TestDatabase::sqlite();
    let (app, running) = TestApp::start(&sqlite.url, options.clone()).await;
    story(app).await.expect("SQLite");
    running.shutdown().await;
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let database = TestDatabase::postgres(&url).await.expect("PostgreSQL");
            let (app, running) = TestApp::start(&database.url, options).await;
            story(app).await.expect("PostgreSQL");
            running.shutdown().await;
        }
        _ => eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL variant skipped"),
    }
}

#[derive(Clone)]
pub struct Options {
    pub plans: PlanTable,
    pub rate_limits: RateLimitConfig,
    pub multi_tenant: bool,
    /// Whop billing's settings (no secrets: webhooks refused).
    pub billing: BillingConfig,
    /// The clock billing's processing reads; the system's when `None`.
    pub billing_clock: Option<BillingClock>,
    /// Whether the billing worker runs (it polls every 50 ms, retries after 100 ms).
    pub billing_worker: bool,
    /// Where Whop metric monitors read their figures (a `FakeWhopApi`'s base).
    pub whop_api: Option<String>,
    /// Where 5xx answers and panics are reported (a `FakeSentry`).
    pub error_reports: Option<ErrorReporter>,
    /// The token `/metrics` asks for (`serve --metrics-token`).
    pub metrics_token: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            plans: PlanTable::default(),
            // High enough that only the rate-limit tests meet the limits.
            rate_limits: RateLimitConfig {
                per_api_key: 100_000,
                per_session: 100_000,
                per_ip: 100_000,
                per_ip_authenticated: 100_000,
                ..RateLimitConfig::default()
            },
            multi_tenant: false,
            billing: BillingConfig::default(),
            billing_clock: None,
            billing_worker: true,
            whop_api: None,
            error_reports: None,
            metrics_token: None,
        }
    }
}

/// The instance a story talks to, and clients for it.
#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    /// For stories that change rows behind the store's back.
    pub database_url: String,
    http: reqwest::Client,
}

impl TestApp {
    /// Starts the application `watchtower serve` runs, on a free loopback port, with `options`,
    /// fast dispatcher retries (so the outage tests need not wait for production backoff), and
    /// without the history chores and the ops watch, which no story here looks at. The
    /// [`RunningApplication`] stops it.
    pub async fn start(database_url: &str, options: Options) -> (Self, RunningApplication) {
        let store = watchtower_store::connect(database_url)
            .await
            .expect("store");
        store.migrate().await.expect("migrate");
        let mut builder = Application::builder(store.clone());
        builder = if options.billing_worker {
            builder.billing_worker(WorkerConfig {
                poll_interval: Duration::from_millis(50),
                first_backoff: Duration::from_millis(100),
                ..WorkerConfig::default()
            })
        } else {
            builder.without_billing_worker()
        };
        if let Some(base) = &options.whop_api {
            builder = builder.whop_api(base.parse().expect("the fake Whop API's address"));
        }
        if let Some(reporter) = options.error_reports {
            builder = builder.error_reports(reporter);
        }
        if let Some(token) = &options.metrics_token {
            builder = builder.auth(watchtower_server::AuthConfig {
                metrics_token_hash: Some(watchtower_server::auth::tokens::token_hash(token)),
                ..watchtower_server::AuthConfig::default()
            });
        }
        if let Some(clock) = options.billing_clock {
            builder = builder.billing_clock(clock);
        }
        let running = builder
            .billing(options.billing)
            .plans(options.plans)
            .rate_limits(options.rate_limits)
            .multi_tenant(options.multi_tenant)
            .dispatcher(DispatcherConfig {
                poll_interval: Duration::from_millis(50),
                first_backoff: Duration::from_millis(200),
                public_url: Some("https://watchtower.example.com".into()),
                ..DispatcherConfig::default()
            })
            .without_housekeeping()
            .without_ops_alerts()
            .build()
            .await
            .expect("application")
            .spawn();
        let app = Self {
            base: format!("http://{}", running.address()),
            store,
            database_url: database_url.to_owned(),
            http: reqwest::Client::new(),
        };
        (app, running)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A user with a password, made directly in the store.
    pub async fn user(&self, email: &str, is_admin: bool) -> UserId {
        watchtower_application::accounts::create_user(
            self.store.as_ref(),
            email,
            None,
            PASSWORD.into(),
            is_admin,
            Plan::Unlimited,
        )
        .await
        .expect("user")
        .id
    }

    /// A team with `owner` as owner.
    pub async fn team(&self, name: &str, plan: Plan, owner: UserId) -> TeamId {
        self.store
            .create_team(name, plan, owner, Timestamp::now())
            .await
            .expect("team")
            .id
    }

    pub async fn join(&self, team: TeamId, user: UserId, role: Role) {
        self.store
            .add_member(team, user, role, Timestamp::now())
            .await
            .expect("member");
    }

    /// Signs in and returns a client that sends the cookie and the CSRF token.
    pub async fn login(&self, email: &str) -> Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        let response = http
            .post(self.url("/api/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::OK, "login of {email}");
        let me: Value = response.json().await.expect("json");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-csrf-token",
            HeaderValue::from_str(me["csrf_token"].as_str().expect("csrf token")).unwrap(),
        );
        Client {
            app: self.clone(),
            http,
            headers,
        }
    }

    /// A client that sends `Authorization: Bearer <key>`.
    pub fn with_key(&self, key: &str) -> Client {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        );
        Client {
            app: self.clone(),
            http: self.http.clone(),
            headers,
        }
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            app: self.clone(),
            http: self.http.clone(),
            headers: HeaderMap::new(),
        }
    }
}

/// A client of the API with fixed credentials.
#[derive(Clone)]
pub struct Client {
    pub app: TestApp,
    pub http: reqwest::Client,
    pub headers: HeaderMap,
}

/// An answer: status, headers and the body as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

impl Client {
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .http
            .request(method, self.app.url(path))
            .headers(self.headers.clone());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    /// The same client acting on `team` (the `X-Team-Id` header).
    pub fn in_team(&self, team: TeamId) -> Client {
        let mut client = self.clone();
        client
            .headers
            .insert("x-team-id", HeaderValue::from(team.0));
        client
    }
}

/// A monitor body: HTTP to a loopback port nothing listens on, checked hourly.
pub fn http_monitor(name: &str) -> Value {
    json!({"name": name, "kind": "http", "url": "http://127.0.0.1:9/", "interval": "1h"})
}
