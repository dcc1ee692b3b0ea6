//! The farm's response-time distribution, given as `fixed:MS`, `uniform:MIN-MAX` or `exp:MEAN`
//! (exponential, capped at ten times the mean).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How long a target waits before answering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    Fixed(Duration),
    Uniform { min: Duration, max: Duration },
    Exponential { mean: Duration },
}

impl Latency {
    /// One draw from the distribution.
    pub fn sample(&self) -> Duration {
        match *self {
            Latency::Fixed(value) => value,
            Latency::Uniform { min, max } => {
                let span = max.saturating_sub(min).as_secs_f64();
                min + Duration::from_secs_f64(span * rand::random::<f64>())
            }
            Latency::Exponential { mean } => {
                let uniform: f64 = rand::random::<f64>().max(f64::MIN_POSITIVE);
                let draw = (-uniform.ln()).min(10.0);
                Duration::from_secs_f64(mean.as_secs_f64() * draw)
            }
        }
    }
}

impl FromStr for Latency {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let millis = |raw: &str| -> Result<Duration, String> {
            raw.trim()
                .trim_end_matches("ms")
                .parse::<f64>()
                .ok()
                .filter(|ms| ms.is_finite() && (0.0..=60_000.0).contains(ms))
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
                .ok_or_else(|| format!("'{raw}' is not a number of milliseconds (0 to 60000)"))
        };
        let (kind, value) = text.split_once(':').unwrap_or(("fixed", text));
        match kind {
            "fixed" => Ok(Latency::Fixed(millis(value)?)),
            "uniform" => {
                let (min, max) = value
                    .split_once('-')
                    .ok_or("uniform needs MIN-MAX, e.g. uniform:1-20")?;
                let (min, max) = (millis(min)?, millis(max)?);
                if min > max {
                    return Err("uniform: MIN must not exceed MAX".into());
                }
                Ok(Latency::Uniform { min, max })
            }
            "exp" => Ok(Latency::Exponential {
                mean: millis(value)?,
            }),
            other => Err(format!(
                "'{other}' is not a distribution; use fixed:MS, uniform:MIN-MAX or exp:MEAN"
            )),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        match *self {
            Latency::Fixed(value) => write!(f, "fixed:{}", ms(value)),
            Latency::Uniform { min, max } => write!(f, "uniform:{}-{}", ms(min), ms(max)),
            Latency::Exponential { mean } => write!(f, "exp:{}", ms(mean)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_parse_and_stay_in_range() {
        assert_eq!("0".parse(), Ok(Latency::Fixed(Duration::ZERO)));
        let uniform: Latency = "uniform:2-4".parse().unwrap();
        for _ in 0..100 {
            let d = uniform.sample();
            assert!(d >= Duration::from_millis(2) && d <= Duration::from_millis(4));
        }
        let exp: Latency = "exp:5".parse().unwrap();
        assert!((0..100).all(|_| exp.sample() <= Duration::from_millis(50)));
        assert!("uniform:5-1".parse::<Latency>().is_err());
        assert!("gauss:3".parse::<Latency>().is_err());
    }
}
