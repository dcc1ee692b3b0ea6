//! The bench's subcommands and what they share: duration arguments and reading watchtower's
//! `/api/health` and `/metrics`.

pub mod backfill;
pub mod checks;
mod checks_figures;
pub mod push;

use crate::http_client;
use crate::prometheus::Histogram;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;

/// Parses `10s`, `2m`, `1500ms` the way watchtower does.
pub fn duration(text: &str) -> Result<Duration, String> {
    watchtower_core::HumanDuration::parse(text).map(|d| d.get())
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
