//! One module per subcommand. Each returns the process exit code: 0 success, 1 failure, 2 bad input.

mod check;
mod ops;
mod serve;
mod status;
mod user;
mod validate;

use crate::cli::{Command, DatabaseArgs};
use std::process::ExitCode;
use std::sync::Arc;
use watchtower_store::Store;

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

pub async fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Check(args) => check::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Migrate(args) => match open_store(&args.database).await {
            Ok(_) => {
                println!("database is up to date");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Validate(args) => validate::run(args),
        Command::User(crate::cli::UserCommand::Create(args)) => user::create(args).await,
    }
}

/// Connects to the database and applies pending migrations, printing a clear message on failure.
pub async fn open_store(database: &DatabaseArgs) -> Result<Arc<dyn Store>, ExitCode> {
    let store = watchtower_store::connect(&database.url)
        .await
        .map_err(|error| {
            eprintln!(
                "error: cannot open the database {}: {error}",
                redact(&database.url)
            );
            ExitCode::from(EXIT_FAILURE)
        })?;
    store.migrate().await.map_err(|error| {
        eprintln!(
            "error: cannot migrate the database {}: {error}",
            redact(&database.url)
        );
        ExitCode::from(EXIT_FAILURE)
    })?;
    Ok(store)
}

/// The plan table: canonical, or with the overrides of a YAML file. Prints every problem.
pub fn load_plans(path: Option<&std::path::Path>) -> Result<watchtower_core::PlanTable, ExitCode> {
    let Some(path) = path else {
        return Ok(watchtower_core::PlanTable::default());
    };
    let text = std::fs::read_to_string(path).map_err(|error| {
        eprintln!("error: cannot read {}: {error}", path.display());
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    let value = watchtower_core::monitors_file::yaml_to_json(&text).map_err(|problem| {
        eprintln!("{}: {problem}", path.display());
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    let config: watchtower_core::plan::PlanConfig =
        serde_json::from_value(value).map_err(|error| {
            eprintln!("{}: {error}", path.display());
            ExitCode::from(EXIT_BAD_INPUT)
        })?;
    watchtower_core::PlanTable::from_config(config).map_err(|error| {
        for problem in &error.0 {
            eprintln!("{}: {problem}", path.display());
        }
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
