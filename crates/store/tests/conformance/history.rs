//! Rollups and uptime: the same answer from raw results and from minute, hour and day buckets.

use crate::support::*;
use watchtower_core::{CheckOutcome, CheckStatus, MonitorId, Timestamp};
use watchtower_store::{Store, UptimeSummary};

/// Results every 30 s from half an hour before T0 to two days and three hours after it.
pub fn history_outcomes() -> Vec<CheckOutcome> {
    let start = T0 - 30 * MINUTE;
    let end = T0 + 2 * DAY + 3 * HOUR;
    (0..)
        .map(|i: i64| (i, start + i * 30_000))
        .take_while(|(_, at)| *at < end)
        .map(|(i, at)| {
            let latency = (i % 50) as u64 + 1;
            match i % 10 {
                0 => down(at),
                1 => degraded(at, latency),
                _ => up(at, latency),
            }
        })
        .collect()
}

pub async fn write_history(
    store: &dyn Store,
    monitor: MonitorId,
    outcomes: &[CheckOutcome],
) -> anyhow::Result<()> {
    for chunk in outcomes.chunks(1000) {
        store
            .record_batch(&results_batch(monitor, chunk.to_vec()))
            .await?;
    }
    Ok(())
}

/// What an uptime query must report for `[from, to)`, computed from the outcomes directly.
fn expected(
    outcomes: &[CheckOutcome],
    from: i64,
    to: i64,
) -> (u64, u64, u64, Option<f64>, Option<f64>, Option<f64>) {
    let inside: Vec<&CheckOutcome> = outcomes
        .iter()
        .filter(|o| (from..to).contains(&o.checked_at.0))
        .collect();
    let ok: Vec<f64> = inside
        .iter()
        .filter(|o| o.status.is_success())
        .map(|o| o.latency.as_secs_f64() * 1000.0)
        .collect();
    let count = |s: CheckStatus| inside.iter().filter(|o| o.status == s).count() as u64;
    (
        inside.len() as u64,
        count(CheckStatus::Up),
        count(CheckStatus::Degraded),
        (!ok.is_empty()).then(|| ok.iter().sum::<f64>() / ok.len() as f64),
        ok.iter().copied().reduce(f64::min),
        ok.iter().copied().reduce(f64::max),
    )
}

fn assert_matches(summary: &UptimeSummary, outcomes: &[CheckOutcome], from: i64, to: i64) {
    let (checks, up, degraded, avg, min, max) = expected(outcomes, from, to);
    let label = format!("[T0{:+}, T0{:+})", from - T0, to - T0);
    assert_eq!(
        (summary.checks, summary.up, summary.degraded),
        (checks, up, degraded),
        "{label}"
    );
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
        (a, b) => a == b,
    };
    assert!(
        close(summary.latency_avg_ms, avg),
        "{label}: avg {:?} vs {avg:?}",
        summary.latency_avg_ms
    );
    assert!(close(summary.latency_min_ms, min), "{label}: min");
    assert!(close(summary.latency_max_ms, max), "{label}: max");
    if let (Some(p95), Some(min), Some(max)) = (summary.latency_p95_ms, min, max) {
        assert!(
            p95 >= min && p95 <= max,
            "{label}: p95 {p95} outside [{min}, {max}]"
        );
    }
    if checks > 0 {
        let uptime = summary.uptime.expect("uptime with checks");
        assert!((uptime - (up + degraded) as f64 / checks as f64).abs() < 1e-9);
    }
}

const RANGES: [(i64, i64); 6] = [
    (T0, T0 + 2 * DAY),
    (T0 - 45 * MINUTE, T0 + 3 * DAY),
    (T0 + 90_500, T0 + DAY + 5 * HOUR + 7 * MINUTE + 13_000),
    (T0 + 23 * HOUR + 59 * MINUTE, T0 + DAY + MINUTE + 1),
    (
        T0 + 2 * DAY + 2 * HOUR + 30 * MINUTE,
        T0 + 2 * DAY + 3 * HOUR,
    ),
    (T0 + 5_000, T0 + 5_001),
];

