//! Plans and their limits: the canonical table (docs/PERMISSIONS.md), an operator's overrides from
//! config, limit checks that name the cheapest plan that would allow the request, and downgrades.

use crate::duration::HumanDuration;
use crate::ids::MonitorId;
use crate::monitor::{MAX_INTERVAL, MIN_INTERVAL, Monitor, MonitorKind, MonitorSpec};
use crate::time::Timestamp;
use crate::validation::{FieldError, Problems};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// A team's plan. The four sold plans are ordered cheapest first; `Unlimited` is what a
/// self-hosted instance without billing gives new teams unless configured otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Starter,
    Professional,
    Enterprise,
    Unlimited,
}

impl Plan {
    /// Every plan.
    pub const ALL: [Plan; 5] = [
        Plan::Free,
        Plan::Starter,
        Plan::Professional,
        Plan::Enterprise,
        Plan::Unlimited,
    ];
    /// The plans a team can buy, cheapest first; an `upgrade_to` is always one of these.
    pub const LADDER: [Plan; 4] = [
        Plan::Free,
        Plan::Starter,
        Plan::Professional,
        Plan::Enterprise,
    ];

    /// Parses the API spelling (`free`, `starter`, `professional`, `enterprise`, `unlimited`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|plan| plan.as_str() == raw)
            .ok_or_else(|| {
                format!("'{raw}' is not a plan; use free, starter, professional, enterprise or unlimited")
            })
    }

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Professional => "professional",
            Plan::Enterprise => "enterprise",
            Plan::Unlimited => "unlimited",
        }
    }

    /// The name shown to people, such as `Professional`.
    pub fn display_name(self) -> &'static str {
        match self {
            Plan::Free => "Free",
            Plan::Starter => "Starter",
            Plan::Professional => "Professional",
            Plan::Enterprise => "Enterprise",
            Plan::Unlimited => "Unlimited",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of notification channel, each of which a plan may or may not include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Email,
    Slack,
    Discord,
    Webhook,
    Sms,
    Telegram,
    Teams,
    Pagerduty,
    /// Push notifications to the mobile app.
    Push,
}

impl ChannelKind {
    /// Every channel kind.
    pub const ALL: [ChannelKind; 9] = [
        ChannelKind::Email,
        ChannelKind::Slack,
        ChannelKind::Discord,
        ChannelKind::Webhook,
        ChannelKind::Sms,
        ChannelKind::Telegram,
        ChannelKind::Teams,
        ChannelKind::Pagerduty,
        ChannelKind::Push,
    ];

    /// The API spelling, such as `pagerduty`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Sms => "sms",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Teams => "teams",
            ChannelKind::Pagerduty => "pagerduty",
            ChannelKind::Push => "push",
        }
    }
}

/// What one plan allows. `None` in a `max_*` field means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanLimits {
    pub max_monitors: Option<u32>,
    /// The shortest interval at which WatchTower probes a monitor.
    pub min_interval: HumanDuration,
    /// Days of history kept; `None` keeps whatever the instance's retention settings keep.
    pub retention_days: Option<u32>,
    pub max_alert_rules: Option<u32>,
    pub max_members: Option<u32>,
    pub channel_kinds: BTreeSet<ChannelKind>,
    /// Certificate monitors (the `tls` kind).
    pub ssl_monitoring: bool,
    pub whop_metrics: bool,
    /// API keys; the web interface's own calls under a session are always allowed.
    pub api_access: bool,
    pub custom_status_domains: bool,
}

