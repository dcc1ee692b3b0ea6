//! Monitors as code: a YAML file of keyed monitors, the channels and alert rules that watch
//! them, and the status pages that show them. Parsing keeps every node's line and column so each problem is reported where it is, and
//! all problems are reported at once.

use crate::alert_rule::RuleTerms;
use crate::validation::{FieldError, join_path};
use crate::{MonitorId, MonitorKey, MonitorSpec, StatusPageSpec};
use marked_yaml::{LoaderOptions, Node, Span};
use serde_json::{Map, Number, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// A parsed monitors file.
#[derive(Debug, Clone)]
pub struct MonitorsFile {
    /// Delete keyed monitors of the team that the file no longer lists (default: keep them).
    pub prune: bool,
    pub monitors: Vec<MonitorSpec>,
    /// Notification channels, by name; settings as for `POST /api/channels` (secrets included).
    pub channels: Vec<ChannelEntry>,
    pub alert_rules: Vec<RuleEntry>,
    /// Status pages, by slug; their components name the file's monitors by key.
    pub status_pages: Vec<StatusPageEntry>,
}

/// A status page declared in the file: as `POST /api/status-pages` takes it, except that each
/// component names the file's monitors by key, and components may sit on the page itself (one
/// group without a name) instead of in `groups`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPageEntry {
    pub slug: String,
    /// The page as the API reads it (always with `groups`), monitors still as keys.
    pub page: Value,
    /// Where the page is in the file (`status_pages[2]`), for the paths of later problems.
    pub path: String,
}

impl StatusPageEntry {
    /// The page's spec with each monitor key replaced by the id `id_of` gives it; a key without
    /// an id is a problem at its place.
    pub fn spec(
        &self,
        id_of: impl Fn(&str) -> Option<MonitorId>,
    ) -> Result<StatusPageSpec, Vec<FieldError>> {
        let mut page = self.page.clone();
        let mut problems = Vec::new();
        for_each_monitor(&mut page, |at, monitor| {
            let problem = match monitor.as_str().map(|key| (key, id_of(key))) {
                Some((_, Some(id))) => {
                    *monitor = Value::from(id.0);
                    return;
                }
                Some((key, None)) => format!("no monitor with key '{key}'"),
                None => "must be a monitor's key".to_owned(),
            };
            problems.push(FieldError {
                field: format!("{}.{at}", self.path),
                problem,
            });
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        StatusPageSpec::parse(&page, &self.path)
    }
}

impl StatusPageEntry {
    /// The monitor keys the page's components name, in order, with repeats.
    pub fn monitor_keys(&self) -> Vec<String> {
        let mut page = self.page.clone();
        let mut keys = Vec::new();
        for_each_monitor(&mut page, |_, monitor| {
            keys.extend(monitor.as_str().map(str::to_owned));
        });
        keys
    }
}

/// Calls `visit` with the path (`groups[0].components[1].monitors[2]`) and value of every
/// monitor reference of a page.
fn for_each_monitor(page: &mut Value, mut visit: impl FnMut(&str, &mut Value)) {
    let Some(groups) = page.get_mut("groups").and_then(Value::as_array_mut) else {
        return;
    };
    for (g, group) in groups.iter_mut().enumerate() {
        let Some(components) = group.get_mut("components").and_then(Value::as_array_mut) else {
            continue;
        };
        for (c, component) in components.iter_mut().enumerate() {
            let Some(monitors) = component.get_mut("monitors").and_then(Value::as_array_mut) else {
                continue;
            };
            for (m, monitor) in monitors.iter_mut().enumerate() {
                visit(
                    &format!("groups[{g}].components[{c}].monitors[{m}]"),
                    monitor,
                );
            }
        }
    }
}

/// A channel declared in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelEntry {
    pub name: String,
    pub kind: String,
    /// The whole mapping, `name` and `kind` included.
    pub settings: Value,
}

/// An alert rule declared in the file: its monitor by key and its channels by name, both of
/// the same file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEntry {
    pub name: String,
    pub monitor: Option<MonitorKey>,
    pub tag: Option<String>,
    pub channels: Vec<String>,
    pub terms: RuleTerms,
}

/// Checks one channel's settings (the alerting crate knows every kind); field paths under the
/// given prefix.
pub type ChannelCheck<'a> = &'a dyn Fn(&Value, &str) -> Vec<FieldError>;

/// One problem with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedProblem {
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub problem: String,
}

impl fmt::Display for LocatedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.problem
            )
        } else {
            write!(
                f,
                "line {}, column {}: {}: {}",
                self.line, self.column, self.field, self.problem
            )
        }
    }
}

/// Where each field path (`monitors[0].url`) starts in the file.
#[derive(Default)]
struct Places(HashMap<String, (usize, usize)>);

