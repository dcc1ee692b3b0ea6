//! The whole team as a monitors file: exported (credentials never included) and applied in one
//! transaction, with the channels and alert rules the file declares.

use super::{all_monitor_entries, all_monitors, plan_error};
use crate::AppState;
use crate::api::TeamHeader;
use crate::auth::TeamAccess;
use crate::error::ApiError;
use crate::status_pages_file;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use watchtower_alerting::alerting_file;
use watchtower_core::access::monitors_file_actions;
use watchtower_core::monitor::REDACTED;
use watchtower_core::monitors_file;
use watchtower_core::{Action, Demand, FieldError, MonitorId, MonitorSpec, Timestamp};
use watchtower_store::ApplyReport;

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// What the file holds in place of each credential (URL password, header values, bearer
    /// token, basic-auth password, push token): `redacted` (default), the marker `********`,
    /// which keeps the stored secret when the file is applied again here; or `env`, a
    /// `${WATCHTOWER_SECRET_<KEY>_<FIELD>}` reference that `serve --config` resolves from its
    /// environment (and that this API also reads as "keep the stored secret").
    pub secrets: Option<String>,
}

/// The team's monitors and status pages as a monitors file (YAML), credentials and page
/// passwords never included.
#[utoipa::path(get, path = "/api/monitors/yaml", tag = "monitors", params(ExportQuery, TeamHeader),
    responses((status = 200, description = "A monitors file", content_type = "application/yaml", body = ExportedFile), (status = 400)))]
pub async fn export_yaml(
    State(state): State<AppState>,
    access: TeamAccess,
    Query(query): Query<ExportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    access.require(Action::ExportYaml)?;
    let as_references = match query.secrets.as_deref() {
        None | Some("redacted") => false,
        Some("env") => true,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "secrets",
                "must be redacted or env",
            ));
        }
    };
    let (monitors, broken) = all_monitor_entries(&state, &access).await?;
    let values: Vec<Value> = monitors
        .iter()
        .map(|monitor| {
            let name = match &monitor.spec.key {
                Some(key) => key.to_string(),
                None => monitor.id.to_string(),
            };
            monitor.spec.value_with_secrets(|field| {
                Some(if as_references {
                    format!("${{{}}}", field.env_name(&name))
                } else {
                    REDACTED.to_owned()
                })
            })
        })
        .collect();
    // A monitor that cannot be read cannot be exported; the file says so instead of silently
    // leaving it out.
    let mut text = String::new();
    for broken in &broken {
        let line = format!(
            "# Not exported: monitor {} ({}, key {}) cannot be read: {}",
            broken.id,
            broken.name,
            broken.key.as_deref().unwrap_or("none"),
            broken.error
        );
        text.push_str(&line.replace(['\n', '\r'], " "));
        text.push('\n');
    }
    text.push_str(&monitors_file::values_to_yaml(&values));
    // The team's status pages follow, their components naming monitors by key.
    let keys: std::collections::HashMap<MonitorId, String> = monitors
        .iter()
        .filter_map(|monitor| Some((monitor.id, monitor.spec.key.as_ref()?.to_string())))
        .collect();
    let pages: Vec<_> = state
        .store
        .list_status_pages(access.team.id)
        .await?
        .into_iter()
        .map(|page| page.spec)
        .collect();
    let (pages_yaml, left_out) =
        monitors_file::status_pages_to_yaml(&pages, |id| keys.get(&id).cloned());
    for (slug, keyless) in left_out {
        let ids: Vec<String> = keyless.iter().map(ToString::to_string).collect();
        text.push_str(&format!(
            "# Not exported: status page {slug} shows monitors without a key ({}); give them \
             keys to manage the page from this file\n",
            ids.join(", ")
        ));
    }
    text.push_str(&pages_yaml);
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        text,
    ))
}

