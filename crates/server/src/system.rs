//! Process and system memory, read from Linux procfs (other systems report none).

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct MemoryReport {
    pub process_rss_bytes: Option<u64>,
    pub system_total_bytes: Option<u64>,
    pub system_available_bytes: Option<u64>,
    pub system_used_percent: Option<f64>,
}

pub fn memory() -> MemoryReport {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| kib_field(&status, "VmRSS:"));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total = kib_field(&meminfo, "MemTotal:");
    let available = kib_field(&meminfo, "MemAvailable:");
    let used_percent = match (total, available) {
        (Some(total), Some(available)) if total > 0 => {
            Some(100.0 * (total - available.min(total)) as f64 / total as f64)
        }
        _ => None,
    };
    MemoryReport {
        process_rss_bytes: rss,
        system_total_bytes: total,
        system_available_bytes: available,
        system_used_percent: used_percent,
    }
}

/// A `Name:   1234 kB` line, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(name))?;
    let kib: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process_memory() {
        let report = super::memory();
        if cfg!(target_os = "linux") {
            assert!(report.process_rss_bytes.unwrap() > 1024 * 1024);
            assert!(report.system_total_bytes.unwrap() > report.process_rss_bytes.unwrap());
        }
    }
}