impl Places {
    fn note(&mut self, path: &str, span: &Span) {
        if let Some(start) = span.start() {
            self.0
                .entry(path.to_owned())
                .or_insert((start.line(), start.column()));
        }
    }

    /// The place of a path, or of its nearest parent that has one.
    fn find(&self, path: &str) -> (usize, usize) {
        let mut path = path;
        loop {
            if let Some(place) = self.0.get(path) {
                return *place;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => return self.0.get("").copied().unwrap_or((1, 1)),
            }
        }
    }

    fn problem(&self, field: &str, problem: impl Into<String>) -> LocatedProblem {
        let (line, column) = self.find(field);
        LocatedProblem {
            line,
            column,
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// The deepest nesting of mappings and lists a file may have. Building the tree, converting it
/// and dropping it all recurse once per level, so a small file nested thousands deep would
/// overflow the stack; a monitors file needs fewer than ten levels.
pub const MAX_YAML_DEPTH: usize = 32;

/// Refuses text nested deeper than [`MAX_YAML_DEPTH`], reading the parser's event stream (which
/// keeps its own stack on the heap) before any tree is built. Syntax errors are left to the
/// loader, which reports them with its own message.
fn check_depth(text: &str) -> Result<(), LocatedProblem> {
    use yaml_rust2::parser::{Event, Parser};
    let too_deep = |marker: &yaml_rust2::scanner::Marker| LocatedProblem {
        line: marker.line(),
        column: marker.col() + 1,
        field: String::new(),
        problem: format!(
            "mappings and lists are nested more than {MAX_YAML_DEPTH} levels deep; \
             the limit is {MAX_YAML_DEPTH}"
        ),
    };
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        match parser.next_token() {
            Ok((Event::SequenceStart(..) | Event::MappingStart(..), marker)) => {
                depth += 1;
                if depth > MAX_YAML_DEPTH {
                    return Err(too_deep(&marker));
                }
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, _)) => depth = depth.saturating_sub(1),
            Ok((Event::StreamEnd, _)) => return Ok(()),
            Ok(_) => {}
            // The scanner looks ahead through flow collections and has a nesting limit of its
            // own; reaching it is the same problem.
            Err(error) if error.info().contains("recursion limit") => {
                return Err(too_deep(error.marker()));
            }
            Err(_) => return Ok(()),
        }
    }
}

/// Parses YAML text into JSON, noting where each path starts.
pub fn yaml_to_json(text: &str) -> Result<Value, LocatedProblem> {
    check_depth(text)?;
    // Without `prevent_coercion` the loader marks quoted scalars coercible too, and `""` or
    // `"true"` would come back as null or a boolean.
    let options = LoaderOptions::default().prevent_coercion(true);
    let node = marked_yaml::parse_yaml_with_options(0, text, options)
        .map_err(|error| load_problem(&error))?;
    Ok(to_json(&node, "", None))
}

/// Parses the text of a monitors file, checking only the shape of its channels.
pub fn parse(text: &str) -> Result<MonitorsFile, Vec<LocatedProblem>> {
    parse_with(text, &|_, _| Vec::new())
}

/// Parses the text of a monitors file, checking each channel's settings with `check_channel`.
pub fn parse_with(
    text: &str,
    check_channel: ChannelCheck<'_>,
) -> Result<MonitorsFile, Vec<LocatedProblem>> {
    check_depth(text).map_err(|problem| vec![problem])?;
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let root = marked_yaml::parse_yaml_with_options(0, text, options)
        .map_err(|error| vec![load_problem(&error)])?;
    let value = to_json(&root, "", None);
    let result = interpret(&value, &Places::default(), check_channel);
    if result.is_ok() {
        return result;
    }
    // Only a file with problems pays for recording where every field is.
    let mut places = Places::default();
    to_json(&root, "", Some(&mut places));
    interpret(&value, &places, check_channel)
}

/// Reads the top level and every monitor, collecting each problem at its place.
fn interpret(
    value: &Value,
    places: &Places,
    check_channel: ChannelCheck<'_>,
) -> Result<MonitorsFile, Vec<LocatedProblem>> {
    let mut problems = Vec::new();
    let Value::Object(top) = value else {
        unreachable!("the loader requires a top-level mapping")
    };

    for key in top.keys().filter(|key| {
        !matches!(
            key.as_str(),
            "monitors" | "prune" | "channels" | "alert_rules" | "status_pages"
        )
    }) {
        problems.push(places.problem(
            key,
            "is not a known field; the file holds `monitors`, `channels`, `alert_rules`, \
             `status_pages` and `prune`",
        ));
    }
    let prune = match top.get("prune") {
        None => false,
        Some(Value::Bool(prune)) => *prune,
        Some(_) => {
            problems.push(places.problem("prune", "must be true or false"));
            false
        }
    };
    let items = match top.get("monitors") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => {
            problems.push(places.problem("monitors", "must be a list of monitors"));
            &[]
        }
        None => {
            problems.push(places.problem("", "`monitors` is missing"));
            &[]
        }
    };

