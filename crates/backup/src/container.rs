//! The backup file: a text line naming the format, a one-line JSON manifest, then the payload
//! (gzip). Everything needed to check it is in the file itself; see the README's "Backups" for
//! the layout. Reading is bounded: the manifest line is at most [`MAX_MANIFEST_BYTES`], each
//! text field at most [`MAX_TEXT`] characters, and the payload is read no further than the size
//! the manifest declares (compressed and uncompressed), so a hostile file costs at most what it
//! claims to be.

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, Read, Write};
use watchtower_store::ContentCounts;

/// The first line of every backup file, format version included.
pub const MAGIC_LINE: &[u8] = b"WATCHTOWER-BACKUP 1\n";
/// The manifest line's limit, newline included.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// The longest text field a manifest may carry (versions, names).
pub const MAX_TEXT: usize = 64;
/// The only format version this build reads and writes.
pub const FORMAT: u32 = 1;

/// Which database a backup was taken from; it restores into the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What the payload is once decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadContent {
    /// An SQLite database file (from `VACUUM INTO`).
    SqliteDatabase,
    /// A plain-SQL `pg_dump` (`--no-owner --no-privileges`), loaded with `psql`.
    PostgresSql,
}

/// How the payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadCompression {
    Gzip,
}

/// The payload's description: enough to check it before decompressing a byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadInfo {
    pub content: PayloadContent,
    pub compression: PayloadCompression,
    /// Bytes of the payload as stored (after the manifest line, to the end of the file).
    pub compressed_bytes: u64,
    /// Bytes once decompressed.
    pub uncompressed_bytes: u64,
    /// SHA-256 of the stored (compressed) payload, lowercase hex.
    pub sha256: String,
}

/// The manifest: what was backed up, when, by which version, and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// The WatchTower version that took the backup.
    pub watchtower_version: String,
    /// The highest database migration applied when it was taken.
    pub schema_version: i64,
    pub backend: BackendKind,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub counts: ContentCounts,
    pub payload: PayloadInfo,
}

/// Why a file is not a usable backup. Each message says what was found and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("not a WatchTower backup: the file does not start with {:?}", String::from_utf8_lossy(MAGIC_LINE).trim_end())]
    NotABackup,
    #[error(
        "the manifest line is missing or longer than {MAX_MANIFEST_BYTES} bytes (truncated or not a backup)"
    )]
    ManifestTooLong,
    #[error("the manifest is not valid: {0}")]
    BadManifest(String),
    #[error(
        "truncated: the manifest declares a payload of {expected} bytes, the file holds {found}"
    )]
    Truncated { expected: u64, found: u64 },
    #[error("the file has bytes after the payload the manifest declares ({expected} bytes)")]
    TrailingBytes { expected: u64 },
    #[error("corrupted: the payload's SHA-256 is {found}, the manifest says {expected}")]
    ChecksumMismatch { expected: String, found: String },
    #[error("corrupted: the payload does not decompress: {0}")]
    Decompress(String),
    #[error("corrupted: the payload decompresses to {found} bytes, the manifest says {expected}")]
    SizeMismatch { expected: u64, found: u64 },
    #[error("cannot read or write the backup: {0}")]
    Io(#[from] io::Error),
}

impl Manifest {
    /// Every problem of a parsed manifest, or none.
    fn check(&self) -> Result<(), ContainerError> {
        let mut problems = Vec::new();
        if self.format != FORMAT {
            problems.push(format!(
                "format {} (this version reads format {FORMAT})",
                self.format
            ));
        }
        for (field, text) in [
            ("watchtower_version", &self.watchtower_version),
            ("created_at", &self.created_at),
        ] {
            if text.is_empty() || text.chars().count() > MAX_TEXT {
                problems.push(format!("{field}: 1 to {MAX_TEXT} characters"));
            }
        }
        if self.created_at.parse::<jiff::Timestamp>().is_err() {
            problems.push("created_at: not an RFC 3339 time".into());
        }
        if self.schema_version < 0 {
            problems.push("schema_version: negative".into());
        }
        let expected_content = match self.backend {
            BackendKind::Sqlite => PayloadContent::SqliteDatabase,
            BackendKind::Postgres => PayloadContent::PostgresSql,
        };
        if self.payload.content != expected_content {
            problems.push("payload.content: does not match the backend".into());
        }
        let hex_ok = self.payload.sha256.len() == 64
            && self
                .payload
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            problems.push("payload.sha256: 64 lowercase hex digits".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ContainerError::BadManifest(problems.join("; ")))
        }
    }

    /// When the backup was taken.
    pub fn created_at(&self) -> Option<watchtower_core::Timestamp> {
        self.created_at
            .parse::<jiff::Timestamp>()
            .ok()
            .map(watchtower_core::Timestamp::from_jiff)
    }
}

