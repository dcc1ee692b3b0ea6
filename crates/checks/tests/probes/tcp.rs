//! The TCP probe against a small line server: connect, send, expect.

use crate::support::{closed_port, kind, prober, serve_raw};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use watchtower_core::{CheckStatus, ErrorClass};

const TIMEOUT: Duration = Duration::from_secs(2);

/// Answers `PING` with `+PONG`, anything else with `-ERR unknown`.
async fn pong_server() -> crate::support::Server {
    serve_raw(|stream| async move {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply: &[u8] = if line.trim() == "PING" {
                b"+PONG\r\n"
            } else {
                b"-ERR unknown\r\n"
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    })
    .await
}

#[tokio::test]
async fn connect_only_is_up() {
    let server = pong_server().await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "tcp", "host": "127.0.0.1", "port": server.port()})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
}

#[tokio::test]
async fn send_and_expect_pass() {
    let server = pong_server().await;
    let outcome = prober()
        .check(
            &kind(
                json!({"kind": "tcp", "host": "localhost", "port": server.port(),
                         "send": "PING\r\n", "expect": "PONG"}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(outcome.size, Some(7));
}

#[tokio::test]
async fn an_unexpected_answer_is_quoted() {
    let server = pong_server().await;
    let started = Instant::now();
    let outcome = prober()
        .check(
            &kind(
                json!({"kind": "tcp", "host": "127.0.0.1", "port": server.port(),
                         "send": "HELLO\r\n", "expect": "PONG"}),
            ),
            TIMEOUT,
        )
        .await;
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(2));
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::TcpExpect));
    assert_eq!(
        outcome.message.as_deref(),
        Some("expected 'PONG', received \"-ERR unknown\\r\\n\" before the timeout")
    );
}

#[tokio::test]
async fn a_peer_that_closes_without_the_text_is_a_mismatch() {
    let server = serve_raw(|mut stream| async move {
        let _ = stream.write_all(b"bye").await;
    })
    .await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "tcp", "host": "127.0.0.1", "port": server.port(), "expect": "hello"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::TcpExpect),
        "{outcome:?}"
    );
    assert!(
        outcome
            .message
            .unwrap_or_default()
            .contains("before the connection closed")
    );
}

#[tokio::test]
async fn a_silent_peer_times_out_waiting_for_the_text() {
    let server = serve_raw(|stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "tcp", "host": "127.0.0.1", "port": server.port(), "expect": "hello"})),
            Duration::from_millis(500),
        )
        .await;
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Timeout),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.message.as_deref(),
        Some("timed out after 500ms waiting for 'hello'")
    );
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let port = closed_port().await;
    let outcome = prober()
        .check(
            &kind(json!({"kind": "tcp", "host": "127.0.0.1", "port": port})),
            TIMEOUT,
        )
        .await;
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Connect),
        "{outcome:?}"
    );
    assert!(
        outcome
            .message
            .unwrap_or_default()
            .contains(&format!("127.0.0.1:{port}"))
    );
}
