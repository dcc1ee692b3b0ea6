//! Certificate-expiry alerts. Checks record the certificate they saw with each result; this
//! sweep, run by the dispatcher every few minutes, looks at the latest certificate of every
//! monitor a `certificate_expiring` rule covers and queues one alert per certificate (by its
//! SHA-256 fingerprint), channel and threshold. Ten monitors behind one wildcard certificate make
//! one alert, not ten; a renewed certificate has a new fingerprint and starts afresh.

use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use watchtower_core::{CertificateInfo, MonitorId, TeamId, Timestamp};
use watchtower_store::{AlertRule, KeyedNotification, MonitorCertificate, Store, StoreError};

/// The event name rules and outbox rows use.
pub use watchtower_core::alert_rule::CERTIFICATE_EVENT as EVENT;

/// What a certificate alert says beyond the monitor: stored with the outbox row as its details
/// and sent as the notification's `certificate` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateNotice {
    pub subject: String,
    pub issuer: String,
    /// The earliest expiry in the chain: when the certificate stops being accepted.
    pub expires_at: Timestamp,
    pub fingerprint_sha256: String,
    pub dns_names: Vec<String>,
    /// The rule's threshold that fired.
    pub within_days: u32,
    /// Every monitor of the rule that sees this certificate, by id.
    pub monitors: Vec<CertificateMonitor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateMonitor {
    pub id: MonitorId,
    pub name: String,
}

/// Queues the alerts due at `now`; returns how many new ones were queued. Safe to run as often
/// as wanted and on several instances at once: the outbox's unique (channel, key) makes a second
/// queueing of the same alert a no-op.
pub async fn queue_expiring(store: &dyn Store, now: Timestamp) -> Result<usize, StoreError> {
    let rules = store.certificate_rules().await?;
    let mut seen: HashMap<TeamId, Vec<MonitorCertificate>> = HashMap::new();
    let mut queued = 0;
    for rule in rules
        .iter()
        .filter(|rule| rule.events.iter().any(|e| e == EVENT))
    {
        let Some(days) = rule.certificate_days else {
            continue;
        };
        let certificates = match seen.entry(rule.team_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => slot.insert(store.monitor_certificates(rule.team_id).await?),
        };
        for notice in expiring(rule, days, certificates, now) {
            for &channel_id in &rule.channel_ids {
                let notification = KeyedNotification {
                    team_id: rule.team_id,
                    channel_id,
                    monitor_id: notice.monitors.first().map(|m| m.id),
                    event: watchtower_core::AlertEvent::CertificateExpiring,
                    dedup_key: format!("certificate:{}:{days}", notice.fingerprint_sha256),
                    details: serde_json::to_value(&notice).expect("a notice serializes"),
                    due: now,
                };
                if store.enqueue_keyed(&notification).await? {
                    queued += 1;
                }
            }
        }
    }
    Ok(queued)
}

/// The certificates of `rule`'s monitors that expire within `days` of `now`, one notice per
/// fingerprint listing every monitor that sees it.
fn expiring(
    rule: &AlertRule,
    days: u32,
    certificates: &[MonitorCertificate],
    now: Timestamp,
) -> Vec<CertificateNotice> {
    let horizon = now.plus(Duration::from_secs(u64::from(days) * 86_400));
    let mut by_fingerprint: BTreeMap<&str, (&CertificateInfo, Vec<CertificateMonitor>)> =
        BTreeMap::new();
    for seen in certificates.iter().filter(|seen| covers(rule, seen)) {
        let certificate = &seen.certificate;
        if certificate.expires_at > horizon {
            continue;
        }
        let entry = by_fingerprint
            .entry(&certificate.fingerprint_sha256)
            .or_insert_with(|| (certificate, Vec::new()));
        entry.1.push(CertificateMonitor {
            id: seen.monitor_id,
            name: seen.monitor_name.clone(),
        });
    }
    by_fingerprint
        .into_values()
        .map(|(certificate, monitors)| CertificateNotice {
            subject: certificate.subject.clone(),
            issuer: certificate.issuer.clone(),
            expires_at: certificate.expires_at,
            fingerprint_sha256: certificate.fingerprint_sha256.clone(),
            dns_names: certificate.dns_names.clone(),
            within_days: days,
            monitors,
        })
        .collect()
}

/// Whether a rule's scope (one monitor, a tag, or the whole team) takes in this monitor.
fn covers(rule: &AlertRule, seen: &MonitorCertificate) -> bool {
    match (&rule.monitor_id, &rule.tag) {
        (Some(monitor), _) => *monitor == seen.monitor_id,
        (None, Some(tag)) => seen.tags.iter().any(|t| t == tag),
        (None, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn rule(monitor: Option<i64>, tag: Option<&str>) -> AlertRule {
        AlertRule {
            id: watchtower_core::AlertRuleId(1),
            team_id: TeamId(1),
            name: "certificates".into(),
            monitor_id: monitor.map(MonitorId),
            tag: tag.map(str::to_owned),
            events: vec![EVENT.into()],
            channel_ids: vec![watchtower_core::ChannelId(7)],
            remind_every_ms: None,
            escalation_policy_id: None,
            causes: Vec::new(),
            certificate_days: Some(14),
            created_at: Timestamp(0),
        }
    }

    fn seen(id: i64, fingerprint: &str, expires_in_days: i64, tags: &[&str]) -> MonitorCertificate {
        MonitorCertificate {
            monitor_id: MonitorId(id),
            monitor_name: format!("monitor {id}"),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            certificate: CertificateInfo {
                subject: "CN=example.test".into(),
                issuer: "CN=Test CA".into(),
                expires_at: Timestamp(expires_in_days * DAY),
                leaf_expires_at: Timestamp(expires_in_days * DAY),
                fingerprint_sha256: fingerprint.into(),
                dns_names: vec!["example.test".into()],
            },
        }
    }

    #[test]
    fn monitors_sharing_a_certificate_make_one_notice() {
        let certificates = [
            seen(1, "aa", 5, &[]),
            seen(2, "aa", 5, &[]),
            seen(3, "bb", 10, &[]),
            seen(4, "cc", 30, &[]),
        ];
        let notices = expiring(&rule(None, None), 14, &certificates, Timestamp(0));
        let summary: Vec<(&str, Vec<i64>)> = notices
            .iter()
            .map(|n| {
                let ids = n.monitors.iter().map(|m| m.id.0).collect();
                (n.fingerprint_sha256.as_str(), ids)
            })
            .collect();
        assert_eq!(summary, vec![("aa", vec![1, 2]), ("bb", vec![3])]);
        assert_eq!(notices[0].within_days, 14);
    }

    #[test]
    fn the_threshold_day_is_included_and_the_day_after_is_not() {
        let certificates = [seen(1, "aa", 14, &[]), seen(2, "bb", 15, &[])];
        let notices = expiring(&rule(None, None), 14, &certificates, Timestamp(0));
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].fingerprint_sha256, "aa");
    }

    #[test]
    fn a_rule_covers_only_its_monitor_or_tag() {
        let certificates = [seen(1, "aa", 5, &["web"]), seen(2, "bb", 5, &["db"])];
        let by_tag = expiring(&rule(None, Some("db")), 14, &certificates, Timestamp(0));
        assert_eq!(by_tag.len(), 1);
        assert_eq!(by_tag[0].fingerprint_sha256, "bb");
        let by_monitor = expiring(&rule(Some(1), None), 14, &certificates, Timestamp(0));
        assert_eq!(by_monitor.len(), 1);
        assert_eq!(by_monitor[0].fingerprint_sha256, "aa");
    }
}
