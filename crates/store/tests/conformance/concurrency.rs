//! Concurrency: many writers and readers at once, several processes on one SQLite file, and the
//! size of a raw result on disk.

use crate::support::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use watchtower_core::{MonitorId, Timestamp};
use watchtower_store::{PageRequest, ResultBatch, SqliteStore, Store};

async fn create_monitors(store: &dyn Store, count: usize) -> anyhow::Result<Vec<MonitorId>> {
    let mut ids = Vec::new();
    for i in 0..count {
        ids.push(
            store
                .create_monitor(TEAM, &http_spec(&format!("m{i}"), None), Timestamp(T0))
                .await?
                .id,
        );
    }
    Ok(ids)
}

/// One tick of results for every monitor.
fn tick(ids: &[MonitorId], at: i64) -> ResultBatch {
    ResultBatch {
        results: ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let outcome = if (at / 1000 + i as i64) % 100 == 0 {
                    down(at)
                } else {
                    // A remote HTTPS target's phases, so the size figure counts them.
                    let spread = (at / 1000 + i as i64) as u64 % 400;
                    let mut outcome = up(at, 40 + spread);
                    outcome.phases = Some(watchtower_core::HttpPhases {
                        dns: Some(Duration::from_micros(800 + spread * 7)),
                        connect: Some(Duration::from_micros(9_000 + spread * 13)),
                        tls: Some(Duration::from_micros(18_000 + spread * 29)),
                        first_byte: Some(Duration::from_micros(10_000 + spread * 100)),
                        download: Some(Duration::from_micros(300)),
                    });
                    outcome
                };
                result(*id, outcome)
            })
            .collect(),
        ..ResultBatch::default()
    }
}

async fn hammer(stores: Vec<Arc<dyn Store>>, ids: Vec<MonitorId>) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..8i64 {
        let store = stores[writer as usize % stores.len()].clone();
        let ids = ids.clone();
        tasks.spawn(async move {
            for round in 0..30i64 {
                store
                    .record_batch(&tick(&ids, T0 + (round * 8 + writer) * 1000))
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    for reader in 0..4usize {
        let store = stores[reader % stores.len()].clone();
        let ids = ids.clone();
        tasks.spawn(async move {
            for _ in 0..30 {
                store.list_monitors(TEAM, &PageRequest::default()).await?;
                store
                    .results(
                        TEAM,
                        ids[reader],
                        Timestamp(T0),
                        Timestamp(T0 + 1_000_000),
                        100,
                    )
                    .await?;
                store
                    .uptime(TEAM, ids[reader], Timestamp(T0), Timestamp(T0 + 1_000_000))
                    .await?;
                // Nothing is final yet; this only races the watermark writes against the batches.
                store.roll_up(Timestamp(T0)).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(outcome) = tasks.join_next().await {
        outcome??;
    }
    let expected = 8 * 30 * ids.len() as u64;
    assert_eq!(store_total(&*stores[0], &ids).await?, expected);
    stores[0].roll_up(Timestamp(T0 + DAY)).await?;
    assert_eq!(store_total(&*stores[0], &ids).await?, expected);
    Ok(())
}

async fn store_total(store: &dyn Store, ids: &[MonitorId]) -> anyhow::Result<u64> {
    let mut total = 0;
    for id in ids {
        total += store
            .uptime(TEAM, *id, Timestamp(T0), Timestamp(T0 + DAY))
            .await?
            .checks;
    }
    Ok(total)
}

#[tokio::test]
async fn concurrent_writers_and_readers_never_fail() {
    each_backend(|store| async move {
        let ids = create_monitors(&*store, 20).await?;
        hammer(vec![store], ids).await
    })
    .await;
}

#[tokio::test]
async fn two_processes_share_one_sqlite_file_without_lock_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/shared.db", dir.path().display());
    let (a, b) = tokio::join!(
        watchtower_store::connect(&url),
        watchtower_store::connect(&url)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // Both start up at once and migrate.
    let (ma, mb) = tokio::join!(a.migrate(), b.migrate());
    ma.unwrap();
    mb.unwrap();
    let ids = create_monitors(&*a, 10).await.unwrap();
    hammer(vec![a.clone(), b.clone()], ids).await.unwrap();
    assert_eq!(
        b.list_monitors(TEAM, &PageRequest::default())
            .await
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test]
async fn raw_results_stay_compact_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("size.db")).await.unwrap();
    store.migrate().await.unwrap();
    let started = Instant::now();
    let rows = write_200k(&store).await;
    let bytes = store.table_bytes("results").await.unwrap();
    let per_result = bytes as f64 / rows;
    println!(
        "SQLite raw results: {rows} rows, {bytes} bytes in pages, {per_result:.1} bytes per result; \
         written in {:?}; database {} bytes",
        started.elapsed(),
        store.size_bytes().await.unwrap()
    );
    assert!(per_result < 60.0, "{per_result:.1} bytes per raw result");
}

const TICKS: i64 = 2_000;

/// 2,000 ticks of 100 monitors, ten ticks per batch (1,000 results per transaction),
/// interleaved across monitors as in life. Returns the number of results.
async fn write_200k(store: &dyn Store) -> f64 {
    let ids = create_monitors(store, 100).await.unwrap();
    for first in (0..TICKS).step_by(10) {
        let mut batch = ResultBatch::default();
        for t in first..first + 10 {
            batch.results.extend(tick(&ids, T0 + t * 30_000).results);
        }
        store.record_batch(&batch).await.unwrap();
    }
    (TICKS * ids.len() as i64) as f64
}

/// The same figure on PostgreSQL, for information: its 24-byte tuple header alone rules out
/// SQLite's density, so only a loose bound is asserted.
#[tokio::test]
async fn raw_results_size_on_postgres() {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL variant skipped");
        return;
    };
    let db = PgDatabase::create(&server).await;
    let store = watchtower_store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let rows = write_200k(&*store).await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    sqlx::query("VACUUM ANALYZE results")
        .execute(&mut conn)
        .await
        .unwrap();
    let (heap, total): (i64, i64) =
        sqlx::query_as("SELECT pg_relation_size('results'), pg_total_relation_size('results')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    drop(conn);
    db.drop().await;
    println!(
        "PostgreSQL raw results: {rows} rows, {:.1} bytes per result in the heap, {:.1} with the \
         primary key index",
        heap as f64 / rows,
        total as f64 / rows
    );
    assert!((total as f64 / rows) < 200.0);
}
