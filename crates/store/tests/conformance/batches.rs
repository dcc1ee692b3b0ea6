//! Result batches: raw rows, status, incidents and events in one idempotent write.

use crate::support::*;
use watchtower_core::{
    CheckStatus, ErrorClass, MonitorId, MonitorRuntime, MonitorState, TeamId, Timestamp,
};
use watchtower_store::{IncidentQuery, PageRequest, ResultBatch, RuntimeRecord, StoreError};

#[tokio::test]
async fn a_batch_stores_compact_results_newest_first() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let batch = results_batch(
            monitor.id,
            vec![up(T0 + 1000, 12), degraded(T0 + 2000, 900), down(T0 + 3000)],
        );
        store.record_batch(&batch).await?;
        let rows = store
            .results(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + 10_000), 10)
            .await?;
        assert_eq!(
            rows.iter().map(|r| r.checked_at.0 - T0).collect::<Vec<_>>(),
            [3000, 2000, 1000]
        );
        assert_eq!(rows[0].status, CheckStatus::Down);
        assert_eq!(rows[0].error_class, Some(ErrorClass::Connect));
        assert_eq!(rows[0].message.as_deref(), Some("connection refused"));
        assert_eq!(rows[1].error_class, Some(ErrorClass::ResponseTime));
        assert_eq!(
            (
                rows[2].status,
                rows[2].http_status,
                rows[2].message.as_deref()
            ),
            (CheckStatus::Up, Some(200), None)
        );
        assert_eq!(rows[2].latency, std::time::Duration::from_millis(12));
        // [from, to) and the limit.
        let window = store
            .results(
                TEAM,
                monitor.id,
                Timestamp(T0 + 2000),
                Timestamp(T0 + 3000),
                10,
            )
            .await?;
        assert_eq!(window.len(), 1);
        assert_eq!(
            store
                .results(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + 10_000), 2)
                .await?
                .len(),
            2
        );
        assert!(
            store
                .results(
                    TeamId(2),
                    monitor.id,
                    Timestamp(T0),
                    Timestamp(T0 + 10_000),
                    10
                )
                .await?
                .is_empty()
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_second_result_in_the_same_millisecond_is_ignored() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        store
            .record_batch(&results_batch(monitor.id, vec![up(T0, 5), down(T0)]))
            .await?;
        store
            .record_batch(&results_batch(monitor.id, vec![down(T0)]))
            .await?;
        let rows = store
            .results(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + 1), 10)
            .await?;
        assert_eq!(rows.len(), 1);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn results_of_unknown_or_deleted_monitors_do_not_fail_the_batch() {
    each_backend(|store| async move {
        let kept = store
            .create_monitor(TEAM, &http_spec("kept", None), Timestamp(T0))
            .await?;
        let gone = store
            .create_monitor(TEAM, &http_spec("gone", None), Timestamp(T0))
            .await?;
        store.delete_monitor(TEAM, gone.id).await?;
        let mut batch = results_batch(kept.id, vec![up(T0 + 1, 5)]);
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        let other = observed_batch(gone.id, &mut runtime, vec![down(T0 + 2)]);
        batch.results.extend(other.results);
        batch.changes.extend(other.changes);
        batch.runtimes.extend(other.runtimes);
        batch
            .results
            .push(result(MonitorId(999_999), up(T0 + 3, 1)));
        store.record_batch(&batch).await?;
        assert_eq!(
            store
                .results(TEAM, kept.id, Timestamp(T0), Timestamp(T0 + 10), 10)
                .await?
                .len(),
            1
        );
        assert!(store.state_events(0, 10).await?.is_empty());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_confirmed_outage_opens_and_resolves_one_incident_with_events() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(
                monitor.id,
                &mut runtime,
                vec![up(T0 + 1000, 5), down(T0 + 2000)],
            ))
            .await?;
        let open = store
            .open_incident(TEAM, monitor.id)
            .await?
            .expect("incident open");
        assert_eq!(
            (open.opened_at, open.cause.as_str(), open.error_class),
            (
                Timestamp(T0 + 2000),
                "connection refused",
                Some(ErrorClass::Connect)
            )
        );
        let first_failure = open.first_failure.as_ref().expect("first failure kept");
        assert_eq!(first_failure["status"], "down");
        let listing = &store.list_monitors(TEAM, &PageRequest::default()).await?[0];
        assert_eq!(listing.state, MonitorState::Down);
        assert_eq!(
            listing.last_result.as_ref().unwrap().status,
            CheckStatus::Down
        );

        // Still down: no second incident.
        store
            .record_batch(&observed_batch(
                monitor.id,
                &mut runtime,
                vec![down(T0 + 3000)],
            ))
            .await?;
        store
            .record_batch(&observed_batch(
                monitor.id,
                &mut runtime,
                vec![up(T0 + 4000, 5)],
            ))
            .await?;
        assert!(store.open_incident(TEAM, monitor.id).await?.is_none());
        let incidents = store
            .incidents(TEAM, &IncidentQuery::latest(Some(monitor.id), 10))
            .await?;
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].resolved_at, Some(Timestamp(T0 + 4000)));
        assert_eq!(incidents[0].id, open.id);

        let events = store.state_events(0, 10).await?;
        let path: Vec<(MonitorState, MonitorState)> =
            events.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(
            path,
            [
                (MonitorState::Pending, MonitorState::Up),
                (MonitorState::Up, MonitorState::Down),
                (MonitorState::Down, MonitorState::Up),
            ]
        );
        assert_eq!(events[0].incident_id, None);
        assert_eq!(events[1].incident_id, Some(open.id));
        assert_eq!(events[2].incident_id, Some(open.id));
        assert_eq!(
            store.state_events(events[0].id, 1).await?[0].id,
            events[1].id
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn writing_the_same_batch_twice_changes_nothing() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        // Opens and resolves within one batch, then opens again in the next.
        let first = observed_batch(
            monitor.id,
            &mut runtime,
            vec![down(T0 + 1000), up(T0 + 2000, 5)],
        );
        let second = observed_batch(monitor.id, &mut runtime, vec![down(T0 + 3000)]);
        for _ in 0..2 {
            store.record_batch(&first).await?;
        }
        let after_first = store
            .incidents(TEAM, &IncidentQuery::latest(Some(monitor.id), 10))
            .await?;
        assert_eq!(after_first.len(), 1);
        assert_eq!(after_first[0].resolved_at, Some(Timestamp(T0 + 2000)));
        for _ in 0..2 {
            store.record_batch(&second).await?;
        }
        let incidents = store
            .incidents(TEAM, &IncidentQuery::latest(None, 10))
            .await?;
        assert_eq!(incidents.len(), 2);
        assert_eq!(incidents[0].opened_at, Timestamp(T0 + 3000), "newest first");
        assert!(incidents[0].is_open());
        assert_eq!(
            incidents[1].resolved_at,
            Some(Timestamp(T0 + 2000)),
            "resolved once, not moved"
        );
        assert_eq!(store.state_events(0, 100).await?.len(), 3);
        assert_eq!(
            store
                .results(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + DAY), 100)
                .await?
                .len(),
            3
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_schema_refuses_a_second_open_incident() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        // Two runtimes that both believe they open an incident (e.g. a lost runtime after a crash).
        for at in [T0 + 1000, T0 + 5000] {
            let mut runtime = MonitorRuntime::new(Timestamp(T0));
            store
                .record_batch(&observed_batch(monitor.id, &mut runtime, vec![down(at)]))
                .await?;
        }
        let incidents = store
            .incidents(TEAM, &IncidentQuery::latest(Some(monitor.id), 10))
            .await?;
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].opened_at, Timestamp(T0 + 1000));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_pause_without_a_result_resolves_the_incident() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(
                monitor.id,
                &mut runtime,
                vec![down(T0 + 1000)],
            ))
            .await?;
        let pause = runtime.pause(Timestamp(T0 + 2000)).expect("a change");
        let batch = ResultBatch {
            changes: vec![change(monitor.id, pause)],
            runtimes: vec![RuntimeRecord {
                monitor_id: monitor.id,
                runtime: runtime.clone(),
            }],
            ..ResultBatch::default()
        };
        store.record_batch(&batch).await?;
        assert!(store.open_incident(TEAM, monitor.id).await?.is_none());
        let listing = &store.list_monitors(TEAM, &PageRequest::default()).await?[0];
        assert_eq!(listing.state, MonitorState::Paused);
        assert_eq!(
            listing.last_checked_at,
            Some(Timestamp(T0 + 1000)),
            "the last result stays"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn incidents_are_acknowledged_once_annotated_and_paged_newest_first() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        // Three outages: down, up, down, up, down (the last still open).
        let outcomes = (0..5)
            .map(|i| {
                let at = T0 + (i + 1) * 1000;
                if i % 2 == 0 { down(at) } else { up(at, 5) }
            })
            .collect();
        store
            .record_batch(&observed_batch(monitor.id, &mut runtime, outcomes))
            .await?;
        let all = store
            .incidents(TEAM, &IncidentQuery::latest(None, 10))
            .await?;
        assert_eq!(all.len(), 3);
        assert!(all.windows(2).all(|pair| pair[0].id > pair[1].id));
        let open_only = IncidentQuery {
            open_only: true,
            ..IncidentQuery::latest(Some(monitor.id), 10)
        };
        assert_eq!(
            store.incidents(TEAM, &open_only).await?,
            vec![all[0].clone()]
        );
        let second_page = IncidentQuery {
            before: Some(all[0].id),
            ..IncidentQuery::latest(None, 1)
        };
        assert_eq!(
            store.incidents(TEAM, &second_page).await?,
            vec![all[1].clone()]
        );
        assert!(
            store
                .incidents(TeamId(2), &IncidentQuery::latest(None, 10))
                .await?
                .is_empty()
        );

        let open = &all[0];
        let acknowledged = store
            .acknowledge_incident(TEAM, open.id, "ana@example.com", Timestamp(T0 + 9000))
            .await?;
        assert_eq!(acknowledged.acknowledged_at, Some(Timestamp(T0 + 9000)));
        let again = store
            .acknowledge_incident(TEAM, open.id, "bo@example.com", Timestamp(T0 + 9500))
            .await?;
        assert_eq!(again.acknowledged_by.as_deref(), Some("ana@example.com"));
        assert_eq!(store.get_incident(TEAM, open.id).await?, Some(again));
        assert!(store.get_incident(TeamId(2), open.id).await?.is_none());
        assert!(matches!(
            store
                .acknowledge_incident(TeamId(2), open.id, "x", Timestamp(T0))
                .await,
            Err(StoreError::NotFound)
        ));

        let note = store
            .add_incident_note(
                TEAM,
                open.id,
                "ana@example.com",
                "rolling back",
                Timestamp(T0 + 9600),
            )
            .await?;
        store
            .add_incident_note(
                TEAM,
                open.id,
                "bo@example.com",
                "fixed",
                Timestamp(T0 + 9700),
            )
            .await?;
        let notes = store.incident_notes(TEAM, open.id).await?;
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0], note);
        assert_eq!(notes[1].body, "fixed");
        assert!(matches!(
            store
                .add_incident_note(TeamId(2), open.id, "x", "y", Timestamp(T0))
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(store.incident_notes(TeamId(2), open.id).await?.is_empty());
        Ok(())
    })
    .await;
}
