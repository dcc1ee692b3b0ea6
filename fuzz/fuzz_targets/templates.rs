//! libFuzzer entry for the `templates` target; the logic is `watchtower_fuzz_replay::templates::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::templates::run(data));
