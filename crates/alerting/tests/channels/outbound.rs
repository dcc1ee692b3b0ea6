//! Where notifications may connect: SMTP hosts resolved and judged by the address rule (every
//! numeric spelling of loopback included), SMTP errors that do not repeat the server's words,
//! proxy variables ignored, and an operator's proxy handed only destinations the rule allows.
//! Every server here is a real listener on loopback that counts its connections.

use crate::support::{Answer, Receiver, down};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use watchtower_alerting::{ChannelConfig, Sender, SenderOptions};
use watchtower_checks::AddressPolicy;

/// Just enough SMTP for lettre (greeting, EHLO, MAIL, RCPT, DATA, QUIT) on 127.0.0.1, counting
/// connections and accepted messages.
struct FakeSmtp {
    port: u16,
    connections: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeSmtp {
    /// `greeting` is sent first (a full line with CRLF); RCPT is answered with `rcpt_reply`.
    async fn start(greeting: &'static str, rcpt_reply: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (counted, delivered) = (connections.clone(), accepted.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let delivered = delivered.clone();
                tokio::spawn(async move {
                    let _ = converse(stream, greeting, rcpt_reply, &delivered).await;
                });
            }
        });
        Self {
            port,
            connections,
            accepted,
            server,
        }
    }

    fn channel(&self, host: &str) -> ChannelConfig {
        ChannelConfig::parse(
            &json!({
                "kind": "email",
                "host": host,
                "port": self.port,
                "security": "none",
                "from": "WatchTower <alerts@watchtower.example>",
                "to": ["ops@example.com"],
            }),
            "",
        )
        .expect("valid settings")
    }
}

async fn converse(
    stream: tokio::net::TcpStream,
    greeting: &str,
    rcpt_reply: &str,
    accepted: &AtomicUsize,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(greeting.as_bytes()).await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply = match command.as_str() {
            "EHLO" | "HELO" => "250 fake.smtp.test\r\n",
            "MAIL" | "RSET" | "NOOP" => "250 OK\r\n",
            "RCPT" => rcpt_reply,
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 || line == ".\r\n" {
                        break;
                    }
                }
                accepted.fetch_add(1, Ordering::SeqCst);
                "250 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 unknown command\r\n",
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

fn sender(policy: AddressPolicy, proxy: Option<&str>) -> Sender {
    Sender::new(SenderOptions {
        timeout: Duration::from_secs(5),
        address_policy: policy,
        proxy: proxy.map(|url| url.parse().expect("a proxy URL")),
        ..SenderOptions::default()
    })
}

#[tokio::test]
async fn every_spelling_of_an_internal_smtp_host_is_refused_in_multi_tenant_mode() {
    let server = FakeSmtp::start("220 fake.smtp.test ESMTP\r\n", "250 OK\r\n").await;
    let public_only = sender(AddressPolicy::PublicOnly, None);
    for host in [
        "localhost",
        "127.1",
        "2130706433",
        "0x7f000001",
        "127.0.0.1",
        "0177.0.0.1",
    ] {
        let error = public_only
            .deliver(&server.channel(host), &down())
            .await
            .expect_err(host);
        assert!(!error.retryable, "{host}: {error}");
        assert!(error.message.contains("not allowed"), "{host}: {error}");
    }
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        0,
        "nothing may connect"
    );
}