    let mut monitors = Vec::new();
    let mut seen_keys = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("monitors[{index}]");
        match item.get("key") {
            None | Some(Value::Null) => {
                problems.push(places.problem(
                    &path,
                    "every monitor in a file needs a `key` (stable across renames)",
                ));
            }
            Some(key) if !seen_keys.insert(key.to_string()) => {
                problems.push(places.problem(
                    &join_path(&path, "key"),
                    format!("{key} is used by an earlier monitor"),
                ));
            }
            Some(_) => {}
        }
        match MonitorSpec::parse(item, &path) {
            Ok(spec) => monitors.push(spec),
            Err(errors) => {
                problems.extend(
                    errors
                        .into_iter()
                        .map(|error| places.problem(&error.field, error.problem)),
                );
            }
        }
    }
    let channels = channels(top.get("channels"), places, check_channel, &mut problems);
    // Rules may name a channel whose settings have problems: those are reported once, there.
    let channel_names: Vec<&str> = match top.get("channels") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.get("name").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    };
    let alert_rules = alert_rules(
        top.get("alert_rules"),
        places,
        &monitors,
        &channel_names,
        &mut problems,
    );
    let status_pages = status_pages(top.get("status_pages"), places, &monitors, &mut problems);
    if problems.is_empty() {
        Ok(MonitorsFile {
            prune,
            monitors,
            channels,
            alert_rules,
            status_pages,
        })
    } else {
        problems.sort_by_key(|problem| (problem.line, problem.column));
        Err(problems)
    }
}

/// The items of an optional top-level list.
fn list<'v>(
    value: Option<&'v Value>,
    field: &str,
    places: &Places,
    problems: &mut Vec<LocatedProblem>,
) -> &'v [Value] {
    match value {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(places.problem(field, "must be a list"));
            &[]
        }
    }
}

/// A required, non-empty string field of an item.
fn name_of(
    item: &Value,
    path: &str,
    field: &str,
    places: &Places,
    problems: &mut Vec<LocatedProblem>,
) -> Option<String> {
    match item.get(field) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
        _ => {
            problems.push(places.problem(&join_path(path, field), "is required (text)"));
            None
        }
    }
}

fn channels(
    value: Option<&Value>,
    places: &Places,
    check_channel: ChannelCheck<'_>,
    problems: &mut Vec<LocatedProblem>,
) -> Vec<ChannelEntry> {
    let mut channels = Vec::new();
    let mut seen = HashSet::new();
    for (index, item) in list(value, "channels", places, problems).iter().enumerate() {
        let path = format!("channels[{index}]");
        if !item.is_object() {
            problems.push(places.problem(&path, "must be a mapping with a name and a kind"));
            continue;
        }
        let name = name_of(item, &path, "name", places, problems);
        let kind = name_of(item, &path, "kind", places, problems);
        if let Some(name) = &name
            && !seen.insert(name.clone())
        {
            problems.push(places.problem(
                &join_path(&path, "name"),
                format!("'{name}' is used by an earlier channel"),
            ));
        }
        let found = check_channel(item, &path);
        let valid = found.is_empty();
        problems.extend(
            found
                .into_iter()
                .map(|e| places.problem(&e.field, e.problem)),
        );
        if let (Some(name), Some(kind), true) = (name, kind, valid) {
            channels.push(ChannelEntry {
                name,
                kind,
                settings: item.clone(),
            });
        }
    }
    channels
}

fn strings(
    value: Option<&Value>,
    path: &str,
    places: &Places,
    problems: &mut Vec<LocatedProblem>,
) -> Vec<String> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Some(_) => {
            problems.push(places.problem(path, "must be a list of text"));
            Vec::new()
        }
    }
}

