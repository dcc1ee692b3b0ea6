//! Many state changes in one batch (a burst of outages, a monitor flapping within a batch): their
//! incidents, their events in the batch's order, and the outbox rows every kind of rule queues
//! for them (team-wide, by monitor, by tag, by cause, escalation steps, reminder intervals),
//! written exactly once however often the batch is replayed.

use crate::support::*;
use serde_json::json;
use std::collections::BTreeSet;
use watchtower_core::{ChannelId, MonitorId, MonitorRuntime, MonitorState, Timestamp};
use watchtower_store::{
    AttemptOutcome, DueNotification, EscalationStep, NewRule, ResultBatch, Store,
};

/// (monitor, event, channel, escalation step, reminder interval) of a queued notification.
type Row = (i64, String, ChannelId, Option<i64>, Option<i64>);

fn row(n: &DueNotification) -> Row {
    (
        n.monitor_id
            .expect("a state change's notification has a monitor")
            .0,
        n.event.as_str().to_owned(),
        n.channel_id,
        n.escalation_step.map(i64::from),
        n.remind_every_ms,
    )
}

/// Appends one monitor's observed batch to `into`: its results, changes and runtime.
fn observe(
    into: &mut ResultBatch,
    monitor: MonitorId,
    runtime: &mut MonitorRuntime,
    outcomes: Vec<watchtower_core::CheckOutcome>,
) {
    let batch = observed_batch(monitor, runtime, outcomes);
    into.results.extend(batch.results);
    into.changes.extend(batch.changes);
    into.runtimes.extend(batch.runtimes);
}

async fn claim_all(store: &dyn Store, now: i64) -> anyhow::Result<Vec<DueNotification>> {
    Ok(store
        .claim_notifications(Timestamp(now), Timestamp(now + HOUR), 500)
        .await?)
}

