//! `MonitorSpec::parse` from JSON: never panics, and a spec that parses survives what the store
//! does with it: `to_value` read back by `parse` and by serde (how a stored row is decoded).

use serde_json::Value;
use watchtower_core::MonitorSpec;

pub fn run(data: &[u8]) {
    if data.len() > crate::MAX_INPUT_BYTES {
        return;
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(spec) = MonitorSpec::parse(&value, "") else {
        return;
    };
    let stored = spec.to_value();
    let reparsed = MonitorSpec::parse(&stored, "")
        .unwrap_or_else(|problems| panic!("to_value -> parse failed: {problems:?}\n{stored}"));
    assert_eq!(
        reparsed, spec,
        "to_value -> parse changed the spec: {stored}"
    );
    let decoded: MonitorSpec = serde_json::from_value(stored.clone())
        .unwrap_or_else(|error| panic!("a stored spec does not decode: {error}\n{stored}"));
    assert_eq!(
        decoded, spec,
        "to_value -> serde changed the spec: {stored}"
    );
    assert_eq!(decoded.to_value(), stored, "the stored form is not stable");
}
