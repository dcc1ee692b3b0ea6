//! PostgreSQL's CPU, where it can be read: only when the server runs on this machine, in this
//! process namespace. PostgreSQL reports no CPU figure over SQL, so this reads procfs: the backend
//! our connection talks to (`pg_backend_pid()`), its parent the postmaster, and the postmaster's
//! start time, which must match `pg_postmaster_start_time()` (a pid from another machine or
//! container could name an unrelated process here; the start time tells them apart). The CPU
//! time is the postmaster's own and its children's (`utime + stime` of the live ones, plus
//! `cutime + cstime`, which holds the backends that already ended), as a share of this machine's
//! CPUs between two readings.
//!
//! Anywhere else (a managed database, another host, another container) the signal reads
//! nothing and the alert is never raised; `/metrics` then has no `database_cpu_high` value and
//! the log says why once.

use std::time::Instant;
use watchtower_store::DatabaseProcess;

/// Remembers the previous reading, to turn CPU time into a share.
#[derive(Debug, Default)]
pub struct DatabaseCpu {
    previous: Option<(Instant, u64)>,
    explained: bool,
}

impl DatabaseCpu {
    /// The share of this machine's CPUs PostgreSQL used since the previous call; `None` on the
    /// first call, on SQLite, and wherever the server's processes are not visible here.
    pub fn read(&mut self, process: Option<DatabaseProcess>) -> Option<f64> {
        let Some(process) = process else {
            self.previous = None;
            return None;
        };
        let total = match server_cpu_ticks(process) {
            Ok(total) => total,
            Err(reason) => {
                if !self.explained {
                    tracing::info!(%reason, "PostgreSQL's CPU cannot be read here; the database_cpu_high ops alert is off");
                    self.explained = true;
                }
                self.previous = None;
                return None;
            }
        };
        let now = Instant::now();
        let previous = self.previous.replace((now, total));
        let (then, before) = previous?;
        let seconds = now.duration_since(then).as_secs_f64();
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as f64;
        let ticks = rustix::param::clock_ticks_per_second() as f64;
        (seconds > 0.0 && ticks > 0.0)
            .then(|| (total.saturating_sub(before) as f64 / ticks / seconds / cpus).clamp(0.0, 1.0))
    }
}

/// The fields of `/proc/<pid>/stat` this needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProcStat {
    command: String,
    parent: u32,
    /// utime + stime.
    own_ticks: u64,
    /// cutime + cstime: the children already waited for.
    children_ticks: u64,
    /// Clock ticks after boot.
    started: u64,
}

/// Parses `pid (comm) state ppid ...`; the command may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let command = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // fields[0] is field 3 (state) of proc(5).
    let field = |number: usize| -> Option<u64> { fields.get(number - 3)?.parse().ok() };
    Some(ProcStat {
        command,
        parent: u32::try_from(field(4)?).ok()?,
        own_ticks: field(14)? + field(15)?,
        children_ticks: field(16)? + field(17)?,
        started: field(22)?,
    })
}

fn stat_of(pid: u32) -> Result<ProcStat, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|_| format!("process {pid} is not visible here"))?;
    parse_stat(&text).ok_or_else(|| format!("/proc/{pid}/stat is not readable"))
}

/// Boot time in seconds since the epoch (`btime` of `/proc/stat`).
fn boot_time() -> Option<u64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())
}

fn server_cpu_ticks(process: DatabaseProcess) -> Result<u64, String> {
    let backend = stat_of(process.backend_pid)?;
    let postmaster_pid = backend.parent;
    let postmaster = stat_of(postmaster_pid)?;
    if !postmaster.command.starts_with("postgres") && !postmaster.command.starts_with("postmaster")
    {
        return Err(format!(
            "process {postmaster_pid} is '{}', not PostgreSQL",
            postmaster.command
        ));
    }
    let ticks = rustix::param::clock_ticks_per_second().max(1);
    let boot = boot_time().ok_or("/proc/stat has no boot time")?;
    let started_ms = (boot * 1000 + postmaster.started * 1000 / ticks) as i64;
    // procfs counts in clock ticks and boot time in whole seconds: two seconds of slack.
    if (started_ms - process.server_started_at.as_millis()).abs() > 2_000 {
        return Err("the PostgreSQL server is not on this machine".into());
    }
    let mut total = postmaster.own_ticks + postmaster.children_ticks;
    let entries = std::fs::read_dir("/proc").map_err(|error| format!("/proc: {error}"))?;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A child may end between the listing and the read: it is then in cutime next time.
        if let Ok(child) = stat_of(pid)
            && child.parent == postmaster_pid
        {
            total += child.own_ticks;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_from_the_last_parenthesis() {
        let line = "2245 (postgres: 15/main: checkpointer (x)) S 2244 2244 2244 0 -1 4194368 \
                    1000 0 0 0 7 3 11 13 20 0 1 0 4567 229548032 1849 18446744073709551615";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.command, "postgres: 15/main: checkpointer (x)");
        assert_eq!(stat.parent, 2244);
        assert_eq!(stat.own_ticks, 10);
        assert_eq!(stat.children_ticks, 24);
        assert_eq!(stat.started, 4567);
        assert_eq!(parse_stat("12 (short) S"), None);
    }

    #[test]
    fn sqlite_has_no_server_to_read() {
        assert_eq!(DatabaseCpu::default().read(None), None);
    }

    #[test]
    fn a_pid_that_is_not_a_local_postgres_reads_nothing() {
        // This test's own process: its parent is no postmaster.
        let mine = DatabaseProcess {
            backend_pid: std::process::id(),
            server_started_at: watchtower_core::Timestamp::now(),
        };
        assert!(
            server_cpu_ticks(mine)
                .unwrap_err()
                .contains("not PostgreSQL")
        );
        let mut cpu = DatabaseCpu::default();
        assert_eq!(cpu.read(Some(mine)), None);
        assert_eq!(cpu.read(Some(mine)), None);
    }

    #[tokio::test]
    #[allow(clippy::print_stderr, reason = "the test says what it skipped")]
    async fn the_local_postgres_cpu_is_read_under_a_query() {
        use sqlx::Connection;
        let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL variant skipped");
            return;
        };
        let store = watchtower_store::connect(&server).await.unwrap();
        let process = store.database_process().await.unwrap();
        let process = process.expect("PostgreSQL names its backend");
        // The same pid with another server's start time: a process that only looks local.
        let elsewhere = DatabaseProcess {
            server_started_at: watchtower_core::Timestamp(0),
            ..process
        };
        assert!(
            server_cpu_ticks(elsewhere)
                .unwrap_err()
                .contains("not on this machine")
        );

        let mut cpu = DatabaseCpu::default();
        assert_eq!(
            cpu.read(Some(process)),
            None,
            "the first reading has no baseline"
        );
        let mut connection = sqlx::PgConnection::connect(&server).await.unwrap();
        sqlx::query("SELECT count(*) FROM generate_series(1, 5000000)")
            .execute(&mut connection)
            .await
            .unwrap();
        let share = cpu
            .read(Some(process))
            .expect("the test server runs on this machine");
        assert!(share > 0.0 && share <= 1.0, "{share}");
    }
}
