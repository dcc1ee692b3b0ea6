//! What the operator configures for Whop: the webhook secrets (several during a rotation), which
//! Whop product or plan id is which WatchTower plan, the checkout link of each paid plan, and the
//! grace period after a failed payment.

use crate::event::TEAM_METADATA_KEY;
use crate::frame::FrameConfig;
use crate::verify::WebhookSecret;
use std::collections::BTreeMap;
use std::time::Duration;
use watchtower_core::{Plan, TeamId};

/// The grace period when none is configured.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(3 * 24 * 3600);

/// Whop billing's settings.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// Every secret a delivery may be signed with; empty: webhooks are not configured.
    pub secrets: Vec<WebhookSecret>,
    /// Whop product ids and plan ids (`prod_...`, `plan_...`) to WatchTower plans.
    pub plans: BTreeMap<String, Plan>,
    /// Each paid plan's Whop checkout link.
    pub checkout_links: BTreeMap<Plan, url::Url>,
    /// How long a membership keeps its plan after a failed payment.
    pub grace_period: Duration,
    /// Sign-in from the Whop frame (`x-whop-user-token`); off without an app id.
    pub frame: Option<FrameConfig>,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            secrets: Vec::new(),
            plans: BTreeMap::new(),
            checkout_links: BTreeMap::new(),
            grace_period: DEFAULT_GRACE_PERIOD,
            frame: None,
        }
    }
}

impl BillingConfig {
    /// The plan a membership grants: its plan id's mapping, else its product id's.
    pub fn plan_for(&self, product_id: Option<&str>, plan_id: Option<&str>) -> Option<Plan> {
        plan_id
            .and_then(|id| self.plans.get(id))
            .or_else(|| product_id.and_then(|id| self.plans.get(id)))
            .copied()
    }

    /// The checkout link for `plan` with `team` in its metadata, so the purchase lands on that
    /// team (`?metadata[watchtower_team_id]=<team>`); `None` when the plan has no link.
    pub fn checkout_url(&self, plan: Plan, team: TeamId) -> Option<String> {
        let mut url = self.checkout_links.get(&plan)?.clone();
        url.query_pairs_mut().append_pair(
            &format!("metadata[{TEAM_METADATA_KEY}]"),
            &team.0.to_string(),
        );
        Some(url.into())
    }

    /// Reads `ID=PLAN` (a Whop product or plan id and a WatchTower plan).
    pub fn parse_plan_mapping(text: &str) -> Result<(String, Plan), String> {
        let (id, plan) = text
            .split_once('=')
            .ok_or_else(|| format!("'{text}' is not ID=PLAN (e.g. prod_abc=starter)"))?;
        let id = id.trim();
        if id.is_empty() || id.len() > 200 || id.contains(char::is_whitespace) {
            return Err(format!("'{id}' is not a Whop product or plan id"));
        }
        let plan = Plan::parse(plan.trim())?;
        if plan == Plan::Free {
            return Err(format!("{id}: a purchase cannot grant the free plan"));
        }
        Ok((id.to_owned(), plan))
    }

    /// Reads `PLAN=URL` (a paid WatchTower plan and its Whop checkout link, https).
    pub fn parse_checkout_link(text: &str) -> Result<(Plan, url::Url), String> {
        let (plan, link) = text
            .split_once('=')
            .ok_or_else(|| format!("'{text}' is not PLAN=URL"))?;
        let plan = Plan::parse(plan.trim())?;
        if !Plan::LADDER.contains(&plan) || plan == Plan::Free {
            return Err(format!(
                "{plan}: only starter, professional and enterprise are sold"
            ));
        }
        let url = url::Url::parse(link.trim()).map_err(|e| format!("{plan}: {e}"))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(format!("{plan}: the checkout link must be an http(s) URL"));
        }
        Ok((plan, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_and_links() {
        let mut config = BillingConfig::default();
        let (id, plan) = BillingConfig::parse_plan_mapping("prod_abc=starter").unwrap();
        config.plans.insert(id, plan);
        assert_eq!(
            config.plan_for(Some("prod_abc"), Some("plan_x")),
            Some(Plan::Starter)
        );
        assert!(BillingConfig::parse_plan_mapping("prod_abc=free").is_err());
        assert!(BillingConfig::parse_plan_mapping("prod_abc").is_err());
        let (plan, url) =
            BillingConfig::parse_checkout_link("starter=https://whop.com/checkout/plan_1").unwrap();
        config.checkout_links.insert(plan, url);
        assert_eq!(
            config.checkout_url(Plan::Starter, TeamId(7)).as_deref(),
            Some("https://whop.com/checkout/plan_1?metadata%5Bwatchtower_team_id%5D=7")
        );
        assert_eq!(config.checkout_url(Plan::Professional, TeamId(7)), None);
        assert!(BillingConfig::parse_checkout_link("free=https://x").is_err());
    }
}
