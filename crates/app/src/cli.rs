//! The command line: `serve`, `check`, `status`, `migrate`, `validate`.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// WatchTower Pro: website and service monitoring and alerting.
#[derive(Debug, Parser)]
#[command(name = "watchtower", version, about)]
pub struct Cli {
    /// Log format on standard error.
    #[arg(
        long,
        global = true,
        env = "WATCHTOWER_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the database is; shared by every command that reads or writes it.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        default_value = "sqlite://./data/watchtower.db"
    )]
    pub url: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the monitoring engine and the HTTP server.
    Serve(ServeArgs),
    /// Run one check now and print the result with its phase timings.
    /// Exit code: 0 when UP or DEGRADED, 1 when DOWN, 2 on bad input.
    Check(CheckArgs),
    /// Print each monitor's state, last check and uptime over 24 hours.
    Status(StatusArgs),
    /// Apply pending database migrations and exit.
    Migrate(MigrateArgs),
    /// Check a monitors file and list every problem with its line; exit 2 if there are any.
    Validate(ValidateArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to serve HTTP on.
    #[arg(long, env = "WATCHTOWER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// A monitors file applied (in one transaction) at start-up.
    #[arg(long, env = "WATCHTOWER_CONFIG")]
    pub config: Option<PathBuf>,
    /// How long raw results are kept.
    #[arg(long, env = "WATCHTOWER_RAW_RETENTION", default_value = "3d", value_parser = duration)]
    pub raw_retention: Duration,
    /// How long hourly rollups are kept.
    #[arg(long, env = "WATCHTOWER_HOURLY_RETENTION", default_value = "100d", value_parser = duration)]
    pub hourly_retention: Duration,
    /// How long daily rollups are kept.
    #[arg(long, env = "WATCHTOWER_DAILY_RETENTION", default_value = "400d", value_parser = duration)]
    pub daily_retention: Duration,
    /// Checks running at once.
    #[arg(long, env = "WATCHTOWER_MAX_CONCURRENT_CHECKS", default_value_t = 4096)]
    pub max_concurrent_checks: usize,
    /// Checks running at once against one host.
    #[arg(long, env = "WATCHTOWER_MAX_CHECKS_PER_HOST", default_value_t = 64)]
    pub max_checks_per_host: usize,
    /// Multi-tenant mode: checks may not connect to loopback, private, link-local, CGNAT or
    /// cloud-metadata addresses (applied to the address actually connected to).
    #[arg(long, env = "WATCHTOWER_MULTI_TENANT", default_value_t = false)]
    pub multi_tenant: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A URL (`https://…`, `tcp://host:port`, `ping://host`, `dns://name?type=MX&server=IP`,
    /// `tls://host:port`) or a monitor spec as inline YAML/JSON (`{kind: http, url: …}`).
    pub target: String,
    /// Overall deadline of the check.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub timeout: Duration,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The monitors file.
    pub file: PathBuf,
}

fn duration(text: &str) -> Result<Duration, String> {
    watchtower_core::HumanDuration::parse(text).map(|d| d.get())
}
