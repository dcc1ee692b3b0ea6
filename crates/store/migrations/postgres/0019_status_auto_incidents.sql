-- Incident posts a page writes by itself. `auto_incidents` says what a page does when a monitor
-- of one of its components opens an incident: 'off', a 'draft' only the team sees, or a
-- 'published' post. A draft is hidden from visitors, feeds and history until published.
ALTER TABLE status_pages ADD COLUMN auto_incidents TEXT NOT NULL DEFAULT 'off';
ALTER TABLE status_incidents ADD COLUMN published BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE status_incidents ADD COLUMN automatic BOOLEAN NOT NULL DEFAULT FALSE;

-- Which monitor incidents an automatic post stands for, per component it names. The primary key
-- makes a replayed batch a no-op; the post resolves when its last link does.
CREATE TABLE status_auto_links (
    post_id     BIGINT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    component   TEXT NOT NULL,
    resolved_at BIGINT,
    PRIMARY KEY (post_id, incident_id, component)
);
CREATE INDEX status_auto_links_open ON status_auto_links (incident_id) WHERE resolved_at IS NULL;
