//! PostgreSQL's part of database care: counts in an exported snapshot (the one `pg_dump
//! --snapshot` then dumps, so the manifest matches the dump), sizes from the catalog, sessions and
//! long-running statements, maintenance (`VACUUM (ANALYZE)`), and the scratch databases a
//! verification restores into.

use super::sql::care::object_sizes;
use super::{PgStore, unreachable};
use crate::care::{
    COUNTS_SQL, ConnectionStats, ContentSummary, DatabaseStats, LongQuery, MaintenanceReport,
    MaintenanceStep, SCHEMA_VERSION_SQL, counts_from, finish_objects,
};
use crate::error::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Postgres};
use std::str::FromStr;
use std::time::Instant;

/// The guide's "long-running query": active for over five minutes.
const LONG_RUNNING_SECONDS: f64 = 300.0;

/// Each table and index of the schema with its bytes (the shape `object_sizes` reads).
const OBJECTS_SQL: &str = "SELECT c.relname::text, c.relkind <> 'i', \
     COALESCE(t.relname, c.relname)::text, pg_relation_size(c.oid) \
     FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_index i ON i.indexrelid = c.oid \
     LEFT JOIN pg_class t ON t.oid = i.indrelid \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 'p')";

impl PgStore {
    pub(crate) async fn care_summary(&self) -> Result<ContentSummary, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let summary = summary(&mut tx).await?;
        tx.commit().await?;
        Ok(summary)
    }

    pub(crate) async fn care_table_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Opens a `REPEATABLE READ` transaction and exports its snapshot: a `pg_dump --snapshot`
    /// started while it is open dumps exactly what [`ExportedSnapshot::summary`] counts.
    pub async fn export_snapshot(&self) -> Result<ExportedSnapshot, StoreError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *conn)
            .await?;
        let name: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *conn)
            .await?;
        Ok(ExportedSnapshot { conn, name })
    }

    pub(crate) async fn care_stats(&self) -> Result<DatabaseStats, StoreError> {
        let objects = object_sizes(self, OBJECTS_SQL).await?;
        let (objects, results, bytes_per_result) = finish_objects(objects);
        let by_state: Vec<(String, i64)> = sqlx::query_as(
            "SELECT COALESCE(state, 'unknown'), COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() GROUP BY 1 ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let max: String = sqlx::query_scalar("SHOW max_connections")
            .fetch_one(&self.pool)
            .await?;
        let by_state: Vec<(String, u64)> = by_state
            .into_iter()
            .map(|(state, n)| (state, u64::try_from(n).unwrap_or(0)))
            .collect();
        let long: Vec<(i32, String, f64, String)> = sqlx::query_as(
            "SELECT pid, COALESCE(state, ''), \
                    EXTRACT(EPOCH FROM (now() - query_start))::float8, left(query, 200) \
             FROM pg_stat_activity \
             WHERE state <> 'idle' AND pid <> pg_backend_pid() \
               AND query_start < now() - make_interval(secs => $1) \
             ORDER BY query_start",
        )
        .bind(LONG_RUNNING_SECONDS)
        .fetch_all(&self.pool)
        .await?;
        Ok(DatabaseStats {
            backend: "postgres",
            total_bytes: self.database_bytes().await?,
            objects,
            results,
            bytes_per_result,
            wal_bytes: None,
            free_bytes: None,
            connections: Some(ConnectionStats {
                total: by_state.iter().map(|(_, n)| n).sum(),
                by_state,
                max: max.trim().parse().unwrap_or(0),
            }),
            long_running: Some(
                long.into_iter()
                    .map(|(pid, state, running_seconds, query)| LongQuery {
                        pid: i64::from(pid),
                        state,
                        running_seconds,
                        query,
                    })
                    .collect(),
            ),
        })
    }

    /// `VACUUM (ANALYZE)` (plain VACUUM takes no lock that stops reads or writes), or `VACUUM
    /// (FULL, ANALYZE)` when asked for, which rewrites every table under an exclusive lock.
    pub(crate) async fn care_maintain(
        &self,
        full_vacuum: bool,
    ) -> Result<MaintenanceReport, StoreError> {
        let bytes_before = self.database_bytes().await?;
        let statement = if full_vacuum {
            "VACUUM (FULL, ANALYZE)"
        } else {
            "VACUUM (ANALYZE)"
        };
        let started = Instant::now();
        // VACUUM cannot run in a transaction block or as a prepared statement.
        sqlx::raw_sql(statement).execute(&self.pool).await?;
        let steps = vec![MaintenanceStep {
            statement: statement.to_owned(),
            took: Some(started.elapsed()),
            note: None,
        }];
        Ok(MaintenanceReport {
            steps,
            bytes_before,
            bytes_after: self.database_bytes().await?,
        })
    }

    /// Empties the current schema (every table, sequence and type in it): what `restore --force`
    /// does before loading a dump.
    pub async fn drop_current_schema_objects(&self) -> Result<(), StoreError> {
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&self.pool)
            .await?;
        let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {quoted} CASCADE; CREATE SCHEMA {quoted}"
        )))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// An open transaction whose snapshot is exported under [`name`](Self::name).
pub struct ExportedSnapshot {
    conn: PoolConnection<Postgres>,
    name: String,
}

impl ExportedSnapshot {
    /// What `pg_dump --snapshot=NAME` takes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema version and counts as of the snapshot.
    pub async fn summary(&mut self) -> Result<ContentSummary, StoreError> {
        summary(&mut self.conn).await
    }

    /// Ends the transaction (call once the dump has finished).
    pub async fn finish(mut self) -> Result<(), StoreError> {
        sqlx::raw_sql("COMMIT").execute(&mut *self.conn).await?;
        Ok(())
    }
}

async fn summary(conn: &mut PgConnection) -> Result<ContentSummary, StoreError> {
    let schema_version: i64 = sqlx::query_scalar(SCHEMA_VERSION_SQL)
        .fetch_one(&mut *conn)
        .await?;
    let row: (i64, i64, i64, i64, i64) = sqlx::query_as(COUNTS_SQL).fetch_one(&mut *conn).await?;
    Ok(ContentSummary {
        schema_version,
        counts: counts_from(row),
    })
}

/// A scratch database on a PostgreSQL server: created empty, dropped (sessions ended) by
/// [`drop`](Self::drop).
pub struct ScratchDatabase {
    server: PgConnectOptions,
    name: String,
}

impl ScratchDatabase {
    /// Creates `name` (letters, digits and `_` only) on the server `server_url` reaches.
    pub async fn create(server_url: &str, name: &str) -> Result<Self, StoreError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(StoreError::InvalidUrl(format!(
                "scratch database name {name:?}"
            )));
        }
        let server = PgConnectOptions::from_str(server_url)
            .map_err(|e| StoreError::InvalidUrl(format!("PostgreSQL URL: {e}")))?;
        let mut admin = PgConnection::connect_with(&server)
            .await
            .map_err(|e| unreachable(server.get_host(), server.get_port(), e))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        Ok(Self {
            server,
            name: name.to_owned(),
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, ending any session still on it.
    pub async fn drop(self) -> Result<(), StoreError> {
        let mut admin = PgConnection::connect_with(&self.server).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await?;
        let _ = admin.close().await;
        Ok(())
    }
}
