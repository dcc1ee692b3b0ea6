//! A migrated store per backend, the Default team, and builders for what the writer would record.

use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use watchtower_alerting::dispatcher::{self, ChannelLimits, DispatcherConfig};
use watchtower_alerting::{Sender, SenderOptions};
use watchtower_core::{
    ChannelId, CheckOutcome, ErrorClass, MonitorId, MonitorRuntime, MonitorSpec, TeamId, Timestamp,
};
use watchtower_store::{
    ChangeRecord, NotificationRecord, ResultBatch, ResultRecord, RuntimeRecord, Store,
};
use watchtower_testkit::database::TestDatabase;

pub const TEAM: TeamId = TeamId::DEFAULT;
pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// Parses an RFC 3339 instant: `at("2026-11-29T02:30:00Z")`.
pub fn at(text: &str) -> i64 {
    Timestamp::from_jiff(text.parse().expect("an RFC 3339 instant")).0
}

/// Runs `story` on SQLite, then on PostgreSQL when `TEST_DATABASE_URL` is set.
pub async fn each_backend<F, Fut>(story: F)
where
    F: Fn(World) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let sqlite = TestDatabase::sqlite();
    story(World::open(&sqlite.url).await).await.expect("SQLite");
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let database = TestDatabase::postgres(&url).await.expect("PostgreSQL");
            let world = World::open(&database.url).await;
            story(world).await.expect("PostgreSQL");
        }
        _ => eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL variant skipped"),
    }
}

pub struct World {
    pub store: Arc<dyn Store>,
    sender: Sender,
    config: DispatcherConfig,
    limits: ChannelLimits,
}

impl World {
    async fn open(url: &str) -> Self {
        let store = watchtower_store::connect(url).await.expect("a store");
        store.migrate().await.expect("migrations");
        Self {
            store,
            sender: Sender::new(SenderOptions {
                timeout: Duration::from_secs(5),
                ..SenderOptions::default()
            }),
            config: DispatcherConfig::default(),
            limits: ChannelLimits::new(),
        }
    }

    /// One dispatcher round at `now`; how many notifications it claimed.
    pub async fn dispatch(&self, now: i64) -> usize {
        dispatcher::dispatch_once(
            &*self.store,
            &self.sender,
            &self.config,
            &self.limits,
            Timestamp(now),
        )
        .await
        .expect("a dispatch round")
    }

    pub async fn monitor(&self, spec: Value) -> MonitorId {
        let spec = MonitorSpec::parse(&spec, "").expect("a valid spec");
        let monitor = self
            .store
            .create_monitor(TEAM, &spec, Timestamp(at("2026-01-01T00:00:00Z")))
            .await
            .expect("a monitor");
        monitor.id
    }

    pub async fn http_monitor(&self, name: &str) -> MonitorId {
        self.monitor(
            json!({"name": name, "kind": "http", "url": format!("https://{name}.example.test/")}),
        )
        .await
    }

    pub async fn channel(&self, name: &str, config: Value) -> ChannelId {
        let kind = config["kind"].as_str().expect("a kind").to_owned();
        self.store
            .create_channel(TEAM, name, &kind, &config, Timestamp(0))
            .await
            .expect("a channel")
            .id
    }

    /// A team-wide rule for `events` to `channels`.
    pub async fn rule(
        &self,
        events: &[&str],
        channels: Vec<ChannelId>,
        certificate_days: Option<u32>,
    ) {
        self.store
            .create_rule(&watchtower_store::NewRule {
                team_id: TEAM,
                name: format!("rule for {events:?}"),
                monitor_id: None,
                tag: None,
                events: events.iter().map(|e| (*e).to_owned()).collect(),
                channel_ids: channels,
                remind_every: None,
                escalation_policy_id: None,
                causes: Vec::new(),
                certificate_days,
                created_at: Timestamp(0),
            })
            .await
            .expect("a rule");
    }

    /// Records `outcomes` of `monitor` as the result writer would, state changes and all.
    pub async fn observe(
        &self,
        monitor: MonitorId,
        runtime: &mut MonitorRuntime,
        outcomes: Vec<CheckOutcome>,
    ) {
        let mut batch = ResultBatch::default();
        for outcome in outcomes {
            if let Some(change) = runtime.observe(&outcome, Default::default()) {
                batch.changes.push(ChangeRecord {
                    team_id: TEAM,
                    monitor_id: monitor,
                    change,
                    outcome: Some(outcome.clone()),
                });
            }
            batch.results.push(ResultRecord {
                team_id: TEAM,
                monitor_id: monitor,
                outcome,
            });
        }
        batch.runtimes.push(RuntimeRecord {
            monitor_id: monitor,
            runtime: runtime.clone(),
        });
        self.store.record_batch(&batch).await.expect("a batch");
    }

    /// The delivery log, oldest first.
    pub async fn log(&self) -> Vec<NotificationRecord> {
        let mut log = self
            .store
            .notifications(TEAM, None, 500)
            .await
            .expect("the log");
        log.reverse();
        log
    }
}

pub fn up(at: i64) -> CheckOutcome {
    let mut outcome = CheckOutcome::up(Timestamp(at), Duration::from_millis(40));
    outcome.http_status = Some(200);
    outcome
}

pub fn down(at: i64) -> CheckOutcome {
    CheckOutcome::down(
        Timestamp(at),
        Duration::from_millis(3),
        ErrorClass::Connect,
        "connection refused",
    )
}

/// A fresh runtime, as for a monitor first seen at `at`.
pub fn runtime(at: i64) -> MonitorRuntime {
    MonitorRuntime::new(Timestamp(at))
}
