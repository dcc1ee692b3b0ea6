//! Kuma maintenance windows as WatchTower windows. Since 1.21 Kuma keeps every recurring
//! strategy as a cron expression with a duration in seconds, which is WatchTower's recurring
//! window; a single window is a start and end in its time zone; manual windows (switched on and
//! off by hand) and every-N-days intervals have no WatchTower equivalent.

use super::monitors::{Unmapped, shorten};
use super::read::Row;
use serde_json::{Value, json};

/// The schedule part of a window's JSON for `MaintenanceSpec::parse` (name and monitors are
/// added once the monitors have ids).
pub fn schedule(row: &Row, server_timezone: &str) -> Result<Value, Unmapped> {
    if !row.flag("active")?.unwrap_or(true) {
        return Err(Unmapped::Unsupported(
            "it is switched off in Kuma; WatchTower windows have no off switch".into(),
        ));
    }
    let timezone = match row.text("timezone")? {
        None | Some("SAME_AS_SERVER") => server_timezone.to_owned(),
        Some(zone) => zone.to_owned(),
    };
    let strategy = row.text("strategy")?.unwrap_or("single");
    match strategy {
        "manual" => Err(Unmapped::Unsupported(
            "it is a manual window (on until switched off); WatchTower windows have a schedule"
                .into(),
        )),
        "single" => {
            let starts = local_time(row, "start_date", &timezone)?;
            let ends = local_time(row, "end_date", &timezone)?;
            Ok(json!({"starts_at": starts, "ends_at": ends}))
        }
        "recurring-interval" if row.int("interval_day")?.unwrap_or(1) != 1 => {
            Err(Unmapped::Unsupported(
                "it repeats every few days counted from its start date; WatchTower's recurring \
                 windows follow a cron expression"
                    .into(),
            ))
        }
        "cron" | "recurring-interval" | "recurring-weekday" | "recurring-day-of-month" => {
            let Some(cron) = row.text("cron")? else {
                return Err(Unmapped::Unsupported(
                    "Kuma never computed its schedule (no cron); open and save it in Kuma 1.21 or \
                     later first"
                        .into(),
                ));
            };
            let Some(seconds) = row.int("duration")?.filter(|s| *s > 0) else {
                return Err(Unmapped::Unsupported("it has no duration".into()));
            };
            Ok(json!({"cron": cron, "duration": format!("{seconds}s"), "timezone": timezone}))
        }
        other => Err(Unmapped::Unsupported(format!(
            "its strategy '{}' is not one Kuma 1.23 or 2.x writes",
            shorten(other)
        ))),
    }
}

/// A Kuma date-time (`2026-12-20 02:00:00`, written in the window's zone) as RFC 3339.
fn local_time(row: &Row, column: &str, timezone: &str) -> Result<String, Unmapped> {
    let Some(text) = row.text(column)? else {
        return Err(Unmapped::Unsupported(format!("it has no {column}")));
    };
    let zone = jiff::tz::TimeZone::get(timezone).map_err(|_| {
        Unmapped::Unsupported(format!("'{}' is not a time zone", shorten(timezone)))
    })?;
    let civil = text
        .trim()
        .replace('T', " ")
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| {
            Unmapped::Unsupported(format!(
                "its {column} '{}' is not a date and time",
                shorten(text)
            ))
        })?;
    let zoned = civil
        .to_zoned(zone)
        .map_err(|_| Unmapped::Unsupported(format!("its {column} does not exist in {timezone}")))?;
    Ok(zoned.timestamp().to_string())
}
