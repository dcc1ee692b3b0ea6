//! The escalation policy form: a name and its steps, each a delay and the channels told.

use super::*;
use crate::api::ApiJson;
use crate::api::escalation::{self, PolicyBody, StepBody};
use axum::extract::{Form, Path};
use watchtower_core::{Action, ChannelId, EscalationPolicyId, HumanDuration};
use watchtower_store::EscalationPolicy;

/// Escalation steps a new policy's form offers (the API takes up to ten; an edit shows as many
/// as the policy has).
const POLICY_STEPS: usize = 3;

/// The most steps the API takes, and so the most a posted form is read for.
const MAX_STEPS: usize = 10;

/// How many steps the form shows: the offered three, or as many as were filled in.
fn steps_shown(form: &Posted) -> usize {
    let filled = form
        .iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .filter_map(|(name, _)| {
            let index = name.strip_prefix("steps[")?.split(']').next()?;
            index.parse::<usize>().ok()
        })
        .filter(|index| *index < MAX_STEPS)
        .map(|index| index + 1)
        .max()
        .unwrap_or(0);
    filled.max(POLICY_STEPS)
}

async fn policy_form(
    state: &AppState,
    page: &WebPage,
    target: Target,
    form: &Posted,
    problems: &[FieldError],
) -> Result<AlertingFormPage, WebError> {
    let mut view = AlertingFormPage::new(page, target);
    view.intro = "Steps that tell more people the longer an outage stays unacknowledged. \
                  Leave a step empty to use fewer; a rule then names the policy.";
    view.controls = vec![plain(
        form,
        problems,
        "name",
        "Name",
        "e.g. on-call, then the team lead",
    )];
    for step in 0..steps_shown(form) {
        let after = format!("steps[{step}].after");
        let channels = format!("steps[{step}].channel_ids");
        view.controls
            .push(Control::Group(format!("Step {}", step + 1)));
        view.controls.push(Control::Text(text(
            format!("step-{step}-after"),
            &after,
            "After",
            "Time since the outage was confirmed, e.g. 0m, 15m, 1h.",
            value_of(form, &after),
            problem_of(problems, &after),
        )));
        let mut choice = ChoiceView {
            id: format!("step-{step}-channels"),
            boxes: true,
            ..choice(
                &channels,
                "Channels told",
                "",
                channel_options(state, page, &values_of(form, &channels)).await?,
                problems,
            )
        };
        choice.label = format!("Channels told at step {}", step + 1);
        view.controls.push(Control::Choice(choice));
    }
    view.problems = problems.to_vec();
    Ok(view)
}

/// The API's body of a posted policy form: the steps filled in, in order.
fn policy_body(form: &Posted) -> Result<PolicyBody, Vec<FieldError>> {
    let mut problems = Vec::new();
    let mut steps = Vec::new();
    for step in 0..MAX_STEPS {
        let after = value_of(form, &format!("steps[{step}].after"));
        let mut channel_ids = Vec::new();
        for id in values_of(form, &format!("steps[{step}].channel_ids")) {
            match id.parse() {
                Ok(id) => channel_ids.push(ChannelId(id)),
                Err(_) => problems.push(FieldError {
                    field: format!("steps[{step}].channel_ids"),
                    problem: "must be channel ids".into(),
                }),
            }
        }
        if !after.is_empty() || !channel_ids.is_empty() {
            steps.push(StepBody { after, channel_ids });
        }
    }
    if problems.is_empty() {
        Ok(PolicyBody {
            name: value_of(form, "name"),
            steps,
        })
    } else {
        Err(problems)
    }
}

/// The form fields of a stored policy.
fn policy_fields_of(policy: &EscalationPolicy) -> Posted {
    let mut posted = vec![("name".to_owned(), policy.name.clone())];
    for (index, step) in policy.steps.iter().enumerate() {
        let after = HumanDuration(std::time::Duration::from_millis(step.offset_ms));
        posted.push((format!("steps[{index}].after"), after.to_string()));
        for channel in &step.channel_ids {
            posted.push((format!("steps[{index}].channel_ids"), channel.to_string()));
        }
    }
    posted
}