/// The exported monitors file, as its YAML reads: `monitors:` and each monitor's spec, then
/// `status_pages:` with components naming monitors by key and no passwords, in the format
/// `PUT /api/monitors/yaml` and `serve --config` take (written by `monitors_file`).
#[derive(Debug, ToSchema)]
pub struct ExportedFile {
    pub monitors: Vec<MonitorSpec>,
    /// Written only when the team has pages.
    #[schema(required = false)]
    pub status_pages: Vec<watchtower_core::StatusPageSpec>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ApplyQuery {
    /// Check and report without changing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// Applies a monitors file (YAML body) to the team in one transaction: keyed monitors are
/// created, updated, and (with `prune: true` in the file) deleted. All or nothing.
#[utoipa::path(put, path = "/api/monitors/yaml", tag = "monitors", params(ApplyQuery, TeamHeader),
    request_body(content = String, content_type = "application/yaml", description = "A monitors file"),
    responses((status = 200, description = "What changed, by key (with `dry_run`: what the file holds)", body = ApplyAnswer),
        (status = 400, description = "Every problem, with line and column"),
        (status = 403, description = "The role may not apply files, or not the channels or alert rules this file declares")))]
pub async fn apply_yaml(
    State(state): State<AppState>,
    access: TeamAccess,
    Query(query): Query<ApplyQuery>,
    body: String,
) -> Result<Json<ApplyAnswer>, ApiError> {
    access.require(Action::ApplyYaml)?;
    let mut file =
        monitors_file::parse_with(&body, &alerting_file::check_channel).map_err(|problems| {
            ApiError::invalid(
                problems
                    .into_iter()
                    .map(|p| FieldError {
                        field: if p.field.is_empty() {
                            format!("line {}:{}", p.line, p.column)
                        } else {
                            format!("{} (line {}:{})", p.field, p.line, p.column)
                        },
                        problem: p.problem,
                    })
                    .collect(),
            )
        })?;
    // Channels and rules in a file need what the API routes for them need (dry runs too: a dry
    // run answers whether the apply would be allowed).
    let declares_channels = !file.channels.is_empty();
    let declares_rules = !file.alert_rules.is_empty();
    for action in monitors_file_actions(declares_channels, declares_rules) {
        access.require(action)?;
    }
    if !file.status_pages.is_empty() {
        access.require(Action::ManageStatusPages)?;
    }
    let (existing, broken) = all_monitor_entries(&state, &access).await?;
    // An exported file applied again sends secrets redacted: each keeps the stored one.
    let stored: Vec<MonitorSpec> = existing.iter().map(|m| m.spec.clone()).collect();
    monitors_file::restore_secrets(&mut file.monitors, &stored).map_err(ApiError::invalid)?;
    for spec in &file.monitors {
        state
            .plans
            .check_monitor(access.team.plan, spec)
            .map_err(plan_error(&state, &access))?;
    }
    // The active count after applying: unkeyed monitors stay, keyed ones become the file's
    // (plus, without prune, the keyed ones the file no longer lists).
    let listed: std::collections::HashSet<_> =
        file.monitors.iter().filter_map(|s| s.key.clone()).collect();
    let kept_active = existing
        .iter()
        .filter(|m| !m.spec.paused)
        .filter(|m| match &m.spec.key {
            None => true,
            Some(key) => !file.prune && !listed.contains(key),
        })
        .count();
    let active_after = kept_active + file.monitors.iter().filter(|s| !s.paused).count();
    state
        .plans
        .check(
            access.team.plan,
            Demand::Monitors(u32::try_from(active_after).unwrap_or(u32::MAX)),
        )
        .map_err(|exceeded| access.plan_limit(&state, &exceeded))?;
    alerting_file::check_plan(
        &*state.store,
        &state.plans,
        access.team.plan,
        access.team.id,
        &file,
    )
    .await
    .map_err(|error| match error {
        alerting_file::PlanLimitError::Exceeded(exceeded) => access.plan_limit(&state, &exceeded),
        alerting_file::PlanLimitError::Store(error) => error.into(),
    })?;
    status_pages_file::check(
        &*state.store,
        Some((&state.plans, access.team.plan)),
        access.team.id,
        &file,
    )
    .await
    .map_err(|error| status_pages_error(&state, &access, error))?;
    if query.dry_run {
        return Ok(Json(ApplyAnswer::DryRun(DryRunReport {
            dry_run: true,
            monitors: file.monitors.len(),
            channels: file.channels.len(),
            alert_rules: file.alert_rules.len(),
            status_pages: file.status_pages.len(),
            prune: file.prune,
        })));
    }
    let report = state
        .store
        .apply_monitors(access.team.id, &file.monitors, file.prune, Timestamp::now())
        .await?;
    for key in &report.deleted {
        if let Some(gone) = existing.iter().find(|m| m.spec.key.as_ref() == Some(key)) {
            state.scheduler.remove(gone.id).await;
        }
        if let Some(gone) = broken
            .iter()
            .find(|b| b.key.as_deref() == Some(key.as_str()))
        {
            state.scheduler.remove(gone.id).await;
        }
    }
    for monitor in all_monitors(&state, &access).await? {
        let changed = monitor
            .spec
            .key
            .as_ref()
            .is_some_and(|key| report.created.contains(key) || report.updated.contains(key));
        if changed {
            state.scheduler.upsert(monitor).await;
        }
    }
    access
        .audit(
            &state,
            "monitors.applied",
            format!("team:{}", access.team.id),
            json!({"created": report.created, "updated": report.updated, "deleted": report.deleted}),
        )
        .await;
    let alerting =
        alerting_file::apply(&*state.store, access.team.id, &file, Timestamp::now()).await?;
    let status_pages =
        status_pages_file::apply(&*state.store, access.team.id, &file, Timestamp::now()).await;
    // What was changed is audited even when the status pages then failed.
    let pages_audit = status_pages
        .as_ref()
        .map_or(&[][..], |pages| &pages.audit[..]);
    for change in alerting.audit.iter().chain(pages_audit) {
        access
            .audit(
                &state,
                change.action,
                change.target.clone(),
                change.details.clone(),
            )
            .await;
    }
    let status_pages = status_pages.map_err(|error| status_pages_error(&state, &access, error))?;
    if !status_pages.created.is_empty() || !status_pages.updated.is_empty() {
        state.status_pages.invalidate();
    }
    Ok(Json(ApplyAnswer::Applied(Box::new(AppliedReport {
        report,
        alerting,
        status_pages,
    }))))
}