/// Reads the file's status pages: each checked by the API's own parser, with the file's monitor
/// keys standing for ids, so a page the file declares is a page the API would take.
fn status_pages(
    value: Option<&Value>,
    places: &Places,
    monitors: &[MonitorSpec],
    problems: &mut Vec<LocatedProblem>,
) -> Vec<StatusPageEntry> {
    let mut pages = Vec::new();
    let mut seen = HashSet::new();
    for (index, item) in list(value, "status_pages", places, problems)
        .iter()
        .enumerate()
    {
        let path = format!("status_pages[{index}]");
        let Value::Object(map) = item else {
            problems.push(places.problem(&path, "must be a mapping"));
            continue;
        };
        // Components on the page itself are one group without a name; their problems are
        // reported at the file's own paths.
        let mut page = map.clone();
        let flat = match (page.remove("components"), page.contains_key("groups")) {
            (Some(_), true) => {
                problems.push(places.problem(
                    &join_path(&path, "components"),
                    "give `components` or `groups`, not both",
                ));
                continue;
            }
            (Some(components), false) => {
                page.insert(
                    "groups".into(),
                    Value::Array(vec![serde_json::json!({ "components": components })]),
                );
                true
            }
            (None, _) => false,
        };
        let file_path = |field: &str| {
            if flat {
                field.replacen(
                    &format!("{path}.groups[0].components"),
                    &format!("{path}.components"),
                    1,
                )
            } else {
                field.to_owned()
            }
        };
        let entry = StatusPageEntry {
            slug: map
                .get("slug")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            page: Value::Object(page),
            path: path.clone(),
        };
        if !entry.slug.is_empty() && !seen.insert(entry.slug.clone()) {
            problems.push(places.problem(
                &join_path(&path, "slug"),
                format!("'{}' is used by an earlier page", entry.slug),
            ));
        }
        // Each key stands for a made-up id while the page is checked; applying puts real ones.
        let id_of = |key: &str| {
            monitors
                .iter()
                .position(|m| m.key.as_ref().is_some_and(|k| k.as_str() == key))
                .map(|index| MonitorId(index as i64 + 1))
        };
        match entry.spec(id_of) {
            Ok(_) => pages.push(entry),
            Err(found) => problems.extend(found.into_iter().map(|error| {
                let problem = if error.problem.starts_with("no monitor with key") {
                    format!("{} in this file", error.problem)
                } else {
                    error.problem
                };
                places.problem(&file_path(&error.field), problem)
            })),
        }
    }
    pages
}

fn alert_rules(
    value: Option<&Value>,
    places: &Places,
    monitors: &[MonitorSpec],
    channels: &[&str],
    problems: &mut Vec<LocatedProblem>,
) -> Vec<RuleEntry> {
    const FIELDS: [&str; 8] = [
        "name",
        "events",
        "monitor",
        "tag",
        "channels",
        "remind_every",
        "causes",
        "certificate_days",
    ];
    let mut rules = Vec::new();
    let mut seen = HashSet::new();
    for (index, item) in list(value, "alert_rules", places, problems)
        .iter()
        .enumerate()
    {
        let path = format!("alert_rules[{index}]");
        let Value::Object(map) = item else {
            problems.push(places.problem(&path, "must be a mapping"));
            continue;
        };
        let before = problems.len();
        for key in map.keys().filter(|key| !FIELDS.contains(&key.as_str())) {
            problems.push(places.problem(
                &join_path(&path, key),
                format!("is not a rule field ({})", FIELDS.join(", ")),
            ));
        }
        let name = name_of(item, &path, "name", places, problems);
        if let Some(name) = &name
            && !seen.insert(name.clone())
        {
            problems.push(places.problem(
                &join_path(&path, "name"),
                format!("'{name}' is used by an earlier rule"),
            ));
        }
        let field = |name: &str| join_path(&path, name);
        let events = strings(item.get("events"), &field("events"), places, problems);
        let causes = strings(item.get("causes"), &field("causes"), places, problems);
        let channel_names = strings(item.get("channels"), &field("channels"), places, problems);
        if channel_names.is_empty() {
            problems.push(places.problem(
                &field("channels"),
                "needs at least one channel of this file, by name",
            ));
        }
        for (i, wanted) in channel_names.iter().enumerate() {
            if !channels.contains(&wanted.as_str()) {
                problems.push(places.problem(
                    &format!("{}[{i}]", field("channels")),
                    format!("no channel named '{wanted}' in this file"),
                ));
            }
        }
        let monitor = match item.get("monitor") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) => match MonitorKey::parse(key) {
                Ok(key) if monitors.iter().any(|m| m.key.as_ref() == Some(&key)) => Some(key),
                _ => {
                    problems.push(places.problem(
                        &field("monitor"),
                        format!("no monitor with key '{key}' in this file"),
                    ));
                    None
                }
            },
            Some(_) => {
                problems.push(places.problem(&field("monitor"), "must be a monitor's key"));
                None
            }
        };
        let tag = match item.get("tag") {
            None | Some(Value::Null) => None,
            Some(Value::String(tag)) => Some(tag.clone()),
            Some(_) => {
                problems.push(places.problem(&field("tag"), "must be text"));
                None
            }
        };
        if monitor.is_some() && tag.is_some() {
            problems.push(places.problem(&field("tag"), "give a monitor or a tag, not both"));
        }
        let remind_every = match item.get("remind_every") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.as_str()),
            Some(_) => {
                problems
                    .push(places.problem(&field("remind_every"), "must be a duration like 30m"));
                None
            }
        };
        let certificate_days = match item.get("certificate_days") {
            None | Some(Value::Null) => None,
            Some(Value::Number(days)) if days.is_i64() => days.as_i64(),
            Some(_) => {
                problems.push(
                    places.problem(&field("certificate_days"), "must be a whole number of days"),
                );
                None
            }
        };
        let terms = RuleTerms::parse(&events, remind_every, &causes, certificate_days, &path);
        match (terms, name) {
            (Ok(terms), Some(name)) if problems.len() == before => rules.push(RuleEntry {
                name,
                monitor,
                tag,
                channels: channel_names,
                terms,
            }),
            (Err(found), _) => problems.extend(
                found
                    .list
                    .into_iter()
                    .map(|e| places.problem(&e.field, e.problem)),
            ),
            _ => {}
        }
    }
    rules
}

