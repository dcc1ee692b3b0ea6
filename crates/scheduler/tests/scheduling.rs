//! The scheduler on tokio's paused clock: spreading, retries, the success threshold, heartbeat
//! deadlines (periods and cron slots in a time zone), slow checks and per-host limits. Time jumps
//! straight to the next timer, so these tests are exact and take milliseconds.

use async_trait::async_trait;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use watchtower_core::{
    CheckOutcome, ErrorClass, Monitor, MonitorId, MonitorKind, MonitorRuntime, MonitorSpec,
    MonitorState, TeamId, Timestamp,
};
use watchtower_scheduler::{
    Checker, Clock, PingKind, Scheduler, SchedulerConfig, SchedulerHandle, WriteItem,
};
use watchtower_store::ScheduledMonitor;

/// A target per TCP port: up or down as the test says, optionally slow; every call is logged.
#[derive(Default)]
struct ScriptedTargets {
    down: Mutex<HashMap<u16, bool>>,
    delay: Mutex<HashMap<u16, Duration>>,
    calls: Mutex<Vec<(u16, Instant)>>,
    running: AtomicUsize,
    most_running: AtomicUsize,
}

impl ScriptedTargets {
    fn set_down(&self, port: u16, down: bool) {
        self.down.lock().unwrap().insert(port, down);
    }

    fn calls_of(&self, port: u16) -> Vec<Instant> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| *p == port)
            .map(|(_, at)| *at)
            .collect()
    }
}

#[async_trait]
impl Checker for ScriptedTargets {
    async fn check(&self, kind: &MonitorKind, _timeout: Duration) -> CheckOutcome {
        let MonitorKind::Tcp(tcp) = kind else {
            panic!("tests use tcp monitors")
        };
        self.calls.lock().unwrap().push((tcp.port, Instant::now()));
        let now_running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now_running, Ordering::SeqCst);
        let delay = self.delay.lock().unwrap().get(&tcp.port).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        let down = self
            .down
            .lock()
            .unwrap()
            .get(&tcp.port)
            .copied()
            .unwrap_or(false);
        if down {
            CheckOutcome::down(
                Timestamp(0),
                Duration::from_millis(1),
                ErrorClass::Connect,
                "connection refused",
            )
        } else {
            CheckOutcome::up(Timestamp(0), Duration::from_millis(1))
        }
    }
}

fn monitor(id: i64, spec: serde_json::Value) -> ScheduledMonitor {
    let spec = MonitorSpec::parse(&spec, "").expect("valid test spec");
    ScheduledMonitor {
        monitor: Monitor {
            id: MonitorId(id),
            team_id: TeamId::DEFAULT,
            spec,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        },
        runtime: MonitorRuntime::new(Timestamp(0)),
        last_checked_at: None,
    }
}

fn tcp(id: i64, port: u16, extra: serde_json::Value) -> ScheduledMonitor {
    let mut spec = json!({"name": format!("m{id}"), "kind": "tcp", "host": "target", "port": port});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    monitor(id, spec)
}

struct Harness {
    handle: SchedulerHandle,
    targets: Arc<ScriptedTargets>,
    output: mpsc::Receiver<WriteItem>,
    start: Instant,
}

impl Harness {
    fn start(monitors: Vec<ScheduledMonitor>, clock: Clock, config: SchedulerConfig) -> Self {
        let targets = Arc::new(ScriptedTargets::default());
        let (sender, output) = mpsc::channel(1 << 20);
        let (handle, _join) = Scheduler::start(config, clock, targets.clone(), sender, monitors);
        Self {
            handle,
            targets,
            output,
            start: Instant::now(),
        }
    }

    /// Every state change written so far, with the monitor it belongs to.
    fn changes(&mut self) -> Vec<(MonitorId, watchtower_core::StateChange)> {
        let mut changes = Vec::new();
        while let Ok(item) = self.output.try_recv() {
            if let WriteItem::Change(record) = item {
                changes.push((record.monitor_id, record.change));
            }
        }
        changes
    }

    fn seconds_since_start(&self, at: Instant) -> f64 {
        at.duration_since(self.start).as_secs_f64()
    }
}

