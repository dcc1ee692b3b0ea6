//! The farm's listeners: HTTP/1.1 (optionally over TLS) answering `/m/<index>` and `/webhook`, and
//! raw TCP that accepts and closes. Every accept loop ends at the farm's deadline.

use super::FarmState;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpSocket};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// Bytes of a webhook body read at most.
const MAX_WEBHOOK_BODY: usize = 64 * 1024;

/// Binds a listener with a deep backlog (bursts of 1,000 connections per second arrive at once).
pub(super) async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(address).map_err(|error| {
        anyhow::anyhow!("the farm cannot listen on {address}: {error}; pick another --base-port")
    })?;
    Ok(socket.listen(4096)?)
}

/// Serves HTTP/1.1 with keep-alive, over TLS when an acceptor is given, until `deadline`.
pub(super) async fn serve_http(
    listener: TcpListener,
    state: Arc<FarmState>,
    tls: Option<TlsAcceptor>,
    deadline: Instant,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = tokio::time::sleep_until(deadline) => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let serve = async {
                let service = service_fn(move |request| handle(request, state.clone()));
                let builder = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            };
            let _ = tokio::time::timeout_at(deadline, serve).await;
        });
    }
}

/// Accepts TCP connections, counts them and closes them, until `deadline`.
pub(super) async fn serve_tcp(listener: TcpListener, state: Arc<FarmState>, deadline: Instant) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = tokio::time::sleep_until(deadline) => return,
        };
        if accepted.is_ok() {
            state.record_tcp();
        }
    }
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<FarmState>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    if let Some(index) = path.strip_prefix("/m/") {
        let Ok(index) = index.parse::<usize>() else {
            state.record_unknown();
            return Ok(answer(StatusCode::NOT_FOUND, "no such monitor\n"));
        };
        if !state.record_hit(index) {
            return Ok(answer(StatusCode::NOT_FOUND, "no such monitor\n"));
        }
        let delay = state.latency().sample();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        return Ok(if state.should_fail(index) {
            answer(StatusCode::SERVICE_UNAVAILABLE, "scripted failure\n")
        } else {
            answer(StatusCode::OK, "ok\n")
        });
    }
    if path == "/webhook" {
        let body = Limited::new(request.into_body(), MAX_WEBHOOK_BODY)
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_default();
        state.record_webhook(&body);
        return Ok(answer(StatusCode::OK, "received\n"));
    }
    state.record_unknown();
    Ok(answer(StatusCode::NOT_FOUND, "not found\n"))
}

fn answer(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