/// Puts the stored secrets back into a file's monitors where they send the redaction marker or a
/// `${NAME}` reference (an export applied again), matching monitors by key; see
/// [`MonitorSpec::restore_secrets`]. Every problem is returned, with its `monitors[i]` path.
pub fn restore_secrets(
    monitors: &mut [MonitorSpec],
    stored: &[MonitorSpec],
) -> Result<(), Vec<FieldError>> {
    let mut problems = Vec::new();
    for (index, spec) in monitors.iter_mut().enumerate() {
        let current = stored
            .iter()
            .find(|old| old.key.is_some() && old.key == spec.key);
        if let Err(found) = spec.restore_secrets(current, &format!("monitors[{index}]")) {
            problems.extend(found);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Replaces each `${NAME}` with the environment variable `NAME` (what `lookup` returns), so a
/// file can hold references to secrets instead of the secrets. Only for files an operator
/// gives the server at start (`serve --config`), never for text uploaded through the API.
pub fn interpolate_env(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<LocatedProblem>> {
    let reference = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("a valid pattern");
    let mut problems = Vec::new();
    let mut out = String::with_capacity(text.len());
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let mut last = 0;
        let code = &line[..comment_start(line)];
        for found in reference.captures_iter(code) {
            let whole = found.get(0).expect("the match");
            let name = &found[1];
            out.push_str(&line[last..whole.start()]);
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => problems.push(LocatedProblem {
                    line: number + 1,
                    column: whole.start() + 1,
                    field: String::new(),
                    problem: format!("the environment variable {name} is not set"),
                }),
            }
            last = whole.end();
        }
        out.push_str(&line[last..]);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Where a line's comment begins (its length if it has none): a `#` at the start or after a
/// space, outside quotes. References in comments are left alone.
fn comment_start(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') if previous.is_whitespace() => return at,
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            _ => {}
        }
        previous = c;
    }
    line.len()
}

fn load_problem(error: &marked_yaml::LoadError) -> LocatedProblem {
    use marked_yaml::LoadError::*;
    let marker = match error {
        TopLevelMustBeMapping(m)
        | TopLevelMustBeSequence(m)
        | UnexpectedAnchor(m)
        | MappingKeyMustBeScalar(m)
        | UnexpectedTag(m)
        | ScanError(m, _) => Some(*m),
        DuplicateKey(inner) => inner.key.span().start().copied(),
    };
    let (line, column) = marker.map(|m| (m.line(), m.column())).unwrap_or((1, 1));
    let message = error.to_string();
    // The loader prefixes its own position; ours comes from the marker.
    let message = message
        .split_once(": ")
        .filter(|(place, _)| place.contains(':'))
        .map_or(message.as_str(), |(_, rest)| rest);
    LocatedProblem {
        line,
        column,
        field: String::new(),
        problem: format!("not valid YAML: {message}"),
    }
}

/// Converts the marked tree into JSON, noting where every path starts. Unquoted scalars get YAML's
/// types (null, booleans, numbers); quoted ones stay text.
fn to_json(node: &Node, path: &str, mut places: Option<&mut Places>) -> Value {
    if let Some(places) = places.as_deref_mut() {
        places.note(path, node.span());
    }
    match node {
        Node::Scalar(scalar) => {
            let text = scalar.as_str();
            if !scalar.may_coerce() {
                return Value::String(text.to_owned());
            }
            match text {
                "" | "~" | "null" | "Null" | "NULL" => Value::Null,
                "true" | "True" | "TRUE" => Value::Bool(true),
                "false" | "False" | "FALSE" => Value::Bool(false),
                _ => text
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| text.parse::<u64>().map(Value::from))
                    .ok()
                    .or_else(|| {
                        text.parse::<f64>()
                            .ok()
                            .and_then(Number::from_f64)
                            .map(Value::Number)
                    })
                    .unwrap_or_else(|| Value::String(text.to_owned())),
            }
        }
        Node::Sequence(items) => {
            let mut list = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let child = if places.is_some() {
                    format!("{path}[{index}]")
                } else {
                    String::new()
                };
                list.push(to_json(item, &child, places.as_deref_mut()));
            }
            Value::Array(list)
        }
        Node::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping.iter() {
                let child = match places.as_deref_mut() {
                    Some(places) => {
                        let child = join_path(path, key.as_str());
                        places.note(&child, key.span());
                        child
                    }
                    None => String::new(),
                };
                map.insert(
                    key.as_str().to_owned(),
                    to_json(value, &child, places.as_deref_mut()),
                );
            }
            Value::Object(map)
        }
    }
}