#[tokio::test(start_paused = true)]
async fn checks_spread_evenly_over_the_interval() {
    let monitors = (1..=1000)
        .map(|id| tcp(id, 1, json!({"interval": "10s", "timeout": "5s"})))
        .collect();
    let config = SchedulerConfig {
        max_checks_per_host: 2000,
        ..SchedulerConfig::default()
    };
    let harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        config,
    );
    tokio::time::sleep(Duration::from_secs(30)).await;

    let calls = harness.targets.calls_of(1);
    assert!(
        (2900..=3000).contains(&calls.len()),
        "{} checks in 30 s of 1,000 monitors at 10 s",
        calls.len()
    );
    let mut per_second = [0u32; 10];
    for at in &calls {
        let second = harness.seconds_since_start(*at);
        if (10.0..20.0).contains(&second) {
            per_second[(second as usize) - 10] += 1;
        }
    }
    // 100 a second expected; no herd at the top of the interval.
    assert!(
        per_second.iter().all(|&n| (65..=135).contains(&n)),
        "checks per second: {per_second:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retries_confirm_down_before_the_cadence_resumes() {
    let monitors = vec![tcp(
        7,
        2,
        json!({"interval": "60s", "timeout": "5s", "retries": 2, "retry_interval": "5s"}),
    )];
    let mut harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        SchedulerConfig::default(),
    );
    harness.targets.set_down(2, true);
    tokio::time::sleep(Duration::from_secs(200)).await;

    let calls = harness.targets.calls_of(2);
    let gaps: Vec<u64> = calls
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs())
        .collect();
    assert_eq!(
        &gaps[..2],
        &[5, 5],
        "two retries 5 s apart, then the interval: {gaps:?}"
    );
    // Once DOWN is confirmed the monitor returns to its own slot in the interval.
    assert!(
        gaps[2] <= 60 && gaps[3..].iter().all(|&gap| gap == 60),
        "{gaps:?}"
    );
    let changes = harness.changes();
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (_, down) = &changes[0];
    assert_eq!((down.to, down.opens_incident), (MonitorState::Down, true));
    assert_eq!(
        down.at,
        harness.handle.clock().wall_at(calls[2]),
        "DOWN is confirmed by the third failure"
    );
}

#[tokio::test(start_paused = true)]
async fn the_success_threshold_confirms_recovery() {
    let monitors = vec![tcp(
        8,
        3,
        json!({"interval": "10s", "timeout": "5s", "success_threshold": 3}),
    )];
    let mut harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        SchedulerConfig::default(),
    );
    harness.targets.set_down(3, true);
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert_eq!(
        harness
            .changes()
            .iter()
            .map(|(_, c)| c.to)
            .collect::<Vec<_>>(),
        vec![MonitorState::Down]
    );

    harness.targets.set_down(3, false);
    let recovered_from = harness.targets.calls_of(3).len();
    while harness.targets.calls_of(3).len() < recovered_from + 2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        harness.changes().is_empty(),
        "two successes must not resolve yet"
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    let changes = harness.changes();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].1.resolves_incident);
    assert_eq!(harness.targets.calls_of(3).len() - recovered_from, 3);
}

#[tokio::test(start_paused = true)]
async fn a_missed_heartbeat_goes_down_after_period_and_grace_and_a_ping_recovers() {
    let token = "heartbeat-token-0123456789";
    let monitors = vec![monitor(
        9,
        json!({"name": "job", "kind": "push", "period": "5m", "grace": "1m", "token": token}),
    )];
    let mut harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        SchedulerConfig::default(),
    );
    assert_eq!(
        harness.handle.push_target(token),
        Some((TeamId::DEFAULT, MonitorId(9)))
    );

    tokio::time::sleep(Duration::from_secs(5 * 60 + 59)).await;
    assert!(
        harness.changes().is_empty(),
        "not down before period + grace"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let changes = harness.changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].1.to, MonitorState::Down);
    assert!(
        changes[0].1.cause.contains("no ping received"),
        "{}",
        changes[0].1.cause
    );

    assert!(harness.handle.ping(MonitorId(9), PingKind::Success).await);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let changes = harness.changes();
    assert_eq!(changes.len(), 1);
    assert!(changes[0].1.resolves_incident);
}

