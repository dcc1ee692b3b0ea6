//! The SQLite database's file system: statvfs of the folder holding the file, measured as `df`
//! does: used blocks against used plus those still available to the process (the root reserve
//! is not the database's to use). A
//! PostgreSQL server's volume is on the server, which a client cannot read, so there is nothing
//! here for it.

use std::path::Path;
use watchtower_alerting::ops::DiskUse;

/// Now; `None` when the folder cannot be read.
pub fn disk_use(database_file: &Path) -> Option<DiskUse> {
    let folder = match database_file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let stats = rustix::fs::statvfs(folder).ok()?;
    let block = stats.f_frsize.max(1);
    let used = stats
        .f_blocks
        .saturating_sub(stats.f_bfree)
        .saturating_mul(block);
    let total = used.saturating_add(stats.f_bavail.saturating_mul(block));
    (total > 0).then_some(DiskUse {
        used_bytes: used,
        total_bytes: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_of_the_file_is_measured() {
        let dir = tempfile::tempdir().unwrap();
        let use_ = disk_use(&dir.path().join("watchtower.db")).expect("a temporary folder");
        assert!(use_.total_bytes > 0);
        assert!(use_.used_bytes <= use_.total_bytes);
    }
}
