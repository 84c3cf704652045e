#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stark_por_fuzz::spill_bucket_v3(data));
