//! The watchtower under test: a release binary started as a child process with JSON logs, waited
//! for until it logs that it is serving, and stopped with SIGTERM (timed).

use anyhow::{Context, bail};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

/// How to start watchtower.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub binary: PathBuf,
    pub database_url: String,
    pub config: Option<PathBuf>,
    pub extra_args: Vec<String>,
    /// Extra environment (the first administrator's credentials).
    pub env: Vec<(String, String)>,
    /// Where its logs are appended.
    pub log_file: PathBuf,
    pub ready_timeout: Duration,
}

/// A running watchtower.
pub struct Watchtower {
    child: Child,
    pub pid: u32,
    pub address: SocketAddr,
    /// When the process was spawned.
    pub spawned_at: Instant,
    /// From spawn to the "serving" log line.
    pub ready_after: Duration,
    /// `startup_ms` as watchtower logged it.
    pub logged_startup_ms: Option<u64>,
}

/// How a stop went.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    pub shutdown_ms: f64,
    pub exit_code: Option<i32>,
    pub killed: bool,
}

/// The path of the release binary, with a clear message when it has not been built.
pub fn release_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None => workspace_root().join("target/release/watchtower"),
    };
    if !path.is_file() {
        bail!(
            "{} does not exist: build it first with `cargo build --release -p watchtower` \
             (or pass --binary PATH)",
            path.display()
        );
    }
    Ok(path)
}

/// The workspace root: two levels above this crate's manifest.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A log file that outlives the run's temporary directory: `$TMPDIR/wt-bench-logs/<command>-<time>.log`.
pub fn log_path(command: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join("wt-bench-logs");
    std::fs::create_dir_all(&dir)?;
    let stamp = watchtower_core::Timestamp::now().as_millis();
    Ok(dir.join(format!("{command}-{stamp}.log")))
}

/// A free loopback port for watchtower to bind.
pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

impl Watchtower {
    /// Starts `watchtower serve` and waits for it to log that it is serving.
    pub async fn start(options: &LaunchOptions) -> anyhow::Result<Self> {
        let address = free_port()?;
        let mut command = Command::new(&options.binary);
        command
            .arg("--log-format")
            .arg("json")
            .arg("serve")
            .arg("--bind")
            .arg(address.to_string())
            .arg("--database")
            .arg(&options.database_url)
            .args(&options.extra_args)
            .env("RUST_LOG", "info,sqlx=warn,hyper=warn")
            .envs(options.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(config) = &options.config {
            command.arg("--config").arg(config);
        }
        let spawned_at = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", options.binary.display()))?;
        let pid = child.id().context("watchtower exited at once")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(forward_logs(stderr, options.log_file.clone(), ready_tx));

        let ready = tokio::time::timeout(options.ready_timeout, ready_rx).await;
        let logged_startup_ms = match ready {
            Ok(Ok(startup_ms)) => startup_ms,
            Ok(Err(_)) => {
                let status = child.wait().await.ok();
                let log = std::fs::read_to_string(&options.log_file).unwrap_or_default();
                let head: Vec<&str> = log.lines().take(5).collect();
                bail!(
                    "watchtower exited before serving ({status:?}); its log ({}) starts:\n{}",
                    options.log_file.display(),
                    head.join("\n")
                );
            }
            Err(_) => {
                let _ = child.kill().await;
                bail!(
                    "watchtower did not log that it is serving within {:?}; see {}",
                    options.ready_timeout,
                    options.log_file.display()
                );
            }
        };
        Ok(Self {
            child,
            pid,
            address,
            spawned_at,
            ready_after: spawned_at.elapsed(),
            logged_startup_ms,
        })
    }

    /// Sends SIGTERM and waits up to `deadline` for the exit; kills it after that.
    pub async fn stop(mut self, deadline: Duration) -> anyhow::Result<StopReport> {
        let pid = rustix::process::Pid::from_raw(self.pid as i32).context("bad pid")?;
        let asked = Instant::now();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)?;
        match tokio::time::timeout(deadline, self.child.wait()).await {
            Ok(status) => Ok(StopReport {
                shutdown_ms: asked.elapsed().as_secs_f64() * 1000.0,
                exit_code: status?.code(),
                killed: false,
            }),
            Err(_) => {
                self.child.kill().await?;
                Ok(StopReport {
                    shutdown_ms: asked.elapsed().as_secs_f64() * 1000.0,
                    exit_code: None,
                    killed: true,
                })
            }
        }
    }
}

/// Copies every log line to the log file, and reports the "serving" line's `startup_ms` once.
async fn forward_logs(
    stderr: tokio::process::ChildStderr,
    log_file: PathBuf,
    ready: oneshot::Sender<Option<u64>>,
) {
    let mut ready = Some(ready);
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .await
        .ok();
    let mut lines = BufReader::new(stderr).lines();
    // Bounded by the child's life: the pipe closes when it exits.
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(file) = file.as_mut() {
            let _ = file.write_all(line.as_bytes()).await;
            let _ = file.write_all(b"\n").await;
        }
        if ready.is_some() && line.contains("watchtower is serving on") {
            let startup_ms = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|value| value["fields"]["startup_ms"].as_u64());
            if let Some(ready) = ready.take() {
                let _ = ready.send(startup_ms);
            }
        }
    }
    if let Some(file) = file.as_mut() {
        let _ = file.flush().await;
    }
}