/// A file's status pages that cannot be applied, as the API says it.
fn status_pages_error(
    state: &AppState,
    access: &TeamAccess,
    error: status_pages_file::StatusPagesFileError,
) -> ApiError {
    use status_pages_file::StatusPagesFileError as E;
    match error {
        E::Invalid(problems) => ApiError::invalid(problems),
        E::Plan(exceeded) => access.plan_limit(state, &exceeded),
        E::Store(error) => error.into(),
        E::Hash(error) => ApiError::internal(error),
    }
}

/// What applying a monitors file did, or with `dry_run` what it would apply.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ApplyAnswer {
    Applied(Box<AppliedReport>),
    DryRun(DryRunReport),
}

/// The monitors created, updated, unchanged, deleted and kept, by key, and the channels and
/// rules the file applied, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedReport {
    #[serde(flatten)]
    pub report: ApplyReport,
    pub alerting: alerting_file::AlertingReport,
    /// The status pages the file applied, by slug.
    pub status_pages: status_pages_file::StatusPagesReport,
}

/// A dry run: the file is valid and within the plan; how much it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunReport {
    /// Always `true`.
    pub dry_run: bool,
    pub monitors: usize,
    pub channels: usize,
    pub alert_rules: usize,
    pub status_pages: usize,
    pub prune: bool,
}
