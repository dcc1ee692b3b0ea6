//! Retention: raw results and each rollup level pruned by age, history kept in coarser levels.

use crate::history::{history_outcomes, write_history};
use crate::support::*;
use watchtower_core::{Plan, Timestamp};
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

#[tokio::test]
async fn a_plans_retention_prunes_only_the_teams_on_that_plan() {
    each_backend(|store| async move {
        let owner = store
            .create_user(&watchtower_store::NewUser {
                email: "o@example.com".into(),
                email_key: "o@example.com".into(),
                name: "o".into(),
                password_hash: "x".into(),
                is_admin: false,
                created_at: Timestamp(T0),
            })
            .await?;
        let free = store
            .create_team("free", Plan::Free, owner.id, Timestamp(T0))
            .await?;
        let on_free = store
            .create_monitor(free.id, &http_spec("free web", None), Timestamp(T0))
            .await?;
        let unlimited = store
            .create_monitor(TEAM, &http_spec("web", None), Timestamp(T0))
            .await?;
        let outcomes = history_outcomes();
        for monitor in [&on_free, &unlimited] {
            for chunk in outcomes.chunks(1000) {
                let mut batch = results_batch(monitor.id, chunk.to_vec());
                for result in &mut batch.results {
                    result.team_id = monitor.team_id;
                }
                store.record_batch(&batch).await?;
            }
        }
        let now = Timestamp(T0 + 10 * DAY);
        store.roll_up(now).await?;
        let report = store
            .prune_plan(now, Plan::Free, std::time::Duration::from_secs(7 * 86_400))
            .await?;
        assert_eq!(report.raw_results, outcomes.len() as u64);
        assert!(report.rollups > 0);
        let all_time = |team, monitor| store.uptime(team, monitor, Timestamp(0), now);
        assert_eq!(all_time(free.id, on_free.id).await?.checks, 0);
        assert_eq!(
            all_time(TEAM, unlimited.id).await?.checks,
            outcomes.len() as u64,
            "the Unlimited team keeps its history"
        );
        Ok(())
    })
    .await;
}
