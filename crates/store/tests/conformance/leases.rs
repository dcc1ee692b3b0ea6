//! Shard leases (issue 15; `docs/SCALING.md`). On PostgreSQL: two instances, each with its own
//! pool, contend for the shards on the database's clock; a paused one's renewal after expiry
//! fails and its late fenced write is refused whole; a grant waits for a fenced write in flight;
//! and the statements follow `core::cluster::LeaseTable`'s rules over a random run. SQLite,
//! served by one instance, refuses a fenced write.

use crate::support::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::time::Duration;
use watchtower_core::cluster::{
    Epoch, InstanceId, LeaseSettings, LeaseTable, SHARD_COUNT, ShardId, plan_leases,
};
use watchtower_core::{MonitorId, Timestamp};
use watchtower_store::{PgStore, SqliteStore, Store, StoreError, WriteFence};

/// Two stores on one fresh, migrated PostgreSQL database, or `None` (with a note) without
/// `TEST_DATABASE_URL`.
async fn two_instances() -> Option<(PgDatabase, PgStore, PgStore)> {
    let server = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL lease test skipped");
            return None;
        }
    };
    let db = PgDatabase::create(&server).await;
    let a = PgStore::connect(&db.url).await.expect("connect a");
    let b = PgStore::connect(&db.url).await.expect("connect b");
    a.migrate().await.expect("migrate");
    Some((db, a, b))
}

async fn result_count(store: &dyn Store, monitor: MonitorId) -> anyhow::Result<usize> {
    let results = store
        .results(TEAM, monitor, Timestamp(0), Timestamp(i64::MAX), 1_000)
        .await?;
    Ok(results.len())
}

fn fenced(instance: &InstanceId, shard: ShardId, epoch: Epoch) -> WriteFence {
    WriteFence::new(instance.clone(), vec![(shard, epoch)])
}