impl PlanLimits {
    /// The canonical limits of `plan`, before any operator override.
    pub fn canonical(plan: Plan) -> Self {
        use ChannelKind::*;
        let minutes = |m: u64| HumanDuration::from_secs(m * 60);
        let kinds = |list: &[ChannelKind]| list.iter().copied().collect::<BTreeSet<_>>();
        match plan {
            Plan::Free => Self {
                max_monitors: Some(3),
                min_interval: minutes(60),
                retention_days: Some(7),
                max_alert_rules: Some(1),
                max_members: Some(1),
                channel_kinds: kinds(&[Email]),
                ssl_monitoring: false,
                whop_metrics: false,
                api_access: false,
                custom_status_domains: false,
            },
            Plan::Starter => Self {
                max_monitors: Some(25),
                min_interval: minutes(10),
                retention_days: Some(30),
                max_alert_rules: Some(10),
                max_members: Some(3),
                channel_kinds: kinds(&[Email, Slack]),
                ssl_monitoring: true,
                whop_metrics: true,
                ..Self::canonical(Plan::Free)
            },
            Plan::Professional => Self {
                max_monitors: Some(100),
                min_interval: minutes(5),
                retention_days: Some(90),
                max_alert_rules: Some(50),
                max_members: Some(10),
                channel_kinds: kinds(&[Email, Slack, Discord, Webhook, Sms]),
                api_access: true,
                custom_status_domains: true,
                ..Self::canonical(Plan::Starter)
            },
            Plan::Enterprise => Self {
                max_monitors: None,
                min_interval: minutes(1),
                retention_days: Some(365),
                max_alert_rules: None,
                max_members: None,
                channel_kinds: kinds(&ChannelKind::ALL),
                ..Self::canonical(Plan::Professional)
            },
            Plan::Unlimited => Self {
                min_interval: HumanDuration(MIN_INTERVAL),
                retention_days: None,
                ..Self::canonical(Plan::Enterprise)
            },
        }
    }

    /// Whether these limits allow `demand`.
    pub fn allows(&self, demand: &Demand) -> bool {
        let within = |max: Option<u32>, count: u32| max.is_none_or(|max| count <= max);
        match *demand {
            Demand::Monitors(count) => within(self.max_monitors, count),
            Demand::AlertRules(count) => within(self.max_alert_rules, count),
            Demand::Members(count) => within(self.max_members, count),
            Demand::Interval(interval) => interval >= self.min_interval.get(),
            Demand::ChannelKind(kind) => self.channel_kinds.contains(&kind),
            Demand::SslMonitoring => self.ssl_monitoring,
            Demand::WhopMetrics => self.whop_metrics,
            Demand::ApiAccess => self.api_access,
            Demand::CustomStatusDomain => self.custom_status_domains,
        }
    }

    /// The interval a monitor actually runs at: after a downgrade nothing is edited, and a
    /// monitor faster than the plan allows runs at the plan's minimum.
    pub fn effective_interval(&self, interval: Duration) -> Duration {
        interval.max(self.min_interval.get())
    }

    /// The value of the limit `demand` is checked against, for the 402 body.
    fn allowed_value(&self, demand: &Demand) -> LimitValue {
        let count = |max: Option<u32>| LimitValue::Count(max.unwrap_or(u32::MAX));
        match demand {
            Demand::Monitors(_) => count(self.max_monitors),
            Demand::AlertRules(_) => count(self.max_alert_rules),
            Demand::Members(_) => count(self.max_members),
            Demand::Interval(_) => LimitValue::Duration(self.min_interval),
            Demand::ChannelKind(_) => {
                LimitValue::ChannelKinds(self.channel_kinds.iter().copied().collect())
            }
            Demand::SslMonitoring
            | Demand::WhopMetrics
            | Demand::ApiAccess
            | Demand::CustomStatusDomain => LimitValue::Feature(self.allows(demand)),
        }
    }
}

/// Something a request needs from the team's plan. Counts are what the team would have after
/// the request (creating the 4th monitor demands `Monitors(4)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    Monitors(u32),
    AlertRules(u32),
    Members(u32),
    Interval(Duration),
    ChannelKind(ChannelKind),
    SslMonitoring,
    WhopMetrics,
    ApiAccess,
    CustomStatusDomain,
}

impl Demand {
    /// The name of the limit, as the 402 body's `limit` spells it.
    pub fn limit(&self) -> &'static str {
        match self {
            Demand::Monitors(_) => "monitors",
            Demand::AlertRules(_) => "alert_rules",
            Demand::Members(_) => "members",
            Demand::Interval(_) => "min_interval",
            Demand::ChannelKind(_) => "channel_kind",
            Demand::SslMonitoring => "ssl_monitoring",
            Demand::WhopMetrics => "whop_metrics",
            Demand::ApiAccess => "api_access",
            Demand::CustomStatusDomain => "custom_status_domains",
        }
    }

    fn value(&self) -> LimitValue {
        match *self {
            Demand::Monitors(count) | Demand::AlertRules(count) | Demand::Members(count) => {
                LimitValue::Count(count)
            }
            Demand::Interval(interval) => LimitValue::Duration(HumanDuration(interval)),
            Demand::ChannelKind(kind) => LimitValue::ChannelKind(kind),
            _ => LimitValue::Feature(true),
        }
    }
}

