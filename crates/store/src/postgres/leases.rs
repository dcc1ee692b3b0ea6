//! The shard leases on PostgreSQL: each of the rules in `core/src/cluster/table.rs` as one
//! statement (one round trip) on the database's clock, `cluster_clock_ms()`, and the fence a write
//! transaction runs first. Rows are locked in shard order everywhere, so a renewal, a grant and a
//! fenced write never deadlock on two rows.

use super::PgStore;
use crate::error::StoreError;
use crate::leases::{ClusterMessages, ClusterStore, WriteFence};
use crate::model::ResultBatch;
use async_trait::async_trait;
use sqlx::PgConnection;
use sqlx::postgres::PgListener;
use std::time::Duration;
use watchtower_core::Timestamp;
use watchtower_core::cluster::{
    ClusterView, Epoch, Grant, InstanceBeat, InstanceId, ShardId, ShardLease,
};

/// An instance row whose heartbeat is this old is deleted (a crashed process never says goodbye).
const FORGET_INSTANCE_AFTER_MS: i64 = 3_600_000;

/// The heartbeat and the view in one statement: the lease rows, the instances, and the clock.
/// The main query reads the snapshot from before the heartbeat's write; `plan_leases` counts
/// the caller as live anyway.
const BEAT_AND_VIEW: &str = "\
    WITH beat AS ( \
        INSERT INTO cluster_instances (id, started_at, heartbeat_at, version) \
        VALUES ($1, cluster_clock_ms(), cluster_clock_ms(), $2) \
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at \
        RETURNING id \
    ), gone AS ( \
        DELETE FROM cluster_instances \
        WHERE heartbeat_at < cluster_clock_ms() - $3 AND id <> $1 \
        RETURNING id \
    ) \
    SELECT 'clock' AS kind, NULL::int4 AS shard, NULL::text AS id, NULL::int8 AS epoch, \
           cluster_clock_ms() AS at \
    UNION ALL \
    SELECT 'lease', shard, owner, epoch, expires_at FROM shard_leases \
    UNION ALL \
    SELECT 'instance', NULL, id, NULL, heartbeat_at FROM cluster_instances";

/// Grants each shard nobody holds now, with the epoch one higher; a shard without a row yet gets
/// one at epoch 1.
const ACQUIRE: &str = "\
    INSERT INTO shard_leases AS l (shard, owner, epoch, expires_at) \
    SELECT s, $1, 1, cluster_clock_ms() + $3 FROM UNNEST($2::int4[]) AS s ORDER BY s \
    ON CONFLICT (shard) DO UPDATE \
        SET owner = EXCLUDED.owner, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at \
        WHERE l.owner IS NULL OR l.expires_at <= cluster_clock_ms() \
    RETURNING shard, epoch, expires_at";

/// The rows `$1` holds now with the epochs given, locked in shard order (the `FOR UPDATE` the
/// renewal and the release start with).
const HELD_ROWS: &str = "\
    SELECT l.shard FROM shard_leases l \
    JOIN UNNEST($2::int4[], $3::int8[]) AS t (shard, epoch) \
        ON t.shard = l.shard AND t.epoch = l.epoch \
    WHERE l.owner = $1 AND l.expires_at > cluster_clock_ms() \
    ORDER BY l.shard";

fn renew_sql() -> String {
    format!(
        "WITH held AS ({HELD_ROWS} FOR UPDATE OF l) \
         UPDATE shard_leases l SET expires_at = cluster_clock_ms() + $4 FROM held \
         WHERE l.shard = held.shard RETURNING l.shard, l.epoch, l.expires_at"
    )
}

fn release_sql() -> String {
    format!(
        "WITH held AS ({HELD_ROWS} FOR UPDATE OF l) \
         UPDATE shard_leases l SET owner = NULL, expires_at = cluster_clock_ms() FROM held \
         WHERE l.shard = held.shard RETURNING l.shard"
    )
}

