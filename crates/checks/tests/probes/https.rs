//! HTTPS and the TLS monitor against servers with certificates from a test CA of known expiry.

use crate::support::{TestCa, kind, prober, serve_https, serve_raw, tls_acceptor};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchtower_core::{CheckStatus, ErrorClass};

const TIMEOUT: Duration = Duration::from_secs(5);
const H1: &[&[u8]] = &[b"http/1.1"];

#[tokio::test]
async fn a_trusted_certificate_is_up_and_reported() {
    let ca = TestCa::new("WatchTower Test CA");
    let leaf = ca.leaf(-1, 90);
    let server = serve_https(&leaf, H1).await;
    let url = format!("https://localhost:{}/ok", server.port());
    let outcome = ca
        .prober()
        .check(&kind(json!({"kind": "http", "url": url})), TIMEOUT)
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    let phases = outcome.phases.expect("phases");
    assert!(phases.dns.is_some() && phases.connect.is_some() && phases.tls.is_some());
    assert!(phases.first_byte.is_some() && phases.download.is_some());
    let certificate = outcome.certificate.expect("certificate");
    assert_eq!(certificate.subject, "CN=localhost");
    assert_eq!(certificate.issuer, "CN=WatchTower Test CA");
    assert_eq!(certificate.dns_names, vec!["localhost".to_owned()]);
    assert_eq!(certificate.fingerprint_sha256.len(), 64);
    let not_after_millis = leaf.not_after.unix_timestamp() * 1000;
    assert_eq!(certificate.leaf_expires_at.as_millis(), not_after_millis);
    assert_eq!(
        certificate.expires_at, certificate.leaf_expires_at,
        "the CA outlives the leaf"
    );
}

#[tokio::test]
async fn a_certificate_expiring_within_the_warning_is_degraded() {
    let ca = TestCa::new("WatchTower Test CA");
    let server = serve_https(&ca.leaf(-30, 5), H1).await;
    let url = server.url("https", "/ok");
    let outcome = ca
        .prober()
        .check(
            &kind(json!({"kind": "http", "url": url, "cert_expiry_warn_days": 14})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Degraded, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::CertificateExpiry));
    let message = outcome.message.unwrap_or_default();
    assert!(message.contains("expires in 5 days"), "{message}");
    let relaxed = ca
        .prober()
        .check(
            &kind(json!({"kind": "http", "url": url, "cert_expiry_warn_days": 3})),
            TIMEOUT,
        )
        .await;
    assert_eq!(relaxed.status, CheckStatus::Up, "{relaxed:?}");
}

#[tokio::test]
async fn an_expired_certificate_is_down_and_still_reported() {
    let ca = TestCa::new("WatchTower Test CA");
    let leaf = ca.leaf(-60, -2);
    let server = serve_https(&leaf, H1).await;
    let outcome = ca
        .prober()
        .check(
            &kind(json!({"kind": "http", "url": server.url("https", "/ok")})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::Tls));
    let message = outcome.message.unwrap_or_default();
    assert!(message.to_lowercase().contains("expired"), "{message}");
    let certificate = outcome
        .certificate
        .expect("the rejected certificate is reported");
    assert_eq!(
        certificate.leaf_expires_at.as_millis(),
        leaf.not_after.unix_timestamp() * 1000
    );
}

#[tokio::test]
async fn an_untrusted_issuer_is_down_unless_verification_is_off() {
    let ca = TestCa::new("Nobody Trusts Me");
    let server = serve_https(&ca.leaf(-1, 90), H1).await;
    let url = server.url("https", "/ok");
    let prober = prober();
    let verified = prober
        .check(&kind(json!({"kind": "http", "url": url})), TIMEOUT)
        .await;
    assert_eq!(verified.status, CheckStatus::Down, "{verified:?}");
    assert_eq!(verified.error_class, Some(ErrorClass::Tls));
    let message = verified.message.unwrap_or_default();
    assert!(
        message.contains("UnknownIssuer") || message.contains("unknown issuer"),
        "{message}"
    );
    let unverified = prober
        .check(
            &kind(json!({"kind": "http", "url": url, "verify_tls": false})),
            TIMEOUT,
        )
        .await;
    assert_eq!(unverified.status, CheckStatus::Up, "{unverified:?}");
    let certificate = unverified.certificate.expect("certificate still reported");
    assert_eq!(certificate.issuer, "CN=Nobody Trusts Me");
}

