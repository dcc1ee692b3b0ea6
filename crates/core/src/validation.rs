//! Field-level problems found while parsing input: every problem is kept, so a user sees all of
//! them at once, each with the path of the field it concerns (`monitors[2].interval`).

use serde::Serialize;
use std::fmt;

/// One bad field: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// A dotted path with list indexes, such as `monitors[0].url`.
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Names listed for a message: `a, b or c`.
pub fn choices(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// A collector of problems under a path prefix.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problems {
    pub list: Vec<FieldError>,
}

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` (relative to `prefix`) has `problem`.
    pub fn add(&mut self, prefix: &str, field: &str, problem: impl Into<String>) {
        self.list.push(FieldError {
            field: join_path(prefix, field),
            problem: problem.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn extend(&mut self, other: Problems) {
        self.list.extend(other.list);
    }

    pub fn into_result<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(self.list)
        }
    }
}

/// Joins a path prefix and a field name: `monitors[0]` + `url` = `monitors[0].url`.
pub fn join_path(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (_, true) => prefix.to_owned(),
        _ if field.starts_with('[') => format!("{prefix}{field}"),
        _ => format!("{prefix}.{field}"),
    }
}
