//! The embedded SQLite store: a WAL database file with one write connection (so writers queue in
//! the process instead of failing with "database is locked") and a small pool of readers.

mod care;
mod dialect;
mod instance_lock;
mod results;
#[path = "../sql/mod.rs"]
mod sql;

use crate::Backend;
use crate::error::StoreError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::path::{Path, PathBuf};
use std::time::Duration;

// What the shared SQL (`sql`) is compiled against in this backend.
type DbConnection = SqliteConnection;
type DbStore = SqliteStore;
const BACKEND: Backend = Backend::Sqlite;

pub use care::{FileInspection, inspect_file};
pub use instance_lock::{InstanceLock, InstanceLockError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const READERS: u32 = 4;

/// Opens a pool, retrying while the file is locked: two processes opening a new file at once
/// both switch it to WAL, which needs a lock the busy timeout does not wait for, so the loser
/// gets "database is locked" at once. Bounded to about five seconds.
async fn connect_retrying(
    pool: SqlitePoolOptions,
    options: SqliteConnectOptions,
) -> Result<SqlitePool, sqlx::Error> {
    let mut attempts = 0;
    loop {
        match pool.clone().connect_with(options.clone()).await {
            Err(error) if attempts < 50 && is_locked(&error) => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            opened => return opened,
        }
    }
}

/// Whether SQLite answered SQLITE_BUSY ("database is locked").
fn is_locked(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .is_some_and(|code| code == "5")
}

/// The SQLite implementation of [`Store`](crate::Store).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    /// Exactly one connection: every write in the process goes through it, in turn.
    write: SqlitePool,
    read: SqlitePool,
}

impl SqliteStore {
    /// Opens (and creates, with its directory, if missing) the database file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let unavailable = |e: sqlx::Error| {
            StoreError::Unavailable(format!("cannot open SQLite at {}: {e}", path.display()))
        };
        let write = connect_retrying(
            SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(60)),
            options.clone(),
        )
        .await
        .map_err(unavailable)?;
        let read = connect_retrying(
            SqlitePoolOptions::new().max_connections(READERS),
            options.create_if_missing(false),
        )
        .await
        .map_err(unavailable)?;
        Ok(Self { path, write, read })
    }

    /// Bytes the pages of one table or index take, free space in its pages included (from
    /// SQLite's `dbstat`). For measuring how compact the schema is.
    pub async fn table_bytes(&self, name: &str) -> Result<u64, StoreError> {
        let bytes: Option<i64> =
            sqlx::query_scalar("SELECT SUM(pgsize) FROM dbstat WHERE name = ?")
                .bind(name)
                .fetch_one(&self.read)
                .await?;
        Ok(bytes.unwrap_or(0) as u64)
    }

    /// A write transaction that takes the file's write lock at once, so it never has to upgrade
    /// a read snapshot later (the upgrade is what fails with "database is locked").
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        match self.write.begin_with("BEGIN IMMEDIATE").await {
            // SQLite rolls a transaction back by itself on some errors (a full disk, an I/O
            // error); sqlx's own ROLLBACK then fails and it goes on counting the transaction as
            // open, so every later BEGIN on that connection is refused and no write would ever
            // succeed again. Replace the connection.
            Err(sqlx::Error::InvalidSavePointStatement) => {
                tracing::warn!(
                    "the SQLite write connection was left in a failed transaction; reopening it"
                );
                self.write.acquire().await?.close().await?;
                Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
            }
            begun => Ok(begun?),
        }
    }

    /// The connections reads use: the reader pool, so reads never queue behind writes.
    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// The connection single-statement writes use: the one write connection.
    fn writer(&self) -> &SqlitePool {
        &self.write
    }

    /// A read transaction: one snapshot for several statements.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.read.begin().await?)
    }

    async fn run_migrations(&self) -> Result<(), StoreError> {
        // SQLite has no advisory lock: holding the write lock for the whole run makes a second
        // process wait, then find every migration applied.
        let mut tx = self.begin_write().await?;
        // `run_direct` is sqlx's documented way around "Acquire is not general enough" in a Send
        // future; it is `run` without the acquire.
        MIGRATOR.run_direct(None, &mut *tx, false).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The file's pages and its write-ahead log.
    async fn database_bytes(&self) -> Result<u64, StoreError> {
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&self.read)
            .await?;
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&self.read)
            .await?;
        Ok((pages * page_size) as u64 + self.wal_bytes())
    }

    /// The size of the write-ahead log file (0 when there is none).
    fn wal_bytes(&self) -> u64 {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        std::fs::metadata(&wal).map_or(0, |meta| meta.len())
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn database_file_path(&self) -> Option<PathBuf> {
        Some(self.path.clone())
    }

    fn pools(&self) -> Vec<crate::PoolUse> {
        vec![
            pool_use("writer", &self.write),
            pool_use("reader", &self.read),
        ]
    }

    /// Closes both pools, so the last connection checkpoints the WAL and the file stands alone.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

fn pool_use(pool: &'static str, connections: &SqlitePool) -> crate::PoolUse {
    crate::PoolUse {
        pool,
        open: connections.size(),
        idle: u32::try_from(connections.num_idle()).unwrap_or(u32::MAX),
        max: connections.options().get_max_connections(),
    }
}
