//! A built instance: what it serves on, what its handlers share, and the shutdown order that loses
//! nothing: stop accepting HTTP and let the requests in flight finish, stop the scheduler (its
//! checks in flight are written), flush the result writer and (in a cluster) release the shard
//! leases, stop the ops watch, let the dispatcher's deliveries in flight
//! finish, stop the history chores, let the Whop billing worker finish its delivery, let a backup
//! being written finish.

use crate::builder::ApplicationBuilder;
use crate::care::CareTrigger;
use crate::ops::OpsTasks;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchtower_scheduler::{ClusterHandle, SchedulerHandle, WriterHandle};
use watchtower_server::middleware::error_reports::{ErrorReporter, with_error_reports};
use watchtower_server::ops::OpsCounters;
use watchtower_server::{AppState, router};
use watchtower_store::Store;

/// One WatchTower instance, built and listening; [`run_until`](Self::run_until) serves it.
pub struct Application {
    pub(crate) listener: TcpListener,
    pub(crate) address: SocketAddr,
    pub(crate) state: AppState,
    pub(crate) monitor_count: usize,
    pub(crate) ops_counters: Arc<OpsCounters>,
    pub(crate) tasks: BackgroundTasks,
    /// The monitors file to apply again on SIGHUP (`serve --config`).
    pub(crate) monitors_file: Option<std::path::PathBuf>,
    /// Where 5xx answers and panics are reported (`serve --sentry-dsn`).
    pub(crate) error_reports: Option<ErrorReporter>,
    /// Told of each SIGHUP apply, for the database care after a large one.
    pub(crate) care_trigger: Option<CareTrigger>,
}

/// What runs beside the HTTP server, with what stops each part.
pub(crate) struct BackgroundTasks {
    pub scheduler: SchedulerHandle,
    pub scheduler_task: JoinHandle<()>,
    pub limiter_cleanup: JoinHandle<()>,
    pub ops: Option<OpsTasks>,
    pub stop_dispatcher: CancellationToken,
    pub dispatcher: JoinHandle<()>,
    /// The status page subscribers' delivery loop; stopped with the dispatcher.
    pub subscribers: JoinHandle<()>,
    /// Queues subscribers' maintenance messages; stopped with the dispatcher.
    pub announcer: JoinHandle<()>,
    pub stop_chores: CancellationToken,
    pub chores: Option<JoinHandle<()>>,
    pub stop_billing: CancellationToken,
    pub billing: Option<JoinHandle<()>>,
    pub stop_backups: CancellationToken,
    pub backups: Option<JoinHandle<()>>,
    pub stop_care: CancellationToken,
    pub care: Option<JoinHandle<()>>,
    pub writer: WriterHandle,
    /// The shard leases (`serve --cluster`): renewed until the writer's last flush, so the last
    /// results are written under them, then released for the others to take at once.
    pub cluster: Option<ClusterHandle>,
}

impl Application {
    /// Starts describing an instance on `store` (connected and migrated).
    pub fn builder(store: Arc<dyn Store>) -> ApplicationBuilder {
        ApplicationBuilder::new(store)
    }

    /// The address HTTP is served on (the port chosen when bound to port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What every handler reaches: the store, the scheduler (and its clock), the plans.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT or SIGTERM, then stops in order.
    pub async fn run(self) {
        self.run_until(shutdown_signal()).await;
    }

    /// Serves until `shutdown` completes, then stops in order; returns when everything has.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let Self {
            listener,
            address,
            state,
            monitor_count,
            ops_counters,
            tasks,
            monitors_file,
            error_reports,
            care_trigger,
        } = self;
        let started = state.started;
        // Listening before the instance answers, so SIGHUP never meets its default action.
        let reloads = monitors_file.and_then(|path| {
            crate::reload::watch_sighup(
                state.store.clone(),
                tasks.scheduler.clone(),
                state.status_pages.clone(),
                path,
                care_trigger,
            )
            .map_err(|error| tracing::error!(%error, "cannot listen for SIGHUP"))
            .ok()
        });
        tracing::info!(%address, monitors = monitor_count, startup_ms = started.elapsed().as_millis() as u64, "watchtower is serving on http://{address}");
        let mut app = watchtower_server::ops::with_counters(router(state), ops_counters);
        if let Some(reporter) = &error_reports {
            app = with_error_reports(app, reporter.clone());
        }
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "HTTP server failed");
        }
        if let Some(reloads) = reloads {
            reloads.abort();
        }
        tasks.stop().await;
        if let Some(reporter) = error_reports
            && !reporter.flush(Duration::from_secs(2))
        {
            tracing::warn!("some error reports were not sent before shutdown");
        }
    }

    /// Serves in a task of its own until [`RunningApplication::shutdown`].
    pub fn spawn(self) -> RunningApplication {
        let address = self.address;
        let state = self.state.clone();
        let stop = CancellationToken::new();
        let task = tokio::spawn(self.run_until(stop.clone().cancelled_owned()));
        RunningApplication {
            address,
            state,
            stop,
            task,
        }
    }
}

impl BackgroundTasks {
    async fn stop(self) {
        tracing::info!("shutting down: stopping checks and writing every result");
        if let Some(cluster) = &self.cluster {
            cluster.drain();
        }
        self.scheduler.shutdown().await;
        drop(self.scheduler);
        if let Err(error) = self.scheduler_task.await {
            tracing::error!(%error, "scheduler stopped abnormally");
        }
        // The scheduler held the writer's only sender: the writer now writes what is left and
        // ends. The leases go right after, before the slower stops below, so the instances that
        // take the shards over see the last results and lose as little time as possible.
        self.writer.finish().await;
        if let Some(cluster) = self.cluster {
            cluster.stop().await;
        }
        self.limiter_cleanup.abort();
        if let Some(ops) = self.ops {
            // A write in flight is rolled back whole; its alert is decided again after the
            // next start, since the episode was not opened.
            ops.evaluation.abort();
        }
        // Deliveries in flight finish; what is left stays in the outbox for the next start.
        self.stop_dispatcher.cancel();
        let _ = self.dispatcher.await;
        let _ = self.subscribers.await;
        let _ = self.announcer.await;
        self.stop_chores.cancel();
        if let Some(chores) = self.chores {
            let _ = chores.await;
        }
        // A delivery being processed finishes; the rest stays recorded for the next start.
        self.stop_billing.cancel();
        if let Some(billing) = self.billing {
            let _ = billing.await;
        }
        // Maintenance under way gets 5 s; stopped there, the database rolls the statement back.
        self.stop_care.cancel();
        if let Some(care) = self.care
            && tokio::time::timeout(Duration::from_secs(5), care)
                .await
                .is_err()
        {
            tracing::warn!("database care was still running at shutdown; it was stopped");
        }
        // A backup being written gets a minute to finish; its temporary files go either way.
        self.stop_backups.cancel();
        if let Some(backups) = self.backups {
            let _ = tokio::time::timeout(Duration::from_secs(60), backups).await;
        }
        tracing::info!("stopped cleanly");
    }
}

/// An instance serving in its own task, as tests start it.
pub struct RunningApplication {
    address: SocketAddr,
    state: AppState,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningApplication {
    /// The address HTTP is served on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What every handler reaches: the store, the scheduler (and its clock), the plans.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops the instance in order and waits until it has.
    pub async fn shutdown(self) {
        self.stop.cancel();
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the application stopped abnormally");
        }
    }
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