/// Writes monitors as a monitors file that [`parse`] reads back to the same specs. Scalars are
/// written as JSON, which is valid YAML, so no string needs YAML-specific quoting rules.
pub fn to_yaml(monitors: &[MonitorSpec]) -> String {
    let values: Vec<Value> = monitors.iter().map(MonitorSpec::to_value).collect();
    values_to_yaml(&values)
}

/// Writes monitors given in their JSON shape (such as [`MonitorSpec::value_with_secrets`]
/// makes, with secrets redacted or replaced by `${NAME}` references) as a monitors file.
pub fn values_to_yaml(monitors: &[Value]) -> String {
    if monitors.is_empty() {
        return "monitors: []\n".into();
    }
    section_to_yaml("monitors", monitors)
}

/// A team's status pages as the file's `status_pages:` section, each component naming its
/// monitors by key (`key_of`). Passwords are never written (a password page applied again keeps
/// its stored one). A page showing a monitor without a key cannot be written so: it is left out
/// and returned with those monitors' ids, for the file to say so.
pub fn status_pages_to_yaml(
    pages: &[StatusPageSpec],
    key_of: impl Fn(MonitorId) -> Option<String>,
) -> (String, Vec<(String, Vec<MonitorId>)>) {
    let mut values = Vec::new();
    let mut left_out = Vec::new();
    for spec in pages {
        let keyless: Vec<MonitorId> = spec
            .monitor_ids()
            .into_iter()
            .filter(|id| key_of(*id).is_none())
            .collect();
        if !keyless.is_empty() {
            left_out.push((spec.slug.as_str().to_owned(), keyless));
            continue;
        }
        let mut value = serde_json::to_value(spec).expect("a page serializes");
        if let Value::Object(map) = &mut value {
            map.remove("password");
        }
        // An unset field is left out, as a person writes the file.
        drop_nulls(&mut value);
        for_each_monitor(&mut value, |_, monitor| {
            let key = monitor
                .as_i64()
                .and_then(|id| key_of(MonitorId(id)))
                .unwrap_or_default();
            *monitor = Value::String(key);
        });
        values.push(value);
    }
    if values.is_empty() {
        return (String::new(), left_out);
    }
    (section_to_yaml("status_pages", &values), left_out)
}

