//! `watchtower-bench`: measures WatchTower's speed, memory and storage on this machine with one
//! command per figure (see docs/PERFORMANCE.md). All traffic stays on loopback; every loop is
//! bounded in count and time.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: its output and its errors are printed for whoever ran it"
)]

mod api_client;
mod commands;
mod database;
mod farm;
mod http_client;
mod machine;
mod monitors_file;
mod prometheus;
mod report;
mod sampling;
mod target_process;

use clap::{Parser, Subcommand};

/// Benchmarks of WatchTower Pro (issue 5).
#[derive(Debug, Parser)]
#[command(name = "watchtower-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run `watchtower serve` against a local target farm: checks done vs scheduled, schedule lag,
    /// CPU per check, RSS, start-up, restart and shutdown times, bytes per stored result.
    Checks(commands::checks::ChecksArgs),
    /// Write synthetic history through the store, then time uptime and list queries.
    Backfill(commands::backfill::BackfillArgs),
    /// Hammer `/api/push/{token}` with keep-alive clients and verify every ping was stored.
    Push(commands::push::PushArgs),
    /// Take every target down at once and time each monitor's DOWN webhook, confirmed state
    /// change to receipt; monitors loaded through the API (YAML and one by one).
    Alerts(commands::alerts::AlertsArgs),
    /// Time the monitor list, results and uptime endpoints over HTTP with 10,000 monitors, and a
    /// dashboard page (list + 24 h uptime per monitor).
    Endpoints(commands::endpoints::EndpointsArgs),
    /// A crowd of keep-alive visitors on one public status page (100 components) while every
    /// monitor is being checked: pages per second, latency, CPU per page.
    StatusPage(commands::status_page::StatusPageArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Two workers: the machine has two cores and watchtower needs them too.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Checks(args) => commands::checks::run(args).await,
            Command::Backfill(args) => commands::backfill::run(args).await,
            Command::Push(args) => commands::push::run(args).await,
            Command::Alerts(args) => commands::alerts::run(args).await,
            Command::Endpoints(args) => commands::endpoints::run(args).await,
            Command::StatusPage(args) => commands::status_page::run(args).await,
        }
    })
}