#[tokio::test]
async fn a_self_hosted_smtp_host_name_is_resolved_and_delivered_to() {
    let server = FakeSmtp::start("220 fake.smtp.test ESMTP\r\n", "250 OK\r\n").await;
    let delivered = sender(AddressPolicy::AllowAll, None)
        .deliver(&server.channel("localhost"), &down())
        .await
        .expect("delivered");
    assert_eq!(delivered.status_code, Some(250));
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn smtp_errors_do_not_repeat_what_the_server_said() {
    let refusing = FakeSmtp::start(
        "220 db-primary.corp.internal ESMTP secret-banner\r\n",
        "550 5.1.1 secret-reply: mailbox db-primary unknown\r\n",
    )
    .await;
    let error = sender(AddressPolicy::AllowAll, None)
        .deliver(&refusing.channel("127.0.0.1"), &down())
        .await
        .expect_err("refused");
    assert_eq!(error.status_code, Some(550));
    assert!(!error.retryable, "{error}");
    for leak in ["secret", "db-primary"] {
        assert!(!error.message.contains(leak), "{error}");
    }

    // Another protocol on the port: its greeting is not shown either.
    let not_smtp = FakeSmtp::start("SSH-2.0-OpenSSH_9.6 secret-build\r\n", "250 OK\r\n").await;
    let error = sender(AddressPolicy::AllowAll, None)
        .deliver(&not_smtp.channel("127.0.0.1"), &down())
        .await
        .expect_err("not SMTP");
    for leak in ["secret", "OpenSSH"] {
        assert!(!error.message.contains(leak), "{error}");
    }
}

/// A stand-in HTTP proxy on loopback: records each request line and answers 200.
struct RecordingProxy {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    server: JoinHandle<()>,
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RecordingProxy {
    async fn start(host: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!(
            "http://{host}:{}",
            listener.local_addr().expect("an address").port()
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                let mut head = Vec::new();
                let mut line = String::new();
                while lines.read_line(&mut line).await.unwrap_or(0) > 0 && line != "\r\n" {
                    head.push(line.trim_end().to_owned());
                    line.clear();
                }
                recorded
                    .lock()
                    .expect("the lock")
                    .push(head.first().cloned().unwrap_or_default());
                let _ = write
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        Self {
            url,
            requests,
            server,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("the lock").clone()
    }
}

fn webhook(url: &str) -> ChannelConfig {
    ChannelConfig::parse(&json!({"kind": "webhook", "url": url}), "").expect("valid settings")
}

#[tokio::test]
async fn an_operators_proxy_is_handed_only_destinations_the_rule_allows() {
    let proxy = RecordingProxy::start("localhost").await;
    let public_only = sender(AddressPolicy::PublicOnly, Some(&proxy.url));
    for url in [
        "http://localhost:9/hook",
        "http://127.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
    ] {
        let error = public_only
            .deliver(&webhook(url), &down())
            .await
            .expect_err(url);
        assert!(error.message.contains("not allowed"), "{url}: {error}");
    }
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "the proxy saw nothing"
    );

    // A public destination goes through the proxy (which answers for it here: no internet
    // needed), and the proxy's own loopback name is the operator's choice, not judged.
    public_only
        .deliver(&webhook("http://93.184.216.34/hook"), &down())
        .await
        .expect("delivered through the proxy");
    assert_eq!(
        proxy.requests(),
        vec!["POST http://93.184.216.34/hook HTTP/1.1".to_owned()]
    );
}

/// The variable that tells the child run of the test binary who it is.
const PROXY_CHILD: &str = "WATCHTOWER_TEST_PROXY_CHILD";

/// Proxy variables can only be set before the process starts (setting them in a running,
/// threaded test is unsound), so this runs `proxy_variables_child` in a child process of the
/// test binary with every proxy variable pointing at a recording proxy.
#[tokio::test]
async fn proxy_variables_do_not_bypass_the_address_rule() {
    let proxy = RecordingProxy::start("127.0.0.1").await;
    let binary = std::env::current_exe().expect("the test binary");
    let mut child = tokio::process::Command::new(binary);
    child
        .args([
            "--exact",
            "outbound::proxy_variables_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env(PROXY_CHILD, "1")
        .kill_on_drop(true);
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        child.env(name, &proxy.url);
    }
    child.env_remove("NO_PROXY").env_remove("no_proxy");
    let output = tokio::time::timeout(Duration::from_secs(120), child.output())
        .await
        .expect("the child run ends")
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child run failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "the proxy saw nothing"
    );
}

#[tokio::test]
#[ignore = "run by proxy_variables_do_not_bypass_the_address_rule with the proxy variables set"]
async fn proxy_variables_child() {
    assert!(
        std::env::var_os(PROXY_CHILD).is_some() && std::env::var_os("HTTP_PROXY").is_some(),
        "run only by proxy_variables_do_not_bypass_the_address_rule"
    );
    let receiver = Receiver::start("/hook", Answer::status(200, "ok")).await;
    let port = receiver.base.rsplit(':').next().expect("a port").to_owned();
    let by_name = webhook(&format!("http://localhost:{port}/hook"));
    let error = sender(AddressPolicy::PublicOnly, None)
        .deliver(&by_name, &down())
        .await
        .expect_err("refused");
    assert!(error.message.contains("not allowed"), "{error}");
    // Self-hosted, the webhook goes straight to the receiver, not to the proxy.
    sender(AddressPolicy::AllowAll, None)
        .deliver(&by_name, &down())
        .await
        .expect("delivered directly");
    assert_eq!(receiver.requests().len(), 1);
}
