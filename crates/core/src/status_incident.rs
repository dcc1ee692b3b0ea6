//! Incident posts on a status page: what a team tells its visitors while something is wrong. A
//! post has a title, an impact (the operations guide's SEV1–SEV4), the components it affects
//! with the state each is in, and a timeline of updates (investigating, identified, monitoring,
//! resolved) whose text starts from the guide's message templates. Parsing lists every bad field.

use crate::monitor::fields::{Fields, NUL_PROBLEM, holds_nul};
use crate::status_page::ComponentState;
use crate::validation::{FieldError, join_path};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest title of a post.
pub const MAX_TITLE: usize = 200;
/// The longest message of one update.
pub const MAX_MESSAGE: usize = 5_000;
/// The most components one post names (a page has at most 200).
pub const MAX_AFFECTED: usize = 200;

/// How bad an incident is: the operations guide's severity levels.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// Service completely down.
    Sev1,
    /// Major feature broken.
    Sev2,
    /// Minor feature impacted.
    Sev3,
    /// Non-functional issue.
    Sev4,
}

impl Impact {
    pub const ALL: [Impact; 4] = [Impact::Sev1, Impact::Sev2, Impact::Sev3, Impact::Sev4];

    /// The API and storage spelling (`sev1`).
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Sev1 => "sev1",
            Impact::Sev2 => "sev2",
            Impact::Sev3 => "sev3",
            Impact::Sev4 => "sev4",
        }
    }

    /// The guide's name (`SEV1`).
    pub fn label(self) -> &'static str {
        match self {
            Impact::Sev1 => "SEV1",
            Impact::Sev2 => "SEV2",
            Impact::Sev3 => "SEV3",
            Impact::Sev4 => "SEV4",
        }
    }

    /// What the level means, in the guide's words.
    pub fn meaning(self) -> &'static str {
        match self {
            Impact::Sev1 => "Service completely down",
            Impact::Sev2 => "Major feature broken",
            Impact::Sev3 => "Minor feature impacted",
            Impact::Sev4 => "Non-functional issue",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|impact| impact.as_str() == raw.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!(
                    "'{}' is not an impact; use sev1, sev2, sev3 or sev4",
                    short(raw)
                )
            })
    }
}

/// Where an incident stands: each update of its timeline says one of these.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl PostStatus {
    pub const ALL: [PostStatus; 4] = [
        PostStatus::Investigating,
        PostStatus::Identified,
        PostStatus::Monitoring,
        PostStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Investigating => "investigating",
            PostStatus::Identified => "identified",
            PostStatus::Monitoring => "monitoring",
            PostStatus::Resolved => "resolved",
        }
    }

    /// Words for visitors (`Investigating`).
    pub fn label(self) -> &'static str {
        match self {
            PostStatus::Investigating => "Investigating",
            PostStatus::Identified => "Identified",
            PostStatus::Monitoring => "Monitoring",
            PostStatus::Resolved => "Resolved",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!(
                    "'{}' is not a status; use investigating, identified, monitoring or resolved",
                    short(raw)
                )
            })
    }

    /// The operations guide's status-page message for this step ("Communication templates"),
    /// with `subject` (the affected components, or "our service") in place of the guide's
    /// example. The guide has no monitoring template; this one is written in the same voice.
    pub fn template(self, subject: &str) -> String {
        match self {
            PostStatus::Investigating => format!(
                "We're currently investigating reports of problems with {subject}. \
                 We'll provide updates as we learn more."
            ),
            PostStatus::Identified => format!(
                "We've identified the cause of the problems with {subject} and are working on \
                 a resolution."
            ),
            PostStatus::Monitoring => format!(
                "A fix for {subject} has been put in place and we're monitoring the results."
            ),
            PostStatus::Resolved => {
                "The issue has been resolved. All services are operating normally.".to_owned()
            }
        }
    }
}

