-- A rule may fire only for some causes of an outage (error classes such as keyword or
-- status_code): JSON array, NULL for every cause.
ALTER TABLE alert_rules ADD COLUMN causes TEXT;
