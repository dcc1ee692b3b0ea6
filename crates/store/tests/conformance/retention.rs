//! Retention: raw results and each rollup level pruned by age, history kept in coarser levels.

use crate::history::{history_outcomes, write_history};
use crate::support::*;
use watchtower_core::Timestamp;
use watchtower_store::Retention;

#[tokio::test]
async fn pruning_keeps_history_in_the_coarser_levels() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let outcomes = history_outcomes();
        write_history(&*store, monitor.id, &outcomes).await?;
        let before = store
            .uptime(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + 2 * DAY))
            .await?;
        assert!(store.size_bytes().await? > 0);

        // Nothing is pruned before it is rolled up, however old.
        let late = T0 + 10 * DAY;
        let early = store.prune(Timestamp(late), &Retention::default()).await?;
        assert_eq!((early.raw_results, early.rollups), (0, 0));

        store.roll_up(Timestamp(late)).await?;
        let report = store.prune(Timestamp(late), &Retention::default()).await?;
        assert_eq!(
            report.raw_results,
            outcomes.len() as u64,
            "every raw result is past 3 days"
        );
        assert!(report.rollups > 0);
        assert!(
            store
                .results(TEAM, monitor.id, Timestamp(0), Timestamp(i64::MAX), 10)
                .await?
                .is_empty()
        );
        let after = store
            .uptime(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + 2 * DAY))
            .await?;
        assert_eq!(
            (after.checks, after.up, after.degraded),
            (before.checks, before.up, before.degraded)
        );
        assert_eq!(
            after.latency_avg_ms.map(|v| (v * 1e6).round()),
            before.latency_avg_ms.map(|v| (v * 1e6).round())
        );

        let again = store.prune(Timestamp(late), &Retention::default()).await?;
        assert_eq!((again.raw_results, again.rollups), (0, 0));
        // A year and more later, everything is gone.
        store.roll_up(Timestamp(T0 + 500 * DAY)).await?;
        store
            .prune(Timestamp(T0 + 500 * DAY), &Retention::default())
            .await?;
        assert_eq!(
            store
                .uptime(
                    TEAM,
                    monitor.id,
                    Timestamp(T0 - DAY),
                    Timestamp(T0 + 3 * DAY)
                )
                .await?
                .checks,
            0
        );
        Ok(())
    })
    .await;
}
