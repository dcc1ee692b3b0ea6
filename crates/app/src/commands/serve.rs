//! `watchtower serve`: applies the monitors file, starts the result writer, the scheduler, the
//! history chores and the HTTP server, and on SIGINT/SIGTERM stops them in the order that loses
//! nothing: HTTP, then the scheduler, then the writer's final flush.

use super::{EXIT_FAILURE, open_store};
use crate::cli::ServeArgs;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use watchtower_alerting::dispatcher::{self, DispatcherConfig};
use watchtower_alerting::{Sender, SenderOptions};
use watchtower_checks::{AddressPolicy, Prober, ProberOptions};
use watchtower_core::monitors_file::{self, MonitorsFile};
use watchtower_core::{MonitorSpec, Plan, PlanTable, TeamId, Timestamp};
use watchtower_scheduler::{
    Clock, ProbeChecker, ResultWriter, Scheduler, SchedulerConfig, WriterConfig, housekeeping,
};
use watchtower_alerting::alerting_file;
use watchtower_server::auth::StoreCredentialCheck;
use watchtower_server::auth::users::bootstrap_admin;
use watchtower_server::middleware::rate_limit::{RateLimitConfig, RateLimiter};
use watchtower_server::ops::OpsCounters;
use watchtower_server::{AppState, AuthConfig, install_metrics_recorder, router};
use watchtower_store::{PageRequest, Retention, ScheduledLoad, Store};

