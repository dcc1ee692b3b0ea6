//! The multi-tenant address policy applied to real checks: the address dialled after DNS decides.

use crate::support::{kind, serve_http};
use serde_json::json;
use std::time::Duration;
use watchtower_checks::{AddressPolicy, Prober, ProberOptions};
use watchtower_core::{CheckStatus, ErrorClass};

const TIMEOUT: Duration = Duration::from_secs(2);

fn public_only() -> Prober {
    Prober::new(ProberOptions {
        address_policy: AddressPolicy::PublicOnly,
        ..ProberOptions::default()
    })
}

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused() {
    let server = serve_http().await;
    let url = format!("http://localhost:{}/ok", server.port());
    let outcome = public_only()
        .check(&kind(json!({"kind": "http", "url": url})), TIMEOUT)
        .await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::NotPermitted));
    let message = outcome.message.unwrap_or_default();
    assert!(
        message.starts_with("address 127.0.0.1 is not allowed in multi-tenant mode"),
        "{message}"
    );
    // The same server is reachable when every address is allowed.
    let allowed = Prober::new(ProberOptions::default())
        .check(&kind(json!({"kind": "http", "url": url})), TIMEOUT)
        .await;
    assert_eq!(allowed.status, CheckStatus::Up, "{allowed:?}");
}

#[tokio::test]
async fn every_probe_applies_the_policy() {
    let prober = public_only();
    let kinds = [
        json!({"kind": "tcp", "host": "127.0.0.1", "port": 9}),
        json!({"kind": "tls", "host": "169.254.169.254", "port": 443}),
        json!({"kind": "ping", "host": "::1"}),
        json!({"kind": "dns", "host": "example.test", "resolver": "10.0.0.1:53"}),
        json!({"kind": "http", "url": "http://[::ffff:127.0.0.1]:9/"}),
        json!({"kind": "http", "url": "http://192.168.1.1/"}),
    ];
    for spec in kinds {
        let outcome = prober.check(&kind(spec.clone()), TIMEOUT).await;
        assert_eq!(
            outcome.error_class,
            Some(ErrorClass::NotPermitted),
            "{spec}: {outcome:?}"
        );
        assert!(
            outcome
                .message
                .unwrap_or_default()
                .contains("is not allowed in multi-tenant mode")
        );
    }
}

#[tokio::test]
async fn a_multi_tenant_dns_monitor_may_not_use_the_system_resolver() {
    let spec = json!({"kind": "dns", "host": "localhost", "record_type": "a"});
    let outcome = public_only().check(&kind(spec.clone()), TIMEOUT).await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::NotPermitted));
    let message = outcome.message.unwrap_or_default();
    assert!(message.contains("must name a public resolver"), "{message}");
    assert!(!message.contains("127.0.0.1"), "{message}");
}
