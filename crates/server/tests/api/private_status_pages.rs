//! Private status pages: a password page shows its form and nothing else until its password is
//! entered (wrong ones refused, throttled like sign-ins, never echoed), then reads with a
//! signed, page-scoped cookie that a new password ends; a members page reads only for the
//! team's signed-in members. Feeds, badge, JSON and history follow the same rule, and every
//! private answer asks search engines away and shared caches not to keep it.

use crate::support::*;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use watchtower_core::{Plan, Role, TeamId};

const PASSWORD: &str = "open sesame 42";
const PARTS: [&str; 6] = [
    "",
    "/summary.json",
    "/badge.svg",
    "/rss",
    "/atom",
    "/history",
];

async fn owner_on(app: &TestApp, email: &str, plan: Plan) -> (Client, TeamId) {
    let owner = app.user(email, false).await;
    let team = app.team(&format!("team of {email}"), plan, owner).await;
    (app.login(email).await.in_team(team), team)
}

fn page_body(slug: &str, monitor: i64, extra: Value) -> Value {
    let mut body = json!({
        "slug": slug,
        "title": "Acme status",
        "groups": [{"components": [{"name": "Secret component", "monitors": [monitor]}]}]
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

/// A visitor's request: no redirects followed, `cookie` and `host` sent when given.
struct Visit {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn visit(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: Option<&str>,
    host: Option<&str>,
    form: Option<&[(&str, &str)]>,
) -> Visit {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.request(method, app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(host) = host {
        request = request.header("host", host);
    }
    if let Some(form) = form {
        request = request.form(form);
    }
    let response = request.send().await.expect("request");
    Visit {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap_or_default(),
    }
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> Visit {
    visit(app, reqwest::Method::GET, path, cookie, None, None).await
}

async fn enter(app: &TestApp, path: &str, password: &str, host: Option<&str>) -> Visit {
    visit(
        app,
        reqwest::Method::POST,
        path,
        None,
        host,
        Some(&[("password", password)]),
    )
    .await
}

fn header<'a>(visit: &'a Visit, name: &str) -> &'a str {
    visit
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// The `name=value` part of the answer's `Set-Cookie`, after checking its attributes.
fn access_cookie(visit: &Visit, path: &str) -> String {
    let set = header(visit, "set-cookie");
    assert!(set.starts_with("watchtower_status_access="), "{set}");
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        &format!("Path={path};"),
        "Max-Age=",
    ] {
        assert!(set.contains(attribute), "{attribute} missing from {set}");
    }
    set.split(';').next().unwrap().to_owned()
}

/// Every part of the page at `base` is refused: the form or a 401, nothing of the page's
/// content, never cached, never indexed.
async fn assert_refused(app: &TestApp, base: &str, cookie: Option<&str>) {
    for part in PARTS {
        let path = format!("{base}{part}");
        let answer = get(app, &path, cookie).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(header(&answer, "cache-control"), "no-store", "{path}");
        assert_eq!(header(&answer, "x-robots-tag"), "noindex", "{path}");
        assert!(!answer.body.contains("Secret component"), "{path}");
        assert!(!answer.body.contains(PASSWORD), "{path}");
        match part {
            "" | "/history" => {
                assert!(
                    answer.body.contains(&format!("action=\"{base}/access\"")),
                    "{path}: {}",
                    answer.body
                );
                assert!(
                    answer
                        .body
                        .contains("<meta name=\"robots\" content=\"noindex\">")
                );
            }
            "/summary.json" => {
                let body: Value = serde_json::from_str(&answer.body).unwrap();
                assert_eq!(body["error"]["code"], "unauthenticated", "{path}");
                assert!(answer.headers.get("access-control-allow-origin").is_none());
            }
            _ => assert!(answer.body.is_empty(), "{path}"),
        }
    }
}

async fn assert_admitted(app: &TestApp, base: &str, cookie: Option<&str>) {
    for part in PARTS {
        let path = format!("{base}{part}");
        let answer = get(app, &path, cookie).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(
            header(&answer, "cache-control"),
            "private, no-cache",
            "{path}"
        );
        assert_eq!(header(&answer, "x-robots-tag"), "noindex", "{path}");
        assert!(answer.headers.get("access-control-allow-origin").is_none());
        if part.is_empty() || part == "/summary.json" {
            assert!(answer.body.contains("Secret component"), "{path}");
        }
    }
}

#[tokio::test]
async fn a_password_page_reads_only_with_its_cookie_and_never_shows_the_password() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let created = owner.post("/api/monitors", http_monitor("web")).await;
        let web = created.body["id"].as_i64().unwrap();

        // A password page needs a password; a short one is refused without being quoted.
        let missing = owner
            .post(
                "/api/status-pages",
                page_body("acme", web, json!({"visibility": "password"})),
            )
            .await;
        assert_eq!(
            missing.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            missing.body
        );
        assert_eq!(missing.body["error"]["details"][0]["field"], "password");
        let short = owner
            .post(
                "/api/status-pages",
                page_body(
                    "acme",
                    web,
                    json!({"visibility": "password", "password": "abc123"}),
                ),
            )
            .await;
        assert_eq!(short.status, StatusCode::BAD_REQUEST);
        assert!(!short.body.to_string().contains("abc123"), "{}", short.body);

        let body = page_body(
            "acme",
            web,
            json!({"visibility": "password", "password": PASSWORD,
                   "custom_domain": "status.acme.example"}),
        );
        let created = owner.post("/api/status-pages", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        assert_eq!(created.body["visibility"], "password");
        let read = owner.get(&format!("/api/status-pages/{id}")).await;
        for answer in [&created.body, &read.body] {
            let text = answer.to_string();
            assert!(
                !text.contains(PASSWORD) && !text.contains("argon2"),
                "{text}"
            );
            assert!(answer.get("password").is_none() && answer.get("password_hash").is_none());
        }
        let audit = owner.get(&format!("/api/teams/{team}/audit-log")).await;
        assert_eq!(audit.status, StatusCode::OK, "{:?}", audit.body);
        let audit_text = audit.body.to_string();
        assert!(audit_text.contains("password_set"), "{audit_text}");
        assert!(!audit_text.contains(PASSWORD) && !audit_text.contains("argon2"));

        assert_refused(&app, "/status/acme", None).await;

        // A wrong password: refused, said so, never echoed.
        let wrong = enter(&app, "/status/acme/access", "not the password", None).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("That password is not right."));
        assert!(!wrong.body.contains("not the password"));
        assert!(wrong.headers.get("set-cookie").is_none());

        let right = enter(&app, "/status/acme/access", PASSWORD, None).await;
        assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
        assert_eq!(header(&right, "location"), "/status/acme");
        let cookie = access_cookie(&right, "/status/acme");
        assert_admitted(&app, "/status/acme", Some(&cookie)).await;

        // A forged cookie: a later expiry under the same tag, or another tag.
        let value = cookie.split_once('=').unwrap().1;
        let (expires, tag) = value.split_once('.').unwrap();
        // The entry lasts the week the form promises (the token's end is in milliseconds).
        let week_ms = 7 * 86_400_000;
        let left = expires.parse::<i64>().unwrap() - watchtower_core::Timestamp::now().0;
        assert!(
            (week_ms - 60_000..=week_ms).contains(&left),
            "the access lasts {left} ms"
        );
        let later = format!(
            "watchtower_status_access={}.{tag}",
            expires.parse::<i64>().unwrap() + 86_400
        );
        let flipped = format!(
            "watchtower_status_access={expires}.{}{}",
            if tag.starts_with('0') { '1' } else { '0' },
            &tag[1..]
        );
        for forged in [later, flipped] {
            let answer = get(&app, "/status/acme/summary.json", Some(&forged)).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{forged}");
        }

        // A replace without a password keeps it (and the cookie); a new password ends it.
        let mut replace = page_body(
            "acme",
            web,
            json!({"visibility": "password", "custom_domain": "status.acme.example"}),
        );
        let kept = owner
            .put(&format!("/api/status-pages/{id}"), replace.clone())
            .await;
        assert_eq!(kept.status, StatusCode::OK, "{:?}", kept.body);
        assert_admitted(&app, "/status/acme", Some(&cookie)).await;
        replace["password"] = json!("a brand new one");
        let changed = owner.put(&format!("/api/status-pages/{id}"), replace).await;
        assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
        assert_refused(&app, "/status/acme", Some(&cookie)).await;
        let old = enter(&app, "/status/acme/access", PASSWORD, None).await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);

        // On the custom domain: the form posts to `/access`, the cookie is the domain's own.
        let host = Some("status.acme.example");
        let form = visit(&app, reqwest::Method::GET, "/", None, host, None).await;
        assert_eq!(form.status, StatusCode::UNAUTHORIZED);
        assert!(form.body.contains("action=\"/access\""), "{}", form.body);
        let entered = enter(&app, "/access", "a brand new one", host).await;
        assert_eq!(entered.status, StatusCode::SEE_OTHER, "{}", entered.body);
        let domain_cookie = access_cookie(&entered, "/");
        let page = visit(
            &app,
            reqwest::Method::GET,
            "/",
            Some(&domain_cookie),
            host,
            None,
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Secret component"));

        // Public again: anyone reads it, and the stored password is gone.
        let public = owner
            .put(
                &format!("/api/status-pages/{id}"),
                page_body("acme", web, json!({})),
            )
            .await;
        assert_eq!(public.status, StatusCode::OK, "{:?}", public.body);
        let open = get(&app, "/status/acme", None).await;
        assert_eq!(open.status, StatusCode::OK);
        assert!(open.headers.get("x-robots-tag").is_none());
        let again = owner
            .put(
                &format!("/api/status-pages/{id}"),
                page_body("acme", web, json!({"visibility": "password"})),
            )
            .await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{:?}", again.body);
        assert_eq!(again.body["error"]["details"][0]["field"], "password");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn wrong_passwords_are_throttled_like_sign_ins() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let created = owner.post("/api/monitors", http_monitor("web")).await;
        let web = created.body["id"].as_i64().unwrap();
        let body = page_body(
            "acme",
            web,
            json!({"visibility": "password", "password": PASSWORD}),
        );
        assert_eq!(
            owner.post("/api/status-pages", body).await.status,
            StatusCode::CREATED
        );
        // The sign-in default: 10 failures within 5 minutes.
        for attempt in 0..10 {
            let wrong = enter(
                &app,
                "/status/acme/access",
                &format!("guess {attempt}"),
                None,
            )
            .await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        let throttled = enter(&app, "/status/acme/access", PASSWORD, None).await;
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(throttled.headers.get("retry-after").is_some());
        assert!(throttled.headers.get("set-cookie").is_none());
        assert!(throttled.body.contains("Too many wrong passwords"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_members_page_reads_only_for_the_teams_signed_in_members() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let viewer = app.user("viewer@example.com", false).await;
        app.join(team, viewer, Role::Viewer).await;
        owner_on(&app, "outsider@example.com", Plan::Professional).await;
        let created = owner.post("/api/monitors", http_monitor("web")).await;
        let web = created.body["id"].as_i64().unwrap();
        let body = page_body(
            "team-only",
            web,
            json!({"visibility": "members", "password": PASSWORD}),
        );
        let refused = owner.post("/api/status-pages", body).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "a password is for password pages"
        );
        assert_eq!(refused.body["error"]["details"][0]["field"], "password");
        let body = page_body("team-only", web, json!({"visibility": "members"}));
        assert_eq!(
            owner.post("/api/status-pages", body).await.status,
            StatusCode::CREATED
        );

        // Without a session: sign in first (then back here); the rest is 401.
        let anonymous = get(&app, "/status/team-only", None).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
        assert_eq!(
            header(&anonymous, "location"),
            "/login?next=%2Fstatus%2Fteam-only"
        );
        for part in &PARTS[1..5] {
            let answer = get(&app, &format!("/status/team-only{part}"), None).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{part}");
            assert!(!answer.body.contains("Secret component"));
        }

        // A member (a viewer will do) reads everything; someone of another team gets 404s.
        let (session, _) = sign_in(&app, "viewer@example.com").await;
        assert_admitted(&app, "/status/team-only", Some(&session)).await;
        let (outsider_session, _) = sign_in(&app, "outsider@example.com").await;
        for part in PARTS {
            let answer = get(
                &app,
                &format!("/status/team-only{part}"),
                Some(&outsider_session),
            )
            .await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{part}");
            assert!(!answer.body.contains("Secret component"));
        }
        Ok(())
    })
    .await;
}

/// Signs `email` in: its session cookie (as a `Cookie` header value) and CSRF token.
async fn sign_in(app: &TestApp, email: &str) -> (String, String) {
    let response = reqwest::Client::new()
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": email, "password": crate::support::PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let me: Value = response.json().await.expect("json");
    (cookie, me["csrf_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_dashboard_form_sets_who_may_read_a_page() {
    each_backend(Options::default(), |app| async move {
        // The dashboard opens on the user's first team: their own.
        let user = app.user("owner@example.com", false).await;
        let team = app.store.teams_of(user).await?[0].team.id;
        let owner = app.login("owner@example.com").await.in_team(team);
        let created = owner.post("/api/monitors", http_monitor("web")).await;
        let web = created.body["id"].as_i64().unwrap();
        let page = owner
            .post("/api/status-pages", page_body("acme", web, json!({})))
            .await;
        let id = page.body["id"].as_i64().unwrap();
        let (session, csrf) = sign_in(&app, "owner@example.com").await;
        let post_form = |fields: Vec<(&'static str, String)>| {
            let app = app.clone();
            let session = session.clone();
            let csrf = csrf.clone();
            async move {
                let mut form: Vec<(&str, String)> = vec![("csrf_token", csrf)];
                form.extend(fields);
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                let response = client
                    .post(app.url(&format!("/status-pages/{id}/access")))
                    .header("cookie", session)
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                (response.status(), response.text().await.unwrap_or_default())
            }
        };

        let shown = get(&app, &format!("/status-pages/{id}"), Some(&session)).await;
        assert!(
            shown.body.contains("Who can see this page"),
            "{}",
            shown.body
        );

        // A password page without a password: the form again, the problem by its field.
        let (status, html) = post_form(vec![("visibility", "password".into())]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            html.contains("Page password is required when visibility is password"),
            "{html}"
        );

        let (status, _) = post_form(vec![
            ("visibility", "password".into()),
            ("password", PASSWORD.into()),
            ("hide_from_search", "on".into()),
        ])
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let stored = owner.get(&format!("/api/status-pages/{id}")).await;
        assert_eq!(stored.body["visibility"], "password");
        assert_eq!(stored.body["hide_from_search"], true);
        assert_eq!(
            stored.body["groups"], page.body["groups"],
            "the rest of the page is kept"
        );
        let shown = get(&app, &format!("/status-pages/{id}"), Some(&session)).await;
        assert!(shown.body.contains("A password is set"));
        assert!(!shown.body.contains(PASSWORD));
        assert_refused(&app, "/status/acme", None).await;
        let right = enter(&app, "/status/acme/access", PASSWORD, None).await;
        assert_eq!(right.status, StatusCode::SEE_OTHER);
        Ok(())
    })
    .await;
}
