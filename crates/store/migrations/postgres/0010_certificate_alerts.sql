-- Certificate-expiry alerts: a rule with the `certificate_expiring` event fires when a certificate
-- its monitors see expires within `certificate_days`. One alert per certificate (by fingerprint),
-- channel and threshold, however many monitors share the certificate: `dedup_key` makes it so.
ALTER TABLE alert_rules ADD COLUMN certificate_days BIGINT;
ALTER TABLE notifications ADD COLUMN dedup_key TEXT;
-- What the message needs that no state event holds (the certificate and its monitors).
ALTER TABLE notifications ADD COLUMN details JSONB;
CREATE UNIQUE INDEX notifications_dedup ON notifications (channel_id, dedup_key)
    WHERE dedup_key IS NOT NULL;