/// The subject a template names: the components' names joined ("Website and API"), or "our
/// service" when the post names none.
pub fn template_subject(components: &[AffectedComponent]) -> String {
    let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
    match names.as_slice() {
        [] => "our service".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A component a post affects, named as on the page, and the state the team says it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AffectedComponent {
    /// A component's name on the page.
    pub name: String,
    pub state: ComponentState,
}

/// A new incident post: its first update comes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewStatusIncident {
    /// 1 to 200 characters.
    pub title: String,
    pub impact: Impact,
    /// The components affected and their state (names as on the page; may be empty).
    #[schema(required = false)]
    pub components: Vec<AffectedComponent>,
    /// The first update's status (default `investigating`).
    #[schema(required = false)]
    pub status: PostStatus,
    /// The first update's text, up to 5,000 characters (default: the status's template).
    #[schema(required = false)]
    pub message: String,
}

/// An update to an incident post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusIncidentUpdate {
    pub status: PostStatus,
    /// Up to 5,000 characters (default: the status's template).
    #[schema(required = false)]
    pub message: String,
    /// The components' states from now on; absent keeps them (a resolved post shows them
    /// operational whatever is given).
    #[serde(default)]
    pub components: Option<Vec<AffectedComponent>>,
}

fn top_fields<'a>(value: &'a Value, prefix: &str) -> Result<Fields<'a>, Vec<FieldError>> {
    let Value::Object(map) = value else {
        return Err(vec![FieldError {
            field: prefix.to_owned(),
            problem: "must be a mapping".into(),
        }]);
    };
    if holds_nul(value) {
        return Err(vec![FieldError {
            field: prefix.to_owned(),
            problem: NUL_PROBLEM.into(),
        }]);
    }
    Ok(Fields::new(map, prefix))
}

impl NewStatusIncident {
    /// Reads a post from the API's body, listing every bad field at once.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let mut fields = top_fields(value, prefix)?;
        let title = fields.required_string("title").and_then(|title| {
            if title.chars().count() > MAX_TITLE {
                fields.problem("title", format!("must be at most {MAX_TITLE} characters"));
                return None;
            }
            Some(title.trim().to_owned())
        });
        let impact = match fields.required_string("impact") {
            None => None,
            Some(raw) => Impact::parse(&raw)
                .map_err(|problem| fields.problem("impact", problem))
                .ok(),
        };
        let components = parse_components(&mut fields).unwrap_or_default();
        let status = parse_status(&mut fields, Some(PostStatus::Investigating));
        let message = parse_message(&mut fields);
        fields.finish_unknown();
        match (title, impact, status) {
            (Some(title), Some(impact), Some(status)) if fields.problems.is_empty() => {
                let message =
                    message.unwrap_or_else(|| status.template(&template_subject(&components)));
                Ok(Self {
                    title,
                    impact,
                    components,
                    status,
                    message,
                })
            }
            _ => Err(fields.problems.list),
        }
    }
}

impl StatusIncidentUpdate {
    /// Reads an update from the API's body, listing every bad field at once. The template's
    /// subject is `current`'s components when the update names none.
    pub fn parse(
        value: &Value,
        prefix: &str,
        current: &[AffectedComponent],
    ) -> Result<Self, Vec<FieldError>> {
        let mut fields = top_fields(value, prefix)?;
        let status = parse_status(&mut fields, None);
        let components = parse_components(&mut fields);
        let message = parse_message(&mut fields);
        fields.finish_unknown();
        match status {
            Some(status) if fields.problems.is_empty() => {
                let subject = template_subject(components.as_deref().unwrap_or(current));
                Ok(Self {
                    status,
                    message: message.unwrap_or_else(|| status.template(&subject)),
                    components,
                })
            }
            _ => Err(fields.problems.list),
        }
    }
}

/// `status`, or `default` when absent (none: required).
fn parse_status(fields: &mut Fields<'_>, default: Option<PostStatus>) -> Option<PostStatus> {
    let raw = match default {
        Some(_) => fields.string("status"),
        None => fields.required_string("status"),
    };
    match raw {
        None => default,
        Some(raw) => PostStatus::parse(&raw)
            .map_err(|problem| fields.problem("status", problem))
            .ok(),
    }
}

