//! HTTP checks against the test app: phases, status ranges, request details and body assertions.

use crate::support::{closed_port, kind, prober, serve_http, serve_raw};
use serde_json::json;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use watchtower_checks::{Prober, ProberOptions};
use watchtower_core::{CheckStatus, ErrorClass};

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_healthy_page_is_up_with_every_phase_timed() {
    let server = serve_http().await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "http", "url": server.url("http", "/ok")})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(outcome.http_status, Some(200));
    assert_eq!(outcome.size, Some("all systems ok".len() as u64));
    let phases = outcome.phases.expect("phases");
    assert_eq!(phases.dns, None, "an IP literal needs no DNS");
    assert_eq!(phases.tls, None, "plain http has no TLS");
    assert!(phases.connect.is_some() && phases.first_byte.is_some() && phases.download.is_some());
    assert!(outcome.latency >= phases.first_byte.unwrap_or_default());
    assert_eq!(outcome.certificate, None);
}

#[tokio::test]
async fn a_host_name_is_resolved_and_timed() {
    let server = serve_http().await;
    let url = format!("http://localhost:{}/ok", server.port());
    let outcome = prober()
        .check(&kind(json!({"kind": "http", "url": url})), TIMEOUT)
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert!(outcome.phases.and_then(|phases| phases.dns).is_some());
}

