//! Times each phase of one proof: `cargo run --release --example profile -- LOG2_LEAVES`.
use std::time::Instant;
use stark_por_solvency::{build_trace, hash::Digest, prover::SolvencyProver, Leaf, Security, StatementParams};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement};
use winterfell::{Prover, Trace};

fn main() {
    tracing_subscriber::fmt().with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE).with_target(false).init();
    let log_n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(12);
    let range_bits: u32 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(62);
    let n = 1usize << log_n;
    let d = |s: u64| -> Digest { [Felt::new(s), Felt::new(s + 1), Felt::new(s + 2), Felt::ONE] };
    let leaves: Vec<Leaf> = (0..n)
        .map(|j| Leaf { idc: d(j as u64), entries: (0..(1 + j % 5) as u32).map(|k| (k * 4 + 1, 12345 + j as u64)).collect() })
        .collect();
    let params = StatementParams { num_assets: 22, range_bits, assets_digest: d(1), round_digest: d(2) };
    let options = Security::Bits100.options();
    let t = Instant::now();
    let (trace, pi) = build_trace(&leaves, &params, &options, [3; 32]).unwrap();
    println!("trace {} x {} built in {:.2?}", trace.main_trace_width(), trace.length(), t.elapsed());
    let t = Instant::now();
    let proof = SolvencyProver::new(options, pi.clone(), [3; 32]).prove(trace).unwrap();
    println!("proved in {:.2?}, {} bytes", t.elapsed(), proof.to_bytes().len());
    let t = Instant::now();
    stark_por_solvency::verify(proof, pi, 100).unwrap();
    println!("verified in {:.2?}", t.elapsed());
}
