-- A small shop's Uptime Kuma, as its forms would have saved it (both versions).
INSERT INTO user (id, username, password, active, timezone) VALUES
    (1, 'admin', '$2a$10$Qm9vZm9vYmFyYmF6cXV4cXV1eC5vbmUudHdvLnRocmVlLmZvdXI', 1, 'Europe/Berlin');
INSERT INTO setting (key, value, type) VALUES
    ('primaryBaseURL', '"https://kuma.shop.example"', 'general'),
    ('tlsExpiryNotifyDays', '[7,14,21]', 'general'),
    ('serverTimezone', '"Europe/Berlin"', 'general');
INSERT INTO notification (id, name, active, user_id, is_default, config) VALUES
    (1, 'Ops Slack', 1, 1, 1, '{"name":"Ops Slack","type":"slack","isDefault":true,"slackwebhookURL":"https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnop","slackchannel":"#ops","slackusername":"kuma","applyExisting":true}'),
    (2, 'On-call email', 1, 1, 0, '{"name":"On-call email","type":"smtp","isDefault":false,"smtpHost":"smtp.shop.example","smtpPort":587,"smtpSecure":false,"smtpUsername":"kuma@shop.example","smtpPassword":"s3cret-mail","smtpFrom":"Kuma <kuma@shop.example>","smtpTo":"oncall@shop.example","smtpCC":"cto@shop.example"}'),
    (3, 'Telegram ops', 1, 1, 0, '{"name":"Telegram ops","type":"telegram","telegramBotToken":"123456789:AAEexampleexampleexampleexample12","telegramChatID":"-1001234567890","telegramSendSilently":false}'),
    (4, 'Discord', 1, 1, 0, '{"name":"Discord","type":"discord","discordWebhookUrl":"https://discord.com/api/webhooks/111/abcdef","discordUsername":"Kuma"}'),
    (5, 'Shop webhook', 1, 1, 0, '{"name":"Shop webhook","type":"webhook","webhookURL":"https://hooks.shop.example/kuma","webhookContentType":"json","webhookAdditionalHeaders":"{\"Authorization\":\"Bearer hook-token\"}"}'),
    (6, 'Teams', 1, 1, 0, '{"name":"Teams","type":"teams","webhookUrl":"https://shop.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456"}'),
    (7, 'PagerDuty', 1, 1, 0, '{"name":"PagerDuty","type":"PagerDuty","pagerdutyIntegrationKey":"R0UT1NGKEY0123456789abcdef012345","pagerdutyIntegrationUrl":"https://events.pagerduty.com/v2/enqueue","pagerdutyPriority":"warning","pagerdutyAutoResolve":"resolve"}'),
    (8, 'ntfy', 1, 1, 0, '{"name":"ntfy","type":"ntfy","ntfyserverurl":"https://ntfy.sh","ntfytopic":"shop-alerts","ntfyPriority":5,"ntfyAuthenticationMethod":"accessToken","ntfyaccesstoken":"tk_abcdefghijklmnopqrstuvwxyz012"}'),
    (9, 'Pushover', 1, 1, 0, '{"name":"Pushover","type":"pushover","pushoveruserkey":"u123","pushoverapptoken":"a123"}'),
    (10, 'SMS', 1, 1, 0, '{"name":"SMS","type":"twilio","twilioAccountSID":"AC0123456789abcdef0123456789abcdef","twilioAuthToken":"auth-token-123","twilioFromNumber":"+14155550100","twilioToNumber":"+14155550199"}'),
    (11, 'Broken config', 1, 1, 0, '{"name": "Broken config", "type": "slack", ');
