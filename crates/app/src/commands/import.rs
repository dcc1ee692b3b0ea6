//! `watchtower import kuma FILE`: an Uptime Kuma database into a team, printing what was
//! created, what was already there, and each object that could not be mapped with why.

use super::{EXIT_BAD_INPUT, EXIT_FAILURE, open_store};
use crate::cli::KumaImportArgs;
use std::process::ExitCode;
use watchtower_core::TeamId;
use watchtower_import::kuma::{self, ImportReport, ReadError, TableLimits, Target};

pub async fn kuma(args: KumaImportArgs) -> ExitCode {
    // Every problem with the arguments at once.
    let mut problems = Vec::new();
    if !args.file.is_file() {
        problems.push(format!("{}: is not a file", args.file.display()));
    }
    if args.team < 1 {
        problems.push(format!(
            "--team: {} is not a team id (1 or more)",
            args.team
        ));
    }
    let plans = match super::load_plans(args.plans.as_deref(), false) {
        Ok(plans) => Some(plans),
        Err(_) => {
            problems.push("--plans: see above".to_owned());
            None
        }
    };
    if !problems.is_empty() {
        return bad_input(&problems);
    }
    let plans = plans.unwrap_or_default();
    let database = match kuma::read(&args.file, TableLimits::default()).await {
        Ok(database) => database,
        Err(error @ ReadError::Query { .. }) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
        Err(error) => return bad_input(&[error.to_string()]),
    };
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let team = match store.get_team(TeamId(args.team)).await {
        Ok(Some(team)) => team,
        Ok(None) => return bad_input(&[format!("--team: there is no team {}", args.team)]),
        Err(error) => {
            eprintln!("error: cannot read team {}: {error}", args.team);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let plan = kuma::plan(&database);
    let target = Target {
        store: store.as_ref(),
        team: &team,
        plans: &plans,
        dry_run: args.dry_run,
        actor_label: format!("import kuma {}", args.file.display()),
    };
    let report = match kuma::apply(&target, plan).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: the import stopped: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    println!(
        "Uptime Kuma {} database {} into team {} \"{}\"{}",
        database.version,
        args.file.display(),
        team.id,
        team.name,
        if args.dry_run {
            " (dry run: nothing was written)"
        } else {
            ""
        }
    );
    print_report(&report);
    ExitCode::SUCCESS
}

fn bad_input(problems: &[String]) -> ExitCode {
    for problem in problems {
        eprintln!("error: {problem}");
    }
    eprintln!("{} problem(s); nothing was imported", problems.len());
    ExitCode::from(EXIT_BAD_INPUT)
}

fn print_report(report: &ImportReport) {
    let sections = [
        ("monitors", &report.monitors),
        ("channels", &report.channels),
        ("alert rules", &report.rules),
        ("maintenance windows", &report.windows),
        ("status pages", &report.pages),
    ];
    for (title, applied) in sections {
        println!("{title}: {}", applied.len());
        for line in applied {
            println!(
                "  {}: {} -> {}",
                line.action.as_str(),
                line.object,
                line.watchtower
            );
        }
    }
    println!("tags: {} distinct, on the monitors above", report.tags_used);
    println!("not imported: {}", report.skipped.len());
    for skipped in &report.skipped {
        println!("  {}: {}", skipped.object, skipped.reason);
    }
    if !report.notes.is_empty() {
        println!("notes: {}", report.notes.len());
        for note in &report.notes {
            println!("  {}: {}", note.object, note.note);
        }
    }
    println!("{} object(s) new", report.created());
}
