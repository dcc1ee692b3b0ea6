//! libFuzzer entry for the `whop_webhook` target; the logic is `watchtower_fuzz_replay::whop_webhook::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::whop_webhook::run(data));
