-- Whop billing. A verified webhook delivery is recorded once (keyed by its delivery id) before it
-- is answered, and processed from this record with retries, so a crash after the answer loses
-- nothing and a redelivery changes nothing. `state`: pending, processed, ignored, failed.
CREATE TABLE whop_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     TEXT NOT NULL UNIQUE,
    scheme          TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    body            TEXT NOT NULL,
    -- When the event happened as Whop says (the envelope's timestamp, else the signature's).
    occurred_at     INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    -- What processing did, in words, and the team it touched (a plain id: the row outlives it).
    outcome         TEXT,
    team_id         INTEGER,
    processed_at    INTEGER
);
-- The worker reads the pending deliveries that are due.
CREATE INDEX whop_deliveries_due ON whop_deliveries (next_attempt_at, id) WHERE state = 'pending';

-- Which WatchTower user and team a Whop user is: made on first sight.
CREATE TABLE whop_customers (
    whop_user_id TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id      INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL
);

-- Each Whop membership as the newest events applied left it. `state_at` and `payment_at` are the
-- times of the newest membership and payment events applied: an older event never undoes them.
-- A team's plan is the best plan of its active, unlapsed memberships (Free when none).
CREATE TABLE whop_memberships (
    membership_id  TEXT PRIMARY KEY,
    -- NULL while only a deactivation of a membership nobody knew has been seen.
    team_id        INTEGER REFERENCES teams (id) ON DELETE CASCADE,
    whop_user_id   TEXT NOT NULL,
    plan           TEXT NOT NULL,
    active         INTEGER NOT NULL,
    status         TEXT NOT NULL,
    renewal_at     INTEGER,
    state_at       INTEGER NOT NULL,
    payment_at     INTEGER,
    -- Set by payment.failed, cleared by payment.succeeded; past it the membership lapses.
    grace_deadline INTEGER,
    lapsed         INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX whop_memberships_team ON whop_memberships (team_id);
CREATE INDEX whop_memberships_grace ON whop_memberships (grace_deadline)
    WHERE grace_deadline IS NOT NULL AND NOT lapsed;
