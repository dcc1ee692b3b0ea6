//! Email against a real SMTP server: Python's aiosmtpd, started as a child process on a free
//! loopback port with a small handler that saves each message to a file and refuses two
//! recipients (`reject@` permanently, `busy@` for now). Skipped, with a note, only when python3
//! or aiosmtpd is missing.

use crate::support::{down, sender};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::json;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use watchtower_alerting::ChannelConfig;

const HANDLER: &str = r#"
import os, sys, threading
from aiosmtpd.controller import Controller

class Handler:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.folder, "%d.eml" % self.count)
        with open(path + ".tmp", "wb") as file:
            file.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"

port, folder = int(sys.argv[1]), sys.argv[2]
Controller(Handler(folder), hostname="127.0.0.1", port=port).start()
threading.Event().wait()
"#;

/// The SMTP server process; killed when dropped, even when the test fails.
struct SmtpServer {
    child: Child,
    address: SocketAddr,
    folder: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts aiosmtpd, or says why it cannot and returns `None`.
    fn start() -> Option<Self> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        // CI installs aiosmtpd and sets this, so a broken install fails instead of skipping.
        if !available && std::env::var_os("WATCHTOWER_REQUIRE_SMTP_SERVER").is_some() {
            panic!("WATCHTOWER_REQUIRE_SMTP_SERVER is set but python3 cannot import aiosmtpd");
        }
        if !available {
            eprintln!(
                "SKIPPED: python3 with aiosmtpd is not available \
                 (python3 -m pip install --user aiosmtpd); the email test did not run"
            );
            return None;
        }
        let folder = tempfile::tempdir().expect("a temporary folder");
        let script = folder.path().join("smtp_server.py");
        std::fs::write(&script, HANDLER).expect("the handler script");
        let inbox = folder.path().join("inbox");
        std::fs::create_dir(&inbox).expect("the inbox folder");
        // A free port: bound, read and released for the child to take.
        let address = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port");
        let child = Command::new("python3")
            .arg(&script)
            .arg(address.port().to_string())
            .arg(&inbox)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 starts");
        let server = Self {
            child,
            address,
            folder,
        };
        for _ in 0..100 {
            if TcpStream::connect_timeout(&server.address, Duration::from_millis(200)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the SMTP server did not listen on {address} within 30 seconds");
    }

    fn inbox(&self) -> PathBuf {
        self.folder.path().join("inbox")
    }

    fn channel(&self, to: &[&str]) -> ChannelConfig {
        ChannelConfig::parse(
            &json!({
                "kind": "email",
                "host": "127.0.0.1",
                "port": self.address.port(),
                "security": "none",
                "from": "WatchTower <alerts@watchtower.example>",
                "to": to,
            }),
            "",
        )
        .expect("valid settings")
    }
}

fn saved_messages(inbox: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(inbox)
        .expect("the inbox")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| std::fs::read(path).expect("a saved message"))
        .collect()
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_as_text_and_html() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let channel = server.channel(&["ops@example.com", "Oncall <oncall@example.com>"]);

    let delivered = sender()
        .deliver(&channel, &down())
        .await
        .expect("delivered");
    assert_eq!(delivered.status_code, Some(250));
    assert!(
        delivered.detail.contains("accepted"),
        "{}",
        delivered.detail
    );

    let saved = saved_messages(&server.inbox());
    assert_eq!(saved.len(), 1);
    let message = MessageParser::default()
        .parse(&saved[0])
        .expect("a parsable message");
    assert_eq!(message.subject(), Some("[DOWN] Checkout API"));
    assert_eq!(message.message_id(), Some("n-42@watchtower.example"));
    let from = message.from().and_then(|from| from.first()).expect("From");
    assert_eq!(from.address(), Some("alerts@watchtower.example"));
    assert_eq!(from.name(), Some("WatchTower"));
    let to: Vec<&str> = message
        .to()
        .expect("To")
        .iter()
        .filter_map(|address| address.address())
        .collect();
    assert_eq!(to, ["ops@example.com", "oncall@example.com"]);

    let root = message.root_part().content_type().expect("a content type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let leaves: Vec<(String, String)> = message
        .parts
        .iter()
        .filter(|part| !part.is_multipart())
        .map(|part| {
            let content_type = part.content_type().expect("a content type");
            let text = part.text_contents().expect("text").to_owned();
            (
                format!(
                    "{}/{}",
                    content_type.ctype(),
                    content_type.subtype().unwrap_or("")
                ),
                text,
            )
        })
        .collect();
    assert_eq!(leaves.len(), 2, "{leaves:?}");
    assert_eq!(leaves[0].0, "text/plain");
    assert!(leaves[0].1.contains("Cause: status 503"), "{}", leaves[0].1);
    assert!(
        leaves[0]
            .1
            .contains("View incident: https://wt.example/incidents/3")
    );
    assert_eq!(leaves[1].0, "text/html");
    assert!(
        leaves[1].1.contains("<td>status 503</td>"),
        "{}",
        leaves[1].1
    );
    assert!(
        leaves[1]
            .1
            .contains("<a href=\"https://wt.example/ack/3?sig=abc\">Acknowledge</a>")
    );
}

#[tokio::test]
async fn a_retried_email_keeps_its_message_id_and_date() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let channel = server.channel(&["ops@example.com"]);

    sender()
        .deliver(&channel, &down())
        .await
        .expect("delivered");
    sender()
        .deliver(&channel, &down())
        .await
        .expect("delivered again");

    let saved = saved_messages(&server.inbox());
    assert_eq!(saved.len(), 2);
    let parser = MessageParser::default();
    let first = parser.parse(&saved[0]).expect("a message");
    let second = parser.parse(&saved[1]).expect("a message");
    assert_eq!(first.message_id(), second.message_id());
    assert_eq!(first.date(), second.date());
    assert_eq!(
        first.date().map(mail_parser::DateTime::to_timestamp),
        Some(crate::support::AT / 1000)
    );
}

#[tokio::test]
async fn a_permanent_smtp_refusal_is_not_retryable() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let channel = server.channel(&["reject@example.com"]);

    let error = sender().deliver(&channel, &down()).await.unwrap_err();
    assert!(!error.retryable, "{error}");
    assert_eq!(error.status_code, Some(550));
    assert!(saved_messages(&server.inbox()).is_empty());
}

#[tokio::test]
async fn a_transient_smtp_refusal_is_retryable() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let channel = server.channel(&["busy@example.com"]);

    let error = sender().deliver(&channel, &down()).await.unwrap_err();
    assert!(error.retryable, "{error}");
    assert_eq!(error.status_code, Some(451));
}
