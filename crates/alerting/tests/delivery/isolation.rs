//! One slow receiver or one runaway template delays only its own notification: the running
//! dispatcher (`dispatcher::start`, as `serve` runs it) delivers another team's alert while a
//! receiver hangs, a stored template that would run for minutes goes out in the default wording,
//! and the dispatcher stops when told to with the hung delivery still in flight.

use crate::receivers::{Answer, Receiver};
use crate::world::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use watchtower_alerting::dispatcher::{self, DispatcherConfig};
use watchtower_alerting::{Sender, SenderOptions};
use watchtower_core::{Plan, TeamId, Timestamp};

/// Waits (bounded) until `receiver` has recorded `count` requests.
async fn received(receiver: &Receiver, count: usize, what: &str) {
    for _ in 0..400 {
        if receiver.requests().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: no delivery within 20 s");
}

async fn second_team(world: &World) -> anyhow::Result<TeamId> {
    let owner = world
        .store
        .create_user(&watchtower_store::NewUser {
            email: "other@example.com".into(),
            email_key: "other@example.com".into(),
            name: "other".into(),
            password_hash: "x".into(),
            is_admin: false,
            created_at: Timestamp(0),
        })
        .await?;
    Ok(world
        .store
        .create_team("Other", Plan::Free, owner.id, Timestamp(0))
        .await?
        .id)
}

#[tokio::test]
async fn another_teams_alert_is_delivered_while_a_receiver_hangs_and_the_dispatcher_still_stops() {
    each_backend(|world| async move {
        let hanging = Receiver::start(
            "/hook",
            Answer {
                delay: Some(Duration::from_secs(600)),
                ..Answer::status(200, "ok")
            },
        )
        .await;
        let prompt = Receiver::start("/hook", Answer::status(200, "ok")).await;
        let slow_channel = world
            .channel(
                "slow",
                json!({"kind": "webhook", "url": hanging.url("/hook")}),
            )
            .await;
        let other = second_team(&world).await?;
        let other_channel = world
            .store
            .create_channel(
                other,
                "prompt",
                "webhook",
                &json!({"kind": "webhook", "url": prompt.url("/hook"),
                        // Stored before templates were bounded: it would loop for minutes.
                        "message_template": "{% for x in range(100000) * 100000000000 %}{% endfor %}"}),
                Timestamp(0),
            )
            .await?
            .id;
        let stop = CancellationToken::new();
        let running = dispatcher::start(
            world.store.clone(),
            // Patient enough that waiting for the hung receiver would fail the test.
            Arc::new(Sender::new(SenderOptions {
                timeout: Duration::from_secs(300),
                ..SenderOptions::default()
            })),
            DispatcherConfig {
                poll_interval: Duration::from_millis(50),
                delivery_deadline: Duration::from_secs(300),
                lease: Duration::from_secs(600),
                shutdown_grace: Duration::from_millis(200),
                ..DispatcherConfig::default()
            },
            stop.clone(),
        );

        world
            .store
            .enqueue_test_notification(TEAM, slow_channel, Timestamp::now())
            .await?;
        received(&hanging, 1, "the hanging receiver").await;
        world
            .store
            .enqueue_test_notification(other, other_channel, Timestamp::now())
            .await?;
        received(&prompt, 1, "the other team's receiver").await;
        let body = prompt.single().json();
        assert_eq!(body["type"], "monitor.test", "{body}");
        // The runaway template was given up on: the default wording went out.
        assert!(body["data"]["custom_message"].is_null(), "{body}");

        stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), running)
            .await
            .expect("the dispatcher stops with a delivery still hanging")
            .expect("the dispatcher task ends cleanly");
        Ok(())
    })
    .await;
}
