-- Maintenance windows: the declared spec (scope and schedule) as JSON; the dispatcher evaluates
-- it, deferring or suppressing notifications while a window is open.

CREATE TABLE maintenance_windows (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    spec       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX maintenance_windows_team ON maintenance_windows (team_id);
