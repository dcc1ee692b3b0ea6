//! The HTTP(S) probe: one request per hop on a fresh connection with every phase timed (DNS,
//! connect, TLS, first byte, download), redirects followed up to the monitor's limit, and the
//! final response judged by the monitor's assertions.

mod connection;
mod request;

use crate::assertions::{self, Body, ExpiryWarning};
use crate::deadline::{Deadline, Failure};
use crate::prober::Prober;
use connection::{Connection, Hop, ReadBody};
use http::{StatusCode, header};
use request::Target;
use std::collections::HashSet;
use watchtower_core::monitor::HttpSettings;
use watchtower_core::{CheckOutcome, ErrorClass, Timestamp};

/// The final response of a check.
struct Final {
    body: ReadBody,
}

/// Runs the check. Phases and the certificate are those of the last hop; latency is the whole
/// check, redirects included.
pub(crate) async fn probe_http(
    prober: &Prober,
    settings: &HttpSettings,
    deadline: &Deadline,
) -> CheckOutcome {
    let mut hop = Hop::default();
    let mut status = None;
    let result = follow(prober, settings, deadline, &mut hop, &mut status).await;
    let mut outcome = match &result {
        Ok(_) => deadline.up(),
        Err(failure) => deadline.down(failure.clone()),
    };
    outcome.phases = Some(hop.phases);
    outcome.http_status = status;
    outcome.certificate = hop.certificate;
    if let Ok(response) = result {
        outcome.size = Some(response.body.bytes.len() as u64);
        let json_path = match &settings.json_path {
            Some(rule) => {
                assertions::json_path_within(rule, body_of(prober, &response), deadline).await
            }
            None => Ok(()),
        };
        judge(
            prober,
            settings,
            status.unwrap_or_default(),
            &response,
            json_path,
            &mut outcome,
        );
    }
    outcome
}

/// Sends the request and follows redirects; the final response's body is read, a redirect's
/// never is.
async fn follow(
    prober: &Prober,
    settings: &HttpSettings,
    deadline: &Deadline,
    hop: &mut Hop,
    status: &mut Option<u16>,
) -> Result<Final, Failure> {
    let mut target = Target::first(settings)?;
    let mut visited = HashSet::from([(target.method.clone(), target.url.to_string())]);
    let mut redirects = 0;
    loop {
        *hop = Hop::default();
        let mut connection =
            Connection::open(prober, &target.url, settings.verify_tls, deadline, hop).await?;
        let request = target.request(settings, &prober.user_agent, connection.is_h2())?;
        let response = connection.send(request, deadline, hop).await?;
        *status = Some(response.status().as_u16());
        let location = response.headers().get(header::LOCATION);
        if let (true, true, Some(location)) = (
            settings.follow_redirects,
            is_redirect(response.status()),
            location,
        ) {
            if redirects >= settings.max_redirects {
                return Err(Failure::new(
                    ErrorClass::Protocol,
                    format!(
                        "too many redirects: more than {} (last from {})",
                        settings.max_redirects, target.url
                    ),
                ));
            }
            let next = target.redirected(response.status(), location, &settings.url)?;
            if !visited.insert((next.method.clone(), next.url.to_string())) {
                return Err(Failure::new(
                    ErrorClass::Protocol,
                    format!(
                        "redirect loop: {} redirects back to {}",
                        target.url, next.url
                    ),
                ));
            }
            redirects += 1;
            target = next;
            continue;
        }
        let body = connection::read_body(response, prober.max_body_bytes, deadline, hop).await?;
        return Ok(Final { body });
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

/// The final response's body with where it was cut, if it was.
fn body_of<'a>(prober: &Prober, response: &'a Final) -> Body<'a> {
    Body {
        bytes: &response.body.bytes,
        truncated_at: response.body.truncated.then_some(prober.max_body_bytes),
    }
}

/// Applies the assertions: status, keyword, regex and JSONPath (its verdict reached off the
/// async workers) fail the check; a slow response or a certificate close to expiry degrades it.
fn judge(
    prober: &Prober,
    settings: &HttpSettings,
    status: u16,
    response: &Final,
    json_path: Result<(), Failure>,
    outcome: &mut CheckOutcome,
) {
    let body = body_of(prober, response);
    let failures = [
        assertions::status(&settings.accepted_status, status),
        settings
            .keyword
            .as_ref()
            .map_or(Ok(()), |rule| assertions::keyword(rule, body)),
        settings
            .regex
            .as_ref()
            .map_or(Ok(()), |rule| assertions::regex(rule, body)),
        json_path,
    ];
    for failure in failures.into_iter().filter_map(Result::err) {
        outcome.fail(failure.class, failure.message);
    }
    if let Some(limit) = settings.degraded_after
        && let Err(slow) = assertions::response_time(limit.get(), outcome.latency)
    {
        outcome.degrade(slow.class, slow.message);
    }
    // Verification, when on, already failed the handshake for an expired certificate it relied
    // on; what is left is an unused chain certificate or `verify_tls: false`: a warning.
    if let Some(certificate) = &outcome.certificate
        && let Some(ExpiryWarning::Expired(message) | ExpiryWarning::ExpiresSoon(message)) =
            assertions::certificate_expiry(
                certificate,
                settings.cert_expiry_warn_days,
                Timestamp::now(),
            )
    {
        outcome.degrade(ErrorClass::CertificateExpiry, message);
    }
}
