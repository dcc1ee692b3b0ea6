//! A real SMTP server for tests: Python's aiosmtpd, started as a child process on a loopback
//! port with a small handler that saves each message to a file. It refuses two recipients
//! (`reject@` permanently, `busy@` for now), and every recipient while it is made busy
//! (`set_busy`), counting the refusals, so a test can hold a delivery pending. `start` returns
//! `None`, with a note, only when python3 or aiosmtpd is missing and
//! `WATCHTOWER_REQUIRE_SMTP_SERVER` is not set.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HANDLER: &str = r#"
import os, sys, threading
from aiosmtpd.controller import Controller

class Handler:
    def __init__(self, folder, flags):
        self.folder = folder
        self.flags = flags

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@") or os.path.exists(os.path.join(self.flags, "busy")):
            refused = os.path.join(self.flags, "refused")
            with open(refused, "a") as file:
                file.write(address + "\n")
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        count = len([name for name in os.listdir(self.folder) if name.endswith(".eml")]) + 1
        path = os.path.join(self.folder, "%06d.eml" % count)
        with open(path + ".tmp", "wb") as file:
            file.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"

port, folder, flags = int(sys.argv[1]), sys.argv[2], sys.argv[3]
Controller(Handler(folder, flags), hostname="127.0.0.1", port=port).start()
threading.Event().wait()
"#;

/// The SMTP server process; killed when dropped, even when the test fails.
pub struct SmtpServer {
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
    /// Starts aiosmtpd on a free port, or says why it cannot and returns `None`.
    #[allow(
        clippy::print_stderr,
        reason = "a skipped test tells whoever runs it why"
    )]
    pub fn start() -> Option<Self> {
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
        std::fs::write(folder.path().join("smtp_server.py"), HANDLER).expect("the handler script");
        for part in ["inbox", "flags"] {
            std::fs::create_dir(folder.path().join(part)).expect("the server's folders");
        }
        // A free port: bound, read and released for the child to take.
        let address = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port");
        let child = Self::spawn(folder.path(), address);
        let server = Self {
            child,
            address,
            folder,
        };
        server.wait_listening();
        Some(server)
    }

    fn spawn(folder: &Path, address: SocketAddr) -> Child {
        Command::new("python3")
            .arg(folder.join("smtp_server.py"))
            .arg(address.port().to_string())
            .arg(folder.join("inbox"))
            .arg(folder.join("flags"))
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 starts")
    }

    fn wait_listening(&self) {
        for _ in 0..100 {
            if TcpStream::connect_timeout(&self.address, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the SMTP server did not listen on {} within 30 seconds",
            self.address
        );
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The folder each accepted message is saved in, one `.eml` file per message.
    pub fn inbox(&self) -> PathBuf {
        self.folder.path().join("inbox")
    }

    /// Every accepted message, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.inbox())
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

    /// While busy, every recipient is refused with 451 (try again later).
    pub fn set_busy(&self, busy: bool) {
        let flag = self.folder.path().join("flags").join("busy");
        if busy {
            std::fs::write(flag, b"").expect("the busy flag");
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }

    /// How many recipients were refused for now (`busy@`, or while busy).
    pub fn refusals(&self) -> usize {
        std::fs::read_to_string(self.folder.path().join("flags").join("refused"))
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }

    /// The JSON of an email channel sending through this server without TLS.
    pub fn channel_settings(&self, to: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "kind": "email",
            "host": "127.0.0.1",
            "port": self.port(),
            "security": "none",
            "from": "WatchTower <alerts@watchtower.example>",
            "to": to,
        })
    }
}
