//! Creating and editing a monitor from a form. The form's fields are turned into the same JSON a
//! monitors file or the API takes and handed to the API's create and update handlers, so the
//! parser, the plan limits, the permissions and the audit log are exactly the API's; each
//! problem the parser reports is shown next to its field. Editing starts from the stored
//! settings, so what the form does not show (headers, JSONPath rules...) is kept.

use super::form::{problem_of, value_of};
use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::ApiJson;
use crate::api::monitors::{MonitorEntry, crud};
use crate::error::ApiError;
use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value};
use watchtower_core::{Action, FieldError, ProbeKind};

/// Fields every kind has.
const COMMON_FIELDS: [&str; 5] = ["name", "interval", "timeout", "retries", "tags"];

/// The fields the form shows for each kind (a kind's other settings are for the monitors file).
fn kind_fields(kind: ProbeKind) -> &'static [&'static str] {
    match kind {
        ProbeKind::Http => &[
            "url",
            "method",
            "accepted_status",
            "keyword",
            "degraded_after",
        ],
        ProbeKind::Tcp => &["host", "port"],
        ProbeKind::Ping => &["host"],
        ProbeKind::Dns => &["host", "record_type", "resolver", "expected"],
        ProbeKind::Tls => &["host", "port", "warn_days"],
        ProbeKind::Push => &["period", "cron", "timezone", "grace"],
        ProbeKind::Whop => &[
            "company_id",
            "api_key",
            "metric",
            "below",
            "above",
            "drop_percent",
            "rise_percent",
            "weeks",
            "currency",
            "timezone",
        ],
    }
}

/// A Whop monitor's `condition` fields, shown flat on the form.
const CONDITION_FIELDS: [&str; 5] = ["below", "above", "drop_percent", "rise_percent", "weeks"];
/// Fields typed into password inputs: never shown back, and left blank on an edit to keep the
/// stored value.
const SECRET_FIELDS: [&str; 1] = ["api_key"];
/// Fields written as decimal numbers.
const DECIMAL_FIELDS: [&str; 4] = ["below", "above", "drop_percent", "rise_percent"];

/// Fields written as numbers, and fields written as comma-separated lists.
const NUMBER_FIELDS: [&str; 4] = ["port", "retries", "warn_days", "weeks"];
const LIST_FIELDS: [&str; 3] = ["tags", "accepted_status", "expected"];

/// Every field the form can show, with its label and hint, in the order shown.
const FIELDS: [(&str, &str, &str); 28] = [
    ("name", "Name", "What people call it, shown in alerts."),
    ("url", "URL", "http:// or https://"),
    ("method", "Method", "GET unless the endpoint needs another."),
    (
        "accepted_status",
        "Accepted status codes",
        "Comma-separated, e.g. 200-299, 301",
    ),
    ("keyword", "Keyword", "Text the response body must contain."),
    (
        "degraded_after",
        "Degraded after",
        "A response slower than this is degraded, e.g. 800ms",
    ),
    ("host", "Host", "A name or an IP address."),
    ("port", "Port", "1 to 65535"),
    (
        "record_type",
        "Record type",
        "A, AAAA, CNAME, MX, TXT, NS...",
    ),
    (
        "resolver",
        "Resolver",
        "An IP address, optionally with :port; empty for the system's.",
    ),
    (
        "expected",
        "Expected answers",
        "Comma-separated; empty accepts any answer.",
    ),
    (
        "warn_days",
        "Warn days",
        "Degraded when the certificate expires within this many days.",
    ),
    (
        "period",
        "Period",
        "A ping is expected this often, e.g. 5m (or give a cron schedule).",
    ),
    (
        "cron",
        "Cron schedule",
        "e.g. 0 2 * * * (instead of a period)",
    ),
    (
        "timezone",
        "Time zone",
        "For the cron schedule, e.g. Europe/Berlin",
    ),
    ("grace", "Grace", "How late a ping may be, e.g. 10m"),
    ("company_id", "Whop company", "Your company id, biz_..."),
    (
        "api_key",
        "Whop API key",
        "A key that may read memberships and payments; never shown again. Leave blank to keep it.",
    ),
    (
        "metric",
        "Metric",
        "active_members, new_members, cancellations, revenue or failed_payments",
    ),
    (
        "below",
        "Alert below",
        "DOWN while the figure is below this.",
    ),
    (
        "above",
        "Alert above",
        "DOWN while the figure is above this.",
    ),
    (
        "drop_percent",
        "Alert on a drop of (%)",
        "Against the same weekday's average so far, e.g. 30",
    ),
    (
        "rise_percent",
        "Alert on a rise of (%)",
        "Against the same weekday's average so far, e.g. 100",
    ),
    (
        "weeks",
        "Weeks of history",
        "Weeks the weekday average covers, 1 to 8 (4 by default).",
    ),
    (
        "currency",
        "Currency",
        "The currency revenue adds up, e.g. usd",
    ),
    ("interval", "Check every", "e.g. 30s, 1m, 5m"),
    ("timeout", "Timeout", "e.g. 10s"),
    (
        "retries",
        "Retries",
        "Failed checks in a row before DOWN is confirmed (0 to 10).",
    ),
];

