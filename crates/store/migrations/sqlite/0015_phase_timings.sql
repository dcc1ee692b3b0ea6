-- HTTP phase timings over time. A successful HTTP result keeps its DNS, connect, TLS and
-- first-byte times (microseconds; NULL for other kinds, failures, and phases that did not happen);
-- every rollup level keeps their sums over `phase_count` results, so the monitor page can show
-- the breakdown over 1 h to 90 d from the same rows as the response time.
ALTER TABLE results ADD COLUMN dns_us INTEGER;
ALTER TABLE results ADD COLUMN connect_us INTEGER;
ALTER TABLE results ADD COLUMN tls_us INTEGER;
ALTER TABLE results ADD COLUMN first_byte_us INTEGER;

ALTER TABLE rollups_minute ADD COLUMN phase_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_minute ADD COLUMN dns_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_minute ADD COLUMN connect_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_minute ADD COLUMN tls_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_minute ADD COLUMN first_byte_sum_us INTEGER NOT NULL DEFAULT 0;

ALTER TABLE rollups_hour ADD COLUMN phase_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_hour ADD COLUMN dns_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_hour ADD COLUMN connect_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_hour ADD COLUMN tls_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_hour ADD COLUMN first_byte_sum_us INTEGER NOT NULL DEFAULT 0;

ALTER TABLE rollups_day ADD COLUMN phase_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_day ADD COLUMN dns_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_day ADD COLUMN connect_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_day ADD COLUMN tls_sum_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_day ADD COLUMN first_byte_sum_us INTEGER NOT NULL DEFAULT 0;
