//! The body assertions as a check applies them, without a network: the entry point the fuzz
//! targets (`fuzz/`) and their stable replay (`crates/fuzz-replay`) drive.

use crate::assertions::{self, Body};
use watchtower_core::ErrorClass;
use watchtower_core::monitor::http::HttpSettings;

/// Applies the keyword, regex and JSONPath rules of `settings` to a whole (untruncated) body, as
/// a check does; each failure's class and message.
pub fn body_assertions(settings: &HttpSettings, body: &[u8]) -> Vec<(ErrorClass, String)> {
    let body = Body {
        bytes: body,
        truncated_at: None,
    };
    [
        settings
            .keyword
            .as_ref()
            .map_or(Ok(()), |rule| assertions::keyword(rule, body)),
        settings
            .regex
            .as_ref()
            .map_or(Ok(()), |rule| assertions::regex(rule, body)),
        settings
            .json_path
            .as_ref()
            .map_or(Ok(()), |rule| assertions::json_path(rule, body)),
    ]
    .into_iter()
    .filter_map(Result::err)
    .map(|failure| (failure.class, failure.message))
    .collect()
}
