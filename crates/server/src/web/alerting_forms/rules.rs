//! The alert rule form: which events of which monitors go to which channels, reminders,
//! an escalation policy, causes and the certificate threshold.

use super::picker::{PickerField, monitor_picker};
use super::*;
use crate::api::ApiJson;
use crate::api::alerting::rules::{self, RuleBody, create_rule, delete_rule};
use crate::api::escalation;
use axum::extract::{Form, Path};
use watchtower_core::{
    Action, AlertEvent, AlertRuleId, ChannelId, EscalationPolicyId, HumanDuration, MonitorId,
};
use watchtower_store::AlertRule;

/// The events a rule can be for (reminders follow from `remind_every`; tests are sent by hand).
const RULE_EVENTS: [AlertEvent; 4] = [
    AlertEvent::Down,
    AlertEvent::Up,
    AlertEvent::Degraded,
    AlertEvent::CertificateExpiring,
];

async fn rule_form(
    state: &AppState,
    page: &WebPage,
    target: Target,
    form: &Posted,
    problems: &[FieldError],
) -> Result<AlertingFormPage, WebError> {
    let mut view = AlertingFormPage::new(page, target);
    view.intro = "Which events of which monitors are sent to which channels.";
    let events = values_of(form, "events");
    let events = if form.is_empty() {
        vec!["down".to_owned(), "up".to_owned()]
    } else {
        events
    };
    let policies = {
        let Json(list) = escalation::list(State(state.clone()), page.access.clone()).await?;
        let chosen = value_of(form, "escalation_policy_id");
        std::iter::once(OptionView {
            value: String::new(),
            label: "none".into(),
            selected: chosen.is_empty(),
        })
        .chain(list.policies.iter().map(|policy| OptionView {
            value: policy.id.to_string(),
            label: policy.name.clone(),
            selected: policy.id.to_string() == chosen,
        }))
        .collect()
    };
    view.controls = vec![
        plain(
            form,
            problems,
            "name",
            "Name",
            "e.g. outages to the on-call",
        ),
        Control::Choice(
            monitor_picker(
                state,
                page,
                form,
                PickerField {
                    name: "monitor_id",
                    label: "Monitor",
                    hint: "One monitor, or every monitor (narrowed by the tag below).",
                    none: Some("every monitor"),
                },
                problems,
            )
            .await?,
        ),
        plain(form, problems, "tag", "Tag", "Only monitors with this tag."),
        boxes(
            "events",
            "Events",
            "",
            RULE_EVENTS
                .iter()
                .map(|event| OptionView {
                    value: event.as_str().to_owned(),
                    label: event.as_str().replace('_', " "),
                    selected: events.iter().any(|chosen| chosen == event.as_str()),
                })
                .collect(),
            problems,
        ),
        boxes(
            "channel_ids",
            "Channels",
            "",
            channel_options(state, page, &values_of(form, "channel_ids")).await?,
            problems,
        ),
        plain(
            form,
            problems,
            "remind_every",
            "Remind every",
            "While an outage is open and unacknowledged, e.g. 30m; empty for no reminders.",
        ),
        Control::Choice(choice(
            "escalation_policy_id",
            "Escalation policy",
            "Also escalate outages through this policy's steps.",
            policies,
            problems,
        )),
        plain(
            form,
            problems,
            "causes",
            "Only these causes",
            "Comma-separated, e.g. timeout, status_code; empty for every cause.",
        ),
        plain(
            form,
            problems,
            "certificate_days",
            "Certificate days",
            "With certificate expiring: alert this many days ahead (default 14).",
        ),
    ];
    view.problems = problems.to_vec();
    // htmx asks for monitors as one types in the picker's search.
    view.shell.live = true;
    Ok(view)
}

