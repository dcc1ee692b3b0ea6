-- 2.x only: a 32-character push token, a JSON query with an operator, a bearer token, and the
-- probes 2.x added that WatchTower does not have.
INSERT INTO monitor (id, name, active, user_id, interval, type, push_token, maxretries, retry_interval, accepted_statuscodes_json)
    VALUES (7, 'Nightly backup job', 1, 1, 86400, 'push', 'Yp4Qk8Rw2Ts6Uv0Xz3Ab7Cd1Ef5Gh9Jk', 0, 3600, '["200-299"]');
INSERT INTO monitor (id, name, active, user_id, interval, url, type, maxretries, retry_interval, json_path,
        json_path_operator, expected_value, bearer_token, timeout, accepted_statuscodes_json, conditions, ip_family)
    VALUES (15, 'Queue depth', 1, 1, 60, 'https://api.shop.example/queue', 'json-query', 2, 30, 'queue.depth',
        '<', '100', 'api-bearer-token', 20, '["200-299"]', '[]', NULL);
INSERT INTO monitor (id, name, active, user_id, interval, hostname, port, type, smtp_security, accepted_statuscodes_json)
    VALUES (16, 'Mail relay', 1, 1, 300, 'smtp.shop.example', 587, 'smtp', 'secure', '["200-299"]');
INSERT INTO monitor (id, name, active, user_id, interval, hostname, type, snmp_oid, snmp_version, accepted_statuscodes_json)
    VALUES (17, 'Core switch', 1, 1, 120, '10.20.0.2', 'snmp', '1.3.6.1.2.1.1.3.0', '2c', '["200-299"]');
INSERT INTO monitor_notification (id, monitor_id, notification_id) VALUES (20, 7, 2), (21, 15, 7), (22, 15, 3);
INSERT INTO monitor_tag (monitor_id, tag_id, value) VALUES (15, 2, 'platform');