/// The value on either side of a limit, serialized as a bare number, duration text, channel
/// kind, list of kinds or boolean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LimitValue {
    Count(u32),
    Duration(HumanDuration),
    ChannelKind(ChannelKind),
    ChannelKinds(Vec<ChannelKind>),
    Feature(bool),
}

/// A request the team's plan does not allow: HTTP 402, with `upgrade_to` the cheapest plan that
/// would allow it (`None` when no plan above the team's does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.message())]
pub struct PlanLimitExceeded {
    pub limit: &'static str,
    /// What the request asks for: the count it would reach, the interval, the channel kind.
    pub current: LimitValue,
    pub allowed: LimitValue,
    pub plan: Plan,
    pub upgrade_to: Option<Plan>,
}

impl PlanLimitExceeded {
    /// A sentence for people, such as "The Free plan allows 3 monitors; this would make 4.
    /// The Starter plan allows it."
    pub fn message(&self) -> String {
        let plan = self.plan.display_name();
        let what = match (&self.current, &self.allowed) {
            (LimitValue::Count(current), LimitValue::Count(allowed)) => format!(
                "The {plan} plan allows {allowed} {}; this would make {current}.",
                self.limit.replace('_', " ")
            ),
            (LimitValue::Duration(current), LimitValue::Duration(allowed)) => {
                format!("The {plan} plan checks at most every {allowed}; {current} is more often.")
            }
            (LimitValue::ChannelKind(kind), _) => {
                format!(
                    "The {plan} plan does not include {} channels.",
                    kind.as_str()
                )
            }
            _ => format!(
                "The {plan} plan does not include {}.",
                self.limit.replace('_', " ")
            ),
        };
        match self.upgrade_to {
            Some(upgrade) => format!("{what} The {} plan allows it.", upgrade.display_name()),
            None => what,
        }
    }

    /// The whole 402 response body: `{"error": {"code": "plan_limit", "message", "limit",
    /// "current", "allowed", "plan", "upgrade_to"}}`.
    pub fn error_body(&self) -> serde_json::Value {
        let mut error = serde_json::to_value(self).expect("a plan limit always serializes");
        error["code"] = "plan_limit".into();
        error["message"] = self.message().into();
        serde_json::json!({ "error": error })
    }
}

/// The limits of every plan in force, and the plan new teams get without billing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PlanConfig")]
pub struct PlanTable {
    limits: [PlanLimits; 5],
    default_plan: Plan,
}

impl Default for PlanTable {
    /// The canonical table, with `Unlimited` as the default plan.
    fn default() -> Self {
        Self {
            limits: Plan::ALL.map(PlanLimits::canonical),
            default_plan: Plan::Unlimited,
        }
    }
}

impl PlanTable {
    /// The limits of `plan`.
    pub fn limits(&self, plan: Plan) -> &PlanLimits {
        &self.limits[plan as usize]
    }

    /// The plan a new team gets when billing does not say otherwise.
    pub fn default_plan(&self) -> Plan {
        self.default_plan
    }

    /// Checks `demand` against `plan`, naming the cheapest higher plan that would allow it.
    pub fn check(&self, plan: Plan, demand: Demand) -> Result<(), PlanLimitExceeded> {
        let limits = self.limits(plan);
        if limits.allows(&demand) {
            return Ok(());
        }
        let upgrade_to = Plan::LADDER
            .into_iter()
            .skip_while(|candidate| *candidate != plan)
            .skip(1)
            .find(|candidate| self.limits(*candidate).allows(&demand));
        Err(PlanLimitExceeded {
            limit: demand.limit(),
            current: demand.value(),
            allowed: limits.allowed_value(&demand),
            plan,
            upgrade_to,
        })
    }

    /// Checks what a monitor's spec needs from `plan`: its interval (push monitors are exempt,
    /// since the user's job sends the pings) and SSL monitoring for the `tls` kind. HTTPS
    /// monitors keep their certificate-expiry warning on every plan: it comes with the request.
    /// The count of monitors is checked separately with [`Demand::Monitors`].
    pub fn check_monitor(
        &self,
        plan: Plan,
        spec: &MonitorSpec,
    ) -> Result<(), Vec<PlanLimitExceeded>> {
        let mut demands = Vec::new();
        if !matches!(spec.kind, MonitorKind::Push(_)) {
            demands.push(Demand::Interval(spec.interval.get()));
        }
        if needs_ssl_monitoring(&spec.kind) {
            demands.push(Demand::SslMonitoring);
        }
        let exceeded: Vec<_> = demands
            .into_iter()
            .filter_map(|demand| self.check(plan, demand).err())
            .collect();
        if exceeded.is_empty() {
            Ok(())
        } else {
            Err(exceeded)
        }
    }

