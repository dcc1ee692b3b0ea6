//! The wall clock as the scheduler sees it: anchored once, then advanced by tokio's monotonic
//! clock, so tests on paused time control both the timers and the dates (cron, deadlines).

use std::time::Duration;
use tokio::time::Instant;
use watchtower_core::Timestamp;

/// Converts between tokio instants and wall-clock timestamps.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    anchor_wall: Timestamp,
    anchor: Instant,
}

impl Clock {
    /// A clock reading the system time now.
    pub fn system() -> Self {
        Self::starting_at(Timestamp::now())
    }

    /// A clock whose current instant is `wall` (tests pick the date).
    pub fn starting_at(wall: Timestamp) -> Self {
        Self {
            anchor_wall: wall,
            anchor: Instant::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.wall_at(Instant::now())
    }

    pub fn wall_at(&self, instant: Instant) -> Timestamp {
        let elapsed = instant.saturating_duration_since(self.anchor);
        self.anchor_wall.plus(elapsed)
    }

    /// The instant at which the wall clock reads `wall` (now, if that is in the past).
    pub fn instant_at(&self, wall: Timestamp) -> Instant {
        let now = Instant::now();
        let now_wall = self.wall_at(now);
        now + wall.since(now_wall)
    }
}

/// Rounds a duration to whole milliseconds (the unit of stored timestamps).
pub(crate) fn millis(duration: Duration) -> i64 {
    duration.as_millis() as i64
}