#[tokio::test(start_paused = true)]
async fn cron_heartbeats_follow_the_time_zone_across_daylight_saving() {
    // 2026-03-07 12:00 UTC is 07:00 in New York (EST). Daylight saving starts there on 2026-03-08.
    let start = Timestamp::from_jiff("2026-03-07T12:00:00Z".parse().unwrap());
    let monitors = vec![monitor(
        10,
        json!({"name": "nightly", "kind": "push", "cron": "0 9 * * *", "timezone": "America/New_York", "grace": "10m"}),
    )];
    let mut harness = Harness::start(
        monitors,
        Clock::starting_at(start),
        SchedulerConfig::default(),
    );
    let clock = harness.handle.clock();

    // The job runs at 09:05 EST = 14:05 UTC on the 7th.
    tokio::time::sleep(Duration::from_secs(2 * 3600 + 5 * 60)).await;
    assert!(harness.handle.ping(MonitorId(10), PingKind::Success).await);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(
        harness
            .changes()
            .iter()
            .all(|(_, c)| c.to != MonitorState::Down)
    );

    // On the 8th it does not run. 09:00 EDT is 13:00 UTC, so DOWN comes at 13:10 UTC, not 14:10.
    tokio::time::sleep_until(clock.instant_at(Timestamp::from_jiff(
        "2026-03-08T13:09:00Z".parse().unwrap(),
    )))
    .await;
    assert!(
        harness
            .changes()
            .iter()
            .all(|(_, c)| c.to != MonitorState::Down)
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
    let down: Vec<_> = harness
        .changes()
        .into_iter()
        .filter(|(_, c)| c.to == MonitorState::Down)
        .collect();
    assert_eq!(down.len(), 1);
    let at = down[0].1.at.to_jiff();
    assert!(
        at >= "2026-03-08T13:10:00Z".parse().unwrap()
            && at < "2026-03-08T13:11:00Z".parse().unwrap(),
        "down at {at}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_check_does_not_delay_other_monitors() {
    let monitors = vec![
        tcp(11, 4, json!({"interval": "60s", "timeout": "45s"})),
        tcp(12, 5, json!({"interval": "10s", "timeout": "5s"})),
    ];
    let harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        SchedulerConfig::default(),
    );
    harness
        .targets
        .delay
        .lock()
        .unwrap()
        .insert(4, Duration::from_secs(40));
    tokio::time::sleep(Duration::from_secs(120)).await;

    let fast = harness.targets.calls_of(5);
    let gaps: Vec<u64> = fast
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs())
        .collect();
    assert!(
        fast.len() >= 11 && gaps.iter().all(|&gap| gap == 10),
        "{gaps:?}"
    );
    assert_eq!(harness.targets.calls_of(4).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn checks_of_one_host_respect_the_per_host_limit() {
    let monitors = (1..=20)
        .map(|id| tcp(id, 6, json!({"interval": "60s", "timeout": "10s"})))
        .collect();
    let config = SchedulerConfig {
        max_checks_per_host: 3,
        ..SchedulerConfig::default()
    };
    let harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        config,
    );
    harness
        .targets
        .delay
        .lock()
        .unwrap()
        .insert(6, Duration::from_secs(8));
    tokio::time::sleep(Duration::from_secs(120)).await;

    assert_eq!(harness.targets.most_running.load(Ordering::SeqCst), 3);
    assert!(harness.targets.calls_of(6).len() >= 20);
}

#[tokio::test(start_paused = true)]
async fn pausing_stops_checks_and_resolves_the_open_incident() {
    let monitors = vec![tcp(13, 7, json!({"interval": "10s", "timeout": "5s"}))];
    let mut harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        SchedulerConfig::default(),
    );
    harness.targets.set_down(7, true);
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert_eq!(harness.changes()[0].1.to, MonitorState::Down);

    let mut paused = tcp(
        13,
        7,
        json!({"interval": "10s", "timeout": "5s", "paused": true}),
    )
    .monitor;
    paused.spec.paused = true;
    harness.handle.upsert(paused).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let checks_when_paused = harness.targets.calls_of(7).len();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(harness.targets.calls_of(7).len(), checks_when_paused);
    let changes = harness.changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (changes[0].1.to, changes[0].1.resolves_incident),
        (MonitorState::Paused, true)
    );
}

#[tokio::test(start_paused = true)]
async fn after_a_restart_every_monitor_is_checked_again_within_one_interval() {
    // WatchTower was down for 20 s; each monitor's last check was 20 s to 80 s before the start.
    let start = Timestamp(1_700_000_000_000);
    let last_check = |id: i64| Timestamp(start.0 - 20_000 - (id * 7919) % 60_000);
    let monitors: Vec<ScheduledMonitor> = (1..=1000)
        .map(|id| {
            let mut scheduled = tcp(
                id,
                10_000 + id as u16,
                json!({"interval": "60s", "timeout": "5s"}),
            );
            scheduled.last_checked_at = Some(last_check(id));
            scheduled
        })
        .collect();
    let config = SchedulerConfig {
        max_checks_per_host: 2000,
        ..SchedulerConfig::default()
    };
    let harness = Harness::start(monitors, Clock::starting_at(start), config);
    tokio::time::sleep(Duration::from_secs(60)).await;

    let mut overdue = 0;
    for id in 1..=1000i64 {
        let calls = harness.targets.calls_of(10_000 + id as u16);
        let first = harness.seconds_since_start(
            *calls
                .first()
                .expect("every monitor checked within the interval"),
        );
        if start.since(last_check(id)) >= Duration::from_secs(60) {
            // Its slot passed while WatchTower was down: caught up at once, spread over 5 s.
            overdue += 1;
            assert!(first < 5.0, "monitor {id} caught up after {first} s");
        }
    }
    assert!((250..=420).contains(&overdue), "{overdue} overdue monitors");
}

