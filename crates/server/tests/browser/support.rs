//! A real Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`), against
//! the real application on a temporary SQLite database. One browser at a time: each story
//! takes `BrowserLock`, so two cores are not shared by several Chromiums.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use crate::app::*;

static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the stories can run: without a browser they are skipped with a note, unless
/// `WATCHTOWER_REQUIRE_BROWSER` is set (CI sets it), where a missing browser is a failure.
pub fn browser_available() -> bool {
    if std::path::Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    if std::env::var_os("WATCHTOWER_REQUIRE_BROWSER").is_some() {
        panic!(
            "WATCHTOWER_REQUIRE_BROWSER is set but {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        );
    }
    eprintln!("note: {CHROMEDRIVER} is missing; browser stories skipped");
    false
}

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session; `close` it (a guard's drop cannot await).
pub struct Browser {
    pub client: Client,
    _driver: Driver,
    _lock: tokio::sync::MutexGuard<'static, ()>,
    pub base: String,
    pub theme: &'static str,
}

impl Browser {
    /// Opens Chromium at phone or desktop width, in the light theme or (`dark`) with the system
    /// set to dark.
    pub async fn open(base: &str, dark: bool) -> Browser {
        Self::open_with(base, dark, &[]).await
    }

    /// As [`open`](Self::open), with more Chromium switches: `--blink-settings=scriptEnabled=false`
    /// for a visitor without JavaScript, `--host-resolver-rules=MAP name 127.0.0.1` for a custom
    /// domain.
    pub async fn open_with(base: &str, dark: bool, switches: &[&str]) -> Browser {
        let lock = BROWSER_LOCK.lock().await;
        let port = watchtower_testkit::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, port };
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--window-size=1280,1000",
        ];
        if dark {
            args.push("--force-dark-mode");
        }
        args.extend_from_slice(switches);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), json!({ "args": args }));
        let url = format!("http://127.0.0.1:{}", driver.port);
        let mut client = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(connected) => {
                    client = Some(connected);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Browser {
            client: client.expect("a WebDriver session within 10 s"),
            _driver: driver,
            _lock: lock,
            base: base.to_owned(),
            theme: if dark { "dark" } else { "light" },
        }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    pub async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.expect(css);
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("click");
    }

    /// Clicks a link or submit button and waits (at most 10 s) until the page it loads has
    /// replaced the current one, so that the next lookup cannot find an element of the old page.
    pub async fn click_and_load(&self, css: &str) {
        self.client
            .execute("window.__previousPage = true;", vec![])
            .await
            .expect("mark the page");
        self.click(css).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            // Errors are expected while the old document is being torn down.
            let loaded = self
                .client
                .execute(
                    "return window.__previousPage !== true && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "clicking {css} loaded no new page within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .select_by_value(value)
            .await
            .expect("select");
    }

    /// Waits (at most `seconds`) for an element.
    pub async fn wait_for(&self, css: &str, seconds: u64) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(seconds))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("{css} within {seconds} s"))
    }

    /// Waits (at most `seconds`) until the element's text is `text`, as a page that updates
    /// itself changes it.
    pub async fn wait_for_text(&self, css: &str, text: &str, seconds: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.text().await.is_ok_and(|now| now == text)
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} did not read {text:?} within {seconds} s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.expect(css) {
            out.push(element.text().await.unwrap_or_default());
        }
        out
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect(css)
            .len()
    }

    pub async fn sign_in(&self, email: &str) {
        self.go("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click_and_load("form[action='/login'] button[type=submit]")
            .await;
        self.wait_for("nav.site-nav", 10).await;
    }

    /// Walks the page with the Tab key from the top (at most `presses`) and returns what is
    /// wrong: visible controls the walk never reached, and reached ones drawn without a focus
    /// outline. What Tab reaches is what a keyboard user can use.
    pub async fn keyboard_problems(&self, presses: usize) -> Vec<String> {
        let controls = self
            .client
            .execute(
                "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);\
                 document.body.addEventListener('htmx:beforeRequest', e => e.preventDefault());\
                 const all = document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [tabindex]');\
                 let n = 0;\
                 for (const el of all) {\
                   if (el.disabled || el.closest('[hidden], fieldset[disabled]') || el.tabIndex < 0) continue;\
                   if (el.getClientRects().length === 0) continue;\
                   el.setAttribute('data-keyboard-walk', String(n++));\
                 }\
                 return n;",
                vec![],
            )
            .await
            .expect("mark the controls")
            .as_u64()
            .unwrap_or(0) as usize;
        if controls == 0 {
            return vec!["no controls found to walk".into()];
        }
        let mut reached = vec![false; controls];
        let mut problems = Vec::new();
        for _ in 0..presses {
            let active = self.client.active_element().await.expect("active element");
            active.send_keys("\u{E004}").await.expect("press Tab");
            let now = self
                .client
                .execute(
                    "const el = document.activeElement;\
                     if (!el || el === document.body) return null;\
                     const style = getComputedStyle(el);\
                     const drawn = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)\
                       || style.boxShadow !== 'none';\
                     return [el.getAttribute('data-keyboard-walk'), drawn, el.outerHTML.slice(0, 80)];",
                    vec![],
                )
                .await
                .expect("what has focus");
            let Value::Array(parts) = now else {
                // Back at the top of the page: the walk is complete.
                break;
            };
            let index = parts[0].as_str().and_then(|i| i.parse::<usize>().ok());
            let Some(index) = index else { continue };
            if reached[index] {
                break;
            }
            reached[index] = true;
            if parts[1] != Value::Bool(true) {
                problems.push(format!("no focus outline on {}", parts[2]));
            }
        }
        for (index, seen) in reached.iter().enumerate() {
            if !seen {
                let html = self
                    .client
                    .execute(
                        &format!(
                            "return document.querySelector('[data-keyboard-walk=\"{index}\"]').outerHTML.slice(0, 80);"
                        ),
                        vec![],
                    )
                    .await
                    .unwrap_or_default();
                problems.push(format!("not reached by Tab: {html}"));
            }
        }
        // Leave the page as it was found, so a screenshot after the walk shows its top.
        let _ = self
            .client
            .execute(
                "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
                vec![],
            )
            .await;
        problems
    }

    /// Saves a screenshot as `target/screenshots/<name>-<theme>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}-{}.png", self.theme)), png).expect("write png");
    }

    /// Runs axe-core (WCAG 2 A and AA) on the page and returns each violation as one line.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let source = axe_source();
        self.client
            .execute(&source, vec![])
            .await
            .expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})\
                   .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' @ ' +\
                      v.nodes.map(n => n.target.join(' ')).join(', '))))\
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe.run");
        match result {
            Value::Array(items) => items
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect(),
            other => vec![format!("unexpected axe answer {other}")],
        }
    }
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("screenshots")
}

/// axe-core's source: `WATCHTOWER_AXE_CORE`, or what `.ci/run` installs with
/// `npm install --prefix target/axe axe-core@4.14.1` (a test-only tool, not committed).
fn axe_source() -> String {
    let path = std::env::var_os("WATCHTOWER_AXE_CORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "axe-core not found at {}: run `npm install --prefix target/axe axe-core@4.14.1` or set WATCHTOWER_AXE_CORE",
            path.display()
        )
    })
}
