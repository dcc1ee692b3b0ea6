//! Plans and their limits: the canonical table (docs/PERMISSIONS.md), an operator's overrides from
//! config, limit checks that name the cheapest plan that would allow the request, and downgrades.

use crate::duration::HumanDuration;
use crate::monitor::MIN_INTERVAL;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// A team's plan. The four sold plans are ordered cheapest first; `Unlimited` is what a
/// self-hosted instance without billing gives new teams unless configured otherwise.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
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
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::VariantArray,
)]
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
    /// Every channel kind, in the order the enum declares them: derived, so a new kind cannot be
    /// left out (the dispatcher builds its rate limits from this list).
    pub const ALL: &'static [ChannelKind] = <ChannelKind as strum::VariantArray>::VARIANTS;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    /// Public status pages.
    pub max_status_pages: Option<u32>,
    /// Subscribers (email and webhook) over all the team's status pages.
    pub max_status_subscribers: Option<u32>,
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
                max_status_pages: Some(1),
                max_status_subscribers: Some(100),
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
                max_status_pages: Some(3),
                max_status_subscribers: Some(1_000),
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
                max_status_pages: Some(10),
                max_status_subscribers: Some(10_000),
                ..Self::canonical(Plan::Starter)
            },
            Plan::Enterprise => Self {
                max_monitors: None,
                min_interval: minutes(1),
                retention_days: Some(365),
                max_alert_rules: None,
                max_members: None,
                channel_kinds: kinds(ChannelKind::ALL),
                max_status_pages: None,
                max_status_subscribers: None,
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
            Demand::StatusPages(count) => within(self.max_status_pages, count),
            Demand::StatusSubscribers(count) => within(self.max_status_subscribers, count),
            Demand::Interval(interval) => interval >= self.min_interval.get(),
            Demand::ChannelKind(kind) => self.channel_kinds.contains(&kind),
            Demand::SslMonitoring => self.ssl_monitoring,
            Demand::WhopMetrics => self.whop_metrics,
            Demand::ApiAccess => self.api_access,
            Demand::CustomStatusDomain => self.custom_status_domains,
        }
    }

    /// The interval a monitor may run at under these limits: its own, or the plan's minimum if
    /// shorter (a downgrade raises such intervals to this).
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
            Demand::StatusPages(_) => count(self.max_status_pages),
            Demand::StatusSubscribers(_) => count(self.max_status_subscribers),
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
    StatusPages(u32),
    StatusSubscribers(u32),
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
            Demand::StatusPages(_) => "status_pages",
            Demand::StatusSubscribers(_) => "status_subscribers",
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
            Demand::Monitors(count)
            | Demand::AlertRules(count)
            | Demand::Members(count)
            | Demand::StatusPages(count)
            | Demand::StatusSubscribers(count) => LimitValue::Count(count),
            Demand::Interval(interval) => LimitValue::Duration(HumanDuration(interval)),
            Demand::ChannelKind(kind) => LimitValue::ChannelKind(kind),
            _ => LimitValue::Feature(true),
        }
    }
}

/// The value on either side of a limit, serialized as a bare number, duration text, channel
/// kind, list of kinds or boolean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
mod downgrade;
mod table;
#[cfg(test)]
mod tests;

pub use downgrade::{MonitorSummary, PauseReason, monitors_to_pause, needs_ssl_monitoring};
pub use table::{PlanConfig, PlanOverride, PlanTable, PlanTableError};
