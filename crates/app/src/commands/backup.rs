//! `watchtower backup`, `verify` and `restore`: flags in, one call to `watchtower-backup`, a
//! summary or the error out (exit code 2 for a file or request that cannot work, 1 for a failure
//! of the database or a tool).

use super::{EXIT_BAD_INPUT, EXIT_FAILURE, redact};
use crate::cli::{BackupArgs, RestoreArgs, VerifyArgs};
use std::process::ExitCode;
use std::time::Instant;
use watchtower_backup::{BackupError, Manifest};
use watchtower_core::Timestamp;
use watchtower_store::ContentCounts;

pub async fn backup(args: BackupArgs) -> ExitCode {
    let started = Instant::now();
    match watchtower_backup::take_backup(&args.database.url, &args.output, Timestamp::now()).await {
        Ok(manifest) => {
            let payload = &manifest.payload;
            println!(
                "backup written to {} ({} database, schema {}): {}",
                args.output.display(),
                manifest.backend.name(),
                manifest.schema_version,
                counts(&manifest.counts)
            );
            println!(
                "{} compressed from {} in {:.1}s; sha256 {}",
                bytes(payload.compressed_bytes),
                bytes(payload.uncompressed_bytes),
                started.elapsed().as_secs_f64(),
                payload.sha256
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(
            &format!("cannot back up {}", redact(&args.database.url)),
            &error,
        ),
    }
}

pub async fn verify(args: VerifyArgs) -> ExitCode {
    match watchtower_backup::verify(&args.file, args.server.as_deref()).await {
        Ok(report) => {
            println!(
                "{}: ok: {}; the restored copy holds {}, as the manifest says",
                args.file.display(),
                describe(&report.manifest),
                counts(&report.restored.counts)
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(&args.file.display().to_string(), &error),
    }
}

pub async fn restore(args: RestoreArgs) -> ExitCode {
    match watchtower_backup::restore(&args.file, &args.url, args.force).await {
        Ok(report) => {
            if let Some(replaced) = &report.replaced {
                println!("replaced what {} held: {replaced}", redact(&args.url));
            }
            println!(
                "restored {} into {}: {}",
                describe(&report.manifest),
                redact(&args.url),
                counts(&report.after.counts)
            );
            println!(
                "the database is at schema {} (migrated as on start-up)",
                report.after.schema_version
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(&format!("cannot restore {}", args.file.display()), &error),
    }
}

fn fail(context: &str, error: &BackupError) -> ExitCode {
    eprintln!("error: {context}: {error}");
    ExitCode::from(if error.is_bad_input() {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    })
}

fn describe(manifest: &Manifest) -> String {
    format!(
        "{} backup taken {} by WatchTower {}, schema {}",
        manifest.backend.name(),
        manifest.created_at,
        manifest.watchtower_version,
        manifest.schema_version
    )
}

fn counts(counts: &ContentCounts) -> String {
    format!(
        "{} teams, {} users, {} monitors, {} incidents, {} results",
        counts.teams, counts.users, counts.monitors, counts.incidents, counts.results
    )
}

/// Bytes in binary units with one decimal.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
