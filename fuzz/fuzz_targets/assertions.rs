//! libFuzzer entry for the `assertions` target; the logic is `watchtower_fuzz_replay::assertions::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::assertions::run(data));
