//! What the aggregation proof costs: prove time (wall and process CPU), proof size and verify
//! time for `B` batches over `K` assets, without and with debts (margin: `2K` tags), preset
//! `Bits100`. Each batch's part sums are those of about 2^14 entries. Peak memory is the
//! process's high-water mark so far (the lines run from smallest to largest).
//!
//!     cargo run --release -p stark-por-aggregation --example aggregation_cost

use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use stark_por_aggregation::{prove, totals::total_bytes, verify, AggregationInputs, Security};
use stark_por_liabilities::committed::{totals_tags, TotalsOpening};
use stark_por_liabilities::layout::PARTS;
use winterfell::math::fields::f64::BaseElement as Felt;

/// User plus system CPU seconds of this process so far (Linux, 100 ticks a second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The process's peak resident memory so far, in MB (Linux).
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.unwrap_or(0.0) / 1024.0
}

fn round(batches: usize, assets: usize, margin: bool) -> (AggregationInputs, Vec<TotalsOpening>) {
    let tags = totals_tags(assets, margin).len();
    let mut rng = ChaCha20Rng::from_seed([batches as u8 ^ assets as u8; 32]);
    let mut part = |bits: u32| rng.next_u64() >> (64 - bits);
    let openings: Vec<TotalsOpening> = (0..batches)
        .map(|b| {
            let parts: Vec<[u64; PARTS]> = (0..tags).map(|_| [part(40), part(40), part(24), part(40), part(38)]).collect();
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(b as u64).to_le_bytes());
            TotalsOpening::new(&parts, margin, seed)
        })
        .collect();
    let totals = (0..tags)
        .map(|t| {
            let mut sums = [0u128; PARTS];
            for o in &openings {
                for (s, &p) in sums.iter_mut().zip(&o.rows[t].parts) {
                    *s += p as u128;
                }
            }
            total_bytes(&sums)
        })
        .collect();
    let commitments = openings.iter().map(TotalsOpening::commitment).collect();
    let binding = [Felt::new(1), Felt::new(2), Felt::new(3), Felt::new(4)];
    (AggregationInputs { binding, num_assets: assets, margin, commitments, totals }, openings)
}

fn main() {
    println!("| B | K | tags | trace rows | prove wall s | prove CPU s | peak MB | proof KB | verify ms |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (batches, assets) in [(64, 20), (64, 300), (256, 300)] {
        for margin in [false, true] {
            let (inputs, openings) = round(batches, assets, margin);
            let (wall, cpu) = (Instant::now(), cpu_seconds());
            let proof = prove(&inputs, &openings, Security::Bits100, [5; 32]).expect("an honest round proves");
            let (prove_wall, prove_cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
            let (rows, size) = (proof.trace_info().length(), proof.to_bytes().len());
            let start = Instant::now();
            verify(proof, inputs.clone(), 100).expect("an honest proof verifies");
            let verify_ms = start.elapsed().as_secs_f64() * 1e3;
            println!(
                "| {batches} | {assets}{} | {} | {rows} | {prove_wall:.1} | {prove_cpu:.1} | {:.0} | {:.1} | {verify_ms:.0} |",
                if margin { " (margin)" } else { "" },
                inputs.totals.len(),
                peak_mb(),
                size as f64 / 1024.0
            );
        }
    }
}
