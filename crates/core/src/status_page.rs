//! Public status pages as a team declares them (`StatusPageSpec::parse`, every bad field listed),
//! who may read them (`PageVisibility`: anyone, whoever knows the page's password, or the
//! team's members), and what a visitor is told: a component's state derived from its monitors'
//! states, and the page's overall state from its components'.

use crate::ids::MonitorId;
use crate::monitor::fields::{Fields, holds_nul};
use crate::state::MonitorState;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most groups a page may have.
pub const MAX_GROUPS: usize = 50;
/// The most components a page may have, over all its groups.
pub const MAX_COMPONENTS: usize = 200;
/// The most monitors one component may stand for.
pub const MAX_COMPONENT_MONITORS: usize = 20;
/// The history lengths a page may show, in days.
pub const HISTORY_DAYS: [u16; 3] = [30, 60, 90];

/// A status page's address under `/status/`: lowercase letters, digits and `-`, 1 to 60
/// characters, starting and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
pub struct StatusSlug(String);

impl StatusSlug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if raw.is_empty() || raw.len() > 60 {
            return Err("must be 1 to 60 characters".into());
        }
        if !raw.chars().all(valid)
            || raw.starts_with('-')
            || raw.ends_with('-')
            || raw.contains("--")
        {
            return Err(
                "may hold only lowercase letters, digits and single '-' between them".into(),
            );
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StatusSlug {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<StatusSlug> for String {
    fn from(slug: StatusSlug) -> Self {
        slug.0
    }
}

/// A host name a page is also served on (matched against the Host header): lower case, no
/// port, at least two labels of letters, digits and `-`, not an IP address.
pub fn parse_domain(raw: &str) -> Result<String, String> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(|label| label_ok(label)) {
        return Err(
            "must be a host name such as status.example.com (no scheme, port or path)".into(),
        );
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("must be a host name, not an IP address".into());
    }
    Ok(domain)
}

/// Who may read a page and everything served from it (feeds, badge, JSON, history).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PageVisibility {
    /// Anyone.
    #[default]
    Public,
    /// Whoever enters the page's password (a signed cookie for that page afterwards).
    Password,
    /// Members of the page's team, signed in to the dashboard.
    Members,
}

impl PageVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            PageVisibility::Public => "public",
            PageVisibility::Password => "password",
            PageVisibility::Members => "members",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Public, Self::Password, Self::Members]
            .into_iter()
            .find(|visibility| visibility.as_str() == raw)
    }
}

/// What a page does when a monitor of one of its components opens an incident (goes DOWN after
/// its retries): nothing, a draft post only the team sees, or a published post. The post
/// resolves by itself when the last of its monitors recovers.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AutoIncidents {
    #[default]
    Off,
    /// Written for the team to review and publish.
    Draft,
    /// Shown to visitors at once.
    Published,
}

impl AutoIncidents {
    pub const ALL: [AutoIncidents; 3] = [Self::Off, Self::Draft, Self::Published];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Draft => "draft",
            Self::Published => "published",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == raw)
    }
}

/// A secret text (a page's new password, or the stored hash of it): never serialized, and shown
/// as `[redacted]` by `Debug`, so neither can reach an answer or a log line by accident.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct PageSecret(String);

impl PageSecret {
    pub fn new(text: String) -> Self {
        Self(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A secret is never written out: where one is serialized, it is `null`.
impl Serialize for PageSecret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_none()
    }
}

impl std::fmt::Debug for PageSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One component: a public name and description over one or more of the team's monitors (whose
/// names and targets are never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComponentSpec {
    /// 1 to 100 characters.
    pub name: String,
    /// Up to 500 characters; may be empty.
    #[serde(default)]
    pub description: String,
    /// 1 to 20 monitor ids of the page's team.
    pub monitors: Vec<MonitorId>,
}

/// Components shown together under an optional heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComponentGroup {
    /// The heading (up to 100 characters); none shows the components without one.
    #[serde(default)]
    pub name: Option<String>,
    pub components: Vec<ComponentSpec>,
}

