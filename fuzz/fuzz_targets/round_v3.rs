#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stark_por_fuzz::round_file_v3(data));
