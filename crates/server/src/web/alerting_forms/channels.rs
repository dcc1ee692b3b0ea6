//! The channel form: a channel's name and its kind's settings, each kind's inputs named
//! `kind.field`. Editing keeps the kind, shows no secret, and sends a blank secret back as the
//! API showed it, which the API reads as "keep the stored one".

use super::*;
use crate::api::ApiJson;
use crate::api::alerting::channels::{self, ChannelView, create_channel, delete_channel};
use axum::extract::{Form, Path};
use serde_json::Map;
use watchtower_alerting::ChannelConfig;
use watchtower_core::{Action, ChannelId};

/// One input of a channel kind's settings: its name, label, hint, and whether it is a secret
/// (typed into a password field, never shown back).
type SettingField = (&'static str, &'static str, &'static str, bool);

/// The settings the form shows for each channel kind (others are for the monitors file).
fn channel_fields(kind: &str) -> &'static [SettingField] {
    match kind {
        "email" => &[
            ("to", "Send to", "Comma-separated addresses.", false),
            ("host", "SMTP server", "e.g. smtp.example.com", false),
            (
                "port",
                "Port",
                "Empty for the security's usual port.",
                false,
            ),
            (
                "security",
                "Security",
                "starttls (default), tls or none",
                false,
            ),
            (
                "username",
                "User name",
                "Empty when the server needs none.",
                false,
            ),
            ("password", "Password", "", true),
        ],
        "slack" | "discord" | "teams" => &[(
            "webhook_url",
            "Webhook URL",
            "The incoming webhook's URL from the service.",
            true,
        )],
        "telegram" => &[
            ("bot_token", "Bot token", "From @BotFather.", true),
            (
                "chat_id",
                "Chat id",
                "The chat or channel to post in.",
                false,
            ),
        ],
        "pagerduty" => &[(
            "routing_key",
            "Routing key",
            "The Events API v2 integration key.",
            true,
        )],
        "ntfy" => &[
            ("server", "Server", "Empty for https://ntfy.sh", false),
            ("topic", "Topic", "", true),
            ("token", "Access token", "For a protected topic.", true),
        ],
        "sms" => &[
            ("account_sid", "Account SID", "", false),
            ("auth_token", "Auth token", "", true),
            ("from", "From", "The sending number, e.g. +15550100", false),
            ("to", "To", "The number told, e.g. +15550199", false),
        ],
        "webhook" => &[
            (
                "url",
                "URL",
                "Receives a JSON POST per notification.",
                false,
            ),
            (
                "secret",
                "Signing secret",
                "Optional: whsec_ and 24 to 64 bytes in base64; each body is then signed.",
                true,
            ),
        ],
        _ => &[],
    }
}

/// Fields sent as numbers, and fields sent as comma-separated lists.
const CHANNEL_NUMBERS: [&str; 1] = ["port"];
const CHANNEL_LISTS: [&str; 1] = ["to"];

/// A secret's hint on the edit form, where it is never shown.
const KEEP_SECRET: &str = "Stored and never shown; leave blank to keep it, or type a new one.";

fn channel_form(
    page: &WebPage,
    target: Target,
    form: &Posted,
    problems: &[FieldError],
    editing: Option<&str>,
) -> AlertingFormPage {
    let chosen = match (editing, value_of(form, "kind")) {
        (Some(kind), _) => kind.to_owned(),
        (None, kind) if kind.is_empty() => "email".to_owned(),
        (None, kind) => kind,
    };
    let mut view = AlertingFormPage::new(page, target);
    view.intro = if editing.is_some() {
        "A channel's kind stays as it is (add another channel for another kind). Secrets are \
         never shown: leave them blank to keep them."
    } else {
        "Where notifications go. Secrets are stored and never shown again; \
         send a test from the alerting page once it is added."
    };
    view.controls = vec![plain(
        form,
        problems,
        "name",
        "Name",
        "What people call it, e.g. ops-email.",
    )];
    // An edit offers only the channel's own kind.
    let kinds: Vec<&'static str> = ChannelConfig::KIND_NAMES
        .iter()
        .copied()
        .filter(|kind| editing.is_none_or(|own| own == *kind))
        .collect();
    view.kinds = kinds
        .iter()
        .map(|kind| KindChoice {
            name: kind,
            selected: *kind == chosen,
        })
        .collect();
    view.sets = kinds
        .iter()
        .map(|kind| KindSet {
            kind,
            fields: channel_fields(kind)
                .iter()
                .map(|(name, label, hint, secret)| {
                    // Each kind's inputs are named `kind.field`: without JavaScript every
                    // fieldset is posted, and two kinds share names such as `to`.
                    let input = format!("{kind}.{name}");
                    FieldView {
                        id: format!("{kind}-{name}").replace('_', "-"),
                        name: input.clone(),
                        label,
                        hint: if *secret && editing.is_some() {
                            KEEP_SECRET
                        } else {
                            hint
                        },
                        value: if *secret || *kind != chosen {
                            String::new()
                        } else {
                            value_of(form, &input)
                        },
                        problem: if *kind == chosen {
                            problem_of(problems, name)
                        } else {
                            String::new()
                        },
                        secret: *secret,
                    }
                })
                .collect(),
        })
        .collect();
    view.problems = problems.to_vec();
    view
}

