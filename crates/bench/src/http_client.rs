//! A minimal HTTP/1.1 client (hyper) for reading watchtower's `/api/health` and `/metrics`, and the
//! keep-alive connection the push clients reuse.

use anyhow::Context;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;

/// One keep-alive HTTP/1.1 connection.
pub struct Connection {
    address: SocketAddr,
    sender: SendRequest<Empty<Bytes>>,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { address, sender })
    }

    /// GET `path`; returns the status and the body.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<(u16, Bytes)> {
        self.sender.ready().await?;
        let request = Request::get(path)
            .header(http::header::HOST, self.address.to_string())
            .body(Empty::new())?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// One GET on a new connection, within `deadline`.
pub async fn get(
    address: SocketAddr,
    path: &str,
    deadline: Duration,
) -> anyhow::Result<(u16, String)> {
    let fetch = async {
        let mut connection = Connection::open(address).await?;
        let (status, body) = connection.get(path).await?;
        anyhow::Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(deadline, fetch)
        .await
        .with_context(|| format!("GET {path} took over {deadline:?}"))?
}

/// GET a JSON document.
pub async fn get_json(address: SocketAddr, path: &str) -> anyhow::Result<serde_json::Value> {
    let (status, body) = get(address, path, Duration::from_secs(30)).await?;
    anyhow::ensure!(status == 200, "GET {path} answered {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}
