//! `serve`'s ops alerts: reads the operators' channel and the thresholds from the flags (every
//! problem printed, exit code 2); the application starts the notifier and the evaluation task.

use super::EXIT_BAD_INPUT;
use crate::cli::OpsArgs;
use std::process::ExitCode;
use watchtower_alerting::ChannelConfig;
use watchtower_alerting::ops::OpsConfig;
use watchtower_application::ops::OpsSettings;

/// Reads the flags; prints every problem and answers exit code 2 if there is any.
pub fn settings(args: &OpsArgs) -> Result<OpsSettings, ExitCode> {
    let mut problems = Vec::new();
    let mut config = OpsConfig {
        interval: args.ops_interval,
        min_requests: args.ops_min_requests,
        clear_after: args.ops_clear_after,
        ..OpsConfig::default()
    };
    if config.interval.is_zero() {
        problems.push("--ops-interval: must be longer than 0s".to_owned());
    }
    for text in &args.ops_thresholds {
        if let Err(problem) = config.apply_override(text) {
            problems.push(format!("--ops-threshold: {problem}"));
        }
    }
    let channel = match &args.ops_channel {
        Some(given) => match channel(given) {
            Ok(channel) => Some(channel),
            Err(found) => {
                problems.extend(found);
                None
            }
        },
        None => None,
    };
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("error: {problem}");
        }
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    }
    Ok(OpsSettings {
        config,
        channel,
        instance: args.ops_instance.clone(),
    })
}

/// The channel from inline JSON (`{...}`) or a JSON/YAML file; each problem names where it is.
fn channel(given: &str) -> Result<ChannelConfig, Vec<String>> {
    let (source, text) = if given.trim_start().starts_with('{') {
        ("--ops-channel".to_owned(), given.to_owned())
    } else {
        let text = std::fs::read_to_string(given)
            .map_err(|error| vec![format!("--ops-channel: cannot read {given}: {error}")])?;
        (given.to_owned(), text)
    };
    let value = watchtower_core::monitors_file::yaml_to_json(&text)
        .map_err(|problem| vec![format!("{source}: {problem}")])?;
    ChannelConfig::parse(&value, "").map_err(|problems| {
        problems
            .into_iter()
            .map(|problem| match problem.field.trim_start_matches('.') {
                "" => format!("{source}: {}", problem.problem),
                field => format!("{source}: {field}: {}", problem.problem),
            })
            .collect()
    })
}
