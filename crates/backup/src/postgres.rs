//! PostgreSQL backups through the client tools: `pg_dump` (plain SQL, no owners or grants) in a
//! snapshot exported by a transaction that has already counted it, so the manifest's counts are
//! exactly the dump's; `psql` (one transaction, stop on the first error) to load one. The
//! password travels in `PGPASSWORD`, never on a command line other users can read.

use crate::files::{self, TempPath};
use crate::{BackendKind, BackupError, Manifest, compare, describe, manifest_for};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use watchtower_core::Timestamp;
use watchtower_store::{ContentSummary, PgStore, ScratchDatabase, Store};

pub(crate) async fn take(
    url: &str,
    output: &Path,
    now: Timestamp,
) -> Result<Manifest, BackupError> {
    let pg_dump = tool("pg_dump")?;
    let store = PgStore::connect(url).await?;
    let mut snapshot = store.export_snapshot().await?;
    let summary = snapshot.summary().await?;
    let payload = TempPath::beside(output, "payload");
    let (dbname, password) = libpq_target(url)?;
    let args = [
        "--format=plain".to_owned(),
        "--no-owner".to_owned(),
        "--no-privileges".to_owned(),
        format!("--snapshot={}", snapshot.name()),
        format!("--dbname={dbname}"),
    ];
    let payload_path = payload.path().to_path_buf();
    let dumped = files::blocking(move || {
        let mut command = Command::new(pg_dump);
        command.args(args);
        with_password(&mut command, password.as_deref());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        // stderr is drained beside stdout so a chatty pg_dump cannot block on a full pipe.
        let errors = std::thread::spawn(move || read_bounded(&mut stderr));
        let file = std::fs::File::create_new(&payload_path)?;
        let mut writer = crate::container::PayloadWriter::new(BufWriter::new(file));
        let copied = std::io::copy(&mut stdout, &mut writer);
        let status = child.wait()?;
        let stderr = errors.join().unwrap_or_default();
        if !status.success() {
            return Err(BackupError::Tool {
                tool: "pg_dump",
                status: status.to_string(),
                stderr,
            });
        }
        copied?;
        let (summary, out) = writer.finish()?;
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        Ok(summary)
    })
    .await;
    // The snapshot must stay open until pg_dump has taken it; it is released either way.
    let released = snapshot.finish().await;
    store.close().await;
    let compressed = dumped?;
    released?;
    let manifest = manifest_for(BackendKind::Postgres, summary, compressed, now);
    files::assemble(output, &manifest, payload.path()).await?;
    Ok(manifest)
}

pub(crate) async fn verify(
    file: &Path,
    manifest: &Manifest,
    server: &str,
) -> Result<ContentSummary, BackupError> {
    let psql = tool("psql")?;
    let name = format!("watchtower_verify_{:016x}", rand::random::<u64>());
    let scratch = ScratchDatabase::create(server, &name).await?;
    let url = with_database(server, scratch.name())?;
    let checked = async {
        load(psql, file, &url).await?;
        let store = PgStore::connect(&url).await?;
        let summary = store.content_summary().await;
        store.close().await;
        let summary = summary?;
        compare(manifest, &summary)?;
        Ok::<_, BackupError>(summary)
    }
    .await;
    if let Err(error) = scratch.drop().await {
        tracing::warn!(%error, database = name, "cannot drop the scratch database");
    }
    checked
}

pub(crate) async fn restore(
    file: &Path,
    manifest: &Manifest,
    url: &str,
    force: bool,
) -> Result<(Option<String>, ContentSummary), BackupError> {
    let psql = tool("psql")?;
    let store = PgStore::connect(url).await?;
    let tables = store.table_names().await?;
    let mut replaced = None;
    if !tables.is_empty() {
        let summary = store.content_summary().await.ok();
        let held = describe(tables.len(), summary.as_ref());
        if !force {
            store.close().await;
            return Err(BackupError::NotEmpty(held));
        }
        store.drop_current_schema_objects().await?;
        replaced = Some(held);
    }
    store.close().await;
    load(psql, file, url).await?;
    let store = PgStore::connect(url).await?;
    let outcome = async {
        compare(manifest, &store.content_summary().await?)?;
        store.migrate().await?;
        Ok::<_, BackupError>(store.content_summary().await?)
    }
    .await;
    store.close().await;
    Ok((replaced, outcome?))
}

/// Loads the payload of `file` (plain SQL) into `url` with psql, in one transaction.
async fn load(psql: PathBuf, file: &Path, url: &str) -> Result<(), BackupError> {
    let (dbname, password) = libpq_target(url)?;
    let file = file.to_path_buf();
    files::blocking(move || {
        let mut command = Command::new(psql);
        command.args([
            "--no-psqlrc",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            "--single-transaction",
            "--file=-",
            &format!("--dbname={dbname}"),
        ]);
        with_password(&mut command, password.as_deref());
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stdin = BufWriter::new(child.stdin.take().expect("piped"));
        let mut stderr = child.stderr.take().expect("piped");
        let errors = std::thread::spawn(move || read_bounded(&mut stderr));
        let fed = files::unpack_into(&file, &mut stdin);
        drop(stdin);
        let status = child.wait()?;
        let stderr = errors.join().unwrap_or_default();
        if !status.success() {
            return Err(BackupError::Tool {
                tool: "psql",
                status: status.to_string(),
                stderr,
            });
        }
        fed.map(|_| ())
    })
    .await
}

/// The URL without its password, and the password (percent-decoded).
fn libpq_target(url: &str) -> Result<(String, Option<String>), BackupError> {
    let mut parsed = url::Url::parse(url)
        .map_err(|error| BackupError::InvalidUrl(format!("PostgreSQL URL: {error}")))?;
    let password = parsed.password().map(percent_decode);
    let _ = parsed.set_password(None);
    Ok((parsed.to_string(), password))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("p={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// `server_url` naming database `name` instead of its own.
fn with_database(server_url: &str, name: &str) -> Result<String, BackupError> {
    let mut parsed = url::Url::parse(server_url)
        .map_err(|error| BackupError::InvalidUrl(format!("PostgreSQL URL: {error}")))?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

fn with_password(command: &mut Command, password: Option<&str>) {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
}

/// The path of a client tool found on PATH.
fn tool(name: &'static str) -> Result<PathBuf, BackupError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or(BackupError::ToolMissing(name))
}

/// A tool's standard error, at most 4 KiB of it.
fn read_bounded(reader: &mut impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = reader.take(4096).read_to_end(&mut bytes);
    // Read the rest so the tool never blocks on a full pipe.
    let _ = std::io::copy(reader, &mut std::io::sink());
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::{libpq_target, with_database};

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let (url, password) =
            libpq_target("postgres://app:p%40ss%2Bw@db.internal:5432/wt?sslmode=require").unwrap();
        assert_eq!(url, "postgres://app@db.internal:5432/wt?sslmode=require");
        assert_eq!(password.as_deref(), Some("p@ss+w"));
        assert_eq!(
            with_database("postgres://app@db:5432/wt?sslmode=require", "scratch").unwrap(),
            "postgres://app@db:5432/scratch?sslmode=require"
        );
    }
}
