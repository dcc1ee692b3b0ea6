//! The plan table pinned at every boundary.

use super::*;
use crate::ids::MonitorId;
use crate::monitor::MonitorSpec;
use crate::time::Timestamp;
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
    let pages = Plan::ALL.map(|plan| table().limits(plan).max_status_pages);
    assert_eq!(pages, [Some(1), Some(3), Some(10), None, None]);
}

#[test]
fn status_pages_are_counted_by_plan() {
    let refused = table()
        .check(Plan::Free, Demand::StatusPages(2))
        .unwrap_err();
    assert_eq!(refused.limit, "status_pages");
    assert_eq!(refused.upgrade_to, Some(Plan::Starter));
    assert!(table().check(Plan::Starter, Demand::StatusPages(3)).is_ok());
    assert!(
        table()
            .check(Plan::Enterprise, Demand::StatusPages(10_000))
            .is_ok()
    );
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

/// Where strangers sign up, new teams start on Free; a plans file may still choose another
/// default, and one that leaves the default out keeps Free.
#[test]
fn multi_tenant_teams_default_to_free_unless_configured() {
    assert_eq!(PlanTable::multi_tenant().default_plan(), Plan::Free);
    assert_eq!(
        PlanTable::multi_tenant().limits(Plan::Free),
        table().limits(Plan::Free)
    );
    let config = |value| serde_json::from_value::<PlanConfig>(value).unwrap();
    let silent = PlanTable::from_config_over(
        config(json!({"free": {"max_monitors": 5}})),
        PlanTable::multi_tenant(),
    )
    .unwrap();
    assert_eq!(silent.default_plan(), Plan::Free);
    assert_eq!(silent.limits(Plan::Free).max_monitors, Some(5));
    let chosen = PlanTable::from_config_over(
        config(json!({"default_plan": "starter"})),
        PlanTable::multi_tenant(),
    )
    .unwrap();
    assert_eq!(chosen.default_plan(), Plan::Starter);
}
