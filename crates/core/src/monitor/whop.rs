//! Whop business-metric monitors: a figure of a creator's Whop company (active members, or today's
//! new members, cancellations, revenue or failed payments) checked against a threshold or against
//! the same weekday's average over the last weeks.

use super::fields::Fields;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Whop's API allows a few hundred requests a minute per key; a metric is a daily figure.
pub const MIN_WHOP_INTERVAL: Duration = Duration::from_secs(60);
/// The most weeks a baseline reaches back: each week is another day of items to read.
pub const MAX_BASELINE_WEEKS: u64 = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhopSettings {
    /// The creator's company, `biz_…`.
    pub company_id: String,
    /// A Whop API key that may read memberships and payments. Never shown back.
    pub api_key: String,
    pub metric: WhopMetric,
    pub condition: MetricCondition,
    /// Where a day starts for the per-day metrics (IANA name). UTC by default.
    pub timezone: String,
    /// The currency `revenue` adds up (lower-case ISO 4217); payments in others are left out.
    pub currency: String,
}

/// What a Whop monitor measures.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
pub enum WhopMetric {
    /// Memberships that are active or trialing now.
    ActiveMembers,
    /// Memberships created today.
    NewMembers,
    /// Memberships canceled today.
    Cancellations,
    /// The total of payments paid today in the monitor's currency.
    Revenue,
    /// Payments created today that failed.
    FailedPayments,
}

impl WhopMetric {
    pub const ALL: &'static [WhopMetric] = <WhopMetric as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        match self {
            WhopMetric::ActiveMembers => "active_members",
            WhopMetric::NewMembers => "new_members",
            WhopMetric::Cancellations => "cancellations",
            WhopMetric::Revenue => "revenue",
            WhopMetric::FailedPayments => "failed_payments",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|metric| metric.name() == name)
    }

    /// A count of events since the start of the day, which has a same-weekday history in Whop's
    /// items. Active members is a level now: Whop keeps no history of it to compare with.
    pub fn is_per_day(self) -> bool {
        !matches!(self, WhopMetric::ActiveMembers)
    }

    /// How people read the figure: "revenue today so far".
    pub fn label(self) -> &'static str {
        match self {
            WhopMetric::ActiveMembers => "active members",
            WhopMetric::NewMembers => "new members today so far",
            WhopMetric::Cancellations => "cancellations today so far",
            WhopMetric::Revenue => "revenue today so far",
            WhopMetric::FailedPayments => "failed payments today so far",
        }
    }
}

/// When a metric is a failure. Any of the bounds may be given; at least one must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetricCondition {
    /// DOWN while the figure is below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// DOWN while the figure is above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// DOWN when the figure is more than this percentage under the same weekday's average (up to
    /// the same time of day) over the last `weeks` weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_percent: Option<f64>,
    /// DOWN when the figure is more than this percentage over that average.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rise_percent: Option<f64>,
    /// Weeks the same-weekday average covers (1–8).
    pub weeks: u32,
}

impl MetricCondition {
    /// Whether the condition compares with the same weekday's history.
    pub fn needs_baseline(&self) -> bool {
        self.drop_percent.is_some() || self.rise_percent.is_some()
    }

    /// Why `value` (with its baseline, when one was read) is a failure, or `None` when it is not.
    /// A baseline of zero compares with nothing: no change from nothing is a percentage.
    pub fn broken_by(&self, value: f64, baseline: Option<f64>) -> Option<String> {
        if let Some(below) = self.below
            && value < below
        {
            return Some(format!("is below {}", figure(below)));
        }
        if let Some(above) = self.above
            && value > above
        {
            return Some(format!("is above {}", figure(above)));
        }
        let baseline = baseline.filter(|average| *average > 0.0)?;
        let change = (value - baseline) / baseline * 100.0;
        let weeks = self.weeks;
        if let Some(drop) = self.drop_percent
            && -change > drop
        {
            return Some(format!(
                "is {:.1}% under the same weekday's average of {} over {weeks} weeks (alert above {}%)",
                -change,
                figure(baseline),
                figure(drop)
            ));
        }
        if let Some(rise) = self.rise_percent
            && change > rise
        {
            return Some(format!(
                "is {change:.1}% over the same weekday's average of {} over {weeks} weeks (alert above {}%)",
                figure(baseline),
                figure(rise)
            ));
        }
        None
    }
}

