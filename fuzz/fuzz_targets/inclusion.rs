#![no_main]

libfuzzer_sys::fuzz_target!(|input: stark_por_fuzz::InclusionInput| stark_por_fuzz::inclusion(input));
