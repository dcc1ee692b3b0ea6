//! The dashboard over plain HTTP on every backend: where a visitor without a session goes, the
//! CSRF and cross-site rules for forms, another team's pages, escaping, and the static files.
//! (The browser stories are in `tests/browser/`.)

use crate::support::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

/// A client that does not follow redirects, with a session cookie of `email` and the CSRF token
/// the pages carry.
pub(crate) async fn browser_like(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = http
        .post(app.url("/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let page = http.get(app.url("/account")).send().await.unwrap();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf_token field")
        .to_owned();
    (http, csrf)
}

#[tokio::test]
async fn pages_need_a_session_and_forms_need_the_token_from_this_site() {
    each_backend(Options::default(), |app| async move {
        let anonymous = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let first = anonymous.get(app.url("/")).send().await?;
        assert_eq!(first.status(), StatusCode::SEE_OTHER);
        assert_eq!(first.headers()["location"], "/login");
        let deep = anonymous
            .get(app.url("/monitors/7?range=7d"))
            .send()
            .await?;
        assert_eq!(
            deep.headers()["location"],
            "/login?next=%2Fmonitors%2F7%3Frange%3D7d"
        );
        // The overview's refresh (htmx) is told to send the window to the sign-in page.
        let refresh = anonymous
            .get(app.url("/monitors/live"))
            .header("hx-request", "true")
            .send()
            .await?;
        assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refresh.headers()["hx-redirect"], "/login");
        let login = anonymous.get(app.url("/login")).send().await?;
        assert_eq!(login.status(), StatusCode::OK);
        let csp = login.headers()["content-security-policy"]
            .to_str()?
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(login.headers()["cache-control"], "no-store");

        let owner = app.user("owner@example.com", false).await;
        let team = app.store.teams_of(owner).await?[0].team.id;
        // A sign-in posted from another site is refused before it is read.
        let forged_login = anonymous
            .post(app.url("/login"))
            .header("sec-fetch-site", "cross-site")
            .form(&[("email", "owner@example.com"), ("password", PASSWORD)])
            .send()
            .await?;
        assert_eq!(forged_login.status(), StatusCode::FORBIDDEN);
        // A wrong password stays on the page with a message, and sets no cookie.
        let wrong = anonymous
            .post(app.url("/login"))
            .form(&[
                ("email", "owner@example.com"),
                ("password", "not the password"),
            ])
            .send()
            .await?;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(wrong.headers().get("set-cookie").is_none());
        assert!(wrong.text().await?.contains("Wrong email or password."));
        // After signing in, `next` leads back, but never to another site.
        for (next, expected) in [("/incidents", "/incidents"), ("//evil.example/", "/")] {
            let again = anonymous
                .post(app.url("/login"))
                .form(&[
                    ("email", "owner@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ])
                .send()
                .await?;
            assert_eq!(again.headers()["location"], expected, "next={next}");
        }
        let (http, csrf) = browser_like(&app, "owner@example.com").await;

        let form = [
            ("name", "Shop"),
            ("kind", "tcp"),
            ("host", "127.0.0.1"),
            ("port", "9"),
            ("interval", "1h"),
        ];
        let mut without_token = http
            .post(app.url("/monitors/new"))
            .form(&form)
            .send()
            .await?;
        assert_eq!(without_token.status(), StatusCode::FORBIDDEN);
        let mut with_token: Vec<(&str, &str)> = form.to_vec();
        with_token.push(("csrf_token", "not-the-token"));
        without_token = http
            .post(app.url("/monitors/new"))
            .form(&with_token)
            .send()
            .await?;
        assert_eq!(without_token.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.store.count_monitors(team).await?, 0);
        let mut good: Vec<(&str, &str)> = form.to_vec();
        good.push(("csrf_token", &csrf));
        let cross_site = http
            .post(app.url("/monitors/new"))
            .header("sec-fetch-site", "cross-site")
            .form(&good)
            .send()
            .await?;
        assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
        let created = http
            .post(app.url("/monitors/new"))
            .form(&good)
            .send()
            .await?;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.store.count_monitors(team).await?, 1);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn another_team_s_pages_are_404_and_names_are_escaped() {
    each_backend(Options::default(), |app| async move {
        app.user("owner@example.com", false).await;
        app.user("stranger@example.com", false).await;
        let stranger = app.login("stranger@example.com").await;
        let theirs = stranger
            .post(
                "/api/monitors",
                json!({"name": "<script>alert(1)</script>", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
            )
            .await;
        assert_eq!(theirs.status, StatusCode::CREATED);
        let id = theirs.body["id"].as_i64().unwrap();

        let (owner_http, csrf) = browser_like(&app, "owner@example.com").await;
        for path in [format!("/monitors/{id}"), format!("/monitors/{id}/edit")] {
            let page = owner_http.get(app.url(&path)).send().await?;
            assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(!page.text().await?.contains("alert(1)"));
        }
        let delete = owner_http
            .post(app.url(&format!("/monitors/{id}/delete")))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await?;
        assert_eq!(delete.status(), StatusCode::NOT_FOUND);

        let (stranger_http, _) = browser_like(&app, "stranger@example.com").await;
        let own = stranger_http.get(app.url(&format!("/monitors/{id}"))).send().await?;
        assert_eq!(own.status(), StatusCode::OK);
        let html = own.text().await?;
        // askama writes < and > as numeric references.
        assert!(html.contains("&#60;script&#62;alert(1)"), "the name, escaped");
        assert!(!html.contains("<script>alert(1)"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn static_files_are_immutable_and_compressed_when_asked() {
    each_backend(Options::default(), |app| async move {
        let anonymous = reqwest::Client::new();
        let html = anonymous
            .get(app.url("/login"))
            .send()
            .await?
            .text()
            .await?;
        let stylesheet = html
            .split("<link rel=\"stylesheet\" href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a stylesheet link")
            .to_owned();
        assert!(stylesheet.starts_with("/assets/app."), "{stylesheet}");
        let mut gzip = HeaderMap::new();
        gzip.insert("accept-encoding", HeaderValue::from_static("gzip"));
        let plain = reqwest::Client::builder().no_gzip().build()?;
        let compressed = plain.get(app.url(&stylesheet)).headers(gzip).send().await?;
        assert_eq!(compressed.status(), StatusCode::OK);
        assert_eq!(
            compressed.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(compressed.headers()["content-encoding"], "gzip");
        let identity = plain.get(app.url(&stylesheet)).send().await?;
        assert!(identity.headers().get("content-encoding").is_none());
        assert!(identity.text().await?.contains("--bg"));
        let missing = plain
            .get(app.url("/assets/app.000000000000.css"))
            .send()
            .await?;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn only_instance_administrators_see_the_security_events() {
    each_backend(Options::default(), |app| async move {
        app.user("admin@example.com", true).await;
        app.user("member@example.com", false).await;
        // A failed sign-in to show.
        let wrong = reqwest::Client::new()
            .post(app.url("/login"))
            .form(&[
                ("email", "member@example.com"),
                ("password", "not the password"),
            ])
            .send()
            .await?;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let (admin, _) = browser_like(&app, "admin@example.com").await;
        let page = admin.get(app.url("/account")).send().await?.text().await?;
        assert!(
            page.contains("Security events"),
            "the administrator's table"
        );
        assert!(
            page.contains("login_failed"),
            "the failed sign-in is listed"
        );
        let (member, _) = browser_like(&app, "member@example.com").await;
        let page = member.get(app.url("/account")).send().await?.text().await?;
        assert!(!page.contains("Security events") && !page.contains("login_failed"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_team_page_offers_the_next_plan_s_checkout_from_80_percent_of_a_limit() {
    let options = Options {
        plans: watchtower_core::PlanTable::multi_tenant(),
        billing: watchtower_billing::BillingConfig {
            checkout_links: std::collections::BTreeMap::from([(
                watchtower_core::Plan::Starter,
                "https://whop.com/checkout/plan_starter".parse().unwrap(),
            )]),
            ..watchtower_billing::BillingConfig::default()
        },
        ..Options::default()
    };
    each_backend(options, |app| async move {
        let owner = app.user("owner@example.com", false).await;
        let team = app.store.teams_of(owner).await?[0].team.id;
        // Test users get an Unlimited team; this one is on Free, as a new Whop customer is.
        app.store
            .set_team_plan(team, watchtower_core::Plan::Free)
            .await?;
        let api = app.login("owner@example.com").await;
        let (http, _) = browser_like(&app, "owner@example.com").await;
        let before = http.get(app.url("/team")).send().await?.text().await?;
        assert!(
            before.contains("Active monitors</td>"),
            "no monitor yet: far from the limit"
        );
        // Free allows 3 monitors: the third reaches 100 %.
        for name in ["a", "b", "c"] {
            let created = api.post("/api/monitors", http_monitor(name)).await;
            assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        }
        let page = http.get(app.url("/team")).send().await?.text().await?;
        assert!(page.contains("Active monitors <strong>(near the limit)</strong>"));
        assert!(page.contains("id=\"upgrade-prompt\""));
        let link = page
            .split("id=\"upgrade-link\"")
            .next()
            .and_then(|before| before.rsplit("href=\"").next())
            .and_then(|rest| rest.split('"').next())
            .expect("a checkout link")
            .to_owned();
        assert!(
            link.starts_with("https://whop.com/checkout/plan_starter?"),
            "{link}"
        );
        assert!(
            link.contains("watchtower_team_id") && link.contains(&format!("={}", team.0)),
            "{link}"
        );
        Ok(())
    })
    .await;
}

/// Asserts a form was accepted: a redirect to its section of the alerting page.
async fn see_other(response: reqwest::Response, section: &str) {
    let status = response.status();
    let location = response.headers().get("location").cloned();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    assert_eq!(location.unwrap(), format!("/alerting#{section}").as_str());
}

/// Posts a form with the session's CSRF token.
async fn post_form(
    http: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf_token", csrf)];
    form.extend_from_slice(fields);
    http.post(app.url(path)).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn the_alerting_forms_create_and_delete_under_the_api_s_rules() {
    each_backend(Options::default(), |app| async move {
        let owner = app.user("owner@example.com", false).await;
        let team = app.store.teams_of(owner).await?[0].team.id;
        let (http, csrf) = browser_like(&app, "owner@example.com").await;
        // A channel: each kind's settings are named `kind.field`, the chosen kind's are sent.
        let form = http.get(app.url("/alerting/channels/new")).send().await?;
        assert_eq!(form.status(), StatusCode::OK);
        assert!(form.text().await?.contains("name=\"webhook.url\""));
        let bad = post_form(
            &http,
            &app,
            &csrf,
            "/alerting/channels/new",
            &[
                ("name", ""),
                ("kind", "slack"),
                ("slack.webhook_url", "not a url"),
            ],
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let html = bad.text().await?;
        assert!(html.contains("id=\"problem-name\""), "{html}");
        assert!(html.contains("id=\"problem-slack-webhook-url\""), "{html}");
        assert!(app.store.channels(team).await?.is_empty(), "nothing saved");
        let added = post_form(
            &http,
            &app,
            &csrf,
            "/alerting/channels/new",
            &[
                ("name", "ops hook"),
                ("kind", "webhook"),
                ("webhook.url", "http://127.0.0.1:9/hook"),
                (
                    "webhook.secret",
                    "whsec_YS1zaWduaW5nLWtleS1vZi0zMi1ieXRlcy1sZW5ndGg=",
                ),
                ("email.to", "ignored@example.com"),
            ],
        )
        .await;
        see_other(added, "channels").await;
        let channels = app.store.channels(team).await?;
        assert_eq!(channels.len(), 1);
        assert_eq!(channels[0].kind, "webhook");
        let channel = channels[0].id.to_string();
        let page = http.get(app.url("/alerting")).send().await?.text().await?;
        assert!(
            page.contains("ops hook")
                && !page.contains("whsec_YS1zaWduaW5nLWtleS1vZi0zMi1ieXRlcy1sZW5ndGg=")
        );

        // A rule: a number that is not one is refused before the API, and nothing is saved.
        let bad = post_form(
            &http,
            &app,
            &csrf,
            "/alerting/rules/new",
            &[
                ("name", "certs"),
                ("events", "certificate_expiring"),
                ("channel_ids", &channel),
                ("certificate_days", "soon"),
            ],
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(
            bad.text()
                .await?
                .contains("id=\"problem-certificate-days\"")
        );
        let unknown_event = post_form(
            &http,
            &app,
            &csrf,
            "/alerting/rules/new",
            &[
                ("name", "odd"),
                ("events", "sideways"),
                ("channel_ids", &channel),
            ],
        )
        .await;
        assert_eq!(unknown_event.status(), StatusCode::BAD_REQUEST);
        assert!(app.store.rules(team).await?.is_empty(), "nothing saved");
        let rule = post_form(
            &http,
            &app,
            &csrf,
            "/alerting/rules/new",
            &[
                ("name", "outages"),
                ("monitor_id", ""),
                ("tag", "shop"),
                ("events", "down"),
                ("events", "up"),
                ("channel_ids", &channel),
                ("remind_every", "30m"),
            ],
        )
        .await;
        see_other(rule, "rules").await;
        let rules = app.store.rules(team).await?;
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].events, ["down", "up"]);
        assert_eq!(rules[0].tag.as_deref(), Some("shop"));
        assert_eq!(rules[0].remind_every_ms, Some(30 * 60_000));

        // An escalation policy from the steps filled in.
        let policy = post_form(
            &http,
            &app,
            &csrf,
            "/alerting/escalation/new",
            &[
                ("name", "on-call"),
                ("steps[0].after", "0m"),
                ("steps[0].channel_ids", &channel),
                ("steps[1].after", "15m"),
                ("steps[1].channel_ids", &channel),
                ("steps[2].after", ""),
            ],
        )
        .await;
        see_other(policy, "escalation").await;
        let policies = app.store.escalation_policies(team).await?;
        assert_eq!(policies.len(), 1);
        assert_eq!(policies[0].steps.len(), 2);

        // A maintenance window: the parser's problems at their fields.
        let bad = post_form(
            &http,
            &app,
            &csrf,
            "/alerting/maintenance/new",
            &[
                ("name", "upgrade"),
                ("starts_at", "tomorrow"),
                ("ends_at", "later"),
            ],
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad.text().await?.contains("id=\"problem-starts-at\""));
        let window = post_form(
            &http,
            &app,
            &csrf,
            "/alerting/maintenance/new",
            &[
                ("name", "weekly"),
                ("tag", "db"),
                ("cron", "0 2 * * SUN"),
                ("duration", "2h"),
            ],
        )
        .await;
        see_other(window, "maintenance").await;
        let windows = app.store.maintenance_windows(team).await?;
        assert_eq!(windows.len(), 1);

        // A viewer sees no controls and cannot post; another team's objects are 404.
        let viewer = app.user("viewer@example.com", false).await;
        app.join(team, viewer, watchtower_core::Role::Viewer).await;
        let (viewer_http, viewer_csrf) = browser_like(&app, "viewer@example.com").await;
        let switched = post_form(
            &viewer_http,
            &app,
            &viewer_csrf,
            "/team/switch",
            &[("team", &team.0.to_string())],
        )
        .await;
        assert_eq!(switched.status(), StatusCode::SEE_OTHER);
        let seen = viewer_http
            .get(app.url("/alerting"))
            .send()
            .await?
            .text()
            .await?;
        assert!(
            seen.contains("ops hook"),
            "the viewer is on the owner's team"
        );
        assert!(!seen.contains("/alerting/channels/new") && !seen.contains("/delete"));
        let form = viewer_http
            .get(app.url("/alerting/rules/new"))
            .send()
            .await?;
        assert_eq!(form.status(), StatusCode::FORBIDDEN);
        let refused = post_form(
            &viewer_http,
            &app,
            &viewer_csrf,
            &format!("/alerting/channels/{channel}/delete"),
            &[],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        app.user("stranger@example.com", false).await;
        let (stranger_http, stranger_csrf) = browser_like(&app, "stranger@example.com").await;
        for path in [
            format!("/alerting/channels/{channel}/delete"),
            format!("/alerting/rules/{}/delete", rules[0].id),
            format!("/alerting/escalation/{}/delete", policies[0].id),
            format!("/alerting/maintenance/{}/delete", windows[0].id),
        ] {
            let answer = post_form(&stranger_http, &app, &stranger_csrf, &path, &[]).await;
            assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        }
        assert_eq!(app.store.channels(team).await?.len(), 1);

        // The owner deletes each.
        for (path, section) in [
            (format!("/alerting/rules/{}/delete", rules[0].id), "rules"),
            (
                format!("/alerting/escalation/{}/delete", policies[0].id),
                "escalation",
            ),
            (
                format!("/alerting/maintenance/{}/delete", windows[0].id),
                "maintenance",
            ),
            (format!("/alerting/channels/{channel}/delete"), "channels"),
        ] {
            see_other(post_form(&http, &app, &csrf, &path, &[]).await, section).await;
        }
        assert!(app.store.rules(team).await?.is_empty());
        assert!(app.store.escalation_policies(team).await?.is_empty());
        assert!(app.store.maintenance_windows(team).await?.is_empty());
        assert!(app.store.channels(team).await?.is_empty());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn members_are_removed_invitations_revoked_and_the_last_owner_cannot_leave() {
    each_backend(Options::default(), |app| async move {
        let owner = app.user("owner@example.com", false).await;
        let team = app
            .team("Shop", watchtower_core::Plan::Professional, owner)
            .await;
        let member = app.user("member@example.com", false).await;
        app.join(team, member, watchtower_core::Role::Member).await;
        let leaver = app.user("leaver@example.com", false).await;
        app.join(team, leaver, watchtower_core::Role::Viewer).await;
        let (http, csrf) = browser_like(&app, "owner@example.com").await;
        let team_field = team.0.to_string();
        let switched =
            post_form(&http, &app, &csrf, "/team/switch", &[("team", &team_field)]).await;
        assert_eq!(switched.status(), StatusCode::SEE_OTHER);

        // An invitation shown on the page can be revoked there.
        let invited = post_form(
            &http,
            &app,
            &csrf,
            "/team/invitations",
            &[("email", "new@example.com"), ("role", "member")],
        )
        .await;
        assert_eq!(invited.status(), StatusCode::OK);
        let pending = app
            .store
            .invitations(team, watchtower_core::Timestamp::now())
            .await?;
        assert_eq!(pending.len(), 1);
        let page = http.get(app.url("/team")).send().await?.text().await?;
        let revoke = format!("/team/invitations/{}/revoke", pending[0].id.0);
        assert!(page.contains(&revoke), "a revoke button");
        let revoked = post_form(&http, &app, &csrf, &revoke, &[]).await;
        assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
        assert!(
            app.store
                .invitations(team, watchtower_core::Timestamp::now())
                .await?
                .is_empty()
        );

        // The owner removes a member; a viewer leaves on their own.
        let removed = post_form(
            &http,
            &app,
            &csrf,
            &format!("/team/members/{}/remove", member.0),
            &[],
        )
        .await;
        assert_eq!(removed.status(), StatusCode::SEE_OTHER);
        let (leaver_http, leaver_csrf) = browser_like(&app, "leaver@example.com").await;
        post_form(
            &leaver_http,
            &app,
            &leaver_csrf,
            "/team/switch",
            &[("team", &team_field)],
        )
        .await;
        let seen = leaver_http
            .get(app.url("/team"))
            .send()
            .await?
            .text()
            .await?;
        assert!(seen.contains("Leave this team"));
        assert_eq!(
            seen.matches("/remove\"").count(),
            1,
            "a viewer may only leave"
        );
        let left = post_form(
            &leaver_http,
            &app,
            &leaver_csrf,
            &format!("/team/members/{}/remove", leaver.0),
            &[],
        )
        .await;
        assert_eq!(left.status(), StatusCode::SEE_OTHER);
        assert_eq!(left.headers()["location"], "/");
        let members: Vec<_> = app
            .store
            .members(team)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        assert_eq!(members, [owner]);

        // The last owner is told why not, and stays.
        let refused = post_form(
            &http,
            &app,
            &csrf,
            &format!("/team/members/{}/remove", owner.0),
            &[],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::CONFLICT);
        assert!(refused.text().await?.contains("owner"));
        assert_eq!(app.store.members(team).await?.len(), 1);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_status_page_forms_post_an_incident_and_its_updates_prefilled_from_the_guide() {
    each_backend(Options::default(), |app| async move {
        let owner = app.user("owner@example.com", false).await;
        let team = app.store.teams_of(owner).await?[0].team.id;
        let api = app.login("owner@example.com").await.in_team(team);
        let web = api.post("/api/monitors", http_monitor("web")).await;
        let page = api
            .post(
                "/api/status-pages",
                json!({"slug": "acme", "title": "Acme status",
                       "groups": [{"components": [{"name": "Website", "monitors": [web.body["id"]]},
                                                  {"name": "API", "monitors": [web.body["id"]]}]}]}),
            )
            .await;
        assert_eq!(page.status, StatusCode::CREATED, "{:?}", page.body);
        let id = page.body["id"].as_i64().unwrap();
        let (http, csrf) = browser_like(&app, "owner@example.com").await;

        let list = http.get(app.url("/status-pages")).send().await?.text().await?;
        assert!(list.contains(&format!("href=\"/status-pages/{id}\"")));
        let form = http
            .get(app.url(&format!("/status-pages/{id}")))
            .send()
            .await?
            .text()
            .await?;
        assert!(form.contains("SEV1: Service completely down"));
        assert!(form.contains("We&#39;re currently investigating reports of problems with our service."));
        assert!(form.contains("name=\"component.1\""));

        // Every bad field comes back next to its field, nothing is posted.
        let bad = post_form(
            &http,
            &app,
            &csrf,
            &format!("/status-pages/{id}/incidents"),
            &[("title", ""), ("impact", "sev9"), ("status", "investigating"),
              ("component.0", "on_fire"), ("message", "")],
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let html = bad.text().await?;
        assert!(html.contains("3 problems to fix"), "{html}");
        assert!(html.contains("id=\"problem-title\"") && html.contains("id=\"problem-impact\""));
        assert!(html.contains("id=\"problem-component-0\""));
        assert!(api.get(&format!("/api/status-pages/{id}/incidents")).await.body["incidents"]
            .as_array()
            .unwrap()
            .is_empty());

        let posted = post_form(
            &http,
            &app,
            &csrf,
            &format!("/status-pages/{id}/incidents"),
            &[("title", "Checkout fails"), ("impact", "sev2"), ("status", "investigating"),
              ("component.0", "major_outage"), ("component.1", ""), ("message", "")],
        )
        .await;
        assert_eq!(posted.status(), StatusCode::SEE_OTHER, "{}", posted.text().await?);
        let location = posted.headers()["location"].to_str()?.to_owned();
        let shown = http.get(app.url(&location)).send().await?.text().await?;
        assert!(shown.contains("problems with Website."), "the template names the component");
        assert!(
            shown.contains("We&#39;ve identified the cause of the problems with Website"),
            "the update form offers the next step's template"
        );
        let update = post_form(
            &http,
            &app,
            &csrf,
            &format!("{location}/updates"),
            &[("status", "resolved"), ("component.0", "major_outage"), ("message", "")],
        )
        .await;
        assert_eq!(update.status(), StatusCode::SEE_OTHER);
        let posts = api.get(&format!("/api/status-pages/{id}/incidents")).await;
        assert_eq!(posts.body["incidents"][0]["status"], "resolved");
        assert_eq!(posts.body["incidents"][0]["updates"].as_array().unwrap().len(), 2);

        // Another team's page is the 404 page.
        app.user("other@example.com", false).await;
        let (other_http, other_csrf) = browser_like(&app, "other@example.com").await;
        for path in [format!("/status-pages/{id}"), location.clone()] {
            let seen = other_http.get(app.url(&path)).send().await?;
            assert_eq!(seen.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let refused = post_form(
            &other_http,
            &app,
            &other_csrf,
            &format!("{location}/updates"),
            &[("status", "investigating")],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        Ok(())
    })
    .await;
}

/// The `value` of the input named `name` in `html` (inputs are written `name="…" value="…"`).
fn input_value<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
}

#[tokio::test]
async fn the_alerting_forms_edit_in_place_keep_secrets_and_find_monitors_by_search() {
    each_backend(Options::default(), |app| async move {
        let owner = app.user("owner@example.com", false).await;
        let team = app.store.teams_of(owner).await?[0].team.id;
        let api = app.login("owner@example.com").await.in_team(team);
        // More monitors than the picker lists, so the last ones are found only by searching.
        for n in 1..=60 {
            let created = api
                .post("/api/monitors", http_monitor(&format!("shop-{n:02}")))
                .await;
            assert_eq!(created.status, StatusCode::CREATED);
        }
        let password = "smtp-pass-never-shown";
        let channel = api
            .post(
                "/api/channels",
                json!({"name": "ops mail", "kind": "email", "to": ["ops@example.com"],
                       "from": "watchtower@example.com",
                       "host": "smtp.example.com", "username": "ops", "password": password,
                       "title_template": "{{ monitor }} is {{ state }}"}),
            )
            .await;
        assert_eq!(channel.status, StatusCode::CREATED, "{:?}", channel.body);
        let channel = channel.body["id"].as_i64().unwrap();
        let rule = api
            .post(
                "/api/alert-rules",
                json!({"name": "outages", "events": ["down"], "channel_ids": [channel]}),
            )
            .await;
        let rule = rule.body["id"].as_i64().unwrap();
        let policy = api
            .post(
                "/api/escalation-policies",
                json!({"name": "on-call", "steps": [{"after": "0s", "channel_ids": [channel]}]}),
            )
            .await;
        let policy = policy.body["id"].as_i64().unwrap();
        let window = api
            .post(
                "/api/maintenance",
                json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h"}),
            )
            .await;
        let window = window.body["id"].as_i64().unwrap();
        let (http, csrf) = browser_like(&app, "owner@example.com").await;
        let page = http.get(app.url("/alerting")).send().await?.text().await?;
        for path in [
            format!("/alerting/channels/{channel}/edit"),
            format!("/alerting/rules/{rule}/edit"),
            format!("/alerting/escalation/{policy}/edit"),
            format!("/alerting/maintenance/{window}/edit"),
        ] {
            assert!(page.contains(&format!("href=\"{path}\"")), "{path}");
        }

        // The channel form is filled, its password never.
        let form = http
            .get(app.url(&format!("/alerting/channels/{channel}/edit")))
            .send()
            .await?;
        assert_eq!(form.status(), StatusCode::OK);
        let html = form.text().await?;
        assert_eq!(input_value(&html, "name"), Some("ops mail"));
        assert_eq!(input_value(&html, "email.host"), Some("smtp.example.com"));
        assert_eq!(input_value(&html, "email.password"), Some(""));
        assert!(!html.contains(password) && !html.contains("name=\"slack.webhook_url\""));
        // A new address with the password left blank keeps the stored password and template.
        let edit = format!("/alerting/channels/{channel}/edit");
        let fields = |host: &'static str| {
            vec![
                ("name", "ops mail"),
                ("kind", "slack"),
                ("email.to", "oncall@example.com, ops@example.com"),
                ("email.host", host),
                ("email.username", "ops"),
                ("email.password", ""),
            ]
        };
        see_other(
            post_form(&http, &app, &csrf, &edit, &fields("smtp.example.com")).await,
            "channels",
        )
        .await;
        let stored = app
            .store
            .get_channel(team, watchtower_core::ChannelId(channel))
            .await?
            .unwrap();
        assert_eq!(stored.kind, "email", "the kind stays");
        assert_eq!(
            stored.config["to"],
            json!(["oncall@example.com", "ops@example.com"])
        );
        assert_eq!(stored.config["password"], password);
        assert_eq!(
            stored.config["title_template"],
            "{{ monitor }} is {{ state }}"
        );
        // Another server with the password left blank: refused at the password, nothing saved.
        let moved = post_form(&http, &app, &csrf, &edit, &fields("smtp.attacker.example")).await;
        assert_eq!(moved.status(), StatusCode::BAD_REQUEST);
        let html = moved.text().await?;
        assert!(html.contains("id=\"problem-email-password\""), "{html}");
        assert!(!html.contains(password));
        let kept = app
            .store
            .get_channel(team, watchtower_core::ChannelId(channel))
            .await?
            .unwrap();
        assert_eq!(kept.config["host"], "smtp.example.com");

        // The rule form is filled; bad fields are shown in place and nothing is saved.
        let html = http
            .get(app.url(&format!("/alerting/rules/{rule}/edit")))
            .send()
            .await?
            .text()
            .await?;
        assert_eq!(input_value(&html, "name"), Some("outages"));
        assert!(html.contains("value=\"down\" checked"));
        let edit = format!("/alerting/rules/{rule}/edit");
        let channel_text = channel.to_string();
        let bad = post_form(
            &http,
            &app,
            &csrf,
            &edit,
            &[
                ("name", ""),
                ("channel_ids", &channel_text),
                ("remind_every", "soon"),
                ("certificate_days", "many"),
            ],
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(
            bad.text()
                .await?
                .contains("id=\"problem-certificate-days\"")
        );
        let bad = post_form(
            &http,
            &app,
            &csrf,
            &edit,
            &[
                ("name", ""),
                ("channel_ids", &channel_text),
                ("remind_every", "soon"),
            ],
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let html = bad.text().await?;
        for id in ["problem-name", "problem-events", "problem-remind-every"] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}: {html}");
        }
        assert_eq!(
            app.store.rules(team).await?[0].name,
            "outages",
            "nothing saved"
        );
        // The monitor picker: the first 50 listed, the 57th found by searching, nothing saved.
        assert!(html.contains("Listing the first 50 monitors"), "{html}");
        assert!(!html.contains(">shop-57<"));
        let found = post_form(
            &http,
            &app,
            &csrf,
            &edit,
            &[
                ("name", "shop outages"),
                ("intent", "search"),
                ("search.monitor_id", "shop-57"),
                ("channel_ids", &channel_text),
            ],
        )
        .await;
        assert_eq!(found.status(), StatusCode::OK);
        let html = found.text().await?;
        assert!(html.contains("1 monitor matches"), "{html}");
        let shop_57 = html
            .split("<option value=\"")
            .find(|option| option.contains(">shop-57<"))
            .and_then(|option| option.split('"').next())
            .expect("shop-57 is offered")
            .to_owned();
        assert_eq!(
            input_value(&html, "name"),
            Some("shop outages"),
            "typed fields stay"
        );
        assert_eq!(
            app.store.rules(team).await?[0].name,
            "outages",
            "a search saves nothing"
        );
        see_other(
            post_form(
                &http,
                &app,
                &csrf,
                &edit,
                &[
                    ("name", "shop outages"),
                    ("monitor_id", &shop_57),
                    ("events", "down"),
                    ("events", "up"),
                    ("channel_ids", &channel_text),
                ],
            )
            .await,
            "rules",
        )
        .await;
        let rules = app.store.rules(team).await?;
        assert_eq!(
            (rules[0].id.0, rules[0].name.as_str()),
            (rule, "shop outages")
        );
        assert_eq!(
            rules[0].monitor_id.map(|m| m.0.to_string()),
            Some(shop_57.clone())
        );
        // Its form now lists the chosen monitor, ticked, though it is not among the first 50.
        let html = http.get(app.url(&edit)).send().await?.text().await?;
        assert!(
            html.contains(&format!("value=\"{shop_57}\" selected>shop-57<")),
            "{html}"
        );

        // The policy and the window.
        see_other(
            post_form(
                &http,
                &app,
                &csrf,
                &format!("/alerting/escalation/{policy}/edit"),
                &[
                    ("name", "on-call, then lead"),
                    ("steps[0].after", "0s"),
                    ("steps[0].channel_ids", &channel_text),
                    ("steps[1].after", "15m"),
                    ("steps[1].channel_ids", &channel_text),
                ],
            )
            .await,
            "escalation",
        )
        .await;
        assert_eq!(app.store.escalation_policies(team).await?[0].steps.len(), 2);
        let edit = format!("/alerting/maintenance/{window}/edit");
        let html = http.get(app.url(&edit)).send().await?.text().await?;
        assert_eq!(input_value(&html, "cron"), Some("0 2 * * SUN"));
        let bad = post_form(
            &http,
            &app,
            &csrf,
            &edit,
            &[
                ("name", "renamed"),
                ("cron", "0 2 * * SUN"),
                ("starts_at", "tomorrow"),
            ],
        )
        .await;
        // A window is one-off or recurring: the parser names `cron` when both are given.
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let bad_html = bad.text().await?;
        assert!(bad_html.contains("id=\"problem-cron\""), "{bad_html}");
        assert!(bad_html.contains("not both"), "{bad_html}");
        assert_eq!(
            app.store.maintenance_windows(team).await?[0].spec.name,
            "weekly"
        );
        see_other(
            post_form(
                &http,
                &app,
                &csrf,
                &edit,
                &[
                    ("name", "upgrade"),
                    ("monitors", &shop_57),
                    ("starts_at", "2030-12-24T22:00:00Z"),
                    ("ends_at", "2030-12-25T02:00:00Z"),
                ],
            )
            .await,
            "maintenance",
        )
        .await;
        let windows = app.store.maintenance_windows(team).await?;
        assert_eq!(windows[0].spec.name, "upgrade");
        assert_eq!(windows[0].spec.monitors.len(), 1);

        // A viewer sees no edit control and cannot open or post a form.
        let viewer = app.user("viewer@example.com", false).await;
        app.join(team, viewer, watchtower_core::Role::Viewer).await;
        let (viewer_http, viewer_csrf) = browser_like(&app, "viewer@example.com").await;
        let team_text = team.0.to_string();
        post_form(
            &viewer_http,
            &app,
            &viewer_csrf,
            "/team/switch",
            &[("team", &team_text)],
        )
        .await;
        let seen = viewer_http
            .get(app.url("/alerting"))
            .send()
            .await?
            .text()
            .await?;
        assert!(seen.contains("shop outages") && !seen.contains("/edit"));
        let paths = [
            format!("/alerting/channels/{channel}/edit"),
            format!("/alerting/rules/{rule}/edit"),
            format!("/alerting/escalation/{policy}/edit"),
            format!("/alerting/maintenance/{window}/edit"),
        ];
        for path in &paths {
            let form = viewer_http.get(app.url(path)).send().await?;
            assert_eq!(form.status(), StatusCode::FORBIDDEN, "{path}");
            let posted = post_form(&viewer_http, &app, &viewer_csrf, path, &[("name", "x")]).await;
            assert_eq!(posted.status(), StatusCode::FORBIDDEN, "{path}");
        }
        // Another team's member finds none of them.
        app.user("stranger@example.com", false).await;
        let (stranger_http, stranger_csrf) = browser_like(&app, "stranger@example.com").await;
        for path in &paths {
            let form = stranger_http.get(app.url(path)).send().await?;
            assert_eq!(form.status(), StatusCode::NOT_FOUND, "{path}");
            let posted =
                post_form(&stranger_http, &app, &stranger_csrf, path, &[("name", "x")]).await;
            assert_eq!(posted.status(), StatusCode::NOT_FOUND, "{path}");
        }
        assert_eq!(app.store.rules(team).await?[0].name, "shop outages");
        assert_eq!(
            app.store.maintenance_windows(team).await?[0].spec.name,
            "upgrade"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn maintenance_is_posted_by_hand_on_a_page_and_shown_ahead_and_during() {
    each_backend(Options::default(), |app| async move {
        let owner = app.user("owner@example.com", false).await;
        let team = app.store.teams_of(owner).await?[0].team.id;
        let api = app.login("owner@example.com").await.in_team(team);
        let web = api.post("/api/monitors", http_monitor("web")).await;
        let db = api.post("/api/monitors", http_monitor("db")).await;
        let page = api
            .post(
                "/api/status-pages",
                json!({"slug": "acme", "title": "Acme status", "time_zone": "Europe/Paris",
                       "groups": [{"components": [{"name": "Website", "monitors": [web.body["id"]]},
                                                  {"name": "Database", "monitors": [db.body["id"]]}]}]}),
            )
            .await;
        assert_eq!(page.status, StatusCode::CREATED, "{:?}", page.body);
        let id = page.body["id"].as_i64().unwrap();
        let (http, csrf) = browser_like(&app, "owner@example.com").await;
        let form = http.get(app.url(&format!("/status-pages/{id}"))).send().await?.text().await?;
        assert!(form.contains("Schedule maintenance") && form.contains("Starts (Europe/Paris)"));

        // No component (which would be the whole team) and no times: each said, nothing made.
        let path = format!("/status-pages/{id}/maintenance");
        let bad = post_form(&http, &app, &csrf, &path,
            &[("name", "Database upgrade"), ("starts", "tomorrow"), ("ends", "")]).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let html = bad.text().await?;
        for field in ["problem-maintenance-components", "problem-maintenance-starts", "problem-maintenance-ends"] {
            assert!(html.contains(&format!("id=\"{field}\"")), "{field}: {html}");
        }
        assert!(html.contains("value=\"Database upgrade\""), "what was typed is kept");
        assert!(api.get("/api/maintenance").await.body["windows"].as_array().is_none_or(Vec::is_empty));

        // Ahead: the Database in two hours, in the page's zone.
        let paris = jiff::tz::TimeZone::get("Europe/Paris")?;
        let local = |minutes: i64| {
            (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes))
                .to_zoned(paris.clone())
                .strftime("%Y-%m-%dT%H:%M")
                .to_string()
        };
        let ahead = post_form(&http, &app, &csrf, &path,
            &[("name", "Database upgrade"), ("components", "Database"),
              ("starts", &local(120)), ("ends", &local(180))]).await;
        assert_eq!(ahead.status(), StatusCode::SEE_OTHER, "{}", ahead.text().await?);
        let windows = api.get("/api/maintenance").await;
        let window = &windows.body["windows"][0];
        assert_eq!(window["monitors"], json!([db.body["id"]]), "{:?}", windows.body);
        let visitor = reqwest::get(app.url("/status/acme")).await?.text().await?;
        assert!(visitor.contains("Scheduled maintenance"), "{visitor}");
        assert!(visitor.contains("</span> Database:"), "{visitor}");
        assert!(!visitor.contains("Database upgrade"), "the window's own name stays the team's");

        // During: the Website from a minute ago.
        let during = post_form(&http, &app, &csrf, &path,
            &[("name", "Front end deploy"), ("components", "Website"),
              ("starts", &local(-1)), ("ends", &local(60))]).await;
        assert_eq!(during.status(), StatusCode::SEE_OTHER);
        let visitor = reqwest::get(app.url("/status/acme?again")).await?.text().await?;
        assert!(visitor.contains("In progress</span> Website:"), "{visitor}");
        Ok(())
    })
    .await;
}