/// A span of time, start included, end excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    pub fn holds(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// The windows a per-day metric is counted over at `now`: today from midnight in `timezone` to
/// now, and the same span of the same weekday in each of the `weeks` weeks before (calendar weeks
/// in that zone, so a daylight-saving change between them moves nothing). `None` for an unknown
/// zone (the parser refuses those).
pub fn day_windows(now: Timestamp, timezone: &str, weeks: u32) -> Option<(Window, Vec<Window>)> {
    let zone = jiff::tz::TimeZone::get(timezone).ok()?;
    let here = now.to_jiff().to_zoned(zone);
    let midnight = here.start_of_day().ok()?;
    let today = Window {
        start: Timestamp::from_jiff(midnight.timestamp()),
        end: now,
    };
    let earlier = (1..=i64::from(weeks))
        .filter_map(|week| {
            let back = jiff::Span::new().weeks(week);
            let start = midnight.checked_sub(back).ok()?;
            let end = here.checked_sub(back).ok()?;
            Some(Window {
                start: Timestamp::from_jiff(start.timestamp()),
                end: Timestamp::from_jiff(end.timestamp()),
            })
        })
        .collect();
    Some((today, earlier))
}

/// A figure as people write it: whole numbers without decimals, amounts with two.
pub fn figure(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

pub(crate) fn parse_whop(fields: &mut Fields<'_>) -> Option<WhopSettings> {
    let company_id = fields.required_string("company_id");
    if let Some(id) = &company_id
        && !(id.starts_with("biz_")
            && (5..=64).contains(&id.len())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        fields.problem(
            "company_id",
            "must be a Whop company id like biz_XXXXXXXXXXXX",
        );
    }
    let api_key = fields.required_string("api_key");
    if let Some(key) = &api_key
        && !super::secrets::keeps_stored(key)
        && (key.len() > 512 || key.chars().any(|c| c.is_ascii_control() || c == ' '))
    {
        fields.problem(
            "api_key",
            "must be a Whop API key: at most 512 characters, no spaces",
        );
    }
    let metric = match fields.required_string("metric") {
        Some(name) => WhopMetric::parse(&name).or_else(|| {
            let names: Vec<&str> = WhopMetric::ALL.iter().map(|m| m.name()).collect();
            fields.problem(
                "metric",
                format!(
                    "'{name}' is not a metric; use {}",
                    crate::validation::choices(&names)
                ),
            );
            None
        }),
        None => None,
    };
    let condition = match fields.raw("condition") {
        None => {
            fields.problem(
                "condition",
                "is required: give below, above, drop_percent or rise_percent",
            );
            None
        }
        Some(_) => fields.nested("condition", parse_condition),
    };
    if let (Some(metric), Some(condition)) = (metric, &condition)
        && condition.needs_baseline()
        && !metric.is_per_day()
    {
        fields.problem(
            "condition",
            "drop_percent and rise_percent compare a per-day metric with the same weekday; \
             active_members is a level without history in Whop: use below or above",
        );
    }
    let timezone = fields
        .string("timezone")
        .unwrap_or_else(|| "UTC".to_owned());
    if jiff::tz::TimeZone::get(&timezone).is_err() {
        fields.problem(
            "timezone",
            format!("'{timezone}' is not an IANA time zone like Europe/Paris"),
        );
    }
    let currency = fields
        .string("currency")
        .unwrap_or_else(|| "usd".to_owned())
        .to_ascii_lowercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        fields.problem("currency", "must be a three-letter currency code like usd");
    }
    Some(WhopSettings {
        company_id: company_id?,
        api_key: api_key?,
        metric: metric?,
        condition: condition?,
        timezone,
        currency,
    })
}

fn parse_condition(fields: &mut Fields<'_>) -> Option<MetricCondition> {
    let below = bound(fields, "below", false);
    let above = bound(fields, "above", false);
    let drop_percent = bound(fields, "drop_percent", true);
    let rise_percent = bound(fields, "rise_percent", true);
    let weeks = fields.number("weeks", 4, 1, MAX_BASELINE_WEEKS) as u32;
    let condition = MetricCondition {
        below,
        above,
        drop_percent,
        rise_percent,
        weeks,
    };
    // A bound given but refused above is a problem of its own, not a missing condition.
    let given = ["below", "above", "drop_percent", "rise_percent"]
        .iter()
        .any(|name| fields.raw(name).is_some());
    if !given {
        fields.problem(
            "below",
            "give at least one of below, above, drop_percent or rise_percent",
        );
        return None;
    }
    if let (Some(below), Some(above)) = (below, above)
        && below > above
    {
        fields.problem(
            "below",
            format!("must not be above 'above' ({})", figure(above)),
        );
    }
    Some(condition)
}

