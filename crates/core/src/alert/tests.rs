use super::*;

const TEAM: TeamId = TeamId(1);
const WEB: MonitorId = MonitorId(10);
const DB: MonitorId = MonitorId(11);
const INCIDENT: IncidentId = IncidentId(7);
const AT: Timestamp = Timestamp(1_000_000);

fn change(event: AlertEvent, monitor: MonitorId, cause: Option<ErrorClass>) -> AlertedChange {
    AlertedChange {
        team: TEAM,
        monitor,
        event,
        incident: matches!(event, AlertEvent::Down | AlertEvent::Up).then_some(INCIDENT),
        cause,
        at: AT,
    }
}

fn rule(events: &[AlertEvent], channels: &[i64]) -> MatchingRule {
    MatchingRule {
        events: events.to_vec(),
        channels: channels.iter().copied().map(ChannelId).collect(),
        ..MatchingRule::default()
    }
}

fn planner(rules: Vec<MatchingRule>, downs: Vec<DownNotice>) -> OutboxPlanner {
    let channels = (1..=9).map(ChannelId).collect();
    OutboxPlanner::new(
        HashMap::from([(TEAM, TeamRules { rules, channels })]),
        HashMap::from([(WEB, vec!["prod".to_owned()]), (DB, Vec::new())]),
        HashMap::from([(INCIDENT, downs)]),
    )
}

/// (channel, event, due offset from AT, reminder, step) of a planned row.
type Row = (i64, &'static str, i64, Option<i64>, Option<u32>);

fn rows(planned: &[PlannedNotification]) -> Vec<Row> {
    planned
        .iter()
        .map(|row| {
            (
                row.channel.0,
                row.event.as_str(),
                row.due.0 - AT.0,
                row.remind_every_ms,
                row.escalation_step,
            )
        })
        .collect()
}

fn state_change(from: MonitorState, to: MonitorState, opens: bool, resolves: bool) -> StateChange {
    StateChange {
        from,
        to,
        at: AT,
        opens_incident: opens,
        resolves_incident: resolves,
        cause: String::new(),
        error_class: None,
    }
}

#[test]
fn a_change_announces_down_up_or_degraded() {
    use MonitorState::*;
    assert_eq!(
        AlertEvent::of(&state_change(Up, Down, true, false)),
        Some(AlertEvent::Down)
    );
    assert_eq!(
        AlertEvent::of(&state_change(Down, Up, false, true)),
        Some(AlertEvent::Up)
    );
    // Back from DOWN to slow: the outage is over, which is the news.
    assert_eq!(
        AlertEvent::of(&state_change(Down, Degraded, false, true)),
        Some(AlertEvent::Up)
    );
    assert_eq!(
        AlertEvent::of(&state_change(Up, Degraded, false, false)),
        Some(AlertEvent::Degraded)
    );
    // Pausing resolves the incident but is nobody's news.
    assert_eq!(
        AlertEvent::of(&state_change(Down, Paused, false, true)),
        None
    );
    assert_eq!(
        AlertEvent::of(&state_change(Pending, Up, false, false)),
        None
    );
}

#[test]
fn event_and_status_names_round_trip_and_match_serde() {
    for event in AlertEvent::ALL {
        assert_eq!(AlertEvent::parse(event.as_str()), Some(*event));
        assert_eq!(serde_json::to_value(event).unwrap(), event.as_str());
    }
    for status in ["pending", "delivered", "failed", "suppressed"] {
        let parsed = DeliveryStatus::parse(status).unwrap();
        assert_eq!(parsed.as_str(), status);
        assert_eq!(serde_json::to_value(parsed).unwrap(), status);
    }
    assert_eq!(AlertEvent::parse("sideways"), None);
    assert_eq!(DeliveryStatus::parse("lost"), None);
}

#[test]
fn rules_match_by_event_monitor_and_tag() {
    let rules = vec![
        rule(&[AlertEvent::Down, AlertEvent::Up], &[1]),
        MatchingRule {
            monitor: Some(DB),
            ..rule(&[AlertEvent::Down], &[2])
        },
        MatchingRule {
            tag: Some("prod".into()),
            ..rule(&[AlertEvent::Down], &[3])
        },
        rule(&[AlertEvent::Degraded], &[4]),
    ];
    let mut planner = planner(rules, Vec::new());
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Down, WEB, None))),
        [(1, "down", 0, None, None), (3, "down", 0, None, None)]
    );
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Down, DB, None))),
        [(1, "down", 0, None, None), (2, "down", 0, None, None)]
    );
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Degraded, DB, None))),
        [(4, "degraded", 0, None, None)]
    );
}

#[test]
fn one_row_per_channel_with_the_shortest_reminder_and_only_existing_channels() {
    let rules = vec![
        MatchingRule {
            remind_every_ms: Some(600_000),
            ..rule(&[AlertEvent::Down], &[1, 2])
        },
        MatchingRule {
            remind_every_ms: Some(300_000),
            ..rule(&[AlertEvent::Down], &[2, 42])
        },
        rule(&[AlertEvent::Down], &[1]),
    ];
    let planned = planner(rules, Vec::new()).plan(&change(AlertEvent::Down, WEB, None));
    assert_eq!(
        rows(&planned),
        [
            (1, "down", 0, Some(600_000), None),
            (2, "down", 0, Some(300_000), None)
        ]
    );
}

