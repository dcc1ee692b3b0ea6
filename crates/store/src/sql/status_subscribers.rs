//! Status page subscribers and their outbox: a sign-up with its confirmation row in one
//! transaction, the messages of a post's update queued by one `INSERT ... SELECT` in the update's
//! transaction (`enqueue_update`), and claims that lease rows like the alert outbox's.

use super::{DbConnection, DbStore, dialect};
use crate::error::{Conflict, StoreError};
use crate::status_subscribers::*;
use async_trait::async_trait;
use watchtower_core::status_subscriber::SignUpThrottle;
use watchtower_core::{
    ChannelId, Impact, NewSubscriber, PostStatus, StatusIncidentId, StatusPageId,
    StatusSubscriberId, SubscriberKind, TeamId, Timestamp,
};

const SUBSCRIBER_COLUMNS: &str = "id, page_id, kind, address, components, created_at, confirmed_at";

/// The most subscribers the team's list shows.
const LIST_LIMIT: i64 = 10_000;

#[derive(Debug, sqlx::FromRow)]
struct SubscriberRow {
    id: i64,
    page_id: i64,
    kind: String,
    address: String,
    components: Option<String>,
    created_at: i64,
    confirmed_at: Option<i64>,
}

fn corrupt(id: i64, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("status subscriber {id}: {problem}"))
}

impl SubscriberRow {
    fn into_subscriber(self) -> Result<StatusSubscriber, StoreError> {
        Ok(StatusSubscriber {
            id: StatusSubscriberId(self.id),
            page_id: StatusPageId(self.page_id),
            kind: SubscriberKind::parse(&self.kind).ok_or_else(|| corrupt(self.id, "kind"))?,
            components: self
                .components
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(self.id, e))?,
            address: self.address,
            created_at: Timestamp(self.created_at),
            confirmed_at: self.confirmed_at.map(Timestamp),
        })
    }
}

/// How an update's messages are keyed: an update as it is written, or a draft's latest update
/// when the draft is published (its subscribers hear of the post then, as of a new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UpdateNews {
    Written,
    Published,
}

impl UpdateNews {
    fn key_prefix(self) -> &'static str {
        match self {
            UpdateNews::Written => "update:",
            UpdateNews::Published => "published:",
        }
    }
}

/// Queues the message of update `update` of post `post` to every confirmed subscriber of the
/// post's page who follows one of its components (or all of them), if the post is published.
/// Run in the transaction that wrote the update; a second run for the same update adds nothing.
pub(super) async fn enqueue_update(
    conn: &mut DbConnection,
    post: i64,
    update: i64,
    news: UpdateNews,
    now: Timestamp,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO status_deliveries (subscriber_id, kind, update_id, dedup_key, status, \
         due_at, created_at) \
         SELECT s.id, 'update', u.id, $4 || CAST(u.id AS TEXT) || ':' || CAST(s.id AS TEXT), \
         'pending', $1, $1 \
         FROM status_incident_updates u \
         JOIN status_incidents i ON i.id = u.incident_id \
         JOIN status_subscribers s ON s.page_id = i.page_id \
         WHERE u.id = $2 AND i.id = $3 AND i.published AND s.confirmed_at IS NOT NULL \
         AND (s.components IS NULL OR i.components = '[]' OR {}) \
         ON CONFLICT (dedup_key) DO NOTHING",
        dialect::SUBSCRIBER_FOLLOWS_POST
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now.0)
        .bind(update)
        .bind(post)
        .bind(news.key_prefix())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Queues the messages of a post's latest update (a draft just published).
pub(super) async fn enqueue_latest_update(
    conn: &mut DbConnection,
    post: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    let latest: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM status_incident_updates WHERE incident_id = $1")
            .bind(post)
            .fetch_one(&mut *conn)
            .await?;
    match latest {
        Some(update) => enqueue_update(conn, post, update, UpdateNews::Published, now).await,
        None => Ok(()),
    }
}

async fn page_of_team(
    conn: &mut DbConnection,
    team: TeamId,
    page: StatusPageId,
) -> Result<Option<ChannelId>, StoreError> {
    let row: Option<(Option<i64>,)> = sqlx::query_as(
        "SELECT subscriber_channel_id FROM status_pages WHERE id = $1 AND team_id = $2",
    )
    .bind(page.0)
    .bind(team.0)
    .fetch_optional(&mut *conn)
    .await?;
    let (channel,) = row.ok_or(StoreError::NotFound)?;
    Ok(channel.map(ChannelId))
}

