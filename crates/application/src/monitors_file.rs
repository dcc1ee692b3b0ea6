//! The monitors file `serve --config` applies to the Default team at start and again on SIGHUP,
//! with the instance's authority: its monitors, then its channels and alert rules, then its status
//! pages, each step recorded in the audit log under the file's name.

use std::path::Path;
use watchtower_alerting::alerting_file::{self, AuditedChange};
use watchtower_core::monitors_file::{self, MonitorsFile};
use watchtower_core::{FieldError, MonitorSpec, TeamId, Timestamp};
use watchtower_server::status_pages_file;
use watchtower_store::{Actor, ApplyReport, PageRequest, Store, StoreError};

/// Reads and parses the file at `path`, `${NAME}` references resolved from the environment and
/// each channel checked by its kind. Every problem is returned as `FILE:LINE:COLUMN: field: ...`.
pub fn read(path: &Path) -> Result<MonitorsFile, Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| vec![format!("{}: cannot read: {error}", path.display())])?;
    let interpolated = monitors_file::interpolate_env(&text, |name| std::env::var(name).ok());
    interpolated
        .and_then(|text| monitors_file::parse_with(&text, &alerting_file::check_channel))
        .map_err(|problems| {
            problems
                .iter()
                .map(|problem| {
                    let place = format!("{}:{}:{}", path.display(), problem.line, problem.column);
                    match problem.field.as_str() {
                        "" => format!("{place}: {}", problem.problem),
                        field => format!("{place}: {field}: {}", problem.problem),
                    }
                })
                .collect()
        })
}

/// Why the file was not (fully) applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyFileError {
    /// Fields the file sends as the redaction marker with no stored secret to put back; nothing
    /// was applied.
    #[error(
        "{} problem(s) found; nothing was applied (give the secret, or a ${{NAME}} reference to an \
         environment variable that holds it)",
        .0.len()
    )]
    MissingSecrets(Vec<FieldError>),
    #[error("cannot read the stored monitors: {0}")]
    ReadStored(#[source] StoreError),
    #[error("applying {path} failed, nothing was changed: {error}")]
    Monitors {
        path: String,
        #[source]
        error: StoreError,
    },
    /// Status pages this team cannot have as the file says (a slug of another team's, a
    /// password page without a password); nothing was applied.
    #[error("{} problem(s) with the status pages; nothing was applied", .0.len())]
    StatusPages(Vec<FieldError>),
    #[error("applying the status pages of {path} failed: {error}")]
    StatusPagesFailed {
        path: String,
        #[source]
        error: status_pages_file::StatusPagesFileError,
    },
    #[error("applying the channels and alert rules of {path} failed: {error}")]
    Alerting {
        path: String,
        #[source]
        error: StoreError,
    },
}

/// Applies `file` (read from `path`) to the Default team: monitors first, then the channels and
/// alert rules, whose rules name monitors by key. Returns what happened to the monitors.
pub async fn apply(
    store: &dyn Store,
    path: &Path,
    mut file: MonitorsFile,
) -> Result<ApplyReport, ApplyFileError> {
    // The operator's own file, applied with the instance's authority; the audit log names it.
    let config_actor = Actor {
        user_id: None,
        api_key_id: None,
        label: format!("serve --config {}", path.display()),
    };
    keep_stored_secrets(store, &mut file).await?;
    // Checked before the first write, so a page the file cannot have changes nothing.
    match status_pages_file::check(store, None, TeamId::DEFAULT, &file).await {
        Ok(()) => {}
        Err(status_pages_file::StatusPagesFileError::Invalid(problems)) => {
            return Err(ApplyFileError::StatusPages(problems));
        }
        Err(error) => {
            return Err(ApplyFileError::StatusPagesFailed {
                path: path.display().to_string(),
                error,
            });
        }
    }
    let monitors = store
        .apply_monitors(
            TeamId::DEFAULT,
            &file.monitors,
            file.prune,
            Timestamp::now(),
        )
        .await
        .map_err(|error| ApplyFileError::Monitors {
            path: path.display().to_string(),
            error,
        })?;
    tracing::info!(
        file = %path.display(),
        created = monitors.created.len(),
        updated = monitors.updated.len(),
        unchanged = monitors.unchanged.len(),
        deleted = monitors.deleted.len(),
        kept = monitors.kept.len(),
        "applied monitors file"
    );
    let changed = AuditedChange {
        action: "monitors.applied",
        target: format!("team:{}", TeamId::DEFAULT),
        details: serde_json::json!({
            "created": monitors.created,
            "updated": monitors.updated,
            "deleted": monitors.deleted,
        }),
    };
    alerting_file::record_audit(
        store,
        TeamId::DEFAULT,
        &config_actor,
        &[changed],
        Timestamp::now(),
    )
    .await;
    let report = alerting_file::apply(store, TeamId::DEFAULT, &file, Timestamp::now())
        .await
        .map_err(|error| ApplyFileError::Alerting {
            path: path.display().to_string(),
            error,
        })?;
    tracing::info!(
        channels_created = report.channels_created.len(),
        channels_updated = report.channels_updated.len(),
        rules_created = report.rules_created.len(),
        rules_replaced = report.rules_replaced.len(),
        "applied the file's channels and alert rules"
    );
    alerting_file::record_audit(
        store,
        TeamId::DEFAULT,
        &config_actor,
        &report.audit,
        Timestamp::now(),
    )
    .await;
    let pages = status_pages_file::apply(store, TeamId::DEFAULT, &file, Timestamp::now())
        .await
        .map_err(|error| ApplyFileError::StatusPagesFailed {
            path: path.display().to_string(),
            error,
        })?;
    if !file.status_pages.is_empty() {
        tracing::info!(
            created = pages.created.len(),
            updated = pages.updated.len(),
            unchanged = pages.unchanged.len(),
            "applied the file's status pages"
        );
    }
    alerting_file::record_audit(
        store,
        TeamId::DEFAULT,
        &config_actor,
        &pages.audit,
        Timestamp::now(),
    )
    .await;
    Ok(monitors)
}

/// Puts the stored secrets back where the file sends the redaction marker (an export applied as
/// it is); each such field with nothing stored is a problem. Lists the stored monitors only when
/// the file asks for one, so a large first start pays nothing.
async fn keep_stored_secrets(
    store: &dyn Store,
    file: &mut MonitorsFile,
) -> Result<(), ApplyFileError> {
    if !file.monitors.iter().any(MonitorSpec::keeps_any_secret) {
        return Ok(());
    }
    let mut stored = Vec::new();
    let mut page = PageRequest {
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let listings = store
            .list_monitors(TeamId::DEFAULT, &page)
            .await
            .map_err(ApplyFileError::ReadStored)?;
        let Some(last) = listings.last() else { break };
        page.after = Some(last.monitor.id);
        stored.extend(listings.into_iter().map(|listing| listing.monitor.spec));
    }
    monitors_file::restore_secrets(&mut file.monitors, &stored)
        .map_err(ApplyFileError::MissingSecrets)
}
