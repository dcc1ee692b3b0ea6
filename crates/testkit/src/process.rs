//! The real `watchtower` binary as a child process, with its log kept in a file for failures.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running `watchtower serve`.
pub struct WatchtowerProcess {
    child: Child,
    pub base_url: String,
    pub log: PathBuf,
}

impl WatchtowerProcess {
    /// Starts `binary serve` with `args` on a free port and waits until `/healthz` answers.
    pub async fn serve(
        binary: &Path,
        database_url: &str,
        args: &[&str],
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        Self::serve_with_env(binary, database_url, args, &[], log_dir).await
    }

    /// As [`serve`](Self::serve), with environment variables set for the process.
    pub async fn serve_with_env(
        binary: &Path,
        database_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        let port = crate::free_port();
        let bind = format!("127.0.0.1:{port}");
        let log = log_dir.join(format!("watchtower-{port}.log"));
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(binary)
            .arg("serve")
            .args(["--bind", &bind, "--database", database_url])
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()?;
        let mut process = Self {
            child,
            base_url: format!("http://{bind}"),
            log,
        };
        process.wait_until_ready(Duration::from_secs(30)).await?;
        Ok(process)
    }

    async fn wait_until_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "watchtower exited with {status} during start-up:\n{}",
                    self.log_text()
                );
            }
            if client
                .get(format!("{}/healthz", self.base_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!(
            "watchtower did not become ready within {within:?}:\n{}",
            self.log_text()
        )
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> anyhow::Result<ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        Ok(self.child.wait()?)
    }

    /// Sends SIGTERM and waits up to `within` for the exit; a process still running then is
    /// killed and reported as an error with its log.
    pub fn terminate_within(mut self, within: Duration) -> anyhow::Result<ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        anyhow::bail!(
            "watchtower did not stop within {within:?} of SIGTERM:\n{}",
            self.log_text()
        )
    }

    /// Sends SIGKILL: the process gets no chance to flush.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for WatchtowerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
