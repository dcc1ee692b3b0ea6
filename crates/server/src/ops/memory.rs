//! The process's resident memory against the limit it runs under: the machine's memory, or its
//! cgroup's limit when lower (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`, the tightest of
//! the process's cgroup and its ancestors). Linux only; elsewhere nothing is read.

use std::path::Path;
use watchtower_alerting::ops::MemoryUse;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Now; `None` where procfs cannot be read.
pub fn memory_use() -> Option<MemoryUse> {
    let report = crate::system::memory();
    let rss = report.process_rss_bytes?;
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let limit = match (report.system_total_bytes, cgroup_limit(&cgroups)) {
        (Some(total), Some(cgroup)) => total.min(cgroup),
        (total, cgroup) => total.or(cgroup)?,
    };
    Some(MemoryUse {
        rss_bytes: rss,
        limit_bytes: limit,
    })
}

/// The tightest memory limit on the process's cgroup and its ancestors, if any is set.
fn cgroup_limit(proc_self_cgroup: &str) -> Option<u64> {
    limit_files(proc_self_cgroup)
        .into_iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| parse_limit(&text))
        .min()
}

/// Every limit file that may apply, from the process's own cgroup up to the root.
fn limit_files(proc_self_cgroup: &str) -> Vec<String> {
    let mut files = Vec::new();
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (base, file) = if controllers.is_empty() {
            (CGROUP_ROOT.to_owned(), "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            (format!("{CGROUP_ROOT}/memory"), "memory.limit_in_bytes")
        } else {
            continue;
        };
        let mut dir = Path::new(path);
        loop {
            let relative = dir.to_string_lossy();
            let relative = relative.trim_start_matches('/');
            files.push(if relative.is_empty() {
                format!("{base}/{file}")
            } else {
                format!("{base}/{relative}/{file}")
            });
            match dir.parent() {
                Some(parent) => dir = parent,
                None => break,
            }
        }
    }
    files
}

/// `max` (no limit) or a number of bytes.
fn parse_limit(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "max" {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_files_cover_v2_and_v1_from_the_cgroup_up() {
        let files = limit_files("12:pids:/a\n4:memory:/docker/abc\n0::/system.slice/x.service\n");
        assert_eq!(
            files,
            [
                "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory/docker/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "/sys/fs/cgroup/system.slice/x.service/memory.max",
                "/sys/fs/cgroup/system.slice/memory.max",
                "/sys/fs/cgroup/memory.max",
            ]
        );
        assert_eq!(limit_files("0::/\n"), ["/sys/fs/cgroup/memory.max"]);
    }

    #[test]
    fn max_means_no_limit() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("536870912\n"), Some(536_870_912));
        assert_eq!(parse_limit(""), None);
    }

    #[test]
    fn this_process_has_a_reading_on_linux() {
        if cfg!(target_os = "linux") {
            let memory = memory_use().unwrap();
            assert!(memory.rss_bytes > 0 && memory.rss_bytes < memory.limit_bytes);
        }
    }
}
