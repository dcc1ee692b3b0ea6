//! The DNS monitor against an authoritative server on 127.0.0.1 (hickory-server, in-memory zone).

use crate::support::{kind, prober};
use hickory_proto::rr::rdata::{A, AAAA, MX, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use serde_json::json;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use watchtower_core::{CheckStatus, ErrorClass};

const TIMEOUT: Duration = Duration::from_secs(3);

struct DnsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn name(text: &str) -> Name {
    Name::from_str(text).expect("name")
}

/// example.test: www A ×2 and AAAA, MX and TXT at the apex.
async fn dns_server() -> DnsServer {
    let origin = name("example.test.");
    let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let records = [
        Record::from_rdata(
            origin.clone(),
            300,
            RData::SOA(SOA::new(
                name("ns.example.test."),
                name("admin.example.test."),
                1,
                3600,
                600,
                86400,
                60,
            )),
        ),
        Record::from_rdata(
            name("www.example.test."),
            300,
            RData::A(A::new(192, 0, 2, 10)),
        ),
        Record::from_rdata(
            name("www.example.test."),
            300,
            RData::A(A::new(192, 0, 2, 11)),
        ),
        Record::from_rdata(
            name("www.example.test."),
            300,
            RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10)),
        ),
        Record::from_rdata(
            origin.clone(),
            300,
            RData::MX(MX::new(10, name("mail.example.test."))),
        ),
        Record::from_rdata(
            origin.clone(),
            300,
            RData::TXT(TXT::new(vec!["v=spf1 -all".into()])),
        ),
    ];
    for record in records {
        assert!(zone.upsert_mut(record, 1), "record inserted");
    }
    let mut catalog = Catalog::new();
    let handler: Arc<dyn ZoneHandler> = Arc::new(zone);
    catalog.upsert(LowerName::new(&origin), vec![handler]);
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    let mut server = Server::new(catalog);
    server.register_socket(socket);
    let task = tokio::spawn(async move {
        let _ = server.block_until_done().await;
    });
    DnsServer { addr, task }
}

fn monitor(
    server: &DnsServer,
    host: &str,
    record_type: &str,
    expected: &[&str],
) -> watchtower_core::MonitorKind {
    kind(
        json!({"kind": "dns", "host": host, "record_type": record_type,
                "resolver": server.addr.to_string(), "expected": expected}),
    )
}

#[tokio::test]
async fn expected_records_are_found() {
    let server = dns_server().await;
    let prober = prober();
    let cases = [
        ("www.example.test", "A", vec!["192.0.2.10", "192.0.2.11"]),
        ("www.example.test", "AAAA", vec!["2001:DB8::10"]),
        ("example.test", "MX", vec!["MAIL.example.test."]),
        ("example.test", "TXT", vec!["v=spf1 -all"]),
        ("www.example.test", "A", vec![]),
    ];
    for (host, record_type, expected) in cases {
        let outcome = prober
            .check(&monitor(&server, host, record_type, &expected), TIMEOUT)
            .await;
        assert_eq!(
            outcome.status,
            CheckStatus::Up,
            "{host} {record_type}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_value_is_a_mismatch_naming_what_was_found() {
    let server = dns_server().await;
    let outcome = prober()
        .check(
            &monitor(
                &server,
                "www.example.test",
                "A",
                &["192.0.2.10", "192.0.2.99"],
            ),
            TIMEOUT,
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::DnsMismatch));
    assert_eq!(
        outcome.message.as_deref(),
        Some("expected A 192.0.2.99 for www.example.test, found 192.0.2.10, 192.0.2.11")
    );
}

#[tokio::test]
async fn a_name_that_does_not_exist_is_a_dns_error() {
    let server = dns_server().await;
    let prober = prober();
    let missing = prober
        .check(&monitor(&server, "nope.example.test", "A", &[]), TIMEOUT)
        .await;
    assert_eq!(missing.error_class, Some(ErrorClass::Dns), "{missing:?}");
    assert!(missing.message.unwrap_or_default().contains("NXDOMAIN"));
    let no_records = prober
        .check(&monitor(&server, "www.example.test", "MX", &[]), TIMEOUT)
        .await;
    assert_eq!(
        no_records.error_class,
        Some(ErrorClass::Dns),
        "{no_records:?}"
    );
    assert!(
        no_records
            .message
            .unwrap_or_default()
            .starts_with("no MX records for www.example.test")
    );
}

#[tokio::test]
async fn a_silent_resolver_costs_one_timeout() {
    // A bound UDP socket that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let started = std::time::Instant::now();
    let outcome = prober()
        .check(
            &kind(json!({"kind": "dns", "host": "example.test", "resolver": silent.local_addr().unwrap().to_string()})),
            Duration::from_secs(1),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(
        outcome.error_class,
        Some(ErrorClass::Timeout),
        "{outcome:?}"
    );
    let message = outcome.message.unwrap_or_default();
    assert!(
        message.starts_with("timed out after 1s waiting for the A answer"),
        "{message}"
    );
}
