#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stark_por_fuzz::forest_result(data));