    /// Builds the table from an operator's config, listing every bad value with its field.
    pub fn from_config(config: PlanConfig) -> Result<Self, PlanTableError> {
        let mut table = Self::default();
        let mut problems = Problems::new();
        if let Some(plan) = config.default_plan {
            table.default_plan = plan;
        }
        let overrides = [
            (Plan::Free, config.free),
            (Plan::Starter, config.starter),
            (Plan::Professional, config.professional),
            (Plan::Enterprise, config.enterprise),
            (Plan::Unlimited, config.unlimited),
        ];
        for (plan, change) in overrides {
            if let Some(change) = change {
                change.apply(
                    &mut table.limits[plan as usize],
                    plan.as_str(),
                    &mut problems,
                );
            }
        }
        if problems.is_empty() {
            Ok(table)
        } else {
            Err(PlanTableError(problems.list))
        }
    }
}

impl TryFrom<PlanConfig> for PlanTable {
    type Error = PlanTableError;
    fn try_from(config: PlanConfig) -> Result<Self, Self::Error> {
        Self::from_config(config)
    }
}

/// Bad values in the plans config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PlanTableError(pub Vec<FieldError>);

/// The plans section of the config: the default plan and any plan's limits to change. Unknown
/// plans and fields are refused by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    pub default_plan: Option<Plan>,
    pub free: Option<PlanOverride>,
    pub starter: Option<PlanOverride>,
    pub professional: Option<PlanOverride>,
    pub enterprise: Option<PlanOverride>,
    pub unlimited: Option<PlanOverride>,
}

/// Changes to one plan's limits; a missing field keeps the canonical value. Counts and
/// `retention_days` take a number or `"unlimited"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanOverride {
    #[serde(default, deserialize_with = "count_or_unlimited")]
    pub max_monitors: Option<Option<u32>>,
    pub min_interval: Option<HumanDuration>,
    #[serde(default, deserialize_with = "count_or_unlimited")]
    pub retention_days: Option<Option<u32>>,
    #[serde(default, deserialize_with = "count_or_unlimited")]
    pub max_alert_rules: Option<Option<u32>>,
    #[serde(default, deserialize_with = "count_or_unlimited")]
    pub max_members: Option<Option<u32>>,
    pub channel_kinds: Option<BTreeSet<ChannelKind>>,
    pub ssl_monitoring: Option<bool>,
    pub whop_metrics: Option<bool>,
    pub api_access: Option<bool>,
    pub custom_status_domains: Option<bool>,
}

impl PlanOverride {
    fn apply(self, limits: &mut PlanLimits, prefix: &str, problems: &mut Problems) {
        if let Some(interval) = self.min_interval {
            if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval.get()) {
                problems.add(prefix, "min_interval", "must be from 1s to 7d");
            }
            limits.min_interval = interval;
        }
        if self.retention_days == Some(Some(0)) {
            problems.add(prefix, "retention_days", "must be at least 1");
        }
        if self.max_members == Some(Some(0)) {
            problems.add(
                prefix,
                "max_members",
                "must be at least 1: a team has its owner",
            );
        }
        let set = |field: &mut Option<u32>, value: Option<Option<u32>>| {
            if let Some(value) = value {
                *field = value;
            }
        };
        set(&mut limits.max_monitors, self.max_monitors);
        set(&mut limits.retention_days, self.retention_days);
        set(&mut limits.max_alert_rules, self.max_alert_rules);
        set(&mut limits.max_members, self.max_members);
        if let Some(kinds) = self.channel_kinds {
            limits.channel_kinds = kinds;
        }
        limits.ssl_monitoring = self.ssl_monitoring.unwrap_or(limits.ssl_monitoring);
        limits.whop_metrics = self.whop_metrics.unwrap_or(limits.whop_metrics);
        limits.api_access = self.api_access.unwrap_or(limits.api_access);
        limits.custom_status_domains = self
            .custom_status_domains
            .unwrap_or(limits.custom_status_domains);
    }
}

