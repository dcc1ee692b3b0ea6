-- Alerting: channels, rules, and the notification outbox the dispatcher delivers from. Outbox rows
-- are written in the same transaction as the state change they announce (see results.rs).

CREATE TABLE channels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    -- The full settings, secrets included; the API only ever answers a redacted copy.
    config     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX channels_team ON channels (team_id, id);

-- A rule sends some events of some monitors (all, one, or those with a tag) to channels.
CREATE TABLE alert_rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id     INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    monitor_id  INTEGER REFERENCES monitors (id) ON DELETE CASCADE,
    tag         TEXT,
    -- JSON arrays: event names ("down", "up", "degraded") and channel ids.
    events      TEXT NOT NULL,
    channel_ids TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX alert_rules_team ON alert_rules (team_id);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id         INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    channel_id      INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    -- NULL for a test notification.
    state_event_id  INTEGER REFERENCES state_events (id) ON DELETE CASCADE,
    monitor_id      INTEGER,
    incident_id     INTEGER,
    event           TEXT NOT NULL,
    -- pending, delivered or failed.
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- While pending: when the dispatcher may take it next (a claim moves this forward as a lease).
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_status_code INTEGER,
    last_error      TEXT
);
-- One notification per event and channel, however many rules match.
CREATE UNIQUE INDEX notifications_once ON notifications (state_event_id, channel_id);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_team ON notifications (team_id, id);