#[tokio::test]
async fn uptime_is_the_same_from_raw_results_and_from_rollups() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let outcomes = history_outcomes();
        write_history(&*store, monitor.id, &outcomes).await?;
        for (from, to) in RANGES {
            let summary = store
                .uptime(TEAM, monitor.id, Timestamp(from), Timestamp(to))
                .await?;
            assert_matches(&summary, &outcomes, from, to);
        }
        // Roll up to two hours after T0+2d: the last hour of results stays raw.
        let now = T0 + 2 * DAY + 2 * HOUR + 5 * MINUTE;
        let report = store.roll_up(Timestamp(now)).await?;
        assert_eq!(report.day_buckets, 3, "{report:?}");
        assert_eq!(report.hour_buckets, 51, "{report:?}");
        assert_eq!(
            report.minute_buckets as i64,
            (2 * DAY + 2 * HOUR + 3 * MINUTE + 30 * MINUTE) / MINUTE,
            "{report:?}"
        );
        for (from, to) in RANGES {
            let summary = store
                .uptime(TEAM, monitor.id, Timestamp(from), Timestamp(to))
                .await?;
            assert_matches(&summary, &outcomes, from, to);
        }
        let again = store.roll_up(Timestamp(now)).await?;
        assert_eq!(
            (again.minute_buckets, again.hour_buckets, again.day_buckets),
            (0, 0, 0)
        );
        assert!(
            store
                .uptime(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + DAY))
                .await?
                .latency_p95_ms
                .is_some()
        );
        assert_eq!(
            store
                .uptime(
                    watchtower_core::TeamId(2),
                    monitor.id,
                    Timestamp(T0),
                    Timestamp(T0 + DAY)
                )
                .await?
                .checks,
            0
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_late_result_within_the_grace_is_rolled_into_its_minute() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let now = T0 + 10 * MINUTE + 30_000;
        store
            .record_batch(&results_batch(monitor.id, vec![up(T0 + MINUTE, 5)]))
            .await?;
        store.roll_up(Timestamp(now)).await?;
        // Arrives after the roll-up, for the minute that just ended: still inside the grace.
        store
            .record_batch(&results_batch(
                monitor.id,
                vec![down(T0 + 9 * MINUTE + 10_000)],
            ))
            .await?;
        let whole = |store: std::sync::Arc<dyn Store>| async move {
            store
                .uptime(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + HOUR))
                .await
        };
        assert_eq!(whole(store.clone()).await?.checks, 2);
        store.roll_up(Timestamp(now + 3 * MINUTE)).await?;
        let summary = whole(store.clone()).await?;
        assert_eq!((summary.checks, summary.up), (2, 1));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn exact_p95_within_a_minute() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let outcomes: Vec<CheckOutcome> = (0..20)
            .map(|i| up(T0 + i * 1000, (i as u64 + 1) * 10))
            .collect();
        store
            .record_batch(&results_batch(monitor.id, outcomes))
            .await?;
        let raw = store
            .uptime(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + MINUTE))
            .await?;
        store.roll_up(Timestamp(T0 + HOUR)).await?;
        let rolled = store
            .uptime(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + MINUTE))
            .await?;
        assert_eq!(raw.latency_p95_ms, Some(190.0));
        assert_eq!(rolled, raw);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn uptime_of_a_page_of_monitors_is_each_monitors_uptime() {
    each_backend(|store| async move {
        let mut ids = Vec::new();
        for name in ["web", "api", "idle"] {
            let monitor = store
                .create_monitor(TEAM, &http_spec(name, None), Timestamp(T0))
                .await?;
            ids.push(monitor.id);
        }
        let outcomes = history_outcomes();
        write_history(&*store, ids[0], &outcomes).await?;
        let every_other: Vec<CheckOutcome> = outcomes.iter().step_by(2).cloned().collect();
        write_history(&*store, ids[1], &every_other).await?;
        // Raw only, then rolled up with the last hour raw: the pieces differ, the answers do not.
        for roll_up_at in [None, Some(T0 + 2 * DAY + 2 * HOUR + 5 * MINUTE)] {
            if let Some(now) = roll_up_at {
                store.roll_up(Timestamp(now)).await?;
            }
            for (from, to) in RANGES {
                let (from, to) = (Timestamp(from), Timestamp(to));
                let many = store.uptime_many(TEAM, &ids, from, to).await?;
                assert_eq!(many.len(), ids.len());
                for id in &ids {
                    assert_eq!(many[id], store.uptime(TEAM, *id, from, to).await?);
                }
                assert_matches(&many[&ids[0]], &outcomes, from.0, to.0);
            }
        }
        assert_eq!(
            store
                .uptime_many(TEAM, &ids, Timestamp(T0), Timestamp(T0 + DAY))
                .await?[&ids[2]],
            UptimeSummary::default()
        );
        // Another team's ids answer empty summaries, never the monitors' history.
        let other = store
            .uptime_many(
                watchtower_core::TeamId(2),
                &ids,
                Timestamp(T0),
                Timestamp(T0 + DAY),
            )
            .await?;
        assert!(other.values().all(|s| s.checks == 0));
        assert!(
            store
                .uptime_many(TEAM, &[], Timestamp(T0), Timestamp(T0 + DAY))
                .await?
                .is_empty()
        );
        Ok(())
    })
    .await;
}
