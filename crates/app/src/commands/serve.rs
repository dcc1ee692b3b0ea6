//! `watchtower serve`: turns the flags into an [`Application`], creates the first administrator
//! and applies the monitors file when asked, then runs the application until SIGINT/SIGTERM.
//! What starts and the order it stops in belong to `watchtower-application`.

use super::{EXIT_BAD_INPUT, EXIT_FAILURE, open_store};
use crate::cli::{DatabaseCareArgs, ServeArgs, TelemetryArgs, WhopArgs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use watchtower_alerting::dispatcher::DispatcherConfig;
use watchtower_alerting::{Sender, SenderOptions};
use watchtower_application::Application;
use watchtower_application::accounts::bootstrap_admin;
use watchtower_application::backups::BackupSettings;
use watchtower_application::care::{CareSettings, CareWindow};
use watchtower_application::monitors_file::{self, ApplyFileError};
use watchtower_billing::{BillingConfig, FrameConfig, FrameKeys, WebhookSecret};
use watchtower_checks::AddressPolicy;
use watchtower_scheduler::SchedulerConfig;
use watchtower_server::AuthConfig;
use watchtower_server::middleware::error_reports::{ErrorReportSettings, ErrorReporter};
use watchtower_server::middleware::rate_limit::RateLimitConfig;
use watchtower_store::Retention;
use watchtower_store::sqlite::InstanceLock;

pub async fn run(args: ServeArgs) -> ExitCode {
    let started = Instant::now();
    let ops = match super::ops::settings(&args.ops) {
        Ok(ops) => ops,
        Err(code) => return code,
    };
    let (billing, error_reports) = match (billing_config(&args.whop), telemetry(&args.telemetry)) {
        (Ok(billing), Ok(error_reports)) => (billing, error_reports),
        (billing, error_reports) => {
            let problems = billing.err().into_iter().flatten();
            for problem in problems.chain(error_reports.err().into_iter().flatten()) {
                eprintln!("error: {problem}");
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if args.backups.backup_dir.is_some() && args.backups.backup_every < Duration::from_secs(1) {
        eprintln!("error: --backup-every: must be at least 1s");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let care = match care_settings(&args.care) {
        Ok(care) => care,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let plans = match super::load_plans(args.plans.as_deref(), args.multi_tenant) {
        Ok(plans) => plans,
        Err(code) => return code,
    };
    tracing::info!(
        default_plan = plans.default_plan().as_str(),
        multi_tenant = args.multi_tenant,
        plans_file = args.plans.is_some(),
        "new teams start on the {} plan",
        plans.default_plan().as_str()
    );
    let address_policy = if args.multi_tenant {
        AddressPolicy::PublicOnly
    } else {
        AddressPolicy::AllowAll
    };
    // Notifications obey the same address rule as checks: a tenant's webhook must not reach the
    // instance's own network either.
    let sender = match Sender::try_new(SenderOptions {
        address_policy,
        proxy: args.outbound_proxy.clone(),
        ..SenderOptions::default()
    }) {
        Ok(sender) => Arc::new(sender),
        Err(error) => {
            eprintln!("error: --outbound-proxy: {error}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    // Before anything is written: a second instance on the file must change nothing.
    let _single_instance = match lock_sqlite_file(&args.database.url) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    if args.cluster && !is_postgres(&args.database.url) {
        eprintln!(
            "error: --cluster: instances share their work through PostgreSQL (--database postgres://…); an SQLite file is served by one instance"
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let cluster = if args.cluster {
        match open_cluster(&args.database).await {
            Ok(cluster) => Some(cluster),
            Err(code) => return code,
        }
    } else {
        None
    };
    match bootstrap_admin(
        store.as_ref(),
        args.admin_email.clone(),
        args.admin_password.clone(),
        plans.default_plan(),
    )
    .await
    {
        Ok(Some(admin)) => tracing::info!(email = %admin.email, "created the first administrator"),
        Ok(None) => {}
        Err(error) => {
            eprintln!(
                "error: cannot create the administrator from WATCHTOWER_ADMIN_EMAIL: {error}"
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let mut applied_at_start = 0;
    if let Some(path) = &args.config {
        let file = match super::validate::read(path) {
            Ok(file) => file,
            Err(code) => return code,
        };
        match monitors_file::apply(store.as_ref(), path, file).await {
            Ok(report) => {
                applied_at_start =
                    report.created.len() + report.updated.len() + report.deleted.len();
            }
            Err(error) => return apply_file_failed(path, &error),
        }
    }

    let public_url = args.public_url.as_ref().map(ToString::to_string);
    let mut builder = Application::builder(store).database_care(care, applied_at_start);
    if let Some(cluster) = cluster {
        builder = builder.cluster(cluster);
    }
    if let Some(path) = args.config.clone() {
        builder = builder.reload_monitors_file_on_sighup(path);
    }
    if let Some(reporter) = error_reports {
        // Panics of background tasks too, not only those of requests.
        reporter.report_process_panics();
        builder = builder.error_reports(reporter);
    }
    if let Some(dir) = args.backups.backup_dir.clone() {
        builder = builder.backups(BackupSettings {
            dir,
            every: args.backups.backup_every,
            database_url: args.database.url.clone(),
        });
    }
    let application = builder
        .bind(args.bind)
        .started_at(started)
        .plans(plans)
        .multi_tenant(args.multi_tenant)
        .sender(sender)
        .scheduler(SchedulerConfig {
            max_concurrent_checks: args.max_concurrent_checks,
            max_checks_per_host: args.max_checks_per_host,
            ..SchedulerConfig::default()
        })
        .retention(Retention {
            raw: args.raw_retention,
            minute: args.raw_retention,
            hour: args.hourly_retention,
            day: args.daily_retention,
        })
        .dispatcher(DispatcherConfig {
            public_url,
            ..DispatcherConfig::default()
        })
        .auth(AuthConfig {
            secure_cookies: args
                .public_url
                .as_ref()
                .is_some_and(|url| url.scheme() == "https"),
            trust_forwarded_for: args.trust_forwarded_for,
            // Kept hashed: compared in constant time, never held in the clear.
            metrics_token_hash: args
                .metrics_token
                .as_deref()
                .filter(|token| !token.is_empty())
                .map(watchtower_server::auth::tokens::token_hash),
            ..AuthConfig::default()
        })
        .rate_limits(RateLimitConfig {
            per_api_key: args.rate_limit_per_key,
            per_session: args.rate_limit_per_session,
            per_ip: args.rate_limit_per_ip,
            per_ip_authenticated: args.rate_limit_per_ip_authenticated,
            per_ip_unknown_push_token: args.rate_limit_push_unknown_per_ip,
            trust_forwarded_for: args.trust_forwarded_for,
            ..RateLimitConfig::default()
        })
        .ops_alerts(ops)
        .billing(billing)
        .whop_api(args.whop.whop_api_url.clone())
        .build()
        .await;
    match application {
        Ok(application) => {
            application.run().await;
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Sentry error reports from the flags, when a DSN is given, and the OTLP endpoint checked (the
/// exporter itself starts with the logger, in `main`); every problem listed.
fn telemetry(args: &TelemetryArgs) -> Result<Option<ErrorReporter>, Vec<String>> {
    let otlp = args
        .otlp_endpoint
        .as_deref()
        .and_then(crate::telemetry::endpoint_problem)
        .map(|problem| format!("--otlp-endpoint: {problem}"));
    let reporter = error_reporter(args);
    match (reporter, otlp) {
        (Ok(reporter), None) => Ok(reporter),
        (reporter, otlp) => Err(reporter.err().into_iter().chain(otlp).collect()),
    }
}

/// Sentry error reports from the flags, when a DSN is given.
fn error_reporter(args: &TelemetryArgs) -> Result<Option<ErrorReporter>, String> {
    let Some(dsn) = args
        .sentry_dsn
        .as_deref()
        .filter(|dsn| !dsn.trim().is_empty())
    else {
        return Ok(None);
    };
    let environment = args.sentry_environment.trim();
    if environment.is_empty() {
        return Err("--sentry-environment: must not be empty".into());
    }
    ErrorReporter::new(&ErrorReportSettings {
        dsn: dsn.to_owned(),
        environment: environment.to_owned(),
        release: crate::cli::release(),
    })
    .map(Some)
    .map_err(|error| format!("--sentry-dsn: {error}"))
}

/// The database care's settings from the flags.
fn care_settings(args: &DatabaseCareArgs) -> Result<CareSettings, String> {
    let window = match args.db_maintenance_window.trim() {
        "off" => None,
        cron => Some(
            CareWindow::parse(cron, args.db_maintenance_length)
                .map_err(|problem| format!("--db-maintenance-window: {problem}"))?,
        ),
    };
    Ok(CareSettings {
        window,
        after_apply: (args.db_maintenance_after_apply > 0)
            .then_some(args.db_maintenance_after_apply),
    })
}

/// Whop billing's settings from the flags, every bad value listed.
fn billing_config(args: &WhopArgs) -> Result<BillingConfig, Vec<String>> {
    let mut config = BillingConfig {
        grace_period: args.whop_grace_period,
        ..BillingConfig::default()
    };
    let mut problems = Vec::new();
    for secret in &args.whop_webhook_secrets {
        match WebhookSecret::parse(secret) {
            Ok(secret) => config.secrets.push(secret),
            Err(problem) => problems.push(format!("--whop-webhook-secret: {problem}")),
        }
    }
    for mapping in &args.whop_plans {
        match BillingConfig::parse_plan_mapping(mapping) {
            Ok((id, plan)) => {
                config.plans.insert(id, plan);
            }
            Err(problem) => problems.push(format!("--whop-plan: {problem}")),
        }
    }
    for link in &args.whop_checkout_links {
        match BillingConfig::parse_checkout_link(link) {
            Ok((plan, url)) => {
                config.checkout_links.insert(plan, url);
            }
            Err(problem) => problems.push(format!("--whop-checkout-link: {problem}")),
        }
    }
    config.frame = match frame_config(args) {
        Ok(frame) => frame,
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

/// Frame sign-in from the flags: on with an app id; the key from a PEM file or the JWKS URL.
fn frame_config(args: &WhopArgs) -> Result<Option<FrameConfig>, String> {
    let Some(app_id) = args.whop_app_id.as_deref().map(str::trim) else {
        return Ok(None);
    };
    if app_id.is_empty() {
        return Err("--whop-app-id: must not be empty".into());
    }
    let keys = match &args.whop_token_key {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|error| format!("--whop-token-key: {}: {error}", path.display()))?;
            FrameConfig::pem_key(&pem)
                .map_err(|problem| format!("--whop-token-key: {}: {problem}", path.display()))?
        }
        None => FrameKeys::Jwks {
            url: url::Url::parse(&args.whop_jwks_url)
                .map_err(|error| format!("--whop-jwks-url: {error}"))?,
            refetch_floor: args.whop_jwks_refetch,
        },
    };
    Ok(Some(FrameConfig {
        app_id: app_id.to_owned(),
        keys,
    }))
}

/// An SQLite file is served by one instance: its lock, held until `serve` returns, or the exit
/// after saying who holds it. PostgreSQL needs none.
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The lease statements, the fenced batch writes and the channel between instances: a pool
/// apart from the API's reads and writes (relayed changes and pings share it).
async fn open_cluster(
    database: &crate::cli::DatabaseArgs,
) -> Result<Arc<dyn watchtower_store::ClusterStore>, ExitCode> {
    match watchtower_store::PgStore::connect(&database.url).await {
        Ok(store) => Ok(Arc::new(store)),
        Err(error) => {
            eprintln!(
                "error: cannot open the database {}: {error}",
                super::redact(&database.url)
            );
            Err(ExitCode::from(EXIT_FAILURE))
        }
    }
}

fn lock_sqlite_file(url: &str) -> Result<Option<InstanceLock>, ExitCode> {
    let Some(path) = watchtower_store::sqlite_file(url).filter(|path| !path.is_empty()) else {
        return Ok(None);
    };
    match InstanceLock::acquire(std::path::Path::new(path)) {
        Ok(lock) => Ok(Some(lock)),
        Err(error) => {
            eprintln!("error: {error}");
            Err(ExitCode::from(EXIT_FAILURE))
        }
    }
}

/// Prints why the monitors file was not applied; missing secrets are bad input (exit 2), a store
/// failure is not.
fn apply_file_failed(path: &std::path::Path, error: &ApplyFileError) -> ExitCode {
    match error {
        ApplyFileError::MissingSecrets(problems) | ApplyFileError::StatusPages(problems) => {
            for problem in problems {
                eprintln!("{}: {problem}", path.display());
            }
            eprintln!("{error}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        ApplyFileError::ReadStored(_)
        | ApplyFileError::Monitors { .. }
        | ApplyFileError::Alerting { .. }
        | ApplyFileError::StatusPagesFailed { .. } => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