/// The fence: the rows the instance still holds with the epochs given, share-locked until the
/// transaction ends. A grant is an update of the row, so it waits for the write to commit.
fn fence_sql() -> String {
    format!("{HELD_ROWS} FOR SHARE OF l")
}

type ViewRow = (String, Option<i32>, Option<String>, Option<i64>, i64);

impl PgStore {
    /// Beats `me`'s heartbeat (registering it at first) and reads the cluster: one round trip.
    pub async fn beat_and_view(
        &self,
        me: &InstanceId,
        version: &str,
    ) -> Result<ClusterView, StoreError> {
        let rows: Vec<ViewRow> = sqlx::query_as(BEAT_AND_VIEW)
            .bind(me.as_str())
            .bind(version)
            .bind(FORGET_INSTANCE_AFTER_MS)
            .fetch_all(&self.pool)
            .await?;
        let mut view = ClusterView {
            now: Timestamp(0),
            leases: Vec::new(),
            instances: Vec::new(),
        };
        for (kind, shard, id, epoch, at) in rows {
            match (kind.as_str(), shard, epoch) {
                ("clock", _, _) => view.now = Timestamp(at),
                ("lease", Some(shard), Some(epoch)) => view.leases.push(ShardLease {
                    shard: shard_id(shard)?,
                    owner: id.map(InstanceId::new),
                    epoch: Epoch(epoch),
                    expires_at: Timestamp(at),
                }),
                ("instance", _, _) => view.instances.push(InstanceBeat {
                    id: InstanceId::new(id.unwrap_or_default()),
                    heartbeat_at: Timestamp(at),
                }),
                _ => return Err(StoreError::Corrupt(format!("cluster view row {kind}"))),
            }
        }
        Ok(view)
    }

    /// Claims the shards nobody holds now; returns the grants (a shard someone holds is left out).
    pub async fn acquire_shards(
        &self,
        me: &InstanceId,
        shards: &[ShardId],
        lease: Duration,
    ) -> Result<Vec<Grant>, StoreError> {
        if shards.is_empty() {
            return Ok(Vec::new());
        }
        let shards: Vec<i32> = shards.iter().map(|s| i32::from(s.0)).collect();
        let rows: Vec<(i32, i64, i64)> = sqlx::query_as(ACQUIRE)
            .bind(me.as_str())
            .bind(shards)
            .bind(millis(lease))
            .fetch_all(&self.pool)
            .await?;
        grants(rows)
    }

