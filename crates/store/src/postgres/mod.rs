//! The PostgreSQL store: a pool of connections, each `apply_monitors` and `record_batch` one
//! transaction, array parameters (UNNEST) for the bulk writes.

mod care;
mod dialect;
mod leases;
mod results;
#[expect(
    clippy::duplicate_mod,
    reason = "sql/ is compiled once per backend on purpose (see sql/mod.rs)"
)]
#[path = "../sql/mod.rs"]
mod sql;

use crate::Backend;
use crate::error::StoreError;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

// What the shared SQL (`sql`) is compiled against in this backend.
type DbConnection = PgConnection;
type DbStore = PgStore;
const BACKEND: Backend = Backend::Postgres;

pub use care::{ExportedSnapshot, ScratchDatabase};
pub use leases::check_fence;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const CONNECTIONS: u32 = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL implementation of [`Store`](crate::Store).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// A server's files are on the server.
    fn database_file_path(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// Reads and writes share the one pool.
    fn pools(&self) -> Vec<crate::PoolUse> {
        vec![crate::PoolUse {
            pool: "main",
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }]
    }

    /// Connects to the database a `postgres://` URL names, failing fast with the cause when the
    /// server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(format!("PostgreSQL URL: {e}")))?;
        let (host, port) = (options.get_host().to_owned(), options.get_port());
        // One direct attempt first: the pool retries until its timeout and reports only that,
        // while a single connection says why (refused, unknown database, bad password).
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            .map_err(|e| unreachable(&host, port, e))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| unreachable(&host, port, e))?;
        Ok(Self { pool })
    }

    /// Reads and writes share one pool.
    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// A read-only transaction on one snapshot, so several statements agree.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    async fn run_migrations(&self) -> Result<(), StoreError> {
        // The migrator takes an advisory lock, so processes starting together apply in turn.
        // `run_direct` is `run` without the acquire, which trips "Acquire is not general enough"
        // in a Send future.
        let mut conn = self.pool.acquire().await?;
        MIGRATOR.run_direct(None, &mut *conn, false).await?;
        Ok(())
    }

    async fn database_bytes(&self) -> Result<u64, StoreError> {
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await?;
        Ok(bytes as u64)
    }
}

fn unreachable(host: &str, port: u16, error: sqlx::Error) -> StoreError {
    let cause = match &error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out".to_owned(),
        sqlx::Error::Database(db) => {
            return StoreError::Unavailable(format!(
                "PostgreSQL at {host}:{port} refused the connection: {}",
                db.message()
            ));
        }
        other => other.to_string(),
    };
    StoreError::Unavailable(format!("cannot reach PostgreSQL at {host}:{port}: {cause}"))
}
