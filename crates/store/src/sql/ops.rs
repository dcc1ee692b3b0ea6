//! Ops episodes, the operators' channel and maintenance-run claims (see `crate::ops`).

use super::{BACKEND, DbConnection, DbStore};
use crate::Backend;
use crate::error::StoreError;
use crate::json::JsonText;
use crate::ops::{DatabaseProcess, OpenOpsEpisode, OpsStore};
use async_trait::async_trait;
use serde_json::Value;
use watchtower_core::{AlertEvent, ChannelId, Timestamp};

/// The operators' team and channel, by id, in `instance_settings`.
const OPS_TEAM: &str = "ops_team_id";
const OPS_CHANNEL: &str = "ops_channel_id";

async fn setting(connection: &mut DbConnection, name: &str) -> Result<Option<i64>, StoreError> {
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM instance_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(connection)
            .await?;
    value
        .map(|text| {
            text.parse::<i64>().map_err(|_| {
                StoreError::Corrupt(format!("instance setting {name}: '{text}' is not an id"))
            })
        })
        .transpose()
}

#[async_trait]
impl OpsStore for DbStore {
    async fn database_process(&self) -> Result<Option<DatabaseProcess>, StoreError> {
        if BACKEND != Backend::Postgres {
            return Ok(None);
        }
        let (pid, started): (i32, i64) = sqlx::query_as(
            "SELECT pg_backend_pid(), \
             CAST(EXTRACT(EPOCH FROM pg_postmaster_start_time()) * 1000 AS BIGINT)",
        )
        .fetch_one(self.reader())
        .await?;
        Ok(u32::try_from(pid).ok().map(|backend_pid| DatabaseProcess {
            backend_pid,
            server_started_at: Timestamp(started),
        }))
    }

    #[tracing::instrument(name = "store.set_ops_channel", level = "debug", skip_all)]
    async fn set_ops_channel(
        &self,
        kind: &str,
        config: &Value,
        now: Timestamp,
    ) -> Result<ChannelId, StoreError> {
        let mut tx = self.begin_write().await?;
        let team = match setting(&mut tx, OPS_TEAM).await? {
            Some(team) => team,
            None => {
                let team: i64 = sqlx::query_scalar(
                    "INSERT INTO teams (name, created_at) VALUES \
                     ('WatchTower operators (ops alerts)', $1) RETURNING id",
                )
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO instance_settings (name, value) VALUES ($1, $2)")
                    .bind(OPS_TEAM)
                    .bind(team.to_string())
                    .execute(&mut *tx)
                    .await?;
                team
            }
        };
        let config = JsonText(config.to_string());
        let channel = match setting(&mut tx, OPS_CHANNEL).await? {
            Some(channel) => {
                sqlx::query(
                    "UPDATE channels SET kind = $1, config = $2, updated_at = $3 \
                     WHERE id = $4 AND team_id = $5",
                )
                .bind(kind)
                .bind(&config)
                .bind(now.0)
                .bind(channel)
                .bind(team)
                .execute(&mut *tx)
                .await?;
                channel
            }
            None => {
                let channel: i64 = sqlx::query_scalar(
                    "INSERT INTO channels (team_id, name, kind, config, created_at, updated_at) \
                     VALUES ($1, 'operators', $2, $3, $4, $4) RETURNING id",
                )
                .bind(team)
                .bind(kind)
                .bind(&config)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO instance_settings (name, value) VALUES ($1, $2)")
                    .bind(OPS_CHANNEL)
                    .bind(channel.to_string())
                    .execute(&mut *tx)
                    .await?;
                channel
            }
        };
        // Two instances starting at once: the second transaction's insert of the same setting
        // fails on its primary key and it retries on its next start; nothing is half-written.
        tx.commit().await?;
        Ok(ChannelId(channel))
    }

    #[tracing::instrument(name = "store.open_ops_episodes", level = "debug", skip_all)]
    async fn open_ops_episodes(&self) -> Result<Vec<OpenOpsEpisode>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT episode_key, opened_at FROM ops_episodes WHERE resolved_at IS NULL \
             ORDER BY id",
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(key, opened_at)| OpenOpsEpisode {
                key,
                opened_at: Timestamp(opened_at),
            })
            .collect())
    }

    #[tracing::instrument(name = "store.open_ops_episode", level = "debug", skip_all)]
    async fn open_ops_episode(
        &self,
        key: &str,
        opened_at: Timestamp,
        by: &str,
        details: &Value,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let episode: Option<i64> = sqlx::query_scalar(
            "INSERT INTO ops_episodes (episode_key, opened_at, opened_by) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(key)
        .bind(opened_at.0)
        .bind(by)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(episode) = episode else {
            tx.commit().await?;
            return Ok(false);
        };
        queue(&mut tx, episode, AlertEvent::OpsAlert, details, opened_at).await?;
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(name = "store.resolve_ops_episode", level = "debug", skip_all)]
    async fn resolve_ops_episode(
        &self,
        key: &str,
        at: Timestamp,
        by: &str,
        details: &Value,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let episode: Option<i64> = sqlx::query_scalar(
            "UPDATE ops_episodes SET resolved_at = $1, resolved_by = $2 \
             WHERE episode_key = $3 AND resolved_at IS NULL RETURNING id",
        )
        .bind(at.0)
        .bind(by)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(episode) = episode else {
            tx.commit().await?;
            return Ok(false);
        };
        queue(&mut tx, episode, AlertEvent::OpsResolved, details, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(name = "store.claim_care_run", level = "debug", skip_all)]
    async fn claim_care_run(
        &self,
        slot: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "INSERT INTO database_care_runs (slot, claimed_by, claimed_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(slot)
        .bind(by)
        .bind(now.0)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    #[tracing::instrument(name = "store.finish_care_run", level = "debug", skip_all)]
    async fn finish_care_run(
        &self,
        slot: &str,
        outcome: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE database_care_runs SET finished_at = $1, outcome = $2 WHERE slot = $3")
            .bind(now.0)
            .bind(outcome)
            .bind(slot)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}

/// Queues an episode's alert or recovery to the operators' channel, if one is set. The key
/// `ops:<episode>:<event>` is unique per channel, so it is queued once.
async fn queue(
    tx: &mut DbConnection,
    episode: i64,
    event: AlertEvent,
    details: &Value,
    due: Timestamp,
) -> Result<(), StoreError> {
    let Some(channel) = setting(tx, OPS_CHANNEL).await? else {
        tracing::info!(
            episode,
            "no operators' channel (--ops-channel): the ops alert is only logged"
        );
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO notifications (team_id, channel_id, event, status, attempts, \
         next_attempt_at, created_at, dedup_key, details) \
         SELECT team_id, id, $1, 'pending', 0, $2, $2, $3, $4 FROM channels WHERE id = $5 \
         ON CONFLICT DO NOTHING",
    )
    .bind(event.as_str())
    .bind(due.0)
    .bind(format!("ops:{episode}:{}", event.as_str()))
    .bind(JsonText(details.to_string()))
    .bind(channel)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
