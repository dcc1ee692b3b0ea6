//! Error reports reach a local Sentry endpoint (`FakeSentry`, which checks the documented
//! envelope and auth header) with the route template, method, status, request id, release and
//! environment, and without any secret the failing requests carried: API key, password, session
//! cookie, CSRF token, a monitor's `Authorization` header value.

use crate::support::*;
use axum::Router;
use axum::routing::{get, post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use std::sync::Arc;
use watchtower_core::Plan;
use watchtower_server::middleware::error_reports::{
    ErrorReportSettings, ErrorReporter, with_error_reports,
};
use watchtower_store::Backend;
use watchtower_testkit::FakeSentry;

const RELEASE: &str = "watchtower@0.1.0+0123456789ab";
const ENVIRONMENT: &str = "staging";
const MONITOR_AUTHORIZATION: &str = "Bearer monitor-s3cret-authorization-7";
const URL_PASSWORD: &str = "url-s3cret-password-8";

fn reporter(sentry: &FakeSentry) -> ErrorReporter {
    ErrorReporter::new(&ErrorReportSettings {
        dsn: sentry.dsn.clone(),
        environment: ENVIRONMENT.into(),
        release: RELEASE.into(),
    })
    .expect("the fake's DSN")
}

fn tag<'a>(event: &'a Value, name: &str) -> &'a str {
    event["tags"][name].as_str().unwrap_or_default()
}

fn event_with_request_id<'a>(events: &'a [Value], request_id: &str) -> &'a Value {
    events
        .iter()
        .find(|event| tag(event, "request_id") == request_id)
        .unwrap_or_else(|| panic!("no event for request {request_id} in {events:#?}"))
}

fn assert_common_fields(event: &Value, route: &str, method: &str, status: &str) {
    assert_eq!(tag(event, "route"), route, "{event:#}");
    assert_eq!(tag(event, "method"), method, "{event:#}");
    assert_eq!(tag(event, "status"), status, "{event:#}");
    assert_eq!(event["release"], RELEASE, "{event:#}");
    assert_eq!(event["environment"], ENVIRONMENT, "{event:#}");
    assert_eq!(
        event["transaction"],
        format!("{method} {route}"),
        "{event:#}"
    );
    for section in ["request", "user", "breadcrumbs", "extra"] {
        assert!(
            event.get(section).is_none_or(|value| value.is_null()
                || value.as_object().is_some_and(serde_json::Map::is_empty)
                || value.as_array().is_some_and(Vec::is_empty)
                || value["values"].as_array().is_some_and(Vec::is_empty)),
            "{section} must not be sent: {event:#}"
        );
    }
}

fn assert_nothing_secret(sentry: &FakeSentry, secrets: &[&str]) {
    let sent = sentry.everything_sent();
    assert!(!sent.is_empty(), "nothing was sent");
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(
            !sent.contains(secret),
            "{secret} was sent to Sentry:\n{sent}"
        );
    }
    assert_eq!(sentry.refused(), Vec::<String>::new());
}

