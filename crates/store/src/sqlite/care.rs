//! SQLite's part of database care: the online snapshot a backup compresses (`VACUUM INTO`), the
//! counts of a database file, sizes from `dbstat`, and maintenance (ANALYZE, optimize, VACUUM when
//! a tenth of the file is free, a WAL checkpoint).

use super::SqliteStore;
use super::sql::care::object_sizes;
use crate::care::{
    COUNTS_SQL, ContentSummary, DatabaseStats, MaintenanceReport, MaintenanceStep,
    SCHEMA_VERSION_SQL, counts_from, finish_objects,
};
use crate::error::StoreError;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::Path;
use std::time::Instant;

/// VACUUM rewrites the whole file under the write lock; it runs only when at least this share of
/// the file is free pages (or when asked for).
const VACUUM_FREE_SHARE: f64 = 0.10;

/// Each table and index with its bytes, from `dbstat` (the shape `object_sizes` reads).
const OBJECTS_SQL: &str = "SELECT d.name, COALESCE(m.type, 'table') = 'table', \
     COALESCE(m.tbl_name, d.name), SUM(d.pgsize) \
     FROM dbstat AS d LEFT JOIN sqlite_master AS m ON m.name = d.name \
     GROUP BY d.name";

impl SqliteStore {
    /// Writes a consistent copy of the database to `destination` (which must not exist) while
    /// writes go on: `VACUUM INTO` reads one snapshot on a reader connection, so the writer is
    /// never blocked, and the copy is compact and holds no WAL.
    pub async fn snapshot_into(&self, destination: &Path) -> Result<(), StoreError> {
        let target = destination.to_str().ok_or_else(|| {
            StoreError::Unavailable(format!("{} is not a UTF-8 path", destination.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(self.reader())
            .await?;
        Ok(())
    }

    /// The schema version and counts of `self`, in one read snapshot.
    pub(crate) async fn care_summary(&self) -> Result<ContentSummary, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let summary = summary(&mut tx).await?;
        tx.commit().await?;
        Ok(summary)
    }

    pub(crate) async fn care_table_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(self.reader())
        .await?)
    }

    pub(crate) async fn care_stats(&self) -> Result<DatabaseStats, StoreError> {
        let objects = object_sizes(self, OBJECTS_SQL).await?;
        let (objects, results, bytes_per_result) = finish_objects(objects);
        let (page_size, free_pages) = self.pages().await?;
        Ok(DatabaseStats {
            backend: "sqlite",
            total_bytes: self.database_bytes().await?,
            objects,
            results,
            bytes_per_result,
            wal_bytes: Some(self.wal_bytes()),
            free_bytes: Some(page_size * free_pages),
            connections: None,
            long_running: None,
        })
    }

    /// ANALYZE, `PRAGMA optimize`, an incremental vacuum when the file is set up for it or a full
    /// VACUUM when a tenth of it is free (or `full_vacuum`), then a WAL checkpoint. VACUUM holds
    /// the write lock while it copies the file: the running instance's writer waits and retries
    /// (results stay buffered meanwhile).
    pub(crate) async fn care_maintain(
        &self,
        full_vacuum: bool,
    ) -> Result<MaintenanceReport, StoreError> {
        let bytes_before = self.database_bytes().await?;
        let mut steps = Vec::new();
        let mut conn = self.write.acquire().await?;
        for statement in ["ANALYZE", "PRAGMA optimize"] {
            let started = Instant::now();
            sqlx::raw_sql(statement).execute(&mut *conn).await?;
            steps.push(MaintenanceStep {
                statement: statement.to_owned(),
                took: Some(started.elapsed()),
                note: None,
            });
        }
        let auto_vacuum: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&mut *conn)
            .await?;
        let (page_size, free_pages) = self.pages().await?;
        let page_count: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut *conn)
            .await?;
        let free_share = free_pages as f64 / (page_count.max(1) as f64);
        let free_note = format!(
            "{} free of {} bytes ({:.1}%)",
            free_pages * page_size,
            page_count as u64 * page_size,
            free_share * 100.0
        );
        // auto_vacuum = 2 is INCREMENTAL: free pages can be given back without a rewrite.
        if auto_vacuum == 2 {
            let started = Instant::now();
            sqlx::raw_sql("PRAGMA incremental_vacuum")
                .execute(&mut *conn)
                .await?;
            steps.push(MaintenanceStep {
                statement: "PRAGMA incremental_vacuum".into(),
                took: Some(started.elapsed()),
                note: Some(free_note),
            });
        } else if full_vacuum || free_share >= VACUUM_FREE_SHARE {
            let started = Instant::now();
            sqlx::raw_sql("VACUUM").execute(&mut *conn).await?;
            steps.push(MaintenanceStep {
                statement: "VACUUM".into(),
                took: Some(started.elapsed()),
                note: Some(free_note),
            });
        } else {
            steps.push(MaintenanceStep {
                statement: "VACUUM".into(),
                took: None,
                note: Some(format!(
                    "skipped: {free_note}, under {:.0}% (--full-vacuum forces it)",
                    VACUUM_FREE_SHARE * 100.0
                )),
            });
        }
        let started = Instant::now();
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await?;
        steps.push(MaintenanceStep {
            statement: "PRAGMA wal_checkpoint(TRUNCATE)".into(),
            took: Some(started.elapsed()),
            note: (busy != 0).then(|| "readers were busy; the WAL was not fully truncated".into()),
        });
        drop(conn);
        Ok(MaintenanceReport {
            steps,
            bytes_before,
            bytes_after: self.database_bytes().await?,
        })
    }

    async fn pages(&self) -> Result<(u64, u64), StoreError> {
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(self.reader())
            .await?;
        let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
            .fetch_one(self.reader())
            .await?;
        Ok((
            u64::try_from(page_size).unwrap_or(0),
            u64::try_from(free).unwrap_or(0),
        ))
    }
}

/// The schema version and counts on an open connection (inside the caller's transaction).
async fn summary(conn: &mut SqliteConnection) -> Result<ContentSummary, StoreError> {
    let schema_version: i64 = sqlx::query_scalar(SCHEMA_VERSION_SQL)
        .fetch_one(&mut *conn)
        .await?;
    let row: (i64, i64, i64, i64, i64) = sqlx::query_as(COUNTS_SQL).fetch_one(&mut *conn).await?;
    Ok(ContentSummary {
        schema_version,
        counts: counts_from(row),
    })
}

/// What a database file holds, read without changing it: `PRAGMA integrity_check`'s verdict
/// (`ok` or the first problems), the schema version and the counts.
#[derive(Debug, Clone)]
pub struct FileInspection {
    pub integrity: String,
    pub summary: ContentSummary,
}

/// Opens the file at `path` read-only (its journal mode untouched) and inspects it. Fails when
/// the file is not an SQLite database or lacks WatchTower's tables.
pub async fn inspect_file(path: &Path) -> Result<FileInspection, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(10)")
        .fetch_all(&mut conn)
        .await?;
    let integrity = problems.join("; ");
    let summary = summary(&mut conn).await;
    let _ = conn.close().await;
    Ok(FileInspection {
        integrity,
        summary: summary?,
    })
}
