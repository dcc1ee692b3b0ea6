//! Status page subscribers' messages: claims due rows of the subscribers' outbox
//! (`status_deliveries`), writes each message (the double opt-in email with its signed
//! confirmation link, or a post's update with a one-click unsubscribe link) and sends it through
//! the page's subscriber email channel or to the webhook subscriber's URL. A claim is a lease, as
//! in the alert dispatcher: a crash mid-delivery leaves the row to be claimed again after the
//! lease, sent under the same Message-ID or `webhook-id`, so nothing is lost and a receiver that
//! deduplicates sees it once.

use crate::channels::email::{self, EmailConfig};
use crate::channels::{ChannelConfig, DeliveryError, Sender, guard};
use crate::links::{SubscriberLink, subscriber_path, subscriber_token};
use crate::render::escape_html;
use futures::StreamExt;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchtower_core::{PostStatus, SubscriberKind, Timestamp};
use watchtower_store::{DeliveryNews, DueStatusDelivery, PostNews, StatusDeliveryOutcome, Store};

#[derive(Debug, Clone)]
pub struct SubscriberDelivery {
    /// The longest sleep between rounds when nothing is due (automatic posts, written by the
    /// result writer, are found by this poll; the API rings `wake`).
    pub idle_poll: Duration,
    /// Messages claimed at once, and sent at once.
    pub batch: u32,
    pub concurrency: usize,
    /// How long a claimed message stays invisible to other claims (longer than a delivery's
    /// bound, so a slow one is not sent twice).
    pub lease: Duration,
    /// Retries stop this long after the message was queued; it is then marked failed.
    pub give_up_after: Duration,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Where visitors reach WatchTower: the links in messages. Without it no email can go out
    /// (its links could not be written); webhooks still do.
    pub public_url: Option<String>,
    /// The instance's secret for the signed links (`Store::link_secret`).
    pub link_secret: Option<String>,
    /// Rung by whoever queues messages.
    pub wake: Option<Arc<tokio::sync::Notify>>,
}

impl Default for SubscriberDelivery {
    fn default() -> Self {
        Self {
            // The dispatcher's idle read, no more often (docs/PERFORMANCE.md, "An idle
            // instance"): the API rings `wake`; automatic posts wait at most this long.
            idle_poll: Duration::from_secs(5),
            batch: 50,
            concurrency: 8,
            // A round of 50 messages, one subscriber's in a row, may take minutes against slow
            // receivers: the lease outlasts it.
            lease: Duration::from_secs(300),
            give_up_after: Duration::from_secs(24 * 3600),
            first_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            public_url: None,
            link_secret: None,
            wake: None,
        }
    }
}

/// Starts the delivery loop; it stops when `stop` is cancelled, after the round in flight.
pub fn start(
    store: Arc<dyn Store>,
    sender: Arc<Sender>,
    config: SubscriberDelivery,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = Timestamp::now();
            let next_due = match store.next_status_delivery_due().await {
                Ok(at) => at,
                Err(error) => {
                    tracing::warn!(%error, "reading the subscribers' outbox failed; will retry");
                    None
                }
            };
            let mut busy = false;
            if next_due.is_some_and(|at| at <= now) {
                match deliver_once(&*store, &sender, &config, now).await {
                    Ok(claimed) => busy = claimed >= config.batch as usize,
                    Err(error) => {
                        tracing::warn!(%error, "claiming subscriber messages failed; will retry");
                    }
                }
            }
            if busy {
                continue;
            }
            let wait = next_due
                .filter(|at| *at > now)
                .map_or(config.idle_poll, |at| at.since(now))
                .min(config.idle_poll)
                .max(Duration::from_millis(50));
            let woken = async {
                match &config.wake {
                    Some(wake) => wake.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = woken => {}
            }
        }
    })
}

/// Claims what is due at `now` and sends it, waiting for the round; returns how many were
/// claimed.
pub async fn deliver_once(
    store: &dyn Store,
    sender: &Sender,
    config: &SubscriberDelivery,
    now: Timestamp,
) -> Result<usize, watchtower_store::StoreError> {
    let due = store
        .claim_status_deliveries(now, now.plus(config.lease), config.batch)
        .await?;
    let claimed = due.len();
    // One subscriber's messages go in the order they were queued (an update never before the
    // incident it updates); different subscribers' go at once.
    let mut by_subscriber: Vec<Vec<DueStatusDelivery>> = Vec::new();
    for item in due {
        match by_subscriber
            .iter_mut()
            .find(|queue| queue[0].subscriber.id == item.subscriber.id)
        {
            Some(queue) => queue.push(item),
            None => by_subscriber.push(vec![item]),
        }
    }
    futures::stream::iter(by_subscriber)
        .for_each_concurrent(config.concurrency.max(1), |queue| async move {
            for item in queue {
                deliver_one(store, sender, config, item).await;
            }
        })
        .await;
    Ok(claimed)
}