#[tokio::test(start_paused = true)]
async fn a_catch_up_check_is_not_followed_by_its_slot_a_moment_later() {
    // Each monitor missed a slot; its catch-up comes within 5 s, wherever its own phase is
    // (the start is off the slots' grid, as it is in life).
    let start = Timestamp(1_700_000_003_333);
    let monitors: Vec<ScheduledMonitor> = (1..=300)
        .map(|id| {
            let mut scheduled = tcp(
                id,
                20_000 + id as u16,
                json!({"interval": "10s", "timeout": "5s"}),
            );
            scheduled.last_checked_at = Some(Timestamp(start.0 - 30_000));
            scheduled
        })
        .collect();
    let config = SchedulerConfig {
        max_checks_per_host: 2000,
        ..SchedulerConfig::default()
    };
    let harness = Harness::start(monitors, Clock::starting_at(start), config);
    tokio::time::sleep(Duration::from_secs(40)).await;

    let mut closest = Duration::MAX;
    for id in 1..=300u16 {
        let calls = harness.targets.calls_of(20_000 + id);
        assert!(
            calls.len() >= 4,
            "monitor {id}: {} checks in 40 s",
            calls.len()
        );
        assert!(harness.seconds_since_start(calls[0]) < 5.0);
        for pair in calls.windows(2) {
            closest = closest.min(pair[1] - pair[0]);
        }
    }
    // Half an interval at least: before, a catch-up just before the monitor's own slot was
    // followed by the slot's check a few milliseconds later.
    assert!(closest >= Duration::from_secs(5), "{closest:?}");
}

#[tokio::test(start_paused = true)]
async fn pings_in_the_same_millisecond_are_each_recorded() {
    let token = "burst-token-0123456789abcdef";
    let monitors = vec![monitor(
        14,
        json!({"name": "burst", "kind": "push", "period": "1m", "token": token}),
    )];
    let mut harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        SchedulerConfig::default(),
    );
    // Alternating kinds: each ping changes what the monitor reports, so none is coalesced.
    for kind in [
        PingKind::Success,
        PingKind::Fail,
        PingKind::Success,
        PingKind::Fail,
        PingKind::Success,
    ] {
        assert!(harness.handle.ping(MonitorId(14), kind).await);
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    let mut times = Vec::new();
    while let Ok(item) = harness.output.try_recv() {
        if let WriteItem::Result(record) = item {
            times.push(record.outcome.checked_at.0);
        }
    }
    assert_eq!(times.len(), 5);
    assert!(
        times.windows(2).all(|w| w[1] > w[0]),
        "distinct, increasing times: {times:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_ping_flood_becomes_a_few_results_and_keeps_the_deadline() {
    let token = "flood-token-0123456789abcdef";
    let monitors = vec![monitor(
        15,
        json!({"name": "flood", "kind": "push", "period": "1m", "grace": "10s", "token": token}),
    )];
    let mut harness = Harness::start(
        monitors,
        Clock::starting_at(Timestamp(1_700_000_000_000)),
        SchedulerConfig::default(),
    );
    // 1,000 pings over 2.5 s of virtual time (one every 2.5 ms).
    for _ in 0..1_000 {
        assert!(harness.handle.ping(MonitorId(15), PingKind::Success).await);
        tokio::time::sleep(Duration::from_micros(2_500)).await;
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    let mut results = 0;
    while let Ok(item) = harness.output.try_recv() {
        if let WriteItem::Result(_) = item {
            results += 1;
        }
    }
    assert!(
        (1..=3).contains(&results),
        "1,000 pings in 2.5 s gave {results} results"
    );
    // The deadline follows the last ping (at 2.5 s), not the last recorded one (at 2 s):
    // period + grace = 70 s after it. At 72.2 s it has not passed; at 72.7 s it has.
    tokio::time::sleep(Duration::from_millis(69_700)).await;
    assert!(harness.changes().is_empty(), "down before the deadline");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let changes = harness.changes();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].1.to, MonitorState::Down);
    // A failure is never hidden by the successes before it.
    assert!(harness.handle.ping(MonitorId(15), PingKind::Success).await);
    assert!(harness.handle.ping(MonitorId(15), PingKind::Fail).await);
    tokio::time::sleep(Duration::from_millis(1)).await;
    let changes = harness.changes();
    assert_eq!(changes.len(), 2, "up, then down again: {changes:?}");
    assert_eq!(changes[1].1.to, MonitorState::Down);
}
