-- WatchTower schema for SQLite. Times are epoch milliseconds; latencies are microseconds.

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO teams (id, name) VALUES (1, 'Default');

CREATE TABLE monitors (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    key        TEXT,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    spec       TEXT NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0,
    push_token TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (team_id, key)
);
-- list_monitors pages a team by id.
CREATE INDEX monitors_team_id ON monitors (team_id, id);

CREATE TABLE monitor_status (
    monitor_id            INTEGER PRIMARY KEY REFERENCES monitors (id) ON DELETE CASCADE,
    team_id               INTEGER NOT NULL,
    state                 TEXT NOT NULL,
    state_since           INTEGER NOT NULL,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    consecutive_successes INTEGER NOT NULL DEFAULT 0,
    incident_open         INTEGER NOT NULL DEFAULT 0,
    last_checked_at       INTEGER,
    last_result           TEXT
);

-- Raw results: the biggest table by far, so no rowid, no secondary index, small integer codes,
-- and a message only for results that are not up. Time-range scans go through the primary key
-- one monitor at a time (joined from monitors). No foreign key: delete_monitor deletes explicitly.
CREATE TABLE results (
    monitor_id  INTEGER NOT NULL,
    checked_at  INTEGER NOT NULL,
    team_id     INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    http_status INTEGER,
    error_class INTEGER,
    message     TEXT,
    PRIMARY KEY (monitor_id, checked_at)
) WITHOUT ROWID;

CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id       INTEGER NOT NULL,
    monitor_id    INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    opened_at     INTEGER NOT NULL,
    resolved_at   INTEGER,
    cause         TEXT NOT NULL,
    error_class   TEXT,
    first_failure TEXT
);
-- At most one open incident per monitor, and one incident per opening (replayed batches).
CREATE UNIQUE INDEX incidents_one_open ON incidents (monitor_id) WHERE resolved_at IS NULL;
CREATE UNIQUE INDEX incidents_monitor_opened ON incidents (monitor_id, opened_at);
CREATE INDEX incidents_team_opened ON incidents (team_id, opened_at);

CREATE TABLE state_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id     INTEGER NOT NULL,
    monitor_id  INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    at          INTEGER NOT NULL,
    incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
    cause       TEXT NOT NULL
);
-- A replayed batch must not write its events twice.
CREATE UNIQUE INDEX state_events_once ON state_events (monitor_id, at, to_state);
CREATE INDEX state_events_incident ON state_events (incident_id);

CREATE TABLE rollups_minute (
    monitor_id     INTEGER NOT NULL,
    bucket_start   INTEGER NOT NULL,
    team_id        INTEGER NOT NULL,
    count          INTEGER NOT NULL,
    up_count       INTEGER NOT NULL,
    degraded_count INTEGER NOT NULL,
    latency_min_us INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    latency_p95_us INTEGER NOT NULL,
    PRIMARY KEY (monitor_id, bucket_start)
) WITHOUT ROWID;

CREATE TABLE rollups_hour (
    monitor_id     INTEGER NOT NULL,
    bucket_start   INTEGER NOT NULL,
    team_id        INTEGER NOT NULL,
    count          INTEGER NOT NULL,
    up_count       INTEGER NOT NULL,
    degraded_count INTEGER NOT NULL,
    latency_min_us INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    latency_p95_us INTEGER NOT NULL,
    PRIMARY KEY (monitor_id, bucket_start)
) WITHOUT ROWID;

CREATE TABLE rollups_day (
    monitor_id     INTEGER NOT NULL,
    bucket_start   INTEGER NOT NULL,
    team_id        INTEGER NOT NULL,
    count          INTEGER NOT NULL,
    up_count       INTEGER NOT NULL,
    degraded_count INTEGER NOT NULL,
    latency_min_us INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    latency_p95_us INTEGER NOT NULL,
    PRIMARY KEY (monitor_id, bucket_start)
) WITHOUT ROWID;

-- Per level: every bucket starting before done_until is rolled up and final.
CREATE TABLE rollup_progress (
    level      TEXT PRIMARY KEY,
    done_until INTEGER NOT NULL
);
INSERT INTO rollup_progress (level, done_until) VALUES ('minute', 0), ('hour', 0), ('day', 0);