#[tokio::test]
async fn a_paused_instance_loses_its_shards_and_its_late_write_is_refused() {
    let Some((db, a, b)) = two_instances().await else {
        return;
    };
    let outcome = async {
        let (ia, ib) = (InstanceId::new("a"), InstanceId::new("b"));
        let settings = LeaseSettings {
            lease: Duration::from_millis(800),
            ..LeaseSettings::default()
        };
        let lease = settings.lease;

        // A alone claims every shard at epoch 1.
        let view = a.beat_and_view(&ia, "test").await?;
        let plan = plan_leases(&ia, &view, &settings, false);
        let granted = a.acquire_shards(&ia, &plan.acquire, lease).await?;
        assert_eq!(granted.len(), usize::from(SHARD_COUNT));
        assert!(granted.iter().all(|grant| grant.epoch == Epoch(1)));

        // B arrives: nothing is free, and a shard A holds is not granted to it.
        let view = b.beat_and_view(&ib, "test").await?;
        assert!(plan_leases(&ib, &view, &settings, false).acquire.is_empty());
        assert!(
            b.acquire_shards(&ib, &[ShardId(0)], lease)
                .await?
                .is_empty()
        );

        // A sees B below its share and gives up half; B claims exactly those.
        let view = a.beat_and_view(&ia, "test").await?;
        let plan = plan_leases(&ia, &view, &settings, false);
        let released = a.release_shards(&ia, &plan.release).await?;
        assert_eq!(released.len(), usize::from(SHARD_COUNT) / 2);
        let view = b.beat_and_view(&ib, "test").await?;
        let plan = plan_leases(&ib, &view, &settings, false);
        let claimed: BTreeSet<ShardId> = b
            .acquire_shards(&ib, &plan.acquire, lease)
            .await?
            .iter()
            .map(|grant| grant.shard)
            .collect();
        assert_eq!(claimed, released.iter().copied().collect());

        // A monitor in a shard A kept, and A's fenced write for it.
        let mut monitor = None;
        for i in 0.. {
            let created = a
                .create_monitor(TEAM, &http_spec(&format!("m{i}"), None), Timestamp(T0))
                .await?;
            let shard = ShardId::of_monitor(created.id, SHARD_COUNT);
            if !released.contains(&shard) {
                monitor = Some((created.id, shard));
                break;
            }
        }
        let (monitor, shard) = monitor.expect("A kept half the shards");
        a.record_fenced_batch(
            &fenced(&ia, shard, Epoch(1)),
            &results_batch(monitor, vec![up(T0, 40)]),
        )
        .await?;
        assert_eq!(result_count(&a, monitor).await?, 1);

        // A stops past its lease. Its renewals then fail, though nobody took the shards yet.
        tokio::time::sleep(lease + Duration::from_millis(200)).await;
        let kept: Vec<(ShardId, Epoch)> = (0..SHARD_COUNT)
            .map(ShardId)
            .filter(|s| !released.contains(s))
            .map(|s| (s, Epoch(1)))
            .collect();
        assert!(a.renew_shards(&ia, &kept, lease).await?.is_empty());

        // B takes the monitor's shard at epoch 2; A's late write is refused and leaves nothing.
        let taken = b.acquire_shards(&ib, &[shard], lease).await?;
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].epoch, Epoch(2));
        let late = a
            .record_fenced_batch(
                &fenced(&ia, shard, Epoch(1)),
                &results_batch(monitor, vec![down(T0 + 60_000)]),
            )
            .await;
        match late {
            Err(StoreError::Fenced(lost)) => assert_eq!(lost, vec![shard]),
            other => panic!("the late write was not fenced: {other:?}"),
        }
        assert_eq!(result_count(&a, monitor).await?, 1);
        assert!(
            a.release_shards(&ia, &[(shard, Epoch(1))])
                .await?
                .is_empty()
        );

        // B's write with the new epoch goes through.
        b.record_fenced_batch(
            &fenced(&ib, shard, Epoch(2)),
            &results_batch(monitor, vec![up(T0 + 60_000, 40)]),
        )
        .await?;
        assert_eq!(result_count(&b, monitor).await?, 2);

        // A reclaims the shard it lost only with a new epoch, once B lets go.
        assert!(b.release_shards(&ib, &[(shard, Epoch(2))]).await? == vec![shard]);
        let again = a.acquire_shards(&ia, &[shard], lease).await?;
        assert_eq!(again[0].epoch, Epoch(3));

        // A leaves: B no longer counts it.
        a.leave_cluster(&ia).await?;
        let view = b.beat_and_view(&ib, "test").await?;
        assert!(view.instances.iter().all(|beat| beat.id != ia));
        anyhow::Ok(())
    }
    .await;
    db.drop().await;
    outcome.expect("PostgreSQL");
}

#[tokio::test]
async fn a_grant_waits_for_a_fenced_write_in_flight() {
    use sqlx::Connection;
    let Some((db, a, b)) = two_instances().await else {
        return;
    };
    let outcome = async {
        let (ia, ib) = (InstanceId::new("a"), InstanceId::new("b"));
        let lease = Duration::from_millis(500);
        let granted = a.acquire_shards(&ia, &[ShardId(7)], lease).await?;
        assert_eq!(granted[0].epoch, Epoch(1));

        // A's write transaction passes the fence, then takes longer than the lease.
        let mut writer = sqlx::PgConnection::connect(&db.url).await?;
        let mut tx = writer.begin().await?;
        watchtower_store::postgres::check_fence(&mut tx, &fenced(&ia, ShardId(7), Epoch(1)))
            .await?;
        tokio::time::sleep(lease + Duration::from_millis(200)).await;

        // B's claim of the expired shard waits on the fence's lock instead of overtaking it.
        let claim = tokio::spawn({
            let ib = ib.clone();
            async move { b.acquire_shards(&ib, &[ShardId(7)], lease).await }
        });
        let mut watcher = sqlx::PgConnection::connect(&db.url).await?;
        let mut waiting = 0;
        for _ in 0..200 {
            waiting = sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&mut watcher)
            .await?;
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(
            waiting, 1,
            "the claim should be waiting on the fence's lock"
        );
        assert!(!claim.is_finished());

        tx.commit().await?;
        let grants = claim.await??;
        assert_eq!(grants.len(), 1);
        assert_eq!(
            grants[0].epoch,
            Epoch(2),
            "granted after the write, with a new epoch"
        );
        anyhow::Ok(())
    }
    .await;
    db.drop().await;
    outcome.expect("PostgreSQL");
}