async fn read_subscriber(
    conn: &mut DbConnection,
    page: StatusPageId,
    kind: SubscriberKind,
    address: &str,
) -> Result<Option<(SubscriberRow, Option<i64>, Option<i64>, i64)>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        subscriber: SubscriberRow,
        last_confirmation_at: Option<i64>,
        confirmations_since: Option<i64>,
        confirmations: i64,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SUBSCRIBER_COLUMNS}, last_confirmation_at, confirmations_since, confirmations \
         FROM status_subscribers WHERE page_id = $1 AND kind = $2 AND address = $3{}",
        dialect::FOR_UPDATE
    )))
    .bind(page.0)
    .bind(kind.as_str())
    .bind(address)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|row| {
        (
            row.subscriber,
            row.last_confirmation_at,
            row.confirmations_since,
            row.confirmations,
        )
    }))
}

fn components_text(components: &Option<Vec<String>>) -> Option<String> {
    components
        .as_ref()
        .map(|names| serde_json::to_string(names).expect("names serialize"))
}

#[derive(Debug, sqlx::FromRow)]
struct DueRow {
    id: i64,
    kind: String,
    dedup_key: String,
    payload: Option<String>,
    attempts: i64,
    created_at: i64,
    update_id: Option<i64>,
    s_id: i64,
    s_page_id: i64,
    s_kind: String,
    s_address: String,
    s_components: Option<String>,
    s_created_at: i64,
    s_confirmed_at: Option<i64>,
    slug: String,
    page_title: String,
    channel_config: Option<String>,
    u_status: Option<String>,
    u_message: Option<String>,
    u_created_at: Option<i64>,
    first_update: Option<i64>,
    post_id: Option<i64>,
    post_title: Option<String>,
    post_impact: Option<String>,
    post_components: Option<String>,
}

impl DueRow {
    fn into_due(self) -> Result<DueStatusDelivery, StoreError> {
        let subscriber = SubscriberRow {
            id: self.s_id,
            page_id: self.s_page_id,
            kind: self.s_kind,
            address: self.s_address,
            components: self.s_components,
            created_at: self.s_created_at,
            confirmed_at: self.s_confirmed_at,
        }
        .into_subscriber()?;
        let bad = |what: &str| StoreError::Corrupt(format!("status delivery {}: {what}", self.id));
        let news = match (self.kind.as_str(), self.update_id) {
            ("maintenance", _) => DeliveryNews::Maintenance(
                serde_json::from_str(self.payload.as_deref().unwrap_or_default())
                    .map_err(|_| bad("maintenance"))?,
            ),
            ("confirm", _) => DeliveryNews::Confirmation,
            (_, None) => return Err(bad("update")),
            (_, Some(update_id)) => DeliveryNews::Update(PostNews {
                post_id: StatusIncidentId(self.post_id.ok_or_else(|| bad("post"))?),
                title: self.post_title.ok_or_else(|| bad("title"))?,
                impact: Impact::parse(self.post_impact.as_deref().unwrap_or_default())
                    .map_err(|_| bad("impact"))?,
                components: serde_json::from_str(self.post_components.as_deref().unwrap_or("[]"))
                    .map_err(|_| bad("components"))?,
                update_id,
                status: PostStatus::parse(self.u_status.as_deref().unwrap_or_default())
                    .map_err(|_| bad("status"))?,
                message: self.u_message.unwrap_or_default(),
                at: Timestamp(self.u_created_at.unwrap_or(self.created_at)),
                // A published draft is news of a new post, whichever update it had reached.
                first: self.first_update == Some(update_id)
                    || self
                        .dedup_key
                        .starts_with(UpdateNews::Published.key_prefix()),
            }),
        };
        Ok(DueStatusDelivery {
            id: self.id,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            created_at: Timestamp(self.created_at),
            subscriber,
            page_slug: self.slug,
            page_title: self.page_title,
            email_channel: self
                .channel_config
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|_| bad("channel settings"))?,
            news,
        })
    }
}

