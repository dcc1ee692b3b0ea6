//! The Uptime Kuma import's mapping, on rows a Kuma database could hold. The input is a JSON
//! object of tables (`monitor`, `notification`, `monitor_notification`, `tag`, `monitor_tag`,
//! `maintenance`, `monitor_maintenance`, `status_page`, `group`, `monitor_group`,
//! `status_page_cname`, `setting`), each a list of rows of column to value (null, number or text,
//! as SQLite stores them). `kuma::plan` maps them without panicking; every monitor row ends
//! either imported or named with a reason, and every imported monitor's spec parses back the same
//! from its stored form.

use serde_json::Value;
use watchtower_core::MonitorSpec;
use watchtower_import::kuma::{self, Cell, KumaDatabase, KumaVersion, ObjectKind, Row};

pub fn run(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let Ok(Value::Object(tables)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let mut db = KumaDatabase::empty(KumaVersion::V2);
    for (table, rows) in &tables {
        let rows: Vec<Row> = rows
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .map(|row| Row {
                cells: row
                    .iter()
                    .map(|(column, value)| (column.clone(), cell(value)))
                    .collect(),
            })
            .collect();
        let into = match table.as_str() {
            "monitor" => &mut db.monitors,
            "notification" => &mut db.notifications,
            "monitor_notification" => &mut db.monitor_notifications,
            "tag" => &mut db.tags,
            "monitor_tag" => &mut db.monitor_tags,
            "maintenance" => &mut db.maintenances,
            "monitor_maintenance" => &mut db.monitor_maintenances,
            "maintenance_status_page" => &mut db.maintenance_status_pages,
            "status_page" => &mut db.status_pages,
            "group" => &mut db.groups,
            "monitor_group" => &mut db.monitor_groups,
            "status_page_cname" => &mut db.status_page_domains,
            "setting" => &mut db.settings,
            _ => continue,
        };
        into.extend(rows);
    }
    let plan = kuma::plan(&db);
    let skipped_monitors = plan
        .skipped
        .iter()
        .filter(|s| s.object.kind == ObjectKind::Monitor)
        .count();
    assert_eq!(
        plan.monitors.len() + skipped_monitors,
        db.monitors.len(),
        "a monitor row was neither imported nor named"
    );
    for (_, spec) in &plan.monitors {
        let again = MonitorSpec::parse(&spec.to_value(), "").unwrap_or_else(|problems| {
            panic!("an imported spec does not parse back: {problems:?}")
        });
        assert_eq!(
            &again, spec,
            "an imported spec changed on its way through storage"
        );
    }
}

fn cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(flag) => Cell::Int(i64::from(*flag)),
        Value::Number(number) => match number.as_i64() {
            Some(int) => Cell::Int(int),
            None => Cell::Real(number.as_f64().unwrap_or_default()),
        },
        Value::String(text) if text == "<blob>" => Cell::Blob,
        Value::String(text) if text == "<oversized>" => Cell::Oversized,
        Value::String(text) => Cell::Text(text.clone()),
        _ => Cell::Blob,
    }
}
