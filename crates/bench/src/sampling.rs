//! CPU and memory of a process from `/proc`: CPU time (utime + stime) and resident memory, sampled
//! every second with the peak kept, for watchtower and for the bench (farm) process itself.

use serde::Serialize;
use std::fs;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcReading {
    /// utime + stime, in milliseconds.
    pub cpu_ms: f64,
    pub rss_bytes: u64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`; `None` when the process is gone.
pub fn read(pid: u32) -> Option<ProcReading> {
    read_path(&format!("/proc/{pid}"))
}

/// The bench process itself (the farm and the clients).
pub fn read_self() -> ProcReading {
    read_path("/proc/self").unwrap_or_default()
}

fn read_path(dir: &str) -> Option<ProcReading> {
    let stat = fs::read_to_string(format!("{dir}/stat")).ok()?;
    let status = fs::read_to_string(format!("{dir}/status")).ok()?;
    Some(ProcReading {
        cpu_ms: parse_cpu_ticks(&stat)? as f64 * 1000.0 / ticks_per_second(),
        rss_bytes: status_kib(&status, "VmRSS:").unwrap_or(0) * 1024,
    })
}

/// CPU time of every process whose command name is `name` (e.g. all PostgreSQL backends), in
/// milliseconds. Processes that end between readings drop out, so use it over short windows.
pub fn cpu_of_processes_named(name: &str) -> f64 {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0.0;
    };
    let mut total = 0.0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        if let Some(ticks) = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| parse_cpu_ticks(&stat))
        {
            total += ticks as f64 * 1000.0 / ticks_per_second();
        }
    }
    total
}

/// The kernel's high-water mark of resident memory (`VmHWM`), in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kib(&status, "VmHWM:").map(|kib| kib * 1024)
}

fn ticks_per_second() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A sample of both processes at one instant.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub at_s: f64,
    pub target: ProcReading,
    pub bench: ProcReading,
}

/// Samples a process and the bench every second until stopped or `max_samples` are taken.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    task: JoinHandle<()>,
}

impl Sampler {
    pub fn start(pid: u32, origin: Instant, max_samples: usize) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let samples = samples.clone();
            async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                for _ in 0..max_samples {
                    tick.tick().await;
                    let Some(target) = read(pid) else { break };
                    let sample = Sample {
                        at_s: origin.elapsed().as_secs_f64(),
                        target,
                        bench: read_self(),
                    };
                    samples.lock().expect("sampler lock").push(sample);
                }
            }
        });
        Self { samples, task }
    }

    /// Stops sampling and returns every sample taken.
    pub async fn finish(self) -> Vec<Sample> {
        self.task.abort();
        let _ = self.task.await;
        std::mem::take(&mut *self.samples.lock().expect("sampler lock"))
    }
}

/// The highest RSS among samples.
pub fn peak_sampled_rss(samples: &[Sample]) -> u64 {
    samples
        .iter()
        .map(|s| s.target.rss_bytes)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_a_command_name_with_spaces() {
        let stat = "1234 (tokio (worker) 1) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0 1 1 1";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
    }

    #[test]
    fn own_process_is_readable() {
        let reading = read_self();
        assert!(reading.rss_bytes > 0);
    }
}
