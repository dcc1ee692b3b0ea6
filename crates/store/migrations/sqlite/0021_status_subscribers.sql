-- People and systems told of a status page's incident posts. An email subscriber signs up on the
-- page and counts once the signed link in the confirmation email is followed (`confirmed_at`); a
-- webhook subscriber is added by the team and counts at once. `components` is a JSON array of the
-- page's component names the subscriber follows, NULL for all of them.
CREATE TABLE status_subscribers (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id              INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    page_id              INTEGER NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    -- 'email' or 'webhook'
    kind                 TEXT NOT NULL,
    -- The email address (lower case) or the webhook URL.
    address              TEXT NOT NULL,
    components           TEXT,
    created_at           INTEGER NOT NULL,
    confirmed_at         INTEGER,
    -- The sign-up throttle: when the last confirmation email was queued, and how many were
    -- queued in the day since `confirmations_since`.
    last_confirmation_at INTEGER,
    confirmations_since  INTEGER,
    confirmations        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (page_id, kind, address)
);
CREATE INDEX status_subscribers_team ON status_subscribers (team_id);

-- The email channel whose SMTP server sends a page's subscriber emails; none: the page offers no
-- email sign-up.
ALTER TABLE status_pages ADD COLUMN subscriber_channel_id INTEGER REFERENCES channels (id) ON DELETE SET NULL;

-- The subscribers' outbox: one row per message, written in the transaction that makes the news
-- (the sign-up, the post's update). `dedup_key` makes a second write of the same message a
-- no-op; a claim leases the row (`due_at` moves past the lease), so a crash mid-delivery sends it
-- again after the lease under the same key. Unsubscribing deletes what is still pending.
CREATE TABLE status_deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id INTEGER NOT NULL REFERENCES status_subscribers (id) ON DELETE CASCADE,
    -- 'confirm' (the sign-up's email), 'update' (a post's update) or 'maintenance' (a window
    -- of the page's monitors opening; `payload` holds its name, times and components as JSON)
    kind          TEXT NOT NULL,
    update_id     INTEGER REFERENCES status_incident_updates (id) ON DELETE CASCADE,
    payload       TEXT,
    dedup_key     TEXT NOT NULL UNIQUE,
    -- 'pending', 'delivered' or 'failed'
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    due_at        INTEGER NOT NULL,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX status_deliveries_due ON status_deliveries (due_at) WHERE status = 'pending';
CREATE INDEX status_deliveries_subscriber ON status_deliveries (subscriber_id);