/// A bound of a condition: a number of at least 0, or a percentage in (0, 1000].
fn bound(fields: &mut Fields<'_>, name: &str, percent: bool) -> Option<f64> {
    let value = fields.raw(name)?;
    match value.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 && (!percent || (n > 0.0 && n <= 1000.0)) => Some(n),
        _ if percent => {
            fields.problem(name, "must be a percentage above 0 and at most 1000");
            None
        }
        _ => {
            fields.problem(name, "must be a number of at least 0");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{MonitorKind, MonitorSpec};
    use serde_json::{Value, json};

    fn problems(value: Value) -> Vec<String> {
        MonitorSpec::parse(&value, "")
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_revenue_monitor_parses_with_its_defaults() {
        let spec = MonitorSpec::parse(
            &json!({"name": "Revenue", "kind": "whop", "company_id": "biz_abc123",
                    "api_key": "apik_s3cret", "metric": "revenue", "interval": "5m",
                    "condition": {"drop_percent": 30}}),
            "",
        )
        .unwrap();
        let MonitorKind::Whop(whop) = &spec.kind else {
            panic!("not whop")
        };
        assert_eq!(whop.metric, WhopMetric::Revenue);
        assert_eq!(whop.condition.weeks, 4);
        assert_eq!(
            (whop.timezone.as_str(), whop.currency.as_str()),
            ("UTC", "usd")
        );
        let round_trip = MonitorSpec::parse(&spec.to_value(), "").unwrap();
        assert_eq!(round_trip, spec);
        assert!(
            !spec
                .redacted_value(false)
                .to_string()
                .contains("apik_s3cret")
        );
    }

    #[test]
    fn every_bad_field_is_listed() {
        let found = problems(json!({"name": "m", "kind": "whop", "company_id": "acme",
            "api_key": "has space", "metric": "profit", "interval": "30s",
            "timezone": "Mars/Base", "currency": "dollars",
            "condition": {"drop_percent": 0, "weeks": 9, "colour": "red"}}));
        for wanted in [
            "company_id: must be a Whop company id",
            "api_key: must be a Whop API key",
            "metric: 'profit' is not a metric",
            "interval: must be at least 1m",
            "timezone: 'Mars/Base' is not an IANA time zone",
            "currency: must be a three-letter currency code",
            "condition.drop_percent: must be a percentage",
            "condition.weeks: must be a whole number from 1 to 8",
            "condition.colour: is not a known field",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(wanted)),
                "{wanted} not in {found:?}"
            );
        }
        let found = problems(json!({"name": "m", "kind": "whop", "company_id": "biz_abc",
            "api_key": "k", "metric": "active_members", "condition": {"drop_percent": 10}}));
        assert!(
            found
                .iter()
                .any(|p| p.contains("active_members is a level")),
            "{found:?}"
        );
        let found = problems(json!({"name": "m", "kind": "whop", "company_id": "biz_abc",
            "api_key": "k", "metric": "revenue", "condition": {}}));
        assert!(
            found.iter().any(|p| p.contains("give at least one of")),
            "{found:?}"
        );
    }

    #[test]
    fn conditions_name_what_broke_them() {
        let condition = MetricCondition {
            below: Some(10.0),
            above: None,
            drop_percent: Some(30.0),
            rise_percent: Some(100.0),
            weeks: 4,
        };
        assert_eq!(condition.broken_by(12.0, Some(15.0)), None);
        assert_eq!(
            condition.broken_by(9.0, None).as_deref(),
            Some("is below 10")
        );
        let drop = condition.broken_by(60.0, Some(100.0)).unwrap();
        assert!(
            drop.starts_with("is 40.0% under the same weekday's average of 100"),
            "{drop}"
        );
        assert!(
            condition
                .broken_by(201.0, Some(100.0))
                .unwrap()
                .contains("over")
        );
        // No history (or none of it) gives no percentage to compare.
        assert_eq!(condition.broken_by(11.0, Some(0.0)), None);
        assert_eq!(condition.broken_by(11.0, None), None);
    }

    #[test]
    fn baseline_windows_are_the_same_weekday_up_to_the_same_time_across_daylight_saving() {
        // 2026-11-04 15:30 in New York (EST, UTC-5); four weeks back crosses the 1 November change.
        let now = Timestamp::from_jiff("2026-11-04T20:30:00Z".parse().unwrap());
        let (today, earlier) = day_windows(now, "America/New_York", 4).unwrap();
        assert_eq!(
            today.start,
            Timestamp::from_jiff("2026-11-04T05:00:00Z".parse().unwrap())
        );
        assert_eq!(today.end, now);
        assert_eq!(earlier.len(), 4);
        // 2026-10-28 was in EDT (UTC-4): midnight and 15:30 there are an hour earlier in UTC.
        assert_eq!(
            earlier[0].start,
            Timestamp::from_jiff("2026-10-28T04:00:00Z".parse().unwrap())
        );
        assert_eq!(
            earlier[0].end,
            Timestamp::from_jiff("2026-10-28T19:30:00Z".parse().unwrap())
        );
        assert_eq!(
            earlier[3].start,
            Timestamp::from_jiff("2026-10-07T04:00:00Z".parse().unwrap())
        );
        assert!(earlier[0].holds(earlier[0].start) && !earlier[0].holds(earlier[0].end));
    }
}
