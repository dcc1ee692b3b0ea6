-- Accounts: users, sessions, members, invitations, API keys, the audit log and security events.
-- Tokens and keys are stored only as the SHA-256 (hex) of the secret, passwords as argon2id.

-- Teams from before accounts keep every feature; billing narrows a team's plan later.
ALTER TABLE teams ADD COLUMN plan TEXT NOT NULL DEFAULT 'unlimited';

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- As typed at sign-up, for display; email_key (lowercased) is what sign-in looks up.
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip         TEXT,
    user_agent TEXT
);
-- A password change deletes the user's other sessions; the sweep deletes expired ones.
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE memberships (
    team_id   INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
-- Every request looks up the teams of the signed-in user.
CREATE INDEX memberships_user ON memberships (user_id);

-- invited_by and api_keys.created_by are plain ids, like the audit log's actor: the row outlives
-- the account that made it.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id     INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX invitations_team ON invitations (team_id, id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id      INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_by   INTEGER,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    -- Revoked keys are kept and still listed: a team sees which key stopped working, and when.
    revoked_at   INTEGER
);
CREATE INDEX api_keys_team ON api_keys (team_id, id);

-- The actor's ids are not foreign keys and actor_label keeps a readable name: an entry must still
-- read after the user or key is gone. The team's entries go with the team.
CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id          INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    actor_user_id    INTEGER,
    actor_api_key_id INTEGER,
    actor_label      TEXT NOT NULL,
    action           TEXT NOT NULL,
    target           TEXT NOT NULL,
    details          TEXT NOT NULL,
    at               INTEGER NOT NULL
);
-- The audit log is read one team at a time, newest first, paged by id.
CREATE INDEX audit_log_team_id ON audit_log (team_id, id);

-- Instance-wide, so no team; email_key is what was typed at login, whether or not a user has it.
CREATE TABLE security_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind      TEXT NOT NULL,
    email_key TEXT,
    user_id   INTEGER,
    ip        TEXT,
    detail    TEXT NOT NULL,
    at        INTEGER NOT NULL
);
-- Every login attempt counts recent failures by account and by IP; partial indexes hold only
-- failures, so the other events do not grow them.
CREATE INDEX security_events_failed_account ON security_events (email_key, at)
    WHERE kind = 'login_failed';
CREATE INDEX security_events_failed_ip ON security_events (ip, at) WHERE kind = 'login_failed';