/// Sends one message and records how it went.
async fn deliver_one(
    store: &dyn Store,
    sender: &Sender,
    config: &SubscriberDelivery,
    item: DueStatusDelivery,
) {
    let outcome = match send(sender, config, &item).await {
        Ok(()) => StatusDeliveryOutcome::Delivered,
        Err(error) => next_step(config, &item, error, Timestamp::now()),
    };
    if let StatusDeliveryOutcome::Failed { error } | StatusDeliveryOutcome::Retry { error, .. } =
        &outcome
    {
        tracing::info!(id = item.id, attempts = item.attempts, %error, "a subscriber message was not delivered");
    }
    if let Err(error) = store
        .finish_status_delivery(item.id, &outcome, Timestamp::now())
        .await
    {
        // The lease runs out and the message is sent again under the same key.
        tracing::warn!(%error, id = item.id, "cannot record a subscriber delivery");
    }
}

/// Retry with doubling backoff while the error may pass and the message is not too old.
fn next_step(
    config: &SubscriberDelivery,
    item: &DueStatusDelivery,
    error: DeliveryError,
    now: Timestamp,
) -> StatusDeliveryOutcome {
    let expired = now.0 >= item.created_at.plus(config.give_up_after).0;
    if !error.retryable || expired {
        return StatusDeliveryOutcome::Failed {
            error: error.message,
        };
    }
    let doublings = item.attempts.saturating_sub(1).min(16);
    let backoff = config
        .first_backoff
        .saturating_mul(1 << doublings)
        .min(config.max_backoff)
        .max(error.retry_after.unwrap_or_default());
    StatusDeliveryOutcome::Retry {
        at: now.plus(backoff),
        error: error.message,
    }
}

async fn send(
    sender: &Sender,
    config: &SubscriberDelivery,
    item: &DueStatusDelivery,
) -> Result<(), DeliveryError> {
    match item.subscriber.kind {
        SubscriberKind::Email => {
            let channel = email_channel(item)?;
            let message = email_message(config, &channel, item)?;
            email::send(sender.options(), &channel, message).await?;
        }
        SubscriberKind::Webhook => {
            let body = webhook_body(config, item)?;
            // The resolver judges host names; a literal address is judged here (multi-tenant
            // instances reach only public addresses).
            let url = url::Url::parse(&item.subscriber.address)
                .map_err(|_| DeliveryError::permanent("the webhook URL does not parse"))?;
            guard::check_endpoint(sender.options().address_policy, url.host_str())
                .map_err(DeliveryError::permanent)?;
            let request = sender
                .http()
                .post(&item.subscriber.address)
                .header("webhook-id", format!("status-delivery-{}", item.id))
                .json(&body);
            sender.send(request).await?;
        }
    }
    Ok(())
}

/// The page's subscriber email channel's settings. A page without one (removed since the
/// message was queued) is retried: the team may set one again within the day.
fn email_channel(item: &DueStatusDelivery) -> Result<EmailConfig, DeliveryError> {
    let Some(settings) = &item.email_channel else {
        return Err(DeliveryError::transient(
            "the status page has no subscriber email channel",
        ));
    };
    match ChannelConfig::parse(settings, "") {
        Ok(ChannelConfig::Email(config)) => Ok(config),
        _ => Err(DeliveryError::transient(
            "the status page's subscriber email channel has unusable settings",
        )),
    }
}

/// The page's public address, and a link's, under the public URL.
struct PageLinks {
    page: String,
    confirm: String,
    unsubscribe: String,
}

fn page_links(
    config: &SubscriberDelivery,
    item: &DueStatusDelivery,
) -> Result<PageLinks, DeliveryError> {
    let (Some(base), Some(secret)) = (&config.public_url, &config.link_secret) else {
        return Err(DeliveryError::permanent(
            "WatchTower has no public URL (serve --public-url), so the email's links cannot be written",
        ));
    };
    let base = base.trim_end_matches('/');
    let subscriber = &item.subscriber;
    let link = |kind: SubscriberLink| {
        let token = subscriber_token(
            secret,
            kind,
            subscriber.id,
            &subscriber.address,
            item.created_at,
        );
        format!(
            "{base}{}",
            subscriber_path(&item.page_slug, kind, subscriber.id, &token)
        )
    };
    Ok(PageLinks {
        page: format!("{base}/status/{}", item.page_slug),
        confirm: link(SubscriberLink::Confirm),
        unsubscribe: link(SubscriberLink::Unsubscribe),
    })
}