/// One input of the form.
#[derive(Debug, Clone)]
pub struct FieldView {
    /// The input's id: the name, prefixed by the kind inside a kind's fieldset.
    pub id: String,
    pub name: String,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub problem: String,
    /// Typed into a password field and never shown back.
    pub secret: bool,
}

/// A fieldset of one kind's settings.
#[derive(Debug, Clone)]
pub struct KindSet {
    pub kind: &'static str,
    pub fields: Vec<FieldView>,
}

#[derive(Debug, Clone)]
pub struct KindChoice {
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "monitor_form.html")]
struct MonitorFormPage {
    shell: Shell,
    /// `None` when creating.
    id: Option<i64>,
    action: String,
    kinds: Vec<KindChoice>,
    kind_problem: String,
    common: Vec<FieldView>,
    /// Retries and tags, after the kind's settings.
    tail: Vec<FieldView>,
    sets: Vec<KindSet>,
    problems: Vec<FieldError>,
    message: String,
}

fn describe(name: &'static str) -> (&'static str, &'static str) {
    FIELDS
        .iter()
        .find(|(field, ..)| *field == name)
        .map_or((name, ""), |(_, label, hint)| (*label, *hint))
}

/// A spec value as the form shows it: text as it is, numbers as digits, lists joined by commas.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::Object(map)) => map
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        Some(other) => other.to_string(),
    }
}

fn field(
    prefix: &str,
    name: &'static str,
    spec: &Map<String, Value>,
    problems: &[FieldError],
) -> FieldView {
    let (label, hint) = describe(name);
    let problem = problem_of(problems, name);
    let secret = SECRET_FIELDS.contains(&name);
    FieldView {
        id: format!("{prefix}{name}"),
        name: name.to_owned(),
        label,
        hint,
        value: if secret {
            String::new()
        } else {
            shown(spec.get(name))
        },
        problem,
        secret,
    }
}

fn form_page(
    page: &WebPage,
    id: Option<i64>,
    spec: &Map<String, Value>,
    problems: Vec<FieldError>,
    message: String,
) -> MonitorFormPage {
    let chosen = spec.get("kind").and_then(Value::as_str).unwrap_or("http");
    // A Whop monitor's condition is shown flat, and its problems next to those fields.
    let mut flat = spec.clone();
    if let Some(Value::Object(condition)) = spec.get("condition") {
        flat.extend(condition.clone());
    }
    let spec = &flat;
    let problems: Vec<FieldError> = problems
        .into_iter()
        .map(|mut problem| {
            if problem.field == "condition" {
                problem.field = "below".into();
            } else if let Some(inner) = problem.field.strip_prefix("condition.") {
                problem.field = inner.to_owned();
            }
            problem
        })
        .collect();
    let title = match id {
        Some(_) => "Edit monitor",
        None => "New monitor",
    };
    let mut shell = page.shell(title, "overview");
    shell.live = false;
    MonitorFormPage {
        shell,
        id,
        action: match id {
            Some(id) => format!("/monitors/{id}/edit"),
            None => "/monitors/new".into(),
        },
        kinds: ProbeKind::ALL
            .iter()
            .map(|kind| KindChoice {
                name: kind.name(),
                selected: kind.name() == chosen,
            })
            .collect(),
        kind_problem: problems
            .iter()
            .filter(|p| p.field == "kind")
            .map(|p| p.problem.clone())
            .collect::<Vec<_>>()
            .join("; "),
        common: ["name", "interval", "timeout"]
            .into_iter()
            .map(|name| field("", name, spec, &problems))
            .collect(),
        tail: vec![field("", "retries", spec, &problems), {
            let mut tags = field("", "tags", spec, &problems);
            tags.label = "Tags";
            tags.hint = "Comma-separated, for filters and alert rules.";
            tags
        }],
        sets: ProbeKind::ALL
            .iter()
            .map(|kind| KindSet {
                kind: kind.name(),
                fields: kind_fields(*kind)
                    .iter()
                    .map(|name| field(&format!("{}-", kind.name()), name, spec, &problems))
                    .collect(),
            })
            .collect(),
        problems,
        message,
    }
}

