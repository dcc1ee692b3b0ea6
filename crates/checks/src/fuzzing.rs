//! The body assertions and the Whop page reader as a check applies them, without a network: the
//! entry points the fuzz targets (`fuzz/`) and their stable replay (`crates/fuzz-replay`) drive.

use crate::assertions::{self, Body};
use watchtower_core::ErrorClass;
use watchtower_core::monitor::http::HttpSettings;

/// Applies the keyword, regex and JSONPath rules of `settings` to a whole (untruncated) body, as
/// a check does; each failure's class and message.
pub fn body_assertions(settings: &HttpSettings, body: &[u8]) -> Vec<(ErrorClass, String)> {
    let body = Body {
        bytes: body,
        truncated_at: None,
    };
    [
        settings
            .keyword
            .as_ref()
            .map_or(Ok(()), |rule| assertions::keyword(rule, body)),
        settings
            .regex
            .as_ref()
            .map_or(Ok(()), |rule| assertions::regex(rule, body)),
        settings
            .json_path
            .as_ref()
            .map_or(Ok(()), |rule| assertions::json_path(rule, body)),
    ]
    .into_iter()
    .filter_map(Result::err)
    .map(|failure| (failure.class, failure.message))
    .collect()
}

/// Reads `body` as a page of Whop's API, of memberships and of payments, as the metric probe
/// reads each, and counts every metric over all time; each figure counted (none when the page
/// is refused).
pub fn whop_page(body: &[u8]) -> Vec<f64> {
    use crate::whop::{Membership, Page, Payment, members, payments};
    use watchtower_core::monitor::whop::Window;
    use watchtower_core::{Timestamp, WhopMetric};
    let always = Window {
        start: Timestamp(i64::MIN / 2),
        end: Timestamp(i64::MAX / 2),
    };
    let mut figures = Vec::new();
    if let Ok(page) = serde_json::from_slice::<Page<Membership>>(body) {
        for metric in [
            WhopMetric::ActiveMembers,
            WhopMetric::NewMembers,
            WhopMetric::Cancellations,
        ] {
            figures.push(members(metric, &page.data, always));
        }
    }
    if let Ok(page) = serde_json::from_slice::<Page<Payment>>(body) {
        for metric in [WhopMetric::Revenue, WhopMetric::FailedPayments] {
            figures.push(payments(metric, &page.data, "usd", always));
        }
    }
    figures
}