/// A status page as its team declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusPageSpec {
    /// The page's address: `/status/{slug}`; unique on the instance.
    #[schema(value_type = String, example = "acme")]
    pub slug: StatusSlug,
    /// 1 to 100 characters.
    pub title: String,
    /// Up to 1,000 characters.
    #[serde(default)]
    pub description: String,
    /// A host name the page is also served on, at `/` (needs a plan with custom status
    /// domains); unique on the instance.
    #[serde(default)]
    pub custom_domain: Option<String>,
    /// An `https://` (or `http://`) image URL shown in the page's header.
    #[serde(default)]
    pub logo_url: Option<String>,
    /// `#rrggbb`: the stripe at the top of the page.
    #[serde(default)]
    pub accent_color: Option<String>,
    /// Up to 500 characters shown at the foot of the page.
    #[serde(default)]
    pub footer_text: String,
    /// The IANA time zone the page writes times in (default `UTC`).
    #[schema(required = false)]
    pub time_zone: String,
    /// Days of uptime bars: 30, 60 or 90 (default 90).
    #[schema(required = false)]
    pub history_days: u16,
    /// Show each component's average response time (default false).
    #[schema(required = false)]
    pub show_response_times: bool,
    /// Ask search engines not to index the page (`noindex`; default false). Private pages
    /// always ask.
    #[schema(required = false)]
    pub hide_from_search: bool,
    /// Who may read the page, its feeds, badge, JSON and history (default `public`).
    #[schema(required = false)]
    pub visibility: PageVisibility,
    /// Write-only: the password of a `password` page (10 to 128 characters), stored hashed
    /// and never returned. Required when a page becomes a password page; left out on a
    /// replace, the stored one is kept.
    // Serialized only to describe it in the API document: the server takes it before storing
    // the page, and a `PageSecret` is written as null anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, write_only, required = false)]
    pub password: Option<PageSecret>,
    /// Whether a component's monitor going DOWN posts an incident by itself, and resolves it
    /// on recovery (default `off`).
    #[serde(default)]
    #[schema(required = false)]
    pub auto_incidents: AutoIncidents,
    /// The stored argon2id hash of the password (set by the server, never read from a body).
    #[serde(skip)]
    pub password_hash: Option<PageSecret>,
    /// At most 50 groups and 200 components in all.
    #[schema(required = false)]
    pub groups: Vec<ComponentGroup>,
}

impl StatusPageSpec {
    /// Reads a page from JSON (the API's body), listing every bad field at once.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let Value::Object(map) = value else {
            return Err(vec![FieldError {
                field: prefix.to_owned(),
                problem: "must be a mapping".into(),
            }]);
        };
        if holds_nul(value) {
            return Err(vec![FieldError {
                field: prefix.to_owned(),
                problem: crate::monitor::fields::NUL_PROBLEM.into(),
            }]);
        }
        let mut fields = Fields::new(map, prefix);
        let slug = fields.required_string("slug").and_then(|raw| {
            StatusSlug::parse(&raw)
                .map_err(|problem| fields.problem("slug", problem))
                .ok()
        });
        let title = bounded(&mut fields, "title", 100, true);
        let description = bounded(&mut fields, "description", 1_000, false);
        let custom_domain = fields.string("custom_domain").and_then(|raw| {
            if raw.trim().is_empty() {
                return None;
            }
            parse_domain(&raw)
                .map_err(|problem| fields.problem("custom_domain", problem))
                .ok()
        });
        let logo_url = fields.string("logo_url").and_then(|raw| {
            if raw.trim().is_empty() {
                return None;
            }
            parse_logo_url(&raw)
                .map_err(|problem| fields.problem("logo_url", problem))
                .ok()
        });
        let accent_color = fields.string("accent_color").and_then(|raw| {
            if raw.trim().is_empty() {
                return None;
            }
            parse_color(&raw)
                .map_err(|problem| fields.problem("accent_color", problem))
                .ok()
        });
        let footer_text = bounded(&mut fields, "footer_text", 500, false);
        let time_zone = match fields.string("time_zone") {
            None => "UTC".to_owned(),
            Some(name) => match jiff::tz::TimeZone::get(&name) {
                Ok(_) if name.len() <= 64 => name,
                _ => {
                    fields.problem(
                        "time_zone",
                        format!(
                            "'{}' is not an IANA time zone such as Europe/Paris",
                            short(&name)
                        ),
                    );
                    "UTC".to_owned()
                }
            },
        };
        let history_days = match fields.raw("history_days") {
            None => 90,
            Some(value) => match value.as_u64() {
                Some(days) if HISTORY_DAYS.iter().any(|d| u64::from(*d) == days) => days as u16,
                _ => {
                    fields.problem("history_days", "must be 30, 60 or 90");
                    90
                }
            },
        };
        let show_response_times = fields.bool("show_response_times", false);
        let hide_from_search = fields.bool("hide_from_search", false);
        let visibility = match fields.string("visibility") {
            None => PageVisibility::Public,
            Some(raw) => PageVisibility::parse(raw.trim()).unwrap_or_else(|| {
                fields.problem("visibility", "must be public, password or members");
                PageVisibility::Public
            }),
        };
        let password = parse_password(&mut fields, visibility);
        let auto_incidents = match fields.string("auto_incidents") {
            None => AutoIncidents::Off,
            Some(raw) => AutoIncidents::parse(raw.trim()).unwrap_or_else(|| {
                fields.problem("auto_incidents", "must be off, draft or published");
                AutoIncidents::Off
            }),
        };
        let groups = parse_groups(&mut fields);
        fields.finish_unknown();
        let problems = fields.problems;
        match (slug, title) {
            (Some(slug), Some(title)) if problems.is_empty() => Ok(Self {
                slug,
                title,
                description: description.unwrap_or_default(),
                custom_domain,
                logo_url,
                accent_color,
                footer_text: footer_text.unwrap_or_default(),
                time_zone,
                history_days,
                show_response_times,
                hide_from_search,
                visibility,
                password,
                password_hash: None,
                auto_incidents,
                groups,
            }),
            _ => Err(problems.list),
        }
    }

    /// Whether search engines are asked to keep away: the switch, or any private page.
    pub fn asks_noindex(&self) -> bool {
        self.hide_from_search || self.visibility != PageVisibility::Public
    }

    /// Every monitor the page shows, each once, in the order first named.
    pub fn monitor_ids(&self) -> Vec<MonitorId> {
        let mut ids = Vec::new();
        for component in self.components() {
            for id in &component.monitors {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
        }
        ids
    }

    /// `scheme://host[:port]` of the logo, for a Content-Security-Policy to allow images from.
    pub fn logo_origin(&self) -> Option<String> {
        let url = url::Url::parse(self.logo_url.as_deref()?).ok()?;
        match url.origin() {
            origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
            url::Origin::Opaque(_) => None,
        }
    }

    /// Every component, group by group.
    pub fn components(&self) -> impl Iterator<Item = &ComponentSpec> {
        self.groups.iter().flat_map(|group| group.components.iter())
    }
}