const DUE_SELECT: &str = "SELECT d.id, d.kind, d.dedup_key, d.payload, d.attempts, d.created_at, d.update_id, \
     s.id AS s_id, s.page_id AS s_page_id, s.kind AS s_kind, s.address AS s_address, \
     s.components AS s_components, s.created_at AS s_created_at, \
     s.confirmed_at AS s_confirmed_at, p.slug, p.title AS page_title, \
     CAST(c.config AS TEXT) AS channel_config, \
     u.status AS u_status, u.message AS u_message, u.created_at AS u_created_at, \
     (SELECT MIN(f.id) FROM status_incident_updates f WHERE f.incident_id = u.incident_id) \
       AS first_update, \
     i.id AS post_id, i.title AS post_title, i.impact AS post_impact, \
     i.components AS post_components \
     FROM status_deliveries d \
     JOIN status_subscribers s ON s.id = d.subscriber_id \
     JOIN status_pages p ON p.id = s.page_id \
     LEFT JOIN channels c ON c.id = p.subscriber_channel_id AND c.team_id = p.team_id \
       AND c.kind = 'email' \
     LEFT JOIN status_incident_updates u ON u.id = d.update_id \
     LEFT JOIN status_incidents i ON i.id = u.incident_id";

#[async_trait]
impl StatusSubscriberStore for DbStore {
    #[tracing::instrument(name = "store.page_subscriptions", level = "debug", skip_all)]
    async fn page_subscriptions(
        &self,
        team: TeamId,
        page: StatusPageId,
    ) -> Result<PageSubscriptions, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let email_channel_id = page_of_team(&mut tx, team, page).await?;
        let rows: Vec<SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM status_subscribers WHERE page_id = $1 \
             ORDER BY id DESC LIMIT $2"
        )))
        .bind(page.0)
        .bind(LIST_LIMIT)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PageSubscriptions {
            email_channel_id,
            subscribers: rows
                .into_iter()
                .map(SubscriberRow::into_subscriber)
                .collect::<Result<_, _>>()?,
        })
    }

    #[tracing::instrument(name = "store.set_subscriber_channel", level = "debug", skip_all)]
    async fn set_subscriber_channel(
        &self,
        team: TeamId,
        page: StatusPageId,
        channel: Option<ChannelId>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        page_of_team(&mut tx, team, page).await?;
        if let Some(channel) = channel {
            let email: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM channels WHERE id = $1 AND team_id = $2 AND kind = 'email'",
            )
            .bind(channel.0)
            .bind(team.0)
            .fetch_optional(&mut *tx)
            .await?;
            if email.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        sqlx::query(
            "UPDATE status_pages SET subscriber_channel_id = $1 WHERE id = $2 AND team_id = $3",
        )
        .bind(channel.map(|channel| channel.0))
        .bind(page.0)
        .bind(team.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.count_team_subscribers", level = "debug", skip_all)]
    async fn count_team_subscribers(&self, team: TeamId) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM status_subscribers WHERE team_id = $1 AND confirmed_at IS NOT NULL",
        )
                .bind(team.0)
                .fetch_one(self.reader())
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    #[tracing::instrument(name = "store.subscribe", level = "debug", skip_all)]
    async fn subscribe(
        &self,
        team: TeamId,
        page: StatusPageId,
        new: &NewSubscriber,
        now: Timestamp,
    ) -> Result<SignUpOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        page_of_team(&mut tx, team, page).await?;
        let components = components_text(&new.components);
        let existing = read_subscriber(&mut tx, page, new.kind, &new.address).await?;
        if new.kind == SubscriberKind::Webhook {
            if existing.is_some() {
                return Err(StoreError::Conflict(Conflict::new(
                    "url",
                    "the page already has a webhook subscriber with this URL",
                )));
            }
            let row: SubscriberRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO status_subscribers (team_id, page_id, kind, address, components, \
                 created_at, confirmed_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 RETURNING {SUBSCRIBER_COLUMNS}"
            )))
            .bind(team.0)
            .bind(page.0)
            .bind(new.kind.as_str())
            .bind(&new.address)
            .bind(components)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(SignUpOutcome::Queued(row.into_subscriber()?));
        }
        let (row, throttle) = match existing {
            Some((row, _, _, _)) if row.confirmed_at.is_some() => {
                tx.commit().await?;
                return Ok(SignUpOutcome::AlreadyConfirmed(row.into_subscriber()?));
            }
            Some((row, last, since, count)) => {
                let throttle = SignUpThrottle {
                    last: last.map(Timestamp),
                    since: since.map(Timestamp),
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                };
                (Some(row), throttle)
            }
            None => (
                None,
                SignUpThrottle {
                    last: None,
                    since: None,
                    count: 0,
                },
            ),
        };
        let throttle = match throttle.admit(now) {
            Ok(throttle) => throttle,
            Err(retry_after) => {
                tx.commit().await?;
                return Ok(SignUpOutcome::Throttled { retry_after });
            }
        };
        let last = throttle.last.map(|at| at.0);
        let since = throttle.since.map(|at| at.0);
        let count = i64::from(throttle.count);
        let row: SubscriberRow = match row {
            Some(row) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "UPDATE status_subscribers SET components = $1, last_confirmation_at = $2, \
                     confirmations_since = $3, confirmations = $4 WHERE id = $5 \
                     RETURNING {SUBSCRIBER_COLUMNS}"
                )))
                .bind(components)
                .bind(last)
                .bind(since)
                .bind(count)
                .bind(row.id)
                .fetch_one(&mut *tx)
                .await?
            }
            None => {
                // A sign-up of the same address committed since the read above wins; this
                // one is answered as throttled (its confirmation is on its way).
                let inserted: Option<SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO status_subscribers (team_id, page_id, kind, address, \
                     components, created_at, last_confirmation_at, confirmations_since, \
                     confirmations) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (page_id, kind, address) DO NOTHING \
                     RETURNING {SUBSCRIBER_COLUMNS}"
                )))
                .bind(team.0)
                .bind(page.0)
                .bind(new.kind.as_str())
                .bind(&new.address)
                .bind(components)
                .bind(now.0)
                .bind(last)
                .bind(since)
                .bind(count)
                .fetch_optional(&mut *tx)
                .await?;
                match inserted {
                    Some(row) => row,
                    None => {
                        tx.commit().await?;
                        return Ok(SignUpOutcome::Throttled {
                            retry_after: u64::try_from(SignUpThrottle::GAP_MS / 1000)
                                .unwrap_or(600),
                        });
                    }
                }
            }
        };
        sqlx::query(
            "INSERT INTO status_deliveries (subscriber_id, kind, dedup_key, status, due_at, \
             created_at) VALUES ($1, 'confirm', $2, 'pending', $3, $3) \
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(row.id)
        .bind(format!("confirm:{}:{}", row.id, now.0))
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(SignUpOutcome::Queued(row.into_subscriber()?))
    }

    #[tracing::instrument(name = "store.page_subscriber", level = "debug", skip_all)]
    async fn page_subscriber(
        &self,
        page: StatusPageId,
        id: StatusSubscriberId,
    ) -> Result<Option<StatusSubscriber>, StoreError> {
        let row: Option<SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM status_subscribers WHERE id = $1 AND page_id = $2"
        )))
        .bind(id.0)
        .bind(page.0)
        .fetch_optional(self.reader())
        .await?;
        row.map(SubscriberRow::into_subscriber).transpose()
    }

    #[tracing::instrument(name = "store.confirm_subscriber", level = "debug", skip_all)]
    async fn confirm_subscriber(
        &self,
        page: StatusPageId,
        id: StatusSubscriberId,
        address: &str,
        now: Timestamp,
    ) -> Result<Option<StatusSubscriber>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE status_subscribers SET confirmed_at = $1 WHERE id = $2 AND page_id = $3 \
             AND address = $4 AND confirmed_at IS NULL",
        )
        .bind(now.0)
        .bind(id.0)
        .bind(page.0)
        .bind(address)
        .execute(&mut *tx)
        .await?;
        let row: Option<SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM status_subscribers WHERE id = $1 AND page_id = $2 \
             AND address = $3"
        )))
        .bind(id.0)
        .bind(page.0)
        .bind(address)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(SubscriberRow::into_subscriber).transpose()
    }

    #[tracing::instrument(name = "store.unsubscribe", level = "debug", skip_all)]
    async fn unsubscribe(
        &self,
        page: StatusPageId,
        id: StatusSubscriberId,
        address: &str,
    ) -> Result<bool, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM status_subscribers WHERE id = $1 AND page_id = $2 AND address = $3",
        )
        .bind(id.0)
        .bind(page.0)
        .bind(address)
        .execute(self.writer())
        .await?;
        Ok(deleted.rows_affected() == 1)
    }

    #[tracing::instrument(name = "store.remove_subscriber", level = "debug", skip_all)]
    async fn remove_subscriber(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusSubscriberId,
    ) -> Result<(), StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM status_subscribers WHERE id = $1 AND page_id = $2 AND team_id = $3",
        )
        .bind(id.0)
        .bind(page.0)
        .bind(team.0)
        .execute(self.writer())
        .await?;
        if deleted.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    #[tracing::instrument(name = "store.pages_with_subscribers", level = "debug", skip_all)]
    async fn pages_with_subscribers(&self) -> Result<Vec<(TeamId, StatusPageId)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT DISTINCT team_id, page_id FROM status_subscribers \
             WHERE confirmed_at IS NOT NULL ORDER BY page_id",
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(team, page)| (TeamId(team), StatusPageId(page)))
            .collect())
    }

    #[tracing::instrument(name = "store.enqueue_maintenance", level = "debug", skip_all)]
    async fn enqueue_maintenance(
        &self,
        page: StatusPageId,
        notice: &MaintenanceNotice,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let payload = serde_json::to_string(notice).expect("a notice serializes");
        let components = serde_json::to_string(&notice.components).expect("names serialize");
        let key = format!("maintenance:{}:{}:", notice.window_id, notice.starts_at.0);
        let sql = format!(
            "INSERT INTO status_deliveries (subscriber_id, kind, payload, dedup_key, status, \
             due_at, created_at) \
             SELECT s.id, 'maintenance', $1, $2 || CAST(s.id AS TEXT), 'pending', $3, $3 \
             FROM status_subscribers s WHERE s.page_id = $4 AND s.confirmed_at IS NOT NULL \
             AND (s.components IS NULL OR {}) \
             ON CONFLICT (dedup_key) DO NOTHING",
            dialect::subscriber_follows_any(5)
        );
        let inserted = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(payload)
            .bind(key)
            .bind(now.0)
            .bind(page.0)
            .bind(components)
            .execute(self.writer())
            .await?;
        Ok(inserted.rows_affected())
    }

    #[tracing::instrument(name = "store.prune_status_subscribers", level = "debug", skip_all)]
    async fn prune_status_subscribers(
        &self,
        unconfirmed_before: Timestamp,
        finished_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let subscribers = sqlx::query(
            "DELETE FROM status_subscribers WHERE confirmed_at IS NULL AND created_at < $1 \
             AND (last_confirmation_at IS NULL OR last_confirmation_at < $1)",
        )
        .bind(unconfirmed_before.0)
        .execute(&mut *tx)
        .await?;
        let deliveries = sqlx::query(
            "DELETE FROM status_deliveries WHERE status <> 'pending' AND finished_at < $1",
        )
        .bind(finished_before.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(subscribers.rows_affected() + deliveries.rows_affected())
    }

    #[tracing::instrument(name = "store.next_status_delivery_due", level = "debug", skip_all)]
    async fn next_status_delivery_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(due_at) FROM status_deliveries WHERE status = 'pending'",
        )
        .fetch_one(self.reader())
        .await?;
        Ok(at.map(Timestamp))
    }

    #[tracing::instrument(name = "store.claim_status_deliveries", level = "debug", skip_all)]
    async fn claim_status_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueStatusDelivery>, StoreError> {
        let mut tx = self.begin_write().await?;
        // The outer conditions keep two instances from claiming one row (see
        // `claim_notifications`).
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE status_deliveries SET due_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT d.id FROM status_deliveries d WHERE d.status = 'pending' \
             AND d.due_at <= $2 AND NOT EXISTS (SELECT 1 FROM status_deliveries e \
             WHERE e.subscriber_id = d.subscriber_id AND e.status = 'pending' AND e.id < d.id \
             AND e.due_at > $2) ORDER BY d.due_at, d.id LIMIT $3) \
             AND status = 'pending' AND due_at <= $2 RETURNING id",
        )
        .bind(lease_until.0)
        .bind(now.0)
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let sql = format!(
            "{DUE_SELECT} WHERE d.id {} ORDER BY d.id",
            dialect::in_ids(1)
        );
        let rows: Vec<DueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(dialect::id_list(&ids))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.into_iter().map(DueRow::into_due).collect()
    }

    #[tracing::instrument(name = "store.finish_status_delivery", level = "debug", skip_all)]
    async fn finish_status_delivery(
        &self,
        id: i64,
        outcome: &StatusDeliveryOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (status, due, error, finished) = match outcome {
            StatusDeliveryOutcome::Delivered => ("delivered", at.0, None, Some(at.0)),
            StatusDeliveryOutcome::Retry { at: next, error } => {
                ("pending", next.0, Some(error.as_str()), None)
            }
            StatusDeliveryOutcome::Failed { error } => {
                ("failed", at.0, Some(error.as_str()), Some(at.0))
            }
        };
        sqlx::query(
            "UPDATE status_deliveries SET status = $1, due_at = $2, last_error = $3, \
             finished_at = $4 WHERE id = $5 AND status = 'pending'",
        )
        .bind(status)
        .bind(due)
        .bind(error)
        .bind(finished)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
