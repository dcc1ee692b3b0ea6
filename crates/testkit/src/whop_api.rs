//! A fake of Whop's REST API for the metric monitors: `GET /api/v1/memberships` and
//! `GET /api/v1/payments` with the documented contract (Bearer key, `company_id`, cursor pages
//! with `after` and `page_info {end_cursor, has_next_page}`, `first`, `created_after`, newest
//! first), and scripted faults: 401, 429 with `Retry-After`, 5xx. It refuses what Whop would
//! refuse (a wrong key, a cursor it never issued, a bad `first`), so a client that strays from the
//! contract fails its tests.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// What the next requests get instead of their page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhopFault {
    /// `429 Too Many Requests` with `Retry-After: seconds`.
    RateLimited { retry_after_secs: u64 },
    /// Any status, e.g. 401 or 503.
    Status(u16),
}

#[derive(Default)]
struct Company {
    memberships: Vec<Value>,
    payments: Vec<Value>,
    faults: VecDeque<WhopFault>,
    requests: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    key: String,
    company_id: String,
    page_size: usize,
    company: Arc<Mutex<Company>>,
}

/// The fake API; `base` is what `--whop-api-url` takes.
pub struct FakeWhopApi {
    pub base: String,
    pub key: String,
    pub company_id: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl FakeWhopApi {
    /// Serves a company `company_id` readable with `key`, `page_size` items a page at most (small
    /// sizes make tests cross pages).
    pub async fn start(key: &str, company_id: &str, page_size: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}/api/v1", listener.local_addr().expect("address"));
        let shared = Shared {
            key: key.to_owned(),
            company_id: company_id.to_owned(),
            page_size: page_size.max(1),
            company: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/api/v1/{resource}", axum::routing::get(list))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base,
            key: key.to_owned(),
            company_id: company_id.to_owned(),
            shared,
            server,
        }
    }

    fn company(&self) -> std::sync::MutexGuard<'_, Company> {
        self.shared.company.lock().expect("company")
    }

    pub fn set_memberships(&self, items: Vec<Value>) {
        self.company().memberships = items;
    }

    pub fn set_payments(&self, items: Vec<Value>) {
        self.company().payments = items;
    }

    /// The next requests, one each, get these faults instead of their page.
    pub fn fail_next(&self, faults: &[WhopFault]) {
        self.company().faults.extend(faults.iter().copied());
    }

    /// Drops the faults not yet served.
    pub fn clear_faults(&self) {
        self.company().faults.clear();
    }

    /// Every request so far, as `path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.company().requests.clone()
    }
}

impl Drop for FakeWhopApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A payment as Whop's API v1 lists it.
pub fn payment(id: &str, status: &str, total: f64, currency: &str, at: &str) -> Value {
    json!({"id": id, "status": status, "substatus": if status == "paid" { "succeeded" } else { "failed" },
           "created_at": at, "paid_at": if status == "paid" { Value::from(at) } else { Value::Null },
           "refunded_at": null, "total": total, "subtotal": total, "currency": currency,
           "product": {"id": "prod_fake"}, "user": {"id": "user_fake"},
           "membership": {"id": "mem_fake", "status": "active"}})
}

/// A membership as Whop's API v1 lists it.
pub fn membership(id: &str, status: &str, created_at: &str, canceled_at: Option<&str>) -> Value {
    json!({"id": id, "status": status, "created_at": created_at, "canceled_at": canceled_at,
           "user": {"id": "user_fake"}, "product": {"id": "prod_fake"}, "plan": {"id": "plan_fake"}})
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"message": message}}))).into_response()
}

fn instant(value: &Value) -> Option<i64> {
    value
        .as_str()?
        .parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
}

async fn list(
    State(shared): State<Shared>,
    Path(resource): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut company = shared.company.lock().expect("company");
    let mut recorded: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    recorded.sort();
    company
        .requests
        .push(format!("/{resource}?{}", recorded.join("&")));
    if let Some(fault) = company.faults.pop_front() {
        return match fault {
            WhopFault::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after_secs.to_string())],
                axum::Json(json!({"error": {"message": "rate limited"}})),
            )
                .into_response(),
            WhopFault::Status(code) => error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "scripted fault",
            ),
        };
    }
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if bearer != Some(shared.key.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "invalid API key");
    }
    let items = match resource.as_str() {
        "memberships" => &company.memberships,
        "payments" => &company.payments,
        _ => return error(StatusCode::NOT_FOUND, "no such resource"),
    };
    if query.get("company_id") != Some(&shared.company_id) {
        return error(StatusCode::NOT_FOUND, "company not found");
    }
    let first = match query.get("first").map(|text| text.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "first must be from 1 to 100"),
    };
    let since = match query.get("created_after") {
        None => None,
        Some(text) => match text.parse::<jiff::Timestamp>() {
            Ok(at) => Some(at.as_millisecond()),
            Err(_) => return error(StatusCode::BAD_REQUEST, "created_after is not ISO 8601"),
        },
    };
    let offset = match query.get("after") {
        None => 0,
        Some(cursor) => match cursor.strip_prefix("cur_").and_then(|n| n.parse().ok()) {
            Some(offset) => offset,
            None => return error(StatusCode::BAD_REQUEST, "unknown cursor"),
        },
    };
    let mut selected: Vec<&Value> = items
        .iter()
        .filter(|item| {
            since.is_none_or(|since| instant(&item["created_at"]).is_some_and(|at| at >= since))
        })
        .collect();
    selected.sort_by_key(|item| std::cmp::Reverse(instant(&item["created_at"])));
    let size = first.min(shared.page_size);
    let page: Vec<Value> = selected
        .iter()
        .skip(offset)
        .take(size)
        .map(|item| (*item).clone())
        .collect();
    let next = offset + page.len();
    let more = next < selected.len();
    axum::Json(json!({
        "data": page,
        "page_info": {"end_cursor": more.then(|| format!("cur_{next}")), "has_next_page": more}
    }))
    .into_response()
}