/// Renames tables the requests below need away (and back), so the store fails for real.
async fn rename_tables(app: &TestApp, away: bool) -> anyhow::Result<()> {
    let statements: [&'static str; 2] = if away {
        [
            "ALTER TABLE monitors RENAME TO monitors_away",
            "ALTER TABLE sessions RENAME TO sessions_away",
        ]
    } else {
        [
            "ALTER TABLE monitors_away RENAME TO monitors",
            "ALTER TABLE sessions_away RENAME TO sessions",
        ]
    };
    for statement in statements {
        match app.store.backend() {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&app.database_url).await?;
                sqlx::query(statement).execute(&mut conn).await?;
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&app.database_url).await?;
                sqlx::query(statement).execute(&mut conn).await?;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn server_errors_are_reported_with_their_route_and_request_id_and_no_secret() {
    let sentry = FakeSentry::start().await;
    let options = Options {
        error_reports: Some(reporter(&sentry)),
        ..Options::default()
    };
    let sentry = Arc::new(sentry);
    let backend = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    each_backend(options, |app: TestApp| {
        let sentry = sentry.clone();
        let backend = backend.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            let owner_email = format!("owner{backend}@example.com");
            let owner = app.user(&owner_email, false).await;
            let team = app.team("Ops", Plan::Unlimited, owner).await;
            let session = app.login(&owner_email).await.in_team(team);
            let created = session
                .post(
                    &format!("/api/teams/{team}/api-keys"),
                    json!({"name": "deploy", "scope": "read_write"}),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
            let api_key = created.body["key"].as_str().expect("key").to_owned();
            let monitor = json!({
                "name": "API", "kind": "http", "interval": "1h",
                "url": format!("http://probe:{URL_PASSWORD}@127.0.0.1:9/"),
                "headers": {"Authorization": MONITOR_AUTHORIZATION},
            });
            let stored = session.post("/api/monitors", monitor.clone()).await;
            assert_eq!(stored.status, StatusCode::CREATED, "{:?}", stored.body);
            let cookie = session_cookie(&session).await;
            let csrf = session.headers["x-csrf-token"]
                .to_str()
                .expect("csrf")
                .to_owned();

            rename_tables(&app, true).await?;
            let with_id = |client: &Client, id: &str| {
                let mut client = client.clone();
                client
                    .headers
                    .insert("x-request-id", id.parse().expect("id"));
                client
            };
            let by_session = with_id(&session, &format!("session-{backend}"))
                .get("/api/monitors")
                .await;
            let by_key = with_id(&app.with_key(&api_key), &format!("key-{backend}"))
                .post("/api/monitors", monitor)
                .await;
            let login = with_id(&app.anonymous(), &format!("login-{backend}"))
                .post(
                    "/api/auth/login",
                    json!({"email": owner_email, "password": PASSWORD}),
                )
                .await;
            rename_tables(&app, false).await?;
            for answer in [&by_session, &by_key, &login] {
                assert!(answer.status.is_server_error(), "{answer:?}");
            }

            let events = sentry.events(3 * (backend + 1)).await;
            let event = event_with_request_id(&events, &format!("session-{backend}"));
            let status = by_session.status.as_u16().to_string();
            assert_common_fields(event, "/api/monitors", "GET", &status);
            assert_eq!(tag(event, "database_failure"), "true");
            assert_eq!(
                event["message"]["formatted"]
                    .as_str()
                    .or(event["message"].as_str()),
                Some(format!("GET /api/monitors answered {status}").as_str()),
                "{event:#}"
            );
            let event = event_with_request_id(&events, &format!("key-{backend}"));
            assert_common_fields(
                event,
                "/api/monitors",
                "POST",
                &by_key.status.as_u16().to_string(),
            );
            let event = event_with_request_id(&events, &format!("login-{backend}"));
            assert_common_fields(
                event,
                "/api/auth/login",
                "POST",
                &login.status.as_u16().to_string(),
            );

            assert_nothing_secret(
                &sentry,
                &[
                    &api_key,
                    PASSWORD,
                    &cookie,
                    &csrf,
                    MONITOR_AUTHORIZATION,
                    "monitor-s3cret-authorization-7",
                    URL_PASSWORD,
                    &owner_email,
                ],
            );
            Ok(())
        }
    })
    .await;
}

/// The session cookie's value, read back through a request that echoes nothing: the client's
/// cookie store holds it.
async fn session_cookie(session: &Client) -> String {
    // `/api/auth/me` answers with the CSRF token; the cookie value itself comes from a fresh
    // login whose Set-Cookie we read.
    let email = session.get("/api/auth/me").await.body["user"]["email"]
        .as_str()
        .expect("email")
        .to_owned();
    let response = reqwest::Client::new()
        .post(session.app.url("/api/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .expect("ascii")
        .to_owned();
    let value = set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .expect("name=value");
    assert!(value.len() >= 16, "{set_cookie}");
    value
}

async fn explode() -> &'static str {
    panic!("the handler's invariant broke")
}

/// A handler that panics answers 500 through the application's own middleware, the instance goes
/// on serving, and the panic is reported once, as a panic, with the request's fields.
#[tokio::test]
async fn a_panicking_handler_answers_500_keeps_serving_and_is_reported_once() {
    const API_KEY: &str = "wtk_planted0secret0key0for0the0panic0test";
    const COOKIE: &str = "planted-session-cookie-value-0451";
    const BODY_PASSWORD: &str = "planted-body-password-9";
    let sentry = FakeSentry::start().await;
    let reporter = reporter(&sentry);
    let routes = Router::new()
        .route("/api/teams/{team}/explode", post(explode))
        .route("/api/still-here", get(|| async { "yes" }));
    let app = with_error_reports(
        watchtower_server::with_middleware(routes, false),
        reporter.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{base}/api/teams/7731/explode?token=query-s3cret"))
        .header("authorization", format!("Bearer {API_KEY}"))
        .header("cookie", format!("wt_session={COOKIE}"))
        .header("x-request-id", "panic-request-1")
        .json(&json!({"password": BODY_PASSWORD}))
        .send()
        .await
        .expect("the instance answers");
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.headers()["x-request-id"], "panic-request-1");
    let body: Value = answer.json().await.expect("the error shape");
    assert_eq!(body["error"]["code"], "internal");
    let after = http
        .get(format!("{base}/api/still-here"))
        .send()
        .await
        .expect("still serving");
    assert_eq!(after.status(), StatusCode::OK);

    let events = sentry.events(1).await;
    assert_eq!(events.len(), 1, "one report per panic: {events:#?}");
    let event = &events[0];
    assert_common_fields(event, "/api/teams/{team}/explode", "POST", "500");
    assert_eq!(tag(event, "request_id"), "panic-request-1");
    assert_eq!(tag(event, "database_failure"), "false");
    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], "panic", "{event:#}");
    assert_eq!(exception["value"], "the handler's invariant broke");
    assert_eq!(exception["mechanism"]["handled"], false);
    assert_eq!(event["level"], "fatal");
    assert_nothing_secret(
        &sentry,
        &[
            API_KEY,
            COOKIE,
            BODY_PASSWORD,
            "query-s3cret",
            "/api/teams/7731",
        ],
    );
    server.abort();
}
