//! The command line: `serve`, `check`, `status`, `migrate`, `validate`, `user`, `backup`,
//! `verify`, `restore`, `db`, `import`.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `0.1.0 (1a2b3c4d5e6f)`: the version and the commit it was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("WATCHTOWER_COMMIT"),
    ")"
);

/// WatchTower Pro: website and service monitoring and alerting.
#[derive(Debug, Parser)]
#[command(name = "watchtower", version = VERSION, about)]
pub struct Cli {
    /// Log format on standard error.
    #[arg(
        long,
        global = true,
        env = "WATCHTOWER_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the database is; shared by every command that reads or writes it.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        default_value = "sqlite://./data/watchtower.db"
    )]
    pub url: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the monitoring engine and the HTTP server.
    Serve(Box<ServeArgs>),
    /// Run one check now and print the result with its phase timings.
    /// Exit code: 0 when UP or DEGRADED, 1 when DOWN, 2 on bad input.
    Check(CheckArgs),
    /// Print each monitor's state, last check and uptime over 24 hours.
    Status(StatusArgs),
    /// Apply pending database migrations and exit.
    Migrate(MigrateArgs),
    /// Check a monitors file and list every problem with its line; exit 2 if there are any.
    Validate(ValidateArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Write a consistent, compressed backup of the database while it is in use.
    Backup(BackupArgs),
    /// Check a backup: its checksum, then a restore into a scratch database compared with its
    /// manifest. Exit code 2 when the file is damaged, truncated or does not match.
    Verify(VerifyArgs),
    /// Restore a backup into a database, then migrate it to the current schema. A database that
    /// holds tables is refused unless --force. Stop WatchTower on the target first.
    Restore(RestoreArgs),
    /// Database care: sizes and maintenance.
    #[command(subcommand)]
    Db(DbCommand),
    /// Bring monitors and their settings over from another monitoring tool.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Read an Uptime Kuma 1.23 or 2.x database (kuma.db, opened read-only) and create its
    /// monitors, notification channels, tags, maintenance windows and status pages in a team.
    /// Importing again creates nothing new. Exit code 2 lists every problem with the arguments.
    Kuma(KumaImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct KumaImportArgs {
    /// Uptime Kuma's database file (`data/kuma.db`); stop Kuma first or copy the file, so the
    /// copy is consistent.
    pub file: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The team to import into (its id; 1 is the Default team).
    #[arg(long, default_value_t = 1)]
    pub team: i64,
    /// Print what would be created and what cannot be mapped, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A YAML file of plan limits, as given to serve (the team's plan limits what is imported).
    #[arg(long, env = "WATCHTOWER_PLANS")]
    pub plans: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The backup file to write (replaced if it exists, renamed into place when complete).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The backup file.
    pub file: PathBuf,
    /// For a PostgreSQL backup: a server to restore it on (a scratch database is created there
    /// and dropped; the role needs CREATEDB). Not needed for SQLite backups.
    #[arg(long = "database", env = "DATABASE_URL")]
    pub server: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    pub file: PathBuf,
    /// The database to restore into: `sqlite://PATH` or `postgres://USER@HOST/DB`, of the
    /// backup's kind.
    #[arg(long = "database", env = "DATABASE_URL")]
    pub url: String,
    /// Replace a database that holds tables (SQLite: the file; PostgreSQL: every object in the
    /// current schema).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Size per table and index, rows, bytes per result; WAL size (SQLite), connections and
    /// long-running queries (PostgreSQL).
    Stats(DbStatsArgs),
    /// ANALYZE, VACUUM (incremental, or full when a tenth of an SQLite file is free) and
    /// PRAGMA optimize; safe while WatchTower runs.
    Maintain(DbMaintainArgs),
}

#[derive(Debug, clap::Args)]
pub struct DbStatsArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DbMaintainArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Rewrite the whole database (SQLite VACUUM, PostgreSQL VACUUM FULL) even when little is
    /// free; PostgreSQL's VACUUM FULL locks each table while it runs.
    #[arg(long)]
    pub full_vacuum: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. An administrator becomes owner of the Default team if it has none;
    /// anyone else gets a team of their own. Exit code 2 lists every problem with the input.
    Create(UserCreateArgs),
}

#[derive(Debug, clap::Args)]
pub struct UserCreateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[arg(long)]
    pub email: String,
    /// Shown in the team's member list (default: the part of the email before '@').
    #[arg(long)]
    pub name: Option<String>,
    /// The password; prefer the environment variable, which stays out of shell history.
    #[arg(long, env = "WATCHTOWER_USER_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// An instance administrator (reads security events, sets plans).
    #[arg(long)]
    pub admin: bool,
    /// A YAML file of plan limits to use instead of the canonical table (as for serve).
    #[arg(long, env = "WATCHTOWER_PLANS")]
    pub plans: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to serve HTTP on.
    #[arg(long, env = "WATCHTOWER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// A monitors file applied (in one transaction) at start-up, and again, through the same
    /// path, on SIGHUP (a file with problems is logged and changes nothing).
    #[arg(long, env = "WATCHTOWER_CONFIG")]
    pub config: Option<PathBuf>,
    /// How long raw results are kept.
    #[arg(long, env = "WATCHTOWER_RAW_RETENTION", default_value = "3d", value_parser = duration)]
    pub raw_retention: Duration,
    /// How long hourly rollups are kept.
    #[arg(long, env = "WATCHTOWER_HOURLY_RETENTION", default_value = "100d", value_parser = duration)]
    pub hourly_retention: Duration,
    /// How long daily rollups are kept.
    #[arg(long, env = "WATCHTOWER_DAILY_RETENTION", default_value = "400d", value_parser = duration)]
    pub daily_retention: Duration,
    /// Checks running at once.
    #[arg(long, env = "WATCHTOWER_MAX_CONCURRENT_CHECKS", default_value_t = 4096)]
    pub max_concurrent_checks: usize,
    /// Checks running at once against one host.
    #[arg(long, env = "WATCHTOWER_MAX_CHECKS_PER_HOST", default_value_t = 64)]
    pub max_checks_per_host: usize,
    /// Multi-tenant mode: checks may not connect to loopback, private, link-local, CGNAT or
    /// cloud-metadata addresses (applied to the address actually connected to).
    #[arg(long, env = "WATCHTOWER_MULTI_TENANT", default_value_t = false)]
    pub multi_tenant: bool,
    /// Share the monitors with every other `serve --cluster` on the same PostgreSQL database:
    /// each instance checks the monitors of the shards it holds a lease on, and takes over those
    /// of an instance that stops or dies within seconds (docs/SCALING.md). Needs PostgreSQL.
    #[arg(long, env = "WATCHTOWER_CLUSTER", default_value_t = false)]
    pub cluster: bool,
    /// An HTTP proxy for notifications (webhooks and chat services), such as
    /// `http://proxy.internal:3128`. Without it they connect directly: HTTP_PROXY and the other
    /// proxy variables are ignored. In multi-tenant mode each destination is still checked
    /// against the address rule before the request is handed to the proxy. Checks never use a
    /// proxy.
    #[arg(long, env = "WATCHTOWER_OUTBOUND_PROXY")]
    pub outbound_proxy: Option<url::Url>,
    /// A YAML file overriding plan limits and the default plan of new teams
    /// (`default_plan: unlimited`, `free: {max_monitors: 5}`, ...). Without `default_plan`, new
    /// teams start on `unlimited`, or on `free` with `--multi-tenant`.
    #[arg(long, env = "WATCHTOWER_PLANS")]
    pub plans: Option<PathBuf>,
    /// The address people reach WatchTower at. An `https://` URL makes session cookies Secure
    /// and `__Host-` prefixed.
    #[arg(long, env = "WATCHTOWER_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// Take client addresses from `X-Forwarded-For` (only behind one proxy that appends to it),
    /// for rate limits, login throttling and security events: the right-most entry, the one the
    /// proxy added; entries before it are the client's own and ignored.
    #[arg(long, env = "WATCHTOWER_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
    /// A token `/metrics` asks for as `Authorization: Bearer TOKEN` (it carries user counts and
    /// teams by plan). Without one, `/metrics` is open to whoever reaches the port: keep it
    /// behind the proxy or the firewall then.
    #[arg(long, env = "WATCHTOWER_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// API requests per minute per API key.
    #[arg(long, env = "WATCHTOWER_RATE_LIMIT_PER_KEY", default_value_t = 600)]
    pub rate_limit_per_key: u32,
    /// API requests per minute per signed-in session.
    #[arg(long, env = "WATCHTOWER_RATE_LIMIT_PER_SESSION", default_value_t = 300)]
    pub rate_limit_per_session: u32,
    /// API requests per minute per address without credentials.
    #[arg(long, env = "WATCHTOWER_RATE_LIMIT_PER_IP", default_value_t = 120)]
    pub rate_limit_per_ip: u32,
    /// API requests per minute per address with credentials (an API key or a session), counted
    /// besides the key's or session's own limit: raise it for many users behind one address.
    #[arg(
        long,
        env = "WATCHTOWER_RATE_LIMIT_PER_IP_AUTHENTICATED",
        default_value_t = 1200
    )]
    pub rate_limit_per_ip_authenticated: u32,
    /// Push pings per minute per address with a token that no monitor has; past it, every ping
    /// from that address is answered 429 (known tokens are still recorded), so tokens cannot be
    /// guessed quickly.
    #[arg(
        long,
        env = "WATCHTOWER_RATE_LIMIT_PUSH_UNKNOWN_PER_IP",
        default_value_t = 10
    )]
    pub rate_limit_push_unknown_per_ip: u32,
    /// The first administrator, created on a start with no users (with the password below).
    #[arg(long, env = "WATCHTOWER_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    #[arg(long, env = "WATCHTOWER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    #[command(flatten)]
    pub ops: OpsArgs,
    #[command(flatten)]
    pub whop: WhopArgs,
    #[command(flatten)]
    pub backups: BackupScheduleArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub care: DatabaseCareArgs,
}