/// The posted form as a monitor's JSON: the common fields and the chosen kind's, blanks left
/// out (so defaults apply), numbers and lists in their JSON shapes. `base` is the stored spec
/// when editing, so settings the form does not show are kept.
fn spec_from_form(
    form: &[(String, String)],
    base: Option<Map<String, Value>>,
) -> Map<String, Value> {
    let value_of = |name: &str| value_of(form, name);
    let kind_name = value_of("kind");
    let mut spec = base.unwrap_or_default();
    // Changing the kind drops the old kind's settings.
    if spec.get("kind").and_then(Value::as_str) != Some(kind_name.as_str()) {
        for kind in ProbeKind::ALL {
            for name in kind_fields(*kind) {
                spec.remove(*name);
            }
        }
        for extra in [
            "headers",
            "auth",
            "body",
            "json_path",
            "regex",
            "send",
            "expect",
            "server_name",
            "token",
            "verify_tls",
            "follow_redirects",
            "max_redirects",
            "cert_expiry_warn_days",
            "condition",
        ] {
            spec.remove(extra);
        }
    }
    spec.insert("kind".into(), Value::String(kind_name.clone()));
    let mut names: Vec<&str> = COMMON_FIELDS.to_vec();
    if let Some(kind) = ProbeKind::parse(&kind_name) {
        names.extend(kind_fields(kind));
    }
    for name in names {
        let text = value_of(name);
        if text.is_empty() {
            // A blank secret keeps the stored one (the base holds its redaction marker).
            if !SECRET_FIELDS.contains(&name) {
                spec.remove(name);
            }
            continue;
        }
        let value = if LIST_FIELDS.contains(&name) {
            Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Value::String(item.to_owned()))
                    .collect(),
            )
        } else if DECIMAL_FIELDS.contains(&name) {
            text.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(text.clone()), Value::Number)
        } else if NUMBER_FIELDS.contains(&name) {
            // Not a number: passed on as text, so the parser names the field.
            text.parse::<i64>()
                .map_or_else(|_| Value::String(text.clone()), Value::from)
        } else {
            Value::String(text)
        };
        spec.insert(name.to_owned(), value);
    }
    if kind_name == ProbeKind::Whop.name() {
        // The form's condition replaces the stored one as a whole: a cleared bound is gone.
        let condition: Map<String, Value> = CONDITION_FIELDS
            .iter()
            .filter_map(|name| spec.remove(*name).map(|value| ((*name).to_owned(), value)))
            .collect();
        spec.insert("condition".into(), Value::Object(condition));
    }
    spec
}

/// `GET /monitors/new`.
pub async fn new_form(page: WebPage) -> Result<Response, WebError> {
    page.access.require(Action::CreateMonitor)?;
    let mut spec = Map::new();
    spec.insert("kind".into(), Value::String("http".into()));
    spec.insert("interval".into(), Value::String("1m".into()));
    Ok(render(&form_page(
        &page,
        None,
        &spec,
        Vec::new(),
        String::new(),
    )))
}

/// Shows the form again with the API's refusal: field problems next to their fields, anything
/// else (a plan limit, a taken key) above the form.
fn refused(
    page: &WebPage,
    id: Option<i64>,
    spec: &Map<String, Value>,
    error: ApiError,
) -> Response {
    let status = error.status;
    let (problems, message) = if error.details.is_empty() {
        (Vec::new(), error.message)
    } else {
        (error.details, String::new())
    };
    if status.is_server_error() {
        return WebError::from(ApiError::new(status, "internal", message)).into_response();
    }
    let form = form_page(page, id, spec, problems, message);
    let status = if status == StatusCode::FORBIDDEN || status == StatusCode::PAYMENT_REQUIRED {
        status
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, render(&form)).into_response()
}