#[tokio::test]
async fn a_burst_of_changes_in_one_batch_queues_what_each_change_alone_would() {
    each_backend(|store| async move {
        let channel = |name: &'static str| {
            let store = store.clone();
            async move {
                let config =
                    json!({"kind": "webhook", "url": format!("http://127.0.0.1:9/{name}")});
                store
                    .create_channel(TEAM, name, "webhook", &config, Timestamp(T0))
                    .await
                    .map(|c| c.id)
            }
        };
        let (hook, chat, pager, esc) = (
            channel("hook").await?,
            channel("chat").await?,
            channel("pager").await?,
            channel("esc").await?,
        );
        let mut prod = http_spec("a", None);
        prod.tags = vec!["prod".into()];
        let a = store.create_monitor(TEAM, &prod, Timestamp(T0)).await?.id;
        let b = store
            .create_monitor(TEAM, &http_spec("b", None), Timestamp(T0))
            .await?
            .id;
        prod.name = "c".into();
        let c = store.create_monitor(TEAM, &prod, Timestamp(T0)).await?.id;
        let d = store
            .create_monitor(TEAM, &http_spec("d", None), Timestamp(T0))
            .await?
            .id;

        let policy = store
            .create_escalation_policy(
                TEAM,
                "on call",
                &[
                    EscalationStep {
                        offset_ms: 0,
                        channel_ids: vec![pager],
                    },
                    EscalationStep {
                        offset_ms: 60_000,
                        channel_ids: vec![esc, hook],
                    },
                ],
                Timestamp(T0),
            )
            .await?;
        let rule = |name: &str, events: &[&str], channels: Vec<ChannelId>| NewRule {
            team_id: TEAM,
            name: name.into(),
            monitor_id: None,
            tag: None,
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            channel_ids: channels,
            remind_every: None,
            escalation_policy_id: None,
            causes: Vec::new(),
            certificate_days: None,
            created_at: Timestamp(T0),
        };
        let minutes = |n: u64| Some(std::time::Duration::from_secs(60 * n));
        store
            .create_rule(&NewRule {
                remind_every: minutes(10),
                ..rule("everything", &["down", "up"], vec![hook])
            })
            .await?;
        store
            .create_rule(&NewRule {
                tag: Some("prod".into()),
                remind_every: minutes(5),
                ..rule("prod", &["down"], vec![chat])
            })
            .await?;
        // b's outages are connection failures: this rule never fires, nor does its recovery.
        store
            .create_rule(&NewRule {
                monitor_id: Some(b),
                causes: vec!["status_code".into()],
                ..rule("b by status", &["down", "up"], vec![chat])
            })
            .await?;
        store
            .create_rule(&NewRule {
                monitor_id: Some(c),
                causes: vec!["connect".into()],
                ..rule("c by connect", &["down", "up"], vec![chat])
            })
            .await?;
        store
            .create_rule(&NewRule {
                escalation_policy_id: Some(policy.id),
                causes: vec!["connect".into()],
                ..rule("escalate", &["down"], vec![pager])
            })
            .await?;

        // One batch: a, b and c go down, d goes down, recovers and goes down again, interleaved.
        let mut runtimes: Vec<MonitorRuntime> =
            (0..4).map(|_| MonitorRuntime::new(Timestamp(T0))).collect();
        let mut parts: Vec<ResultBatch> = (0..6).map(|_| ResultBatch::default()).collect();
        observe(&mut parts[0], a, &mut runtimes[0], vec![down(T0 + 1000)]);
        observe(&mut parts[1], d, &mut runtimes[3], vec![down(T0 + 1000)]);
        observe(&mut parts[2], b, &mut runtimes[1], vec![down(T0 + 1000)]);
        observe(&mut parts[3], d, &mut runtimes[3], vec![up(T0 + 2000, 5)]);
        observe(&mut parts[4], c, &mut runtimes[2], vec![down(T0 + 1000)]);
        observe(&mut parts[5], d, &mut runtimes[3], vec![down(T0 + 3000)]);
        let mut burst = ResultBatch::default();
        for part in parts {
            burst.results.extend(part.results);
            assert_eq!(part.changes.len(), 1);
            burst.changes.extend(part.changes);
            burst.runtimes.extend(part.runtimes);
        }
        store.record_batch(&burst).await?;

        // Events in the batch's order, each pointing at its incident.
        let events = store.state_events(0, 100).await?;
        let order: Vec<(MonitorId, MonitorState)> =
            events.iter().map(|e| (e.monitor_id, e.to)).collect();
        use MonitorState::{Down, Up};
        assert_eq!(
            order,
            [
                (a, Down),
                (d, Down),
                (b, Down),
                (d, Up),
                (c, Down),
                (d, Down)
            ]
        );
        let d_first = events[1].incident_id.expect("the DOWN opened an incident");
        assert_eq!(events[3].incident_id, Some(d_first), "the UP resolved it");
        let d_second = events[5]
            .incident_id
            .expect("the second DOWN opened another");
        assert_ne!(d_first, d_second);
        assert_eq!(
            store.open_incident(TEAM, d).await?.map(|i| i.id),
            Some(d_second)
        );
        let first = store.get_incident(TEAM, d_first).await?.unwrap();
        assert_eq!(first.resolved_at, Some(Timestamp(T0 + 2000)));
        for monitor in [a, b, c] {
            let open = store.open_incident(TEAM, monitor).await?.unwrap();
            assert_eq!(open.first_failure.unwrap()["message"], "connection refused");
        }

        // A replay after a crash writes nothing more.
        let queued = store.notifications(TEAM, None, 500).await?.len();
        store.record_batch(&burst).await?;
        assert_eq!(store.state_events(0, 100).await?.len(), 6);
        assert_eq!(store.notifications(TEAM, None, 500).await?.len(), queued);

        let ten = Some(600_000);
        let five = Some(300_000);
        let outage = |m: MonitorId| -> Vec<Row> {
            vec![
                (m.0, "down".into(), hook, None, ten),
                (m.0, "down".into(), pager, None, None),
                (m.0, "down".into(), pager, Some(0), None),
            ]
        };
        // Due at once: direct rules and the first escalation step.
        let mut expected: BTreeSet<Row> = BTreeSet::new();
        for m in [a, b, c, d] {
            expected.extend(outage(m));
        }
        expected.insert((a.0, "down".into(), chat, None, five));
        expected.insert((c.0, "down".into(), chat, None, five));
        expected.insert((d.0, "up".into(), hook, None, ten));
        let now = claim_all(&*store, T0 + 5000).await?;
        let got: BTreeSet<Row> = now.iter().map(row).collect();
        assert_eq!(got, expected);
        // d's two outages are two events: its rows come twice.
        assert_eq!(now.len(), expected.len() + 3);
        // The second step a minute after each confirmation.
        assert!(claim_all(&*store, T0 + 60_999).await?.is_empty());
        let later = claim_all(&*store, T0 + 63_000).await?;
        let got: BTreeSet<Row> = later.iter().map(row).collect();
        let mut expected = BTreeSet::new();
        for m in [a, b, c, d] {
            expected.insert((m.0, "down".into(), esc, Some(1), None));
            expected.insert((m.0, "down".into(), hook, Some(1), None));
        }
        assert_eq!(got, expected);
        assert_eq!(later.len(), 10);

        // a's escalation reached people; the others' deliveries failed.
        for n in now.iter().chain(&later) {
            let outcome = if n.monitor_id == Some(a) {
                AttemptOutcome::Delivered {
                    status_code: Some(204),
                }
            } else {
                AttemptOutcome::Failed {
                    status_code: Some(500),
                    error: "down".into(),
                }
            };
            store
                .finish_attempt(n.id, &outcome, Timestamp(T0 + 63_000))
                .await?;
        }

        // One batch of recoveries.
        let mut recoveries = ResultBatch::default();
        observe(
            &mut recoveries,
            a,
            &mut runtimes[0],
            vec![up(T0 + 70_000, 5)],
        );
        observe(
            &mut recoveries,
            b,
            &mut runtimes[1],
            vec![up(T0 + 70_000, 5)],
        );
        observe(
            &mut recoveries,
            c,
            &mut runtimes[2],
            vec![up(T0 + 70_000, 5)],
        );
        store.record_batch(&recoveries).await?;
        store.record_batch(&recoveries).await?;
        let got: BTreeSet<Row> = claim_all(&*store, T0 + 70_000)
            .await?
            .iter()
            .map(row)
            .collect();
        let expected: BTreeSet<Row> = [
            (a.0, "up".into(), hook, None, ten),
            // Whoever a's escalation reached hears it is over.
            (a.0, "up".into(), pager, None, None),
            (a.0, "up".into(), esc, None, None),
            (b.0, "up".into(), hook, None, ten),
            (c.0, "up".into(), hook, None, ten),
            // c's DOWN went to chat by cause, so its recovery follows.
            (c.0, "up".into(), chat, None, None),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, expected);
        for monitor in [a, b, c] {
            assert!(store.open_incident(TEAM, monitor).await?.is_none());
        }
        Ok(())
    })
    .await;
}
