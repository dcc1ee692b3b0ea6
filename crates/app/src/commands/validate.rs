//! `watchtower validate FILE`: every problem of a monitors file with its line, exit 2 if any.

use super::EXIT_BAD_INPUT;
use crate::cli::ValidateArgs;
use std::path::Path;
use std::process::ExitCode;
use watchtower_alerting::alerting_file;
use watchtower_core::monitors_file::{self, MonitorsFile};

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
    let text = std::fs::read_to_string(path).map_err(|error| {
        eprintln!("{}: cannot read: {error}", path.display());
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    // A file given to the server may refer to secrets as `${NAME}` in its environment.
    let interpolated = monitors_file::interpolate_env(&text, |name| std::env::var(name).ok());
    interpolated
        .and_then(|text| monitors_file::parse_with(&text, &alerting_file::check_channel))
        .map_err(|problems| {
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
