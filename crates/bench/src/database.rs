//! A fresh database per run: a SQLite file in a temporary directory, or a new PostgreSQL database
//! `wt_bench_<random>` on the given server, dropped afterwards. Also the direct counts the bench
//! checks watchtower's own figures against.

use anyhow::Context;
use sqlx::{Connection, PgConnection, SqliteConnection};
use std::path::PathBuf;
use tempfile::TempDir;

/// The database one run uses.
pub enum BenchDatabase {
    Sqlite {
        /// Removed with the run unless kept.
        dir: TempDir,
        path: PathBuf,
    },
    Postgres {
        /// The server's URL as given (its own database is only used to create and drop ours).
        admin_url: String,
        name: String,
        url: String,
    },
}

impl BenchDatabase {
    /// `None` or `sqlite`: a SQLite file in a new temporary directory (under `parent` if given).
    /// `postgres://…`: a fresh database on that server.
    pub async fn create(spec: Option<&str>, parent: Option<&PathBuf>) -> anyhow::Result<Self> {
        match spec {
            None | Some("sqlite") => {
                let dir = match parent {
                    Some(parent) => tempfile::Builder::new()
                        .prefix("wt-bench-")
                        .tempdir_in(parent)?,
                    None => tempfile::Builder::new().prefix("wt-bench-").tempdir()?,
                };
                let path = dir.path().join("watchtower.db");
                Ok(BenchDatabase::Sqlite { dir, path })
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let name = format!("wt_bench_{:016x}", rand::random::<u64>());
                let mut admin = PgConnection::connect(url)
                    .await
                    .with_context(|| "connecting to PostgreSQL to create the bench database")?;
                // The name is ours (hex digits), never user input.
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await?;
                let mut parsed = url::Url::parse(url)?;
                parsed.set_path(&format!("/{name}"));
                Ok(BenchDatabase::Postgres {
                    admin_url: url.to_owned(),
                    name,
                    url: parsed.to_string(),
                })
            }
            Some(other) => anyhow::bail!("--database takes sqlite or postgres://…, not '{other}'"),
        }
    }

    /// The URL watchtower and the store open.
    pub fn url(&self) -> String {
        match self {
            BenchDatabase::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            BenchDatabase::Postgres { url, .. } => url.clone(),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            BenchDatabase::Sqlite { .. } => "sqlite",
            BenchDatabase::Postgres { .. } => "postgres",
        }
    }

    /// A directory for the run's files (monitors YAML, logs).
    pub fn work_dir(&self) -> Option<PathBuf> {
        match self {
            BenchDatabase::Sqlite { dir, .. } => Some(dir.path().to_owned()),
            BenchDatabase::Postgres { .. } => None,
        }
    }

    /// Rows in the raw results table.
    pub async fn count_results(&self) -> anyhow::Result<i64> {
        self.count_rows("results").await
    }

    /// Rows in one of the store's tables (a name from this crate, never user input).
    pub async fn count_rows(&self, table: &'static str) -> anyhow::Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        Ok(match self {
            BenchDatabase::Sqlite { path, .. } => {
                let mut connection = open_sqlite(path).await?;
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut connection)
                    .await?
            }
            BenchDatabase::Postgres { url, .. } => {
                let mut connection = PgConnection::connect(url).await?;
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut connection)
                    .await?
            }
        })
    }

    /// Bytes on disk of one table with its indexes (SQLite: `dbstat`; PostgreSQL:
    /// `pg_total_relation_size`).
    pub async fn table_bytes(&self, table: &'static str) -> anyhow::Result<i64> {
        Ok(match self {
            BenchDatabase::Sqlite { path, .. } => {
                let mut connection = open_sqlite(path).await?;
                // `results` and the rollups are WITHOUT ROWID: the table is its primary key index.
                sqlx::query_scalar("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = ?1")
                    .bind(table)
                    .fetch_one(&mut connection)
                    .await?
            }
            BenchDatabase::Postgres { url, .. } => {
                let mut connection = PgConnection::connect(url).await?;
                sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
                    .bind(table)
                    .fetch_one(&mut connection)
                    .await?
            }
        })
    }

    /// Refreshes the planner's statistics (`ANALYZE`), as PostgreSQL's autovacuum does within a
    /// minute of a bulk load when it is on.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        match self {
            BenchDatabase::Sqlite { path, .. } => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .busy_timeout(std::time::Duration::from_secs(30));
                let mut connection = SqliteConnection::connect_with(&options).await?;
                sqlx::query("ANALYZE").execute(&mut connection).await?;
            }
            BenchDatabase::Postgres { url, .. } => {
                let mut connection = PgConnection::connect(url).await?;
                sqlx::query("ANALYZE").execute(&mut connection).await?;
            }
        }
        Ok(())
    }

    /// PostgreSQL's `autovacuum` setting (`on`/`off`); `None` on SQLite.
    pub async fn autovacuum(&self) -> anyhow::Result<Option<String>> {
        Ok(match self {
            BenchDatabase::Sqlite { .. } => None,
            BenchDatabase::Postgres { url, .. } => {
                let mut connection = PgConnection::connect(url).await?;
                Some(
                    sqlx::query_scalar("SELECT current_setting('autovacuum')")
                        .fetch_one(&mut connection)
                        .await?,
                )
            }
        })
    }

    /// A connection that reads the notification outbox as rows become visible (committed).
    pub async fn outbox_reader(&self) -> anyhow::Result<OutboxReader> {
        Ok(match self {
            BenchDatabase::Sqlite { path, .. } => OutboxReader::Sqlite(open_sqlite(path).await?),
            BenchDatabase::Postgres { url, .. } => {
                OutboxReader::Postgres(PgConnection::connect(url).await?)
            }
        })
    }

    /// Removes the database (the SQLite directory goes with `self`).
    pub async fn drop_database(self, keep: bool) -> anyhow::Result<Option<String>> {
        match self {
            BenchDatabase::Sqlite { dir, path } => {
                if keep {
                    let _ = dir.keep();
                    return Ok(Some(path.display().to_string()));
                }
                Ok(None)
            }
            BenchDatabase::Postgres {
                admin_url,
                name,
                url,
            } => {
                if keep {
                    return Ok(Some(url));
                }
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                Ok(None)
            }
        }
    }
}

/// One open connection to the outbox (`notifications`), kept for polling.
pub enum OutboxReader {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl OutboxReader {
    /// `(id, monitor_id)` of the outbox rows with an id above `after`, ascending.
    pub async fn rows_after(&mut self, after: i64) -> anyhow::Result<Vec<(i64, Option<i64>)>> {
        const SQL: &str = "SELECT id, monitor_id FROM notifications WHERE id > $1 ORDER BY id";
        Ok(match self {
            OutboxReader::Sqlite(connection) => {
                sqlx::query_as(SQL)
                    .bind(after)
                    .fetch_all(connection)
                    .await?
            }
            OutboxReader::Postgres(connection) => {
                sqlx::query_as(SQL)
                    .bind(after)
                    .fetch_all(connection)
                    .await?
            }
        })
    }
}

async fn open_sqlite(path: &PathBuf) -> anyhow::Result<SqliteConnection> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    Ok(SqliteConnection::connect_with(&options).await?)
}
