//! The public pages' cache: each page (by slug, or by custom domain) is rendered once (page,
//! JSON and badge together) and served from memory until what it shows may have changed: a
//! committed state change of any monitor (the writer's counter), an edit of any status page or
//! incident post (`invalidate`), or `MAX_AGE`, so the uptime bars and maintenance windows keep up. An unknown
//! slug or domain is remembered the same way, so a crowd (or a scan of Host headers) costs one
//! query per key per period.
//!
//! A crowd arrives during an outage, when state changes come many a second: a page is rebuilt for
//! them at most once per `MIN_REBUILD` (an edit rebuilds at once), and while one request rebuilds
//! a stale page the others are served the page they had instead of queueing behind the build.

use axum::body::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use watchtower_scheduler::writer::WriterStats;

/// How long a rendered page is served before it is read again.
pub const MAX_AGE: Duration = Duration::from_secs(30);
/// The least time between rebuilds of a page for monitor state changes.
pub const MIN_REBUILD: Duration = Duration::from_secs(1);
/// The most keys remembered; past it the cache starts again empty.
const MAX_KEYS: usize = 10_000;

/// A page rendered for visitors (a history page fills only `html`, `hide_from_search`, `gate`
/// and `title`).
#[derive(Debug, Default)]
pub struct Rendered {
    pub html: Bytes,
    /// `html` gzip-compressed once when rendered (a page of 100 components with 90 daily bars
    /// each is about 1 MB of repetitive markup and a twentieth of it compressed), for visitors
    /// who accept it; `None` when compressing saved nothing.
    pub html_gzip: Option<Bytes>,
    pub summary: Bytes,
    /// The page's status badge (`badge.svg` without a query).
    pub badge: Bytes,
    /// What the other badges are drawn from (`badge.rs`); none for a history page.
    pub badges: Option<super::badge::BadgeSource>,
    /// The logo's origin, which the page's Content-Security-Policy lets images load from.
    pub logo_origin: Option<String>,
    pub hide_from_search: bool,
    /// Who may read it (`gate`), checked before every answer.
    pub gate: super::gate::Gate,
    /// The page's title, for its password form.
    pub title: String,
    /// What the feeds say; their XML is written per request (`feeds`).
    pub feed: Arc<super::feeds::FeedSource>,
}

impl Rendered {
    /// A page's HTML with its compressed copy. Compressed at the fastest level: a stale page is
    /// rebuilt while visitors wait, and level 1 already takes most of the repetition out.
    pub fn html(html: String) -> (Bytes, Option<Bytes>) {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let compressed = encoder
            .write_all(html.as_bytes())
            .and_then(|()| encoder.finish())
            .ok()
            .filter(|compressed| compressed.len() < html.len())
            .map(Bytes::from);
        (Bytes::from(html), compressed)
    }
}

/// What was true when an entry was rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    changes: u64,
    epoch: u64,
}

struct Entry {
    page: Option<Arc<Rendered>>,
    stamp: Stamp,
    built: Instant,
}

#[derive(Default)]
struct Slot {
    current: RwLock<Option<Arc<Entry>>>,
    building: tokio::sync::Mutex<()>,
}

pub struct StatusCache {
    changes: Arc<WriterStats>,
    epoch: AtomicU64,
    max_age: Duration,
    min_rebuild: Duration,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// The instance's public URL (`serve --public-url`), which feeds link to.
    public_url: Option<String>,
    /// The instance's signing secret (`Store::link_secret`), read once.
    secret: tokio::sync::OnceCell<String>,
    /// Badge figures per page and period, kept across renderings (`badge.rs`).
    badge_figures: super::badge::BadgeFiguresCache,
    /// Email sign-ups per client address (`subscribe.rs`): 10 at once, then one a minute, so one
    /// client cannot send a team's confirmation emails to a list of strangers.
    sign_ups: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
}

/// The sign-ups one client address may make at once, and how fast they come back.
const SIGN_UP_BURST: u32 = 10;
const SIGN_UP_EVERY: Duration = Duration::from_secs(60);