/// The release error reports are filed under: `watchtower@0.1.0+1a2b3c4d5e6f` (the commit as
/// `--version` names it; left out when unknown).
pub fn release() -> String {
    let commit = env!("WATCHTOWER_COMMIT");
    if commit.contains(' ') {
        format!("watchtower@{}", env!("CARGO_PKG_VERSION"))
    } else {
        format!("watchtower@{}+{commit}", env!("CARGO_PKG_VERSION"))
    }
}

/// Where the instance reports its own errors (see the README's "Error reports and traces").
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryArgs {
    /// A Sentry DSN (`https://PUBLIC_KEY@HOST/PROJECT_ID`): every 5xx answer and every panic is
    /// reported with its route, request id, release and environment (never headers, cookies,
    /// bodies or the raw path).
    #[arg(long, env = "SENTRY_DSN", hide_env_values = true)]
    pub sentry_dsn: Option<String>,
    /// The environment Sentry files the reports under.
    #[arg(long, env = "SENTRY_ENVIRONMENT", default_value = "production")]
    pub sentry_environment: String,
    /// An OpenTelemetry collector's OTLP/HTTP base URL (`http://collector:4318`): request spans
    /// and what happens under them are sent as traces (JSON) to its `/v1/traces`. Headers for
    /// the collector come from `OTEL_EXPORTER_OTLP_HEADERS`.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// The database maintenance `serve` runs itself (the same as `watchtower db maintain`).
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseCareArgs {
    /// When the weekly maintenance window opens, as a cron pattern in UTC (the operations
    /// guide's Sunday 02:00 by default), or `off`. Instances sharing a database run it once per
    /// window; an instance started inside the window runs it then, unless another did.
    #[arg(
        long,
        env = "WATCHTOWER_DB_MAINTENANCE_WINDOW",
        default_value = "0 2 * * SUN"
    )]
    pub db_maintenance_window: String,
    /// How long the window stays open.
    #[arg(long, env = "WATCHTOWER_DB_MAINTENANCE_LENGTH", default_value = "2h", value_parser = duration)]
    pub db_maintenance_length: Duration,
    /// Also run it after a monitors-file apply (`--config` at start or on SIGHUP) that created,
    /// changed or deleted at least this many monitors; 0 never.
    #[arg(
        long,
        env = "WATCHTOWER_DB_MAINTENANCE_AFTER_APPLY",
        default_value_t = 1000
    )]
    pub db_maintenance_after_apply: usize,
}

