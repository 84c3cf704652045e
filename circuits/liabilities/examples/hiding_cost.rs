//! What hiding commitments cost in proof bytes: the same `2^LOG_ROWS`-row liabilities trace
//! (default 16) proved with winterfell's Merkle tree and with the salted tree
//! (`stark_por_solvency::hiding`), at both presets. Both proofs are verified. Prints the proof
//! sizes, their difference, the salts the hiding proof carries (one per opened leaf of the
//! main, auxiliary, constraint and FRI layer commitments) and the bytes they take, and the
//! prove CPU time of each (the process's, from Linux `/proc/self/stat`, least of `REPEAT`
//! runs, default 1). Proofs are made on one thread, as rounds make them, so the byte figures
//! repeat exactly.
//!
//! The salt bytes are the exact cost: a hiding proof is the plain proof with the same query
//! positions plus its salts. The two proofs printed do not share positions (the commitments,
//! hence the Fiat-Shamir draws, differ), so their difference also moves with how many Merkle
//! nodes the positions happen to share, by about a kilobyte either way.
//!
//!     cargo run --release -p stark-por-liabilities --example hiding_cost
//!
//! Users hold 1 to 4 of 8 assets at native-decimal magnitudes; the forest `[0, e)` is the
//! largest that fits the trace at the preset.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use stark_por_liabilities::layout::{AUX_WIDTH, MAIN_WIDTH};
use stark_por_liabilities::prover::{trace_length, used_rows};
use stark_por_liabilities::{
    build_trace, check_shape, verify, Entry, Forest, LiabilitiesAir, LiabilitiesProver, Leaf, PublicInputs, Security,
    StatementParams,
};
use stark_por_solvency::hiding::HidingProver;
use stark_por_solvency::prover::{HashFn, HidingCommit, RandomCoin};
use winterfell::math::fields::f64::BaseElement as Felt;
use winterfell::math::fields::CubeExtension;
use winter_utils::Serializable;
use winterfell::{AcceptableOptions, Air, Proof, Prover, Trace};

type E = CubeExtension<Felt>;

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    // fields after the command name (in parentheses): utime is field 14, stime 15
    let rest = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0 // USER_HZ
}
const ASSETS: usize = 8;

fn users(count: usize) -> Vec<Leaf> {
    let mut rng = ChaCha20Rng::from_seed([21; 32]);
    (0..count)
        .map(|u| {
            let held = 1 + (rng.next_u32() % 4) as usize;
            let mut assets: Vec<u32> = (0..held).map(|_| 1 + rng.next_u32() % ASSETS as u32).collect();
            assets.sort();
            assets.dedup();
            // 10^6 to 10^24 smallest units: dust to an 18-decimal whale
            let entries = assets.iter().map(|&a| Entry::equity(a, 10u128.pow(6 + rng.next_u32() % 19) + rng.next_u64() as u128)).collect();
            Leaf { idc: [Felt::new(u as u64 + 1), Felt::new(2), Felt::new(3), Felt::new(4)], entries }
        })
        .collect()
}

/// The largest forest `[0, e)` whose rows fit a `2^log_rows` trace at `security`.
fn fill(leaves: &[Leaf], num_leaves: u64, log_rows: u32, security: Security) -> Forest {
    let options = security.options();
    let fits = |e: u64| {
        let f = Forest::new(num_leaves, 0, e).unwrap();
        trace_length(used_rows(&leaves[..e as usize], &f), &options).map(|(n, _)| n <= 1 << log_rows).unwrap_or(false)
    };
    let (mut lo, mut hi) = (1u64, leaves.len() as u64);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) { lo = mid } else { hi = mid - 1 }
    }
    Forest::new(num_leaves, 0, lo).unwrap()
}

