//! Ops episodes and database-care runs: claimed once in the database however many instances
//! ask at once, queued in the same outbox as monitor alerts, to a channel no team can reach.

use crate::support::*;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use watchtower_core::{AlertEvent, Timestamp};
use watchtower_store::Store;

fn details(signal: &str) -> serde_json::Value {
    json!({"event": {"signal": signal}, "instance": "test"})
}

#[tokio::test]
async fn an_episode_is_opened_and_resolved_once_and_queued_to_the_operators_channel() {
    each_backend(|store| async move {
        let at = Timestamp(T0);
        // Without an operators' channel the episode is kept, and nothing is queued.
        assert!(
            store
                .open_ops_episode("memory@a", at, "a", &details("memory"))
                .await?
        );
        assert!(store.claim_notifications(at, at, 10).await?.is_empty());
        assert!(
            store
                .resolve_ops_episode("memory@a", at, "a", &details("memory"))
                .await?
        );

        let channel = store
            .set_ops_channel(
                "webhook",
                &json!({"kind": "webhook", "url": "http://127.0.0.1:9/ops"}),
                at,
            )
            .await?;
        // Set again (a restart): the same channel, updated in place.
        let again = store
            .set_ops_channel(
                "webhook",
                &json!({"kind": "webhook", "url": "http://127.0.0.1:9/new"}),
                at,
            )
            .await?;
        assert_eq!(channel, again);
        assert!(
            store.channels(TEAM).await?.iter().all(|c| c.id != channel),
            "the operators' channel belongs to no team that has members"
        );

        let opened = Timestamp(T0 + MINUTE);
        assert!(
            store
                .open_ops_episode("backup_stale@a", opened, "a", &details("backup_stale"))
                .await?
        );
        assert!(
            !store
                .open_ops_episode("backup_stale@a", opened, "b", &details("backup_stale"))
                .await?,
            "one open episode per key"
        );
        let open = store.open_ops_episodes().await?;
        assert_eq!(open.len(), 1);
        assert_eq!(
            (open[0].key.as_str(), open[0].opened_at),
            ("backup_stale@a", opened)
        );

        let now = Timestamp(T0 + 2 * MINUTE);
        let due = store
            .claim_notifications(now, Timestamp(T0 + DAY), 10)
            .await?;
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].event, AlertEvent::OpsAlert);
        assert_eq!(due[0].channel_id, channel);
        assert_eq!(due[0].channel_config["url"], "http://127.0.0.1:9/new");
        assert_eq!(
            due[0].details.as_ref().unwrap()["event"]["signal"],
            "backup_stale"
        );

        let resolved = Timestamp(T0 + 3 * MINUTE);
        assert!(
            store
                .resolve_ops_episode("backup_stale@a", resolved, "b", &details("backup_stale"))
                .await?
        );
        assert!(
            !store
                .resolve_ops_episode("backup_stale@a", resolved, "a", &details("backup_stale"))
                .await?
        );
        assert!(store.open_ops_episodes().await?.is_empty());
        let due = store
            .claim_notifications(resolved, Timestamp(T0 + DAY), 10)
            .await?;
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].event, AlertEvent::OpsResolved);

        // A new episode of the same key is a new alert.
        assert!(
            store
                .open_ops_episode(
                    "backup_stale@a",
                    Timestamp(T0 + HOUR),
                    "a",
                    &details("backup_stale")
                )
                .await?
        );
        assert_eq!(
            store
                .claim_notifications(Timestamp(T0 + HOUR), Timestamp(T0 + DAY), 10)
                .await?
                .len(),
            1
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn instances_racing_for_one_episode_or_one_care_run_get_it_once() {
    each_backend_with_url(|store, url| async move {
        // A second instance: its own connections to the same database.
        let other: Arc<dyn Store> = watchtower_store::connect(&url).await?;
        let at = Timestamp(T0);
        store
            .set_ops_channel(
                "webhook",
                &json!({"kind": "webhook", "url": "http://127.0.0.1:9/ops"}),
                at,
            )
            .await?;
        let mut attempts = tokio::task::JoinSet::new();
        for attempt in 0..8 {
            let store = if attempt % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            attempts.spawn(async move {
                let instance = format!("i{attempt}");
                let opened = store
                    .open_ops_episode("failed_logins", at, &instance, &details("failed_logins"))
                    .await?;
                let claimed = store
                    .claim_care_run("window:2026-01-04T02:00:00Z", &instance, at)
                    .await?;
                anyhow::Ok((opened, claimed))
            });
        }
        let mut opened = 0;
        let mut claimed = 0;
        while let Some(outcome) = attempts.join_next().await {
            let (o, c) = outcome??;
            opened += usize::from(o);
            claimed += usize::from(c);
        }
        assert_eq!((opened, claimed), (1, 1));
        let due = store.claim_notifications(at, at, 100).await?;
        let keys: HashSet<_> = due.iter().map(|n| n.id).collect();
        assert_eq!(keys.len(), 1, "one alert queued for the episode");
        store
            .finish_care_run("window:2026-01-04T02:00:00Z", "ok", at)
            .await?;
        assert!(
            !other
                .claim_care_run("window:2026-01-04T02:00:00Z", "late", at)
                .await?
        );
        assert!(
            other
                .claim_care_run("window:2026-01-11T02:00:00Z", "late", at)
                .await?
        );
        Ok(())
    })
    .await;
}
