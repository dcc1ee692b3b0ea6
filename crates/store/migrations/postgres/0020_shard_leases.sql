-- Scale-out (docs/SCALING.md): instances on one database share the checks by leasing shards of
-- monitors. Every time below is the database's clock in epoch milliseconds (`cluster_clock_ms`),
-- never an instance's, so instances whose clocks disagree still agree on who holds what.

-- The database's clock at the start of the current statement. STABLE: one value per statement.
CREATE FUNCTION cluster_clock_ms() RETURNS BIGINT
    LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM statement_timestamp()) * 1000)::bigint $$;

-- One row per running (or recently running) process; a fresh id at every start.
CREATE TABLE cluster_instances (
    id           TEXT PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    version      TEXT NOT NULL
);

-- One row per shard ever granted (a missing row is a free shard at epoch 0). `owner` holds the
-- shard while `expires_at` is ahead of the database's clock; `epoch` goes up by one with every
-- grant and is the fencing token a write must carry (`postgres/leases.rs`).
CREATE TABLE shard_leases (
    shard      INTEGER PRIMARY KEY CHECK (shard >= 0),
    owner      TEXT,
    epoch      BIGINT NOT NULL CHECK (epoch > 0),
    expires_at BIGINT NOT NULL
);
