//! What an alert rule reacts to, validated the same way for the API and the monitors file:
//! its events, optional causes, reminder interval and certificate threshold.

use crate::duration::HumanDuration;
use crate::outcome::ErrorClass;
use crate::validation::Problems;
use std::time::Duration;

/// The event of a certificate close to expiry (not a state change).
pub const CERTIFICATE_EVENT: &str = "certificate_expiring";
/// Every event a rule may name.
pub const EVENTS: [&str; 4] = ["down", "up", "degraded", CERTIFICATE_EVENT];
/// A certificate rule's threshold when none is given: two weeks' notice.
pub const DEFAULT_CERTIFICATE_DAYS: u32 = 14;

/// The validated terms of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTerms {
    /// Sorted, without repeats.
    pub events: Vec<String>,
    pub remind_every: Option<Duration>,
    pub causes: Vec<String>,
    /// Set exactly when `events` holds `certificate_expiring`.
    pub certificate_days: Option<u32>,
}

impl RuleTerms {
    /// Checks the terms as given, listing every problem with its field under `prefix`.
    pub fn parse(
        events: &[String],
        remind_every: Option<&str>,
        causes: &[String],
        certificate_days: Option<i64>,
        prefix: &str,
    ) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        if events.is_empty() {
            problems.add(
                prefix,
                "events",
                "needs at least one of down, up, degraded, certificate_expiring",
            );
        }
        for (i, event) in events.iter().enumerate() {
            if !EVENTS.contains(&event.as_str()) {
                problems.add(
                    prefix,
                    &format!("events[{i}]"),
                    format!("'{event}' is not down, up, degraded or certificate_expiring"),
                );
            }
        }
        for (i, cause) in causes.iter().enumerate() {
            if ErrorClass::parse(cause).is_none() {
                problems.add(
                    prefix,
                    &format!("causes[{i}]"),
                    format!(
                        "'{cause}' is not a cause such as keyword, status_code, timeout, connect, dns, tls"
                    ),
                );
            }
        }
        let remind_every = match remind_every.map(HumanDuration::parse) {
            None => None,
            Some(Ok(every)) if every.get() >= Duration::from_secs(60) => Some(every.get()),
            Some(_) => {
                problems.add(
                    prefix,
                    "remind_every",
                    "must be a duration of at least 1m, like 30m",
                );
                None
            }
        };
        let watches_certificates = events.iter().any(|e| e == CERTIFICATE_EVENT);
        let certificate_days = match (watches_certificates, certificate_days) {
            (false, None) => None,
            (false, Some(_)) => {
                problems.add(
                    prefix,
                    "certificate_days",
                    "applies only with the certificate_expiring event",
                );
                None
            }
            (true, None) => Some(DEFAULT_CERTIFICATE_DAYS),
            (true, Some(days @ 1..=365)) => Some(days as u32),
            (true, Some(_)) => {
                problems.add(prefix, "certificate_days", "must be between 1 and 365");
                None
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut events = events.to_vec();
        events.sort();
        events.dedup();
        Ok(Self {
            events,
            remind_every,
            causes: causes.to_vec(),
            certificate_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let problems = RuleTerms::parse(
            &strings(&["down", "sideways"]),
            Some("10s"),
            &strings(&["typo"]),
            Some(30),
            "alert_rules[1]",
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.list.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "alert_rules[1].events[1]",
                "alert_rules[1].causes[0]",
                "alert_rules[1].remind_every",
                "alert_rules[1].certificate_days"
            ]
        );
    }

    #[test]
    fn certificate_rules_default_to_two_weeks_and_events_are_sorted() {
        let terms = RuleTerms::parse(
            &strings(&["up", "certificate_expiring", "down", "up"]),
            Some("30m"),
            &[],
            None,
            "",
        )
        .unwrap();
        assert_eq!(terms.events, ["certificate_expiring", "down", "up"]);
        assert_eq!(terms.certificate_days, Some(14));
        assert_eq!(terms.remind_every, Some(Duration::from_secs(1800)));
    }
}
