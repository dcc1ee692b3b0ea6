//! Error reports to Sentry (`serve --sentry-dsn`): every 5xx answer and every panic, with the
//! route template, the method, the status, the request id, the release and the environment.
//!
//! What is sent is built here field by field, never copied from the request: no headers (so no
//! `Authorization` or cookies), no query string, no body, no raw path (a push token is a path
//! segment), no user. `before_send` clears the request, user, breadcrumb and extra sections in
//! case a later change fills them. A panic's report carries its message and stack frames (function
//! names and source lines, no variables).
//!
//! This layer wraps the whole application, outside `request_trace`, so it reads the request id
//! from the answer's `X-Request-Id`. A panic in a handler is turned into a Sentry event by the
//! process's panic hook and kept in a task-local slot; this layer then sends it once, with the
//! request's fields, instead of a second report of the same request's 500. A panic outside any
//! request (a background task) is sent by the hook itself through the process's reporter.

use crate::middleware::request_trace::REQUEST_ID;
use crate::ops::DatabaseFailure;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use sentry::protocol::{Event, Level};
use sentry::transports::ReqwestHttpTransportOptions;
use sentry::{ClientOptions, Transport, TransportFactory, TransportOptions};
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

/// How long one delivery to Sentry may take; a slow Sentry must not hold reports forever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What `serve` is told about error reports.
#[derive(Debug, Clone)]
pub struct ErrorReportSettings {
    /// Sentry's DSN (`https://PUBLIC_KEY@HOST/PROJECT_ID`).
    pub dsn: String,
    /// The environment events are filed under (`production`, `staging`, ...).
    pub environment: String,
    /// The release events are filed under: `watchtower@VERSION+COMMIT`.
    pub release: String,
}

/// A DSN Sentry's client cannot use.
#[derive(Debug, thiserror::Error)]
#[error("not a Sentry DSN ({0}); expected https://PUBLIC_KEY@HOST/PROJECT_ID")]
pub struct InvalidDsn(String);

/// Sends error reports to one Sentry project; cheap to clone.
#[derive(Clone)]
pub struct ErrorReporter {
    client: Arc<sentry::Client>,
}

impl std::fmt::Debug for ErrorReporter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The DSN's key stays out of debug output.
        formatter
            .debug_struct("ErrorReporter")
            .finish_non_exhaustive()
    }
}

impl ErrorReporter {
    /// A reporter for `settings`; also installs the panic hook (once per process).
    pub fn new(settings: &ErrorReportSettings) -> Result<Self, InvalidDsn> {
        let dsn: sentry::types::Dsn = settings
            .dsn
            .trim()
            .parse()
            .map_err(|error: sentry::types::ParseDsnError| InvalidDsn(error.to_string()))?;
        // `ClientOptions` is non-exhaustive: set field by field on the defaults.
        let mut options = ClientOptions::default();
        options.dsn = Some(dsn);
        options.release = Some(Cow::Owned(settings.release.clone()));
        options.environment = Some(Cow::Owned(settings.environment.clone()));
        options.send_default_pii = false;
        options.max_breadcrumbs = 0;
        options.attach_stacktrace = false;
        options.default_integrations = false;
        options.before_send = Some(Arc::new(|event: Event<'static>| {
            Some(without_personal_data(event))
        }));
        options.transport = Some(Arc::new(ReqwestTransportFactory));
        options.shutdown_timeout = Duration::from_secs(2);
        install_panic_hook();
        Ok(Self {
            client: Arc::new(sentry::Client::from(options)),
        })
    }

    /// Makes this reporter the one panics outside requests (background tasks) go to. `serve` calls
    /// it once; the first call in a process wins.
    pub fn report_process_panics(&self) {
        let _ = PROCESS_REPORTER.set(self.clone());
    }

    /// Waits up to `timeout` for the reports queued so far to be sent; false if some were not.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.client.flush(Some(timeout))
    }

    fn send(&self, event: Event<'static>) {
        self.client.capture_event(event, None);
    }
}

/// Sentry's reqwest transport on a client with a deadline and without redirects (on the rustls
/// stack the rest of WatchTower uses).
struct ReqwestTransportFactory;

impl TransportFactory for ReqwestTransportFactory {
    fn create_transport_with_options(&self, options: TransportOptions) -> Arc<dyn Transport> {
        let transport = ReqwestHttpTransportOptions::from(options);
        let transport = match reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => transport.with_client(client),
            Err(error) => {
                tracing::warn!(%error, "error reports: using a client without a deadline");
                transport
            }
        };
        Arc::new(transport.build())
    }
}