/// The API's body of a posted rule form, or the problems found before the API sees it (a
/// number that is not one).
fn rule_body(form: &Posted) -> Result<RuleBody, Vec<FieldError>> {
    let mut problems = Vec::new();
    let monitor_id = number(form, "monitor_id", &mut problems).map(MonitorId);
    let escalation_policy_id =
        number(form, "escalation_policy_id", &mut problems).map(EscalationPolicyId);
    let certificate_days = number(form, "certificate_days", &mut problems);
    let mut channel_ids = Vec::new();
    for id in values_of(form, "channel_ids") {
        match id.parse() {
            Ok(id) => channel_ids.push(ChannelId(id)),
            Err(_) => problems.push(FieldError {
                field: "channel_ids".into(),
                problem: "must be channel ids".into(),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let optional = |name: &str| Some(value_of(form, name)).filter(|text| !text.is_empty());
    Ok(RuleBody {
        name: value_of(form, "name"),
        monitor_id,
        tag: optional("tag"),
        events: values_of(form, "events"),
        channel_ids,
        remind_every: optional("remind_every"),
        escalation_policy_id,
        causes: comma_list(&value_of(form, "causes"))
            .into_iter()
            .filter_map(|cause| cause.as_str().map(str::to_owned))
            .collect(),
        certificate_days,
    })
}

/// The form fields of a stored rule.
fn rule_fields_of(rule: &AlertRule) -> Posted {
    let mut posted = vec![("name".to_owned(), rule.name.clone())];
    let mut add = |name: &str, value: String| posted.push((name.to_owned(), value));
    if let Some(monitor) = rule.monitor_id {
        add("monitor_id", monitor.to_string());
    }
    if let Some(tag) = &rule.tag {
        add("tag", tag.clone());
    }
    for event in &rule.events {
        add("events", event.clone());
    }
    for channel in &rule.channel_ids {
        add("channel_ids", channel.to_string());
    }
    if let Some(every) = rule.remind_every_ms {
        let every = std::time::Duration::from_millis(every.max(0) as u64);
        add("remind_every", HumanDuration(every).to_string());
    }
    if let Some(policy) = rule.escalation_policy_id {
        add("escalation_policy_id", policy.to_string());
    }
    add("causes", rule.causes.join(", "));
    if let Some(days) = rule.certificate_days {
        add("certificate_days", days.to_string());
    }
    posted
}

fn add_target() -> Target {
    Target::add("Add alert rule", "rules")
}

fn edit_target(id: AlertRuleId) -> Target {
    Target::edit("Save alert rule", "rules", id)
}

/// `GET /alerting/rules/new`.
pub async fn new_rule(State(state): State<AppState>, page: WebPage) -> Result<Response, WebError> {
    page.access.require(Action::ManageAlertRules)?;
    let view = rule_form(&state, &page, add_target(), &Vec::new(), &[]).await?;
    Ok(render(&view))
}

/// `POST /alerting/rules/new`.
pub async fn add_rule(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    if is_search(&form) {
        page.access.require(Action::ManageAlertRules)?;
        return Ok(render(
            &rule_form(&state, &page, add_target(), &form, &[]).await?,
        ));
    }
    let answer = match rule_body(&form) {
        Ok(body) => create_rule(State(state.clone()), page.access.clone(), ApiJson(body))
            .await
            .map(drop),
        Err(problems) => Err(ApiError::invalid(problems)),
    };
    settle(answer, "rules", |problems| async move {
        rule_form(&state, &page, add_target(), &form, &problems).await
    })
    .await
}

/// The team's rule `id`, as the API lists it, or the API's 404.
async fn shown_rule(
    state: &AppState,
    page: &WebPage,
    id: AlertRuleId,
) -> Result<AlertRule, WebError> {
    let Json(list) = rules::list_rules(State(state.clone()), page.access.clone()).await?;
    list.rules
        .into_iter()
        .find(|rule| rule.id == id)
        .ok_or_else(|| ApiError::not_found().into())
}

/// `GET /alerting/rules/{id}/edit`.
pub async fn edit_rule(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<AlertRuleId>,
) -> Result<Response, WebError> {
    let rule = shown_rule(&state, &page, id).await?;
    page.access.require(Action::ManageAlertRules)?;
    let form = rule_fields_of(&rule);
    Ok(render(
        &rule_form(&state, &page, edit_target(id), &form, &[]).await?,
    ))
}

/// `POST /alerting/rules/{id}/edit`.
pub async fn update_rule(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<AlertRuleId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    shown_rule(&state, &page, id).await?;
    if is_search(&form) {
        page.access.require(Action::ManageAlertRules)?;
        return Ok(render(
            &rule_form(&state, &page, edit_target(id), &form, &[]).await?,
        ));
    }
    let answer = match rule_body(&form) {
        Ok(body) => rules::update_rule(
            State(state.clone()),
            page.access.clone(),
            Path(id),
            ApiJson(body),
        )
        .await
        .map(drop),
        Err(problems) => Err(ApiError::invalid(problems)),
    };
    settle(answer, "rules", |problems| async move {
        rule_form(&state, &page, edit_target(id), &form, &problems).await
    })
    .await
}

/// `POST /alerting/rules/{id}/delete`.
pub async fn remove_rule(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<AlertRuleId>,
) -> Result<Response, WebError> {
    delete_rule(State(state), page.access.clone(), Path(id)).await?;
    Ok(back_to("rules"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_rule_fills_the_form_that_would_post_it_again() {
        let rule = AlertRule {
            id: AlertRuleId(4),
            team_id: watchtower_core::TeamId(1),
            name: "outages".into(),
            monitor_id: None,
            tag: Some("shop".into()),
            events: vec!["down".into(), "up".into()],
            channel_ids: vec![ChannelId(2), ChannelId(3)],
            remind_every_ms: Some(30 * 60_000),
            escalation_policy_id: Some(EscalationPolicyId(5)),
            causes: vec!["timeout".into(), "status_code".into()],
            certificate_days: None,
            created_at: watchtower_core::Timestamp(0),
        };
        let body = rule_body(&rule_fields_of(&rule)).expect("no problems");
        assert_eq!(body.name, "outages");
        assert_eq!(body.monitor_id, None);
        assert_eq!(body.tag.as_deref(), Some("shop"));
        assert_eq!(body.events, ["down", "up"]);
        assert_eq!(body.channel_ids, [ChannelId(2), ChannelId(3)]);
        assert_eq!(body.remind_every.as_deref(), Some("30m"));
        assert_eq!(body.escalation_policy_id, Some(EscalationPolicyId(5)));
        assert_eq!(body.causes, ["timeout", "status_code"]);
        assert_eq!(body.certificate_days, None);
    }
}
