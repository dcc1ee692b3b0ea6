//! libFuzzer entry for the `status_incident` target; the logic is `watchtower_fuzz_replay::status_incident::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::status_incident::run(data));
