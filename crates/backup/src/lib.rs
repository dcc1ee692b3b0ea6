//! Backups of a WatchTower database: [`take_backup`] writes one file (the format is
//! `container.rs`), [`verify`] restores it into a scratch database and compares what it holds
//! with the manifest, [`restore`] loads it into a database (refusing one that holds tables unless
//! forced) and migrates it, and `retention.rs` chooses which scheduled backups `serve` keeps.
//! SQLite is copied online with `VACUUM INTO` (`sqlite.rs`); PostgreSQL through `pg_dump` in a
//! snapshot whose counts the manifest records (`postgres.rs`). The SQL lives in the store
//! (`watchtower_store::care`); this crate owns the file, the external tools and the order of steps.

pub mod container;
mod files;
mod postgres;
pub mod retention;
mod sqlite;

pub use container::{BackendKind, ContainerError, Manifest};
pub use retention::{RetentionPolicy, keep};

use std::path::{Path, PathBuf};
use watchtower_core::Timestamp;
use watchtower_store::{ContentCounts, ContentSummary, StoreError};

/// Why a backup, verification or restore failed. [`is_bad_input`](Self::is_bad_input) tells a
/// file or request that cannot work (exit code 2) from a failure of the database or a tool.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Container(#[from] ContainerError),
    #[error("the restored data does not match the manifest: {0}")]
    Mismatch(String),
    #[error("the restored SQLite file is damaged: {0}")]
    Damaged(String),
    #[error(
        "the target database is not empty ({0}); restoring would replace it: stop WatchTower and add --force"
    )]
    NotEmpty(String),
    #[error("{0}")]
    WrongBackend(String),
    #[error(
        "this is a PostgreSQL backup: verifying it restores it into a scratch database, so name a server with --database postgres://USER@HOST/DB (a database is created there and dropped afterwards; the role needs CREATEDB)"
    )]
    NeedsServer,
    #[error("cannot open the backup {0}")]
    Unreadable(String),
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    #[error("{0}")]
    InvalidUrl(String),
    #[error(
        "{0} is not on PATH: PostgreSQL backups need the PostgreSQL client tools (pg_dump and psql, of the server's major version or newer)"
    )]
    ToolMissing(&'static str),
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        tool: &'static str,
        status: String,
        stderr: String,
    },
    #[error("database: {0}")]
    Store(StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<StoreError> for BackupError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::InvalidUrl(message) => Self::InvalidUrl(message),
            other => Self::Store(other),
        }
    }
}

impl BackupError {
    /// The file or the request cannot work as given (CLI exit code 2); otherwise the database,
    /// the disk or a tool failed (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::Container(_)
                | Self::Mismatch(_)
                | Self::Damaged(_)
                | Self::NotEmpty(_)
                | Self::WrongBackend(_)
                | Self::NeedsServer
                | Self::NoDatabase(_)
                | Self::Unreadable(_)
                | Self::InvalidUrl(_)
        )
    }
}

/// A database URL, by backend.
#[derive(Debug, Clone)]
pub(crate) enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Database {
    pub(crate) fn parse(url: &str) -> Result<Self, BackupError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(BackupError::InvalidUrl(
                    "sqlite:// needs a file path, e.g. sqlite://data/watchtower.db".into(),
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
        Err(BackupError::InvalidUrl(format!(
            "unsupported scheme '{scheme}'; use sqlite://PATH or postgres://USER@HOST/DB"
        )))
    }

    fn kind(&self) -> BackendKind {
        match self {
            Self::Sqlite(_) => BackendKind::Sqlite,
            Self::Postgres(_) => BackendKind::Postgres,
        }
    }
}

/// Takes a consistent backup of the database `url` names into `output` (replaced if it exists;
/// written beside it first and renamed, so a crash never leaves half a file under that name).
/// The database may be in use: writes go on meanwhile.
pub async fn take_backup(
    url: &str,
    output: &Path,
    now: Timestamp,
) -> Result<Manifest, BackupError> {
    match Database::parse(url)? {
        Database::Sqlite(path) => sqlite::take(&path, output, now).await,
        Database::Postgres(url) => postgres::take(&url, output, now).await,
    }
}

/// What a verification found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub manifest: Manifest,
    /// What the restored scratch copy holds (equal to the manifest's counts when it passed).
    pub restored: ContentSummary,
}

