-- Public status pages. A page belongs to a team; its slug (the `/status/{slug}` path) and its
-- custom domain (matched on the Host header) are unique on the instance. A page has ordered
-- groups, a group ordered components, a component one or more of the team's monitors.
CREATE TABLE status_pages (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id             INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    slug                TEXT NOT NULL UNIQUE,
    title               TEXT NOT NULL,
    description         TEXT NOT NULL,
    -- Lower case, without a port; NULL when the page has none.
    custom_domain       TEXT UNIQUE,
    logo_url            TEXT,
    accent_color        TEXT,
    footer_text         TEXT NOT NULL,
    time_zone           TEXT NOT NULL,
    history_days        INTEGER NOT NULL,
    show_response_times INTEGER NOT NULL,
    hide_from_search    INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX status_pages_team ON status_pages (team_id, id);

CREATE TABLE status_page_groups (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id  INTEGER NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    -- NULL: components shown without a heading.
    name     TEXT
);
CREATE INDEX status_page_groups_page ON status_page_groups (page_id, position);

CREATE TABLE status_page_components (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id    INTEGER NOT NULL REFERENCES status_page_groups (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL
);
CREATE INDEX status_page_components_group ON status_page_components (group_id, position);

-- Deleting a monitor takes it off every component that showed it.
CREATE TABLE status_page_component_monitors (
    component_id INTEGER NOT NULL REFERENCES status_page_components (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    monitor_id   INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    PRIMARY KEY (component_id, monitor_id)
);
CREATE INDEX status_page_component_monitors_monitor ON status_page_component_monitors (monitor_id);
