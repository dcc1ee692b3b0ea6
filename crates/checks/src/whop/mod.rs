//! The Whop business-metric probe: reads a company's memberships or payments from Whop's REST API
//! and checks one figure against the monitor's condition. Whop refusing the key is a DOWN
//! (`configuration`); Whop being unavailable (429 past the deadline, 5xx, no answer) is an
//! inconclusive check that moves no state, never "0 members".

mod client;
mod tally;

pub(crate) use client::Page;
pub use client::{DEFAULT_WHOP_API, WhopApi};
pub(crate) use tally::{members, payments};

use crate::deadline::{Deadline, Failure};
use client::WhopError;
use std::time::Duration;
pub(crate) use tally::{Membership, Payment};
use watchtower_core::monitor::whop::{Window, day_windows, figure};
use watchtower_core::{CheckOutcome, ErrorClass, Timestamp, WhopMetric, WhopSettings};

/// A payment is usually paid within minutes of its creation; a day of slack keeps one created
/// just before a window and paid inside it.
const PAYMENT_SLACK: Duration = Duration::from_secs(86_400);

pub(crate) async fn probe_whop(
    api: &WhopApi,
    settings: &WhopSettings,
    deadline: &Deadline,
) -> CheckOutcome {
    let now = Timestamp::now();
    let weeks = if settings.condition.needs_baseline() {
        settings.condition.weeks
    } else {
        0
    };
    let Some((today, earlier)) = day_windows(now, &settings.timezone, weeks) else {
        return deadline.down(Failure::new(
            ErrorClass::Configuration,
            format!("'{}' is not a known time zone", settings.timezone),
        ));
    };
    let horizon = earlier.last().map_or(today.start, |window| window.start);
    let figures = match read_figures(api, settings, deadline, today, &earlier, horizon).await {
        Ok(figures) => figures,
        Err(WhopError::Refused(message)) => {
            return deadline.down(Failure::new(ErrorClass::Configuration, message));
        }
        Err(WhopError::Unavailable(message)) => {
            let outcome = deadline.up();
            return CheckOutcome::inconclusive(
                outcome.checked_at,
                outcome.latency,
                format!("{message}; the metric was not read and the monitor keeps its state"),
            );
        }
    };
    verdict(settings, figures, deadline.up())
}

/// Today's figure and, when the condition compares, the same weekday's average.
struct Figures {
    today: f64,
    baseline: Option<f64>,
    weeks_read: usize,
}

async fn read_figures(
    api: &WhopApi,
    settings: &WhopSettings,
    deadline: &Deadline,
    today: Window,
    earlier: &[Window],
    horizon: Timestamp,
) -> Result<Figures, WhopError> {
    let company = settings.company_id.as_str();
    let key = settings.api_key.as_str();
    let measure: Box<dyn Fn(Window) -> f64 + Send> = match settings.metric {
        WhopMetric::ActiveMembers | WhopMetric::Cancellations | WhopMetric::NewMembers => {
            // New members are read newest first down to the horizon; the others need every
            // membership (one created years ago can be canceled today).
            let since = (settings.metric == WhopMetric::NewMembers).then_some(horizon);
            let memberships: Vec<Membership> = api
                .list(key, "memberships", company, since, deadline)
                .await?;
            let metric = settings.metric;
            Box::new(move |window| tally::members(metric, &memberships, window))
        }
        WhopMetric::Revenue | WhopMetric::FailedPayments => {
            let payments: Vec<Payment> = api
                .list(
                    key,
                    "payments",
                    company,
                    Some(horizon.minus(PAYMENT_SLACK)),
                    deadline,
                )
                .await?;
            let metric = settings.metric;
            let currency = settings.currency.clone();
            Box::new(move |window| tally::payments(metric, &payments, &currency, window))
        }
    };
    let baseline = (!earlier.is_empty())
        .then(|| earlier.iter().map(|window| measure(*window)).sum::<f64>() / earlier.len() as f64);
    Ok(Figures {
        today: measure(today),
        baseline,
        weeks_read: earlier.len(),
    })
}

fn verdict(settings: &WhopSettings, figures: Figures, mut outcome: CheckOutcome) -> CheckOutcome {
    let unit = if settings.metric == WhopMetric::Revenue {
        format!(" {}", settings.currency)
    } else {
        String::new()
    };
    let mut reading = format!(
        "{}: {}{unit}",
        settings.metric.label(),
        figure(figures.today)
    );
    if let Some(baseline) = figures.baseline {
        reading.push_str(&format!(
            " (same weekday average {}{unit} over {} weeks)",
            figure(baseline),
            figures.weeks_read
        ));
    }
    match settings
        .condition
        .broken_by(figures.today, figures.baseline)
    {
        Some(why) => outcome.fail(ErrorClass::Metric, format!("{reading} {why}")),
        None => outcome.message = Some(reading),
    }
    outcome
}
