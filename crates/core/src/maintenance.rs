//! Maintenance windows: planned time during which checks still run and are recorded but no alert
//! is sent. One-off (`starts_at`..`ends_at`) or recurring (a cron expression in a time zone and a
//! duration): the operations guide's weekly window is `cron: "0 2 * * SUN", duration: 2h` and its
//! monthly one `cron: "0 2 * * SUN#1", duration: 4h` (the first Sunday), both in UTC.

use crate::duration::HumanDuration;
use crate::ids::MonitorId;
use crate::monitor::fields::Fields;
use crate::time::Timestamp;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::str::FromStr;

/// When a window is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum WindowSchedule {
    Once {
        starts_at: Timestamp,
        ends_at: Timestamp,
    },
    Recurring {
        cron: String,
        duration: HumanDuration,
        timezone: String,
    },
}

/// A maintenance window as declared: which monitors (all of the team's, some by id, or those
/// with a tag) and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MaintenanceSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<MonitorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(flatten)]
    pub schedule: WindowSchedule,
}

impl MaintenanceSpec {
    /// Parses a window, listing every problem at once.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let Value::Object(map) = value else {
            return Err(vec![FieldError {
                field: prefix.to_owned(),
                problem: "must be a mapping".into(),
            }]);
        };
        let mut fields = Fields::new(map, prefix);
        let name = fields.required_string("name");
        let monitors = match fields.raw("monitors") {
            None => Vec::new(),
            Some(Value::Array(items)) if items.iter().all(Value::is_i64) => items
                .iter()
                .filter_map(Value::as_i64)
                .map(MonitorId)
                .collect(),
            Some(_) => {
                fields.problem("monitors", "must be a list of monitor ids");
                Vec::new()
            }
        };
        let tag = fields.string("tag");
        if !monitors.is_empty() && tag.is_some() {
            fields.problem("tag", "give monitors or a tag, not both");
        }
        let starts_at = fields.string("starts_at");
        let ends_at = fields.string("ends_at");
        let cron = fields.string("cron");
        let duration = fields.duration("duration");
        let timezone = fields.string("timezone");
        let instant = |fields: &mut Fields<'_>, name: &str, text: Option<String>| {
            let text = text?;
            match text.parse::<jiff::Timestamp>() {
                Ok(ts) => Some(Timestamp::from_jiff(ts)),
                Err(_) => {
                    fields.problem(
                        name,
                        format!("'{text}' is not an RFC 3339 time like 2026-12-06T02:00:00Z"),
                    );
                    None
                }
            }
        };
        let schedule = match (starts_at.is_some() || ends_at.is_some(), cron) {
            (true, Some(_)) => {
                fields.problem(
                    "cron",
                    "give starts_at and ends_at, or cron and duration, not both",
                );
                None
            }
            (true, None) => {
                let (start_text, end_text) = (starts_at.clone(), ends_at.clone());
                if start_text.is_none() {
                    fields.problem("starts_at", "is required with ends_at");
                }
                if end_text.is_none() {
                    fields.problem("ends_at", "is required with starts_at");
                }
                let start = instant(&mut fields, "starts_at", start_text);
                let end = instant(&mut fields, "ends_at", end_text);
                match (start, end) {
                    (Some(start), Some(end)) if end <= start => {
                        fields.problem("ends_at", "must be after starts_at");
                        None
                    }
                    (Some(starts_at), Some(ends_at)) => {
                        Some(WindowSchedule::Once { starts_at, ends_at })
                    }
                    _ => None,
                }
            }
            (false, Some(cron)) => {
                let timezone = timezone.unwrap_or_else(|| "UTC".into());
                let mut valid = true;
                if let Err(error) = croner::Cron::from_str(&cron) {
                    fields.problem("cron", format!("is not a cron expression: {error}"));
                    valid = false;
                }
                if jiff::tz::TimeZone::get(&timezone).is_err() {
                    fields.problem(
                        "timezone",
                        format!("'{timezone}' is not a known IANA time zone"),
                    );
                    valid = false;
                }
                match duration {
                    None => {
                        // A duration given but unreadable has been reported already.
                        if fields.raw("duration").is_none() {
                            fields.problem("duration", "is required with cron (like 2h)");
                        }
                        None
                    }
                    Some(duration) if valid => Some(WindowSchedule::Recurring {
                        cron,
                        duration,
                        timezone,
                    }),
                    Some(_) => None,
                }
            }
            (false, None) => {
                fields.problem(
                    "starts_at",
                    "a window needs starts_at and ends_at, or cron and duration",
                );
                None
            }
        };
        fields.finish_unknown();
        let problems = std::mem::take(&mut fields.problems);
        match (name, schedule) {
            (Some(name), Some(schedule)) => problems.into_result(Self {
                name,
                monitors,
                tag,
                schedule,
            }),
            _ => Err(problems.into_result(()).err().unwrap_or_default()),
        }
    }

    /// Whether the window covers this monitor.
    pub fn applies_to(&self, monitor: MonitorId, tags: &[String]) -> bool {
        match (&self.tag, self.monitors.is_empty()) {
            (Some(tag), _) => tags.contains(tag),
            (None, false) => self.monitors.contains(&monitor),
            (None, true) => true,
        }
    }

    /// When the window that is open at `at` closes, or `None` if none is open.
    pub fn open_until(&self, at: Timestamp) -> Option<Timestamp> {
        match &self.schedule {
            WindowSchedule::Once { starts_at, ends_at } => {
                (*starts_at <= at && at < *ends_at).then_some(*ends_at)
            }
            WindowSchedule::Recurring {
                cron,
                duration,
                timezone,
            } => {
                let mut cron = croner::Cron::from_str(cron).ok()?;
                let zone = jiff::tz::TimeZone::get(timezone).ok()?;
                let now = at.to_jiff().to_zoned(zone.clone());
                let earliest = Timestamp(at.0.saturating_sub(duration.get().as_millis() as i64))
                    .to_jiff()
                    .to_zoned(zone);
                cron.pattern.years = years_between(earliest.year(), now.year())?;
                let opened = cron.find_previous_occurrence(&now, true).ok()?;
                let ends = Timestamp::from_jiff(opened.timestamp()).plus(duration.get());
                (at < ends).then_some(ends)
            }
        }
    }
}

