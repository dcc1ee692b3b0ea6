//! A JSONPath query as the user wrote it: the text is what is stored and shown (the parsed form's
//! `Display` does not always parse back), and the query is bounded before the recursive parser
//! sees it and before it is evaluated on a body.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The longest query text accepted, in bytes.
pub const MAX_JSON_PATH_LENGTH: usize = 1024;
/// The deepest nesting of brackets and parentheses accepted: the parser recurses on each level.
pub const MAX_JSON_PATH_NESTING: usize = 32;
/// The most descendant segments (`..`) a query may have: each can multiply the work by the
/// body's size.
pub const MAX_DESCENDANT_SEGMENTS: u32 = 4;

/// An RFC 9535 JSONPath query with the text it was parsed from.
#[derive(Clone)]
pub struct JsonPathQuery {
    text: String,
    compiled: serde_json_path::JsonPath,
    shape: QueryShape,
}

/// What the query's text says about its worst-case work, counted without recursion.
#[derive(Debug, Clone, Copy, PartialEq)]
struct QueryShape {
    descendant_segments: u32,
    /// The product of the selector counts of every bracketed selection (`[a,b]` counts 2): a
    /// union can repeat a node in the result once per selector.
    selector_product: f64,
    /// `@` and `$` inside filters: queries run once per candidate node.
    embedded_queries: u32,
    /// A `$` inside a filter walks the whole document for every candidate.
    absolute_in_filter: bool,
}

impl JsonPathQuery {
    /// Parses a query after checking its length, nesting and descendant segments, so the
    /// recursive parser never sees input deep enough to overflow its stack.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_JSON_PATH_LENGTH {
            return Err(format!(
                "is {} bytes long; the limit is {MAX_JSON_PATH_LENGTH}",
                text.len()
            ));
        }
        let shape = scan(text)?;
        if shape.descendant_segments > MAX_DESCENDANT_SEGMENTS {
            return Err(format!(
                "has {} descendant segments (..); the limit is {MAX_DESCENDANT_SEGMENTS}",
                shape.descendant_segments
            ));
        }
        let compiled = serde_json_path::JsonPath::parse(text)
            .map_err(|error| format!("is not an RFC 9535 JSONPath: {error}"))?;
        Ok(Self {
            text: text.to_owned(),
            compiled,
            shape,
        })
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed query, to evaluate once [`JsonPathQuery::work_bound`] is within budget.
    pub fn compiled(&self) -> &serde_json_path::JsonPath {
        &self.compiled
    }

    /// An upper bound of the node visits evaluating this query can take on a document of `nodes`
    /// values nested `depth` deep. A child segment visits each input node's children once per
    /// selector; a descendant segment visits every descendant, and a node has at most `depth`
    /// ancestors, so each `..` multiplies the result's repetitions by at most `depth + 1`.
    /// Queries inside filters run per candidate; one starting at `$` walks from the root again.
    pub fn work_bound(&self, nodes: u64, depth: u64) -> f64 {
        let shape = &self.shape;
        let nodes = nodes.max(1) as f64;
        let mut bound = nodes
            * ((depth + 1) as f64).powi(shape.descendant_segments as i32)
            * shape.selector_product
            * f64::from(1 + shape.embedded_queries);
        if shape.absolute_in_filter {
            bound *= nodes;
        }
        bound
    }
}

/// Counts nesting, descendant segments and selectors outside string literals, refusing nesting
/// deeper than [`MAX_JSON_PATH_NESTING`]. Syntax errors are left to the parser.
fn scan(text: &str) -> Result<QueryShape, String> {
    let mut shape = QueryShape {
        descendant_segments: 0,
        selector_product: 1.0,
        embedded_queries: 0,
        absolute_in_filter: false,
    };
    // One entry per open bracket or parenthesis: its character and, for brackets, its selectors.
    let mut open: Vec<(char, u32)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                // Skip the string literal, escapes included.
                while let Some((_, inner)) = chars.next() {
                    if inner == '\\' {
                        chars.next();
                    } else if inner == c {
                        break;
                    }
                }
            }
            '[' | '(' => {
                open.push((c, 1));
                if open.len() > MAX_JSON_PATH_NESTING {
                    return Err(format!(
                        "nests brackets and parentheses more than {MAX_JSON_PATH_NESTING} deep"
                    ));
                }
            }
            ']' | ')' => {
                if let Some(('[', selectors)) = open.pop() {
                    shape.selector_product *= f64::from(selectors);
                }
            }
            ',' => {
                if let Some(('[', selectors)) = open.last_mut() {
                    *selectors += 1;
                }
            }
            '.' if chars.peek().is_some_and(|(_, next)| *next == '.') => {
                chars.next();
                shape.descendant_segments += 1;
            }
            '@' => shape.embedded_queries += 1,
            '$' if at > 0 => {
                shape.embedded_queries += 1;
                shape.absolute_in_filter = true;
            }
            _ => {}
        }
    }
    Ok(shape)
}

