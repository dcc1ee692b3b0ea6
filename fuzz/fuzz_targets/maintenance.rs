//! libFuzzer entry for the `maintenance` target; the logic is `watchtower_fuzz_replay::maintenance::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::maintenance::run(data));
