//! Reading a channel's JSON object field by field, keeping every problem with its path
//! (`channels[0].webhook_url`) instead of stopping at the first, and reporting unknown fields.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use url::Url;
use watchtower_core::Problems;

/// A cursor over one JSON object with the path it sits at.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
    pub(crate) problems: Problems,
    read: BTreeSet<&'static str>,
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

    /// The value, marking the field as known; `null` counts as absent.
    fn raw(&mut self, name: &'static str) -> Option<&'a Value> {
        self.read.insert(name);
        self.map.get(name).filter(|value| !value.is_null())
    }

    /// Optional text; blank text counts as absent.
    pub(crate) fn string(&mut self, name: &'static str) -> Option<String> {
        match self.raw(name)? {
            Value::String(text) if text.trim().is_empty() => None,
            Value::String(text) => Some(text.trim().to_owned()),
            Value::Number(number) => Some(number.to_string()),
            _ => {
                self.problem(name, "must be text");
                None
            }
        }
    }

    /// Optional text exactly as given, for passwords, where spaces count.
    pub(crate) fn exact_string(&mut self, name: &'static str) -> Option<String> {
        match self.raw(name)? {
            Value::String(text) if text.is_empty() => None,
            Value::String(text) => Some(text.clone()),
            _ => {
                self.problem(name, "must be text");
                None
            }
        }
    }

    pub(crate) fn required_string(&mut self, name: &'static str) -> Option<String> {
        match self.raw(name) {
            None => {
                self.problem(name, "is required");
                None
            }
            Some(Value::String(text)) if text.trim().is_empty() => {
                self.problem(name, "must not be empty");
                None
            }
            Some(_) => self.string(name),
        }
    }

    /// A whole number within `min..=max`.
    pub(crate) fn number(&mut self, name: &'static str, default: u64, min: u64, max: u64) -> u64 {
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

    /// A non-empty list of text, each item turned into a `T` by `read` (given the item's path);
    /// one text alone counts as a list of one. `None` when the list or any item is bad.
    pub(crate) fn required_list<T>(
        &mut self,
        name: &'static str,
        mut read: impl FnMut(&mut Self, &str, &str) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = match self.raw(name) {
            None => {
                self.problem(name, "is required");
                return None;
            }
            Some(Value::String(one)) => return read(self, name, one.trim()).map(|item| vec![item]),
            Some(Value::Array(items)) if items.is_empty() => {
                self.problem(name, "must list at least one");
                return None;
            }
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.problem(name, "must be a list of text");
                return None;
            }
        };
        let mut list = Vec::new();
        let mut all_good = true;
        for (index, item) in items.iter().enumerate() {
            let path = format!("{name}[{index}]");
            let parsed = match item {
                Value::String(text) => read(self, &path, text.trim()),
                _ => {
                    self.problem(&path, "must be text");
                    None
                }
            };
            match parsed {
                Some(parsed) => list.push(parsed),
                None => all_good = false,
            }
        }
        all_good.then_some(list)
    }

    /// A mapping of text to text, such as extra headers.
    pub(crate) fn string_map(&mut self, name: &'static str) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        match self.raw(name) {
            None => {}
            Some(Value::Object(entries)) => {
                for (key, value) in entries {
                    match value {
                        Value::String(text) => {
                            map.insert(key.clone(), text.clone());
                        }
                        _ => self.problem(&format!("{name}.{key}"), "must be text"),
                    }
                }
            }
            Some(_) => self.problem(name, "must be a mapping of text to text"),
        }
        map
    }

    /// A required http(s) URL such as a webhook; it may carry credentials (they are secrets).
    pub(crate) fn required_url(&mut self, name: &'static str) -> Option<Url> {
        let text = self.required_string(name)?;
        self.check_url(name, &text)
    }

    /// A service's base URL, `default` when absent. Credentials belong in the secret fields,
    /// where redaction hides them, so a base URL may not carry any.
    pub(crate) fn base_url(&mut self, name: &'static str, default: &str) -> Option<Url> {
        let text = self.string(name).unwrap_or_else(|| default.to_owned());
        let url = self.check_url(name, &text)?;
        if !url.username().is_empty() || url.password().is_some() {
            self.problem(
                name,
                "must not hold credentials; put them in the channel's token fields",
            );
            return None;
        }
        Some(url)
    }

    /// Reports every field that no reader asked for (usually a typo) and hands back the problems.
    pub(crate) fn finish(mut self) -> Problems {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|key| !self.read.contains(key.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            self.problem(&key, "is not a known field");
        }
        self.problems
    }

    fn check_url(&mut self, name: &str, text: &str) -> Option<Url> {
        match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
            Ok(_) => {
                self.problem(name, "must be an http:// or https:// URL");
                None
            }
            Err(error) => {
                self.problem(name, format!("is not a URL: {error}"));
                None
            }
        }
    }
}
