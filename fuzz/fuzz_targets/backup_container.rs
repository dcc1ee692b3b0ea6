//! libFuzzer entry for the `backup_container` target; the logic is
//! `watchtower_fuzz_replay::backup_container::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::backup_container::run(data));