/// The new password of a page, when one is sent (blank counts as none: keep the stored one).
/// Its problems never quote it.
fn parse_password(fields: &mut Fields<'_>, visibility: PageVisibility) -> Option<PageSecret> {
    let password = fields.string("password").filter(|text| !text.is_empty())?;
    if visibility != PageVisibility::Password {
        fields.problem("password", "is used only when visibility is password");
        return None;
    }
    let problems = crate::account::PasswordPolicy::DEFAULT.check(&password, None);
    if !problems.is_empty() {
        fields.problem("password", problems.join("; "));
        return None;
    }
    Some(PageSecret(password))
}

/// A text field of at most `max` characters; `required` refuses a missing or blank one.
fn bounded(fields: &mut Fields<'_>, name: &str, max: usize, required: bool) -> Option<String> {
    let text = if required {
        fields.required_string(name)?
    } else {
        fields.string(name)?
    };
    if text.chars().count() > max {
        fields.problem(name, format!("must be at most {max} characters"));
        return None;
    }
    Some(text.trim().to_owned())
}

fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

fn parse_logo_url(raw: &str) -> Result<String, String> {
    if raw.len() > 2_000 {
        return Err("must be at most 2,000 characters".into());
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| "must be an http:// or https:// URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password".into());
    }
    Ok(url.to_string())
}

fn parse_color(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let hex = text.strip_prefix('#').unwrap_or("");
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(format!("#{}", hex.to_ascii_lowercase()))
    } else {
        Err("must be a colour like #1f6feb".into())
    }
}

fn parse_groups(fields: &mut Fields<'_>) -> Vec<ComponentGroup> {
    let items = match fields.raw("groups") {
        None => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            fields.problem("groups", "must be a list of groups");
            return Vec::new();
        }
    };
    if items.len() > MAX_GROUPS {
        fields.problem("groups", format!("at most {MAX_GROUPS} groups"));
        return Vec::new();
    }
    let total: usize = items
        .iter()
        .filter_map(|group| group.get("components").and_then(Value::as_array))
        .map(Vec::len)
        .sum();
    if total > MAX_COMPONENTS {
        fields.problem(
            "groups",
            format!("at most {MAX_COMPONENTS} components in all ({total} given)"),
        );
        return Vec::new();
    }
    let mut groups = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("groups[{index}]");
        let Value::Object(map) = item else {
            fields.problem(&path, "must be a mapping");
            continue;
        };
        let prefix = crate::validation::join_path(&fields.prefix, &path);
        let mut group = Fields::new(map, &prefix);
        let name = bounded(&mut group, "name", 100, false).filter(|name| !name.is_empty());
        let components = parse_components(&mut group);
        group.finish_unknown();
        fields.problems.extend(std::mem::take(&mut group.problems));
        groups.push(ComponentGroup { name, components });
    }
    groups
}

