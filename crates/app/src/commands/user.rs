//! `watchtower user create`: accounts from the command line (the first administrator, mostly).

use super::{EXIT_BAD_INPUT, EXIT_FAILURE, load_plans, open_store};
use crate::cli::UserCreateArgs;
use std::process::ExitCode;
use watchtower_application::accounts::{CreateUserError, create_user};

pub async fn create(args: UserCreateArgs) -> ExitCode {
    let plans = match load_plans(args.plans.as_deref(), false) {
        Ok(plans) => plans,
        Err(code) => return code,
    };
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    match create_user(
        store.as_ref(),
        &args.email,
        args.name.as_deref(),
        args.password,
        args.admin,
        plans.default_plan(),
    )
    .await
    {
        Ok(user) => {
            let role = if user.is_admin {
                "administrator"
            } else {
                "user"
            };
            println!("created {role} {} (id {})", user.email, user.id);
            ExitCode::SUCCESS
        }
        Err(CreateUserError::Invalid(problems)) => {
            for problem in problems {
                eprintln!("error: {problem}");
            }
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(CreateUserError::Store(watchtower_store::StoreError::Conflict(_))) => {
            eprintln!("error: email: a user with this email exists");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(error) => {
            eprintln!("error: cannot create the user: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