INSERT INTO monitor (id, name, active, user_id, interval, url, type, hostname, port, keyword, maxretries,
        ignore_tls, upside_down, maxredirects, accepted_statuscodes_json, dns_resolve_type,
        dns_resolve_server, retry_interval, method, body, headers, basic_auth_user, basic_auth_pass,
        expiry_notification, resend_interval, invert_keyword, json_path, expected_value, timeout,
        http_body_encoding, docker_container, docker_host, mqtt_topic, parent, auth_method) VALUES
    (1, 'Shop homepage', 1, 1, 60, 'https://shop.example/', 'http', NULL, NULL, NULL, 2,
        0, 0, 10, '["200-299"]', NULL, NULL, 30, 'GET', NULL, NULL, NULL, NULL,
        1, 0, 0, NULL, NULL, 48, 'json', NULL, NULL, NULL, NULL, NULL),
    (2, 'API health keyword', 1, 1, 30, 'http://api.shop.example/health', 'keyword', NULL, NULL, '"status":"ok"', 1,
        0, 0, 10, '["200-299","304"]', NULL, NULL, 20, 'GET', NULL, NULL, NULL, NULL,
        0, 10, 0, NULL, NULL, 24, 'json', NULL, NULL, NULL, NULL, NULL),
    (3, 'Orders JSON', 1, 1, 120, 'https://api.shop.example/orders/health', 'json-query', NULL, NULL, NULL, 3,
        1, 0, 5, '["200-299"]', NULL, NULL, 60, 'POST', '{"probe":true}', '{"X-Probe":"kuma"}', 'probe', 'pr0be-pass',
        1, 0, 0, 'data.status', 'healthy', 30, 'json', NULL, NULL, NULL, NULL, 'basic'),
    (4, 'Postgres port', 1, 1, 45, NULL, 'port', 'db.shop.internal', 5432, NULL, 0,
        0, 0, 10, '["200-299"]', NULL, NULL, 0, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 36, NULL, NULL, NULL, NULL, NULL, NULL),
    (5, 'Gateway ping', 1, 1, 20, NULL, 'ping', '10.20.0.1', NULL, NULL, 5,
        0, 0, 10, '["200-299"]', NULL, NULL, 20, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 16, NULL, NULL, NULL, NULL, NULL, NULL),
    (6, 'MX records', 1, 1, 300, NULL, 'dns', 'shop.example', 53, NULL, 1,
        0, 0, 10, '["200-299"]', 'MX', '1.1.1.1', 60, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 10, NULL, NULL, NULL, NULL, NULL, NULL),
    (8, 'Docker app', 1, 1, 60, NULL, 'docker', NULL, NULL, NULL, 0,
        0, 0, 10, '["200-299"]', NULL, NULL, 0, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 48, NULL, 'shop-app', NULL, NULL, NULL, NULL),
    (9, 'Order broker', 1, 1, 60, NULL, 'mqtt', 'mqtt.shop.internal', 1883, NULL, 0,
        0, 0, 10, '["200-299"]', NULL, NULL, 0, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 48, NULL, NULL, NULL, 'orders/health', NULL, NULL),
    (10, 'Maintenance page', 1, 1, 60, 'https://shop.example/maintenance', 'http', NULL, NULL, NULL, 0,
        0, 1, 10, '["200-299"]', NULL, NULL, 0, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 48, NULL, NULL, NULL, NULL, NULL, NULL),
    (11, 'Old blog', 0, 1, 600, 'https://blog.shop.example/', 'http', NULL, NULL, NULL, 1,
        0, 0, 10, '["200-299"]', NULL, NULL, 60, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 48, NULL, NULL, NULL, NULL, NULL, NULL),
    (12, 'Backend services', 1, 1, 60, NULL, 'group', NULL, NULL, NULL, 0,
        0, 0, 10, '["200-299"]', NULL, NULL, 0, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 48, NULL, NULL, NULL, NULL, NULL, NULL),
    (13, 'Hand-edited', 1, 1, 'soon', 'https://shop.example/x', 'http', NULL, NULL, NULL, 0,
        0, 0, 10, '["200-299"]', NULL, NULL, 0, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, NULL, NULL, 48, NULL, NULL, NULL, NULL, NULL, NULL),
    (14, 'Stock JSONata', 1, 1, 60, 'https://api.shop.example/stock', 'json-query', NULL, NULL, NULL, 0,
        0, 0, 10, '["200-299"]', NULL, NULL, 0, 'GET', NULL, NULL, NULL, NULL,
        0, 0, 0, '$sum(items.count) > 0', 'true', 48, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE monitor SET parent = 12 WHERE id = 4;
INSERT INTO monitor_notification (id, monitor_id, notification_id) VALUES
    (1, 1, 1), (2, 1, 2), (3, 2, 3), (4, 3, 4), (5, 3, 1), (6, 4, 5), (7, 5, 6), (8, 6, 7),
    (9, 11, 8), (10, 8, 1), (11, 1, 9), (12, 2, 10);
INSERT INTO tag (id, name, color) VALUES (1, 'env', '#059669'), (2, 'team', '#2563EB'), (3, 'critical', '#DC2626');
INSERT INTO monitor_tag (monitor_id, tag_id, value) VALUES
    (1, 1, 'prod'), (1, 3, ''), (2, 1, 'prod'), (3, 2, 'payments'), (4, 2, 'platform'), (8, 1, 'prod');
INSERT INTO status_page (id, slug, title, description, icon, theme, published, search_engine_index,
        show_tags, password, footer_text, custom_css, show_powered_by) VALUES
    (1, 'shop', 'Shop status', 'Live status of the shop and its API.', '/icon.svg', 'light', 1, 0,
        0, NULL, 'Questions? support@shop.example', NULL, 1),
    (2, 'internal', 'Internal', NULL, '/icon.svg', 'dark', 1, 1, 0, 'letmein', NULL, NULL, 1);
INSERT INTO status_page_cname (status_page_id, domain) VALUES (1, 'status.shop.example');
INSERT INTO "group" (id, name, public, active, weight, status_page_id) VALUES
    (1, 'Storefront', 1, 1, 1, 1), (2, 'Backend', 1, 1, 2, 1), (3, 'Everything', 1, 1, 1, 2);
INSERT INTO monitor_group (monitor_id, group_id, weight) VALUES
    (1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 2), (8, 2, 3), (5, 3, 1);
INSERT INTO maintenance (id, title, description, user_id, active, strategy, start_date, end_date,
        start_time, end_time, weekdays, days_of_month, interval_day, cron, timezone, duration) VALUES
    (1, 'Nightly vacuum', 'Database vacuum', 1, 1, 'cron', NULL, NULL, NULL, NULL, '[]', '[]', NULL,
        '30 3 * * *', 'UTC', 1800),
    (2, 'Datacenter move', 'Moving racks', 1, 1, 'single', '2026-12-20 02:00:00', '2026-12-20 06:00:00',
        NULL, NULL, '[]', '[]', NULL, NULL, 'Europe/Berlin', NULL),
    (3, 'Code freeze', 'Manual', 1, 1, 'manual', NULL, NULL, NULL, NULL, '[]', '[]', NULL, NULL, 'UTC', NULL),
    (4, 'Sunday patching', 'OS updates', 1, 1, 'recurring-weekday', '2026-01-01 00:00:00', NULL,
        '02:00', '04:00', '[0]', '[]', NULL, '0 2 * * 0', 'SAME_AS_SERVER', 7200);
INSERT INTO monitor_maintenance (monitor_id, maintenance_id) VALUES (4, 1), (1, 2), (2, 2), (9, 3);
INSERT INTO maintenance_status_page (status_page_id, maintenance_id) VALUES (1, 4);
INSERT INTO heartbeat (monitor_id, status, msg, time, ping, important) VALUES
    (1, 1, '200 - OK', '2026-12-01 10:00:00', 123, 1), (4, 0, 'connect ECONNREFUSED', '2026-12-01 10:01:00', NULL, 1);
