-- The instance's own alerts (ops alerts) and its scheduled database care, shared by every
-- instance on the database.
--
-- An ops episode is one stretch of a condition (backup stale, disk nearly full, ...), from the
-- alert to its recovery. At most one episode of a key is open: the partial unique index is the
-- claim, so however many instances see the condition, one inserts the row and queues the alert
-- (in the same transaction), and one UPDATE ... WHERE resolved_at IS NULL ends it and queues the
-- recovery. An open row outlives a restart, so its alert is not sent again.
CREATE TABLE ops_episodes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The signal, with `@instance` for conditions of one instance (its memory, its backups).
    episode_key TEXT NOT NULL,
    opened_at   INTEGER NOT NULL,
    resolved_at INTEGER,
    -- The instance that opened it, and the one that resolved it.
    opened_by   TEXT NOT NULL,
    resolved_by TEXT
);
CREATE UNIQUE INDEX ops_episodes_open ON ops_episodes (episode_key) WHERE resolved_at IS NULL;
CREATE INDEX ops_episodes_key ON ops_episodes (episode_key, opened_at);

-- One row per maintenance run `serve` starts: its slot (the weekly window's start, or a large
-- monitors-file apply) is the primary key, so several instances run it once per slot.
CREATE TABLE database_care_runs (
    slot        TEXT PRIMARY KEY,
    claimed_by  TEXT NOT NULL,
    claimed_at  INTEGER NOT NULL,
    finished_at INTEGER,
    -- `ok`, or the error.
    outcome     TEXT
);