fn parse_components(fields: &mut Fields<'_>) -> Vec<ComponentSpec> {
    let items = match fields.raw("components") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) | None => {
            fields.problem("components", "a group needs at least one component");
            return Vec::new();
        }
        Some(_) => {
            fields.problem("components", "must be a list of components");
            return Vec::new();
        }
    };
    let mut components = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("components[{index}]");
        let Value::Object(map) = item else {
            fields.problem(&path, "must be a mapping");
            continue;
        };
        let prefix = crate::validation::join_path(&fields.prefix, &path);
        let mut component = Fields::new(map, &prefix);
        let name = bounded(&mut component, "name", 100, true);
        let description = bounded(&mut component, "description", 500, false);
        let monitors = match component.raw("monitors") {
            Some(Value::Array(ids))
                if (1..=MAX_COMPONENT_MONITORS).contains(&ids.len())
                    && ids.iter().all(|id| id.as_i64().is_some_and(|id| id > 0)) =>
            {
                let mut list: Vec<MonitorId> = Vec::new();
                for id in ids.iter().filter_map(Value::as_i64).map(MonitorId) {
                    if !list.contains(&id) {
                        list.push(id);
                    }
                }
                list
            }
            _ => {
                component.problem(
                    "monitors",
                    format!("must be a list of 1 to {MAX_COMPONENT_MONITORS} monitor ids"),
                );
                Vec::new()
            }
        };
        component.finish_unknown();
        fields
            .problems
            .extend(std::mem::take(&mut component.problems));
        if let Some(name) = name {
            components.push(ComponentSpec {
                name,
                description: description.unwrap_or_default(),
                monitors,
            });
        }
    }
    components
}

/// What a visitor is told about a component, or about the whole page; ordered from best to
/// worst, so the page's state is the worst of its components'.
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
pub enum ComponentState {
    Operational,
    Maintenance,
    Degraded,
    PartialOutage,
    MajorOutage,
}