#[tokio::test]
async fn http2_is_used_when_alpn_picks_it() {
    let ca = TestCa::new("WatchTower Test CA");
    let server = serve_https(&ca.leaf(-1, 90), &[b"h2", b"http/1.1"]).await;
    let prober = ca.prober();
    let outcome = prober
        .check(
            &kind(json!({"kind": "http", "url": server.url("https", "/echo"),
                         "headers": {"X-Probe": "h2"}, "keyword": "version: HTTP/2.0"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    let probe_header = prober
        .check(
            &kind(json!({"kind": "http", "url": server.url("https", "/echo"),
                         "headers": {"X-Probe": "h2"}, "keyword": "x-probe: h2"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(probe_header.status, CheckStatus::Up, "{probe_header:?}");
    let h1_only = serve_https(&ca.leaf(-1, 90), H1).await;
    let outcome = prober
        .check(
            &kind(json!({"kind": "http", "url": h1_only.url("https", "/echo"),
                         "keyword": "version: HTTP/1.1"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
}

#[tokio::test]
async fn the_tls_monitor_reports_expiry() {
    let ca = TestCa::new("WatchTower Test CA");
    let prober = ca.prober();
    let monitor = |port: u16| {
        kind(json!({"kind": "tls", "host": "127.0.0.1", "port": port,
                    "server_name": "localhost", "warn_days": 14}))
    };
    let healthy = serve_https(&ca.leaf(-1, 90), H1).await;
    let up = prober.check(&monitor(healthy.port()), TIMEOUT).await;
    assert_eq!(up.status, CheckStatus::Up, "{up:?}");
    assert_eq!(up.certificate.expect("certificate").subject, "CN=localhost");

    let expiring = serve_https(&ca.leaf(-30, 5), H1).await;
    let soon = prober.check(&monitor(expiring.port()), TIMEOUT).await;
    assert_eq!(soon.status, CheckStatus::Degraded, "{soon:?}");
    assert_eq!(soon.error_class, Some(ErrorClass::CertificateExpiry));
    assert!(soon.message.unwrap_or_default().contains("5 days"));

    let expired = serve_https(&ca.leaf(-60, -2), H1).await;
    let down = prober.check(&monitor(expired.port()), TIMEOUT).await;
    assert_eq!(down.status, CheckStatus::Down, "{down:?}");
    assert_eq!(down.error_class, Some(ErrorClass::Tls));
    assert!(
        down.certificate.is_some(),
        "the expired certificate is reported"
    );

    let wrong_name = prober
        .check(
            &kind(
                json!({"kind": "tls", "host": "127.0.0.1", "port": healthy.port(),
                         "server_name": "other.example"}),
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(wrong_name.status, CheckStatus::Down, "{wrong_name:?}");
    assert_eq!(wrong_name.error_class, Some(ErrorClass::Tls));
}

#[tokio::test]
async fn a_body_ended_by_closing_tls_without_close_notify_is_complete() {
    let ca = TestCa::new("WatchTower Test CA");
    let acceptor = tls_acceptor(&ca.leaf(-1, 90), H1);
    let server = serve_raw(move |stream| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(mut tls) = acceptor.accept(stream).await else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = tls.read(&mut request).await;
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nclose-delimited body")
                .await;
            let _ = tls.flush().await;
            // Drop the TCP connection without sending close_notify, as many servers do.
            let (tcp, _session) = tls.into_inner();
            drop(tcp);
        }
    })
    .await;
    let outcome = ca
        .prober()
        .check(
            &kind(json!({"kind": "http", "url": server.url("https", "/"), "keyword": "close-delimited body"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(outcome.size, Some("close-delimited body".len() as u64));
}