impl MaintenanceSpec {
    /// The opening under way at `at`, as (start, end), if the window is open.
    pub fn opening_at(&self, at: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let ends = self.open_until(at)?;
        let starts = match &self.schedule {
            WindowSchedule::Once { starts_at, .. } => *starts_at,
            WindowSchedule::Recurring { duration, .. } => ends.minus(duration.get()),
        };
        Some((starts, ends))
    }

    /// The next `count` openings (start, end) that begin after `after`, soonest first: what a
    /// page shows as "next occurrences". A cron pattern is searched within the next two years
    /// only, so a pattern that never fires costs a bounded search.
    pub fn next_openings(&self, after: Timestamp, count: usize) -> Vec<(Timestamp, Timestamp)> {
        match &self.schedule {
            WindowSchedule::Once { starts_at, ends_at } => {
                if *starts_at > after && count > 0 {
                    vec![(*starts_at, *ends_at)]
                } else {
                    Vec::new()
                }
            }
            WindowSchedule::Recurring {
                cron,
                duration,
                timezone,
            } => {
                let (Ok(mut cron), Ok(zone)) = (
                    croner::Cron::from_str(cron),
                    jiff::tz::TimeZone::get(timezone),
                ) else {
                    return Vec::new();
                };
                let mut cursor = after.to_jiff().to_zoned(zone);
                let Some(years) = years_between(cursor.year(), cursor.year().saturating_add(2))
                else {
                    return Vec::new();
                };
                cron.pattern.years = years;
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Ok(next) = cron.find_next_occurrence(&cursor, false) else {
                        break;
                    };
                    let start = Timestamp::from_jiff(next.timestamp());
                    out.push((start, start.plus(duration.get())));
                    cursor = next;
                }
                out
            }
        }
    }
}