impl StatusCache {
    pub fn new(changes: Arc<WriterStats>) -> Self {
        Self::with_max_age(changes, MAX_AGE)
    }

    pub fn with_max_age(changes: Arc<WriterStats>, max_age: Duration) -> Self {
        Self {
            changes,
            epoch: AtomicU64::new(0),
            max_age,
            min_rebuild: MIN_REBUILD.min(max_age),
            slots: Mutex::new(HashMap::new()),
            public_url: None,
            secret: tokio::sync::OnceCell::new(),
            badge_figures: Default::default(),
            sign_ups: governor::RateLimiter::keyed(
                governor::Quota::with_period(SIGN_UP_EVERY)
                    .expect("a positive period")
                    .allow_burst(
                        std::num::NonZeroU32::new(SIGN_UP_BURST).expect("a positive burst"),
                    ),
            ),
        }
    }

    /// Whether a client at `ip` may sign an address up now (counted when it may).
    pub fn sign_up_admitted(&self, ip: std::net::IpAddr) -> bool {
        // Bounded memory under a crowd of addresses: forget the ones back to a full allowance.
        if self.sign_ups.len() > 10_000 {
            self.sign_ups.retain_recent();
        }
        self.sign_ups.check_key(&ip).is_ok()
    }

    /// Badge figures per page and period.
    pub fn badge_figures(&self) -> &super::badge::BadgeFiguresCache {
        &self.badge_figures
    }

    /// Rebuilds for state changes at most once per `min_rebuild` (tests use zero).
    pub fn with_min_rebuild(self, min_rebuild: Duration) -> Self {
        Self {
            min_rebuild,
            ..self
        }
    }

    /// Feeds link to `url` rather than to the host each request names.
    pub fn with_public_url(self, url: Option<String>) -> Self {
        Self {
            public_url: url,
            ..self
        }
    }

    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// The secret private pages' access cookies are signed with, read from the store once.
    pub async fn secret(
        &self,
        store: &dyn watchtower_store::Store,
    ) -> Result<String, watchtower_store::StoreError> {
        self.secret
            .get_or_try_init(|| store.link_secret())
            .await
            .cloned()
    }

    /// Every entry is stale from now on (a page was created, edited or deleted).
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn stamp(&self) -> Stamp {
        Stamp {
            changes: self.changes.state_change_batches.load(Ordering::Acquire),
            epoch: self.epoch.load(Ordering::Acquire),
        }
    }

    /// Whether `entry` may be served as it is: nothing it shows changed (or only monitor states,
    /// and it was built less than `min_rebuild` ago), and it is younger than `max_age`.
    fn fresh(&self, entry: &Entry) -> bool {
        let age = entry.built.elapsed();
        let now = self.stamp();
        age < self.max_age
            && (entry.stamp == now || (entry.stamp.epoch == now.epoch && age < self.min_rebuild))
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        if slots.len() >= MAX_KEYS {
            slots.clear();
        }
        slots.entry(key.to_owned()).or_default().clone()
    }

    /// The page under `key`, rendered by `build` when there is no fresh one (`None`: no page).
    pub async fn get_or_build<F, Fut, E>(
        &self,
        key: &str,
        build: F,
    ) -> Result<Option<Arc<Rendered>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Rendered>, E>>,
    {
        let slot = self.slot(key);
        let current = |slot: &Slot| {
            slot.current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        };
        let cached = |slot: &Slot| current(slot).filter(|entry| self.fresh(entry));
        if let Some(entry) = cached(&slot) {
            return Ok(entry.page.clone());
        }
        let _building = match (slot.building.try_lock(), current(&slot)) {
            (Ok(building), _) => building,
            // Someone is rebuilding a stale page: serve what it replaces rather than wait.
            (Err(_), Some(stale)) => return Ok(stale.page.clone()),
            (Err(_), None) => slot.building.lock().await,
        };
        if let Some(entry) = cached(&slot) {
            return Ok(entry.page.clone());
        }
        // Taken before reading, so a change committed during the build makes the entry stale.
        let stamp = self.stamp();
        let page = build().await?.map(Arc::new);
        *slot
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(Entry {
            page: page.clone(),
            stamp,
            built: Instant::now(),
        }));
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn rendered(text: &'static str) -> Rendered {
        Rendered {
            html: Bytes::from_static(text.as_bytes()),
            summary: Bytes::new(),
            badge: Bytes::new(),
            ..Rendered::default()
        }
    }