#[test]
fn a_deleted_monitor_or_a_team_without_rules_queues_nothing() {
    let mut planner = planner(vec![rule(&[AlertEvent::Down], &[1])], Vec::new());
    assert!(
        planner
            .plan(&change(AlertEvent::Down, MonitorId(99), None))
            .is_empty()
    );
    let elsewhere = AlertedChange {
        team: TeamId(2),
        ..change(AlertEvent::Down, WEB, None)
    };
    assert!(planner.plan(&elsewhere).is_empty());
}

#[test]
fn causes_select_downs_and_send_ups_only_where_the_down_was_heard() {
    let keyword_only = MatchingRule {
        causes: vec!["keyword".into()],
        ..rule(
            &[AlertEvent::Down, AlertEvent::Up, AlertEvent::Degraded],
            &[1, 2],
        )
    };
    let mut planner = planner(
        vec![keyword_only.clone()],
        vec![DownNotice {
            channel: ChannelId(2),
            escalation_step: None,
            status: DeliveryStatus::Failed,
        }],
    );
    assert!(
        planner
            .plan(&change(AlertEvent::Down, WEB, Some(ErrorClass::Timeout)))
            .is_empty()
    );
    assert!(
        planner
            .plan(&change(AlertEvent::Down, WEB, None))
            .is_empty()
    );
    // Degraded has no cause: a rule with causes never matches it.
    assert!(
        planner
            .plan(&change(AlertEvent::Degraded, WEB, None))
            .is_empty()
    );
    // Channel 2 heard of the outage (whatever became of that message); channel 1 did not.
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Up, WEB, None))),
        [(2, "up", 0, None, None)]
    );

    let mut fresh = self::planner(vec![keyword_only], Vec::new());
    assert_eq!(
        rows(&fresh.plan(&change(AlertEvent::Down, WEB, Some(ErrorClass::Keyword)))),
        [(1, "down", 0, None, None), (2, "down", 0, None, None)]
    );
    // The DOWN just planned counts as heard for the UP later in the same batch.
    assert_eq!(
        rows(&fresh.plan(&change(AlertEvent::Up, WEB, None))),
        [(1, "up", 0, None, None), (2, "up", 0, None, None)]
    );
}

#[test]
fn a_down_queues_every_escalation_step_at_its_offset() {
    let escalating = MatchingRule {
        remind_every_ms: Some(900_000),
        escalation: vec![
            EscalationStage {
                offset_ms: 0,
                channels: vec![ChannelId(2)],
            },
            EscalationStage {
                offset_ms: 600_000,
                channels: vec![ChannelId(3), ChannelId(4), ChannelId(42)],
            },
        ],
        ..rule(&[AlertEvent::Down, AlertEvent::Up], &[1])
    };
    let mut planner = planner(vec![escalating], Vec::new());
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Down, WEB, None))),
        [
            (1, "down", 0, Some(900_000), None),
            (2, "down", 0, Some(900_000), Some(0)),
            (3, "down", 600_000, Some(900_000), Some(1)),
            (4, "down", 600_000, Some(900_000), Some(1)),
        ]
    );
    // An UP does not escalate; the steps were only queued, not delivered.
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Up, WEB, None))),
        [(1, "up", 0, Some(900_000), None)]
    );
}

#[test]
fn escalation_steps_follow_the_rules_causes() {
    let escalating = MatchingRule {
        causes: vec!["dns".into()],
        escalation: vec![EscalationStage {
            offset_ms: 60_000,
            channels: vec![ChannelId(2)],
        }],
        ..rule(&[AlertEvent::Down], &[1])
    };
    let mut planner = planner(vec![escalating], Vec::new());
    assert!(
        planner
            .plan(&change(AlertEvent::Down, WEB, Some(ErrorClass::Connect)))
            .is_empty()
    );
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Down, DB, Some(ErrorClass::Dns)))),
        [
            (1, "down", 0, None, None),
            (2, "down", 60_000, None, Some(0))
        ]
    );
}

#[test]
fn an_up_reaches_whoever_a_delivered_escalation_reached() {
    let notice = |channel, step, status| DownNotice {
        channel: ChannelId(channel),
        escalation_step: step,
        status,
    };
    let downs = vec![
        notice(1, None, DeliveryStatus::Delivered),
        notice(2, Some(0), DeliveryStatus::Delivered),
        notice(3, Some(1), DeliveryStatus::Pending),
        notice(4, Some(1), DeliveryStatus::Delivered),
    ];
    // Channel 4 also has a rule of its own for UP: one row, the rule's.
    let up_rule = MatchingRule {
        remind_every_ms: Some(60_000),
        ..rule(&[AlertEvent::Up], &[4])
    };
    let mut planner = planner(vec![up_rule], downs);
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Up, WEB, None))),
        [(4, "up", 0, Some(60_000), None), (2, "up", 0, None, None)]
    );
    // Even when the monitor is gone, the people paged hear that it is over.
    assert_eq!(
        rows(&planner.plan(&change(AlertEvent::Up, MonitorId(99), None))),
        [(2, "up", 0, None, None), (4, "up", 0, None, None)]
    );
}
