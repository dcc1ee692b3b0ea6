//! Human durations such as `30s`, `5m`, `1h30m`, `250ms`, `2d`, as written in YAML and the API.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A duration read from and written as text like `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, utoipa::ToSchema)]
#[schema(value_type = String, example = "1h30m", pattern = "^([0-9]+(d|h|ms|m|s))+$")]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// Parses `<number><unit>` groups; units are `ms`, `s`, `m`, `h`, `d`. A bare number is seconds.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("is empty; write a duration like 30s, 5m or 1h".into());
        }
        if let Ok(secs) = text.parse::<u64>() {
            return Ok(Self::from_secs(secs));
        }
        let mut total = Duration::ZERO;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(format!(
                    "'{raw}' is not a duration; write one like 30s, 5m or 1h"
                ));
            }
            let number: u64 = rest[..digits]
                .parse()
                .map_err(|_| format!("'{raw}' has a number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = match &rest[..unit_len] {
                "ms" => Duration::from_millis(1),
                "s" => Duration::from_secs(1),
                "m" => Duration::from_secs(60),
                "h" => Duration::from_secs(3600),
                "d" => Duration::from_secs(86_400),
                other => {
                    return Err(format!(
                        "'{raw}' has unknown unit '{other}'; use ms, s, m, h or d"
                    ));
                }
            };
            rest = &rest[unit_len..];
            total = unit
                .checked_mul(u32::try_from(number).map_err(|_| format!("'{raw}' is too large"))?)
                .and_then(|part| total.checked_add(part))
                .ok_or_else(|| format!("'{raw}' is too large"))?;
        }
        Ok(Self(total))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut millis = self.0.as_millis();
        if millis == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if millis >= size {
                write!(f, "{}{unit}", millis / size)?;
                millis %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units_users_write() {
        assert_eq!(
            HumanDuration::parse("30s").unwrap().get(),
            Duration::from_secs(30)
        );
        assert_eq!(
            HumanDuration::parse("5m").unwrap().get(),
            Duration::from_secs(300)
        );
        assert_eq!(
            HumanDuration::parse("1h30m").unwrap().get(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            HumanDuration::parse("250ms").unwrap().get(),
            Duration::from_millis(250)
        );
        assert_eq!(
            HumanDuration::parse("45").unwrap().get(),
            Duration::from_secs(45)
        );
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in ["", "s", "5x", "-5s", "1.5s", "m5"] {
            assert!(
                HumanDuration::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn prints_what_it_parses() {
        for text in ["30s", "5m", "1h30m", "250ms", "2d"] {
            assert_eq!(HumanDuration::parse(text).unwrap().to_string(), text);
        }
    }
}
