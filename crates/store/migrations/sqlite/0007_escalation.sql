-- Escalation policies: ordered steps, each a set of channels and an offset from the outage's
-- confirmation. A rule may escalate through a policy; every step's notifications are queued with
-- the DOWN, due at their offsets, and the dispatcher drops the later ones once the incident is
-- acknowledged or resolved.

CREATE TABLE escalation_policies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    -- JSON array of {"offset_ms", "channel_ids": [...]}, offsets ascending, the first 0.
    steps      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX escalation_policies_team ON escalation_policies (team_id);

ALTER TABLE alert_rules ADD COLUMN escalation_policy_id INTEGER
    REFERENCES escalation_policies (id) ON DELETE SET NULL;
ALTER TABLE notifications ADD COLUMN escalation_step INTEGER;

-- One notification per event, channel and escalation step.
DROP INDEX notifications_once;
CREATE UNIQUE INDEX notifications_once
    ON notifications (state_event_id, channel_id, coalesce(escalation_step, -1));
