//! The dashboard's static files (stylesheet, scripts, vendored htmx and uPlot): embedded in the
//! binary, served under content-hashed names as immutable, gzip-compressed once at first use.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

#[derive(RustEmbed)]
#[folder = "assets/"]
#[exclude = "*.md"]
struct Files;

/// One file as it is served.
struct Asset {
    /// `/assets/<stem>.<hash>.<ext>`
    url: String,
    content_type: &'static str,
    body: Vec<u8>,
    /// Present when compressing saved something.
    gzipped: Option<Vec<u8>>,
}

struct Catalog {
    /// Logical path (`app.css`, `vendor/htmx-2.0.11.min.js`) to its asset.
    by_path: HashMap<String, Asset>,
    /// Hashed file name to logical path.
    by_name: HashMap<String, String>,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "text/plain; charset=utf-8",
    }
}

/// `vendor/uplot.min.js` with hash `ab12...` becomes `uplot.min.ab12cd34ef56.js`.
fn hashed_name(path: &str, hash: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    match file.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{file}.{hash}"),
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(body).ok()?;
    let compressed = encoder.finish().ok()?;
    (compressed.len() < body.len()).then_some(compressed)
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut by_path = HashMap::new();
        let mut by_name = HashMap::new();
        for path in Files::iter() {
            let Some(file) = Files::get(&path) else {
                continue;
            };
            let body = file.data.into_owned();
            let hash = hex::encode(Sha256::digest(&body));
            let name = hashed_name(&path, &hash[..12]);
            let compressible = !path.ends_with(".png") && !path.ends_with(".ico");
            by_name.insert(name.clone(), path.to_string());
            by_path.insert(
                path.to_string(),
                Asset {
                    url: format!("/assets/{name}"),
                    content_type: content_type(&path),
                    gzipped: if compressible { gzip(&body) } else { None },
                    body,
                },
            );
        }
        Catalog { by_path, by_name }
    })
}

/// The URL of an embedded file, by its path under `assets/`. Panics on a path that is not
/// embedded: every caller names a file of this crate, and the tests render every page.
pub fn url(path: &str) -> &'static str {
    match catalog().by_path.get(path) {
        Some(asset) => &asset.url,
        None => panic!("no embedded asset {path}"),
    }
}

/// The URLs every page's layout links to.
#[derive(Debug, Clone, Copy)]
pub struct AssetUrls {
    pub stylesheet: &'static str,
    pub theme_script: &'static str,
    pub app_script: &'static str,
    pub htmx: &'static str,
    pub uplot: &'static str,
    pub uplot_css: &'static str,
}

impl AssetUrls {
    pub fn get() -> Self {
        Self {
            stylesheet: url("app.css"),
            theme_script: url("theme.js"),
            app_script: url("app.js"),
            htmx: url("vendor/htmx-2.0.11.min.js"),
            uplot: url("vendor/uplot-1.6.32.min.js"),
            uplot_css: url("vendor/uplot-1.6.32.min.css"),
        }
    }
}

/// Whether the client takes a gzip body (`Accept-Encoding: gzip`, not refused with `q=0`).
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.trim().split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// `GET /assets/{name}`: a hashed name never changes content, so it is cached for a year.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let catalog = catalog();
    let Some(asset) = catalog
        .by_name
        .get(&name)
        .and_then(|path| catalog.by_path.get(path))
    else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    match &asset.gzipped {
        Some(gzipped) if accepts_gzip(&headers) => {
            response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (response_headers, gzipped.clone()).into_response()
        }
        _ => (response_headers, asset.body.clone()).into_response(),
    }
}

/// Bytes of JavaScript the dashboard sends, gzipped, for the page-weight figures.
pub fn script_bytes_gzipped() -> usize {
    catalog()
        .by_path
        .iter()
        .filter(|(path, _)| path.ends_with(".js"))
        .map(|(_, asset)| asset.gzipped.as_ref().map_or(asset.body.len(), Vec::len))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_files_match_their_recorded_checksums() {
        let readme = include_str!("../../assets/vendor/README.md");
        for path in [
            "vendor/htmx-2.0.11.min.js",
            "vendor/uplot-1.6.32.min.js",
            "vendor/uplot-1.6.32.min.css",
        ] {
            let body = Files::get(path).expect("embedded").data;
            let hash = hex::encode(Sha256::digest(&body));
            assert!(
                readme.contains(&hash),
                "{path}: sha256 {hash} is not the one recorded in assets/vendor/README.md"
            );
        }
    }

    #[test]
    fn every_layout_asset_has_a_hashed_url_that_serves_it() {
        let urls = AssetUrls::get();
        for url in [
            urls.stylesheet,
            urls.theme_script,
            urls.app_script,
            urls.htmx,
            urls.uplot,
            urls.uplot_css,
        ] {
            let name = url.strip_prefix("/assets/").expect("under /assets/");
            assert!(catalog().by_name.contains_key(name), "{url}");
            // <stem>.<12 hex digits>.<ext>
            let parts: Vec<&str> = name.rsplitn(3, '.').collect();
            assert_eq!(parts[1].len(), 12, "{name}");
        }
    }

    #[test]
    fn the_dashboard_sends_under_60_kb_of_javascript_gzipped() {
        let bytes = script_bytes_gzipped();
        assert!(bytes < 60 * 1024, "{bytes} bytes of JavaScript");
    }

    #[test]
    fn gzip_is_offered_only_when_accepted() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts_gzip(&headers));
    }
}
