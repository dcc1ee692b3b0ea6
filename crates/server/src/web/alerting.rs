//! The alerting page: channels (each with "send a test"), alert rules, escalation policies,
//! maintenance windows with their next openings, and the delivery log, each with its add and
//! delete controls for those allowed (the forms are `alerting_forms`). Reads and actions go
//! through the API's handlers.

use super::format;
use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::alerting::channels::{list_channels, test_channel};
use crate::api::alerting::notifications::{LogQuery, notifications};
use crate::api::alerting::rules::list_rules;
use crate::api::{escalation, maintenance};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use watchtower_core::maintenance::WindowSchedule;
use watchtower_core::{Action, Timestamp};

#[derive(Debug, Clone)]
pub struct ChannelRow {
    pub id: String,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub applies_to: String,
    pub events: String,
    pub channels: String,
    pub extras: String,
}

#[derive(Debug, Clone)]
pub struct WindowRow {
    pub id: String,
    pub name: String,
    pub applies_to: String,
    pub schedule: String,
    pub open_now: String,
    pub next: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub id: String,
    pub name: String,
    pub steps: String,
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub at: String,
    pub channel: String,
    pub event: String,
    pub status: String,
    pub attempts: u32,
    pub error: String,
}

#[derive(Template)]
#[template(path = "alerting.html")]
struct AlertingPage {
    shell: Shell,
    channels: Vec<ChannelRow>,
    rules: Vec<RuleRow>,
    policies: Vec<PolicyRow>,
    windows: Vec<WindowRow>,
    deliveries: Vec<DeliveryRow>,
    can_test: bool,
    can_manage_rules: bool,
    can_manage_maintenance: bool,
    notice: String,
}

fn names(ids: impl IntoIterator<Item = String>, by_id: &HashMap<String, String>) -> String {
    let listed: Vec<String> = ids
        .into_iter()
        .map(|id| {
            by_id
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("channel {id}"))
        })
        .collect();
    if listed.is_empty() {
        "none".into()
    } else {
        listed.join(", ")
    }
}

async fn alerting_page(
    state: &AppState,
    page: &WebPage,
    notice: String,
) -> Result<AlertingPage, WebError> {
    let access = page.access.clone();
    let Json(channel_list) = list_channels(State(state.clone()), access.clone()).await?;
    let by_id: HashMap<String, String> = channel_list
        .channels
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect();
    let Json(rule_list) = list_rules(State(state.clone()), access.clone()).await?;
    let Json(policy_list) = escalation::list(State(state.clone()), access.clone()).await?;
    let Json(window_list) = maintenance::list(State(state.clone()), access.clone()).await?;
    let Json(log) = notifications(
        State(state.clone()),
        access,
        Query(LogQuery {
            before: None,
            limit: Some(50),
        }),
    )
    .await?;
    let now = Timestamp::now();
    Ok(AlertingPage {
        shell: page.shell("Alerting", "alerting"),
        channels: channel_list
            .channels
            .iter()
            .map(|c| ChannelRow {
                id: c.id.to_string(),
                name: c.name.clone(),
                kind: c.kind.clone(),
            })
            .collect(),
        rules: rule_list
            .rules
            .iter()
            .map(|r| RuleRow {
                id: r.id.to_string(),
                name: r.name.clone(),
                applies_to: match (&r.monitor_id, &r.tag) {
                    (Some(monitor), _) => format!("monitor {monitor}"),
                    (None, Some(tag)) => format!("tag {tag}"),
                    (None, None) => "every monitor".into(),
                },
                events: serde_json::to_value(&r.events)
                    .ok()
                    .and_then(|v| {
                        v.as_array().map(|items| {
                            items
                                .iter()
                                .filter_map(|i| i.as_str().map(str::to_owned))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                    })
                    .unwrap_or_default(),
                channels: names(r.channel_ids.iter().map(ToString::to_string), &by_id),
                extras: {
                    let mut extras = Vec::new();
                    if let Some(every) = r.remind_every_ms {
                        extras.push(format!("reminders every {} min", every / 60_000));
                    }
                    if let Some(policy) = &r.escalation_policy_id {
                        extras.push(format!("escalation policy {policy}"));
                    }
                    if let Some(days) = r.certificate_days {
                        extras.push(format!("certificates within {days} days"));
                    }
                    extras.join("; ")
                },
            })
            .collect(),
        policies: policy_list
            .policies
            .iter()
            .map(|p| {
                let steps = p
                    .steps
                    .iter()
                    .map(|step| {
                        format!(
                            "after {} min: {}",
                            step.offset_ms / 60_000,
                            names(step.channel_ids.iter().map(ToString::to_string), &by_id)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                PolicyRow {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    steps,
                }
            })
            .collect(),
        windows: window_list
            .windows
            .iter()
            .map(|w| {
                let spec = &w.window.spec;
                WindowRow {
                    id: w.window.id.to_string(),
                    name: spec.name.clone(),
                    applies_to: match (&spec.tag, spec.monitors.is_empty()) {
                        (Some(tag), _) => format!("tag {tag}"),
                        (None, false) => format!(
                            "monitors {}",
                            spec.monitors
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        (None, true) => "every monitor".into(),
                    },
                    schedule: match &spec.schedule {
                        WindowSchedule::Once { starts_at, ends_at } => format!(
                            "once, {} to {}",
                            format::time(*starts_at),
                            format::time(*ends_at)
                        ),
                        WindowSchedule::Recurring {
                            cron,
                            duration,
                            timezone,
                        } => format!("{cron} ({timezone}) for {duration}"),
                    },
                    open_now: w
                        .open_until
                        .map(|until| format!("open until {}", format::time(until)))
                        .unwrap_or_default(),
                    next: spec
                        .next_openings(now, 3)
                        .into_iter()
                        .map(|(start, end)| {
                            format!("{} to {}", format::time(start), format::time(end))
                        })
                        .collect(),
                }
            })
            .collect(),
        deliveries: log
            .notifications
            .iter()
            .map(|n| DeliveryRow {
                at: format::time(n.delivered_at.unwrap_or(n.created_at)),
                channel: by_id
                    .get(&n.channel_id.to_string())
                    .cloned()
                    .unwrap_or_else(|| format!("channel {}", n.channel_id)),
                event: n.event.as_str().to_owned(),
                status: n.status.as_str().to_owned(),
                attempts: n.attempts,
                error: n.last_error.clone().unwrap_or_default(),
            })
            .collect(),
        can_test: page.can(Action::ManageChannels),
        can_manage_rules: page.can(Action::ManageAlertRules),
        can_manage_maintenance: page.can(Action::ManageMaintenance),
        notice,
    })
}

/// `GET /alerting`.
pub async fn show(State(state): State<AppState>, page: WebPage) -> Result<Response, WebError> {
    Ok(render(&alerting_page(&state, &page, String::new()).await?))
}

/// `POST /alerting/channels/{id}/test`: queues a test notification (delivered by the
/// dispatcher like any other; the delivery log shows how it went).
pub async fn send_test(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<watchtower_core::ChannelId>,
) -> Result<Response, WebError> {
    let (_, Json(_)) = test_channel(State(state.clone()), page.access.clone(), Path(id)).await?;
    let notice = "A test notification is queued; the delivery log below shows its delivery.";
    Ok(render(&alerting_page(&state, &page, notice.to_owned()).await?).into_response())
}