/// Reads the format line and the manifest; `reader` is left at the payload's first byte.
pub fn read_manifest(reader: &mut impl BufRead) -> Result<Manifest, ContainerError> {
    let mut magic = Vec::with_capacity(MAGIC_LINE.len());
    reader
        .by_ref()
        .take(MAGIC_LINE.len() as u64)
        .read_to_end(&mut magic)?;
    if magic != MAGIC_LINE {
        return Err(ContainerError::NotABackup);
    }
    let mut line = Vec::new();
    reader
        .by_ref()
        .take(MAX_MANIFEST_BYTES as u64)
        .read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(ContainerError::ManifestTooLong);
    }
    line.pop();
    let manifest: Manifest = serde_json::from_slice(&line)
        .map_err(|error| ContainerError::BadManifest(error.to_string()))?;
    manifest.check()?;
    Ok(manifest)
}

/// Reads the payload to its end, checking its length and checksum against the manifest, without
/// decompressing it.
pub fn check_payload(reader: &mut impl Read, manifest: &Manifest) -> Result<(), ContainerError> {
    let mut hashing = HashingReader::new(reader.by_ref().take(manifest.payload.compressed_bytes));
    io::copy(&mut hashing, &mut io::sink())?;
    hashing.finish(manifest)
}

/// Decompresses the payload into `out`, checking its length, checksum and decompressed size.
/// Writes at most the declared uncompressed size (plus one byte to notice more).
pub fn unpack_payload(
    reader: &mut impl Read,
    manifest: &Manifest,
    out: &mut impl Write,
) -> Result<u64, ContainerError> {
    let mut hashing = HashingReader::new(reader.by_ref().take(manifest.payload.compressed_bytes));
    let expected = manifest.payload.uncompressed_bytes;
    let written = {
        let mut decoder = GzDecoder::new(&mut hashing).take(expected.saturating_add(1));
        io::copy(&mut decoder, out).map_err(|error| match error.kind() {
            io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidData
            | io::ErrorKind::UnexpectedEof => ContainerError::Decompress(error.to_string()),
            _ => ContainerError::Io(error),
        })
    };
    // The checksum and length first: a truncated or altered file is reported as such, whatever
    // the decompressor made of it.
    io::copy(&mut hashing, &mut io::sink())?;
    hashing.finish(manifest)?;
    let written = written?;
    if written != expected {
        return Err(ContainerError::SizeMismatch {
            expected,
            found: written,
        });
    }
    Ok(written)
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<io::Take<R>> {
    fn new(inner: io::Take<R>) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Compares what was read with the manifest and makes sure nothing follows the payload.
    fn finish(self, manifest: &Manifest) -> Result<(), ContainerError> {
        let expected = manifest.payload.compressed_bytes;
        if self.bytes < expected {
            return Err(ContainerError::Truncated {
                expected,
                found: self.bytes,
            });
        }
        let mut extra = [0u8; 1];
        if self.inner.into_inner().read(&mut extra)? > 0 {
            return Err(ContainerError::TrailingBytes { expected });
        }
        let found = hex::encode(self.hasher.finalize());
        if found != manifest.payload.sha256 {
            return Err(ContainerError::ChecksumMismatch {
                expected: manifest.payload.sha256.clone(),
                found,
            });
        }
        Ok(())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What compressing a payload produced.
#[derive(Debug, Clone)]
pub struct PayloadSummary {
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub sha256: String,
}

/// Compresses what is written to it into `out`, counting both sides and hashing the output.
pub struct PayloadWriter<W: Write> {
    encoder: GzEncoder<HashingWriter<W>>,
    uncompressed: u64,
}

impl<W: Write> PayloadWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            encoder: GzEncoder::new(
                HashingWriter {
                    inner: out,
                    hasher: Sha256::new(),
                    bytes: 0,
                },
                Compression::new(6),
            ),
            uncompressed: 0,
        }
    }

    /// Ends the gzip stream; returns the sizes, the checksum and the output.
    pub fn finish(self) -> io::Result<(PayloadSummary, W)> {
        let mut hashing = self.encoder.finish()?;
        hashing.inner.flush()?;
        Ok((
            PayloadSummary {
                compressed_bytes: hashing.bytes,
                uncompressed_bytes: self.uncompressed,
                sha256: hex::encode(hashing.hasher.finalize()),
            },
            hashing.inner,
        ))
    }
}

impl<W: Write> Write for PayloadWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.encoder.write(buf)?;
        self.uncompressed += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.encoder.flush()
    }
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the format line and the manifest (one line of JSON); the payload follows.
pub fn write_manifest(out: &mut impl Write, manifest: &Manifest) -> io::Result<()> {
    out.write_all(MAGIC_LINE)?;
    serde_json::to_writer(&mut *out, manifest)?;
    out.write_all(b"\n")
}
