//! The plan table in force: the canonical limits, an operator's overrides from config, and the
//! checks that name the cheapest plan that would allow a request.

use super::*;

use crate::duration::HumanDuration;
use crate::monitor::{MAX_INTERVAL, MIN_INTERVAL, MonitorKind, MonitorSpec};
use crate::validation::{FieldError, Problems};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeSet;
use std::fmt;

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
    /// The canonical table for an instance where strangers sign up (`serve --multi-tenant`): new
    /// teams start on `free`, so nobody gets everything by default.
    pub fn multi_tenant() -> Self {
        Self {
            default_plan: Plan::Free,
            ..Self::default()
        }
    }

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
        Self::from_config_over(config, Self::default())
    }

    /// `config` applied over `base`: what the config leaves out (the default plan, a plan's
    /// limits) stays as `base` has it.
    pub fn from_config_over(config: PlanConfig, base: Self) -> Result<Self, PlanTableError> {
        let mut table = base;
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
    #[serde(default, deserialize_with = "count_or_unlimited")]
    pub max_status_pages: Option<Option<u32>>,
    #[serde(default, deserialize_with = "count_or_unlimited")]
    pub max_status_subscribers: Option<Option<u32>>,
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
        set(&mut limits.max_status_pages, self.max_status_pages);
        set(
            &mut limits.max_status_subscribers,
            self.max_status_subscribers,
        );
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
