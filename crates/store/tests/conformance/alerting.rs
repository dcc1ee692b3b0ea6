//! Alerting: channels and rules per team, outbox rows written with the state change exactly once,
//! claims with a lease, and the delivery log.

use crate::support::*;
use serde_json::json;
use std::time::Duration;
use watchtower_core::maintenance::MaintenanceSpec;
use watchtower_core::{ChannelId, MonitorRuntime, Plan, TeamId, Timestamp};
use watchtower_store::{AttemptOutcome, EscalationStep, NewRule, NewUser, StoreError};

#[tokio::test]
async fn a_confirmed_outage_queues_one_notification_per_matching_channel_once() {
    each_backend(|store| async move {
        let config = json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"});
        let hook = store
            .create_channel(TEAM, "hook", "webhook", &config, Timestamp(T0))
            .await?;
        let chat = store
            .create_channel(
                TEAM,
                "chat",
                "slack",
                &json!({"kind": "slack"}),
                Timestamp(T0),
            )
            .await?;
        let mut tagged = http_spec("api", None);
        tagged.tags = vec!["prod".into()];
        let api = store.create_monitor(TEAM, &tagged, Timestamp(T0)).await?;
        let other = store
            .create_monitor(TEAM, &http_spec("blog", None), Timestamp(T0))
            .await?;
        let rule = |name: &str, tag: Option<&str>, channels: Vec<ChannelId>| NewRule {
            team_id: TEAM,
            name: name.into(),
            monitor_id: None,
            tag: tag.map(str::to_owned),
            events: vec!["down".into(), "up".into()],
            channel_ids: channels,
            remind_every: None,
            escalation_policy_id: None,
            causes: Vec::new(),
            certificate_days: None,
            created_at: Timestamp(T0),
        };
        // Two rules route to the hook: it still gets one notification per event.
        store.create_rule(&rule("all", None, vec![hook.id])).await?;
        store
            .create_rule(&rule("prod", Some("prod"), vec![hook.id, chat.id]))
            .await?;
        assert_eq!(store.rules(TEAM).await?.len(), 2);
        assert!(matches!(
            store
                .create_rule(&NewRule {
                    team_id: TeamId(2),
                    ..rule("x", None, vec![hook.id])
                })
                .await,
            Err(StoreError::NotFound)
        ));

        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        let batch = observed_batch(api.id, &mut runtime, vec![down(T0 + 1000)]);
        store.record_batch(&batch).await?;
        store.record_batch(&batch).await?; // a replay after a crash
        let mut quiet = MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(other.id, &mut quiet, vec![down(T0 + 1000)]))
            .await?;

        let log = store.notifications(TEAM, None, 50).await?;
        let for_api: Vec<_> = log
            .iter()
            .filter(|n| n.monitor_id == Some(api.id))
            .collect();
        assert_eq!(for_api.len(), 2, "hook and chat, once each: {log:?}");
        assert_eq!(
            log.iter()
                .filter(|n| n.monitor_id == Some(other.id))
                .count(),
            1
        );
        assert!(
            log.iter()
                .all(|n| n.event.as_str() == "down" && n.status.as_str() == "pending")
        );
        assert!(store.notifications(TeamId(2), None, 50).await?.is_empty());

        // A claim leases the rows: a second claim before the lease ends gets none of them.
        let now = Timestamp(T0 + 2000);
        let claimed = store
            .claim_notifications(now, Timestamp(T0 + 62_000), 10)
            .await?;
        assert_eq!(claimed.len(), 3);
        let first = claimed
            .iter()
            .find(|n| n.monitor_id == Some(api.id))
            .unwrap();
        assert_eq!(
            first.monitor.as_ref().map(|monitor| monitor.name.as_str()),
            Some("api")
        );
        assert_eq!(first.attempts, 0);
        assert!(first.incident.is_some());
        assert_eq!(
            first.change.as_ref().map(|change| change.cause.as_str()),
            Some("connection refused")
        );
        assert!(
            store
                .claim_notifications(now, Timestamp(T0 + 62_000), 10)
                .await?
                .is_empty()
        );

        store
            .finish_attempt(
                first.id,
                &AttemptOutcome::Delivered {
                    status_code: Some(204),
                },
                now,
            )
            .await?;
        let retry_at = Timestamp(T0 + 10_000);
        for pending in claimed.iter().filter(|n| n.id != first.id) {
            let outcome = AttemptOutcome::Retry {
                next_attempt_at: retry_at,
                status_code: Some(503),
                error: "unavailable".into(),
            };
            store.finish_attempt(pending.id, &outcome, now).await?;
        }
        // Retries come back when due, with their attempt count.
        assert!(
            store
                .claim_notifications(Timestamp(T0 + 9_000), Timestamp(T0 + 70_000), 10)
                .await?
                .is_empty()
        );
        let again = store
            .claim_notifications(retry_at, Timestamp(T0 + 70_000), 10)
            .await?;
        assert_eq!(again.len(), 2);
        assert!(again.iter().all(|n| n.attempts == 1));
        let log = store.notifications(TEAM, None, 50).await?;
        let delivered = log.iter().find(|n| n.id == first.id).unwrap();
        assert_eq!(
            (delivered.status.as_str(), delivered.last_status_code),
            ("delivered", Some(204))
        );

        // Deleting a channel takes its queue with it; a test notification needs a channel of the team.
        store.delete_channel(TEAM, chat.id).await?;
        assert!(store.get_channel(TEAM, chat.id).await?.is_none());
        assert!(matches!(
            store
                .enqueue_test_notification(TeamId(2), hook.id, now)
                .await,
            Err(StoreError::NotFound)
        ));
        let test = store.enqueue_test_notification(TEAM, hook.id, now).await?;
        let claimed = store
            .claim_notifications(Timestamp(T0 + 80_000), Timestamp(T0 + 90_000), 10)
            .await?;
        let test = claimed
            .iter()
            .find(|n| n.id == test)
            .expect("the test notification");
        assert_eq!((test.event.as_str(), test.monitor_id), ("test", None));
        assert_eq!(test.channel_config, config);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn rules_policies_and_windows_are_replaced_in_place_within_their_team() {
    each_backend(|store| async move {
        let config = json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"});
        let hook = store
            .create_channel(TEAM, "hook", "webhook", &config, Timestamp(T0))
            .await?;
        let pager = store
            .create_channel(TEAM, "pager", "webhook", &config, Timestamp(T0))
            .await?;
        let bob = store
            .create_user(&NewUser {
                email: "bob@example.com".into(),
                email_key: "bob@example.com".into(),
                name: "bob".into(),
                password_hash: "argon2id-of-bob".into(),
                is_admin: false,
                created_at: Timestamp(T0),
            })
            .await?;
        let theirs = store
            .create_team("Theirs", Plan::Free, bob.id, Timestamp(T0))
            .await?
            .id;
        let foreign = store
            .create_channel(theirs, "theirs", "webhook", &config, Timestamp(T0))
            .await?;
        let api = store
            .create_monitor(TEAM, &http_spec("api", None), Timestamp(T0))
            .await?;
        let step = |offset_ms: u64, channel: ChannelId| EscalationStep {
            offset_ms,
            channel_ids: vec![channel],
        };

        // A policy: renamed with a second step; a foreign channel or team is NotFound.
        let policy = store
            .create_escalation_policy(TEAM, "on-call", &[step(0, hook.id)], Timestamp(T0))
            .await?;
        let edited = store
            .update_escalation_policy(
                TEAM,
                policy.id,
                "on-call and lead",
                &[step(0, hook.id), step(900_000, pager.id)],
            )
            .await?;
        assert_eq!(
            (edited.id, edited.name.as_str(), edited.steps.len()),
            (policy.id, "on-call and lead", 2)
        );
        assert_eq!(edited.created_at, policy.created_at);
        assert!(matches!(
            store
                .update_escalation_policy(TEAM, policy.id, "x", &[step(0, foreign.id)])
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .update_escalation_policy(theirs, policy.id, "x", &[step(0, foreign.id)])
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(store.escalation_policies(TEAM).await?, vec![edited.clone()]);

        // A rule: every column replaced, its id and creation kept.
        let first = NewRule {
            team_id: TEAM,
            name: "outages".into(),
            monitor_id: None,
            tag: Some("shop".into()),
            events: vec!["down".into()],
            channel_ids: vec![hook.id],
            remind_every: None,
            escalation_policy_id: None,
            causes: vec!["timeout".into()],
            certificate_days: None,
            created_at: Timestamp(T0),
        };
        let rule = store.create_rule(&first).await?;
        let second = NewRule {
            name: "api outages".into(),
            monitor_id: Some(api.id),
            tag: None,
            events: vec!["down".into(), "up".into()],
            channel_ids: vec![pager.id],
            remind_every: Some(std::time::Duration::from_secs(1800)),
            escalation_policy_id: Some(policy.id),
            causes: Vec::new(),
            certificate_days: Some(7),
            created_at: Timestamp(T0 + 1),
            ..first.clone()
        };
        let replaced = store.update_rule(rule.id, &second).await?;
        assert_eq!(replaced.id, rule.id);
        assert_eq!(replaced.created_at, Timestamp(T0), "creation is kept");
        assert_eq!(replaced.name, "api outages");
        assert_eq!(replaced.monitor_id, Some(api.id));
        assert_eq!(replaced.tag, None);
        assert_eq!(replaced.events, ["down", "up"]);
        assert_eq!(replaced.channel_ids, [pager.id]);
        assert_eq!(replaced.remind_every_ms, Some(1_800_000));
        assert_eq!(replaced.escalation_policy_id, Some(policy.id));
        assert!(replaced.causes.is_empty());
        assert_eq!(replaced.certificate_days, Some(7));
        assert_eq!(store.rules(TEAM).await?, vec![replaced.clone()]);
        for refused in [
            NewRule {
                channel_ids: vec![foreign.id],
                ..second.clone()
            },
            NewRule {
                team_id: theirs,
                channel_ids: vec![foreign.id],
                monitor_id: None,
                escalation_policy_id: None,
                ..second.clone()
            },
        ] {
            assert!(matches!(
                store.update_rule(rule.id, &refused).await,
                Err(StoreError::NotFound)
            ));
        }
        assert_eq!(store.rules(TEAM).await?, vec![replaced], "nothing changed");

        // A window: its spec replaced; another team's id is NotFound.
        let weekly = MaintenanceSpec::parse(
            &json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h"}),
            "",
        )
        .expect("a window");
        let window = store
            .create_maintenance(TEAM, &weekly, Timestamp(T0))
            .await?;
        let nightly = MaintenanceSpec::parse(
            &json!({"name": "nightly", "cron": "0 3 * * *", "duration": "30m", "monitors": [api.id.0]}),
            "",
        )
        .expect("a window");
        let edited = store
            .update_maintenance(TEAM, window.id, &nightly, Timestamp(T0 + 5))
            .await?;
        assert_eq!((edited.id, &edited.spec), (window.id, &nightly));
        assert!(matches!(
            store
                .update_maintenance(theirs, window.id, &weekly, Timestamp(T0 + 6))
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(store.maintenance_windows(TEAM).await?, vec![edited]);
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claimers_racing_on_several_instances_never_claim_one_notification_twice() {
    each_backend(|store| async move {
        let config = json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"});
        let hook = store
            .create_channel(TEAM, "hook", "webhook", &config, Timestamp(T0))
            .await?;
        store
            .create_rule(&NewRule {
                team_id: TEAM,
                name: "all".into(),
                monitor_id: None,
                tag: None,
                events: vec!["down".into()],
                channel_ids: vec![hook.id],
                remind_every: None,
                escalation_policy_id: None,
                causes: Vec::new(),
                certificate_days: None,
                created_at: Timestamp(T0),
            })
            .await?;
        const OUTAGES: usize = 120;
        for n in 0..OUTAGES {
            let monitor = store
                .create_monitor(TEAM, &http_spec(&format!("m{n}"), None), Timestamp(T0))
                .await?;
            let mut runtime = MonitorRuntime::new(Timestamp(T0));
            store
                .record_batch(&observed_batch(
                    monitor.id,
                    &mut runtime,
                    vec![down(T0 + 1000)],
                ))
                .await?;
        }
        // Six dispatchers (as of three instances) claim small pages at the same moment; each
        // round's claims are put back as retries due before the next round.
        for round in 0..8i64 {
            let now = Timestamp(T0 + 2000 + round * 100_000);
            let mut claimers = tokio::task::JoinSet::new();
            for _ in 0..6 {
                let store = store.clone();
                claimers.spawn(async move {
                    let mut claimed = Vec::new();
                    loop {
                        let page = store
                            .claim_notifications(now, now.plus(Duration::from_secs(60)), 3)
                            .await?;
                        if page.is_empty() {
                            return anyhow::Ok(claimed);
                        }
                        claimed.extend(page.into_iter().map(|due| due.id));
                    }
                });
            }
            let mut all = Vec::new();
            while let Some(claimed) = claimers.join_next().await {
                all.extend(claimed??);
            }
            let total = all.len();
            all.sort();
            all.dedup();
            assert_eq!(
                total,
                all.len(),
                "round {round}: a notification was claimed twice"
            );
            assert_eq!(total, OUTAGES, "round {round}");
            for id in all {
                let retry = AttemptOutcome::Retry {
                    next_attempt_at: now.plus(Duration::from_secs(1)),
                    status_code: Some(503),
                    error: "unavailable".into(),
                };
                store.finish_attempt(id, &retry, now).await?;
            }
        }
        Ok(())
    })
    .await;
}
