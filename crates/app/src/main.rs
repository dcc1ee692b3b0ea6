//! The `watchtower` binary: parses the command line and hands over to a command.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: its output and its errors are printed for whoever ran it"
)]

mod cli;
mod commands;
mod target;
mod telemetry;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let otlp_endpoint = match &cli.command {
        cli::Command::Serve(args) => args.telemetry.otlp_endpoint.clone(),
        _ => None,
    };
    // Inside the runtime: the trace exporter sends on it.
    let traces = {
        let _runtime = runtime.enter();
        telemetry::init(cli.log_format, otlp_endpoint.as_deref())
    };
    let code = runtime.block_on(commands::run(cli.command));
    if let Some(traces) = traces {
        runtime.block_on(traces.shutdown());
    }
    code
}
