-- What Uptime Kuma 2.x's db/knex_migrations change in the 1.23 schema on SQLite, from their
-- table and column names: added columns, the renamed analytics column, the aggregate tables,
-- and knex's own bookkeeping tables (by which an importer tells 2.x from 1.x).
CREATE TABLE knex_migrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(255),
    batch INTEGER,
    migration_time DATETIME
);
CREATE TABLE knex_migrations_lock (
    "index" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    is_locked INTEGER
);
CREATE TABLE stat_minutely (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    timestamp INTEGER NOT NULL,
    ping FLOAT NOT NULL,
    up SMALLINT NOT NULL,
    down SMALLINT NOT NULL,
    ping_min FLOAT NOT NULL DEFAULT 0,
    ping_max FLOAT NOT NULL DEFAULT 0,
    extras TEXT DEFAULT NULL,
    UNIQUE (monitor_id, timestamp)
);
CREATE TABLE stat_hourly (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    timestamp INTEGER NOT NULL,
    ping FLOAT NOT NULL,
    ping_min FLOAT NOT NULL DEFAULT 0,
    ping_max FLOAT NOT NULL DEFAULT 0,
    up SMALLINT NOT NULL,
    down SMALLINT NOT NULL,
    extras TEXT DEFAULT NULL,
    UNIQUE (monitor_id, timestamp)
);
CREATE TABLE stat_daily (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    timestamp INTEGER NOT NULL,
    ping FLOAT NOT NULL,
    up INTEGER NOT NULL,
    down INTEGER NOT NULL,
    ping_min FLOAT NOT NULL DEFAULT 0,
    ping_max FLOAT NOT NULL DEFAULT 0,
    extras TEXT DEFAULT NULL,
    UNIQUE (monitor_id, timestamp)
);
CREATE TABLE remote_browser (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(255) NOT NULL,
    url VARCHAR(255) NOT NULL,
    user_id INTEGER REFERENCES user(id) ON DELETE CASCADE
);
CREATE TABLE domain_expiry (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    last_check DATETIME,
    domain VARCHAR(255) NOT NULL UNIQUE,
    expiry DATETIME,
    last_expiry_notification_sent INTEGER DEFAULT NULL
);
ALTER TABLE heartbeat ADD COLUMN end_time DATETIME DEFAULT NULL;
ALTER TABLE heartbeat ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE heartbeat ADD COLUMN response TEXT DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN mqtt_check_type VARCHAR(255) NOT NULL DEFAULT 'keyword';
ALTER TABLE monitor ADD COLUMN remote_browser INTEGER REFERENCES remote_browser(id) ON DELETE SET NULL;
ALTER TABLE monitor ADD COLUMN snmp_oid VARCHAR(255) DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN snmp_version TEXT DEFAULT '2c';
ALTER TABLE monitor ADD COLUMN json_path_operator VARCHAR(255) DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN cache_bust BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE monitor ADD COLUMN conditions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE monitor ADD COLUMN rabbitmq_nodes TEXT;
ALTER TABLE monitor ADD COLUMN rabbitmq_username VARCHAR(255);
ALTER TABLE monitor ADD COLUMN rabbitmq_password VARCHAR(255);
ALTER TABLE monitor ADD COLUMN smtp_security VARCHAR(255) DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN ws_ignore_sec_websocket_accept_header BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE monitor ADD COLUMN ws_subprotocol VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE monitor ADD COLUMN ping_count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE monitor ADD COLUMN ping_numeric BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE monitor ADD COLUMN ping_per_request_timeout INTEGER NOT NULL DEFAULT 2;
ALTER TABLE monitor ADD COLUMN ip_family VARCHAR(4) DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN manual_status SMALLINT DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN oauth_audience VARCHAR(255) DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN mqtt_websocket_path VARCHAR(255);
ALTER TABLE monitor ADD COLUMN domain_expiry_notification BOOLEAN DEFAULT 0;
ALTER TABLE monitor ADD COLUMN save_response BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE monitor ADD COLUMN save_error_response BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE monitor ADD COLUMN response_max_length INTEGER NOT NULL DEFAULT 1024;
ALTER TABLE monitor ADD COLUMN system_service_name VARCHAR(255);
ALTER TABLE monitor ADD COLUMN subtype VARCHAR(10);
ALTER TABLE monitor ADD COLUMN location VARCHAR(255);
ALTER TABLE monitor ADD COLUMN protocol VARCHAR(20);
ALTER TABLE monitor ADD COLUMN snmp_v3_username VARCHAR(255);
ALTER TABLE monitor ADD COLUMN expected_tls_alert VARCHAR(50) DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN retry_only_on_status_code_failure BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE monitor ADD COLUMN screenshot_delay INTEGER NOT NULL DEFAULT 0;
ALTER TABLE monitor ADD COLUMN ntp_stratum_threshold INTEGER DEFAULT 5;
ALTER TABLE monitor ADD COLUMN ntp_time_offset_threshold INTEGER DEFAULT 1000;
ALTER TABLE monitor ADD COLUMN ntp_root_dispersion_threshold INTEGER DEFAULT 500;
ALTER TABLE monitor ADD COLUMN bearer_token TEXT DEFAULT NULL;
ALTER TABLE monitor ADD COLUMN gamedig_token TEXT DEFAULT NULL;
ALTER TABLE monitor_group ADD COLUMN custom_url TEXT;
ALTER TABLE maintenance ADD COLUMN last_start_date DATETIME;
ALTER TABLE status_page ADD COLUMN auto_refresh_interval INTEGER DEFAULT 300;
ALTER TABLE status_page RENAME COLUMN google_analytics_tag_id TO analytics_id;
ALTER TABLE status_page ADD COLUMN analytics_script_url VARCHAR(255);
ALTER TABLE status_page ADD COLUMN analytics_type VARCHAR(255) DEFAULT NULL;
ALTER TABLE status_page ADD COLUMN show_only_last_heartbeat BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE status_page ADD COLUMN rss_title VARCHAR(255);
INSERT INTO knex_migrations (name, batch, migration_time) VALUES
    ('2023-08-16-0000-create-uptime.js', 1, '2025-10-20 09:12:00'),
    ('2024-04-26-0000-snmp-monitor.js', 1, '2025-10-20 09:12:00'),
    ('2025-06-03-0000-add-ip-family.js', 1, '2025-10-20 09:12:00'),
    ('2026-05-20-0000-add-bearer-token.js', 2, '2026-06-01 08:00:00');
