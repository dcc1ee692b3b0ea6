//! Targets that never stop sending: an endless header line or an endless body, written as fast
//! as loopback takes it. The check must end with a clear message and the process's memory must
//! stay bounded (the peak resident size seen while the check runs, read from /proc/self/status,
//! grows by less than [`MEMORY_BOUND_KIB`]; a memory bound, not a timing one).

use crate::support::{Server, kind, prober, serve_raw};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchtower_core::{CheckOutcome, CheckStatus, ErrorClass};

/// 64 MiB: the probe reads at most 1 MiB of body and hyper at most ~400 KiB of head, so anything
/// near this bound means the data is being kept.
const MEMORY_BOUND_KIB: u64 = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(3);

/// Writes `head`, then `filler` forever (until the client hangs up).
async fn endless(head: &'static [u8], filler: u8) -> Server {
    serve_raw(move |mut stream| async move {
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).await;
        if stream.write_all(head).await.is_err() {
            return;
        }
        let chunk = vec![filler; 64 * 1024];
        while stream.write_all(&chunk).await.is_ok() {}
    })
    .await
}

/// Endless chunked body: one 64 KiB chunk after another, never the last one.
async fn endless_chunks() -> Server {
    serve_raw(|mut stream| async move {
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).await;
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head).await.is_err() {
            return;
        }
        let mut chunk = b"10000\r\n".to_vec();
        chunk.extend(std::iter::repeat_n(b'z', 0x10000));
        chunk.extend(b"\r\n");
        while stream.write_all(&chunk).await.is_ok() {}
    })
    .await
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Runs the check while sampling the resident size every 20 ms; the outcome and the growth of
/// the peak over the size before the check.
async fn check_sampling_memory(spec: serde_json::Value) -> (CheckOutcome, u64) {
    let before = resident_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(resident_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let outcome = prober().check(&kind(spec), TIMEOUT).await;
    done.store(true, Ordering::Relaxed);
    sampler.join().expect("the sampler ends");
    let grown = peak.load(Ordering::Relaxed).saturating_sub(before);
    (outcome, grown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_header_ends_the_check_with_a_clear_error_and_bounded_memory() {
    let server = endless(b"HTTP/1.1 200 OK\r\nX-Endless: ", b'a').await;
    let (outcome, grown) =
        check_sampling_memory(json!({"kind": "http", "url": server.url("http", "/")})).await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Protocol),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.message.as_deref(),
        Some("malformed response: message head is too large")
    );
    assert!(grown < MEMORY_BOUND_KIB, "memory grew by {grown} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_read_up_to_the_limit_and_said_so() {
    let server = endless(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", b'x').await;
    let spec = json!({"kind": "http", "url": server.url("http", "/"), "keyword": "never sent"});
    let (outcome, grown) = check_sampling_memory(spec).await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Keyword),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.message.as_deref(),
        Some(
            "keyword 'never sent' not found in the response body \
             (only the first 1048576 bytes of the body were read)"
        )
    );
    assert!(grown < MEMORY_BOUND_KIB, "memory grew by {grown} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_body_is_read_up_to_the_limit_and_said_so() {
    let server = endless_chunks().await;
    let spec = json!({"kind": "http", "url": server.url("http", "/"), "keyword": "never sent"});
    let (outcome, grown) = check_sampling_memory(spec).await;
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Keyword),
        "{outcome:?}"
    );
    assert!(
        outcome
            .message
            .as_deref()
            .is_some_and(|m| m.ends_with("(only the first 1048576 bytes of the body were read)")),
        "{outcome:?}"
    );
    assert!(grown < MEMORY_BOUND_KIB, "memory grew by {grown} KiB");
}