impl fmt::Debug for JsonPathQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JsonPathQuery").field(&self.text).finish()
    }
}

impl fmt::Display for JsonPathQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for JsonPathQuery {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Serialize for JsonPathQuery {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for JsonPathQuery {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text)
            .map_err(|problem| serde::de::Error::custom(format!("JSONPath {problem}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_kept_as_written() {
        for text in [
            "$..status",
            "$..*",
            "$..a.b",
            "$.a..b",
            r#"$["it's"]"#,
            r#"$[?@.a=="it's"]"#,
            r#"$["\u0000"]"#,
            "$['a']['b'][0:2]",
        ] {
            let query = JsonPathQuery::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(query.as_str(), text);
            let stored = serde_json::to_string(&query).unwrap();
            let again: JsonPathQuery = serde_json::from_str(&stored).unwrap();
            assert_eq!(again.as_str(), text, "{stored}");
        }
    }

    #[test]
    fn deep_long_or_descendant_heavy_queries_are_refused_before_parsing() {
        // 1,000 nested parentheses overflowed the parser's stack; now the scan refuses them
        // without recursion, so this runs on a small thread.
        let refused = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                [1000, 500].map(|depth| {
                    let deep = format!("$[?{}@.a{}]", "(".repeat(depth), ")".repeat(depth));
                    JsonPathQuery::parse(&deep).unwrap_err()
                })
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(refused[0].contains("the limit is 1024"), "{}", refused[0]);
        assert!(refused[1].contains("more than 32 deep"), "{}", refused[1]);

        let long = format!("$.{}", "a".repeat(MAX_JSON_PATH_LENGTH));
        assert!(JsonPathQuery::parse(&long).unwrap_err().contains("1024"));

        let descendants = "$..[*]..[*]..[*]..[*]..[*]";
        let problem = JsonPathQuery::parse(descendants).unwrap_err();
        assert!(problem.contains("5 descendant segments"), "{problem}");
        // Dots inside a string literal are not segments.
        assert!(JsonPathQuery::parse(r#"$["....."]"#).is_ok());
    }

    #[test]
    fn nesting_at_the_limit_parses_on_a_worker_sized_stack() {
        let depth = MAX_JSON_PATH_NESTING - 1;
        let text = format!("$[?{}@.a{}]", "(".repeat(depth), ")".repeat(depth));
        let parsed = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || JsonPathQuery::parse(&text).map(|q| q.as_str().len()))
            .unwrap()
            .join()
            .unwrap();
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn the_work_bound_grows_with_descendants_unions_and_depth() {
        let plain = JsonPathQuery::parse("$.a.b").unwrap();
        assert_eq!(plain.work_bound(1000, 120), 1000.0);
        let one = JsonPathQuery::parse("$..a").unwrap();
        assert_eq!(one.work_bound(1000, 9), 10_000.0);
        let attack = JsonPathQuery::parse("$..[*]..[*]..[*]..[*]").unwrap();
        assert!(attack.work_bound(240, 120) > 1e10);
        let union = JsonPathQuery::parse("$[*,*,*][*,*]").unwrap();
        assert_eq!(union.work_bound(10, 0), 60.0);
        let filter = JsonPathQuery::parse("$[?$.a == @.b]").unwrap();
        assert_eq!(filter.work_bound(10, 1), 10.0 * 3.0 * 10.0);
    }
}