/// The message, `None` when absent or blank (the template is used).
fn parse_message(fields: &mut Fields<'_>) -> Option<String> {
    let text = fields.string("message")?;
    if text.chars().count() > MAX_MESSAGE {
        fields.problem(
            "message",
            format!("must be at most {MAX_MESSAGE} characters"),
        );
        return None;
    }
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `components`, `None` when absent; each a `{name, state}` with the name's length checked here
/// (whether the page has it is the caller's to check).
fn parse_components(fields: &mut Fields<'_>) -> Option<Vec<AffectedComponent>> {
    let items = match fields.raw("components")? {
        Value::Array(items) if items.len() <= MAX_AFFECTED => items,
        _ => {
            fields.problem(
                "components",
                format!("must be a list of at most {MAX_AFFECTED} components"),
            );
            return Some(Vec::new());
        }
    };
    let mut components: Vec<AffectedComponent> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("components[{index}]");
        let Value::Object(map) = item else {
            fields.problem(&path, "must be a mapping with a name and a state");
            continue;
        };
        let prefix = join_path(&fields.prefix, &path);
        let mut component = Fields::new(map, &prefix);
        let name = component.required_string("name").and_then(|name| {
            if name.chars().count() > 100 {
                component.problem("name", "must be at most 100 characters");
                return None;
            }
            Some(name.trim().to_owned())
        });
        let state = component.required_string("state").and_then(|raw| {
            parse_component_state(&raw)
                .map_err(|problem| component.problem("state", problem))
                .ok()
        });
        if let Some(name) = &name {
            if names.contains(name) {
                component.problem("name", "is named twice");
            }
            names.push(name.clone());
        }
        component.finish_unknown();
        fields
            .problems
            .extend(std::mem::take(&mut component.problems));
        if let (Some(name), Some(state)) = (name, state) {
            components.push(AffectedComponent { name, state });
        }
    }
    Some(components)
}

fn parse_component_state(raw: &str) -> Result<ComponentState, String> {
    use ComponentState::*;
    [
        Operational,
        Maintenance,
        Degraded,
        PartialOutage,
        MajorOutage,
    ]
    .into_iter()
    .find(|state| state.as_str() == raw.trim())
    .ok_or_else(|| {
        format!(
            "'{}' is not a state; use operational, maintenance, degraded, partial_outage \
                 or major_outage",
            short(raw)
        )
    })
}

fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_post_reads_with_the_guides_template_as_its_first_message() {
        let post = NewStatusIncident::parse(
            &json!({"title": "Slow pages", "impact": "sev2",
                    "components": [{"name": "Website", "state": "degraded"},
                                   {"name": "API", "state": "partial_outage"}]}),
            "",
        )
        .unwrap();
        assert_eq!(post.impact, Impact::Sev2);
        assert_eq!(post.status, PostStatus::Investigating);
        assert_eq!(
            post.message,
            "We're currently investigating reports of problems with Website and API. \
             We'll provide updates as we learn more."
        );
        let given = NewStatusIncident::parse(
            &json!({"title": "x", "impact": "SEV4", "status": "identified", "message": " Ours. "}),
            "",
        )
        .unwrap();
        assert_eq!(given.message, "Ours.");
        assert_eq!(given.status, PostStatus::Identified);
    }

    #[test]
    fn every_bad_field_of_a_post_is_listed() {
        let problems = NewStatusIncident::parse(
            &json!({"title": "", "impact": "sev9", "status": "fixed", "message": "x".repeat(5_001),
                    "extra": true,
                    "components": [{"name": "A", "state": "broken"}, 3, {"name": "A", "state": "degraded"}]}),
            "",
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for expected in [
            "title",
            "impact",
            "status",
            "message",
            "extra",
            "components[0].state",
            "components[1]",
            "components[2].name",
        ] {
            assert!(
                fields.contains(&expected),
                "{expected} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn an_update_needs_a_status_and_prefills_from_the_posts_components() {
        let current = [AffectedComponent {
            name: "Website".into(),
            state: ComponentState::MajorOutage,
        }];
        let update =
            StatusIncidentUpdate::parse(&json!({"status": "monitoring"}), "", &current).unwrap();
        assert_eq!(
            update.message,
            "A fix for Website has been put in place and we're monitoring the results."
        );
        assert_eq!(update.components, None);
        let problems =
            StatusIncidentUpdate::parse(&json!({"message": 1.5, "components": {}}), "", &current)
                .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["status", "components"]);
    }

    #[test]
    fn the_resolved_template_is_the_guides() {
        assert_eq!(
            PostStatus::Resolved.template("x"),
            "The issue has been resolved. All services are operating normally."
        );
        assert_eq!(template_subject(&[]), "our service");
    }
}
