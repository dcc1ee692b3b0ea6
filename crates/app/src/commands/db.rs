//! `watchtower db stats` and `watchtower db maintain`: the store's figures and maintenance,
//! printed as a table or JSON.

use super::backup::bytes;
use super::{EXIT_FAILURE, open_store};
use crate::cli::{DbMaintainArgs, DbStatsArgs};
use std::process::ExitCode;
use watchtower_store::DatabaseStats;

pub async fn stats(args: DbStatsArgs) -> ExitCode {
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let stats = match store.database_stats().await {
        Ok(stats) => stats,
        Err(error) => {
            eprintln!("error: cannot read the database's statistics: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&stats).unwrap_or_default()
        );
    } else {
        print_stats(&stats);
    }
    ExitCode::SUCCESS
}

fn print_stats(stats: &DatabaseStats) {
    let mut headline = format!("database: {}, {}", stats.backend, bytes(stats.total_bytes));
    if let Some(wal) = stats.wal_bytes {
        headline.push_str(&format!(", WAL {}", bytes(wal)));
    }
    if let Some(free) = stats.free_bytes {
        headline.push_str(&format!(", free pages {}", bytes(free)));
    }
    println!("{headline}");
    match stats.bytes_per_result {
        Some(per) => println!(
            "results: {} rows, {per:.1} bytes per result (table and its indexes)",
            stats.results
        ),
        None => println!("results: none"),
    }
    if let Some(connections) = &stats.connections {
        let states: Vec<String> = connections
            .by_state
            .iter()
            .map(|(state, n)| format!("{state} {n}"))
            .collect();
        println!(
            "connections: {} of {} ({})",
            connections.total,
            connections.max,
            states.join(", ")
        );
    }
    if let Some(long) = &stats.long_running {
        if long.is_empty() {
            println!("long-running queries (over 5 minutes): none");
        } else {
            println!("long-running queries (over 5 minutes):");
            for query in long {
                println!(
                    "  pid {} {} for {:.0}s: {}",
                    query.pid, query.state, query.running_seconds, query.query
                );
            }
        }
    }
    println!();
    println!(
        "{:<40} {:<6} {:<24} {:>12} {:>12}",
        "NAME", "KIND", "TABLE", "ROWS", "SIZE"
    );
    for object in &stats.objects {
        let rows = object
            .rows
            .as_ref()
            .map_or_else(String::new, ToString::to_string);
        println!(
            "{:<40} {:<6} {:<24} {:>12} {:>12}",
            object.name,
            object.kind,
            object.table,
            rows,
            bytes(object.bytes)
        );
    }
}

pub async fn maintain(args: DbMaintainArgs) -> ExitCode {
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let report = match store.maintain(args.full_vacuum).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: maintenance failed: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    for step in &report.steps {
        let took = step.took.map_or_else(
            || "skipped".to_owned(),
            |took| format!("{:.2}s", took.as_secs_f64()),
        );
        match &step.note {
            Some(note) => println!("{:<34} {took:>8}  {note}", step.statement),
            None => println!("{:<34} {took:>8}", step.statement),
        }
    }
    println!(
        "size: {} before, {} after",
        bytes(report.bytes_before),
        bytes(report.bytes_after)
    );
    ExitCode::SUCCESS
}
