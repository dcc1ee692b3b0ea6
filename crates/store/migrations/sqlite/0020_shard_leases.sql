-- Scale-out (docs/SCALING.md) needs PostgreSQL: an SQLite file is served by one instance, which
-- `serve` enforces with a lock on `<file>.lock`, not with rows. The tables exist here too only so
-- that both backends have the same schema at every version; SQLite never writes them.
CREATE TABLE cluster_instances (
    id           TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    version      TEXT NOT NULL
);

CREATE TABLE shard_leases (
    shard      INTEGER PRIMARY KEY CHECK (shard >= 0),
    owner      TEXT,
    epoch      INTEGER NOT NULL CHECK (epoch > 0),
    expires_at INTEGER NOT NULL
);
