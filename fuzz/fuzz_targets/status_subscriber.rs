//! libFuzzer entry for the `status_subscriber` target; the logic is `watchtower_fuzz_replay::status_subscriber::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::status_subscriber::run(data));
