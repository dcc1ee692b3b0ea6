//! Storage faults under the real `watchtower serve` on SQLite, on file systems mounted for the
//! test: the disk filling up (a small tmpfs, then a filler file deleted), and the file system
//! turning read-only under the running process (ext4 on a loop device forced into its emergency
//! read-only state, as the kernel does after an I/O error). In both, `/healthz` answers 503 while
//! writes fail, results wait in the writer's buffer, the process keeps serving, and the database
//! passes `PRAGMA integrity_check` afterwards. Mounting needs root: without it each test says
//! SKIPPED and passes, unless `WATCHTOWER_REQUIRE_FAULT_TESTS` is set (CI sets it).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

use serde_json::Value;
use sqlx::Connection;
use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use watchtower_testkit::{TargetServer, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
/// Monitors checked every second: enough writes to fill the disk's last pages quickly.
const MONITORS: usize = 40;
/// How long any awaited condition may take before the test fails with the process log.
const PATIENCE: Duration = Duration::from_secs(60);

/// A file system mounted for one test, unmounted (and its loop device freed) on drop.
struct Mounted {
    dir: tempfile::TempDir,
    loop_device: Option<String>,
}

impl Mounted {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A tmpfs of `size` (like `8m`).
    fn tmpfs(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let options = format!("size={size}");
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(dir.path()))?;
        Ok(Self {
            dir,
            loop_device: None,
        })
    }

    /// A fresh ext4 file system in `image`, on a loop device, that turns read-only on error.
    fn ext4(image: &Path) -> Result<Self, String> {
        let file = std::fs::File::create(image).map_err(|e| e.to_string())?;
        file.set_len(32 << 20).map_err(|e| e.to_string())?;
        run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(image))?;
        Self::ext4_existing(image)
    }

    /// The ext4 file system already in `image`, mounted on a loop device.
    fn ext4_existing(image: &Path) -> Result<Self, String> {
        let device = run(Command::new("losetup").args(["-f", "--show"]).arg(image))?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mounted = Self {
            dir,
            loop_device: Some(device.clone()),
        };
        run(Command::new("mount")
            .args(["-o", "errors=remount-ro", &device])
            .arg(mounted.path()))?;
        Ok(mounted)
    }

    /// Forces the ext4 file system into its emergency read-only state, under open files.
    fn force_read_only(&self) -> Result<(), String> {
        let device = self.loop_device.as_deref().ok_or("not an ext4 mount")?;
        let name = device.trim_start_matches("/dev/");
        std::fs::write(
            format!("/sys/fs/ext4/{name}/trigger_fs_error"),
            "fault test: read-only",
        )
        .map_err(|e| format!("cannot trigger an ext4 error: {e}"))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
        if let Some(device) = &self.loop_device {
            let _ = Command::new("losetup").args(["-d", device]).status();
        }
    }
}

