//! One `serve` per SQLite file: scale-out needs PostgreSQL (`docs/SCALING.md`), and two
//! instances on one file would check every monitor twice and send every alert twice. The lock is
//! an exclusive `flock` on `<file>.lock`, held for the life of the process and dropped by the
//! kernel however the process ends (kill -9 included), so there is never a stale lock to clean
//! up. The file holds the holder's pid, for the refusal's message.

use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum InstanceLockError {
    #[error(
        "{} is already served by another watchtower{}; an SQLite database is served by one \
         instance (stop that one first, or use PostgreSQL to run several: docs/SCALING.md)",
        database.display(),
        pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    Held { database: PathBuf, pid: Option<u32> },
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock of the database file at `database`, or says who holds it. Never waits.
    pub fn acquire(database: &Path) -> Result<Self, InstanceLockError> {
        let mut path = database.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let io = |source| InstanceLockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Not truncated on open: the holder's pid stays readable until the lock is ours.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if let Err(errno) = lock_exclusive(&file) {
            if errno == std::io::ErrorKind::WouldBlock {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(InstanceLockError::Held {
                    database: database.to_path_buf(),
                    pid: holder.trim().parse().ok(),
                });
            }
            return Err(io(errno.into()));
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(Self { _file: file, path })
    }

    /// Where the lock file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &File) -> Result<(), std::io::ErrorKind> {
    use rustix::fs::{FlockOperation, flock};
    flock(file, FlockOperation::NonBlockingLockExclusive).map_err(|errno| {
        if errno == rustix::io::Errno::WOULDBLOCK {
            std::io::ErrorKind::WouldBlock
        } else {
            std::io::Error::from(errno).kind()
        }
    })
}

// WatchTower is built for Linux; elsewhere the file is written but not locked.
#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> Result<(), std::io::ErrorKind> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_names_the_holder_and_a_dropped_one_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("data/watchtower.db");
        let first = InstanceLock::acquire(&database).unwrap();
        assert_eq!(first.path(), dir.path().join("data/watchtower.db.lock"));
        match InstanceLock::acquire(&database) {
            Err(InstanceLockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("a second lock was taken: {other:?}"),
        }
        drop(first);
        InstanceLock::acquire(&database).unwrap();
    }
}
