//! Whop's items as the probe reads them, and the figures counted from them: pure functions of
//! the items and a window.

use serde::{Deserialize, Deserializer};
use watchtower_core::monitor::whop::Window;
use watchtower_core::{Timestamp, WhopMetric};

/// The fields of a membership the metrics read; the rest of Whop's object is ignored.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Membership {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "instant")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "instant")]
    pub canceled_at: Option<Timestamp>,
}

/// The fields of a payment the metrics read.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Payment {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub substatus: Option<String>,
    #[serde(default, deserialize_with = "instant")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "instant")]
    pub paid_at: Option<Timestamp>,
    #[serde(default)]
    pub total: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// When an item was made, for paging newest first down to a horizon.
pub(crate) trait Created {
    fn created(&self) -> Option<Timestamp>;
}

impl Created for Membership {
    fn created(&self) -> Option<Timestamp> {
        self.created_at
    }
}

impl Created for Payment {
    fn created(&self) -> Option<Timestamp> {
        self.created_at
    }
}

/// A membership figure over `window` (active members ignore it: they are a level now).
pub(crate) fn members(metric: WhopMetric, memberships: &[Membership], window: Window) -> f64 {
    let count = memberships
        .iter()
        .filter(|membership| match metric {
            WhopMetric::ActiveMembers => {
                matches!(membership.status.as_deref(), Some("active" | "trialing"))
            }
            WhopMetric::NewMembers => membership.created_at.is_some_and(|at| window.holds(at)),
            WhopMetric::Cancellations => membership.canceled_at.is_some_and(|at| window.holds(at)),
            WhopMetric::Revenue | WhopMetric::FailedPayments => false,
        })
        .count();
    count as f64
}

/// A payment figure over `window`: revenue is the total of payments paid in the window in
/// `currency`; failed payments count those created in the window whose attempt failed.
pub(crate) fn payments(
    metric: WhopMetric,
    payments: &[Payment],
    currency: &str,
    window: Window,
) -> f64 {
    match metric {
        WhopMetric::Revenue => payments
            .iter()
            .filter(|payment| {
                payment.status.as_deref() == Some("paid")
                    && payment.paid_at.is_some_and(|at| window.holds(at))
                    && payment
                        .currency
                        .as_deref()
                        .is_some_and(|own| own.eq_ignore_ascii_case(currency))
            })
            .filter_map(|payment| payment.total)
            .filter(|total| total.is_finite())
            .sum(),
        WhopMetric::FailedPayments => payments
            .iter()
            .filter(|payment| {
                let failed = payment.substatus.as_deref() == Some("failed")
                    || matches!(payment.status.as_deref(), Some("failed" | "uncollectible"));
                failed && payment.created_at.is_some_and(|at| window.holds(at))
            })
            .count() as f64,
        WhopMetric::ActiveMembers | WhopMetric::NewMembers | WhopMetric::Cancellations => 0.0,
    }
}

/// Whop writes instants as ISO 8601 text (API v1) or Unix seconds (older answers).
fn instant<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Seconds(i64),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Seconds(seconds)) => jiff::Timestamp::from_second(seconds)
            .map(|at| Some(Timestamp::from_jiff(at)))
            .map_err(serde::de::Error::custom),
        Some(Raw::Text(text)) => text
            .parse::<jiff::Timestamp>()
            .map(|at| Some(Timestamp::from_jiff(at)))
            .map_err(|_| serde::de::Error::custom(format!("'{text}' is not an ISO 8601 instant"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        Timestamp::from_jiff(text.parse().unwrap())
    }

    fn window() -> Window {
        Window {
            start: at("2026-12-02T00:00:00Z"),
            end: at("2026-12-02T12:00:00Z"),
        }
    }

    #[test]
    fn revenue_counts_paid_payments_in_the_window_and_currency() {
        let items: Vec<Payment> = serde_json::from_value(json!([
            {"status": "paid", "paid_at": "2026-12-02T08:00:00Z", "total": 10.5, "currency": "usd"},
            {"status": "paid", "paid_at": 1_796_198_400, "total": 4.5, "currency": "USD"},
            {"status": "paid", "paid_at": "2026-12-02T13:00:00Z", "total": 100, "currency": "usd"},
            {"status": "paid", "paid_at": "2026-12-02T09:00:00Z", "total": 7, "currency": "eur"},
            {"status": "open", "substatus": "failed", "created_at": "2026-12-02T01:00:00Z",
             "total": 9, "currency": "usd"},
            {"status": "uncollectible", "created_at": "2026-12-01T23:00:00Z"}
        ]))
        .unwrap();
        // 1_796_198_400 is 2026-12-02T08:00:00Z as Unix seconds.
        assert_eq!(payments(WhopMetric::Revenue, &items, "usd", window()), 15.0);
        assert_eq!(
            payments(WhopMetric::FailedPayments, &items, "usd", window()),
            1.0
        );
    }

    #[test]
    fn member_figures_read_status_creation_and_cancellation() {
        let items: Vec<Membership> = serde_json::from_value(json!([
            {"status": "active", "created_at": "2026-12-02T03:00:00Z"},
            {"status": "trialing", "created_at": "2026-11-01T03:00:00Z"},
            {"status": "canceled", "created_at": "2025-01-01T00:00:00Z",
             "canceled_at": "2026-12-02T11:59:59Z"},
            {"status": "expired", "created_at": null}
        ]))
        .unwrap();
        assert_eq!(members(WhopMetric::ActiveMembers, &items, window()), 2.0);
        assert_eq!(members(WhopMetric::NewMembers, &items, window()), 1.0);
        assert_eq!(members(WhopMetric::Cancellations, &items, window()), 1.0);
    }

    #[test]
    fn an_instant_that_is_not_one_is_refused_not_skipped() {
        let bad = serde_json::from_value::<Membership>(json!({"created_at": "yesterday"}));
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("not an ISO 8601 instant")
        );
    }
}
