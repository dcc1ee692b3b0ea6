//! `watchtower status`: each monitor's state, last check and 24-hour uptime, read from the
//! database (works while `serve` runs).

use super::{EXIT_FAILURE, open_store};
use crate::cli::StatusArgs;
use serde::Serialize;
use std::process::ExitCode;
use std::time::Duration;
use watchtower_core::{TeamId, Timestamp};
use watchtower_store::PageRequest;

#[derive(Serialize)]
struct Row {
    id: i64,
    key: Option<String>,
    name: String,
    kind: &'static str,
    state: String,
    since: Timestamp,
    last_checked_at: Option<Timestamp>,
    uptime_24h: Option<f64>,
}

pub async fn run(args: StatusArgs) -> ExitCode {
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let now = Timestamp::now();
    let day_ago = now.minus(Duration::from_secs(86_400));
    let mut rows = Vec::new();
    let mut page = PageRequest {
        after: None,
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let listings = match store.list_monitors(TeamId::DEFAULT, &page).await {
            Ok(listings) => listings,
            Err(error) => {
                eprintln!("error: cannot list monitors: {error}");
                return ExitCode::from(EXIT_FAILURE);
            }
        };
        let Some(last) = listings.last() else { break };
        page.after = Some(last.monitor.id);
        for listing in &listings {
            let uptime = match store
                .uptime(TeamId::DEFAULT, listing.monitor.id, day_ago, now)
                .await
            {
                Ok(summary) => summary.uptime,
                Err(error) => {
                    eprintln!(
                        "error: cannot read uptime of monitor {}: {error}",
                        listing.monitor.id
                    );
                    return ExitCode::from(EXIT_FAILURE);
                }
            };
            rows.push(Row {
                id: listing.monitor.id.0,
                key: listing.monitor.spec.key.as_ref().map(ToString::to_string),
                name: listing.monitor.spec.name.clone(),
                kind: listing.monitor.spec.kind.name(),
                state: listing.state.to_string(),
                since: listing.state_since,
                last_checked_at: listing.last_checked_at,
                uptime_24h: uptime,
            });
        }
        if listings.len() < page.limit as usize {
            break;
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
    } else {
        print_table(&rows, now);
    }
    ExitCode::SUCCESS
}

fn print_table(rows: &[Row], now: Timestamp) {
    println!(
        "{:<6} {:<24} {:<6} {:<12} {:<14} {:>10}",
        "ID", "NAME", "KIND", "STATE", "LAST CHECK", "UPTIME 24H"
    );
    for row in rows {
        let name: String = row.name.chars().take(24).collect();
        let last = row
            .last_checked_at
            .map(|at| format!("{}s ago", now.since(at).as_secs()))
            .unwrap_or_else(|| "never".into());
        let uptime = row
            .uptime_24h
            .map(|u| format!("{:.3}%", u * 100.0))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<6} {:<24} {:<6} {:<12} {:<14} {:>10}",
            row.id, name, row.kind, row.state, last, uptime
        );
    }
    if rows.is_empty() {
        println!("(no monitors)");
    }
}
