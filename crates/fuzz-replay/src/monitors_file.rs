//! The monitors file (YAML, `${ENV}` references): parsing never panics, and the monitors of a
//! file that parses are written back by `to_yaml` to a file that parses to the same monitors.

use watchtower_core::monitors_file;

pub fn run(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    // Names starting with A-M are "set", the rest are not, so both branches are explored.
    let lookup = |name: &str| {
        name.starts_with(|c: char| ('A'..='M').contains(&c))
            .then(|| format!("value of {name}"))
    };
    let expanded = monitors_file::interpolate_env(text, lookup);
    let text = expanded.as_deref().unwrap_or(text);
    let _ = monitors_file::yaml_to_json(text);
    let Ok(file) = monitors_file::parse(text) else {
        return;
    };
    let written = monitors_file::to_yaml(&file.monitors);
    let reread = monitors_file::parse(&written).unwrap_or_else(|problems| {
        panic!("to_yaml wrote a file that does not parse: {problems:?}\n{written}")
    });
    assert_eq!(
        reread.monitors, file.monitors,
        "to_yaml -> parse changed the monitors:\n{written}"
    );
}
