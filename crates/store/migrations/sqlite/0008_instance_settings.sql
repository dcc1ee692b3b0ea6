-- Values the instance keeps for itself, such as the secret that signs acknowledge links.
CREATE TABLE instance_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