/// Runs a command; its trimmed stdout, or what went wrong.
fn run(command: &mut Command) -> Result<String, String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The mount, or `None` after printing SKIPPED when mounting is not permitted here (a failure
/// instead when `WATCHTOWER_REQUIRE_FAULT_TESTS` is set).
fn mounted_or_skip(test: &str, mount: Result<Mounted, String>) -> Option<Mounted> {
    match mount {
        Ok(mounted) => Some(mounted),
        Err(reason) if std::env::var_os("WATCHTOWER_REQUIRE_FAULT_TESTS").is_some() => {
            panic!("{test}: WATCHTOWER_REQUIRE_FAULT_TESTS is set but the mount failed: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIPPED {test}: cannot mount here ({reason}); run as root to test it");
            None
        }
    }
}

fn write_config(dir: &Path, target_url: &str) -> PathBuf {
    let mut text = String::from("monitors:\n");
    for index in 0..MONITORS {
        text.push_str(&format!(
            "  - {{key: m{index}, name: Target {index}, kind: http, url: \"{target_url}?m={index}\", \
             interval: 1s, timeout: 800ms, keyword: all good}}\n"
        ));
    }
    let path = dir.join("monitors.yaml");
    std::fs::write(&path, text).expect("config written");
    path
}

/// The writer's figures from `/api/health`: (HTTP status, buffered, written, dropped).
async fn writer_figures(process: &WatchtowerProcess) -> (u16, u64, u64, u64) {
    let response = reqwest::get(format!("{}/api/health", process.base_url))
        .await
        .expect("/api/health answers");
    let status = response.status().as_u16();
    let report: Value = response.json().await.expect("a JSON health report");
    let figure = |name: &str| report["writer"][name].as_u64().expect("a writer figure");
    (
        status,
        figure("buffered_results"),
        figure("written_results"),
        figure("dropped_results"),
    )
}

async fn healthz(process: &WatchtowerProcess) -> u16 {
    reqwest::get(format!("{}/healthz", process.base_url))
        .await
        .expect("/healthz answers")
        .status()
        .as_u16()
}

/// Polls `condition` every 200 ms until it holds, or fails with `what` and the process log.
async fn wait_for<F, Fut>(process: &WatchtowerProcess, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {PATIENCE:?}; log:\n{}",
            process.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn integrity_check(database: &Path) -> (String, i64) {
    let url = format!("sqlite://{}", database.display());
    let mut connection = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("the database opens");
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .expect("integrity_check runs");
    let results: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM results")
        .fetch_one(&mut connection)
        .await
        .expect("results are counted");
    (verdict, results)
}

/// Fills a file system to its last byte; the file's path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("the filler opens");
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    // The last partial chunk: fill byte by byte until nothing fits.
    while file.write_all(&[0]).is_ok() {}
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_buffers_results_answers_503_and_catches_up_when_space_returns() {
    let Some(disk) = mounted_or_skip("the full-disk test", Mounted::tmpfs("8m")) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let target = TargetServer::start(0).await.unwrap();
    let config = write_config(work.path(), &target.url());
    let database = disk.path().join("watchtower.db");
    let url = format!("sqlite://{}", database.display());
    let config_arg = config.to_str().unwrap();
    let process = WatchtowerProcess::serve(
        Path::new(BINARY),
        &url,
        &["--config", config_arg],
        work.path(),
    )
    .await
    .unwrap();
    wait_for(&process, "the first results being written", || async {
        writer_figures(&process).await.2 >= MONITORS as u64
    })
    .await;

    let filler = fill(disk.path());
    wait_for(&process, "/healthz answering 503", || async {
        healthz(&process).await == 503
    })
    .await;
    let most_buffered = Cell::new(0);
    wait_for(&process, "results piling up in the buffer", || async {
        let (status, buffered, _, _) = writer_figures(&process).await;
        assert_eq!(status, 503, "/api/health while the disk is full");
        most_buffered.set(buffered);
        buffered >= 2 * MONITORS as u64
    })
    .await;
    let most_buffered = most_buffered.get();
    let (_, _, written_while_full, _) = writer_figures(&process).await;

    std::fs::remove_file(&filler).unwrap();
    wait_for(&process, "/healthz answering 200 again", || async {
        healthz(&process).await == 200
    })
    .await;
    wait_for(&process, "the buffer being written out", || async {
        writer_figures(&process).await.1 == 0
    })
    .await;
    let (status, _, written, dropped) = writer_figures(&process).await;
    assert_eq!(status, 200);
    assert_eq!(dropped, 0, "no result may be dropped");
    assert!(
        written >= written_while_full + most_buffered,
        "the {most_buffered} buffered results were not all written ({written_while_full} -> {written})"
    );
    let exit = process.terminate().unwrap();
    assert!(exit.success(), "serve exited with {exit}");

    let (verdict, rows) = integrity_check(&database).await;
    assert_eq!(verdict, "ok");
    assert!(
        rows as u64 >= written_while_full + most_buffered,
        "{rows} result rows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_system_turning_read_only_buffers_results_and_answers_503_without_corruption() {
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("disk.img");
    let Some(disk) = mounted_or_skip("the read-only test", Mounted::ext4(&image)) else {
        return;
    };
    let target = TargetServer::start(0).await.unwrap();
    let config = write_config(work.path(), &target.url());
    let database = disk.path().join("watchtower.db");
    let url = format!("sqlite://{}", database.display());
    let config_arg = config.to_str().unwrap();
    let process = WatchtowerProcess::serve(
        Path::new(BINARY),
        &url,
        &["--config", config_arg],
        work.path(),
    )
    .await
    .unwrap();
    wait_for(&process, "the first results being written", || async {
        writer_figures(&process).await.2 >= MONITORS as u64
    })
    .await;

    // What was written so far reaches the disk first: the kernel drops dirty pages when it
    // turns the file system read-only, and losing unsynced writes then is not corruption.
    let (_, _, written_before, _) = writer_figures(&process).await;
    run(Command::new("sync").arg("-f").arg(disk.path())).expect("sync");
    if let Err(reason) = disk.force_read_only() {
        mounted_or_skip("the read-only test", Err(reason));
        return;
    }
    wait_for(&process, "/healthz answering 503", || async {
        healthz(&process).await == 503
    })
    .await;
    wait_for(&process, "results piling up in the buffer", || async {
        let (status, buffered, _, _) = writer_figures(&process).await;
        assert_eq!(status, 503, "/api/health while the disk is read-only");
        buffered >= 2 * MONITORS as u64
    })
    .await;
    // A read-only file system cannot become writable again without a remount, which needs the
    // files closed: stop the process (its last flush fails; the buffer is in memory only).
    let log = process.log.clone();
    let exit = process.terminate().unwrap();
    let log = std::fs::read_to_string(log).unwrap_or_default();
    assert!(
        exit.code().is_some(),
        "serve was killed by a signal: {exit}\n{log}"
    );
    drop(disk);

    // What the kernel wrote before the switch must be intact.
    // fsck repairs the error state the forced error left (exit 1: "errors corrected").
    let _ = Command::new("fsck.ext4")
        .args(["-f", "-y"])
        .arg(&image)
        .output();
    let disk = Mounted::ext4_existing(&image).expect("the image mounts again");
    let database = disk.path().join("watchtower.db");
    let (verdict, rows) = integrity_check(&database).await;
    assert_eq!(verdict, "ok");
    assert!(
        rows as u64 >= written_before.min(MONITORS as u64),
        "{rows} result rows"
    );

    // And serving from it again works: results are written once the disk is writable.
    let url = format!("sqlite://{}", database.display());
    let process = WatchtowerProcess::serve(
        Path::new(BINARY),
        &url,
        &["--config", config_arg],
        work.path(),
    )
    .await
    .unwrap();
    wait_for(
        &process,
        "results being written after the remount",
        || async {
            let (status, _, written, _) = writer_figures(&process).await;
            status == 200 && written >= MONITORS as u64
        },
    )
    .await;
    process.terminate().unwrap();
}
