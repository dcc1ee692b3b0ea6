-- Uptime Kuma 1.23's SQLite schema: the tables of its db/kuma.db after every db/patch-*.sql it
-- applies, written out here from their table and column names (types as Kuma declares them).
CREATE TABLE user (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    username VARCHAR(255) NOT NULL UNIQUE,
    password VARCHAR(255),
    active BOOLEAN NOT NULL DEFAULT 1,
    timezone VARCHAR(150),
    twofa_secret VARCHAR(64),
    twofa_status BOOLEAN NOT NULL DEFAULT 0,
    twofa_last_token VARCHAR(6)
);
CREATE TABLE setting (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key VARCHAR(200) NOT NULL UNIQUE,
    value TEXT,
    type VARCHAR(20)
);
CREATE TABLE notification (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(255),
    active BOOLEAN NOT NULL DEFAULT 1,
    user_id INTEGER NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT 0,
    config TEXT
);
CREATE TABLE proxy (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INT NOT NULL,
    protocol VARCHAR(10) NOT NULL,
    host VARCHAR(255) NOT NULL,
    port SMALLINT NOT NULL,
    auth BOOLEAN NOT NULL,
    username VARCHAR(255),
    password VARCHAR(255),
    active BOOLEAN NOT NULL DEFAULT 1,
    "default" BOOLEAN NOT NULL DEFAULT 0,
    created_date DATETIME NOT NULL DEFAULT (DATETIME('now'))
);
CREATE TABLE docker_host (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INT NOT NULL,
    docker_daemon VARCHAR(255),
    docker_type VARCHAR(255),
    name VARCHAR(255)
);
CREATE TABLE monitor (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(150),
    active BOOLEAN NOT NULL DEFAULT 1,
    user_id INTEGER REFERENCES user(id) ON UPDATE CASCADE ON DELETE SET NULL,
    interval INTEGER NOT NULL DEFAULT 20,
    url TEXT,
    type VARCHAR(20),
    weight INTEGER DEFAULT 2000,
    hostname VARCHAR(255),
    port INTEGER,
    created_date DATETIME NOT NULL DEFAULT (DATETIME('now')),
    keyword VARCHAR(255),
    maxretries INTEGER NOT NULL DEFAULT 0,
    ignore_tls BOOLEAN NOT NULL DEFAULT 0,
    upside_down BOOLEAN NOT NULL DEFAULT 0,
    maxredirects INTEGER NOT NULL DEFAULT 10,
    accepted_statuscodes_json TEXT NOT NULL DEFAULT '["200-299"]',
    dns_resolve_type VARCHAR(5),
    dns_resolve_server VARCHAR(255),
    dns_last_result VARCHAR(255),
    retry_interval INTEGER NOT NULL DEFAULT 0,
    push_token VARCHAR(20) DEFAULT NULL,
    method TEXT NOT NULL DEFAULT 'GET',
    body TEXT DEFAULT NULL,
    headers TEXT DEFAULT NULL,
    basic_auth_user TEXT DEFAULT NULL,
    basic_auth_pass TEXT DEFAULT NULL,
    docker_host INTEGER REFERENCES docker_host(id),
    docker_container VARCHAR(255),
    proxy_id INTEGER REFERENCES proxy(id),
    expiry_notification BOOLEAN DEFAULT 1,
    mqtt_topic TEXT,
    mqtt_success_message VARCHAR(255),
    mqtt_username VARCHAR(255),
    mqtt_password VARCHAR(255),
    database_connection_string VARCHAR(2000),
    database_query TEXT,
    auth_method VARCHAR(250),
    auth_domain TEXT,
    auth_workstation TEXT,
    grpc_url VARCHAR(255) DEFAULT NULL,
    grpc_protobuf TEXT DEFAULT NULL,
    grpc_body TEXT DEFAULT NULL,
    grpc_metadata TEXT DEFAULT NULL,
    grpc_method VARCHAR(255) DEFAULT NULL,
    grpc_service_name VARCHAR(255) DEFAULT NULL,
    grpc_enable_tls BOOLEAN NOT NULL DEFAULT 0,
    radius_username VARCHAR(255),
    radius_password VARCHAR(255),
    radius_calling_station_id VARCHAR(50),
    radius_called_station_id VARCHAR(50),
    radius_secret VARCHAR(255),
    resend_interval INTEGER NOT NULL DEFAULT 0,
    packet_size INTEGER NOT NULL DEFAULT 56,
    game VARCHAR(255),
    http_body_encoding VARCHAR(25),
    description TEXT DEFAULT NULL,
    tls_ca TEXT DEFAULT NULL,
    tls_cert TEXT DEFAULT NULL,
    tls_key TEXT DEFAULT NULL,
    parent INTEGER REFERENCES monitor(id) ON DELETE SET NULL ON UPDATE CASCADE,
    invert_keyword BOOLEAN NOT NULL DEFAULT 0,
    json_path TEXT,
    expected_value VARCHAR(255),
    kafka_producer_topic VARCHAR(255),
    kafka_producer_brokers TEXT,
    kafka_producer_sasl_options TEXT,
    kafka_producer_message TEXT,
    oauth_client_id TEXT DEFAULT NULL,
    oauth_client_secret TEXT DEFAULT NULL,
    oauth_token_url TEXT DEFAULT NULL,
    oauth_scopes TEXT DEFAULT NULL,
    oauth_auth_method TEXT DEFAULT NULL,
    timeout DOUBLE NOT NULL DEFAULT 0,
    gamedig_given_port_only BOOLEAN NOT NULL DEFAULT 1,
    kafka_producer_ssl BOOLEAN NOT NULL DEFAULT 0,
    kafka_producer_allow_auto_topic_creation BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE monitor_notification (
    id INTEGER PRIMARY KEY NOT NULL,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    notification_id INTEGER NOT NULL REFERENCES notification(id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    important BOOLEAN NOT NULL DEFAULT 0,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    status SMALLINT NOT NULL,
    msg TEXT,
    time DATETIME NOT NULL,
    ping INTEGER,
    duration INTEGER NOT NULL DEFAULT 0,
    down_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE monitor_tls_info (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    info_json TEXT
);
CREATE TABLE tag (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(255) NOT NULL,
    color VARCHAR(255) NOT NULL,
    created_date DATETIME NOT NULL DEFAULT (DATETIME('now'))
);
CREATE TABLE monitor_tag (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tag(id) ON DELETE CASCADE ON UPDATE CASCADE,
    value TEXT
);
CREATE TABLE incident (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    title VARCHAR(255) NOT NULL,
    content TEXT NOT NULL,
    style VARCHAR(30) NOT NULL DEFAULT 'warning',
    created_date DATETIME NOT NULL DEFAULT (DATETIME('now')),
    last_updated_date DATETIME,
    pin BOOLEAN NOT NULL DEFAULT 1,
    active BOOLEAN NOT NULL DEFAULT 1,
    status_page_id INTEGER
);
CREATE TABLE status_page (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    slug VARCHAR(255) NOT NULL UNIQUE,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    icon VARCHAR(255) NOT NULL,
    theme VARCHAR(30) NOT NULL,
    published BOOLEAN NOT NULL DEFAULT 1,
    search_engine_index BOOLEAN NOT NULL DEFAULT 1,
    show_tags BOOLEAN NOT NULL DEFAULT 0,
    password VARCHAR,
    created_date DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    modified_date DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    footer_text TEXT,
    custom_css TEXT,
    show_powered_by BOOLEAN NOT NULL DEFAULT 1,
    google_analytics_tag_id VARCHAR,
    show_certificate_expiry BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE status_page_cname (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    status_page_id INTEGER NOT NULL REFERENCES status_page(id) ON DELETE CASCADE ON UPDATE CASCADE,
    domain VARCHAR NOT NULL UNIQUE
);
CREATE TABLE "group" (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(255) NOT NULL,
    created_date DATETIME NOT NULL DEFAULT (DATETIME('now')),
    public BOOLEAN NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT 1,
    weight BOOLEAN NOT NULL DEFAULT 1000,
    status_page_id INTEGER
);
CREATE TABLE monitor_group (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    group_id INTEGER NOT NULL REFERENCES "group"(id) ON DELETE CASCADE ON UPDATE CASCADE,
    weight BOOLEAN NOT NULL DEFAULT 1000,
    send_url BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE notification_sent_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    type VARCHAR(50) NOT NULL,
    monitor_id INTEGER NOT NULL,
    days INTEGER NOT NULL,
    UNIQUE (type, monitor_id, days)
);
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    title VARCHAR(150) NOT NULL,
    description TEXT NOT NULL,
    user_id INTEGER REFERENCES user(id) ON DELETE SET NULL ON UPDATE CASCADE,
    active BOOLEAN NOT NULL DEFAULT 1,
    strategy VARCHAR(50) NOT NULL DEFAULT 'single',
    start_date DATETIME,
    end_date DATETIME,
    start_time TIME,
    end_time TIME,
    weekdays VARCHAR2(250) DEFAULT '[]',
    days_of_month TEXT DEFAULT '[]',
    interval_day INTEGER,
    cron TEXT,
    timezone VARCHAR(255),
    duration INTEGER
);
CREATE TABLE maintenance_status_page (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    status_page_id INTEGER NOT NULL REFERENCES status_page(id) ON DELETE CASCADE ON UPDATE CASCADE,
    maintenance_id INTEGER NOT NULL REFERENCES maintenance(id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE TABLE monitor_maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    maintenance_id INTEGER NOT NULL REFERENCES maintenance(id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE TABLE api_key (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    key VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE ON UPDATE CASCADE,
    created_date DATETIME NOT NULL DEFAULT (DATETIME('now')),
    active BOOLEAN NOT NULL DEFAULT 1,
    expires DATETIME DEFAULT NULL
);
