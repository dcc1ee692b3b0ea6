//! Turns what `checks` measured into the figures of issue 5, each with its target.

use super::Snapshot;
use super::checks::ChecksArgs;
use crate::prometheus::counter_sum;
use crate::report::Figure;
use crate::sampling::{Sample, peak_sampled_rss};
use crate::target_process::StopReport;
use serde::Serialize;

const MIB: f64 = 1024.0 * 1024.0;

/// Everything measured on the first watchtower process.
#[derive(Debug, Serialize)]
pub struct Measurements {
    pub measured_for_s: f64,
    pub ready_after_ms: f64,
    pub logged_startup_ms: Option<u64>,
    pub scheduled_after_ms: Option<f64>,
    pub all_first_checks_after_ms: Option<f64>,
    /// Watchtower's CPU from spawn to serving (parsing and applying the file, loading).
    pub cpu_startup_ms: f64,
    pub cpu_window_ms: f64,
    /// The bench's CPU before watchtower started (farm start-up, writing the file).
    pub bench_cpu_setup_ms: f64,
    /// The bench's CPU during the window: the farm serving every check.
    pub bench_cpu_window_ms: f64,
    /// CPU of every `postgres` process on this machine during the window (zero on SQLite runs
    /// unless another PostgreSQL is busy).
    pub postgres_cpu_window_ms: f64,
    pub farm_checks_in_window: u64,
    pub checks_per_second: Vec<u64>,
    pub start: Snapshot,
    pub end: Snapshot,
    pub peak_rss_kernel: Option<u64>,
    pub samples: Vec<Sample>,
    pub stop: StopReport,
}

/// The second start on the same database.
#[derive(Debug, Serialize)]
pub struct RestartMeasurements {
    pub ready_after_ms: f64,
    pub all_checked_after_ms: Option<f64>,
    pub monitors_checked: usize,
    pub monitors_tracked: usize,
    pub shutdown_ms: f64,
}

/// A counter of the health report, end minus start.
fn delta(m: &Measurements, pointer: &str) -> Option<f64> {
    Some(m.end.number(pointer)? - m.start.number(pointer)?)
}

