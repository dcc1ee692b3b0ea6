//! libFuzzer entry for the `kuma_import` target; the logic is
//! `watchtower_fuzz_replay::kuma_import::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::kuma_import::run(data));