/// The channel JSON of a posted form: name, kind and the chosen kind's settings. A new channel
/// leaves blanks out so defaults apply. An edit starts from `shown`, the settings as the API
/// showed them: a blank setting is cleared, except a blank secret, which stays as shown
/// (redacted) so the API keeps the stored one; settings the form has no field for stay too.
fn channel_json(form: &Posted, shown: Option<&Value>) -> Value {
    let kind = value_of(form, "kind");
    let mut body = match shown {
        Some(Value::Object(settings)) => settings.clone(),
        _ => Map::new(),
    };
    body.insert("name".into(), Value::String(value_of(form, "name")));
    body.insert("kind".into(), Value::String(kind.clone()));
    for (name, _, _, secret) in channel_fields(&kind) {
        let text = value_of(form, &format!("{kind}.{name}"));
        if text.is_empty() {
            if !secret {
                body.remove(*name);
            }
            continue;
        }
        let value = if CHANNEL_LISTS.contains(name) && kind == "email" {
            Value::Array(comma_list(&text))
        } else if CHANNEL_NUMBERS.contains(name) {
            // Not a number: passed on as text, so the parser names the field.
            text.parse::<i64>()
                .map_or_else(|_| Value::String(text.clone()), Value::from)
        } else {
            Value::String(text)
        };
        body.insert((*name).to_owned(), value);
    }
    Value::Object(body)
}

/// The form fields of a channel as the API shows it: its name, kind and the settings the form
/// has fields for, lists joined with commas; never a secret.
fn channel_fields_of(channel: &ChannelView) -> Posted {
    let mut posted = vec![
        ("name".to_owned(), channel.name.clone()),
        ("kind".to_owned(), channel.kind.clone()),
    ];
    for (name, _, _, secret) in channel_fields(&channel.kind) {
        let text = match channel.settings.get(*name) {
            _ if *secret => continue,
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect::<Vec<_>>()
                .join(", "),
            Some(other) => other.to_string(),
        };
        posted.push((format!("{}.{name}", channel.kind), text));
    }
    posted
}

/// `GET /alerting/channels/new`.
pub async fn new_channel(page: WebPage) -> Result<Response, WebError> {
    page.access.require(Action::ManageChannels)?;
    let target = Target::add("Add channel", "channels");
    Ok(render(&channel_form(&page, target, &Vec::new(), &[], None)))
}

/// `POST /alerting/channels/new`.
pub async fn add_channel(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let body = channel_json(&form, None);
    let answer = create_channel(State(state), page.access.clone(), ApiJson(body)).await;
    settle(answer.map(drop), "channels", |problems| async move {
        let target = Target::add("Add channel", "channels");
        Ok(channel_form(&page, target, &form, &problems, None))
    })
    .await
}

/// The channel as the API shows it (secrets redacted), or the API's 404.
async fn shown_channel(
    state: &AppState,
    page: &WebPage,
    id: ChannelId,
) -> Result<ChannelView, WebError> {
    let Json(channel) =
        channels::get_channel(State(state.clone()), page.access.clone(), Path(id)).await?;
    Ok(channel)
}

