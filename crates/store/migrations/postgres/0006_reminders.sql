-- Reminders: a rule may ask to be reminded while an incident stays open and unacknowledged. A
-- notification carries the shortest reminder interval of the rules that queued it.

ALTER TABLE alert_rules ADD COLUMN remind_every_ms BIGINT;
ALTER TABLE notifications ADD COLUMN remind_every_ms BIGINT;
