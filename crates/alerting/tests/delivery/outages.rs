//! A receiver that is down, then up, gets exactly one delivery: for every HTTP channel kind, the
//! first attempt fails to connect, the retry waits its backoff, and the one after the receiver
//! is back delivers; later rounds send nothing more. The request lands on the path each service
//! documents.

use crate::receivers::{Answer, Receiver};
use crate::world::*;
use serde_json::{Value, json};

/// A loopback port nobody listens on yet.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("an address").port()
}

/// Each kind: its settings for a receiver at `base`, the route the service documents, and what
/// the service answers.
fn kinds(base: &str) -> Vec<(&'static str, Value, String, u16)> {
    let sid = "AC0123456789abcdef0123456789abcdef";
    vec![
        (
            "slack",
            json!({"kind": "slack", "webhook_url": format!("{base}/services/T0/B0/X")}),
            "/services/T0/B0/X".into(),
            200,
        ),
        (
            "discord",
            json!({"kind": "discord", "webhook_url": format!("{base}/api/webhooks/1/X")}),
            "/api/webhooks/1/X".into(),
            204,
        ),
        (
            "teams",
            json!({"kind": "teams", "webhook_url": format!("{base}/webhookb2/X")}),
            "/webhookb2/X".into(),
            202,
        ),
        (
            "telegram",
            json!({"kind": "telegram", "bot_token": "123:X", "chat_id": "-100", "api_base": base}),
            "/bot123:X/sendMessage".into(),
            200,
        ),
        (
            "pagerduty",
            json!({"kind": "pagerduty", "routing_key": "R0UTINGKEY", "events_url": format!("{base}/v2/enqueue")}),
            "/v2/enqueue".into(),
            202,
        ),
        (
            "ntfy",
            json!({"kind": "ntfy", "server": base, "topic": "alerts"}),
            "/alerts".into(),
            200,
        ),
        (
            "sms",
            json!({"kind": "sms", "account_sid": sid, "auth_token": "X", "from": "+15005550006", "to": "+14155550100", "api_base": base}),
            format!("/2010-04-01/Accounts/{sid}/Messages.json"),
            201,
        ),
        (
            "webhook",
            json!({"kind": "webhook", "url": format!("{base}/hook")}),
            "/hook".into(),
            200,
        ),
    ]
}

#[tokio::test]
async fn every_http_channel_delivers_once_after_its_receiver_comes_back() {
    each_backend(|world| async move {
        let t = at("2026-11-27T10:00:00Z");
        // Each kind gets a port of its own that nobody listens on yet.
        let ports: Vec<u16> = (0..8).map(|_| closed_port()).collect();
        let kinds: Vec<_> = ports
            .iter()
            .enumerate()
            .map(|(i, port)| kinds(&format!("http://127.0.0.1:{port}")).swap_remove(i))
            .collect();
        let mut channels = Vec::new();
        for (name, config, _, _) in &kinds {
            channels.push(world.channel(name, config.clone()).await);
        }
        world.rule(&["down"], channels, None).await;
        let monitor = world.http_monitor("checkout").await;
        world
            .observe(monitor, &mut runtime(t - HOUR), vec![down(t)])
            .await;

        // Every receiver is down: each attempt fails to connect and is retried after 5 s.
        assert_eq!(world.dispatch(t + SECOND).await, kinds.len());
        let log = world.log().await;
        assert!(
            log.iter()
                .all(|n| n.status.as_str() == "pending" && n.attempts == 1),
            "{log:?}"
        );
        assert!(log.iter().all(|n| n.last_error.is_some()), "{log:?}");
        assert_eq!(
            world.dispatch(t + 3 * SECOND).await,
            0,
            "nothing is due before the backoff ends"
        );

        // The receivers come back on the ports the channels were given.
        let mut receivers = Vec::new();
        for ((name, _, route, status), port) in kinds.iter().zip(&ports) {
            let body = if *name == "telegram" {
                r#"{"ok":true}"#
            } else {
                "{}"
            };
            let address = format!("127.0.0.1:{port}");
            let receiver = Receiver::start_on(&address, route, Answer::status(*status, body)).await;
            receivers.push((*name, route.clone(), receiver));
        }
        assert_eq!(world.dispatch(t + 10 * SECOND).await, kinds.len());
        assert_eq!(world.dispatch(t + HOUR).await, 0, "nothing is sent again");
        for (name, route, receiver) in &receivers {
            let requests = receiver.requests();
            assert_eq!(requests.len(), 1, "{name}: {requests:?}");
            assert_eq!(&requests[0].path, route, "{name}");
        }
        let log = world.log().await;
        assert!(
            log.iter()
                .all(|n| n.status.as_str() == "delivered" && n.attempts == 2),
            "{log:?}"
        );
        Ok(())
    })
    .await;
}