/// Checks a backup file: its format, length and checksum, then restores it into a scratch
/// database (SQLite: a temporary file; PostgreSQL: a database created on `server` and dropped)
/// and compares the schema version and counts with the manifest.
pub async fn verify(file: &Path, server: Option<&str>) -> Result<VerifyReport, BackupError> {
    let manifest = files::read_checked(file).await?;
    let restored = match manifest.backend {
        BackendKind::Sqlite => sqlite::verify(file, &manifest).await?,
        BackendKind::Postgres => {
            let Some(server) = server else {
                return Err(BackupError::NeedsServer);
            };
            match Database::parse(server)? {
                Database::Postgres(server) => postgres::verify(file, &manifest, &server).await?,
                Database::Sqlite(_) => return Err(BackupError::NeedsServer),
            }
        }
    };
    Ok(VerifyReport { manifest, restored })
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Manifest,
    /// What the target held before, when it held tables (only with `force`).
    pub replaced: Option<String>,
    /// The database after the restore and the migrations to the current schema.
    pub after: ContentSummary,
}

/// Restores `file` into the database `url` names, then migrates it as start-up would. A target
/// that holds any table is refused unless `force` (it is then replaced). Stop every WatchTower
/// instance on the target first.
pub async fn restore(file: &Path, url: &str, force: bool) -> Result<RestoreReport, BackupError> {
    let manifest = files::read_checked(file).await?;
    let target = Database::parse(url)?;
    if target.kind() != manifest.backend {
        return Err(BackupError::WrongBackend(format!(
            "this is a {} backup; it restores into a {} database only",
            manifest.backend.name(),
            manifest.backend.name()
        )));
    }
    let (replaced, after) = match target {
        Database::Sqlite(path) => sqlite::restore(file, &manifest, &path, force).await?,
        Database::Postgres(url) => postgres::restore(file, &manifest, &url, force).await?,
    };
    Ok(RestoreReport {
        manifest,
        replaced,
        after,
    })
}

/// The manifest of a taken backup.
pub(crate) fn manifest_for(
    backend: BackendKind,
    summary: ContentSummary,
    payload: container::PayloadSummary,
    now: Timestamp,
) -> Manifest {
    Manifest {
        format: container::FORMAT,
        watchtower_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version: summary.schema_version,
        backend,
        created_at: now.to_jiff().to_string(),
        counts: summary.counts,
        payload: container::PayloadInfo {
            content: match backend {
                BackendKind::Sqlite => container::PayloadContent::SqliteDatabase,
                BackendKind::Postgres => container::PayloadContent::PostgresSql,
            },
            compression: container::PayloadCompression::Gzip,
            compressed_bytes: payload.compressed_bytes,
            uncompressed_bytes: payload.uncompressed_bytes,
            sha256: payload.sha256,
        },
    }
}

/// Compares a restored database with the manifest; every difference is named.
pub(crate) fn compare(manifest: &Manifest, restored: &ContentSummary) -> Result<(), BackupError> {
    let mut differences = Vec::new();
    if restored.schema_version != manifest.schema_version {
        differences.push(format!(
            "schema version {} (manifest {})",
            restored.schema_version, manifest.schema_version
        ));
    }
    let (got, want): (&ContentCounts, &ContentCounts) = (&restored.counts, &manifest.counts);
    for (name, got, want) in [
        ("teams", got.teams, want.teams),
        ("users", got.users, want.users),
        ("monitors", got.monitors, want.monitors),
        ("incidents", got.incidents, want.incidents),
        ("results", got.results, want.results),
    ] {
        if got != want {
            differences.push(format!("{got} {name} (manifest {want})"));
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(BackupError::Mismatch(differences.join(", ")))
    }
}

/// A short description of what a database holds, for the refusal to overwrite it.
pub(crate) fn describe(tables: usize, summary: Option<&ContentSummary>) -> String {
    match summary {
        Some(summary) => {
            let c = summary.counts;
            format!(
                "{tables} tables; {} teams, {} users, {} monitors, {} incidents, {} results",
                c.teams, c.users, c.monitors, c.incidents, c.results
            )
        }
        None => format!("{tables} tables, not WatchTower's"),
    }
}
