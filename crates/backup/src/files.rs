//! The backup file on disk: reading and checking it, assembling it from a compressed payload,
//! unpacking its payload, and temporary files that are removed whatever happens. The blocking
//! I/O runs on tokio's blocking threads.

use crate::BackupError;
use crate::container::{self, Manifest};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Reads the manifest and checks the payload's length and checksum.
pub(crate) async fn read_checked(file: &Path) -> Result<Manifest, BackupError> {
    let file = file.to_path_buf();
    blocking(move || {
        let mut reader =
            BufReader::new(File::open(&file).map_err(|error| {
                BackupError::Unreadable(format!("{}: {error}", file.display()))
            })?);
        let manifest = container::read_manifest(&mut reader)?;
        container::check_payload(&mut reader, &manifest)?;
        Ok(manifest)
    })
    .await
}

/// Decompresses the payload of `file` into `out`, checking it again as it goes.
pub(crate) fn unpack_into(file: &Path, out: &mut impl Write) -> Result<Manifest, BackupError> {
    let mut reader = BufReader::new(File::open(file)?);
    let manifest = container::read_manifest(&mut reader)?;
    container::unpack_payload(&mut reader, &manifest, out)?;
    out.flush()?;
    Ok(manifest)
}

/// Decompresses the payload of `file` into a new file at `destination`.
pub(crate) async fn unpack_to(file: &Path, destination: &Path) -> Result<(), BackupError> {
    let (file, destination) = (file.to_path_buf(), destination.to_path_buf());
    blocking(move || {
        let out = File::create_new(&destination)?;
        let mut out = BufWriter::new(out);
        unpack_into(&file, &mut out)?;
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        Ok(())
    })
    .await
}

/// Compresses `raw` (an uncompressed payload file) into `compressed`.
pub(crate) async fn compress(
    raw: &Path,
    compressed: &Path,
) -> Result<container::PayloadSummary, BackupError> {
    let (raw, compressed) = (raw.to_path_buf(), compressed.to_path_buf());
    blocking(move || {
        let mut input = BufReader::new(File::open(&raw)?);
        let mut writer =
            container::PayloadWriter::new(BufWriter::new(File::create_new(&compressed)?));
        std::io::copy(&mut input, &mut writer)?;
        let (summary, out) = writer.finish()?;
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        Ok(summary)
    })
    .await
}

/// Writes the format line, the manifest and the compressed payload to `output` through a
/// temporary file beside it, synced and renamed into place.
pub(crate) async fn assemble(
    output: &Path,
    manifest: &Manifest,
    payload: &Path,
) -> Result<(), BackupError> {
    let (output, manifest, payload) = (
        output.to_path_buf(),
        manifest.clone(),
        payload.to_path_buf(),
    );
    blocking(move || {
        let partial = TempPath::beside(&output, "partial");
        let mut out = BufWriter::new(File::create_new(partial.path())?);
        container::write_manifest(&mut out, &manifest)?;
        std::io::copy(&mut File::open(&payload)?, &mut out)?;
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        std::fs::rename(partial.path(), &output)?;
        partial.forget();
        if let Some(dir) = output.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            // The rename is durable once the directory is synced (best effort off Unix).
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    })
    .await
}

/// Runs blocking file work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| BackupError::Io(std::io::Error::other(error.to_string())))?
}

/// A temporary file's path, removed when dropped (unless [`forget`](Self::forget)).
pub(crate) struct TempPath {
    path: PathBuf,
    keep: bool,
}

impl TempPath {
    /// `<file>.<what>-<random>` in the same folder as `file` (so a rename stays on one file
    /// system).
    pub(crate) fn beside(file: &Path, what: &str) -> Self {
        let mut name = file
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_else(|| "backup".into());
        name.push(format!(".{what}-{:016x}", rand::random::<u64>()));
        Self {
            path: file.with_file_name(name),
            keep: false,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the file (it was renamed into place).
    pub(crate) fn forget(mut self) {
        self.keep = true;
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
            // An SQLite file opened here may have left its journal files.
            for suffix in ["-wal", "-shm", "-journal"] {
                let mut side = self.path.clone().into_os_string();
                side.push(suffix);
                let _ = std::fs::remove_file(side);
            }
        }
    }
}
