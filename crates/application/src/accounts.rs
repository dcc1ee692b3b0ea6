//! Creating accounts outside the API: `watchtower user create` and the first administrator from
//! `WATCHTOWER_ADMIN_EMAIL` / `WATCHTOWER_ADMIN_PASSWORD`.

use watchtower_core::{Email, FieldError, PasswordPolicy, Plan, Role, TeamId, Timestamp};
use watchtower_server::auth::password::hash_password;
use watchtower_store::{NewUser, Store, StoreError, User};

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Validates and creates a user. An administrator becomes owner of the Default team (where
/// `serve --config` applies monitors) when it has no owner yet; anyone else gets a team of their
/// own on `plan`.
pub async fn create_user(
    store: &dyn Store,
    email: &str,
    name: Option<&str>,
    password: String,
    is_admin: bool,
    plan: Plan,
) -> Result<User, CreateUserError> {
    let user = insert_user(store, email, name, password, is_admin).await?;
    let now = user.created_at;
    let default_has_owner = store
        .members(TeamId::DEFAULT)
        .await?
        .iter()
        .any(|m| m.role == Role::Owner);
    if is_admin && !default_has_owner {
        store
            .add_member(TeamId::DEFAULT, user.id, Role::Owner, now)
            .await?;
    } else {
        store
            .create_team(&format!("{}'s team", user.name), plan, user.id, now)
            .await?;
    }
    Ok(user)
}

async fn insert_user(
    store: &dyn Store,
    email: &str,
    name: Option<&str>,
    password: String,
    is_admin: bool,
) -> Result<User, CreateUserError> {
    let mut problems = Vec::new();
    let email = match Email::parse(email) {
        Ok(email) => Some(email),
        Err(problem) => {
            problems.push(FieldError {
                field: "email".into(),
                problem,
            });
            None
        }
    };
    for problem in PasswordPolicy::DEFAULT.check(&password, email.as_ref()) {
        problems.push(FieldError {
            field: "password".into(),
            problem,
        });
    }
    let Some(email) = email.filter(|_| problems.is_empty()) else {
        return Err(CreateUserError::Invalid(problems));
    };
    let password_hash = hash_password(password)
        .await
        .map_err(|e| StoreError::Corrupt(format!("hashing failed: {e}")))?;
    let now = Timestamp::now();
    let user = store
        .create_user(&NewUser {
            email: email.as_str().to_owned(),
            email_key: email.lookup_key(),
            name: name.unwrap_or(email.local_part()).to_owned(),
            password_hash,
            is_admin,
            created_at: now,
        })
        .await?;
    Ok(user)
}

/// Creates the administrator named by the environment on first start (no users yet).
pub async fn bootstrap_admin(
    store: &dyn Store,
    email: Option<String>,
    password: Option<String>,
    plan: Plan,
) -> Result<Option<User>, CreateUserError> {
    let (Some(email), Some(password)) = (email, password) else {
        return Ok(None);
    };
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    create_user(store, &email, None, password, true, plan)
        .await
        .map(Some)
}