/// Reads a number or `"unlimited"` (as `None`).
fn count_or_unlimited<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<u32>>, D::Error> {
    struct CountVisitor;
    impl serde::de::Visitor<'_> for CountVisitor {
        type Value = Option<u32>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number or \"unlimited\"")
        }
        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
            u32::try_from(value)
                .map(Some)
                .map_err(|_| E::custom(format!("{value} is too large; use \"unlimited\"")))
        }
        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
            u64::try_from(value)
                .map_err(|_| E::custom(format!("{value} is negative")))
                .and_then(|value| self.visit_u64(value))
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
            match value {
                "unlimited" => Ok(None),
                other => Err(E::custom(format!(
                    "'{other}' is not a count; use a whole number or \"unlimited\""
                ))),
            }
        }
    }
    deserializer.deserialize_any(CountVisitor).map(Some)
}

/// Whether a monitor of this kind needs the plan's SSL monitoring: the `tls` kind does.
pub fn needs_ssl_monitoring(kind: &MonitorKind) -> bool {
    matches!(kind, MonitorKind::Tls(_))
}

/// What a downgrade needs to know of one monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorSummary {
    pub id: MonitorId,
    pub created_at: Timestamp,
    pub paused: bool,
    /// Whether it needs SSL monitoring (see [`needs_ssl_monitoring`]).
    pub needs_ssl_monitoring: bool,
}

impl MonitorSummary {
    /// The summary of a stored monitor.
    pub fn of(monitor: &Monitor) -> Self {
        Self {
            id: monitor.id,
            created_at: monitor.created_at,
            paused: monitor.spec.paused,
            needs_ssl_monitoring: needs_ssl_monitoring(&monitor.spec.kind),
        }
    }
}

/// Why a downgrade paused a monitor, to tell the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The plan does not include SSL monitoring.
    SslMonitoring,
    /// The team has more active monitors than the plan allows; the newest are paused.
    MonitorLimit,
}

