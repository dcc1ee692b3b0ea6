//! `watchtower validate FILE`: every problem of a monitors file with its line, exit 2 if any.

use super::EXIT_BAD_INPUT;
use crate::cli::ValidateArgs;
use std::path::Path;
use std::process::ExitCode;
use watchtower_application::monitors_file;
use watchtower_core::monitors_file::MonitorsFile;

pub fn run(args: ValidateArgs) -> ExitCode {
    match read(&args.file) {
        Ok(file) => {
            println!(
                "{}: {} monitors, {} channels, {} alert rules, all valid",
                args.file.display(),
                file.monitors.len(),
                file.channels.len(),
                file.alert_rules.len()
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// Reads and parses a monitors file; on failure prints each problem as `FILE:LINE:COLUMN: …`.
pub fn read(path: &Path) -> Result<MonitorsFile, ExitCode> {
    monitors_file::read(path).map_err(|problems| {
        for problem in &problems {
            eprintln!("{problem}");
        }
        eprintln!("{} problem(s) found; nothing was applied", problems.len());
        ExitCode::from(EXIT_BAD_INPUT)
    })
}
