//! The instance's watch on itself: the settings of the ops alerts and the tasks that carry them
//! out (the evaluation, and delivery to the operators' channel when there is one).

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use watchtower_alerting::ops::{OpsConfig, OpsNotifier, RetryPolicy};
use watchtower_alerting::{ChannelConfig, Sender};
use watchtower_checks::AddressPolicy;
use watchtower_scheduler::writer::WriterStats;
use watchtower_server::ops::{OpsCounters, OpsMonitor};
use watchtower_store::Store;

/// The ops settings, checked.
#[derive(Debug, Clone, Default)]
pub struct OpsSettings {
    pub config: OpsConfig,
    /// Where ops alerts go; without one they are only logged.
    pub channel: Option<ChannelConfig>,
    /// How alerts name this instance; `host:port` when not given.
    pub instance: Option<String>,
}

/// The running ops tasks, stopped at shutdown.
pub(crate) struct OpsTasks {
    pub evaluation: JoinHandle<()>,
    pub delivery: Option<JoinHandle<()>>,
}

/// Starts delivery to the operators' channel (if any) and the evaluation task.
pub(crate) fn start(
    settings: OpsSettings,
    sender: Arc<Sender>,
    address_policy: AddressPolicy,
    address: SocketAddr,
    store: Arc<dyn Store>,
    counters: Arc<OpsCounters>,
    writer: Arc<WriterStats>,
) -> OpsTasks {
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
    OpsTasks {
        evaluation,
        delivery,
    }
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
