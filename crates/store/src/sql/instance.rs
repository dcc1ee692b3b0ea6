//! The installation's figures and people's last activity (see `crate::instance`).

use super::DbStore;
use crate::error::StoreError;
use crate::instance::{
    ACTIVITY_RESOLUTION, InstanceFigures, InstanceStore, KindDeliveries, PoolUse,
};
use async_trait::async_trait;
use watchtower_core::{Timestamp, UserId};

const DAY_MS: i64 = 86_400_000;

#[async_trait]
impl InstanceStore for DbStore {
    #[tracing::instrument(name = "store.touch_user", level = "debug", skip_all)]
    async fn touch_user(&self, user: UserId, now: Timestamp) -> Result<(), StoreError> {
        // The condition makes a second instance's touch within the hour a no-op.
        sqlx::query(
            "UPDATE users SET last_seen_at = $1 \
             WHERE id = $2 AND (last_seen_at IS NULL OR last_seen_at <= $3)",
        )
        .bind(now.0)
        .bind(user.0)
        .bind(now.minus(ACTIVITY_RESOLUTION).0)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.instance_figures", level = "debug", skip_all)]
    async fn instance_figures(&self, now: Timestamp) -> Result<InstanceFigures, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let (users, active_day, active_month): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN last_seen_at >= $1 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN last_seen_at >= $2 THEN 1 ELSE 0 END), 0) \
             FROM users",
        )
        .bind(now.0 - DAY_MS)
        .bind(now.0 - 30 * DAY_MS)
        .fetch_one(&mut *tx)
        .await?;
        // The operators' channel lives in a team of its own (`sql/ops.rs`): nobody's team.
        let teams_by_plan: Vec<(String, i64)> = sqlx::query_as(
            "SELECT plan, COUNT(*) FROM teams WHERE id NOT IN \
             (SELECT CAST(value AS BIGINT) FROM instance_settings WHERE name = 'ops_team_id') \
             GROUP BY plan ORDER BY plan",
        )
        .fetch_all(&mut *tx)
        .await?;
        let (monitors, paused): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN paused THEN 1 ELSE 0 END), 0) \
             FROM monitors",
        )
        .fetch_one(&mut *tx)
        .await?;
        let by_state: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM monitor_status GROUP BY state ORDER BY state",
        )
        .fetch_all(&mut *tx)
        .await?;
        let open_incidents: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM incidents WHERE resolved_at IS NULL")
                .fetch_one(&mut *tx)
                .await?;
        let deliveries: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT c.kind, n.status, COUNT(*) FROM notifications n \
             JOIN channels c ON c.id = n.channel_id \
             WHERE n.created_at >= $1 GROUP BY c.kind, n.status ORDER BY c.kind",
        )
        .bind(now.0 - DAY_MS)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut notifications_day: Vec<KindDeliveries> = Vec::new();
        for (kind, status, n) in deliveries {
            if notifications_day
                .last()
                .is_none_or(|last| last.kind != kind)
            {
                notifications_day.push(KindDeliveries {
                    kind,
                    ..KindDeliveries::default()
                });
            }
            let entry = notifications_day.last_mut().expect("pushed above");
            match status.as_str() {
                "delivered" => entry.delivered += count(n),
                "failed" => entry.failed += count(n),
                "pending" => entry.pending += count(n),
                _ => entry.suppressed += count(n),
            }
        }
        Ok(InstanceFigures {
            users: count(users),
            active_users_day: count(active_day),
            active_users_month: count(active_month),
            teams_by_plan: teams_by_plan
                .into_iter()
                .map(|(plan, n)| (plan, count(n)))
                .collect(),
            monitors: count(monitors),
            monitors_paused: count(paused),
            monitors_by_state: by_state
                .into_iter()
                .map(|(state, n)| (state, count(n)))
                .collect(),
            open_incidents: count(open_incidents),
            notifications_day,
        })
    }

    fn pool_use(&self) -> Vec<PoolUse> {
        self.pools()
    }
}
