-- Incident posts on status pages: what a team tells visitors. A post belongs to one page (and
-- its team); `status` and `components` are the latest update's, `resolved_at` is set by the
-- update that says resolved. Updates are the post's timeline, oldest first.
CREATE TABLE status_incidents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id     INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    page_id     INTEGER NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    -- sev1 .. sev4
    impact      TEXT NOT NULL,
    -- investigating, identified, monitoring or resolved
    status      TEXT NOT NULL,
    -- JSON: [{"name": "Website", "state": "major_outage"}], names as on the page.
    components  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX status_incidents_page ON status_incidents (page_id, created_at);
CREATE INDEX status_incidents_open ON status_incidents (page_id) WHERE resolved_at IS NULL;

CREATE TABLE status_incident_updates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX status_incident_updates_incident ON status_incident_updates (incident_id, id);
