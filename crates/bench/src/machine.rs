//! What machine a figure was measured on: cores, memory, CPU model, load average and date.

use serde::Serialize;
use std::fs;

/// The machine and its load when a run started.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_total: String,
    pub cpu_model: String,
    pub load_average: String,
    pub date: String,
}

impl Machine {
    pub fn describe() -> Self {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let memory_kib = fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(0);
        Self {
            cores: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            memory_total: format!("{:.1} GiB", memory_kib as f64 / (1024.0 * 1024.0)),
            cpu_model,
            load_average: load_average(),
            date: watchtower_core::Timestamp::now().to_string(),
        }
    }
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