/// `POST /monitors/new`.
pub async fn create(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let spec = spec_from_form(&form, None);
    match crud::create(
        State(state),
        page.access.clone(),
        ApiJson(Value::Object(spec.clone())),
    )
    .await
    {
        Ok((_, Json(view))) => Ok(Redirect::to(&format!("/monitors/{}", view.id)).into_response()),
        Err(error) => Ok(refused(&page, None, &spec, error)),
    }
}

/// The stored spec as the API shows it (secrets redacted: sending them back keeps them).
async fn stored_spec(
    state: &AppState,
    page: &WebPage,
    id: i64,
) -> Result<Map<String, Value>, WebError> {
    let Json(entry) = crud::get(State(state.clone()), page.access.clone(), Path(id)).await?;
    Ok(match entry {
        MonitorEntry::Readable(view) => match view.spec {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        MonitorEntry::Broken(broken) => {
            let mut map = Map::new();
            map.insert("name".into(), Value::String(broken.name));
            map.insert("kind".into(), Value::String(broken.kind));
            map
        }
    })
}

/// `GET /monitors/{id}/edit`.
pub async fn edit_form(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let spec = stored_spec(&state, &page, id).await?;
    page.access.require(Action::UpdateMonitor)?;
    Ok(render(&form_page(
        &page,
        Some(id),
        &spec,
        Vec::new(),
        String::new(),
    )))
}

/// `POST /monitors/{id}/edit`.
pub async fn update(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let base = stored_spec(&state, &page, id).await?;
    let spec = spec_from_form(&form, Some(base));
    match crud::update(
        State(state),
        page.access.clone(),
        Path(id),
        ApiJson(Value::Object(spec.clone())),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/monitors/{id}")).into_response()),
        Err(error) => Ok(refused(&page, Some(id), &spec, error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_form_becomes_the_monitor_json_of_its_kind() {
        let spec = spec_from_form(
            &pairs(&[
                ("csrf_token", "t"),
                ("name", " Shop "),
                ("kind", "tcp"),
                ("host", "db.internal"),
                ("port", "5432"),
                ("url", "https://ignored.example"),
                ("retries", ""),
                ("tags", "db, prod,"),
            ]),
            None,
        );
        assert_eq!(
            Value::Object(spec),
            serde_json::json!({"kind": "tcp", "name": "Shop", "host": "db.internal", "port": 5432, "tags": ["db", "prod"]})
        );
    }

    #[test]
    fn a_whop_form_nests_its_condition_and_keeps_a_blank_key() {
        let form = pairs(&[
            ("name", "Revenue"),
            ("kind", "whop"),
            ("company_id", "biz_abc"),
            ("api_key", ""),
            ("metric", "revenue"),
            ("drop_percent", "30.5"),
            ("weeks", "4"),
            ("below", ""),
        ]);
        let stored = serde_json::json!({"kind": "whop", "name": "Revenue", "company_id": "biz_abc",
            "api_key": "********", "metric": "revenue", "condition": {"below": 5, "drop_percent": 20}});
        let Value::Object(base) = stored else {
            unreachable!()
        };
        let spec = spec_from_form(&form, Some(base));
        assert_eq!(spec["api_key"], "********", "blank keeps the stored key");
        assert_eq!(
            spec["condition"],
            serde_json::json!({"drop_percent": 30.5, "weeks": 4}),
            "the cleared bound is gone"
        );
        let new = spec_from_form(&form, None);
        assert!(
            !new.contains_key("api_key"),
            "a new monitor must be given its key"
        );
    }

    #[test]
    fn editing_keeps_what_the_form_does_not_show_unless_the_kind_changes() {
        let base = serde_json::json!({"kind": "http", "name": "api", "url": "https://a.example", "headers": {"x": "1"}});
        let Value::Object(base) = base else {
            unreachable!()
        };
        let same = spec_from_form(
            &pairs(&[
                ("kind", "http"),
                ("name", "api"),
                ("url", "https://b.example"),
            ]),
            Some(base.clone()),
        );
        assert_eq!(same["headers"], serde_json::json!({"x": "1"}));
        assert_eq!(same["url"], "https://b.example");
        let other = spec_from_form(
            &pairs(&[("kind", "ping"), ("name", "api"), ("host", "a.example")]),
            Some(base),
        );
        assert!(!other.contains_key("headers") && !other.contains_key("url"));
    }

    #[test]
    fn a_number_field_that_is_not_a_number_reaches_the_parser_as_text() {
        let spec = spec_from_form(&pairs(&[("kind", "tcp"), ("port", "eighty")]), None);
        assert_eq!(spec["port"], "eighty");
    }
}