/// Drops every section that could carry a person's data or a request's content.
fn without_personal_data(mut event: Event<'static>) -> Event<'static> {
    event.request = None;
    event.user = None;
    event.breadcrumbs = Default::default();
    event.extra = Default::default();
    event
}

/// Wraps the whole application (outermost, outside `request_trace`).
pub fn with_error_reports(router: Router, reporter: ErrorReporter) -> Router {
    router.layer(axum::middleware::from_fn_with_state(reporter, middleware))
}

tokio::task_local! {
    /// A panic's event, made by the hook while a request's handler unwinds.
    static REQUEST_PANIC: RefCell<Option<Event<'static>>>;
}

async fn middleware(
    State(reporter): State<ErrorReporter>,
    request: Request,
    next: Next,
) -> Response {
    // The matched template (`/api/monitors/{id}`), never the path; an Arc clone.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let (response, panic) = REQUEST_PANIC
        .scope(RefCell::new(None), async {
            let response = next.run(request).await;
            let panic = REQUEST_PANIC.with(RefCell::take);
            (response, panic)
        })
        .await;
    if response.status().is_server_error() {
        let route = route.as_ref().map_or("(unmatched)", MatchedPath::as_str);
        let event = report_for(&response, route, &method, panic);
        reporter.send(event);
    }
    response
}

/// The event for one 5xx answer: the panic's, or a message naming the route and status.
fn report_for(
    response: &Response,
    route: &str,
    method: &http::Method,
    panic: Option<Event<'static>>,
) -> Event<'static> {
    let status = response.status();
    let request_id = response
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let database_failure = response.extensions().get::<DatabaseFailure>().is_some();
    let mut event = panic.unwrap_or_else(|| Event {
        level: Level::Error,
        message: Some(format!("{method} {route} answered {}", status.as_u16())),
        ..Event::default()
    });
    // One issue per route, method and status (or per route for a panic's message).
    event.fingerprint = Cow::Owned(vec![
        Cow::Owned(route.to_owned()),
        Cow::Owned(method.to_string()),
        Cow::Owned(status.as_u16().to_string()),
        Cow::Borrowed("{{ default }}"),
    ]);
    event.transaction = Some(format!("{method} {route}"));
    let tags = [
        ("route", route.to_owned()),
        ("method", method.to_string()),
        ("status", status.as_u16().to_string()),
        ("request_id", request_id.to_owned()),
        ("database_failure", database_failure.to_string()),
    ];
    for (name, value) in tags {
        event.tags.insert(name.to_owned(), value);
    }
    event
}

static PANIC_HOOK: Once = Once::new();
static PROCESS_REPORTER: OnceLock<ErrorReporter> = OnceLock::new();

/// Puts the reporting hook in front of the current panic hook (which still runs: the panic is
/// logged as before).
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let next = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report_panic(info);
            next(info);
        }));
    });
}

fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let in_request = REQUEST_PANIC.try_with(|_| ()).is_ok();
    if !in_request && PROCESS_REPORTER.get().is_none() {
        return;
    }
    let event = sentry::integrations::panic::PanicIntegration::new().event_from_panic_info(info);
    if in_request {
        let _ = REQUEST_PANIC.try_with(|slot| *slot.borrow_mut() = Some(event));
    } else if let Some(reporter) = PROCESS_REPORTER.get() {
        reporter.send(event);
        // The process may be about to end (a panic on the main thread).
        reporter.flush(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_dsn_is_refused_with_the_reason() {
        let settings = |dsn: &str| ErrorReportSettings {
            dsn: dsn.into(),
            environment: "test".into(),
            release: "watchtower@0.1.0".into(),
        };
        for bad in [
            "",
            "not a url",
            "https://sentry.example.com/1",
            "ftp://k@h/1",
        ] {
            let error = ErrorReporter::new(&settings(bad)).expect_err(bad);
            assert!(error.to_string().contains("PUBLIC_KEY@HOST"), "{error}");
        }
        assert!(ErrorReporter::new(&settings("https://key@sentry.example.com/42")).is_ok());
    }

    #[test]
    fn personal_sections_are_dropped_before_sending() {
        let mut event = Event {
            request: Some(sentry::protocol::Request {
                cookies: Some("session=secret".into()),
                ..Default::default()
            }),
            user: Some(sentry::protocol::User {
                email: Some("someone@example.com".into()),
                ..Default::default()
            }),
            ..Event::default()
        };
        event
            .extra
            .insert("password".into(), serde_json::json!("hunter2"));
        let event = without_personal_data(event);
        assert!(event.request.is_none());
        assert!(event.user.is_none());
        assert!(event.extra.is_empty());
    }
}
