//! The result writer against a real (SQLite) store: a state change is written with its runtime
//! without waiting for the flush interval, and the commit rings the wake signal the alert
//! dispatcher listens to.

use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::Notify;
use watchtower_core::{
    CheckOutcome, ErrorClass, MonitorRuntime, MonitorSpec, MonitorState, TeamId, Timestamp,
};
use watchtower_scheduler::{ResultWriter, WriteItem, WriterConfig};
use watchtower_store::{ChangeRecord, PageRequest, ResultRecord, RuntimeRecord};

/// Long enough that a test finishing proves the writer did not wait for the interval.
const NEVER: Duration = Duration::from_secs(3_600);
/// A bound on waiting for the writer, so a regression fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_state_change_is_written_at_once_with_its_runtime_and_rings_the_wake() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/wt.db", dir.path().display());
    let store = watchtower_store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let spec = MonitorSpec::parse(
        &json!({"name": "web", "kind": "http", "url": "https://web.example.com/"}),
        "",
    )
    .unwrap();
    let now = Timestamp::now();
    let monitor = store
        .create_monitor(TeamId::DEFAULT, &spec, now)
        .await
        .unwrap();

    let wake = Arc::new(Notify::new());
    let (sender, writer) = ResultWriter::start(
        store.clone(),
        WriterConfig {
            flush_interval: NEVER,
            wake: Some(wake.clone()),
            ..WriterConfig::default()
        },
    );
    let outcome = CheckOutcome::down(
        now,
        Duration::from_millis(3),
        ErrorClass::Connect,
        "connection refused",
    );
    let mut runtime = MonitorRuntime::new(now);
    let change = runtime
        .observe(&outcome, Default::default())
        .expect("the first failure confirms DOWN by default");
    let items = [
        WriteItem::Result(ResultRecord {
            team_id: TeamId::DEFAULT,
            monitor_id: monitor.id,
            outcome: outcome.clone(),
        }),
        WriteItem::Change(ChangeRecord {
            team_id: TeamId::DEFAULT,
            monitor_id: monitor.id,
            change,
            outcome: Some(outcome),
        }),
        WriteItem::Runtime(RuntimeRecord {
            monitor_id: monitor.id,
            runtime,
        }),
    ];
    for item in items {
        sender.send(item).await.unwrap();
    }

    tokio::time::timeout(PATIENCE, wake.notified())
        .await
        .expect("the committed change rang the wake");
    let incident = store
        .open_incident(TeamId::DEFAULT, monitor.id)
        .await
        .unwrap();
    assert!(incident.is_some(), "the incident was committed first");
    let listed = store
        .list_monitors(
            TeamId::DEFAULT,
            &PageRequest {
                limit: 10,
                ..PageRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        listed[0].state,
        MonitorState::Down,
        "the runtime went in the change's transaction"
    );
    assert_eq!(writer.stats.written_results.load(Ordering::Relaxed), 1);

    drop(sender);
    tokio::time::timeout(PATIENCE, writer.finish())
        .await
        .expect("the writer stops once its senders are gone");
}
