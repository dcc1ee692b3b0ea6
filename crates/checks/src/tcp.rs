//! The TCP probe: connect, optionally send a line, optionally read until the expected text shows
//! up (or the peer closes, or the deadline passes).

use crate::deadline::{Deadline, Failure};
use crate::prober::Prober;
use crate::resolve;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchtower_core::monitor::TcpSettings;
use watchtower_core::{CheckOutcome, ErrorClass};

/// The most bytes read while waiting for the expected text.
const MAX_RECEIVED: usize = 64 * 1024;
/// How much of an unexpected answer is quoted in the message.
const QUOTED: usize = 200;

pub(crate) async fn probe_tcp(
    prober: &Prober,
    settings: &TcpSettings,
    deadline: &Deadline,
) -> Result<CheckOutcome, Failure> {
    let resolved = resolve::resolve(&prober.resolver, &settings.host, deadline).await?;
    let (mut stream, address, _) = resolve::connect(
        &resolved.addresses,
        settings.port,
        prober.address_policy,
        deadline,
    )
    .await?;
    if let Some(send) = &settings.send {
        deadline
            .run("sending the request", stream.write_all(send.as_bytes()))
            .await?
            .map_err(|error| {
                Failure::new(
                    ErrorClass::Connect,
                    format!("could not send to {address}: {error}"),
                )
            })?;
    }
    let received = match &settings.expect {
        Some(expected) => Some(read_until(&mut stream, expected.as_bytes(), deadline).await?),
        None => None,
    };
    let mut outcome = deadline.up();
    if let (Some(expected), Some(received)) = (&settings.expect, received) {
        outcome.size = Some(received.bytes.len() as u64);
        if !received.matched {
            let why = if received.timed_out {
                "before the timeout"
            } else {
                "before the connection closed"
            };
            outcome.fail(
                ErrorClass::TcpExpect,
                format!(
                    "expected '{expected}', received {} {why}",
                    quote(&received.bytes)
                ),
            );
        }
    }
    // A polite close; the verdict is already made.
    let _ = tokio::time::timeout(deadline.remaining(), stream.shutdown()).await;
    Ok(outcome)
}

struct Received {
    bytes: Vec<u8>,
    matched: bool,
    timed_out: bool,
}

/// Reads until `expected` appears, the peer closes, the buffer is full or the deadline passes. A
/// deadline with nothing received at all is a timeout; with something received it is a mismatch.
async fn read_until(
    stream: &mut tokio::net::TcpStream,
    expected: &[u8],
    deadline: &Deadline,
) -> Result<Received, Failure> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if contains(&bytes, expected) {
            return Ok(Received {
                bytes,
                matched: true,
                timed_out: false,
            });
        }
        if bytes.len() >= MAX_RECEIVED {
            break;
        }
        let read = match tokio::time::timeout_at(deadline.at(), stream.read(&mut chunk)).await {
            Err(_) if bytes.is_empty() => {
                let waiting_for = format!("'{}'", String::from_utf8_lossy(expected));
                return Err(deadline.timed_out(&waiting_for));
            }
            Err(_) => {
                return Ok(Received {
                    bytes,
                    matched: false,
                    timed_out: true,
                });
            }
            Ok(Err(error)) if bytes.is_empty() => {
                return Err(Failure::new(
                    ErrorClass::Connect,
                    format!("the connection failed while reading: {error}"),
                ));
            }
            Ok(Err(_) | Ok(0)) => break,
            Ok(Ok(read)) => read,
        };
        bytes.extend_from_slice(&chunk[..read]);
    }
    let matched = contains(&bytes, expected);
    Ok(Received {
        bytes,
        matched,
        timed_out: false,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// What was received, quoted for a message: escaped, and cut after `QUOTED` characters.
fn quote(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".to_owned();
    }
    let text = String::from_utf8_lossy(bytes);
    let shown: String = text.chars().take(QUOTED).collect();
    let more = if text.chars().count() > QUOTED {
        "…"
    } else {
        ""
    };
    format!("{shown:?}{more}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_escaped_and_cut() {
        assert_eq!(quote(b""), "nothing");
        assert_eq!(quote(b"PONG\r\n"), "\"PONG\\r\\n\"");
        let long = vec![b'x'; 500];
        let quoted = quote(&long);
        assert!(quoted.ends_with('…'));
        assert_eq!(quoted.chars().count(), QUOTED + 3);
    }

    #[test]
    fn finds_the_expected_bytes_anywhere() {
        assert!(contains(b"+PONG\r\n", b"PONG"));
        assert!(!contains(b"+PON", b"PONG"));
    }
}
