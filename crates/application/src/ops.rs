//! The instance's watch on itself: the settings of the ops alerts, the operators' channel written
//! to the database (where the dispatcher finds it, like any channel), and the evaluation task.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use watchtower_alerting::ChannelConfig;
use watchtower_alerting::ops::OpsConfig;
use watchtower_checks::AddressPolicy;
use watchtower_core::Timestamp;
use watchtower_scheduler::writer::WriterStats;
use watchtower_server::backups::BackupStatus;
use watchtower_server::middleware::rate_limit::RateLimiter;
use watchtower_server::ops::{OpsCounters, OpsMonitor};
use watchtower_store::Store;

/// The ops settings, checked.
#[derive(Debug, Clone, Default)]
pub struct OpsSettings {
    pub config: OpsConfig,
    /// Where ops alerts go; without one (here or set by another instance on the same
    /// database) they are only logged.
    pub channel: Option<ChannelConfig>,
    /// How alerts name this instance and scope its own episodes; `host:port` when not given.
    pub instance: Option<String>,
}

/// The instance's name in ops alerts, episodes and care runs: the one given, else `host:port`.
pub(crate) fn instance_name(given: Option<String>, address: SocketAddr) -> String {
    given.unwrap_or_else(|| format!("{}:{}", host_name(), address.port()))
}

/// The running ops task, stopped at shutdown.
pub(crate) struct OpsTasks {
    pub evaluation: JoinHandle<()>,
}

/// What the ops watch reads besides the store.
pub(crate) struct OpsSources {
    pub counters: Arc<OpsCounters>,
    pub writer: Arc<WriterStats>,
    pub backups: Option<Arc<BackupStatus>>,
    pub rate_limiter: Arc<RateLimiter>,
    pub started: Timestamp,
    pub wake: Arc<Notify>,
}

/// Writes the operators' channel (if given) and starts the evaluation task.
pub(crate) async fn start(
    settings: OpsSettings,
    instance: String,
    address_policy: AddressPolicy,
    store: Arc<dyn Store>,
    sources: OpsSources,
) -> OpsTasks {
    match settings.channel {
        Some(channel) => {
            if let Err(refused) = watchtower_alerting::channels::guard::check_endpoint(
                address_policy,
                channel.endpoint_host().as_deref(),
            ) {
                tracing::warn!(%refused, "the operators' channel breaks the multi-tenant address rule; its alerts will fail");
            }
            match store
                .set_ops_channel(
                    channel.kind().as_str(),
                    &channel.to_value(),
                    Timestamp::now(),
                )
                .await
            {
                Ok(id) => {
                    tracing::info!(channel = ?channel, %id, %instance, "ops alerts go to the operators' channel");
                }
                Err(error) => {
                    tracing::error!(%error, "cannot record the operators' channel; ops alerts go to the one recorded before, if any");
                }
            }
        }
        None => {
            tracing::info!(
                "no --ops-channel here: ops alerts go to the operators' channel another instance \
                 on this database set, if any, else only to the log"
            );
        }
    }
    let database_file: Option<PathBuf> = store.database_file();
    let evaluation = watchtower_server::ops::start(OpsMonitor {
        config: settings.config,
        store,
        counters: sources.counters,
        writer: sources.writer,
        instance,
        started: sources.started,
        backups: sources.backups,
        rate_limiter: Some(sources.rate_limiter),
        database_file,
        wake: Some(sources.wake),
    });
    OpsTasks { evaluation }
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