/// Salts the proof carries (one per opened leaf of every commitment), and the bytes they take
/// in it: the salted openings' bytes less winterfell's batch proofs inside them.
fn salts(proof: &Proof, pi: &PublicInputs) -> (usize, usize) {
    let air = LiabilitiesAir::new(proof.trace_info().clone(), pi.clone(), proof.options().clone());
    let (lde, q) = (air.lde_domain_size(), proof.num_unique_queries as usize);
    let main = proof.trace_queries[0].clone().parse::<Felt, HashFn, HidingCommit>(lde, q, MAIN_WIDTH).unwrap().0;
    let aux = proof.trace_queries[1].clone().parse::<E, HashFn, HidingCommit>(lde, q, AUX_WIDTH).unwrap().0;
    let columns = air.context().num_constraint_composition_columns();
    let constraints = proof.constraint_queries.clone().parse::<E, HashFn, HidingCommit>(lde, q, columns).unwrap().0;
    let folding = proof.options().to_fri_options().folding_factor();
    let (_, layers) = proof.fri_proof.clone().parse_layers::<E, HashFn, HidingCommit>(lde, folding).unwrap();
    let openings: Vec<_> = [main, aux, constraints].into_iter().chain(layers).collect();
    let count = openings.iter().map(|o| o.salts.len()).sum();
    let bytes = openings.iter().map(|o| o.to_bytes().len() - o.paths.to_bytes().len()).sum();
    (count, bytes)
}

fn main() {
    let log_rows: u32 = std::env::var("LOG_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    let repeat: usize = std::env::var("REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let params = StatementParams { num_assets: ASSETS, range_bits: 112, assets_digest: [Felt::new(7); 4], round_digest: [Felt::new(9); 4] };
    let pool = 1usize << (log_rows - 1);
    let leaves = users(pool);
    let num_leaves = (pool as u64).next_power_of_two();
    let seed = [1u8; 32];
    // one thread, as rounds prove: the grinding nonce, hence the queries, are then reproducible
    rayon::ThreadPoolBuilder::new().num_threads(1).build_global().unwrap();
    println!("liabilities trace of 2^{log_rows} rows, {ASSETS} assets; proof bytes with winterfell's Merkle tree and with salted leaves");
    println!("| preset | users | plain bytes | hiding bytes | added bytes | added % | salts carried | salt bytes | salt bytes % | plain prove CPU s | hiding prove CPU s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for security in Security::ALL {
        let options = security.options();
        let forest = fill(&leaves, num_leaves, log_rows, security);
        let slice = &leaves[..forest.end as usize];
        let trace = || build_trace(slice, forest, &params, &options, seed).unwrap();
        let (first, pi, _) = trace();
        assert_eq!(first.info().length(), 1 << log_rows);
        let inner = || LiabilitiesProver::new(options.clone(), pi.clone(), seed);

        let timed = |f: &dyn Fn() -> Proof| {
            let start = cpu_seconds();
            let proof = f();
            (proof, cpu_seconds() - start)
        };
        let (plain, mut plain_secs) = timed(&|| inner().prove(trace().0).unwrap());
        let (hiding, mut hiding_secs) = timed(&|| HidingProver::new(inner(), &seed).prove(trace().0).unwrap());
        for _ in 1..repeat {
            plain_secs = plain_secs.min(timed(&|| inner().prove(trace().0).unwrap()).1);
            hiding_secs = hiding_secs.min(timed(&|| HidingProver::new(inner(), &seed).prove(trace().0).unwrap()).1);
        }

        let (plain_bytes, hiding_bytes) = (plain.to_bytes().len(), hiding.to_bytes().len());
        let (carried, salt_bytes) = salts(&hiding, &pi);
        verify(plain, pi.clone(), 100).unwrap();
        check_shape(&hiding, &pi).unwrap();
        winterfell::verify::<LiabilitiesAir, HashFn, RandomCoin, HidingCommit>(hiding, pi, &AcceptableOptions::MinConjecturedSecurity(100))
            .unwrap();
        let added = hiding_bytes as i64 - plain_bytes as i64;
        println!(
            "| {} | {} | {plain_bytes} | {hiding_bytes} | {added} | {:.1} | {carried} | {salt_bytes} | {:.1} | {plain_secs:.1} | {hiding_secs:.1} |",
            security.name(),
            forest.end,
            100.0 * added as f64 / plain_bytes as f64,
            100.0 * salt_bytes as f64 / (hiding_bytes - salt_bytes) as f64,
        );
    }
}