/// `GET /alerting/channels/{id}/edit`.
pub async fn edit_channel(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<ChannelId>,
) -> Result<Response, WebError> {
    let channel = shown_channel(&state, &page, id).await?;
    page.access.require(Action::ManageChannels)?;
    let target = Target::edit("Save channel", "channels", id);
    let form = channel_fields_of(&channel);
    Ok(render(&channel_form(
        &page,
        target,
        &form,
        &[],
        Some(&channel.kind),
    )))
}

/// `POST /alerting/channels/{id}/edit`.
pub async fn update_channel(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<ChannelId>,
    Form(mut form): Form<Posted>,
) -> Result<Response, WebError> {
    let channel = shown_channel(&state, &page, id).await?;
    // The kind is the channel's own, whatever was posted.
    form.retain(|(name, _)| name != "kind");
    form.push(("kind".to_owned(), channel.kind.clone()));
    let body = channel_json(&form, Some(&channel.settings));
    let answer =
        channels::update_channel(State(state), page.access.clone(), Path(id), ApiJson(body)).await;
    settle(answer.map(drop), "channels", |problems| async move {
        let target = Target::edit("Save channel", "channels", id);
        Ok(channel_form(
            &page,
            target,
            &form,
            &problems,
            Some(&channel.kind),
        ))
    })
    .await
}

/// `POST /alerting/channels/{id}/delete`: the rules and policies that name it lose it.
pub async fn remove_channel(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<ChannelId>,
) -> Result<Response, WebError> {
    delete_channel(State(state), page.access.clone(), Path(id)).await?;
    Ok(back_to("channels"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Posted {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_channel_kind_has_its_settings_on_the_form() {
        for kind in ChannelConfig::KIND_NAMES {
            assert!(!channel_fields(kind).is_empty(), "{kind} has no fields");
        }
    }

    #[test]
    fn a_channel_form_becomes_the_chosen_kind_s_json() {
        let body = channel_json(
            &pairs(&[
                ("csrf_token", "t"),
                ("name", " ops "),
                ("kind", "email"),
                ("email.to", "a@example.com, b@example.com,"),
                ("email.host", "smtp.example.com"),
                ("email.port", "2525"),
                ("email.password", ""),
                ("sms.to", "+15550199"),
            ]),
            None,
        );
        assert_eq!(
            body,
            serde_json::json!({"name": "ops", "kind": "email", "to": ["a@example.com", "b@example.com"],
                               "host": "smtp.example.com", "port": 2525})
        );
        let sms = channel_json(
            &pairs(&[
                ("kind", "sms"),
                ("sms.to", "+15550199"),
                ("email.to", "x@example.com"),
            ]),
            None,
        );
        assert_eq!(sms["to"], "+15550199");
    }

    #[test]
    fn an_edit_keeps_blank_secrets_as_shown_and_what_the_form_does_not_show() {
        let shown = serde_json::json!({"kind": "email", "to": ["a@example.com"], "host": "smtp.example.com",
            "port": 587, "username": "ops", "password": "********", "title_template": "{{ monitor }}"});
        let body = channel_json(
            &pairs(&[
                ("name", "ops"),
                ("kind", "email"),
                ("email.to", "b@example.com"),
                ("email.host", "smtp.example.com"),
                ("email.port", "587"),
                ("email.username", ""),
                ("email.password", ""),
            ]),
            Some(&shown),
        );
        assert_eq!(
            body,
            serde_json::json!({"name": "ops", "kind": "email", "to": ["b@example.com"], "host": "smtp.example.com",
                "port": 587, "password": "********", "title_template": "{{ monitor }}"}),
            "a blank user name is cleared, a blank password kept as shown, the template kept"
        );
    }

    #[test]
    fn the_edit_form_is_filled_without_secrets() {
        let channel = ChannelView {
            id: ChannelId(3),
            name: "ops".into(),
            kind: "email".into(),
            settings: serde_json::json!({"kind": "email", "to": ["a@example.com", "b@example.com"],
                "host": "smtp.example.com", "port": 587, "password": "********"}),
            created_at: watchtower_core::Timestamp(0),
            updated_at: watchtower_core::Timestamp(0),
        };
        let posted = channel_fields_of(&channel);
        assert_eq!(
            value_of(&posted, "email.to"),
            "a@example.com, b@example.com"
        );
        assert_eq!(value_of(&posted, "email.port"), "587");
        assert!(posted.iter().all(|(name, _)| name != "email.password"));
    }
}
