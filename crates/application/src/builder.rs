//! `ApplicationBuilder`: the store and the settings of one instance, each with a default, and
//! `build`, which loads the monitors, binds the listener and starts every background task. A test
//! changes only what it needs (a port of 0, fast dispatcher retries, no housekeeping); what runs is
//! otherwise what `watchtower serve` runs.

use crate::backups::{self, BackupSettings};
use crate::care::{self, CareSettings};
use crate::ops::{self, OpsSettings};
use crate::run::{Application, BackgroundTasks};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use watchtower_alerting::dispatcher::{self, DispatcherConfig};
use watchtower_alerting::subscribers::{self, SubscriberDelivery};
use watchtower_alerting::{Sender, SenderOptions};
use watchtower_billing::{BillingConfig, Clock as BillingClock, Processor, WorkerConfig};
use watchtower_checks::{AddressPolicy, Prober, ProberOptions};
use watchtower_core::cluster::LeaseSettings;
use watchtower_core::{Plan, PlanTable, Timestamp};
use watchtower_scheduler::writer::WriterFence;
use watchtower_scheduler::{
    Clock, Cluster, Membership, ProbeChecker, ResultWriter, Scheduler, SchedulerConfig,
    WriterConfig, housekeeping,
};
use watchtower_server::api::billing::BillingState;
use watchtower_server::api::teams::plans::WhopPlanChanger;
use watchtower_server::auth::StoreCredentialCheck;
use watchtower_server::middleware::error_reports::ErrorReporter;
use watchtower_server::middleware::rate_limit::{RateLimitConfig, RateLimiter};
use watchtower_server::ops::OpsCounters;
use watchtower_server::web::status::cache::StatusCache;
use watchtower_server::{AppState, AuthConfig, SharedState, install_metrics_recorder};
use watchtower_store::{ClusterStore, Retention, ScheduledLoad, Store, StoreError};

/// Why an instance could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot load monitors: {0}")]
    LoadMonitors(#[source] StoreError),
    #[error("cannot listen on {address}: {error}")]
    Bind {
        address: SocketAddr,
        #[source]
        error: std::io::Error,
    },
}

/// The settings of one instance; see [`Application::builder`].
pub struct ApplicationBuilder {
    store: Arc<dyn Store>,
    bind: SocketAddr,
    started: Instant,
    plans: PlanTable,
    multi_tenant: bool,
    sender: Option<Arc<Sender>>,
    clock: Clock,
    scheduler: SchedulerConfig,
    retention: Retention,
    housekeeping: bool,
    dispatcher: DispatcherConfig,
    subscriber_delivery: SubscriberDelivery,
    auth: AuthConfig,
    rate_limits: RateLimitConfig,
    ops: Option<OpsSettings>,
    billing: BillingConfig,
    whop_api: Option<url::Url>,
    billing_clock: BillingClock,
    billing_worker: Option<WorkerConfig>,
    backups: Option<BackupSettings>,
    care: Option<CareSettings>,
    /// Monitors the start-up apply of `--config` changed, for the care after a large apply.
    applied_at_start: usize,
    monitors_file: Option<PathBuf>,
    error_reports: Option<ErrorReporter>,
    cluster: Option<Arc<dyn ClusterStore>>,
}