/// Backups taken by `serve` itself (see the README's "Backups").
#[derive(Debug, Clone, clap::Args)]
pub struct BackupScheduleArgs {
    /// A folder for scheduled backups (`watchtower-YYYYMMDDTHHMMSSZ.wtbak`); the newest of each
    /// of the last 7 days, 4 weeks and 12 months is kept, other such files are deleted.
    #[arg(long, env = "WATCHTOWER_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// How often to take a backup when --backup-dir is given.
    #[arg(long, env = "WATCHTOWER_BACKUP_EVERY", default_value = "1h", value_parser = duration)]
    pub backup_every: Duration,
}

/// Selling through Whop (see the README's "Whop" section).
#[derive(Debug, Clone, clap::Args)]
pub struct WhopArgs {
    /// A Whop webhook secret (`whsec_...`); repeat it (or separate with commas in the
    /// environment) to accept the old and the new secret during a rotation. Without one,
    /// `POST /api/webhooks/whop` answers 503.
    #[arg(
        long = "whop-webhook-secret",
        env = "WATCHTOWER_WHOP_WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub whop_webhook_secrets: Vec<String>,
    /// Which Whop product or plan id grants which plan: `prod_abc=starter`; repeatable.
    #[arg(
        long = "whop-plan",
        env = "WATCHTOWER_WHOP_PLANS",
        value_delimiter = ','
    )]
    pub whop_plans: Vec<String>,
    /// A paid plan's Whop checkout link: `starter=https://whop.com/checkout/plan_...`;
    /// repeatable. The 402 answers and a team's billing view carry it with the team named.
    #[arg(
        long = "whop-checkout-link",
        env = "WATCHTOWER_WHOP_CHECKOUT_LINKS",
        value_delimiter = ','
    )]
    pub whop_checkout_links: Vec<String>,
    /// How long a membership keeps its plan after `payment.failed` without `payment.succeeded`.
    #[arg(long, env = "WATCHTOWER_WHOP_GRACE_PERIOD", default_value = "3d", value_parser = duration)]
    pub whop_grace_period: Duration,
    /// The Whop app id: turns on sign-in from the Whop frame (`x-whop-user-token`, an ES256 JWT
    /// whose audience is this id) and lets Whop's origins frame the pages.
    #[arg(long, env = "WATCHTOWER_WHOP_APP_ID")]
    pub whop_app_id: Option<String>,
    /// A PEM file with Whop's P-256 public key for frame tokens (instead of the JWKS URL).
    #[arg(long, env = "WATCHTOWER_WHOP_TOKEN_KEY")]
    pub whop_token_key: Option<std::path::PathBuf>,
    /// Where Whop publishes the keys of frame tokens; fetched again on an unknown `kid`.
    #[arg(
        long,
        env = "WATCHTOWER_WHOP_JWKS_URL",
        default_value = watchtower_billing::frame::WHOP_JWKS_URL
    )]
    pub whop_jwks_url: String,
    /// The least time between two fetches of the JWKS (a token with an unknown `kid` waits
    /// this long before the keys are fetched again).
    #[arg(long, env = "WATCHTOWER_WHOP_JWKS_REFETCH", default_value = "1m", value_parser = duration)]
    pub whop_jwks_refetch: Duration,
    /// Whop's REST API, where Whop metric monitors read memberships and payments (the sandbox is
    /// `https://sandbox-api.whop.com/api/v1`).
    #[arg(
        long,
        env = "WATCHTOWER_WHOP_API_URL",
        default_value = watchtower_checks::DEFAULT_WHOP_API,
        value_parser = http_url
    )]
    pub whop_api_url: url::Url,
}

