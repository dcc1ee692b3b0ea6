//! A page's incident posts and maintenance as RSS 2.0 and Atom feeds. The items come from the
//! cached rendering (`FeedSource`); the XML is written per request because its links are
//! absolute: on the instance's public URL when one is configured, otherwise on the host the
//! request named (never stored, so a forged Host header reaches only its own sender). Every
//! text is escaped and stripped of characters XML 1.0 cannot hold.

use super::posts::{MaintenanceView, PostView};
use quick_xml::escape::escape;
use std::fmt::Write;
use watchtower_core::Timestamp;

/// The most posts a feed carries.
pub const FEED_POSTS: u32 = 50;

/// What a page's feeds say, read with the page.
#[derive(Debug, Clone)]
pub struct FeedSource {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// Newest first.
    pub posts: Vec<PostView>,
    pub maintenance: Vec<MaintenanceView>,
    /// When the page was read.
    pub read_at: Timestamp,
}

impl Default for FeedSource {
    fn default() -> Self {
        Self {
            slug: String::new(),
            title: String::new(),
            description: String::new(),
            posts: Vec::new(),
            maintenance: Vec::new(),
            read_at: Timestamp(0),
        }
    }
}

/// One entry, the same for both formats.
struct Item {
    title: String,
    link: String,
    id: String,
    published: Timestamp,
    updated: Timestamp,
    summary: String,
}

/// Text fit for XML: characters XML 1.0 forbids removed, then escaped.
fn text(raw: &str) -> String {
    let allowed: String = raw
        .chars()
        .filter(|c| matches!(c, '\t' | '\n' | '\r') || !c.is_control())
        .filter(|c| !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .collect();
    escape(&allowed).into_owned()
}

fn items(source: &FeedSource, base: &str) -> Vec<Item> {
    let page = format!("{base}/status/{}", source.slug);
    let mut items: Vec<Item> = source
        .posts
        .iter()
        .map(|post| {
            let link = format!("{page}/history?month={}#incident-{}", post.month, post.id);
            let timeline: Vec<String> = post
                .updates
                .iter()
                .map(|u| format!("{} ({}): {}", u.status, u.when_iso, u.message))
                .collect();
            let affected: Vec<String> = post
                .components
                .iter()
                .map(|c| format!("{}: {}", c.name, c.state.label()))
                .collect();
            let mut summary = String::new();
            if !affected.is_empty() {
                let _ = writeln!(summary, "Affected: {}", affected.join(", "));
            }
            summary.push_str(&timeline.join("\n"));
            Item {
                title: format!("[{}] {} ({})", post.status, post.title, post.impact),
                id: format!("{page}#incident-{}", post.id),
                link,
                published: post.created_at,
                updated: post.updated_at,
                summary,
            }
        })
        .collect();
    for m in &source.maintenance {
        items.push(Item {
            title: format!("Scheduled maintenance: {}", m.components),
            link: format!("{page}#maintenance"),
            id: format!("{page}#maintenance-{}-{}", m.starts_at.0, m.ends_at.0),
            published: m.starts_at,
            updated: m.starts_at,
            summary: format!(
                "{} from {} to {} ({})",
                m.components,
                m.starts_iso,
                m.ends_iso,
                if m.in_progress {
                    "in progress"
                } else {
                    "scheduled"
                }
            ),
        });
    }
    items
}

fn rfc2822(at: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.0)
        .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string())
        .unwrap_or_default()
}

fn rfc3339(at: Timestamp) -> String {
    crate::web::format::iso(at)
}

fn newest(source: &FeedSource) -> Timestamp {
    source
        .posts
        .iter()
        .map(|p| p.updated_at)
        .max()
        .unwrap_or(source.read_at)
}

/// The RSS 2.0 document.
pub fn rss(source: &FeedSource, base: &str) -> String {
    let page = format!("{base}/status/{}", source.slug);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>");
    let _ = write!(
        out,
        "<title>{}</title><link>{}</link><description>{}</description>\
         <atom:link href=\"{}/rss\" rel=\"self\" type=\"application/rss+xml\"/>\
         <lastBuildDate>{}</lastBuildDate>",
        text(&source.title),
        text(&page),
        text(&description(source)),
        text(&page),
        rfc2822(newest(source)),
    );
    for item in items(source, base) {
        let _ = write!(
            out,
            "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}@{}</guid>\
             <pubDate>{}</pubDate><description>{}</description></item>",
            text(&item.title),
            text(&item.link),
            text(&item.id),
            item.updated.0,
            rfc2822(item.updated),
            text(&item.summary),
        );
    }
    out.push_str("</channel></rss>\n");
    out
}

/// The Atom document.
pub fn atom(source: &FeedSource, base: &str) -> String {
    let page = format!("{base}/status/{}", source.slug);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">");
    let _ = write!(
        out,
        "<title>{}</title><subtitle>{}</subtitle><id>{}</id><updated>{}</updated>\
         <link href=\"{}\"/><link rel=\"self\" type=\"application/atom+xml\" href=\"{}/atom\"/>\
         <author><name>{}</name></author>",
        text(&source.title),
        text(&description(source)),
        text(&page),
        rfc3339(newest(source)),
        text(&page),
        text(&page),
        text(&source.title),
    );
    for item in items(source, base) {
        let _ = write!(
            out,
            "<entry><title>{}</title><id>{}</id><link href=\"{}\"/><published>{}</published>\
             <updated>{}</updated><summary type=\"text\">{}</summary></entry>",
            text(&item.title),
            text(&item.id),
            text(&item.link),
            rfc3339(item.published),
            rfc3339(item.updated),
            text(&item.summary),
        );
    }
    out.push_str("</feed>\n");
    out
}

fn description(source: &FeedSource) -> String {
    if source.description.is_empty() {
        format!("Incidents and maintenance of {}", source.title)
    } else {
        source.description.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_loses_what_xml_cannot_hold() {
        assert_eq!(
            text("a<b>&\"c'\u{1}\u{7}\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\n"
        );
    }
}