impl ApplicationBuilder {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            started: Instant::now(),
            plans: PlanTable::default(),
            multi_tenant: false,
            sender: None,
            clock: Clock::system(),
            scheduler: SchedulerConfig::default(),
            retention: Retention::default(),
            housekeeping: true,
            dispatcher: DispatcherConfig::default(),
            subscriber_delivery: SubscriberDelivery::default(),
            auth: AuthConfig::default(),
            rate_limits: RateLimitConfig::default(),
            ops: Some(OpsSettings::default()),
            billing: BillingConfig::default(),
            whop_api: None,
            billing_clock: BillingClock::system(),
            billing_worker: Some(WorkerConfig::default()),
            backups: None,
            care: None,
            applied_at_start: 0,
            monitors_file: None,
            error_reports: None,
            cluster: None,
        }
    }

    /// Shares the monitors with the other instances on the same PostgreSQL (`serve --cluster`):
    /// this instance checks only the monitors of the shards it holds a lease on (`docs/SCALING.md`).
    pub fn cluster(mut self, cluster: Arc<dyn ClusterStore>) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Where HTTP is served; `127.0.0.1:0` (a free port, see [`Application::address`]) unless set.
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.bind = address;
        self
    }

    /// When start-up began, for the start-up time logged and the uptime reported.
    pub fn started_at(mut self, started: Instant) -> Self {
        self.started = started;
        self
    }

    /// The plan limits in force.
    pub fn plans(mut self, plans: PlanTable) -> Self {
        self.plans = plans;
        self
    }

    /// The Whop-hosted setup: checks and notifications may reach only public addresses.
    pub fn multi_tenant(mut self, multi_tenant: bool) -> Self {
        self.multi_tenant = multi_tenant;
        self
    }

    /// What delivers notifications and ops alerts (e.g. through a proxy). Without one, a sender
    /// with the instance's address rule and no proxy.
    pub fn sender(mut self, sender: Arc<Sender>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The clock the scheduler and housekeeping read.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Concurrency limits and timing of the scheduler.
    pub fn scheduler(mut self, config: SchedulerConfig) -> Self {
        self.scheduler = config;
        self
    }

    /// How long each layer of history is kept (plans may keep less).
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// No rollups and no pruning: for tests that plant history and read it back as planted.
    pub fn without_housekeeping(mut self) -> Self {
        self.housekeeping = false;
        self
    }

    /// The dispatcher's timing and the public URL of acknowledge links. Its wake-up and link
    /// secret are the instance's own, whatever is given here.
    pub fn dispatcher(mut self, config: DispatcherConfig) -> Self {
        self.dispatcher = config;
        self
    }

    /// The status page subscribers' delivery timing (its links, secret and wake-up are the
    /// dispatcher's public URL, the store's secret and the builder's own).
    pub fn subscriber_delivery(mut self, config: SubscriberDelivery) -> Self {
        self.subscriber_delivery = config;
        self
    }

    /// How sign-in behaves (secure cookies, forwarded addresses).
    pub fn auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    /// The API's rate limits.
    pub fn rate_limits(mut self, limits: RateLimitConfig) -> Self {
        self.rate_limits = limits;
        self
    }

    /// The ops alerts' thresholds and channel; by default the defaults, only logged.
    pub fn ops_alerts(mut self, settings: OpsSettings) -> Self {
        self.ops = Some(settings);
        self
    }

    /// No ops evaluation: for tests whose deliberate failures must not raise ops alerts.
    pub fn without_ops_alerts(mut self) -> Self {
        self.ops = None;
        self
    }

    /// Whop billing: webhook secrets, product/plan mapping, checkout links, grace period.
    pub fn billing(mut self, config: BillingConfig) -> Self {
        self.billing = config;
        self
    }

    /// Where Whop metric monitors read their figures (Whop's production API by default; tests
    /// give their fake).
    pub fn whop_api(mut self, base: url::Url) -> Self {
        self.whop_api = Some(base);
        self
    }

    /// The clock Whop billing's processing reads (grace deadlines): a test moves it days ahead.
    pub fn billing_clock(mut self, clock: BillingClock) -> Self {
        self.billing_clock = clock;
        self
    }

    /// The billing worker's timing.
    pub fn billing_worker(mut self, config: WorkerConfig) -> Self {
        self.billing_worker = Some(config);
        self
    }

    /// Deliveries are recorded but not processed: for tests of what a crash after the answer
    /// leaves (another instance's worker processes them).
    pub fn without_billing_worker(mut self) -> Self {
        self.billing_worker = None;
        self
    }

    /// Scheduled database care (`care.rs`; none unless set: `serve` sets it from its flags),
    /// and how many monitors the start-up apply of the monitors file changed.
    pub fn database_care(mut self, settings: CareSettings, applied_at_start: usize) -> Self {
        self.care = Some(settings);
        self.applied_at_start = applied_at_start;
        self
    }

    /// Scheduled backups into a folder (none unless set).
    pub fn backups(mut self, settings: BackupSettings) -> Self {
        self.backups = Some(settings);
        self
    }

    /// The monitors file applied at start (by the caller, see `monitors_file::apply`), to apply
    /// again, through the same path, each time the process gets SIGHUP.
    pub fn reload_monitors_file_on_sighup(mut self, path: PathBuf) -> Self {
        self.monitors_file = Some(path);
        self
    }

    /// Reports 5xx answers and panics to Sentry (`serve --sentry-dsn`); none unless set.
    pub fn error_reports(mut self, reporter: ErrorReporter) -> Self {
        self.error_reports = Some(reporter);
        self
    }

    /// Loads the monitors, binds the listener and starts the result writer, the scheduler, the
    /// history chores, the alert dispatcher, the ops watch and the Whop billing worker. HTTP is served by
    /// [`Application::run_until`].
    pub async fn build(self) -> Result<Application, BuildError> {
        let store = self.store;
        let ScheduledLoad { monitors, broken } = store
            .load_scheduled()
            .await
            .map_err(BuildError::LoadMonitors)?;
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
        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .map_err(|error| BuildError::Bind {
                address: self.bind,
                error,
            })?;
        let address = listener.local_addr().unwrap_or(self.bind);

        let metrics = install_metrics_recorder();
        let address_policy = if self.multi_tenant {
            AddressPolicy::PublicOnly
        } else {
            AddressPolicy::AllowAll
        };
        // Notifications obey the same address rule as checks: a tenant's webhook must not reach
        // the instance's own network either.
        let sender = self.sender.unwrap_or_else(|| {
            Arc::new(Sender::new(SenderOptions {
                address_policy,
                ..SenderOptions::default()
            }))
        });
        // The writer rings the dispatcher after committing state changes, so an alert goes out
        // without waiting for the dispatcher's next poll.
        let alert_wake = Arc::new(tokio::sync::Notify::new());
        let membership = self
            .cluster
            .as_ref()
            .map(|_| Membership::new(LeaseSettings::default()));
        let fence = self
            .cluster
            .clone()
            .zip(membership.clone())
            .map(|(cluster, membership)| WriterFence {
                membership,
                cluster,
            });
        let (results, writer) = ResultWriter::start(
            store.clone(),
            WriterConfig {
                wake: Some(alert_wake.clone()),
                fence,
                ..WriterConfig::default()
            },
        );
        let defaults = ProberOptions::default();
        let prober = Prober::new(ProberOptions {
            address_policy,
            whop_api: self.whop_api.unwrap_or(defaults.whop_api.clone()),
            ..defaults
        });
        let checker = Arc::new(ProbeChecker(prober));
        let (monitor_count, (scheduler, scheduler_task), cluster) =
            match self.cluster.zip(membership) {
                // The monitors come with the shards the lease task takes.
                Some((cluster, membership)) => {
                    let started = Scheduler::start_clustered(
                        self.scheduler,
                        self.clock,
                        checker,
                        results,
                        membership.clone(),
                        cluster.clone(),
                    );
                    let tasks =
                        Cluster::start(store.clone(), cluster, membership, started.0.clone());
                    (0, started, Some(tasks))
                }
                None => (
                    monitors.len(),
                    Scheduler::start(self.scheduler, self.clock, checker, results, monitors),
                    None,
                ),
            };
        scheduler
            .stats
            .set_broken_monitors(broken.iter().map(|monitor| monitor.id));
        let stop_chores = CancellationToken::new();
        let chores = self.housekeeping.then(|| {
            housekeeping::start(
                store.clone(),
                self.clock,
                self.retention,
                plan_retention(&self.plans),
                Duration::from_secs(60),
                stop_chores.clone(),
            )
        });

        let link_secret = match store.link_secret().await {
            Ok(secret) => Some(secret),
            Err(error) => {
                tracing::warn!(%error, "no link secret: notifications go out without acknowledge links");
                None
            }
        };
        let public_url = self.dispatcher.public_url.clone();
        let stop_dispatcher = CancellationToken::new();
        // Status page subscribers' messages have their own outbox and loop, with the same links.
        let subscriber_wake = Arc::new(tokio::sync::Notify::new());
        let subscribers = subscribers::start(
            store.clone(),
            sender.clone(),
            SubscriberDelivery {
                public_url: public_url.clone(),
                link_secret: link_secret.clone(),
                wake: Some(subscriber_wake.clone()),
                ..self.subscriber_delivery
            },
            stop_dispatcher.clone(),
        );
        let dispatcher = dispatcher::start(
            store.clone(),
            sender.clone(),
            DispatcherConfig {
                link_secret,
                wake: Some(alert_wake.clone()),
                ..self.dispatcher
            },
            stop_dispatcher.clone(),
        );
        let rate_limiter = Arc::new(
            RateLimiter::new(self.rate_limits)
                .with_credential_check(Arc::new(StoreCredentialCheck::new(store.clone()))),
        );
        let limiter_cleanup = rate_limiter.spawn_cleanup(Duration::from_secs(60));
        let ops_counters = Arc::new(OpsCounters::default());
        let backup_status = self.backups.as_ref().map(|settings| {
            Arc::new(watchtower_server::backups::BackupStatus::new(
                settings.every,
            ))
        });
        let instance = ops::instance_name(
            self.ops
                .as_ref()
                .and_then(|settings| settings.instance.clone()),
            address,
        );
        let stop_care = CancellationToken::new();
        let care = self.care.map(|settings| {
            let (trigger, task) = care::start(
                store.clone(),
                settings,
                instance.clone(),
                self.clock,
                stop_care.clone(),
            );
            trigger.applied(self.applied_at_start);
            (trigger, task)
        });
        let (care_trigger, care_task) = care.unzip();
        let ops = match self.ops {
            Some(settings) => Some(
                ops::start(
                    settings,
                    instance,
                    address_policy,
                    store.clone(),
                    ops::OpsSources {
                        counters: ops_counters.clone(),
                        writer: writer.stats.clone(),
                        backups: backup_status.clone(),
                        rate_limiter: rate_limiter.clone(),
                        started: Timestamp::now().minus(self.started.elapsed()),
                        wake: alert_wake.clone(),
                    },
                )
                .await,
            ),
            None => None,
        };
        let stop_backups = CancellationToken::new();
        let backup_task = self
            .backups
            .zip(backup_status.clone())
            .map(|(settings, status)| {
                backups::start(settings, self.clock, status, stop_backups.clone())
            });
        let state = AppState::new(SharedState {
            store,
            scheduler: scheduler.clone(),
            writer: writer.stats.clone(),
            metrics,
            started: self.started,
            plans: Arc::new(self.plans),
            auth: Arc::new(self.auth),
            rate_limiter,
            multi_tenant: self.multi_tenant,
            billing: BillingState {
                frame: self
                    .billing
                    .frame
                    .clone()
                    .map(|frame| Arc::new(watchtower_billing::FrameVerifier::new(frame))),
                config: Arc::new(self.billing),
                wake: self
                    .billing_worker
                    .as_ref()
                    .map(|worker| worker.wake.clone())
                    .unwrap_or_default(),
            },
            backups: backup_status,
            status_pages: Arc::new(
                StatusCache::new(writer.stats.clone()).with_public_url(public_url),
            ),
            alert_wake,
            subscriber_wake,
            announcer_wake: Default::default(),
            ops_counters: ops_counters.clone(),
            instance_figures: Default::default(),
            activity: Default::default(),
        });
        // Maintenance beginning on a page is news for its subscribers.
        let announcer =
            watchtower_server::status_announcer::start(state.clone(), stop_dispatcher.clone());
        let stop_billing = CancellationToken::new();
        let billing = self.billing_worker.map(|worker| {
            let processor = Processor {
                store: state.store.clone(),
                config: state.billing.config.clone(),
                plans: Arc::new(WhopPlanChanger(state.clone())),
                clock: self.billing_clock,
            };
            watchtower_billing::worker::start(Arc::new(processor), worker, stop_billing.clone())
        });
        Ok(Application {
            listener,
            address,
            state,
            monitor_count,
            ops_counters,
            monitors_file: self.monitors_file,
            error_reports: self.error_reports,
            care_trigger,
            tasks: BackgroundTasks {
                scheduler,
                scheduler_task,
                limiter_cleanup,
                ops,
                stop_dispatcher,
                dispatcher,
                subscribers,
                announcer,
                stop_chores,
                chores,
                stop_billing,
                billing,
                stop_backups,
                backups: backup_task,
                stop_care,
                care: care_task,
                writer,
                cluster,
            },
        })
    }
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
