//! Servers that stall (slowloris): each check must end with one timeout naming the phase, within
//! the timeout plus a generous margin, never a stuck task.

use crate::support::{Server, kind, prober, serve_raw};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchtower_core::{CheckStatus, ErrorClass};

const TIMEOUT: Duration = Duration::from_secs(1);
const MARGIN: Duration = Duration::from_secs(2);

/// Reads the request head, then trickles `reply` one byte every 200 ms.
async fn trickling(reply: &'static [u8]) -> Server {
    serve_raw(move |mut stream| async move {
        let mut buffer = [0u8; 4096];
        let _ = stream.read(&mut buffer).await;
        for byte in reply {
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await
}

async fn check_times_out(url: String, waiting_for: &str) {
    let started = Instant::now();
    let outcome = prober()
        .check(&kind(json!({"kind": "http", "url": url})), TIMEOUT)
        .await;
    let elapsed = started.elapsed();
    assert!(elapsed < TIMEOUT + MARGIN, "took {elapsed:?}");
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Timeout),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.message.as_deref(),
        Some(format!("timed out after 1s waiting for {waiting_for}").as_str())
    );
}

#[tokio::test]
async fn a_server_that_never_answers_costs_one_timeout() {
    let server = serve_raw(|stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    check_times_out(server.url("http", "/"), "the first byte").await;
}

#[tokio::test]
async fn headers_trickling_in_cost_one_timeout() {
    let server =
        trickling(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
            .await;
    check_times_out(server.url("http", "/"), "the first byte").await;
}

#[tokio::test]
async fn a_body_trickling_in_costs_one_timeout() {
    let server = serve_raw(|mut stream| async move {
        let mut buffer = [0u8; 4096];
        let _ = stream.read(&mut buffer).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            .await;
        for _ in 0..100 {
            if stream.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    check_times_out(server.url("http", "/"), "the response body").await;
}

#[tokio::test]
async fn a_server_that_never_starts_tls_costs_one_timeout() {
    let server = serve_raw(|stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    check_times_out(server.url("https", "/"), "the TLS handshake").await;
}
