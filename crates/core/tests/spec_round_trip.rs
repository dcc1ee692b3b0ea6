//! Every spec the parser accepts survives storage and export: spec → stored JSON → spec (the
//! store's decoder), spec → JSON → `MonitorSpec::parse`, and spec → monitors file → spec are all
//! the identity, for generated specs of every kind.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use watchtower_core::MonitorSpec;
use watchtower_core::monitors_file;

/// Text with the characters that break quoting: quotes, escapes, YAML indicators, control and
/// non-ASCII characters (NUL excluded: PostgreSQL cannot store it, and the parser refuses it).
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::char::range('a', 'z'),
            1 => prop::sample::select(vec![
                ' ', '\'', '"', '\\', '#', ':', '-', '[', ']', '{', '}', '&', '*', '!', '|', '>',
                '%', '@', '`', ',', '?', '$', '.', '\t', '\n', '\r', '\u{1}', '\u{7f}', '\u{85}',
                '\u{9f}', '\u{a0}', 'é', '😀', '\u{2028}', '\u{feff}', '\u{fffe}',
            ]),
        ],
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn non_blank_text() -> impl Strategy<Value = String> {
    text().prop_filter("must not be blank", |text| !text.trim().is_empty())
}

fn key() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._-]{0,20}"
}

fn duration() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "1s", "5s", "30s", "1m", "90s", "1h30m", "2d", "250ms", "1d",
    ])
    .prop_map(str::to_owned)
}

/// A JSON value as a user might compare with: scalars of every type, and small containers.
fn json_value() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    scalar.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// JSONPath queries, among them every one whose parsed form printed differently.
fn json_path() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "$..status",
            "$..*",
            "$..a.b",
            "$.a..b",
            r#"$["it's"]"#,
            r#"$[?@.a=="it's"]"#,
            r#"$["\u0000"]"#,
            r#"$['a\'b']"#,
            "$.items[0:2]",
            "$.items[-1]",
            "$[?length(@.x) > 2]",
            r#"$[?match(@.n, "a.*")]"#,
            "$ [ 'a' ] [ 'b' ]",
            "$.a[*, 0]",
        ])
        .prop_map(str::to_owned),
        "[a-z_][a-z0-9_]{0,8}".prop_map(|name| format!("$.{name}")),
        text().prop_map(|name| format!("$[{}]", Value::String(name))),
    ]
}

fn http_fields() -> impl Strategy<Value = Map<String, Value>> {
    (
        (
            prop::sample::select(vec![
                "https://example.com/health",
                "http://127.0.0.1:8080/a?b=c&d=%20",
                "https://[::1]/x#frag",
                "http://user:pa%3Ass@host.example/",
                "https://xn--bcher-kva.example/path/ü",
            ]),
            prop::sample::select(vec!["GET", "post", "Head", "DELETE"]),
            prop::collection::btree_map("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,12}", 0..3),
            prop::option::of(text()),
            prop::option::of(prop_oneof![
                text().prop_map(|token| json!({"bearer": token})),
                (non_blank_text(), text())
                    .prop_map(|(u, p)| json!({"basic": {"username": u, "password": p}})),
            ]),
            any::<bool>(),
            0u32..=30,
        ),
        (
            prop::collection::vec(
                prop::sample::select(vec!["200-299", "301", "404", "100-599"]),
                0..3,
            ),
            prop::option::of(prop_oneof![
                non_blank_text().prop_map(Value::from),
                (non_blank_text(), any::<bool>(), any::<bool>()).prop_map(|(t, p, c)| {
                    json!({"text": t, "present": p, "case_sensitive": c})
                }),
            ]),
            prop::option::of(prop::sample::select(vec![
                "^ok$",
                "(?i)status:\\s+\"up\"",
                "a{2,3}",
            ])),
            prop::option::of(json_path_rule()),
            prop::option::of(duration()),
            any::<bool>(),
            0u32..=365,
        ),
    )
        .prop_map(
            |(
                (url, method, headers, body, auth, follow, max_redirects),
                (status, keyword, regex, json_path, degraded, verify, warn),
            )| {
                let mut fields = Map::new();
                fields.insert("kind".into(), json!("http"));
                fields.insert("url".into(), json!(url));
                fields.insert("method".into(), json!(method));
                fields.insert("headers".into(), json!(headers));
                fields.insert("follow_redirects".into(), json!(follow));
                fields.insert("max_redirects".into(), json!(max_redirects));
                fields.insert("accepted_status".into(), json!(status));
                fields.insert("verify_tls".into(), json!(verify));
                fields.insert("cert_expiry_warn_days".into(), json!(warn));
                for (name, value) in [
                    ("body", body.map(Value::from)),
                    ("auth", auth),
                    ("keyword", keyword),
                    ("regex", regex.map(Value::from)),
                    ("json_path", json_path),
                    ("degraded_after", degraded.map(Value::from)),
                ] {
                    if let Some(value) = value {
                        fields.insert(name.into(), value);
                    }
                }
                fields
            },
        )
}

fn json_path_rule() -> impl Strategy<Value = Value> {
    prop_oneof![
        json_path().prop_map(|path| json!({"path": path})),
        (
            json_path(),
            prop::sample::select(vec!["==", "!=", "contains"]),
            // A null value reads as "no value" (a comparison needs one), so it is not generated.
            json_value().prop_filter("not null", |value| !value.is_null())
        )
            .prop_map(|(path, op, value)| json!({"path": path, "op": op, "value": value})),
        (
            json_path(),
            prop::sample::select(vec!["<", "<=", ">", ">="]),
            any::<i32>()
        )
            .prop_map(|(path, op, value)| json!({"path": path, "op": op, "value": value})),
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
        Just("127.0.0.1".to_owned()),
        Just("::1".to_owned()),
        Just("[2001:db8::1]".to_owned()),
    ]
}

