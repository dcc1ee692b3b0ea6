//! Where in its interval each monitor runs. A monitor's phase comes from a hash of its id, so
//! checks spread evenly over the interval instead of all firing at :00, and stay at the same phase
//! across restarts.

use crate::clock::millis;
use std::time::Duration;
use watchtower_core::{MonitorId, Timestamp};

/// The phase of a monitor within an interval, in milliseconds.
pub(crate) fn phase(id: MonitorId, interval: Duration) -> i64 {
    // SplitMix64 finaliser: consecutive ids land far apart.
    let mut x = id.0 as u64 ^ 0x9E37_79B9_7F4A_7C15;
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % millis(interval).max(1) as u64) as i64
}

/// The first slot of the monitor strictly after `after`.
pub(crate) fn next_slot(id: MonitorId, interval: Duration, after: Timestamp) -> Timestamp {
    let width = millis(interval).max(1);
    let offset = phase(id, interval);
    let since_phase = (after.0 - offset).rem_euclid(width);
    Timestamp(after.0 - since_phase + width)
}

/// The first slot of the monitor at or after `at`.
pub(crate) fn first_slot(id: MonitorId, interval: Duration, at: Timestamp) -> Timestamp {
    next_slot(id, interval, Timestamp(at.0 - 1))
}

/// How soon after start-up a monitor whose slot passed while WatchTower was down is checked: its
/// catch-up check is spread over this window (or its interval, if shorter), then it returns to its
/// own slot.
pub(crate) const CATCH_UP_WINDOW: Duration = Duration::from_secs(5);

/// The first check after start-up, or after taking over another instance's shard: the
/// monitor's own slot, unless a slot passed since its last check (nobody checked it then), in
/// which case a catch-up check comes within `window` (start-up uses [`CATCH_UP_WINDOW`]; a shard
/// taken over, a handful of monitors usually, catches up sooner).
pub(crate) fn slot_after_gap(
    id: MonitorId,
    interval: Duration,
    last_checked: Option<Timestamp>,
    now: Timestamp,
    window: Duration,
) -> Timestamp {
    match last_checked {
        // Comparing slots, not "an interval since the last check": a check starts a few ms after
        // its slot, and a slot that passed a moment before start-up must not wait a whole interval.
        Some(last) if next_slot(id, interval, last) <= now => {
            Timestamp(now.0 + phase(id, window.min(interval)))
        }
        _ => first_slot(id, interval, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_repeat_at_the_interval_and_keep_their_phase() {
        let interval = Duration::from_secs(60);
        let id = MonitorId(42);
        let first = first_slot(id, interval, Timestamp(1_000_000));
        assert!(first.0 >= 1_000_000 && first.0 < 1_060_000);
        assert_eq!(next_slot(id, interval, first).0, first.0 + 60_000);
        assert_eq!(first_slot(id, interval, first), first);
    }

    #[test]
    fn a_slot_missed_while_down_is_caught_up_within_the_window() {
        let interval = Duration::from_secs(60);
        let now = Timestamp(10_000_000);
        for id in 1..=1000 {
            let id = MonitorId(id);
            let overdue = slot_after_gap(
                id,
                interval,
                Some(Timestamp(now.0 - 61_000)),
                now,
                CATCH_UP_WINDOW,
            );
            assert!(overdue.0 >= now.0 && overdue.0 < now.0 + 5_000);
            // Checked 3 ms after a slot whose successor passed just before start-up.
            let passed = first_slot(id, interval, Timestamp(now.0 - 60_000));
            let checked = Timestamp(passed.0 - 60_000 + 3);
            let late_by_a_moment =
                slot_after_gap(id, interval, Some(checked), now, CATCH_UP_WINDOW);
            assert!(
                late_by_a_moment.0 < now.0 + 5_000,
                "caught up, not a whole interval later"
            );
            let recent = slot_after_gap(
                id,
                interval,
                Some(Timestamp(now.0 - 1_000)),
                now,
                CATCH_UP_WINDOW,
            );
            if first_slot(id, interval, Timestamp(now.0 - 1_000)).0 > now.0 {
                assert_eq!(recent, first_slot(id, interval, now));
            }
        }
    }

    #[test]
    fn phases_of_many_monitors_cover_the_interval_evenly() {
        let interval = Duration::from_secs(10);
        let mut per_second = [0u32; 10];
        for id in 1..=10_000 {
            per_second[(phase(MonitorId(id), interval) / 1000) as usize] += 1;
        }
        // 1,000 expected per second; a hash this good stays well within ±15%.
        assert!(
            per_second.iter().all(|&n| (850..=1150).contains(&n)),
            "{per_second:?}"
        );
    }
}