    async fn get(cache: &StatusCache, key: &str, builds: &AtomicU64) -> Option<Bytes> {
        cache
            .get_or_build(key, || async {
                builds.fetch_add(1, Ordering::SeqCst);
                Ok::<_, Infallible>(Some(rendered("page")))
            })
            .await
            .unwrap()
            .map(|page| page.html.clone())
    }

    #[tokio::test]
    async fn a_page_is_built_once_until_a_state_change_or_an_edit() {
        let writer = Arc::new(WriterStats::default());
        // A max age no test run reaches: only the counters make entries stale here.
        let cache = StatusCache::with_max_age(writer.clone(), Duration::from_secs(3_600))
            .with_min_rebuild(Duration::ZERO);
        let builds = AtomicU64::new(0);
        for _ in 0..3 {
            assert_eq!(get(&cache, "acme", &builds).await.unwrap(), "page");
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        writer.state_change_batches.fetch_add(1, Ordering::SeqCst);
        get(&cache, "acme", &builds).await;
        assert_eq!(builds.load(Ordering::SeqCst), 2, "a state change");
        cache.invalidate();
        get(&cache, "acme", &builds).await;
        get(&cache, "acme", &builds).await;
        assert_eq!(builds.load(Ordering::SeqCst), 3, "an edit");
        get(&cache, "other", &builds).await;
        assert_eq!(builds.load(Ordering::SeqCst), 4, "each key its own entry");
    }

    #[tokio::test]
    async fn state_changes_rebuild_at_most_once_per_interval_and_a_rebuild_makes_no_one_wait() {
        let writer = Arc::new(WriterStats::default());
        let cache = StatusCache::with_max_age(writer.clone(), Duration::from_secs(3_600))
            .with_min_rebuild(Duration::from_secs(3_600));
        let builds = AtomicU64::new(0);
        get(&cache, "acme", &builds).await;
        for _ in 0..5 {
            writer.state_change_batches.fetch_add(1, Ordering::SeqCst);
            get(&cache, "acme", &builds).await;
        }
        assert_eq!(
            builds.load(Ordering::SeqCst),
            1,
            "state changes within the interval"
        );
        // An edit is shown at once.
        cache.invalidate();
        get(&cache, "acme", &builds).await;
        assert_eq!(builds.load(Ordering::SeqCst), 2, "an edit");
        // While someone rebuilds the stale page, another visitor gets it as it was.
        cache.invalidate();
        let slot = cache.slot("acme");
        let _rebuilding = slot.building.lock().await;
        assert_eq!(get(&cache, "acme", &builds).await.unwrap(), "page");
        assert_eq!(builds.load(Ordering::SeqCst), 2, "served stale, not built");
    }

    #[tokio::test]
    async fn a_missing_page_is_remembered_too() {
        let cache =
            StatusCache::with_max_age(Arc::new(WriterStats::default()), Duration::from_secs(3_600));
        let builds = AtomicU64::new(0);
        for _ in 0..3 {
            let page = cache
                .get_or_build("nobody", || async {
                    builds.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Infallible>(None)
                })
                .await
                .unwrap();
            assert!(page.is_none());
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_zero_max_age_rebuilds_every_time() {
        let cache = StatusCache::with_max_age(Arc::new(WriterStats::default()), Duration::ZERO);
        let builds = AtomicU64::new(0);
        get(&cache, "acme", &builds).await;
        get(&cache, "acme", &builds).await;
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }
}
