//! The fuzz targets' logic, one module per target, callable on the stable toolchain: `fuzz/`
//! runs each under libFuzzer, and `tests/replay.rs` replays every committed corpus and regression
//! input through the same functions in `cargo test`. A target panics when a property fails
//! (a round-trip that does not hold, a verifier that accepts what it should not); libFuzzer's
//! `-timeout` and `-rss_limit_mb` add the time and memory bounds (docs/SECURITY.md, "Fuzzing").

pub mod assertions;
pub mod backup_container;
pub mod channel_settings;
pub mod kuma_import;
pub mod maintenance;
pub mod monitor_spec;
pub mod monitors_file;
pub mod status_incident;
pub mod status_subscriber;
pub mod templates;
pub mod tokens;
pub mod whop_frame_token;
pub mod whop_page;
pub mod whop_webhook;

/// Inputs longer than this are ignored: the bound the "no input takes over 1 s" property is
/// stated for (64 KiB; the API's body limit is 1 MiB, so the long runs also use this size).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// A target: its name (the folder of its corpus and regressions) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by the name `fuzz/fuzz_targets/<name>.rs` and its folders use.
pub const TARGETS: [Target; 14] = [
    ("monitors_file", monitors_file::run),
    ("monitor_spec", monitor_spec::run),
    ("assertions", assertions::run),
    ("channel_settings", channel_settings::run),
    ("templates", templates::run),
    ("maintenance", maintenance::run),
    ("tokens", tokens::run),
    ("whop_webhook", whop_webhook::run),
    ("whop_frame_token", whop_frame_token::run),
    ("backup_container", backup_container::run),
    ("whop_page", whop_page::run),
    ("kuma_import", kuma_import::run),
    ("status_incident", status_incident::run),
    ("status_subscriber", status_subscriber::run),
];

/// The input as text, when it is UTF-8 and within [`MAX_INPUT_BYTES`].
fn text(data: &[u8]) -> Option<&str> {
    if data.len() > MAX_INPUT_BYTES {
        return None;
    }
    std::str::from_utf8(data).ok()
}