fn add_target() -> Target {
    Target::add("Add escalation policy", "escalation")
}

fn edit_target(id: EscalationPolicyId) -> Target {
    Target::edit("Save escalation policy", "escalation", id)
}

/// `GET /alerting/escalation/new`.
pub async fn new_policy(
    State(state): State<AppState>,
    page: WebPage,
) -> Result<Response, WebError> {
    page.access.require(Action::ManageAlertRules)?;
    let view = policy_form(&state, &page, add_target(), &Vec::new(), &[]).await?;
    Ok(render(&view))
}

/// `POST /alerting/escalation/new`.
pub async fn add_policy(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let answer = match policy_body(&form) {
        Ok(body) => escalation::create(State(state.clone()), page.access.clone(), ApiJson(body))
            .await
            .map(drop),
        Err(problems) => Err(ApiError::invalid(problems)),
    };
    settle(answer, "escalation", |problems| async move {
        policy_form(&state, &page, add_target(), &form, &problems).await
    })
    .await
}

/// The team's policy `id`, as the API lists it, or the API's 404.
async fn shown_policy(
    state: &AppState,
    page: &WebPage,
    id: EscalationPolicyId,
) -> Result<EscalationPolicy, WebError> {
    let Json(list) = escalation::list(State(state.clone()), page.access.clone()).await?;
    list.policies
        .into_iter()
        .find(|policy| policy.id == id)
        .ok_or_else(|| ApiError::not_found().into())
}

/// `GET /alerting/escalation/{id}/edit`.
pub async fn edit_policy(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<EscalationPolicyId>,
) -> Result<Response, WebError> {
    let policy = shown_policy(&state, &page, id).await?;
    page.access.require(Action::ManageAlertRules)?;
    let form = policy_fields_of(&policy);
    Ok(render(
        &policy_form(&state, &page, edit_target(id), &form, &[]).await?,
    ))
}

/// `POST /alerting/escalation/{id}/edit`.
pub async fn update_policy(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<EscalationPolicyId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    // Another team's policy is a 404 before its form is read.
    shown_policy(&state, &page, id).await?;
    let answer = match policy_body(&form) {
        Ok(body) => escalation::update(
            State(state.clone()),
            page.access.clone(),
            Path(id),
            ApiJson(body),
        )
        .await
        .map(drop),
        Err(problems) => Err(ApiError::invalid(problems)),
    };
    settle(answer, "escalation", |problems| async move {
        policy_form(&state, &page, edit_target(id), &form, &problems).await
    })
    .await
}

/// `POST /alerting/escalation/{id}/delete`.
pub async fn remove_policy(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<EscalationPolicyId>,
) -> Result<Response, WebError> {
    escalation::delete(State(state), page.access.clone(), Path(id)).await?;
    Ok(back_to("escalation"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchtower_store::EscalationStep;

    #[test]
    fn a_stored_policy_fills_as_many_steps_as_it_has() {
        let policy = EscalationPolicy {
            id: EscalationPolicyId(1),
            team_id: watchtower_core::TeamId(1),
            name: "on-call".into(),
            steps: (0..4)
                .map(|step| EscalationStep {
                    offset_ms: step * 15 * 60_000,
                    channel_ids: vec![ChannelId(step as i64 + 1)],
                })
                .collect(),
            created_at: watchtower_core::Timestamp(0),
        };
        let form = policy_fields_of(&policy);
        assert_eq!(steps_shown(&form), 4);
        assert_eq!(steps_shown(&Vec::new()), POLICY_STEPS);
        let body = policy_body(&form).expect("no problems");
        let afters: Vec<&str> = body.steps.iter().map(|step| step.after.as_str()).collect();
        assert_eq!(afters, ["0s", "15m", "30m", "45m"]);
        assert_eq!(body.steps[3].channel_ids, [ChannelId(4)]);
    }
}
