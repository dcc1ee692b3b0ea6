//! The bench's subcommands and what they share: duration arguments, reading watchtower's
//! `/api/health` and `/metrics`, and starting a watchtower driven through its API.

pub mod alerts;
pub mod backfill;
pub mod checks;
mod checks_figures;
pub mod endpoints;
pub mod push;
pub mod status_page;

use crate::api_client::{self, ApiClient};
use crate::farm::Target;
use crate::http_client;
use crate::monitors_file::{self, CheckSettings};
use crate::prometheus::Histogram;
use crate::target_process::{self, LaunchOptions};
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Parses `10s`, `2m`, `1500ms` the way watchtower does.
pub fn duration(text: &str) -> Result<Duration, String> {
    watchtower_core::HumanDuration::parse(text).map(watchtower_core::HumanDuration::get)
}

/// The lag histogram watchtower exports.
pub const LAG_HISTOGRAM: &str = "watchtower_scheduler_lag_seconds";

/// What watchtower said about itself at one instant.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub health: serde_json::Value,
    #[serde(skip)]
    pub lag: Option<Histogram>,
    #[serde(skip)]
    pub metrics_text: String,
}

impl Snapshot {
    pub async fn take(address: SocketAddr) -> anyhow::Result<Self> {
        let health = http_client::get_json(address, "/api/health").await?;
        let (_, metrics_text) =
            http_client::get(address, "/metrics", Duration::from_secs(30)).await?;
        Ok(Self {
            lag: Histogram::parse(&metrics_text, LAG_HISTOGRAM),
            health,
            metrics_text,
        })
    }

    /// A number at a JSON pointer of the health report (`/scheduler/checks_completed`).
    pub fn number(&self, pointer: &str) -> Option<f64> {
        self.health
            .pointer(pointer)
            .and_then(serde_json::Value::as_f64)
    }
}

/// What the API accepts in one body (watchtower's request body limit is 1 MiB).
const MAX_BODY_BYTES: usize = 1_000_000;

/// Options for a watchtower that creates the first administrator (for the API runs) and does not
/// throttle the bench.
pub fn api_launch(
    binary: std::path::PathBuf,
    database_url: String,
    command: &str,
    password: &str,
) -> anyhow::Result<LaunchOptions> {
    Ok(LaunchOptions {
        binary,
        database_url,
        config: None,
        extra_args: api_client::unthrottled_args(),
        env: api_client::admin_env(password),
        log_file: target_process::log_path(command)?,
        ready_timeout: Duration::from_secs(300),
    })
}

/// How loading monitors through `PUT /api/monitors/yaml` went.
#[derive(Debug, Default, Serialize)]
pub struct YamlLoad {
    pub monitors: usize,
    /// Bodies sent (each under the API's 1 MiB limit), one after another.
    pub documents: usize,
    pub bytes: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub elapsed_ms: f64,
}

/// Applies monitors `indexes` (monitor `i` checks `targets[i]`) through `PUT /api/monitors/yaml`,
/// timed from the first request to the last answer.
pub async fn load_yaml(
    client: &mut ApiClient,
    targets: &[Target],
    indexes: std::ops::Range<usize>,
    settings: CheckSettings,
) -> anyhow::Result<YamlLoad> {
    let documents =
        monitors_file::check_documents(targets, indexes.clone(), settings, MAX_BODY_BYTES);
    let mut load = YamlLoad {
        monitors: indexes.len(),
        documents: documents.len(),
        bytes: documents.iter().map(String::len).sum(),
        ..YamlLoad::default()
    };
    let started = Instant::now();
    for document in documents {
        let report = client.put_yaml("/api/monitors/yaml", document).await?;
        let count = |key: &str| report[key].as_array().map_or(0, Vec::len);
        load.created += count("created");
        load.updated += count("updated");
        load.unchanged += count("unchanged");
    }
    load.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(load)
}
