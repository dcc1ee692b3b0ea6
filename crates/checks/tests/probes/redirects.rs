//! Redirect chains: relative and absolute locations, 303 turning into GET, loops, limits.

use crate::support::{kind, prober, serve_http};
use serde_json::json;
use std::time::Duration;
use watchtower_core::{CheckStatus, ErrorClass};

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_chain_within_the_limit_reports_the_final_response() {
    let server = serve_http().await;
    let outcome = prober()
        .check(
            &kind(
                json!({"kind": "http", "url": server.url("http", "/redirect/3"),
                         "max_redirects": 3, "keyword": "landed"}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(outcome.http_status, Some(200));
}

#[tokio::test]
async fn relative_and_absolute_locations_are_followed() {
    let server = serve_http().await;
    let prober = prober();
    let relative = prober
        .check(
            &kind(
                json!({"kind": "http", "url": server.url("http", "/relative/a"),
                         "keyword": "relative landed"}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(relative.status, CheckStatus::Up, "{relative:?}");
    let absolute = prober
        .check(
            &kind(
                json!({"kind": "http", "url": server.url("http", "/absolute"),
                         "keyword": "all systems ok"}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(absolute.status, CheckStatus::Up, "{absolute:?}");
}

#[tokio::test]
async fn see_other_turns_a_post_into_a_get_without_the_body() {
    let server = serve_http().await;
    let outcome = prober()
        .check(
            &kind(
                json!({"kind": "http", "url": server.url("http", "/see-other"), "method": "POST",
                         "body": "secret=1", "regex": "(?m)^method: GET$\\n(?s:.*)^body: $"}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
}

#[tokio::test]
async fn too_many_redirects_is_down_with_a_clear_message() {
    let server = serve_http().await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "http", "url": server.url("http", "/redirect/5"), "max_redirects": 2})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::Protocol));
    let message = outcome.message.unwrap_or_default();
    assert!(
        message.starts_with("too many redirects: more than 2"),
        "{message}"
    );
}

#[tokio::test]
async fn a_redirect_loop_is_down() {
    let server = serve_http().await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "http", "url": server.url("http", "/loop")})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert!(
        outcome
            .message
            .unwrap_or_default()
            .starts_with("redirect loop")
    );
}

#[tokio::test]
async fn without_following_a_redirect_is_judged_by_its_status() {
    let server = serve_http().await;
    let prober = prober();
    let url = server.url("http", "/redirect/1");
    let refused = prober
        .check(
            &kind(json!({"kind": "http", "url": url, "follow_redirects": false})),
            TIMEOUT,
        )
        .await;
    assert_eq!(
        refused.error_class,
        Some(ErrorClass::StatusCode),
        "{refused:?}"
    );
    assert_eq!(
        refused.message.as_deref(),
        Some("status 302, expected 200-299")
    );
    let accepted = prober
        .check(
            &kind(
                json!({"kind": "http", "url": url, "follow_redirects": false,
                         "accepted_status": ["302"]}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(accepted.status, CheckStatus::Up, "{accepted:?}");
}

#[tokio::test]
async fn credentials_follow_a_redirect_only_within_the_origin() {
    let first = serve_http().await;
    let other = serve_http().await;
    let prober = prober();
    let same = prober
        .check(
            &kind(
                json!({"kind": "http", "url": first.url("http", "/same-origin"),
                         "auth": {"bearer": "t0ken"}, "keyword": "authorization: Bearer t0ken"}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(same.status, CheckStatus::Up, "{same:?}");
    let elsewhere = format!("/elsewhere/{}", other.port());
    let cross = prober
        .check(
            &kind(json!({"kind": "http", "url": first.url("http", &elsewhere),
                         "auth": {"bearer": "t0ken"}, "headers": {"Authorization": "Bearer h34der"},
                         "keyword": "authorization: -\n"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(cross.status, CheckStatus::Up, "{cross:?}");
}

#[tokio::test]
async fn headers_the_monitor_configured_do_not_follow_a_redirect_to_another_origin() {
    let first = serve_http().await;
    let other = serve_http().await;
    let prober = prober();
    let same = prober
        .check(
            &kind(
                json!({"kind": "http", "url": first.url("http", "/same-origin"),
                         "headers": {"X-Probe": "s3cret-key"},
                         "keyword": "x-probe: s3cret-key\n"}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(same.status, CheckStatus::Up, "{same:?}");
    // Another port is another origin: the header stays behind.
    let elsewhere = format!("/elsewhere/{}", other.port());
    let cross = prober
        .check(
            &kind(json!({"kind": "http", "url": first.url("http", &elsewhere),
                         "headers": {"X-Probe": "s3cret-key"},
                         "keyword": "x-probe: -\n"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(cross.status, CheckStatus::Up, "{cross:?}");
}
