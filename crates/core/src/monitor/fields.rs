//! Reading a JSON object field by field, collecting every problem instead of stopping at the first,
//! and reporting fields nobody asked for (usually typos).

use crate::duration::HumanDuration;
use crate::validation::Problems;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub(crate) const NUL_PROBLEM: &str = "must not contain the NUL character (\\u0000)";

/// Whether any text in `value` (keys included) holds a NUL character, looked for without recursion.
pub(crate) fn holds_nul(value: &Value) -> bool {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) if text.contains('\0') => return true,
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                if map.keys().any(|key| key.contains('\0')) {
                    return true;
                }
                pending.extend(map.values());
            }
            _ => {}
        }
    }
    false
}

/// A cursor over one JSON object with the path it sits at.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    pub(crate) prefix: String,
    pub(crate) problems: Problems,
    read: BTreeSet<String>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, prefix: &str) -> Self {
        Self {
            map,
            prefix: prefix.to_owned(),
            problems: Problems::new(),
            read: BTreeSet::new(),
        }
    }

    pub(crate) fn problem(&mut self, field: &str, problem: impl Into<String>) {
        self.problems.add(&self.prefix, field, problem);
    }

    /// The raw value, marking the field as known.
    pub(crate) fn raw(&mut self, name: &str) -> Option<&'a Value> {
        self.read.insert(name.to_owned());
        self.map.get(name).filter(|value| !value.is_null())
    }

    pub(crate) fn string(&mut self, name: &str) -> Option<String> {
        match self.raw(name)? {
            // PostgreSQL cannot store NUL in text or JSON, so a spec holding one could be saved
            // on SQLite only.
            Value::String(text) if text.contains('\0') => {
                self.problem(name, NUL_PROBLEM);
                None
            }
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => {
                self.problem(name, "must be text");
                None
            }
        }
    }

    pub(crate) fn required_string(&mut self, name: &str) -> Option<String> {
        let value = self.string(name);
        match value {
            Some(text) if text.trim().is_empty() => {
                self.problem(name, "must not be empty");
                None
            }
            None if !self.map.contains_key(name) || self.map[name].is_null() => {
                self.problem(name, "is required");
                None
            }
            other => other,
        }
    }

    pub(crate) fn bool(&mut self, name: &str, default: bool) -> bool {
        match self.raw(name) {
            None => default,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => {
                self.problem(name, "must be true or false");
                default
            }
        }
    }

    /// A whole number within `min..=max`.
    pub(crate) fn number(&mut self, name: &str, default: u64, min: u64, max: u64) -> u64 {
        match self.raw(name) {
            None => default,
            Some(value) => match value.as_u64() {
                Some(n) if (min..=max).contains(&n) => n,
                _ => {
                    self.problem(name, format!("must be a whole number from {min} to {max}"));
                    default
                }
            },
        }
    }

    pub(crate) fn duration(&mut self, name: &str) -> Option<HumanDuration> {
        let parsed = match self.raw(name)? {
            Value::String(text) => HumanDuration::parse(text),
            Value::Number(number) => {
                number
                    .as_u64()
                    .map(HumanDuration::from_secs)
                    .ok_or_else(|| {
                        "must be a positive whole number of seconds or a duration like 30s"
                            .to_owned()
                    })
            }
            _ => Err("must be a duration like 30s, 5m or 1h".to_owned()),
        };
        parsed.map_err(|problem| self.problem(name, problem)).ok()
    }

    pub(crate) fn string_list(&mut self, name: &str) -> Vec<String> {
        match self.raw(name) {
            None => Vec::new(),
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(items)) => {
                let mut list = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Value::String(text) if text.contains('\0') => {
                            self.problem(&format!("{name}[{index}]"), NUL_PROBLEM);
                        }
                        Value::String(text) => list.push(text.clone()),
                        Value::Number(number) => list.push(number.to_string()),
                        _ => self.problem(&format!("{name}[{index}]"), "must be text"),
                    }
                }
                list
            }
            Some(_) => {
                self.problem(name, "must be a list of text");
                Vec::new()
            }
        }
    }

    pub(crate) fn object(&mut self, name: &str) -> Option<&'a Map<String, Value>> {
        match self.raw(name)? {
            Value::Object(map) => Some(map),
            _ => {
                self.problem(name, "must be a mapping");
                None
            }
        }
    }

    /// Reports every field that no reader asked for.
    pub(crate) fn finish_unknown(&mut self) {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|key| !self.read.contains(*key))
            .cloned()
            .collect();
        for key in unknown {
            self.problem(&key, "is not a known field");
        }
    }

    /// Reads a nested object with its own cursor, merging its problems into this one.
    pub(crate) fn nested<T>(
        &mut self,
        name: &str,
        read: impl FnOnce(&mut Fields<'a>) -> Option<T>,
    ) -> Option<T> {
        let map = self.object(name)?;
        let prefix = crate::validation::join_path(&self.prefix, name);
        let mut inner = Fields::new(map, &prefix);
        let value = read(&mut inner);
        inner.finish_unknown();
        self.problems.extend(std::mem::take(&mut inner.problems));
        value
    }
}
