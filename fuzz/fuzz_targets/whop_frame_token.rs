//! libFuzzer entry for the `whop_frame_token` target; the logic is `watchtower_fuzz_replay::whop_frame_token::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::whop_frame_token::run(data));
