//! libFuzzer entry for the `monitors_file` target; the logic is `watchtower_fuzz_replay::monitors_file::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::monitors_file::run(data));