/// The monitors to pause so a team fits `limits` (after a downgrade; nothing is deleted):
/// first the active ones the plan cannot run, then the newest active ones until the rest fit.
pub fn monitors_to_pause(
    monitors: &[MonitorSummary],
    limits: &PlanLimits,
) -> Vec<(MonitorId, PauseReason)> {
    let mut active: Vec<&MonitorSummary> = monitors.iter().filter(|m| !m.paused).collect();
    // Newest first; the id breaks ties between monitors created in the same millisecond.
    active.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    let mut pause = Vec::new();
    if !limits.ssl_monitoring {
        active.retain(|m| {
            if m.needs_ssl_monitoring {
                pause.push((m.id, PauseReason::SslMonitoring));
            }
            !m.needs_ssl_monitoring
        });
    }
    if let Some(max) = limits.max_monitors {
        let over = active.len().saturating_sub(max as usize);
        pause.extend(
            active[..over]
                .iter()
                .map(|m| (m.id, PauseReason::MonitorLimit)),
        );
    }
    pause
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> PlanTable {
        PlanTable::default()
    }

    fn spec(value: serde_json::Value) -> MonitorSpec {
        MonitorSpec::parse(&value, "").unwrap()
    }

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn the_canonical_table_is_the_issues() {
        use ChannelKind::*;
        // (plan, monitors, min interval in minutes, retention days, rules, members)
        let rows = [
            (Plan::Free, Some(3), 60, Some(7), Some(1), Some(1)),
            (Plan::Starter, Some(25), 10, Some(30), Some(10), Some(3)),
            (
                Plan::Professional,
                Some(100),
                5,
                Some(90),
                Some(50),
                Some(10),
            ),
            (Plan::Enterprise, None, 1, Some(365), None, None),
        ];
        for (plan, monitors, interval, retention, rules, members) in rows {
            let limits = table().limits(plan).clone();
            assert_eq!(limits.max_monitors, monitors, "{plan}");
            assert_eq!(limits.min_interval.get(), minutes(interval), "{plan}");
            assert_eq!(limits.retention_days, retention, "{plan}");
            assert_eq!(limits.max_alert_rules, rules, "{plan}");
            assert_eq!(limits.max_members, members, "{plan}");
        }
        let kinds = |plan| Vec::from_iter(table().limits(plan).channel_kinds.iter().copied());
        assert_eq!(kinds(Plan::Free), [Email]);
        assert_eq!(kinds(Plan::Starter), [Email, Slack]);
        assert_eq!(
            kinds(Plan::Professional),
            [Email, Slack, Discord, Webhook, Sms]
        );
        assert_eq!(kinds(Plan::Enterprise), ChannelKind::ALL);
        // (plan, ssl monitoring, whop metrics, api access, custom status domains)
        let features = [
            (Plan::Free, [false, false, false, false]),
            (Plan::Starter, [true, true, false, false]),
            (Plan::Professional, [true, true, true, true]),
            (Plan::Enterprise, [true, true, true, true]),
            (Plan::Unlimited, [true, true, true, true]),
        ];
        for (plan, expected) in features {
            let l = table().limits(plan).clone();
            let actual = [
                l.ssl_monitoring,
                l.whop_metrics,
                l.api_access,
                l.custom_status_domains,
            ];
            assert_eq!(actual, expected, "{plan}");
        }
    }

    #[test]
    fn self_hosted_teams_default_to_unlimited() {
        let table = table();
        assert_eq!(table.default_plan(), Plan::Unlimited);
        let unlimited = table.limits(Plan::Unlimited);
        assert_eq!(unlimited.max_monitors, None);
        assert_eq!(unlimited.retention_days, None);
        assert_eq!(unlimited.min_interval.get(), MIN_INTERVAL);
        assert!(
            table
                .check(Plan::Unlimited, Demand::Monitors(1_000_000))
                .is_ok()
        );
    }

    #[test]
    fn the_third_monitor_on_free_fits_and_the_fourth_names_starter() {
        let table = table();
        assert!(table.check(Plan::Free, Demand::Monitors(3)).is_ok());
        let exceeded = table.check(Plan::Free, Demand::Monitors(4)).unwrap_err();
        assert_eq!(
            exceeded.error_body(),
            json!({"error": {
                "code": "plan_limit",
                "message": "The Free plan allows 3 monitors; this would make 4. The Starter plan allows it.",
                "limit": "monitors", "current": 4, "allowed": 3, "plan": "free", "upgrade_to": "starter"
            }})
        );
        assert!(table.check(Plan::Starter, Demand::Monitors(25)).is_ok());
        let over = table
            .check(Plan::Starter, Demand::Monitors(26))
            .unwrap_err();
        assert_eq!(over.upgrade_to, Some(Plan::Professional));
        let over = table
            .check(Plan::Professional, Demand::Monitors(101))
            .unwrap_err();
        assert_eq!(over.upgrade_to, Some(Plan::Enterprise));
    }

    #[test]
    fn each_count_limit_holds_at_its_boundary() {
        let table = table();
        // (plan, demand at the limit, demand past it, cheapest plan that allows it)
        let cases = [
            (
                Plan::Free,
                Demand::AlertRules(1),
                Demand::AlertRules(2),
                Plan::Starter,
            ),
            (
                Plan::Free,
                Demand::Members(1),
                Demand::Members(2),
                Plan::Starter,
            ),
            (
                Plan::Starter,
                Demand::Members(3),
                Demand::Members(4),
                Plan::Professional,
            ),
            (
                Plan::Starter,
                Demand::AlertRules(10),
                Demand::AlertRules(11),
                Plan::Professional,
            ),
            (
                Plan::Professional,
                Demand::Members(10),
                Demand::Members(11),
                Plan::Enterprise,
            ),
            (
                Plan::Professional,
                Demand::AlertRules(50),
                Demand::AlertRules(51),
                Plan::Enterprise,
            ),
        ];
        for (plan, at, past, upgrade) in cases {
            assert!(table.check(plan, at).is_ok(), "{plan} {at:?}");
            let exceeded = table.check(plan, past).unwrap_err();
            assert_eq!(exceeded.upgrade_to, Some(upgrade), "{plan} {past:?}");
        }
        // Skips a plan that does not allow it: 30 members needs Enterprise, not Professional.
        let exceeded = table.check(Plan::Free, Demand::Members(30)).unwrap_err();
        assert_eq!(exceeded.upgrade_to, Some(Plan::Enterprise));
        assert_eq!(exceeded.limit, "members");
    }

    #[test]
    fn intervals_hold_at_each_plans_minimum() {
        let table = table();
        assert!(
            table
                .check(Plan::Free, Demand::Interval(minutes(60)))
                .is_ok()
        );
        let exceeded = table
            .check(Plan::Free, Demand::Interval(minutes(59)))
            .unwrap_err();
        assert_eq!(exceeded.limit, "min_interval");
        assert_eq!(serde_json::to_value(&exceeded.current).unwrap(), "59m");
        assert_eq!(serde_json::to_value(&exceeded.allowed).unwrap(), "1h");
        assert_eq!(exceeded.upgrade_to, Some(Plan::Starter));
        let exceeded = table
            .check(Plan::Free, Demand::Interval(minutes(3)))
            .unwrap_err();
        assert_eq!(exceeded.upgrade_to, Some(Plan::Enterprise));
        assert!(
            table
                .check(Plan::Enterprise, Demand::Interval(minutes(1)))
                .is_ok()
        );
        let exceeded = table
            .check(Plan::Enterprise, Demand::Interval(Duration::from_secs(30)))
            .unwrap_err();
        assert_eq!(exceeded.upgrade_to, None);
        assert!(exceeded.message().ends_with("30s is more often."));
        assert_eq!(
            table.limits(Plan::Free).effective_interval(minutes(5)),
            minutes(60)
        );
    }

    #[test]
    fn channels_and_features_name_the_plan_that_has_them() {
        let table = table();
        let upgrade = |plan, demand| table.check(plan, demand).unwrap_err().upgrade_to;
        assert!(
            table
                .check(Plan::Free, Demand::ChannelKind(ChannelKind::Email))
                .is_ok()
        );
        let slack = table.check(Plan::Free, Demand::ChannelKind(ChannelKind::Slack));
        let slack = slack.unwrap_err();
        assert_eq!(slack.upgrade_to, Some(Plan::Starter));
        assert_eq!(
            serde_json::to_value(&slack).unwrap()["allowed"],
            json!(["email"])
        );
        assert!(
            slack
                .message()
                .starts_with("The Free plan does not include slack channels.")
        );
        let sms = Demand::ChannelKind(ChannelKind::Sms);
        assert_eq!(upgrade(Plan::Starter, sms), Some(Plan::Professional));
        let push = Demand::ChannelKind(ChannelKind::Push);
        assert_eq!(upgrade(Plan::Professional, push), Some(Plan::Enterprise));
        assert_eq!(
            upgrade(Plan::Free, Demand::SslMonitoring),
            Some(Plan::Starter)
        );
        assert_eq!(
            upgrade(Plan::Free, Demand::WhopMetrics),
            Some(Plan::Starter)
        );
        assert_eq!(
            upgrade(Plan::Starter, Demand::ApiAccess),
            Some(Plan::Professional)
        );
        let domains = Demand::CustomStatusDomain;
        assert_eq!(upgrade(Plan::Free, domains), Some(Plan::Professional));
        assert!(table.check(Plan::Professional, Demand::ApiAccess).is_ok());
    }

    #[test]
    fn a_monitor_spec_is_checked_for_interval_and_ssl_monitoring() {
        let table = table();
        let hourly_http =
            spec(json!({"name": "w", "kind": "http", "url": "https://e.com", "interval": "1h"}));
        assert_eq!(table.check_monitor(Plan::Free, &hourly_http), Ok(()));
        let fast_http =
            spec(json!({"name": "w", "kind": "http", "url": "https://e.com", "interval": "59m"}));
        let exceeded = table.check_monitor(Plan::Free, &fast_http).unwrap_err();
        assert_eq!(exceeded.len(), 1);
        assert_eq!(exceeded[0].limit, "min_interval");
        let fast_tls = spec(json!({"name": "c", "kind": "tls", "host": "e.com", "interval": "5m"}));
        let limits: Vec<_> = table
            .check_monitor(Plan::Free, &fast_tls)
            .unwrap_err()
            .iter()
            .map(|e| e.limit)
            .collect();
        assert_eq!(limits, ["min_interval", "ssl_monitoring"]);
        assert!(table.check_monitor(Plan::Professional, &fast_tls).is_ok());
        // Push monitors are pinged by the user's job, so their interval is not limited.
        let push = spec(json!({"name": "p", "kind": "push", "period": "5m", "interval": "30s"}));
        assert_eq!(table.check_monitor(Plan::Free, &push), Ok(()));
    }

    #[test]
    fn an_operator_overrides_part_of_a_plan() {
        let table: PlanTable = serde_json::from_value(json!({
            "default_plan": "free",
            "free": {"max_monitors": 5, "min_interval": "30m", "channel_kinds": ["email", "slack"]},
            "enterprise": {"retention_days": "unlimited", "max_members": 500}
        }))
        .unwrap();
        assert_eq!(table.default_plan(), Plan::Free);
        let free = table.limits(Plan::Free);
        assert_eq!(free.max_monitors, Some(5));
        assert_eq!(free.min_interval.get(), minutes(30));
        assert_eq!(free.retention_days, Some(7), "not overridden");
        assert!(
            table
                .check(Plan::Free, Demand::ChannelKind(ChannelKind::Slack))
                .is_ok()
        );
        assert_eq!(table.limits(Plan::Enterprise).retention_days, None);
        assert_eq!(table.limits(Plan::Enterprise).max_members, Some(500));
        assert_eq!(
            table.limits(Plan::Starter),
            &PlanLimits::canonical(Plan::Starter)
        );
        assert_eq!(
            table
                .check(Plan::Free, Demand::Monitors(6))
                .unwrap_err()
                .upgrade_to,
            Some(Plan::Starter)
        );
    }

    #[test]
    fn bad_plan_config_is_refused_with_a_clear_message() {
        let error = |value| {
            serde_json::from_value::<PlanTable>(value)
                .unwrap_err()
                .to_string()
        };
        let cases = [
            (json!({"gold": {}}), "unknown field `gold`"),
            (
                json!({"free": {"max_monitor": 4}}),
                "unknown field `max_monitor`",
            ),
            (json!({"default_plan": "gold"}), "unknown variant `gold`"),
            (
                json!({"free": {"channel_kinds": ["fax"]}}),
                "unknown variant `fax`",
            ),
            (json!({"free": {"max_monitors": -1}}), "-1 is negative"),
            (
                json!({"free": {"max_monitors": "lots"}}),
                "'lots' is not a count",
            ),
            (json!({"free": {"min_interval": "5x"}}), "unknown unit"),
            (
                json!({"free": {"min_interval": "0s", "max_members": 0}, "starter": {"retention_days": 0}}),
                "free.min_interval: must be from 1s to 7d; free.max_members: must be at least 1: a team has its owner; starter.retention_days: must be at least 1",
            ),
        ];
        for (value, expected) in cases {
            let message = error(value.clone());
            assert!(message.contains(expected), "{value}: {message}");
        }
    }

    fn summary(id: i64, created_at: i64, paused: bool, tls: bool) -> MonitorSummary {
        MonitorSummary {
            id: MonitorId(id),
            created_at: Timestamp(created_at),
            paused,
            needs_ssl_monitoring: tls,
        }
    }

    #[test]
    fn a_downgrade_pauses_the_newest_active_monitors_until_they_fit() {
        let free = PlanLimits::canonical(Plan::Free);
        let monitors = [
            summary(1, 100, false, false),
            summary(2, 500, false, false),
            summary(3, 200, true, false),
            summary(4, 300, false, false),
            summary(5, 400, false, false),
            summary(6, 500, false, false),
        ];
        // Five active, three allowed: the two newest (id 6 beats id 2 at the same instant).
        assert_eq!(
            monitors_to_pause(&monitors, &free),
            [
                (MonitorId(6), PauseReason::MonitorLimit),
                (MonitorId(2), PauseReason::MonitorLimit)
            ]
        );
        assert!(
            monitors_to_pause(&monitors[..4], &free).is_empty(),
            "3 active fit"
        );
        let unlimited = PlanLimits::canonical(Plan::Unlimited);
        assert!(monitors_to_pause(&monitors, &unlimited).is_empty());
    }

    #[test]
    fn a_downgrade_pauses_certificate_monitors_first_when_ssl_is_gone() {
        let free = PlanLimits::canonical(Plan::Free);
        let monitors = [
            summary(1, 100, false, true),
            summary(2, 200, false, false),
            summary(3, 300, false, false),
            summary(4, 400, false, false),
            summary(5, 500, false, false),
            summary(6, 600, true, true),
        ];
        assert_eq!(
            monitors_to_pause(&monitors, &free),
            [
                (MonitorId(1), PauseReason::SslMonitoring),
                (MonitorId(5), PauseReason::MonitorLimit)
            ]
        );
        let starter = PlanLimits::canonical(Plan::Starter);
        assert!(monitors_to_pause(&monitors, &starter).is_empty());
    }

    #[test]
    fn plan_names_round_trip_and_match_serde() {
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()), Ok(plan));
            assert_eq!(serde_json::to_value(plan).unwrap(), plan.as_str());
        }
        for kind in ChannelKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert!(
            Plan::parse("gold")
                .unwrap_err()
                .contains("use free, starter")
        );
    }
}