    /// Extends the leases `me` still holds with those epochs; one that ran out or was taken is
    /// left out of the answer, and is lost.
    pub async fn renew_shards(
        &self,
        me: &InstanceId,
        held: &[(ShardId, Epoch)],
        lease: Duration,
    ) -> Result<Vec<Grant>, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let (shards, epochs) = columns(held);
        let rows: Vec<(i32, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(renew_sql()))
            .bind(me.as_str())
            .bind(shards)
            .bind(epochs)
            .bind(millis(lease))
            .fetch_all(&self.pool)
            .await?;
        grants(rows)
    }

    /// Gives up the leases `me` holds with those epochs (SIGTERM, or shards over its share):
    /// another instance may claim them at once.
    pub async fn release_shards(
        &self,
        me: &InstanceId,
        held: &[(ShardId, Epoch)],
    ) -> Result<Vec<ShardId>, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let (shards, epochs) = columns(held);
        let rows: Vec<(i32,)> = sqlx::query_as(sqlx::AssertSqlSafe(release_sql()))
            .bind(me.as_str())
            .bind(shards)
            .bind(epochs)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(|(shard,)| shard_id(shard)).collect()
    }

    /// `me` stops: it no longer counts when the others compute their shares.
    pub async fn leave_cluster(&self, me: &InstanceId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cluster_instances WHERE id = $1")
            .bind(me.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The NOTIFY channel instances tell each other about changes on.
const CLUSTER_CHANNEL: &str = "watchtower_cluster";

/// PostgreSQL's limit on a NOTIFY payload is 8,000 bytes; messages are a few dozen.
const MAX_MESSAGE_BYTES: usize = 1_000;

#[async_trait]
impl ClusterStore for PgStore {
    async fn beat_and_view(
        &self,
        me: &InstanceId,
        version: &str,
    ) -> Result<ClusterView, StoreError> {
        PgStore::beat_and_view(self, me, version).await
    }

    async fn acquire_shards(
        &self,
        me: &InstanceId,
        shards: &[ShardId],
        lease: Duration,
    ) -> Result<Vec<Grant>, StoreError> {
        PgStore::acquire_shards(self, me, shards, lease).await
    }

    async fn renew_shards(
        &self,
        me: &InstanceId,
        held: &[(ShardId, Epoch)],
        lease: Duration,
    ) -> Result<Vec<Grant>, StoreError> {
        PgStore::renew_shards(self, me, held, lease).await
    }

    async fn release_shards(
        &self,
        me: &InstanceId,
        held: &[(ShardId, Epoch)],
    ) -> Result<Vec<ShardId>, StoreError> {
        PgStore::release_shards(self, me, held).await
    }

    async fn leave_cluster(&self, me: &InstanceId) -> Result<(), StoreError> {
        PgStore::leave_cluster(self, me).await
    }

    async fn record_fenced_batch(
        &self,
        fence: &WriteFence,
        batch: &ResultBatch,
    ) -> Result<(), StoreError> {
        PgStore::record_fenced_batch(self, fence, batch).await
    }

    async fn publish(&self, message: &str) -> Result<(), StoreError> {
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(StoreError::Unavailable(format!(
                "a cluster message of {} bytes is over {MAX_MESSAGE_BYTES}",
                message.len()
            )));
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CLUSTER_CHANNEL)
            .bind(message)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn subscribe(&self) -> Result<Box<dyn ClusterMessages>, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CLUSTER_CHANNEL).await?;
        Ok(Box::new(PgMessages(listener)))
    }
}

struct PgMessages(PgListener);

#[async_trait]
impl ClusterMessages for PgMessages {
    async fn next(&mut self) -> Result<String, StoreError> {
        let notification = self.0.recv().await?;
        Ok(notification.payload().to_owned())
    }
}

/// Checks the fence inside a write transaction, as its first statement: every shard of `fence`
/// is held by its instance with that epoch, and stays so until the transaction ends (a grant of
/// any of them waits for it). Otherwise [`StoreError::Fenced`], and the caller rolls back.
pub async fn check_fence(conn: &mut PgConnection, fence: &WriteFence) -> Result<(), StoreError> {
    if fence.tokens.is_empty() {
        return Ok(());
    }
    let (shards, epochs) = columns(&fence.tokens);
    let held: Vec<(i32,)> = sqlx::query_as(sqlx::AssertSqlSafe(fence_sql()))
        .bind(fence.instance.as_str())
        .bind(shards)
        .bind(epochs)
        .fetch_all(&mut *conn)
        .await?;
    let lost: Vec<ShardId> = fence
        .tokens
        .iter()
        .map(|(shard, _)| *shard)
        .filter(|shard| !held.iter().any(|(held,)| *held == i32::from(shard.0)))
        .collect();
    if lost.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Fenced(lost))
    }
}

fn columns(held: &[(ShardId, Epoch)]) -> (Vec<i32>, Vec<i64>) {
    held.iter()
        .map(|(shard, epoch)| (i32::from(shard.0), epoch.0))
        .unzip()
}

fn grants(rows: Vec<(i32, i64, i64)>) -> Result<Vec<Grant>, StoreError> {
    rows.into_iter()
        .map(|(shard, epoch, expires_at)| {
            Ok(Grant {
                shard: shard_id(shard)?,
                epoch: Epoch(epoch),
                expires_at: Timestamp(expires_at),
            })
        })
        .collect()
}

fn shard_id(shard: i32) -> Result<ShardId, StoreError> {
    u16::try_from(shard)
        .map(ShardId)
        .map_err(|_| StoreError::Corrupt(format!("shard {shard} out of range")))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
