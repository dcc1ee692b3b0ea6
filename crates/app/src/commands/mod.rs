//! One module per subcommand. Each returns the process exit code: 0 success, 1 failure, 2 bad input.

mod backup;
mod check;
mod db;
mod import;
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
        Command::Backup(args) => backup::backup(args).await,
        Command::Verify(args) => backup::verify(args).await,
        Command::Restore(args) => backup::restore(args).await,
        Command::Db(crate::cli::DbCommand::Stats(args)) => db::stats(args).await,
        Command::Db(crate::cli::DbCommand::Maintain(args)) => db::maintain(args).await,
        Command::Import(crate::cli::ImportCommand::Kuma(args)) => import::kuma(args).await,
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
pub fn load_plans(
    path: Option<&std::path::Path>,
    multi_tenant: bool,
) -> Result<watchtower_core::PlanTable, ExitCode> {
    // Where strangers sign up, new teams start on Free unless the plans file says otherwise.
    let base = if multi_tenant {
        watchtower_core::PlanTable::multi_tenant()
    } else {
        watchtower_core::PlanTable::default()
    };
    let Some(path) = path else {
        return Ok(base);
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
    watchtower_core::PlanTable::from_config_over(config, base).map_err(|error| {
        for problem in &error.0 {
            eprintln!("{}: {problem}", path.display());
        }
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// The URL without its secrets, for messages: the user-info password and every query value
/// whose name holds `password` (`?password=`, `?sslpassword=`) become `***`. A URL that does not
/// parse is shown by its scheme only, since its secret cannot be found reliably.
fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        return format!("{scheme}://… (not a valid URL)");
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let is_secret = |name: &str| name.to_ascii_lowercase().contains("password");
    if parsed.query_pairs().any(|(name, _)| is_secret(&name)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let value = if is_secret(&name) {
                    "***".to_owned()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::{load_plans, redact};
    use watchtower_core::Plan;

    #[test]
    fn multi_tenant_new_teams_start_on_free_unless_the_plans_file_says_otherwise() {
        let default_plan = |path, multi_tenant| {
            load_plans(path, multi_tenant)
                .map(|plans| plans.default_plan())
                .ok()
        };
        assert_eq!(default_plan(None, false), Some(Plan::Unlimited));
        assert_eq!(default_plan(None, true), Some(Plan::Free));
        let dir = tempfile::tempdir().expect("temporary directory");
        let silent = dir.path().join("silent.yaml");
        std::fs::write(&silent, "free: {max_monitors: 5}\n").expect("write");
        assert_eq!(default_plan(Some(&silent), true), Some(Plan::Free));
        let chosen = dir.path().join("chosen.yaml");
        std::fs::write(&chosen, "default_plan: unlimited\n").expect("write");
        assert_eq!(default_plan(Some(&chosen), true), Some(Plan::Unlimited));
    }

    #[test]
    fn database_urls_lose_their_passwords_wherever_they_are() {
        assert_eq!(
            redact("postgres://app:hunter2@db.internal:5432/watchtower"),
            "postgres://app:***@db.internal:5432/watchtower"
        );
        assert_eq!(
            redact(
                "postgres://app@db/watchtower?sslmode=require&password=hunter2&PGSSLPASSWORD=k3y"
            ),
            "postgres://app@db/watchtower?sslmode=require&password=***&PGSSLPASSWORD=***"
        );
        assert_eq!(
            redact("sqlite://data/watchtower.db"),
            "sqlite://data/watchtower.db"
        );
        let unparsable = redact("postgres://app:hunter2@db:notaport/watchtower");
        assert!(!unparsable.contains("hunter2"), "{unparsable}");
        assert!(unparsable.starts_with("postgres://"), "{unparsable}");
    }
}