/// A top-level list of mappings (`monitors:`, `status_pages:`), one entry per item.
fn section_to_yaml(section: &str, items: &[Value]) -> String {
    let mut out = format!("{section}:\n");
    for item in items {
        let Value::Object(map) = item else {
            continue;
        };
        let mut first = true;
        for (name, value) in map {
            out.push_str(if first { "  - " } else { "    " });
            first = false;
            write_entry(&mut out, name, value, 4);
        }
    }
    out
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, value| !value.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn write_entry(out: &mut String, name: &str, value: &Value, indent: usize) {
    out.push_str(&Value::String(name.to_owned()).to_string());
    out.push(':');
    write_value(out, value, indent);
}

fn write_value(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent + 2);
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            for (name, value) in map {
                out.push_str(&pad);
                write_entry(out, name, value, indent + 2);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&pad);
                out.push('-');
                write_value(out, item, indent + 2);
            }
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar.to_string());
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_example_parses() {
        let file = parse(
            "monitors:\n  - key: example-web\n    name: Example web\n    kind: http\n    url: http://127.0.0.1:8000/\n    interval: 30s\n    timeout: 5s\n    retries: 1\n",
        )
        .unwrap();
        assert_eq!(file.monitors.len(), 1);
        assert!(!file.prune);
        assert_eq!(file.monitors[0].retries, 1);
    }

    #[test]
    fn every_problem_is_reported_at_its_line() {
        let text = "\
monitors:
  - key: web
    name: Web
    kind: http
    url: ftp://nope
    interval: 5x
  - name: No key
    kind: tcp
    host: db
    port: 99999
  - key: web
    name: Again
    kind: ping
    host: gw
colour: blue
";
        let problems = parse(text).unwrap_err();
        let summary: Vec<String> = problems
            .iter()
            .map(|p| format!("{}:{}", p.line, p.field))
            .collect();
        assert_eq!(
            summary,
            [
                "5:monitors[0].url",
                "6:monitors[0].interval",
                "7:monitors[1]",
                "10:monitors[1].port",
                "11:monitors[2].key",
                "15:colour",
            ],
            "{problems:#?}"
        );
    }

    #[test]
    fn broken_yaml_is_one_located_problem() {
        let problems = parse("monitors:\n  - key: a\n   name: [unclosed\n").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].problem.starts_with("not valid YAML"),
            "{problems:?}"
        );
        assert!(problems[0].line >= 2);
    }

    #[test]
    fn deep_nesting_is_refused_before_a_tree_is_built() {
        // 5,000 levels in about 10 KB overflowed the stack while loading; the pre-scan refuses
        // them without recursion, so this runs on a thread with a small stack.
        let block = format!("x:\n{}a\n", "- ".repeat(5000));
        let flow = format!("monitors: {}{}\n", "[".repeat(5000), "]".repeat(5000));
        for (text, line) in [(block, 2), (flow, 1)] {
            let problems = std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || (parse(&text).unwrap_err(), yaml_to_json(&text).unwrap_err()))
                .unwrap()
                .join()
                .unwrap();
            let (file, json) = problems;
            assert_eq!(file.len(), 1, "{file:?}");
            for problem in [&file[0], &json] {
                assert!(problem.problem.contains("the limit is 32"), "{problem}");
                assert_eq!(problem.line, line, "{problem}");
            }
        }
        let at_limit = format!("monitors: []\nx: {}{}\n", "[".repeat(31), "]".repeat(31));
        let problems = parse(&at_limit).unwrap_err();
        assert!(
            problems[0].problem.contains("not a known field"),
            "{problems:?}"
        );
    }

    #[test]
    fn quoted_scalars_stay_text() {
        let file = parse(
            "monitors:\n  - key: t\n    name: x\n    kind: http\n    url: https://e.test/\n    body: \"\"\n    keyword: \"true\"\n",
        )
        .unwrap();
        let crate::MonitorKind::Http(http) = &file.monitors[0].kind else {
            panic!("not http")
        };
        assert_eq!(http.body.as_deref(), Some(""));
        assert_eq!(http.keyword.as_ref().map(|k| k.text.as_str()), Some("true"));
    }

    #[test]
    fn quoted_numbers_stay_text() {
        let file = parse(
            "monitors:\n  - key: t\n    name: '123'\n    kind: tcp\n    host: h\n    port: 80\n",
        )
        .unwrap();
        assert_eq!(file.monitors[0].name, "123");
    }

    #[test]
    fn an_export_parses_back_to_the_same_monitors() {
        let text = r#"
monitors:
  - key: api
    name: "API: health \"quoted\""
    kind: http
    url: https://api.example.com/health
    interval: 30s
    tags: [prod, "needs: quoting"]
    headers:
      X-Token: abc
    accepted_status: ["200-299", 304]
    keyword:
      text: ok
  - key: beat
    name: Nightly
    kind: push
    period: 1d
    grace: 10m
"#;
        let file = parse(text).expect("valid");
        let exported = to_yaml(&file.monitors);
        let again = parse(&exported).unwrap_or_else(|p| panic!("{exported}\n{p:?}"));
        assert_eq!(again.monitors, file.monitors);
        assert_eq!(parse(&to_yaml(&[])).expect("empty").monitors, vec![]);
    }

    #[test]
    fn a_redacted_export_applied_again_keeps_every_secret() {
        let stored = parse(
            "monitors:\n  - {key: api, name: API, kind: http, url: 'https://u:p%40ss@api.example.com/', \
             headers: {X-Key: hk}, auth: {basic: {username: u, password: bp}}}\n  \
             - {key: beat, name: Beat, kind: push, period: 1h, token: tok-0123456789abcdef}\n",
        )
        .expect("valid")
        .monitors;
        for redacted in [
            stored
                .iter()
                .map(|s| s.redacted_value(false))
                .collect::<Vec<_>>(),
            stored
                .iter()
                .map(|s| {
                    let key = s.key.as_ref().expect("keyed").to_string();
                    s.value_with_secrets(|field| Some(format!("${{{}}}", field.env_name(&key))))
                })
                .collect(),
        ] {
            let text = values_to_yaml(&redacted);
            for secret in ["p%40ss", "hk", "bp", "tok-0123456789abcdef"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            let mut again = parse(&text)
                .unwrap_or_else(|p| panic!("{text}\n{p:?}"))
                .monitors;
            restore_secrets(&mut again, &stored).expect("kept");
            assert_eq!(again, stored, "{text}");
            // The same file on an instance that stores nothing names every field to give.
            let mut fresh = parse(&text).expect("valid").monitors;
            let problems = restore_secrets(&mut fresh, &[]).unwrap_err();
            assert_eq!(problems.len(), 4, "{problems:?}");
        }
    }

    const ALERTING: &str = r#"
monitors:
  - key: shop
    name: Shop
    kind: http
    url: https://shop.example.test/
channels:
  - name: ops
    kind: webhook
    url: https://hooks.example.test/watchtower
alert_rules:
  - name: shop outages
    monitor: shop
    events: [down, up]
    channels: [ops]
    remind_every: 30m
  - name: certificates
    events: [certificate_expiring]
    certificate_days: 21
    channels: [ops]
"#;

    #[test]
    fn channels_and_rules_parse_with_their_references() {
        let file = parse(ALERTING).expect("a valid file");
        assert_eq!(file.channels.len(), 1);
        assert_eq!(file.channels[0].kind, "webhook");
        assert_eq!(file.alert_rules.len(), 2);
        assert_eq!(
            file.alert_rules[0].monitor.as_ref().map(MonitorKey::as_str),
            Some("shop")
        );
        assert_eq!(file.alert_rules[1].terms.certificate_days, Some(21));
    }

    #[test]
    fn bad_rules_and_channels_are_reported_at_their_lines() {
        let text = ALERTING
            .replace("monitor: shop", "monitor: nowhere")
            .replace(
                "channels: [ops]\n    remind_every",
                "channels: [opps]\n    remind_every",
            )
            .replace("certificate_days: 21", "certificate_days: 0");
        let problems = parse_with(&text, &|_, prefix| {
            vec![FieldError {
                field: join_path(prefix, "url"),
                problem: "checked by the channel's kind".into(),
            }]
        })
        .unwrap_err();
        let found: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (10, "channels[0].url"),
                (13, "alert_rules[0].monitor"),
                (15, "alert_rules[0].channels[0]"),
                (19, "alert_rules[1].certificate_days"),
            ],
            "{problems:?}"
        );
    }

    const PAGES: &str = r#"
