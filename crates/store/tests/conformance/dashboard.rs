//! What the dashboard reads: state counts, each monitor's newest checks, and history series that
//! agree with uptime before and after the roll-up.

use crate::history::{history_outcomes, write_history};
use crate::support::*;
use watchtower_core::{CheckOutcome, MonitorRuntime, MonitorState, TeamId, Timestamp};
use watchtower_store::SeriesStep;

/// Each step of a series must count exactly the outcomes inside it.
fn assert_series_matches(
    points: &[watchtower_store::SeriesPoint],
    outcomes: &[CheckOutcome],
    width: i64,
    from: i64,
    to: i64,
    label: &str,
) {
    let mut expected: std::collections::BTreeMap<i64, (u64, u64)> = Default::default();
    for outcome in outcomes {
        let at = outcome.checked_at.0;
        let start = at.div_euclid(width) * width;
        if start >= from.div_euclid(width) * width && at < to {
            let entry = expected.entry(start).or_default();
            entry.0 += 1;
            entry.1 += u64::from(outcome.status.is_success());
        }
    }
    let got: std::collections::BTreeMap<i64, (u64, u64)> = points
        .iter()
        .map(|p| {
            (
                p.start.0,
                (p.summary.checks, p.summary.up + p.summary.degraded),
            )
        })
        .collect();
    assert_eq!(got, expected, "{label}");
    assert!(
        points.windows(2).all(|w| w[0].start < w[1].start),
        "{label}: oldest first"
    );
}

