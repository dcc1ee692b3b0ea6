-- 1.x only: a push monitor with the short token 1.x made.
INSERT INTO monitor (id, name, active, user_id, interval, type, push_token, maxretries, retry_interval, accepted_statuscodes_json)
    VALUES (7, 'Nightly backup job', 1, 1, 86400, 'push', 'Xk3pQ9zT2m', 0, 3600, '["200-299"]');
INSERT INTO monitor_notification (id, monitor_id, notification_id) VALUES (20, 7, 2);
