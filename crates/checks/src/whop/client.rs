//! Whop's REST API as the metric probe uses it: cursor pages newest first, `Retry-After` honoured
//! on 429, 5xx and network failures retried, all within the check's deadline, every answer
//! bounded in size and every listing in pages.

use super::tally::Created;
use crate::deadline::Deadline;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use url::Url;
use watchtower_core::Timestamp;

/// The production API; an operator (or a test) points the instance elsewhere.
pub const DEFAULT_WHOP_API: &str = "https://api.whop.com/api/v1";
/// Items asked for per page (Whop's `first`).
const PAGE_SIZE: u32 = 100;
/// Pages read for one check at most: 50,000 items at Whop's page size.
const MAX_PAGES: usize = 500;
/// The most bytes one page's answer may have.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Attempts of one page before Whop counts as unavailable for this check.
const ATTEMPTS: u32 = 4;
/// Time kept back from the deadline so the probe answers before the scheduler gives up on it.
const MARGIN: Duration = Duration::from_millis(50);

/// Why the figures could not be read.
#[derive(Debug)]
pub(crate) enum WhopError {
    /// Whop refused the request as asked (bad key, missing permission, unknown company), or the
    /// company is too large to count within the probe's bounds: the user must change something.
    Refused(String),
    /// Whop could not answer now (rate limited past the deadline, 5xx, no answer).
    Unavailable(String),
}

/// A client of Whop's API, shared by every Whop monitor of the instance.
#[derive(Debug, Clone)]
pub struct WhopApi {
    base: Url,
    client: reqwest::Client,
}

/// One page of a listing.
#[derive(Deserialize)]
pub(crate) struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    page_info: PageInfo,
}

#[derive(Default, Deserialize)]
struct PageInfo {
    #[serde(default)]
    end_cursor: Option<String>,
    #[serde(default)]
    has_next_page: bool,
}

impl WhopApi {
    /// A client of the API at `base` (`https://api.whop.com/api/v1` in production).
    pub fn new(base: Url, user_agent: &str) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            // A redirect would carry the API key somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { base, client }
    }

    /// Every item of `/{resource}?company_id=…`, newest first; with `since`, only items created
    /// from then on (asked of Whop with `created_after`, and enforced here by stopping at the first
    /// page that reaches past it, so an API that ignores the filter costs pages, not accuracy).
    pub(crate) async fn list<T: DeserializeOwned + Created>(
        &self,
        key: &str,
        resource: &str,
        company: &str,
        since: Option<Timestamp>,
        deadline: &Deadline,
    ) -> Result<Vec<T>, WhopError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.base.clone();
            url.path_segments_mut()
                .map_err(|_| WhopError::Refused("the Whop API address cannot take a path".into()))?
                .pop_if_empty()
                .push(resource);
            {
                let mut query = url.query_pairs_mut();
                query
                    .append_pair("company_id", company)
                    .append_pair("first", &PAGE_SIZE.to_string())
                    .append_pair("order", "created_at")
                    .append_pair("direction", "desc");
                if let Some(since) = since {
                    query.append_pair("created_after", &since.to_jiff().to_string());
                }
                if let Some(after) = &cursor {
                    query.append_pair("after", after);
                }
            }
            let page: Page<T> = self.page(key, url, deadline).await?;
            let reached_horizon = since.is_some_and(|since| {
                page.data
                    .last()
                    .and_then(Created::created)
                    .is_some_and(|oldest| oldest < since)
            });
            items.extend(page.data);
            match page.page_info.end_cursor {
                Some(next) if page.page_info.has_next_page && !reached_horizon => {
                    cursor = Some(next);
                }
                _ => return Ok(items),
            }
        }
        Err(WhopError::Refused(format!(
            "the company has more than {} {resource} to read for this metric; \
             a per-day metric reads only its own days",
            MAX_PAGES * PAGE_SIZE as usize
        )))
    }

    /// One page, retried while Whop is rate limiting or failing and the deadline allows.
    async fn page<T: DeserializeOwned>(
        &self,
        key: &str,
        url: Url,
        deadline: &Deadline,
    ) -> Result<Page<T>, WhopError> {
        let mut last_problem = String::from("Whop did not answer");
        for attempt in 0..ATTEMPTS {
            let left = deadline.remaining().saturating_sub(MARGIN);
            if left.is_zero() {
                break;
            }
            let request = self.client.get(url.clone()).bearer_auth(key).send();
            let response = match tokio::time::timeout(left, request).await {
                Err(_) => {
                    last_problem = "Whop did not answer within the check's timeout".into();
                    break;
                }
                Ok(Err(error)) => {
                    last_problem = format!("could not reach Whop: {}", without_url(&error));
                    backoff(attempt, deadline).await;
                    continue;
                }
                Ok(Ok(response)) => response,
            };
            let status = response.status();
            if status.is_success() {
                let body = read_bounded(response, deadline).await?;
                return serde_json::from_slice(&body).map_err(|error| {
                    WhopError::Unavailable(format!("Whop's answer could not be read: {error}"))
                });
            }
            match status.as_u16() {
                401 | 403 => {
                    return Err(WhopError::Refused(format!(
                        "Whop refused the API key ({status}): check the key and that it may read \
                         memberships and payments"
                    )));
                }
                429 => {
                    let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(1));
                    last_problem = format!(
                        "Whop is rate limiting this key (429, retry after {}s)",
                        wait.as_secs()
                    );
                    if wait > deadline.remaining().saturating_sub(MARGIN) {
                        break;
                    }
                    tokio::time::sleep(wait).await;
                }
                500..=599 => {
                    last_problem = format!("Whop answered {status}");
                    backoff(attempt, deadline).await;
                }
                _ => {
                    return Err(WhopError::Refused(format!(
                        "Whop answered {status}: check the company id"
                    )));
                }
            }
        }
        Err(WhopError::Unavailable(last_problem))
    }
}

/// Waits 200 ms, 400 ms, 800 ms… before the next attempt, never past the deadline.
async fn backoff(attempt: u32, deadline: &Deadline) {
    let wait = Duration::from_millis(200 << attempt.min(5));
    tokio::time::sleep(wait.min(deadline.remaining().saturating_sub(MARGIN))).await;
}

/// `Retry-After` as seconds or as an HTTP date, at most ten minutes.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = jiff::fmt::rfc2822::parse(text).ok()?.timestamp();
            Timestamp::from_jiff(at).since(Timestamp::now())
        }
    };
    Some(wait.min(Duration::from_secs(600)))
}

async fn read_bounded(
    mut response: reqwest::Response,
    deadline: &Deadline,
) -> Result<Vec<u8>, WhopError> {
    let mut body = Vec::new();
    loop {
        let left = deadline.remaining().saturating_sub(MARGIN);
        let chunk = match tokio::time::timeout(left, response.chunk()).await {
            Err(_) => {
                return Err(WhopError::Unavailable(
                    "Whop's answer did not arrive within the check's timeout".into(),
                ));
            }
            Ok(Err(error)) => {
                return Err(WhopError::Unavailable(format!(
                    "Whop's answer broke off: {}",
                    without_url(&error)
                )));
            }
            Ok(Ok(chunk)) => chunk,
        };
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(WhopError::Unavailable(format!(
                "a page of Whop's answer is larger than {} MiB",
                MAX_PAGE_BYTES / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
}

/// A request error's text without its URL, which carries the company id and cursor only, but
/// is noise in a monitor's message.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text
            .replace(&format!(" ({url})"), "")
            .replace(url.as_str(), "Whop");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(reqwest::header::RETRY_AFTER, "86400".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(600)));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