#[tokio::test]
async fn status_ranges_decide() {
    let server = serve_http().await;
    let prober = prober();
    let down = prober
        .check(
            &kind(json!({"kind": "http", "url": server.url("http", "/status/503")})),
            TIMEOUT,
        )
        .await;
    assert_eq!(down.status, CheckStatus::Down);
    assert_eq!(down.error_class, Some(ErrorClass::StatusCode));
    assert_eq!(
        down.message.as_deref(),
        Some("status 503, expected 200-299")
    );
    assert_eq!(down.http_status, Some(503));
    let accepted = prober
        .check(
            &kind(
                json!({"kind": "http", "url": server.url("http", "/status/503"),
                         "accepted_status": ["200-299", "500-503"]}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(accepted.status, CheckStatus::Up, "{accepted:?}");
    let not_found = prober
        .check(
            &kind(
                json!({"kind": "http", "url": server.url("http", "/nothing"),
                         "accepted_status": ["404"]}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(not_found.status, CheckStatus::Up, "{not_found:?}");
}

#[tokio::test]
async fn the_request_carries_method_headers_body_auth_and_user_agent() {
    let server = serve_http().await;
    let prober = Prober::new(ProberOptions {
        user_agent: "WatchTowerTest/1.0".into(),
        ..ProberOptions::default()
    });
    let basic = kind(json!({
        "kind": "http", "url": server.url("http", "/echo"), "method": "POST",
        "headers": {"X-Probe": "yes"}, "body": "ping=1",
        "auth": {"basic": {"username": "watch", "password": "tower"}},
        "keyword": "method: POST", "regex": "(?m)^body: ping=1$",
    }));
    let outcome = prober.check(&basic, TIMEOUT).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    for expected in [
        "user-agent: WatchTowerTest/1.0",
        "x-probe: yes",
        "connection: close",
        // base64("watch:tower")
        "authorization: Basic d2F0Y2g6dG93ZXI=",
        &format!("host: 127.0.0.1:{}", server.port()),
    ] {
        let rule = kind(json!({"kind": "http", "url": server.url("http", "/echo"),
            "method": "POST", "headers": {"X-Probe": "yes"},
            "auth": {"basic": {"username": "watch", "password": "tower"}}, "keyword": expected}));
        let outcome = prober.check(&rule, TIMEOUT).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{expected}: {outcome:?}");
    }
    let bearer = kind(json!({"kind": "http", "url": server.url("http", "/echo"),
        "auth": {"bearer": "t0ken"}, "keyword": "authorization: Bearer t0ken"}));
    let outcome = prober.check(&bearer, TIMEOUT).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
}

#[tokio::test]
async fn keyword_regex_and_json_path_pass_and_fail() {
    let server = serve_http().await;
    let prober = prober();
    let ok = server.url("http", "/ok");
    let json_url = server.url("http", "/json");
    let cases = [
        (json!({"keyword": "systems ok"}), None),
        (
            json!({"keyword": {"text": "SYSTEMS", "case_sensitive": false}}),
            None,
        ),
        (json!({"keyword": "SYSTEMS"}), Some(ErrorClass::Keyword)),
        (
            json!({"keyword": {"text": "error", "present": false}}),
            None,
        ),
        (
            json!({"keyword": {"text": "ok", "present": false}}),
            Some(ErrorClass::Keyword),
        ),
        (json!({"regex": "^all \\w+ ok$"}), None),
        (json!({"regex": "^down"}), Some(ErrorClass::Regex)),
    ];
    for (rule, expected) in cases {
        let mut spec = json!({"kind": "http", "url": ok});
        spec.as_object_mut()
            .unwrap()
            .extend(rule.as_object().unwrap().clone());
        let outcome = prober.check(&kind(spec), TIMEOUT).await;
        assert_eq!(outcome.error_class, expected, "{rule}: {outcome:?}");
    }
    let json_cases = [
        (json!({"path": "$.status", "value": "ok"}), None),
        (
            json!({"path": "$.checks.db.latency_ms", "op": "<", "value": 100}),
            None,
        ),
        (
            json!({"path": "$.tags", "op": "contains", "value": "b"}),
            None,
        ),
        (
            json!({"path": "$.checks.cache"}),
            Some(ErrorClass::JsonPath),
        ),
        (
            json!({"path": "$.checks.db.latency_ms", "op": ">", "value": 100}),
            Some(ErrorClass::JsonPath),
        ),
    ];
    for (rule, expected) in json_cases {
        let spec = json!({"kind": "http", "url": json_url, "json_path": rule});
        let outcome = prober.check(&kind(spec), TIMEOUT).await;
        assert_eq!(outcome.error_class, expected, "{rule}: {outcome:?}");
    }
    let not_json = prober
        .check(
            &kind(json!({"kind": "http", "url": ok, "json_path": {"path": "$.a"}})),
            TIMEOUT,
        )
        .await;
    assert_eq!(not_json.error_class, Some(ErrorClass::JsonPath));
    assert!(not_json.message.unwrap_or_default().contains("not JSON"));
}

#[tokio::test]
async fn a_large_body_is_read_up_to_the_limit() {
    let server = serve_http().await;
    let prober = Prober::new(ProberOptions {
        max_body_bytes: 1024,
        ..ProberOptions::default()
    });
    let url = server.url("http", "/big");
    let plain = prober
        .check(&kind(json!({"kind": "http", "url": url})), TIMEOUT)
        .await;
    assert_eq!(
        plain.status,
        CheckStatus::Up,
        "a big body is not an error: {plain:?}"
    );
    assert_eq!(plain.size, Some(1024));
    let keyword = prober
        .check(
            &kind(json!({"kind": "http", "url": url, "keyword": "needle"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(keyword.error_class, Some(ErrorClass::Keyword));
    let message = keyword.message.unwrap_or_default();
    assert!(message.contains("only the first 1024 bytes"), "{message}");
}

#[tokio::test]
async fn a_slow_response_is_degraded() {
    let server = serve_http().await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "http", "url": server.url("http", "/slow"), "degraded_after": "100ms"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Degraded, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::ResponseTime));
    assert!(
        outcome
            .message
            .unwrap_or_default()
            .contains("over the 100ms threshold")
    );
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error_naming_the_address() {
    let port = closed_port().await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "http", "url": format!("http://127.0.0.1:{port}/")})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(outcome.error_class, Some(ErrorClass::Connect));
    let message = outcome.message.unwrap_or_default();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}

#[tokio::test]
async fn a_malformed_response_is_a_protocol_error() {
    let server = serve_raw(|mut stream| async move {
        let _ = stream.write_all(b"this is not http\r\n\r\n").await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "http", "url": server.url("http", "/")})),
            TIMEOUT,
        )
        .await;
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Protocol),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_push_monitor_is_not_probed() {
    let outcome = prober()
        .check(&kind(json!({"kind": "push", "period": "5m"})), TIMEOUT)
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(outcome.error_class, Some(ErrorClass::Internal));
}

#[tokio::test]
async fn credentials_in_the_url_become_basic_auth() {
    let server = serve_http().await;
    let url = format!("http://watch:t%40wer@127.0.0.1:{}/echo", server.port());
    let outcome = prober()
        .check(
            &kind(json!({"kind": "http", "url": url,
                         // base64("watch:t@wer")
                         "keyword": "authorization: Basic d2F0Y2g6dEB3ZXI="})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
}

#[tokio::test]
async fn a_body_shorter_than_its_length_is_a_protocol_error() {
    let server = serve_raw(|mut stream| async move {
        let mut request = [0u8; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut request).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
            .await;
    })
    .await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "http", "url": server.url("http", "/")})),
            TIMEOUT,
        )
        .await;
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Protocol),
        "{outcome:?}"
    );
    assert!(outcome.message.unwrap_or_default().contains("cut short"));
}

/// The attack on `/healthz`: a 240-byte body nested 120 deep and a path of descendant segments
/// took 30 s and 1.35 GB. Now the work is estimated first and the check fails at once.
#[tokio::test]
async fn a_costly_json_path_fails_promptly_instead_of_running() {
    let nested = format!("{}{}", "[".repeat(120), "]".repeat(120));
    let server = serve_raw(move |mut stream| {
        let nested = nested.clone();
        async move {
            let mut request = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut request).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                nested.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(nested.as_bytes()).await;
        }
    })
    .await;
    let url = server.url("http", "/");
    let prober = prober();
    let attack =
        json!({"kind": "http", "url": url, "json_path": {"path": "$..[*]..[*]..[*]..[*]"}});
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        prober.check(&kind(attack), TIMEOUT),
    )
    .await
    .expect("the check ends within its own deadline");
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::JsonPath));
    let message = outcome.message.unwrap_or_default();
    assert!(
        message.contains("not evaluated") && message.contains("5000000"),
        "{message}"
    );
    assert!(
        started.elapsed() < TIMEOUT,
        "the check ran into its deadline"
    );

    // One descendant segment on the same body is cheap and still answers.
    let ordinary = json!({"kind": "http", "url": url, "json_path": {"path": "$..[*]"}});
    let outcome = prober.check(&kind(ordinary), TIMEOUT).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
}