impl ComponentState {
    /// The JSON spelling, also the page's CSS class.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Operational => "operational",
            ComponentState::Maintenance => "maintenance",
            ComponentState::Degraded => "degraded",
            ComponentState::PartialOutage => "partial_outage",
            ComponentState::MajorOutage => "major_outage",
        }
    }

    /// Words for a component.
    pub fn label(self) -> &'static str {
        match self {
            ComponentState::Operational => "Operational",
            ComponentState::Maintenance => "Under maintenance",
            ComponentState::Degraded => "Degraded performance",
            ComponentState::PartialOutage => "Partial outage",
            ComponentState::MajorOutage => "Major outage",
        }
    }

    /// Words for the whole page.
    pub fn headline(self) -> &'static str {
        match self {
            ComponentState::Operational => "All systems operational",
            ComponentState::Maintenance => "Maintenance in progress",
            ComponentState::Degraded => "Degraded performance",
            ComponentState::PartialOutage => "Partial outage",
            ComponentState::MajorOutage => "Major outage",
        }
    }

    /// A component's state from its monitors' (a monitor in an open maintenance window counts
    /// as `Maintenance`). Paused and never-checked monitors say nothing. Every counted monitor
    /// down is a major outage, some of them a partial one; then maintenance, then degraded.
    pub fn of_monitors(states: &[MonitorState]) -> Self {
        let counted: Vec<MonitorState> = states
            .iter()
            .copied()
            .filter(|state| !matches!(state, MonitorState::Paused | MonitorState::Pending))
            .collect();
        let down = counted
            .iter()
            .filter(|state| **state == MonitorState::Down)
            .count();
        if down > 0 {
            return if down == counted.len() {
                ComponentState::MajorOutage
            } else {
                ComponentState::PartialOutage
            };
        }
        if counted.contains(&MonitorState::Maintenance) {
            ComponentState::Maintenance
        } else if counted.contains(&MonitorState::Degraded) {
            ComponentState::Degraded
        } else {
            ComponentState::Operational
        }
    }

    /// The page's state: the worst component's, except that a major outage of some components
    /// while others work is a partial outage of the page.
    pub fn of_page(components: &[ComponentState]) -> Self {
        let worst = components
            .iter()
            .copied()
            .max()
            .unwrap_or(ComponentState::Operational);
        if worst == ComponentState::MajorOutage
            && components.iter().any(|s| *s != ComponentState::MajorOutage)
        {
            ComponentState::PartialOutage
        } else {
            worst
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MonitorState::*;
    use serde_json::json;

    fn page(extra: Value) -> Value {
        let mut base = json!({
            "slug": "acme",
            "title": "Acme status",
            "groups": [{"name": "Web", "components": [{"name": "Website", "monitors": [1, 2]}]}]
        });
        for (key, value) in extra.as_object().unwrap() {
            base[key] = value.clone();
        }
        base
    }

    #[test]
    fn a_page_reads_with_its_defaults() {
        let spec = StatusPageSpec::parse(&page(json!({})), "").unwrap();
        assert_eq!(spec.slug.as_str(), "acme");
        assert_eq!(spec.time_zone, "UTC");
        assert_eq!(spec.history_days, 90);
        assert_eq!(spec.monitor_ids(), [MonitorId(1), MonitorId(2)]);
        assert!(!spec.hide_from_search);
        assert_eq!(spec.visibility, PageVisibility::Public);
        assert!(spec.password.is_none());
    }

    #[test]
    fn a_password_page_takes_a_password_that_is_never_shown() {
        let spec = StatusPageSpec::parse(
            &page(json!({"visibility": "password", "password": "open sesame 42"})),
            "",
        )
        .unwrap();
        assert_eq!(spec.visibility, PageVisibility::Password);
        assert_eq!(spec.password.as_ref().unwrap().expose(), "open sesame 42");
        let shown = format!("{spec:?} {}", serde_json::to_string(&spec).unwrap());
        assert!(!shown.contains("open sesame"), "{shown}");
        assert!(shown.contains("\"visibility\":\"password\""));

        let problems = StatusPageSpec::parse(
            &page(json!({"visibility": "secret", "password": "short"})),
            "",
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["visibility", "password"]);
        let problems = StatusPageSpec::parse(
            &page(json!({"visibility": "password", "password": "tiny"})),
            "",
        )
        .unwrap_err();
        assert_eq!(problems[0].field, "password");
        assert!(!problems[0].problem.contains("tiny"));
    }

    #[test]
    fn every_bad_field_is_listed() {
        let value = json!({
            "slug": "Bad Slug",
            "title": "",
            "custom_domain": "https://x.example/",
            "logo_url": "javascript:alert(1)",
            "accent_color": "red",
            "time_zone": "Mars/Olympus",
            "history_days": 45,
            "hide_from_search": "yes",
            "extra": 1,
            "groups": [{"components": [{"name": "A", "monitors": []}, {"monitors": ["x"]}]}]
        });
        let problems = StatusPageSpec::parse(&value, "").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for expected in [
            "slug",
            "title",
            "custom_domain",
            "logo_url",
            "accent_color",
            "time_zone",
            "history_days",
            "hide_from_search",
            "extra",
            "groups[0].components[0].monitors",
            "groups[0].components[1].name",
            "groups[0].components[1].monitors",
        ] {
            assert!(
                fields.contains(&expected),
                "{expected} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn domains_are_host_names_only() {
        assert_eq!(
            parse_domain("Status.Example.COM.").unwrap(),
            "status.example.com"
        );
        for bad in [
            "localhost",
            "10.0.0.1",
            "a.example:8080",
            "-a.example",
            "a..example",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn too_many_components_are_refused_before_reading_them() {
        let components: Vec<Value> = (0..=MAX_COMPONENTS)
            .map(|i| json!({"name": format!("c{i}"), "monitors": [1]}))
            .collect();
        let value = page(json!({"groups": [{"components": components}]}));
        let problems = StatusPageSpec::parse(&value, "").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "groups");
    }

    #[test]
    fn component_states_follow_their_monitors() {
        let of = ComponentState::of_monitors;
        assert_eq!(of(&[Up, Up]), ComponentState::Operational);
        assert_eq!(of(&[Up, Degraded]), ComponentState::Degraded);
        assert_eq!(of(&[Up, Down]), ComponentState::PartialOutage);
        assert_eq!(of(&[Down, Down, Paused]), ComponentState::MajorOutage);
        assert_eq!(of(&[Maintenance, Up]), ComponentState::Maintenance);
        assert_eq!(of(&[Pending, Paused]), ComponentState::Operational);
        assert_eq!(of(&[]), ComponentState::Operational);
    }

    #[test]
    fn the_page_is_its_worst_component() {
        use ComponentState as C;
        assert_eq!(C::of_page(&[]), C::Operational);
        assert_eq!(C::of_page(&[C::Operational, C::Degraded]), C::Degraded);
        assert_eq!(
            C::of_page(&[C::Operational, C::MajorOutage]),
            C::PartialOutage
        );
        assert_eq!(
            C::of_page(&[C::MajorOutage, C::MajorOutage]),
            C::MajorOutage
        );
    }
}