/// An `http` or `https` URL.
fn http_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|error| error.to_string())?;
    if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
        Ok(url)
    } else {
        Err("must be an http(s) URL with a host".into())
    }
}

/// The instance's alerts about itself (see docs/ALERTING.md, "Ops alerts").
#[derive(Debug, Clone, clap::Args)]
pub struct OpsArgs {
    /// The operators' channel: a JSON or YAML file with the settings `POST /api/channels` takes
    /// (`{"kind": "slack", "webhook_url": "..."}`), or that JSON object itself. It is recorded in
    /// the database for every instance sharing it; without one there, ops alerts are only logged.
    #[arg(long, env = "WATCHTOWER_OPS_CHANNEL", hide_env_values = true)]
    pub ops_channel: Option<String>,
    /// How often the instance's signals are evaluated.
    #[arg(long, env = "WATCHTOWER_OPS_INTERVAL", default_value = "15s", value_parser = duration)]
    pub ops_interval: Duration,
    /// Replaces a threshold: `NAME=LIMIT/WINDOW`, e.g. `failed_logins=10/5m`, `error_rate=5%/5m`,
    /// `response_time=2s/5m`, `database_errors=10/1m`, `memory=80%/10m`, `backup_stale=2`
    /// (periods), `disk_nearly_full=80%`, `rate_limit_near=80%`, `database_cpu_high=70%/30m`
    /// (the defaults).
    #[arg(
        long = "ops-threshold",
        env = "WATCHTOWER_OPS_THRESHOLDS",
        value_delimiter = ','
    )]
    pub ops_thresholds: Vec<String>,
    /// Fewer `/api` requests than this in the window are not judged for error rate and response
    /// time.
    #[arg(long, env = "WATCHTOWER_OPS_MIN_REQUESTS", default_value_t = 20)]
    pub ops_min_requests: u64,
    /// How long a firing signal must stay clear before its recovery is sent.
    #[arg(long, env = "WATCHTOWER_OPS_CLEAR_AFTER", default_value = "1m", value_parser = duration)]
    pub ops_clear_after: Duration,
    /// Names this instance in ops alerts and scopes its own ops episodes, which a restart takes up
    /// again under the same name (default: the host name and the bound port).
    #[arg(long, env = "WATCHTOWER_OPS_INSTANCE")]
    pub ops_instance: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A URL (`https://…`, `tcp://host:port`, `ping://host`, `dns://name?type=MX&server=IP`,
    /// `tls://host:port`) or a monitor spec as inline YAML/JSON (`{kind: http, url: …}`).
    pub target: String,
    /// Overall deadline of the check.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub timeout: Duration,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The monitors file.
    pub file: PathBuf,
}

fn duration(text: &str) -> Result<Duration, String> {
    watchtower_core::HumanDuration::parse(text).map(watchtower_core::HumanDuration::get)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_release_names_the_version_and_a_known_commit() {
        let release = super::release();
        let version = concat!("watchtower@", env!("CARGO_PKG_VERSION"));
        assert!(release.starts_with(version), "{release}");
        assert!(
            !release.contains(' '),
            "Sentry release names have no spaces: {release}"
        );
    }
}
