//! libFuzzer entry for the `channel_settings` target; the logic is `watchtower_fuzz_replay::channel_settings::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::channel_settings::run(data));
