//! Certificate-expiry rules: one alert per certificate, channel and threshold, however many
//! monitors share the certificate; none for a certificate far from expiry; none again on the
//! next sweep; a fresh one for a new certificate.

use crate::receivers::{Answer, Receiver};
use crate::world::*;
use serde_json::json;
use watchtower_alerting::certificates;
use watchtower_core::{CertificateInfo, CheckOutcome, Timestamp};

fn seen_with(at_ms: i64, fingerprint: &str, expires_at: i64) -> CheckOutcome {
    let mut outcome = up(at_ms);
    outcome.certificate = Some(CertificateInfo {
        subject: "CN=*.example.test".into(),
        issuer: "CN=Example Test CA".into(),
        expires_at: Timestamp(expires_at),
        leaf_expires_at: Timestamp(expires_at),
        fingerprint_sha256: fingerprint.into(),
        dns_names: vec!["*.example.test".into(), "example.test".into()],
    });
    outcome
}

#[tokio::test]
async fn monitors_sharing_a_certificate_get_one_alert_per_threshold() {
    each_backend(|world| async move {
        let now = at("2026-11-27T10:00:00Z");
        let receiver = Receiver::start("/hook", Answer::status(200, "")).await;
        let hook = world
            .channel(
                "hook",
                json!({"kind": "webhook", "url": receiver.url("/hook")}),
            )
            .await;
        world
            .rule(&["certificate_expiring"], vec![hook], Some(14))
            .await;
        world
            .rule(&["certificate_expiring"], vec![hook], Some(3))
            .await;

        let shop = world.http_monitor("shop").await;
        let api = world.http_monitor("api").await;
        let blog = world.http_monitor("blog").await;
        let wildcard_expires = now + 5 * DAY;
        for monitor in [shop, api] {
            let outcome = seen_with(now - MINUTE, "aa11", wildcard_expires);
            world
                .observe(monitor, &mut runtime(now - HOUR), vec![outcome])
                .await;
        }
        let far_off = seen_with(now - MINUTE, "bb22", now + 60 * DAY);
        world
            .observe(blog, &mut runtime(now - HOUR), vec![far_off])
            .await;

        // The 14-day rule fires for the shared certificate; the 3-day one not yet.
        assert_eq!(
            certificates::queue_expiring(&*world.store, Timestamp(now)).await?,
            1
        );
        assert_eq!(
            certificates::queue_expiring(&*world.store, Timestamp(now)).await?,
            0
        );
        assert_eq!(world.dispatch(now).await, 1);
        let request = receiver.single();
        let body = request.json();
        assert_eq!(body["type"], "monitor.certificate_expiring");
        let data = &body["data"];
        assert_eq!(data["monitor_name"], "shop and api");
        assert_eq!(data["certificate_expires_at"], wildcard_expires);
        assert_eq!(data["certificate"]["fingerprint_sha256"], "aa11");
        assert_eq!(data["certificate"]["within_days"], 14);
        let names: Vec<&str> = data["certificate"]["monitors"]
            .as_array()
            .expect("monitors")
            .iter()
            .map(|m| m["name"].as_str().expect("a name"))
            .collect();
        assert_eq!(names, ["shop", "api"]);

        // Two days later the 3-day threshold is crossed: one more alert, still one certificate.
        let later = now + 2 * DAY + HOUR;
        assert_eq!(
            certificates::queue_expiring(&*world.store, Timestamp(later)).await?,
            1
        );
        world.dispatch(later).await;
        let requests = receiver.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].json()["data"]["certificate"]["within_days"], 3);

        // The shop renews; a later sighting of the new certificate starts afresh only when it,
        // too, comes close to expiry.
        let renewed = seen_with(later, "cc33", later + 90 * DAY);
        world
            .observe(shop, &mut runtime(later), vec![renewed])
            .await;
        assert_eq!(
            certificates::queue_expiring(&*world.store, Timestamp(later)).await?,
            0
        );
        assert_eq!(receiver.requests().len(), 2);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_paused_monitors_certificate_raises_no_alert() {
    each_backend(|world| async move {
        let now = at("2026-11-27T10:00:00Z");
        let receiver = Receiver::start("/hook", Answer::status(200, "")).await;
        let hook = world
            .channel("hook", json!({"kind": "webhook", "url": receiver.url("/hook")}))
            .await;
        world.rule(&["certificate_expiring"], vec![hook], Some(30)).await;
        let paused = world
            .monitor(json!({"name": "old", "kind": "http", "url": "https://old.example.test/", "paused": true}))
            .await;
        let outcome = seen_with(now - MINUTE, "dd44", now + DAY);
        world.observe(paused, &mut runtime(now - HOUR), vec![outcome]).await;
        assert_eq!(certificates::queue_expiring(&*world.store, Timestamp(now)).await?, 0);
        Ok(())
    })
    .await;
}
