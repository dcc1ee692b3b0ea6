//! The result of a run: figures with their targets (met or missed), printed as a table and
//! written as JSON with the machine, the load and the raw details.

use crate::machine::{Machine, load_average};
use serde::Serialize;
use std::path::Path;

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: Option<f64>,
    pub unit: &'static str,
    /// The target, in words (`< 500 ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Figure {
    pub fn new(name: impl Into<String>, value: impl Into<Option<f64>>, unit: &'static str) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            unit,
            target: None,
            met: None,
            note: None,
        }
    }

    /// A target the value must stay at or under.
    pub fn at_most(mut self, limit: f64, text: &str) -> Self {
        self.target = Some(text.to_owned());
        self.met = self.value.map(|value| value <= limit);
        self
    }

    /// A target the value must reach.
    pub fn at_least(mut self, floor: f64, text: &str) -> Self {
        self.target = Some(text.to_owned());
        self.met = self.value.map(|value| value >= floor);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Everything a run reports.
#[derive(Debug, Serialize)]
pub struct Report {
    pub command: String,
    pub machine: Machine,
    pub load_average_after: String,
    pub figures: Vec<Figure>,
    pub details: serde_json::Value,
}

impl Report {
    pub fn new(machine: Machine) -> Self {
        Self {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            machine,
            load_average_after: String::new(),
            figures: Vec::new(),
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn push(&mut self, figure: Figure) {
        self.figures.push(figure);
    }

    /// Adds a named section of raw details.
    pub fn detail(&mut self, key: &str, value: impl Serialize) {
        if let serde_json::Value::Object(map) = &mut self.details {
            map.insert(
                key.to_owned(),
                serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
            );
        }
    }

    /// Prints the table on standard output and writes JSON when a path is given.
    pub fn finish(mut self, json: Option<&Path>) -> anyhow::Result<()> {
        self.load_average_after = load_average();
        println!("{}", self.table());
        if let Some(path) = json {
            std::fs::write(path, serde_json::to_string_pretty(&self)?)?;
            println!("JSON written to {}", path.display());
        }
        Ok(())
    }

    fn table(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "\n{}\nmachine: {} cores, {}, {}; load before {} / after {}; {}\n\n",
            self.command,
            m.cores,
            m.memory_total,
            m.cpu_model,
            m.load_average,
            self.load_average_after,
            m.date
        );
        let rows: Vec<[String; 4]> = self
            .figures
            .iter()
            .map(|f| {
                let value = match f.value {
                    Some(v) => format!("{} {}", format_number(v), f.unit),
                    None => "n/a".to_owned(),
                };
                let verdict = match f.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "",
                };
                let target = f.target.clone().unwrap_or_default();
                [f.name.clone(), value, target, verdict.to_owned()]
            })
            .collect();
        let headers = ["figure", "value", "target", ""];
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 4]| {
            format!(
                "{:<w0$}  {:>w1$}  {:<w2$}  {}\n",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )
        };
        out.push_str(&line(headers));
        out.push_str(&line([
            "-".repeat(widths[0]).as_str(),
            &"-".repeat(widths[1]),
            &"-".repeat(widths[2]),
            "------",
        ]));
        for (row, figure) in rows.iter().zip(&self.figures) {
            out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
            if let Some(note) = &figure.note {
                out.push_str(&format!("    ({note})\n"));
            }
        }
        out
    }
}

/// Three significant digits, without exponent noise.
pub fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1000.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 100.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.4}")
    }
}

/// The `q` quantile of samples (nearest rank), or `None` when empty.
pub fn percentile(samples: &mut [f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((samples.len() - 1) as f64 * q).round() as usize;
    Some(samples[rank])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_judged_and_percentiles_ranked() {
        assert_eq!(
            Figure::new("lag", 400.0, "ms")
                .at_most(500.0, "< 500 ms")
                .met,
            Some(true)
        );
        assert_eq!(
            Figure::new("done", 99.0, "%")
                .at_least(99.9, ">= 99.9%")
                .met,
            Some(false)
        );
        assert_eq!(Figure::new("x", None, "ms").at_most(1.0, "").met, None);
        let mut samples = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&mut samples, 0.5), Some(3.0));
        assert_eq!(percentile(&mut samples, 1.0), Some(5.0));
        assert_eq!(format_number(0.04567), "0.0457");
        assert_eq!(format_number(12345.6), "12346");
    }
}