/// The years a recurring window can have opened in, as a cron year field. Without it croner
/// looks for the previous occurrence of a pattern that never fires (`0 0 30 2 *`, or `+` with no
/// weekday) a day at a time back to year 1: about a second for each call (found by fuzzing).
fn years_between(earliest: i16, latest: i16) -> Option<croner::CronComponent> {
    // croner's year field has no modifiers (its private `NONE_BIT`, 0).
    const NO_FEATURES: u8 = 0;
    let earliest = earliest.max(croner::YEAR_LOWER_LIMIT as i16);
    let mut years = croner::CronComponent::new(
        croner::YEAR_LOWER_LIMIT as u16,
        croner::YEAR_UPPER_LIMIT as u16,
        NO_FEATURES,
        0,
    );
    years.parse(&format!("{earliest}-{latest}")).ok()?;
    Some(years)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        Timestamp::from_jiff(text.parse().unwrap())
    }

    #[test]
    fn a_window_that_opened_last_year_is_still_open_and_one_that_never_opens_is_closed() {
        let new_year = MaintenanceSpec::parse(
            &json!({"name": "new year", "cron": "0 23 31 12 *", "duration": "2h"}),
            "",
        )
        .unwrap();
        assert_eq!(
            new_year.open_until(at("2027-01-01T00:30:00Z")),
            Some(at("2027-01-01T01:00:00Z"))
        );
        assert_eq!(new_year.open_until(at("2027-01-01T01:00:00Z")), None);
        // Patterns that never fire (fuzzing found croner searching back to year 1 for them).
        for cron in ["0 0 30 2 *", "0 0 29 2 +"] {
            let never = MaintenanceSpec::parse(
                &json!({"name": "never", "cron": cron, "duration": "1d"}),
                "",
            );
            if let Ok(never) = never {
                assert_eq!(never.open_until(at("2026-12-06T00:00:00Z")), None, "{cron}");
            }
        }
    }

    #[test]
    fn next_openings_list_the_coming_windows_and_stop_for_a_pattern_that_never_fires() {
        let weekly = MaintenanceSpec::parse(
            &json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h"}),
            "",
        )
        .unwrap();
        // 2026-12-06 is a Sunday: the one at 02:00 has begun, so the next is a week later.
        assert_eq!(
            weekly.next_openings(at("2026-12-06T03:00:00Z"), 2),
            vec![
                (at("2026-12-13T02:00:00Z"), at("2026-12-13T04:00:00Z")),
                (at("2026-12-20T02:00:00Z"), at("2026-12-20T04:00:00Z"))
            ]
        );
        let once = MaintenanceSpec::parse(
            &json!({"name": "once", "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z"}),
            "",
        )
        .unwrap();
        assert_eq!(
            once.next_openings(at("2026-12-06T00:00:00Z"), 3),
            vec![(at("2027-03-01T10:00:00Z"), at("2027-03-01T11:00:00Z"))]
        );
        assert!(once.next_openings(at("2027-03-01T10:00:00Z"), 3).is_empty());
        if let Ok(never) = MaintenanceSpec::parse(
            &json!({"name": "never", "cron": "0 0 30 2 *", "duration": "1d"}),
            "",
        ) {
            assert!(
                never
                    .next_openings(at("2026-12-06T00:00:00Z"), 3)
                    .is_empty()
            );
        }
    }

    #[test]
    fn the_guides_weekly_window_is_open_sundays_from_two_to_four_utc() {
        let weekly = MaintenanceSpec::parse(
            &json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h"}),
            "",
        )
        .unwrap();
        // 2026-12-06 is a Sunday.
        assert_eq!(weekly.open_until(at("2026-12-06T01:59:59Z")), None);
        assert_eq!(
            weekly.open_until(at("2026-12-06T02:00:00Z")),
            Some(at("2026-12-06T04:00:00Z"))
        );
        assert_eq!(
            weekly.open_until(at("2026-12-06T03:59:59Z")),
            Some(at("2026-12-06T04:00:00Z"))
        );
        assert_eq!(weekly.open_until(at("2026-12-06T04:00:00Z")), None);
        assert_eq!(
            weekly.open_until(at("2026-12-07T02:30:00Z")),
            None,
            "Monday"
        );
    }

    #[test]
    fn the_guides_monthly_window_is_the_first_sunday_only() {
        let monthly = MaintenanceSpec::parse(
            &json!({"name": "monthly", "cron": "0 2 * * SUN#1", "duration": "4h", "timezone": "UTC"}),
            "",
        )
        .unwrap();
        assert_eq!(
            monthly.open_until(at("2026-12-06T05:00:00Z")),
            Some(at("2026-12-06T06:00:00Z")),
            "6 December 2026 is the first Sunday"
        );
        assert_eq!(
            monthly.open_until(at("2026-12-13T03:00:00Z")),
            None,
            "the second Sunday"
        );
    }

    #[test]
    fn a_one_off_window_covers_its_monitors_or_tag() {
        let window = MaintenanceSpec::parse(
            &json!({"name": "db upgrade", "tag": "db", "starts_at": "2026-12-01T22:00:00Z", "ends_at": "2026-12-01T23:00:00Z"}),
            "",
        )
        .unwrap();
        assert!(window.applies_to(MonitorId(1), &["db".into()]));
        assert!(!window.applies_to(MonitorId(1), &["web".into()]));
        assert_eq!(
            window.open_until(at("2026-12-01T22:30:00Z")),
            Some(at("2026-12-01T23:00:00Z"))
        );
        assert_eq!(window.open_until(at("2026-12-01T23:00:00Z")), None);
        let team_wide = MaintenanceSpec::parse(
            &json!({"name": "all", "starts_at": "2026-12-01T22:00:00Z", "ends_at": "2026-12-01T23:00:00Z"}),
            "",
        )
        .unwrap();
        assert!(team_wide.applies_to(MonitorId(9), &[]));
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let problems = MaintenanceSpec::parse(
            &json!({"cron": "every sunday", "timezone": "Mars/Olympus", "colour": "red"}),
            "maintenance[0]",
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for field in [
            "maintenance[0].name",
            "maintenance[0].cron",
            "maintenance[0].timezone",
            "maintenance[0].duration",
            "maintenance[0].colour",
        ] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
        let backwards = MaintenanceSpec::parse(
            &json!({"name": "x", "starts_at": "2026-12-01T23:00:00Z", "ends_at": "2026-12-01T22:00:00Z"}),
            "",
        )
        .unwrap_err();
        assert_eq!(backwards[0].field, "ends_at");
        // An unreadable duration is one problem, not also "required".
        let unreadable = MaintenanceSpec::parse(
            &json!({"name": "x", "cron": "0 2 * * SUN", "duration": "long"}),
            "",
        )
        .unwrap_err();
        assert_eq!(unreadable.len(), 1, "{unreadable:?}");
        assert_eq!(unreadable[0].field, "duration");
    }
}
