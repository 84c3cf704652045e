//! What an option set costs: prove time, proof size and verify time of the same leaves under
//! the `"100"` preset's quadratic-extension options of version 1 and its cubic ones of today,
//! and the `"128"` preset.
//!
//! `cargo run --release -p stark-por-solvency --example options_cost -- LOG2_LEAVES...`
//! (default 12 14). Leaves hold 1 to 5 entries (W1-like: about 3 rows per leaf).
use std::time::Instant;

use stark_por_solvency::hash::Digest;
use stark_por_solvency::options::legacy_options;
use stark_por_solvency::prover::SolvencyProver;
use stark_por_solvency::{build_trace, estimate, Leaf, Security, StatementParams};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement};
use winterfell::{Prover, ProofOptions, Trace};

fn main() {
    let sizes: Vec<u32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![12, 14] } else { sizes };
    let sets: [(&str, ProofOptions); 3] = [
        ("100 (v1: quadratic)", legacy_options()[0].1.clone()),
        ("100 (cubic)", Security::Bits100.options()),
        ("128 (cubic)", Security::Bits128.options()),
    ];
    println!("| options | leaves | trace rows | prove s | proof KB | verify ms | conjectured | proven |");
    println!("|---|---|---|---|---|---|---|---|");
    for log_n in sizes {
        let n = 1usize << log_n;
        let d = |s: u64| -> Digest { [Felt::new(s), Felt::new(s + 1), Felt::new(s + 2), Felt::ONE] };
        let leaves: Vec<Leaf> = (0..n)
            .map(|j| Leaf { idc: d(j as u64), entries: (0..(1 + j % 5) as u32).map(|k| (k * 4 + 1, 12345 + j as u64)).collect() })
            .collect();
        let params = StatementParams { num_assets: 22, range_bits: 62, assets_digest: d(1), round_digest: d(2) };
        for (name, options) in &sets {
            let (trace, pi) = build_trace(&leaves, &params, options, [3; 32]).unwrap();
            let rows = trace.length();
            let t = Instant::now();
            let proof = SolvencyProver::new(options.clone(), pi.clone(), [3; 32]).prove(trace).unwrap();
            let prove_s = t.elapsed().as_secs_f64();
            let bytes = proof.to_bytes().len();
            let e = estimate(&proof, pi.totals.len());
            let t = Instant::now();
            stark_por_solvency::verify(proof, pi, 100).unwrap();
            let verify_ms = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "| {name} | 2^{log_n} | 2^{} | {prove_s:.2} | {:.1} | {verify_ms:.1} | {} | {} |",
                rows.ilog2(),
                bytes as f64 / 1024.0,
                e.conjectured,
                e.proven
            );
        }
    }
}
