//! A page's incident history by month (`/status/{slug}/history?month=2026-12`): the posts
//! created in that month of the page's time zone, with links to the months around it. Months
//! before 2000 or after the current one are not pages, so the cache holds a bounded number.

use super::posts::PostView;
use crate::web::assets::AssetUrls;
use askama::Template;
use watchtower_core::Timestamp;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    year: i16,
    month: i8,
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Month {
    /// `2026-12`.
    pub fn parse(raw: &str) -> Option<Self> {
        let (year, month) = raw.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let year: i16 = year.parse().ok()?;
        let month: i8 = month.parse().ok()?;
        ((2000..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The month `at` falls in, in `zone`.
    pub fn of(at: Timestamp, zone: &jiff::tz::TimeZone) -> Self {
        let date = jiff::Timestamp::from_millisecond(at.0)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(zone.clone())
            .date();
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                month: self.month - 1,
                ..self
            }
        }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                month: self.month + 1,
                ..self
            }
        }
    }

    /// The month's first instant in `zone`.
    pub fn start(self, zone: &jiff::tz::TimeZone) -> Timestamp {
        jiff::civil::date(self.year, self.month, 1)
            .to_zoned(zone.clone())
            .map(|zoned| Timestamp(zoned.timestamp().as_millisecond()))
            .unwrap_or(Timestamp(0))
    }

    /// `December 2026`.
    pub fn label(self) -> String {
        format!("{} {}", MONTH_NAMES[(self.month - 1) as usize], self.year)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[derive(Template)]
#[template(path = "status_history.html")]
pub struct HistoryTemplate {
    pub slug: String,
    pub title: String,
    pub hide_from_search: bool,
    pub month_label: String,
    pub previous: String,
    pub previous_label: String,
    /// The next month and its label, unless this is the current one.
    pub next: Option<(String, String)>,
    pub posts: Vec<PostView>,
    pub assets: AssetUrls,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_step_and_start_in_the_pages_zone() {
        let december = Month::parse("2026-12").unwrap();
        assert_eq!(december.next().to_string(), "2027-01");
        assert_eq!(december.next().previous(), december);
        assert_eq!(
            Month::parse("2026-01").unwrap().previous().to_string(),
            "2025-12"
        );
        assert_eq!(december.label(), "December 2026");
        for bad in ["2026-13", "1999-12", "2026-1", "x", "2026-00", "+026-01"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        // 2026-12-01T00:00 in Paris is 2026-11-30T23:00Z.
        assert_eq!(december.start(&paris), Timestamp(1_796_079_600_000));
        assert_eq!(Month::of(Timestamp(1_796_079_600_000), &paris), december);
    }
}
