//! libFuzzer entry for the `whop_page` target; the logic is
//! `watchtower_fuzz_replay::whop_page::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::whop_page::run(data));
