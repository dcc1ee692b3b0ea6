//! Monitors as code: a YAML file of keyed monitors. Parsing keeps every node's line and column so
//! each problem is reported where it is, and all problems are reported at once.

use crate::MonitorSpec;
use crate::validation::join_path;
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
}

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

/// Parses YAML text into JSON, noting where each path starts.
pub fn yaml_to_json(text: &str) -> Result<Value, LocatedProblem> {
    let node = marked_yaml::parse_yaml(0, text).map_err(|error| load_problem(&error))?;
    Ok(to_json(&node, "", None))
}

/// Parses the text of a monitors file.
pub fn parse(text: &str) -> Result<MonitorsFile, Vec<LocatedProblem>> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let root = marked_yaml::parse_yaml_with_options(0, text, options)
        .map_err(|error| vec![load_problem(&error)])?;
    let value = to_json(&root, "", None);
    let result = interpret(&value, &Places::default());
    if result.is_ok() {
        return result;
    }
    // Only a file with problems pays for recording where every field is.
    let mut places = Places::default();
    to_json(&root, "", Some(&mut places));
    interpret(&value, &places)
}

/// Reads the top level and every monitor, collecting each problem at its place.
fn interpret(value: &Value, places: &Places) -> Result<MonitorsFile, Vec<LocatedProblem>> {
    let mut problems = Vec::new();
    let Value::Object(top) = value else {
        unreachable!("the loader requires a top-level mapping")
    };

    for key in top
        .keys()
        .filter(|key| !matches!(key.as_str(), "monitors" | "prune"))
    {
        problems.push(places.problem(
            key,
            "is not a known field; the file holds `monitors` and `prune`",
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
    if problems.is_empty() {
        Ok(MonitorsFile { prune, monitors })
    } else {
        problems.sort_by_key(|problem| (problem.line, problem.column));
        Err(problems)
    }
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
    let mut out = String::from("monitors:\n");
    for spec in monitors {
        let Value::Object(map) = spec.to_value() else {
            continue;
        };
        let mut first = true;
        for (name, value) in &map {
            out.push_str(if first { "  - " } else { "    " });
            first = false;
            write_entry(&mut out, name, value, 4);
        }
    }
    if monitors.is_empty() {
        out = "monitors: []\n".into();
    }
    out
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
}
