//! `serve`'s ops alerts: reads the operators' channel and the thresholds from the flags (every
//! problem printed, exit code 2), and starts the notifier and the evaluation task.

use super::EXIT_BAD_INPUT;
use crate::cli::OpsArgs;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::task::JoinHandle;
use watchtower_alerting::ops::{OpsConfig, OpsNotifier, RetryPolicy};
use watchtower_alerting::{ChannelConfig, Sender};
use watchtower_checks::AddressPolicy;
use watchtower_scheduler::writer::WriterStats;
use watchtower_server::ops::{OpsCounters, OpsMonitor};
use watchtower_store::Store;

/// The ops settings, checked.
pub struct OpsSettings {
    pub config: OpsConfig,
    pub channel: Option<ChannelConfig>,
    pub instance: Option<String>,
}

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

/// Starts delivery to the operators' channel (if any) and the evaluation task; returns the tasks
/// to stop at shutdown.
pub fn start(
    settings: OpsSettings,
    sender: Arc<Sender>,
    address_policy: AddressPolicy,
    address: SocketAddr,
    store: Arc<dyn Store>,
    counters: Arc<OpsCounters>,
    writer: Arc<WriterStats>,
) -> (JoinHandle<()>, Option<JoinHandle<()>>) {
    let instance = settings
        .instance
        .unwrap_or_else(|| format!("{}:{}", host_name(), address.port()));
    let (alerts, delivery) = match settings.channel {
        Some(channel) => {
            if let Err(refused) = watchtower_alerting::channels::guard::check_endpoint(
                address_policy,
                channel.endpoint_host().as_deref(),
            ) {
                tracing::warn!(%refused, "the operators' channel breaks the multi-tenant address rule; its alerts will fail");
            }
            tracing::info!(channel = ?channel, %instance, "ops alerts go to the operators' channel");
            let notifier = OpsNotifier::new(sender, channel, instance, RetryPolicy::default());
            let (queue, task) = notifier.start();
            (Some(queue), Some(task))
        }
        None => {
            tracing::info!("no operators' channel (--ops-channel): ops alerts are only logged");
            (None, None)
        }
    };
    let evaluation = watchtower_server::ops::start(OpsMonitor {
        config: settings.config,
        store,
        counters,
        writer,
        alerts,
    });
    (evaluation, delivery)
}

/// The kernel's host name, or `watchtower`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "watchtower".into())
}
