//! Which scheduled backups to keep: the operations guide's 7 daily, 4 weekly and 12 monthly.
//! A pure function of the backups' times (no clock, no files), so a test runs a year of hourly
//! backups in milliseconds; `serve` deletes what it does not return. Periods are UTC days, ISO
//! weeks and calendar months; in each of the newest N periods that hold a backup, the newest
//! backup is kept. Counting periods that hold backups (not calendar periods back from today)
//! means a stretch without backups never deletes the last good ones.

use std::collections::BTreeSet;
use watchtower_core::Timestamp;

/// How many periods of each kind keep a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

impl Default for RetentionPolicy {
    /// The operations guide's: 7 daily, 4 weekly, 12 monthly.
    fn default() -> Self {
        Self {
            daily: 7,
            weekly: 4,
            monthly: 12,
        }
    }
}

/// The backups to keep among `backups` (times; duplicates count once).
pub fn keep(backups: &[Timestamp], policy: RetentionPolicy) -> BTreeSet<Timestamp> {
    let mut newest_first: Vec<Timestamp> = backups.to_vec();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    newest_first.dedup();
    let mut kept = BTreeSet::new();
    let mut days = Bucket::new(policy.daily);
    let mut weeks = Bucket::new(policy.weekly);
    let mut months = Bucket::new(policy.monthly);
    for at in newest_first {
        let date = at.to_jiff().to_zoned(jiff::tz::TimeZone::UTC).date();
        let week = date.iso_week_date();
        let in_day = days.first_of((i32::from(date.year()), i32::from(date.day_of_year())));
        let in_week = weeks.first_of((i32::from(week.year()), i32::from(week.week())));
        let in_month = months.first_of((i32::from(date.year()), i32::from(date.month())));
        if in_day || in_week || in_month {
            kept.insert(at);
        }
    }
    kept
}

/// The periods of one kind seen so far, newest first.
struct Bucket {
    limit: usize,
    seen: usize,
    last: Option<(i32, i32)>,
}

impl Bucket {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            seen: 0,
            last: None,
        }
    }

    /// Whether a backup in `period` (visited newest first) is the newest of a kept period.
    fn first_of(&mut self, period: (i32, i32)) -> bool {
        if self.last == Some(period) {
            return false;
        }
        self.last = Some(period);
        self.seen += 1;
        self.seen <= self.limit
    }
}

const PREFIX: &str = "watchtower-";
const SUFFIX: &str = ".wtbak";

/// The file name of a scheduled backup taken at `at`: `watchtower-20261206T020000Z.wtbak`
/// (to the second, so names sort by time).
pub fn file_name(at: Timestamp) -> String {
    format!(
        "{PREFIX}{}{SUFFIX}",
        at.to_jiff().strftime("%Y%m%dT%H%M%SZ")
    )
}

/// The time in a scheduled backup's file name; `None` for any other file (which retention never
/// touches).
pub fn parse_file_name(name: &str) -> Option<Timestamp> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let b = stamp.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !digits(0..8) || !digits(9..15) {
        return None;
    }
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    );
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(Timestamp::from_jiff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::from_jiff(text.parse().expect("a time"))
    }

    #[test]
    fn file_names_round_trip_and_other_files_are_not_backups() {
        let time = at("2026-12-06T02:00:07Z");
        let name = file_name(time);
        assert_eq!(name, "watchtower-20261206T020007Z.wtbak");
        assert_eq!(parse_file_name(&name), Some(time));
        for other in [
            "watchtower-20261206T020007Z.wtbak.tmp",
            "notes.txt",
            "watchtower-2026120XT020007Z.wtbak",
            "watchtower-20261306T020007Z.wtbak",
            "watchtower-20261206T0200Z.wtbak",
        ] {
            assert_eq!(parse_file_name(other), None, "{other}");
        }
    }

    #[test]
    fn a_gap_in_backups_never_deletes_the_last_good_ones() {
        let old = [at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z")];
        let kept = keep(&old, RetentionPolicy::default());
        assert_eq!(kept.len(), 2);
    }
}
