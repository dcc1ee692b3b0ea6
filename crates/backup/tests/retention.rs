//! The guide's retention (7 daily, 4 weekly, 12 monthly) over a simulated year of hourly
//! backups on the project's test clock: what is left at the end is exactly the guide's set, and
//! deleting as it goes (as `serve` does) keeps the same backups as choosing once from the whole
//! year.

use std::collections::BTreeSet;
use std::time::Duration;
use watchtower_backup::retention::{RetentionPolicy, keep};
use watchtower_core::Timestamp;
use watchtower_scheduler::Clock;

fn at(text: &str) -> Timestamp {
    Timestamp::from_jiff(text.parse().expect("an RFC 3339 time"))
}

#[tokio::test(start_paused = true)]
async fn a_year_of_hourly_backups_leaves_exactly_the_guides_set() {
    let clock = Clock::starting_at(at("2026-01-01T00:00:00Z"));
    let policy = RetentionPolicy::default();
    let mut folder: Vec<Timestamp> = Vec::new();
    let mut every_backup = Vec::new();
    for _ in 0..365 * 24 {
        let now = clock.now();
        folder.push(now);
        every_backup.push(now);
        let kept = keep(&folder, policy);
        assert!(kept.contains(&now), "the newest backup is always kept");
        assert!(kept.len() <= 7 + 4 + 12, "{} kept at {now}", kept.len());
        folder.retain(|backup| kept.contains(backup));
        tokio::time::advance(Duration::from_secs(3600)).await;
    }
    assert_eq!(clock.now(), at("2027-01-01T00:00:00Z"));

    let mut expected: BTreeSet<Timestamp> = BTreeSet::new();
    // Monthly: the last backup of each month (December's is also a daily and a weekly one).
    for last_day in [
        "01-31", "02-28", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31",
        "11-30", "12-31",
    ] {
        expected.insert(at(&format!("2026-{last_day}T23:00:00Z")));
    }
    // Weekly: ISO weeks 50 to 53 end on Sundays 13, 20, 27 December and (the year's last week,
    // cut short) Thursday 31 December.
    for day in [13, 20, 27, 31] {
        expected.insert(at(&format!("2026-12-{day}T23:00:00Z")));
    }
    // Daily: the last backup of each of the last seven days.
    for day in 25..=31 {
        expected.insert(at(&format!("2026-12-{day}T23:00:00Z")));
    }
    let left: BTreeSet<Timestamp> = folder.iter().copied().collect();
    assert_eq!(left, expected);
    assert_eq!(left.len(), 20);
    assert_eq!(
        keep(&every_backup, policy),
        expected,
        "deleting as it goes changes nothing"
    );
}

#[test]
fn within_a_day_only_the_newest_backup_stays_once_the_day_is_past_the_others() {
    let backups = [
        at("2026-03-02T01:00:00Z"),
        at("2026-03-02T13:00:00Z"),
        at("2026-03-03T01:00:00Z"),
    ];
    let kept = keep(&backups, RetentionPolicy::default());
    assert_eq!(
        kept.into_iter().collect::<Vec<_>>(),
        vec![at("2026-03-02T13:00:00Z"), at("2026-03-03T01:00:00Z")]
    );
}