pub async fn run(args: ServeArgs) -> ExitCode {
    let started = Instant::now();
    let ops = match super::ops::settings(&args.ops) {
        Ok(ops) => ops,
        Err(code) => return code,
    };
    let plans = match super::load_plans(args.plans.as_deref(), args.multi_tenant) {
        Ok(plans) => Arc::new(plans),
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
            return ExitCode::from(super::EXIT_BAD_INPUT);
        }
    };
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
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
            return ExitCode::from(super::EXIT_BAD_INPUT);
        }
    }
    if let Some(path) = &args.config {
        // The operator's own file, applied with the instance's authority; the audit log names it.
        let config_actor = watchtower_store::Actor {
            user_id: None,
            api_key_id: None,
            label: format!("serve --config {}", path.display()),
        };
        let mut file = match super::validate::read(path) {
            Ok(file) => file,
            Err(code) => return code,
        };
        if let Err(code) = keep_stored_secrets(store.as_ref(), &mut file, path).await {
            return code;
        }
        match store
            .apply_monitors(
                TeamId::DEFAULT,
                &file.monitors,
                file.prune,
                Timestamp::now(),
            )
            .await
        {
            Ok(report) => {
                tracing::info!(
                    file = %path.display(),
                    created = report.created.len(),
                    updated = report.updated.len(),
                    unchanged = report.unchanged.len(),
                    deleted = report.deleted.len(),
                    kept = report.kept.len(),
                    "applied monitors file"
                );
                let changed = alerting_file::AuditedChange {
                    action: "monitors.applied",
                    target: format!("team:{}", TeamId::DEFAULT),
                    details: serde_json::json!({
                        "created": report.created,
                        "updated": report.updated,
                        "deleted": report.deleted,
                    }),
                };
                alerting_file::record_audit(
                    &*store,
                    TeamId::DEFAULT,
                    &config_actor,
                    &[changed],
                    Timestamp::now(),
                )
                .await;
            }
            Err(error) => {
                eprintln!(
                    "error: applying {} failed, nothing was changed: {error}",
                    path.display()
                );
                return ExitCode::from(EXIT_FAILURE);
            }
        }
        match alerting_file::apply(&*store, TeamId::DEFAULT, &file, Timestamp::now()).await {
            Ok(report) => {
                tracing::info!(
                    channels_created = report.channels_created.len(),
                    channels_updated = report.channels_updated.len(),
                    rules_created = report.rules_created.len(),
                    rules_replaced = report.rules_replaced.len(),
                    "applied the file's channels and alert rules"
                );
                alerting_file::record_audit(
                    &*store,
                    TeamId::DEFAULT,
                    &config_actor,
                    &report.audit,
                    Timestamp::now(),
                )
                .await;
            }
            Err(error) => {
                eprintln!(
                    "error: applying the channels and alert rules of {} failed: {error}",
                    path.display()
                );
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    }
    let ScheduledLoad { monitors, broken } = match store.load_scheduled().await {
        Ok(load) => load,
        Err(error) => {
            eprintln!("error: cannot load monitors: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    // A monitor that cannot be read is left out, not fatal: every other monitor keeps being
    // checked, /api/health lists it, and it can be replaced or deleted through the API.
    for monitor in &broken {
        tracing::error!(
            monitor = %monitor.id,
            team = %monitor.team_id,
            name = %monitor.name,
            error = %monitor.error,
            "a stored monitor cannot be read; it is not scheduled until replaced or deleted"
        );
    }
    let listener = match tokio::net::TcpListener::bind(args.bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", args.bind);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let address = listener.local_addr().unwrap_or(args.bind);

    let metrics = install_metrics_recorder();
    let clock = Clock::system();
    // The writer rings the dispatcher after committing state changes, so an alert goes out
    // without waiting for the dispatcher's next poll.
    let alert_wake = Arc::new(tokio::sync::Notify::new());
    let (results, writer) = ResultWriter::start(
        store.clone(),
        WriterConfig {
            wake: Some(alert_wake.clone()),
            ..WriterConfig::default()
        },
    );
    let prober = Prober::new(ProberOptions {
        address_policy,
        ..ProberOptions::default()
    });
    let config = SchedulerConfig {
        max_concurrent_checks: args.max_concurrent_checks,
        max_checks_per_host: args.max_checks_per_host,
        ..SchedulerConfig::default()
    };
    let monitor_count = monitors.len();
    let (scheduler, scheduler_task) = Scheduler::start(
        config,
        clock,
        Arc::new(ProbeChecker(prober)),
        results,
        monitors,
    );
    scheduler
        .stats
        .set_broken_monitors(broken.iter().map(|monitor| monitor.id));
    let stop_chores = CancellationToken::new();
    let retention = Retention {
        raw: args.raw_retention,
        minute: args.raw_retention,
        hour: args.hourly_retention,
        day: args.daily_retention,
    };
    let chores = housekeeping::start(
        store.clone(),
        clock,
        retention,
        plan_retention(&plans),
        Duration::from_secs(60),
        stop_chores.clone(),
    );

    let link_secret = match store.link_secret().await {
        Ok(secret) => Some(secret),
        Err(error) => {
            tracing::warn!(%error, "no link secret: notifications go out without acknowledge links");
            None
        }
    };
    let stop_dispatcher = CancellationToken::new();
    // Notifications obey the same address rule as checks: a tenant's webhook must not reach the
    // instance's own network either.
    let dispatcher = dispatcher::start(
        store.clone(),
        sender.clone(),
        DispatcherConfig {
            public_url: args.public_url.as_ref().map(ToString::to_string),
            link_secret,
            wake: Some(alert_wake),
            ..DispatcherConfig::default()
        },
        stop_dispatcher.clone(),
    );
    let auth = AuthConfig {
        secure_cookies: args
            .public_url
            .as_ref()
            .is_some_and(|url| url.scheme() == "https"),
        trust_forwarded_for: args.trust_forwarded_for,
        ..AuthConfig::default()
    };
    let rate_limiter = Arc::new(
        RateLimiter::new(RateLimitConfig {
            per_api_key: args.rate_limit_per_key,
            per_session: args.rate_limit_per_session,
            per_ip: args.rate_limit_per_ip,
            per_ip_authenticated: args.rate_limit_per_ip_authenticated,
            per_ip_unknown_push_token: args.rate_limit_push_unknown_per_ip,
            trust_forwarded_for: args.trust_forwarded_for,
            ..RateLimitConfig::default()
        })
        .with_credential_check(Arc::new(StoreCredentialCheck::new(store.clone()))),
    );
    let limiter_cleanup = rate_limiter.spawn_cleanup(Duration::from_secs(60));
    let ops_counters = Arc::new(OpsCounters::default());
    let (ops_evaluation, ops_delivery) = super::ops::start(
        ops,
        sender,
        address_policy,
        address,
        store.clone(),
        ops_counters.clone(),
        writer.stats.clone(),
    );
    let state = AppState {
        store,
        scheduler: scheduler.clone(),
        writer: writer.stats.clone(),
        metrics,
        started,
        plans,
        auth: Arc::new(auth),
        rate_limiter,
        multi_tenant: args.multi_tenant,
    };
    tracing::info!(%address, monitors = monitor_count, startup_ms = started.elapsed().as_millis() as u64, "watchtower is serving on http://{address}");
    let app = watchtower_server::ops::with_counters(router(state), ops_counters)
        .into_make_service_with_connect_info::<SocketAddr>();
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
    {
        tracing::error!(%error, "HTTP server failed");
    }

    tracing::info!("shutting down: stopping checks and writing every result");
    scheduler.shutdown().await;
    drop(scheduler);
    if let Err(error) = scheduler_task.await {
        tracing::error!(%error, "scheduler stopped abnormally");
    }
    limiter_cleanup.abort();
    ops_evaluation.abort();
    if let Some(delivery) = ops_delivery {
        // The queue closed with the evaluation task; an alert still being retried gets 5 s.
        let _ = tokio::time::timeout(Duration::from_secs(5), delivery).await;
    }
    // Deliveries in flight finish; what is left stays in the outbox for the next start.
    stop_dispatcher.cancel();
    let _ = dispatcher.await;
    stop_chores.cancel();
    let _ = chores.await;
    writer.finish().await;
    tracing::info!("stopped cleanly");
    ExitCode::SUCCESS
}

/// Each plan's history retention, for the plans that have one.
fn plan_retention(plans: &PlanTable) -> Vec<(Plan, Duration)> {
    Plan::ALL
        .into_iter()
        .filter_map(|plan| {
            let days = plans.limits(plan).retention_days?;
            Some((plan, Duration::from_secs(u64::from(days) * 86_400)))
        })
        .collect()
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Puts the stored secrets back where the file sends the redaction marker (an export applied as
/// it is); each such field with nothing stored is a problem, exit 2. Lists the stored monitors
/// only when the file asks for one, so a large first start pays nothing.
async fn keep_stored_secrets(
    store: &dyn Store,
    file: &mut MonitorsFile,
    path: &std::path::Path,
) -> Result<(), ExitCode> {
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
            .map_err(|error| {
                eprintln!("error: cannot read the stored monitors: {error}");
                ExitCode::from(EXIT_FAILURE)
            })?;
        let Some(last) = listings.last() else { break };
        page.after = Some(last.monitor.id);
        stored.extend(listings.into_iter().map(|listing| listing.monitor.spec));
    }
    monitors_file::restore_secrets(&mut file.monitors, &stored).map_err(|problems| {
        for problem in &problems {
            eprintln!("{}: {problem}", path.display());
        }
        eprintln!(
            "{} problem(s) found; nothing was applied (give the secret, or a ${{NAME}} \
             reference to an environment variable that holds it)",
            problems.len()
        );
        ExitCode::from(super::EXIT_BAD_INPUT)
    })
}
