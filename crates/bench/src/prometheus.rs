//! Reads the Prometheus text watchtower serves at `/metrics`: a histogram's cumulative buckets
//! (to estimate lag percentiles over a whole run) and labelled counters.

use serde::Serialize;

/// A histogram's cumulative buckets `(upper bound, count)`, ascending, `+Inf` last.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: f64,
}

impl Histogram {
    /// The histogram `name` in `text`, if it is there.
    pub fn parse(text: &str, name: &str) -> Option<Self> {
        let bucket_prefix = format!("{name}_bucket{{");
        let mut histogram = Histogram::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(&bucket_prefix) {
                let le = label(rest, "le")?;
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                histogram.buckets.push((bound, sample_value(line)?));
            } else if line.starts_with(&format!("{name}_sum")) {
                histogram.sum = sample_value(line)?;
            } else if line.starts_with(&format!("{name}_count")) {
                histogram.count = sample_value(line)?;
            }
        }
        histogram
            .buckets
            .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        (!histogram.buckets.is_empty()).then_some(histogram)
    }

    /// Observations made between `earlier` and `self` (bucket by bucket).
    pub fn minus(&self, earlier: &Histogram) -> Histogram {
        let buckets = self
            .buckets
            .iter()
            .map(|&(bound, count)| {
                let before = earlier
                    .buckets
                    .iter()
                    .find(|(b, _)| *b == bound)
                    .map_or(0.0, |(_, c)| *c);
                (bound, count - before)
            })
            .collect();
        Histogram {
            buckets,
            sum: self.sum - earlier.sum,
            count: self.count - earlier.count,
        }
    }

    /// The `q` quantile, interpolated linearly inside its bucket as Prometheus'
    /// `histogram_quantile` does. Above the last finite bound it returns that bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.last()?.1;
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut lower_bound = 0.0;
        let mut lower_count = 0.0;
        for &(bound, count) in &self.buckets {
            if count >= rank {
                if bound.is_infinite() {
                    return Some(lower_bound);
                }
                let in_bucket = count - lower_count;
                let fraction = if in_bucket > 0.0 {
                    (rank - lower_count) / in_bucket
                } else {
                    1.0
                };
                return Some(lower_bound + (bound - lower_bound) * fraction);
            }
            lower_bound = bound;
            lower_count = count;
        }
        Some(lower_bound)
    }

    /// Observations above `bound` (a bucket bound), e.g. lags over 1 s.
    pub fn count_above(&self, bound: f64) -> f64 {
        let total = self.buckets.last().map_or(0.0, |b| b.1);
        let at_or_below = self
            .buckets
            .iter()
            .find(|(b, _)| *b == bound)
            .map_or(total, |(_, c)| *c);
        total - at_or_below
    }
}

/// The sum of every sample of `name` whose labels include all of `labels`.
pub fn counter_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(key, value)| label(line, key).is_some_and(|found| found == *value))
        })
        .filter_map(sample_value)
        .sum()
}

fn label<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}=\""))? + key.len() + 2;
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

fn sample_value(line: &str) -> Option<f64> {
    line.rsplit(' ').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# TYPE watchtower_scheduler_lag_seconds histogram
watchtower_scheduler_lag_seconds_bucket{le=\"0.001\"} 50
watchtower_scheduler_lag_seconds_bucket{le=\"0.005\"} 90
watchtower_scheduler_lag_seconds_bucket{le=\"0.01\"} 100
watchtower_scheduler_lag_seconds_bucket{le=\"+Inf\"} 100
watchtower_scheduler_lag_seconds_sum 0.2
watchtower_scheduler_lag_seconds_count 100
watchtower_checks_total{kind=\"http\",result=\"up\"} 97
watchtower_checks_total{kind=\"http\",result=\"down\"} 3
";

    #[test]
    fn histogram_quantiles_interpolate_within_buckets() {
        let h = Histogram::parse(TEXT, "watchtower_scheduler_lag_seconds").unwrap();
        assert_eq!(h.count, 100.0);
        assert!((h.quantile(0.5).unwrap() - 0.001).abs() < 1e-9);
        assert!((h.quantile(0.7).unwrap() - 0.003).abs() < 1e-9);
        assert!((h.quantile(0.99).unwrap() - 0.0095).abs() < 1e-9);
        assert_eq!(h.count_above(0.005), 10.0);
        let none = h.minus(&h);
        assert_eq!(none.quantile(0.5), None);
    }

    #[test]
    fn counters_are_summed_over_matching_labels() {
        assert_eq!(counter_sum(TEXT, "watchtower_checks_total", &[]), 100.0);
        assert_eq!(
            counter_sum(TEXT, "watchtower_checks_total", &[("result", "down")]),
            3.0
        );
    }
}