monitors:
  - key: web
    name: Website
    kind: http
    url: https://shop.example.test/
  - key: api
    name: API
    kind: tcp
    host: api.example.test
    port: 443
status_pages:
  - slug: public
    title: Example status
    components: [{name: Website, monitors: [web]}]
  - slug: inside
    title: Inside
    visibility: members
    groups:
      - name: Backend
        components:
          - name: API
            monitors: [api, web]
"#;

    #[test]
    fn status_pages_name_monitors_by_key_with_or_without_groups() {
        let file = parse(PAGES).expect("a valid file");
        assert_eq!(file.status_pages.len(), 2);
        let ids = |key: &str| match key {
            "web" => Some(MonitorId(41)),
            "api" => Some(MonitorId(42)),
            _ => None,
        };
        let public = file.status_pages[0].spec(ids).expect("the issue's form");
        assert_eq!(public.slug.as_str(), "public");
        assert_eq!(public.groups.len(), 1);
        assert_eq!(public.groups[0].name, None);
        assert_eq!(public.groups[0].components[0].monitors, [MonitorId(41)]);
        let inside = file.status_pages[1].spec(ids).expect("groups");
        assert_eq!(inside.groups[0].name.as_deref(), Some("Backend"));
        assert_eq!(
            inside.groups[0].components[0].monitors,
            [MonitorId(42), MonitorId(41)]
        );
        assert_eq!(inside.visibility, crate::PageVisibility::Members);
    }

    #[test]
    fn bad_status_pages_are_reported_at_their_lines() {
        let text = PAGES
            .replace("monitors: [web]}", "monitors: [nowhere]}")
            .replace("slug: inside", "slug: public")
            .replace("visibility: members", "visibility: secret");
        let problems = parse(&text).unwrap_err();
        let found: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (15, "status_pages[0].components[0].monitors[0]"),
                (16, "status_pages[1].slug"),
                (18, "status_pages[1].visibility"),
            ],
            "{problems:?}"
        );
        assert!(problems[0].problem.contains("'nowhere' in this file"));
        let numbered = PAGES.replace("monitors: [api, web]", "monitors: [api, 7]");
        let problems = parse(&numbered).unwrap_err();
        assert_eq!(
            (problems[0].field.as_str(), problems[0].problem.as_str()),
            (
                "status_pages[1].groups[0].components[0].monitors[1]",
                "must be a monitor's key"
            ),
            "{problems:?}"
        );
        let both = PAGES.replace(
            "    title: Inside\n",
            "    title: Inside\n    components: []\n",
        );
        let problems = parse(&both).unwrap_err();
        assert_eq!(
            problems[0].field, "status_pages[1].components",
            "{problems:?}"
        );
    }

    #[test]
    fn environment_references_are_replaced_or_reported() {
        let lookup = |name: &str| (name == "HOOK").then(|| "https://h.example.test/x".to_owned());
        let text = "url: \"${HOOK}\"\ntoken: ${MISSING}\n";
        let problems = interpolate_env(text, lookup).unwrap_err();
        assert_eq!((problems[0].line, problems[0].column), (2, 8));
        assert!(problems[0].problem.contains("MISSING"));
        let done =
            interpolate_env("url: \"${HOOK}\" # not ${THIS}\n# nor ${THAT}\n", lookup).unwrap();
        assert_eq!(
            done,
            "url: \"https://h.example.test/x\" # not ${THIS}\n# nor ${THAT}\n"
        );
    }
}
