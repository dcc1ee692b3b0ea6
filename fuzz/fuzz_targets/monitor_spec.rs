//! libFuzzer entry for the `monitor_spec` target; the logic is `watchtower_fuzz_replay::monitor_spec::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchtower_fuzz_replay::monitor_spec::run(data));