#[tokio::test]
async fn the_statements_follow_the_lease_table_rules() {
    let Some((db, a, b)) = two_instances().await else {
        return;
    };
    let outcome = async {
        const SHARDS: u16 = 6;
        // Long enough that nothing expires during the run: the comparison is about who may do
        // what, and expiry is covered by the stories above.
        let lease = Duration::from_secs(600);
        let stores = [&a, &b, &a];
        let ids = [
            InstanceId::new("x"),
            InstanceId::new("y"),
            InstanceId::new("z"),
        ];
        let mut model = LeaseTable::new(SHARDS);
        let mut rng = StdRng::seed_from_u64(15);
        let mut clock = sqlx::PgConnection::connect(&db.url).await?;
        use sqlx::Connection as _;
        for step in 0..300 {
            let who = rng.random_range(0..ids.len());
            let (store, me) = (stores[who], &ids[who]);
            let shards: Vec<ShardId> = (0..SHARDS)
                .filter(|_| rng.random_bool(0.4))
                .map(ShardId)
                .collect();
            // Tokens with the right epoch, a stale one, or a future one.
            let tokens: Vec<(ShardId, Epoch)> = shards
                .iter()
                .map(|s| {
                    let current = model.row(*s).expect("in range").epoch.0;
                    (*s, Epoch(current + rng.random_range(-1..=1)))
                })
                .collect();
            let now: i64 = sqlx::query_scalar("SELECT cluster_clock_ms()")
                .fetch_one(&mut clock)
                .await?;
            let now = Timestamp(now);
            match rng.random_range(0..4) {
                0 => {
                    let got = store.acquire_shards(me, &shards, lease).await?;
                    let want = model.acquire(me, &shards, now, lease);
                    let got: Vec<_> = got.iter().map(|g| (g.shard, g.epoch)).collect();
                    let want: Vec<_> = want.iter().map(|g| (g.shard, g.epoch)).collect();
                    assert_eq!(got, want, "step {step}: acquire {shards:?} by {me}");
                }
                1 => {
                    let got = store.renew_shards(me, &tokens, lease).await?;
                    let want = model.renew(me, &tokens, now, lease);
                    let got: Vec<_> = got.iter().map(|g| (g.shard, g.epoch)).collect();
                    let want: Vec<_> = want.iter().map(|g| (g.shard, g.epoch)).collect();
                    assert_eq!(got, want, "step {step}: renew {tokens:?} by {me}");
                }
                2 => {
                    let mut got = store.release_shards(me, &tokens).await?;
                    got.sort();
                    let want = model.release(me, &tokens, now);
                    assert_eq!(got, want, "step {step}: release {tokens:?} by {me}");
                }
                _ => {
                    let fence = WriteFence::new(me.clone(), tokens.clone());
                    let mut conn = sqlx::PgConnection::connect(&db.url).await?;
                    let mut tx = conn.begin().await?;
                    let got = match watchtower_store::postgres::check_fence(&mut tx, &fence).await {
                        Ok(()) => Ok(()),
                        Err(StoreError::Fenced(lost)) => Err(lost),
                        Err(other) => return Err(other.into()),
                    };
                    tx.rollback().await?;
                    let want = model.fence(me, &fence.tokens, now);
                    assert_eq!(got, want, "step {step}: fence {tokens:?} of {me}");
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    db.drop().await;
    outcome.expect("PostgreSQL");
}

#[tokio::test]
async fn sqlite_refuses_a_fenced_write_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("watchtower.db"))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let monitor = store
        .create_monitor(TEAM, &http_spec("solo", None), Timestamp(T0))
        .await
        .expect("create");
    let fence = fenced(&InstanceId::new("solo"), ShardId(0), Epoch(1));
    let refused = store
        .record_fenced_batch(&fence, &results_batch(monitor.id, vec![up(T0, 40)]))
        .await;
    match refused {
        Err(StoreError::Unavailable(message)) => assert!(message.contains("PostgreSQL")),
        other => panic!("SQLite took a fenced write: {other:?}"),
    }
    assert_eq!(result_count(&store, monitor.id).await.expect("read"), 0);
}