/// `2026-12-07 20:15 UTC`.
fn when(at: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.0)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn affected(news: &PostNews) -> String {
    news.components
        .iter()
        .map(|component| {
            format!(
                "{} ({})",
                component.name,
                component.state.label().to_lowercase()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a message says: subject, text paragraphs and the links after them.
struct Content {
    subject: String,
    paragraphs: Vec<String>,
    links: Vec<(&'static str, String)>,
}

fn content(item: &DueStatusDelivery, links: &PageLinks) -> Content {
    let page = &item.page_title;
    match &item.news {
        DeliveryNews::Confirmation => Content {
            subject: format!("Confirm your subscription to {page}"),
            paragraphs: vec![
                format!(
                    "Someone, hopefully you, asked for the status updates of {page} to be sent to \
                     this address. Follow the link below to confirm; it works for 7 days."
                ),
                "If you did not ask, ignore this email: nothing more will be sent.".to_owned(),
            ],
            links: vec![("Confirm the subscription", links.confirm.clone())],
        },
        DeliveryNews::Update(news) => {
            let kind = if news.status == PostStatus::Resolved {
                "Resolved"
            } else if news.first {
                "New incident"
            } else {
                "Update"
            };
            let mut paragraphs = vec![
                format!("{}: {}", news.status.label(), news.message),
                format!(
                    "Impact: {} ({})",
                    news.impact.label(),
                    news.impact.meaning()
                ),
            ];
            if !news.components.is_empty() {
                paragraphs.push(format!("Affected: {}", affected(news)));
            }
            paragraphs.push(format!("Posted {}.", when(news.at)));
            Content {
                subject: format!("[{page}] {kind}: {}", news.title),
                paragraphs,
                links: vec![
                    ("The status page", links.page.clone()),
                    ("Unsubscribe", links.unsubscribe.clone()),
                ],
            }
        }
        // The window's name is the team's (it may say what the page never does): subscribers
        // read "scheduled maintenance" and the components, as the page shows it.
        DeliveryNews::Maintenance(notice) => {
            let mut paragraphs = vec![format!(
                "Scheduled maintenance is under way, from {} until {}.",
                when(notice.starts_at),
                when(notice.ends_at)
            )];
            if !notice.components.is_empty() {
                paragraphs.push(format!("Affected: {}", notice.components.join(", ")));
            }
            Content {
                subject: format!("[{page}] Scheduled maintenance has begun"),
                paragraphs,
                links: vec![
                    ("The status page", links.page.clone()),
                    ("Unsubscribe", links.unsubscribe.clone()),
                ],
            }
        }
    }
}

fn email_message(
    config: &SubscriberDelivery,
    channel: &EmailConfig,
    item: &DueStatusDelivery,
) -> Result<Message, DeliveryError> {
    let links = page_links(config, item)?;
    let Content {
        subject,
        paragraphs,
        links: listed,
    } = content(item, &links);
    let to: Mailbox = item
        .subscriber
        .address
        .parse()
        .map_err(|_| DeliveryError::permanent("the subscriber's address cannot be written"))?;
    let mut text = paragraphs.join("\n\n");
    text.push_str("\n\n");
    let mut html = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<h2>{}</h2>\n",
        escape_html(&subject)
    );
    for paragraph in &paragraphs {
        html.push_str(&format!("<p>{}</p>\n", escape_html(paragraph)));
    }
    for (label, url) in &listed {
        text.push_str(&format!("{label}: {url}\n"));
        html.push_str(&format!(
            "<p><a href=\"{}\">{label}</a></p>\n",
            escape_html(url)
        ));
    }
    html.push_str("</body></html>\n");
    let mut builder = Message::builder()
        .from(channel.from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(format!(
            "<status-delivery.{}@{}>",
            item.id,
            channel.from.email.domain()
        )))
        // The message's queueing time, so a retried copy is identical.
        .date(SystemTime::UNIX_EPOCH + Duration::from_millis(item.created_at.0.max(0) as u64));
    if !matches!(item.news, DeliveryNews::Confirmation) {
        // RFC 8058: mail clients offer a one-click unsubscribe that POSTs to this link.
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}>", links.unsubscribe),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|error| DeliveryError::permanent(format!("the email could not be built: {error}")))
}

/// A webhook subscriber's JSON: the page, and the post as it stands with the update, or the
/// maintenance that began.
fn webhook_body(
    config: &SubscriberDelivery,
    item: &DueStatusDelivery,
) -> Result<serde_json::Value, DeliveryError> {
    let page_url = config
        .public_url
        .as_ref()
        .map(|base| format!("{}/status/{}", base.trim_end_matches('/'), item.page_slug));
    let page = json!({"slug": item.page_slug, "title": item.page_title, "url": page_url});
    Ok(match &item.news {
        DeliveryNews::Confirmation => {
            return Err(DeliveryError::permanent(
                "a webhook subscriber has nothing to confirm",
            ));
        }
        DeliveryNews::Maintenance(notice) => json!({
            "version": 1,
            "type": "maintenance.started",
            "page": page,
            "maintenance": {
                "starts_at": notice.starts_at,
                "ends_at": notice.ends_at,
                "components": notice.components,
            },
        }),
        DeliveryNews::Update(news) => {
            let event = if news.status == PostStatus::Resolved {
                "incident.resolved"
            } else if news.first {
                "incident.created"
            } else {
                "incident.updated"
            };
            json!({
                "version": 1,
                "type": event,
                "page": page,
                "incident": {
                    "id": news.post_id,
                    "title": news.title,
                    "impact": news.impact,
                    "status": news.status,
                    "components": news.components,
                },
                "update": {
                    "id": news.update_id,
                    "status": news.status,
                    "message": news.message,
                    "created_at": news.at,
                },
            })
        }
    })
}