#[tokio::test]
async fn series_count_the_same_checks_from_raw_results_and_from_rollups() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let outcomes = history_outcomes();
        write_history(&*store, monitor.id, &outcomes).await?;
        let ranges = [
            (SeriesStep::Minute, MINUTE, T0 + DAY, T0 + DAY + HOUR),
            (SeriesStep::Hour, HOUR, T0 - HOUR, T0 + 2 * DAY + 3 * HOUR),
            (SeriesStep::Day, DAY, T0 - DAY, T0 + 3 * DAY),
        ];
        for rolled in [false, true] {
            if rolled {
                // The last hour stays raw, the last day is still made of hours and minutes.
                store
                    .roll_up(Timestamp(T0 + 2 * DAY + 2 * HOUR + 5 * MINUTE))
                    .await?;
            }
            for (step, width, from, to) in ranges {
                let points = store
                    .series(TEAM, monitor.id, step, Timestamp(from), Timestamp(to))
                    .await?;
                assert_series_matches(
                    &points,
                    &outcomes,
                    width,
                    from,
                    to,
                    &format!("{step:?} rolled={rolled}"),
                );
            }
        }
        // Another team sees nothing of it.
        let other = store
            .series(
                TeamId(2),
                monitor.id,
                SeriesStep::Day,
                Timestamp(T0 - DAY),
                Timestamp(T0 + 3 * DAY),
            )
            .await?;
        assert!(other.is_empty());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn recent_checks_are_the_newest_per_monitor_and_stay_in_the_team() {
    each_backend(|store| async move {
        let a = store
            .create_monitor(TEAM, &http_spec("a", None), Timestamp(T0))
            .await?;
        let b = store
            .create_monitor(TEAM, &http_spec("b", None), Timestamp(T0))
            .await?;
        let quiet = store
            .create_monitor(TEAM, &http_spec("quiet", None), Timestamp(T0))
            .await?;
        let a_outcomes: Vec<_> = (0..40).map(|i| up(T0 + i * 10_000, 5)).collect();
        let b_outcomes = vec![down(T0 + 1_000), up(T0 + 2_000, 7)];
        store.record_batch(&results_batch(a.id, a_outcomes)).await?;
        store.record_batch(&results_batch(b.id, b_outcomes)).await?;
        let recent = store
            .recent_checks(TEAM, &[a.id, b.id, quiet.id], 30)
            .await?;
        let a_checks = &recent[&a.id];
        assert_eq!(a_checks.len(), 30);
        assert_eq!(
            a_checks[0].checked_at,
            Timestamp(T0 + 39 * 10_000),
            "newest first"
        );
        assert_eq!(a_checks[29].checked_at, Timestamp(T0 + 10 * 10_000));
        let b_checks = &recent[&b.id];
        assert_eq!(
            b_checks
                .iter()
                .map(|c| (c.checked_at.0, c.status.as_str()))
                .collect::<Vec<_>>(),
            vec![(T0 + 2_000, "up"), (T0 + 1_000, "down")]
        );
        assert!(!recent.contains_key(&quiet.id));
        let elsewhere = store.recent_checks(TeamId(2), &[a.id, b.id], 30).await?;
        assert!(elsewhere.is_empty());
        assert!(store.recent_checks(TEAM, &[], 30).await?.is_empty());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn state_counts_group_the_team_s_monitors() {
    each_backend(|store| async move {
        let empty = store.state_counts(TEAM).await?;
        assert_eq!(empty.total(), 0);
        let up_monitor = store
            .create_monitor(TEAM, &http_spec("up", None), Timestamp(T0))
            .await?;
        store
            .create_monitor(TEAM, &http_spec("new", None), Timestamp(T0))
            .await?;
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(
                up_monitor.id,
                &mut runtime,
                vec![up(T0 + 1_000, 5)],
            ))
            .await?;
        let counts = store.state_counts(TEAM).await?;
        assert_eq!(counts.total(), 2);
        assert_eq!(counts.of(MonitorState::Up), 1, "{counts:?}");
        assert_eq!(counts.of(MonitorState::Pending), 1, "{counts:?}");
        assert_eq!(counts.of(MonitorState::Down), 0);
        assert_eq!(store.state_counts(TeamId(2)).await?.total(), 0);
        Ok(())
    })
    .await;
}

/// HTTP phase times reach every level: an hour's average of each phase is the same read from raw
/// results, from minute rollups and from hour and day rollups, and a failure's phases count for
/// nothing (a failed check has no meaningful phases, as it has no latency weight).
#[tokio::test]
async fn phase_times_are_the_same_from_raw_results_and_from_rollups() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let with_phases = |at: i64, dns: u64, tls: Option<u64>| {
            let mut outcome = up(at, 50);
            outcome.phases = Some(watchtower_core::HttpPhases {
                dns: Some(std::time::Duration::from_micros(dns)),
                connect: Some(std::time::Duration::from_micros(2_000)),
                tls: tls.map(std::time::Duration::from_micros),
                first_byte: Some(std::time::Duration::from_micros(30_000)),
                download: Some(std::time::Duration::from_micros(1_000)),
            });
            outcome
        };
        // Two hours of checks every 30 s: DNS alternates 1 ms / 3 ms, TLS 10 ms on every other
        // check; a failure with phases in each hour must not move the averages.
        let mut outcomes = Vec::new();
        for i in 0..240 {
            let at = T0 + i * 30_000;
            let (dns, tls) = if i % 2 == 0 {
                (1_000, Some(10_000))
            } else {
                (3_000, None)
            };
            outcomes.push(with_phases(at, dns, tls));
        }
        for hour in 0..2 {
            let mut failed = with_phases(T0 + hour * HOUR + 15_000, 900_000, Some(900_000));
            failed.status = watchtower_core::CheckStatus::Down;
            outcomes.push(failed);
        }
        outcomes.sort_by_key(|o| o.checked_at);
        store
            .record_batch(&results_batch(monitor.id, outcomes))
            .await?;

        let check = |points: Vec<watchtower_store::SeriesPoint>, label: &str| {
            assert_eq!(points.len(), 2, "{label}");
            for point in points {
                let phases = point.summary.phases.expect("phases");
                assert_eq!(point.summary.checks, 121, "{label}");
                assert!((phases.dns_ms - 2.0).abs() < 1e-9, "{label}: {phases:?}");
                assert!((phases.connect_ms - 2.0).abs() < 1e-9, "{label}");
                assert!((phases.tls_ms - 5.0).abs() < 1e-9, "{label}: {phases:?}");
                assert!((phases.first_byte_ms - 30.0).abs() < 1e-9, "{label}");
            }
        };
        let read = |step| {
            store.series(
                TEAM,
                monitor.id,
                step,
                Timestamp(T0),
                Timestamp(T0 + 2 * HOUR),
            )
        };
        check(read(SeriesStep::Hour).await?, "raw");
        store.roll_up(Timestamp(T0 + 3 * DAY)).await?;
        check(read(SeriesStep::Hour).await?, "rolled");
        let day = store
            .series(
                TEAM,
                monitor.id,
                SeriesStep::Day,
                Timestamp(T0),
                Timestamp(T0 + DAY),
            )
            .await?;
        let phases = day[0].summary.phases.expect("day phases");
        assert!((phases.dns_ms - 2.0).abs() < 1e-9 && (phases.tls_ms - 5.0).abs() < 1e-9);
        Ok(())
    })
    .await;
}
