//! Errors a store returns.

use crate::model::BrokenMonitor;
use watchtower_core::cluster::ShardId;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist for this team (another team's row is reported the same way).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken, e.g. a second monitor with the same key: which field, and
    /// why, in words fit to answer (never the database's own message).
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The URL or its options are wrong.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The database cannot be reached or refuses writes.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be read back (a bug or a hand-edited database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The monitor exists but its stored spec cannot be decoded; it can be replaced or deleted.
    #[error("monitor {} cannot be read: {}", .0.id, .0.error)]
    BrokenMonitor(Box<BrokenMonitor>),
    /// A fenced write's instance no longer holds these shards (its lease ran out or another
    /// instance was granted them): nothing of the write was stored.
    #[error("fenced: this instance no longer holds shards {}", shard_list(.0))]
    Fenced(Vec<ShardId>),
}

fn shard_list(shards: &[ShardId]) -> String {
    let names: Vec<String> = shards.iter().map(ToString::to_string).collect();
    names.join(", ")
}

/// Which field of a write clashes with a row already there, and why, said for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The field as the API and files spell it (`key`, `email`, `user`).
    pub field: String,
    pub problem: String,
}

impl Conflict {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}