pub fn figures(
    args: &ChecksArgs,
    m: &Measurements,
    restart: Option<&RestartMeasurements>,
    stored_results: Option<i64>,
    results_bytes: Option<i64>,
    database_bytes: Option<u64>,
) -> Vec<Figure> {
    let big = args.monitors >= 50_000;
    let interval_s = args.interval.as_secs_f64();
    let scheduled = args.monitors as f64 * m.measured_for_s / interval_s;
    let done = m.farm_checks_in_window as f64;
    let completed = delta(m, "/scheduler/checks_completed");
    let mut out = vec![
        Figure::new("monitors", args.monitors as f64, ""),
        Figure::new("checks scheduled in window", scheduled.round(), "").note(format!(
            "monitors x {:.1} s / {interval_s} s",
            m.measured_for_s
        )),
        Figure::new("checks done (farm saw)", done, ""),
        Figure::new("checks completed (watchtower)", completed, ""),
        Figure::new("checks done / scheduled", 100.0 * done / scheduled, "%").at_least(
            99.9,
            if big {
                "every one (>= 99.9%)"
            } else {
                ">= 99.9%"
            },
        ),
        Figure::new(
            "checks skipped (still running)",
            delta(m, "/scheduler/checks_skipped"),
            "",
        ),
    ];
    let down = |s: &Snapshot| {
        counter_sum(
            &s.metrics_text,
            "watchtower_checks_total",
            &[("result", "down")],
        )
    };
    out.push(
        Figure::new(
            "checks DOWN in window (metrics)",
            down(&m.end) - down(&m.start),
            "",
        )
        .note("farm failures, outages and check errors"),
    );

    let lag_target = if big { 1000.0 } else { 500.0 };
    let lag_text = if big { "< 1000 ms" } else { "< 500 ms" };
    let run_lag = match (&m.end.lag, &m.start.lag) {
        (Some(end), Some(start)) => Some(end.minus(start)),
        (Some(end), None) => Some(end.clone()),
        _ => None,
    };
    let q = |q: f64| {
        run_lag
            .as_ref()
            .and_then(|h| h.quantile(q))
            .map(|s| s * 1000.0)
    };
    out.push(Figure::new("lag p50 (whole run, histogram)", q(0.5), "ms"));
    out.push(
        Figure::new("lag p99 (whole run, histogram)", q(0.99), "ms")
            .at_most(lag_target, lag_text)
            .note("interpolated inside histogram buckets (…0.25, 0.5, 1, 2.5 s)"),
    );
    if let Some(h) = &run_lag {
        out.push(Figure::new(
            "lagged checks over 1 s (whole run)",
            h.count_above(1.0),
            "",
        ));
    }
    out.push(Figure::new(
        "lag p50 (last minute)",
        m.end.number("/scheduler/lag_p50_ms"),
        "ms",
    ));
    out.push(
        Figure::new(
            "lag p99 (last minute)",
            m.end.number("/scheduler/lag_p99_ms"),
            "ms",
        )
        .at_most(lag_target, lag_text),
    );
    out.push(Figure::new(
        "lag max (last minute)",
        m.end.number("/scheduler/lag_max_ms"),
        "ms",
    ));

    let cpu_per_check = completed.filter(|&c| c > 0.0).map(|c| m.cpu_window_ms / c);
    out.push(
        Figure::new(
            "watchtower CPU per check (incl. storage)",
            cpu_per_check,
            "ms",
        )
        .at_most(0.3, "< 0.3 ms (next goal 0.15)")
        .note("= CPU seconds per 1,000 checks"),
    );
    if args.database.starts_with("postgres") {
        let server = completed
            .filter(|&c| c > 0.0)
            .map(|c| m.postgres_cpu_window_ms / c);
        out.push(
            Figure::new("PostgreSQL server CPU per check", server, "ms")
                .note("every `postgres` process on the machine, other sessions' included"),
        );
        out.push(
            Figure::new(
                "watchtower + PostgreSQL CPU per check",
                cpu_per_check.zip(server).map(|(a, b)| a + b),
                "ms",
            )
            .note("compare with the SQLite run's CPU per check (target: within 1.5x)"),
        );
    }
    out.push(Figure::new(
        "watchtower CPU use",
        100.0 * m.cpu_window_ms / (m.measured_for_s * 1000.0),
        "% of a core",
    ));
    out.push(Figure::new(
        "watchtower CPU at start-up",
        m.cpu_startup_ms,
        "ms",
    ));
    out.push(Figure::new(
        "farm CPU per check (bench process)",
        (done > 0.0).then(|| m.bench_cpu_window_ms / done),
        "ms",
    ));
    out.push(Figure::new(
        "farm CPU use",
        100.0 * m.bench_cpu_window_ms / (m.measured_for_s * 1000.0),
        "% of a core",
    ));

    let peak = m
        .peak_rss_kernel
        .unwrap_or(0)
        .max(peak_sampled_rss(&m.samples)) as f64;
    let peak_figure = Figure::new("peak RSS", peak / MIB, "MiB");
    out.push(if big {
        peak_figure.at_most(1024.0, "< 1 GB")
    } else {
        peak_figure
    });
    out.push(Figure::new(
        "RSS per 1,000 monitors",
        peak / MIB * 1000.0 / args.monitors as f64,
        "MiB",
    ));

    out.push(
        Figure::new("start-up: spawn to serving", m.ready_after_ms, "ms").note(format!(
            "watchtower logged startup_ms = {:?}",
            m.logged_startup_ms
        )),
    );
    out.push(
        Figure::new(
            "start-up: spawn to every monitor scheduled",
            m.scheduled_after_ms,
            "ms",
        )
        .at_most(5000.0, "< 5 s"),
    );
    out.push(
        Figure::new(
            "start-up: spawn to first check of every monitor",
            m.all_first_checks_after_ms,
            "ms",
        )
        .note(format!(
            "first checks are spread over one interval ({interval_s} s) by design"
        )),
    );
    out.push(
        Figure::new("shutdown (SIGTERM to exit)", m.stop.shutdown_ms, "ms").note(format!(
            "exit code {:?}{}",
            m.stop.exit_code,
            if m.stop.killed {
                ", KILLED after timeout"
            } else {
                ""
            }
        )),
    );
    if let Some(r) = restart {
        let interval_ms = interval_s * 1000.0;
        out.push(Figure::new(
            "restart: spawn to serving",
            r.ready_after_ms,
            "ms",
        ));
        out.push(
            Figure::new(
                "restart: spawn to every monitor checked again",
                r.all_checked_after_ms,
                "ms",
            )
            .at_most(interval_ms, &format!("<= 1 interval ({interval_ms:.0} ms)"))
            .note(format!(
                "{} of {} monitors checked again; serving to all checked: {:.0} ms",
                r.monitors_checked,
                r.monitors_tracked,
                r.all_checked_after_ms.unwrap_or(f64::NAN) - r.ready_after_ms
            )),
        );
        out.push(Figure::new("restart: shutdown", r.shutdown_ms, "ms"));
    }

    out.push(Figure::new(
        "results written (writer)",
        m.end.number("/writer/written_results"),
        "",
    ));
    out.push(Figure::new(
        "results dropped (writer)",
        m.end.number("/writer/dropped_results"),
        "",
    ));
    out.push(Figure::new(
        "results stored (rows after both runs)",
        stored_results.map(|n| n as f64),
        "",
    ));
    let per_result = |bytes: Option<f64>| match (bytes, stored_results) {
        (Some(bytes), Some(rows)) if rows > 0 => Some(bytes / rows as f64),
        _ => None,
    };
    out.push(
        Figure::new(
            "bytes per stored result (results table)",
            per_result(results_bytes.map(|b| b as f64)),
            "B",
        )
        .at_most(40.0, "<= 40 B"),
    );
    out.push(
        Figure::new(
            "bytes per stored result (whole database)",
            per_result(database_bytes.map(|b| b as f64)),
            "B",
        )
        .note("includes monitors, status and rollups"),
    );
    out.push(Figure::new(
        "database size",
        database_bytes.map(|b| b as f64 / MIB),
        "MiB",
    ));
    out
}
