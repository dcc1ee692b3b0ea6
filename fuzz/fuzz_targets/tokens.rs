//! libFuzzer entry for the `tokens` target; the logic is `watchtower_fuzz_replay::tokens::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::tokens::run(data));
