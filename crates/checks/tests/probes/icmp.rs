//! ICMP ping to loopback: UP where this host lets us open an ICMP socket, otherwise the explicit
//! NotPermitted verdict. Which branch applies is decided independently, by opening a socket here.

use crate::support::{kind, prober};
use serde_json::json;
use socket2::{Domain, Protocol, Socket, Type};
use std::time::Duration;
use watchtower_core::{CheckStatus, ErrorClass};

const TIMEOUT: Duration = Duration::from_secs(2);

fn icmp_permitted(domain: Domain, protocol: Protocol) -> bool {
    Socket::new(domain, Type::DGRAM, Some(protocol)).is_ok()
        || Socket::new(domain, Type::RAW, Some(protocol)).is_ok()
}

async fn assert_ping(host: &str, permitted: bool) {
    let outcome = prober()
        .check(&kind(json!({"kind": "ping", "host": host})), TIMEOUT)
        .await;
    if permitted {
        assert_eq!(outcome.status, CheckStatus::Up, "{host}: {outcome:?}");
        assert!(outcome.latency > Duration::ZERO);
        assert!(outcome.latency < TIMEOUT);
    } else {
        assert_eq!(outcome.status, CheckStatus::Down, "{host}: {outcome:?}");
        assert_eq!(outcome.error_class, Some(ErrorClass::NotPermitted));
        assert_eq!(
            outcome.message.as_deref(),
            Some("ICMP not permitted on this host")
        );
    }
}

#[tokio::test]
async fn ping_ipv4_loopback() {
    assert_ping("127.0.0.1", icmp_permitted(Domain::IPV4, Protocol::ICMPV4)).await;
}

#[tokio::test]
async fn ping_ipv6_loopback() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this host; skipped");
        return;
    }
    assert_ping("::1", icmp_permitted(Domain::IPV6, Protocol::ICMPV6)).await;
}

#[tokio::test]
async fn ping_a_host_name() {
    assert_ping("localhost", icmp_permitted(Domain::IPV4, Protocol::ICMPV4)).await;
}
