//! `watchtower validate FILE`: every problem of a monitors file with its line, exit 2 if any.

use super::EXIT_BAD_INPUT;
use crate::cli::ValidateArgs;
use std::path::Path;
use std::process::ExitCode;
use watchtower_core::monitors_file::{self, MonitorsFile};

pub fn run(args: ValidateArgs) -> ExitCode {
    match read(&args.file) {
        Ok(file) => {
            println!(
                "{}: {} monitors, all valid",
                args.file.display(),
                file.monitors.len()
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// Reads and parses a monitors file; on failure prints each problem as `FILE:LINE:COLUMN: …`.
pub fn read(path: &Path) -> Result<MonitorsFile, ExitCode> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        eprintln!("{}: cannot read: {error}", path.display());
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    monitors_file::parse(&text).map_err(|problems| {
        for problem in &problems {
            let place = format!("{}:{}:{}", path.display(), problem.line, problem.column);
            match problem.field.as_str() {
                "" => eprintln!("{place}: {}", problem.problem),
                field => eprintln!("{place}: {field}: {}", problem.problem),
            }
        }
        eprintln!("{} problem(s) found; nothing was applied", problems.len());
        ExitCode::from(EXIT_BAD_INPUT)
    })
}
