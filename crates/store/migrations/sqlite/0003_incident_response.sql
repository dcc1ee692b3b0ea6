-- Incident response from the API: acknowledgement (which stops escalation) and notes.

ALTER TABLE incidents ADD COLUMN acknowledged_at INTEGER;
-- The user's email or `key:<name>`, kept as text so the record survives the actor's removal.
ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT;
-- The incidents list pages a team by id, newest first.
CREATE INDEX incidents_team_id ON incidents (team_id, id);

CREATE TABLE incident_notes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    team_id     INTEGER NOT NULL,
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX incident_notes_incident ON incident_notes (incident_id, id);