fn network_fields() -> impl Strategy<Value = Map<String, Value>> {
    prop_oneof![
        (
            host(),
            1u16..,
            prop::option::of(text()),
            prop::option::of(text())
        )
            .prop_map(|(host, port, send, expect)| {
                let mut fields = object(json!({"kind": "tcp", "host": host, "port": port}));
                if let Some(send) = send {
                    fields.insert("send".into(), json!(send));
                }
                if let Some(expect) = expect {
                    fields.insert("expect".into(), json!(expect));
                }
                fields
            }),
        host().prop_map(|host| object(json!({"kind": "ping", "host": host}))),
        (
            host(),
            prop::sample::select(vec!["a", "AAAA", "mx", "TXT", "caa", "PTR"]),
            prop::option::of(prop::sample::select(vec![
                "127.0.0.1:5353",
                "::1",
                "[::1]:53"
            ])),
            prop::collection::vec(text(), 0..3),
        )
            .prop_map(|(host, record, resolver, expected)| {
                let mut fields = object(json!({"kind": "dns", "host": host, "record_type": record,
                                               "expected": expected}));
                if let Some(resolver) = resolver {
                    fields.insert("resolver".into(), json!(resolver));
                }
                fields
            }),
        (host(), 1u16.., prop::option::of(text()), 0u32..=365).prop_map(
            |(host, port, server_name, warn)| {
                let mut fields =
                    object(json!({"kind": "tls", "host": host, "port": port, "warn_days": warn}));
                if let Some(name) = server_name {
                    fields.insert("server_name".into(), json!(name));
                }
                fields
            }
        ),
    ]
}

fn push_fields() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::option::of("[A-Za-z0-9_-]{16,40}"),
        prop_oneof![
            duration()
                .prop_filter("a period is at least 1s", |d| !d.ends_with("ms"))
                .prop_map(|period| json!({"period": period})),
            (
                prop::sample::select(vec!["0 2 * * *", "*/5 * * * *", "0 9 * * MON-FRI"]),
                prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York"]),
            )
                .prop_map(|(cron, zone)| json!({"cron": cron, "timezone": zone})),
        ],
        duration(),
    )
        .prop_map(|(token, schedule, grace)| {
            let mut fields = object(schedule);
            fields.insert("kind".into(), json!("push"));
            fields.insert("grace".into(), json!(grace));
            if let Some(token) = token {
                fields.insert("token".into(), json!(token));
            }
            fields
        })
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("built from an object literal"),
    }
}

/// A monitor's input: common fields plus one kind's fields.
fn monitor_input() -> impl Strategy<Value = Value> {
    (
        key(),
        non_blank_text(),
        prop_oneof![http_fields(), network_fields(), push_fields()],
        prop::sample::select(vec![
            ("1m", "10s"),
            ("30s", "30s"),
            ("1h", "1m"),
            ("5s", "1s"),
        ]),
        0u32..=10,
        1u32..=10,
        any::<bool>(),
        prop::collection::vec("[a-z]{1,8}", 0..3),
        prop::collection::vec(
            prop_oneof![
                (1i64..1_000_000).prop_map(Value::from),
                "[a-z][a-z0-9-]{0,8}".prop_map(Value::from)
            ],
            0..3,
        ),
    )
        .prop_map(
            |(key, name, kind, (interval, timeout), retries, threshold, paused, tags, depends)| {
                let mut fields = kind;
                fields.insert("key".into(), json!(key));
                fields.insert("name".into(), json!(name));
                fields.insert("interval".into(), json!(interval));
                fields.insert("timeout".into(), json!(timeout));
                fields.insert("retries".into(), json!(retries));
                fields.insert("success_threshold".into(), json!(threshold));
                fields.insert("paused".into(), json!(paused));
                fields.insert("tags".into(), json!(tags));
                fields.insert(
                    "depends_on".into(),
                    Value::Array(depends.into_iter().filter(|d| *d != json!(key)).collect()),
                );
                Value::Object(fields)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_accepted_spec_round_trips_through_storage_and_export(input in monitor_input()) {
        let spec = MonitorSpec::parse(&input, "")
            .unwrap_or_else(|problems| panic!("generated input refused: {input}\n{problems:?}"));

        // What the store writes and reads back.
        let stored = spec.to_value().to_string();
        let decoded: MonitorSpec = serde_json::from_str(&stored)
            .unwrap_or_else(|error| panic!("stored spec does not decode: {error}\n{stored}"));
        prop_assert_eq!(&decoded, &spec, "stored: {}", stored);

        // What the API shows and takes back.
        let reparsed = MonitorSpec::parse(&spec.to_value(), "")
            .unwrap_or_else(|problems| panic!("shown spec refused: {problems:?}\n{stored}"));
        prop_assert_eq!(&reparsed, &spec);

        // What the YAML export writes and a file apply reads.
        let exported = monitors_file::to_yaml(std::slice::from_ref(&spec));
        let file = monitors_file::parse(&exported)
            .unwrap_or_else(|problems| panic!("export refused: {problems:?}\n{exported}"));
        prop_assert_eq!(&file.monitors, &vec![spec], "export: {}", exported);
    }
}
