-- When a person last made a request (to the hour: `touch_user` skips younger values), for the
-- daily and monthly active users that `/metrics` and the administrators' stats report.
ALTER TABLE users ADD COLUMN last_seen_at INTEGER;
