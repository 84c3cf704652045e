//! What the margin section costs: the same W3-like users proved as one forest filling a
//! `2^LOG_ROWS`-row trace (default 16) under statement version 2, version 3 without borrowers,
//! and version 3 with 10 % borrowers (each owes about half of their collateral's value in BTC,
//! ETH or USDT). Prints working rows per user, trace cells per row and per user (main columns
//! plus 3 per auxiliary column, a cubic-extension element) and prove time per user: the CPU
//! time of the process (Linux `/proc/self/stat`; on a shared machine wall time measures the
//! neighbours), the least of `REPEAT` runs (default 3).
//!
//!     cargo run --release -p stark-por-liabilities --example margin_cost
//!
//! 22 assets at native decimals with real-ish prices and haircuts; portfolio values
//! log-uniform from $1 to $1M, one user in 1,000 a whale up to $1B; `1 + Poisson(2)` assets
//! held (mean 3), popular assets more likely.

use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use stark_por_liabilities::margin::{fold_price, section_rows};
use stark_por_liabilities::prover::{trace_length, used_rows};
use stark_por_liabilities::{layout, prove, prove_margin, Entry, Forest, Leaf, Prices, Security, StatementParams};
use winterfell::math::fields::f64::BaseElement as Felt;

/// (name, decimals, USD price, haircut)
const ASSETS: [(&str, u32, &str, &str); 22] = [
    ("BTC", 8, "97000", "0.05"),
    ("ETH", 18, "3500.25", "0.05"),
    ("USDT", 6, "1", "0"),
    ("USDC", 6, "1", "0"),
    ("SOL", 9, "180.5", "0.10"),
    ("XRP", 6, "2.31", "0.15"),
    ("DOGE", 8, "0.35", "0.20"),
    ("TRX", 6, "0.25", "0.20"),
    ("ADA", 6, "0.91", "0.20"),
    ("SHIB", 18, "0.000022", "0.30"),
    ("LINK", 18, "20.4", "0.15"),
    ("AVAX", 18, "38.2", "0.15"),
    ("DOT", 10, "7.1", "0.20"),
    ("LTC", 8, "105", "0.15"),
    ("BCH", 8, "450", "0.15"),
    ("UNI", 18, "12.5", "0.20"),
    ("PEPE", 18, "0.000019", "0.40"),
    ("ATOM", 6, "9.3", "0.20"),
    ("XLM", 7, "0.41", "0.25"),
    ("FIL", 18, "5.2", "0.30"),
    ("APT", 8, "11.8", "0.25"),
    ("ILQ", 18, "0.5", "0.90"),
];
const UNIT_EXP: u32 = 27; // coefficients in 10^-27 USD per smallest unit

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    // fields after the command name (which is in parentheses): state is field 3, utime 14, stime 15
    let rest = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ
}

fn uniform(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn users(count: usize, borrow_percent: u64, prices: &Prices) -> Vec<Leaf> {
    let mut rng = ChaCha20Rng::from_seed([11; 32]);
    let price = |a: usize| ASSETS[a].2.parse::<f64>().unwrap();
    (0..count)
        .map(|u| {
            // assets held: 1 + Poisson(2), drawn with weights falling with the asset's rank
            let (mut k, mut p, mut cdf, x) = (0usize, (-2f64).exp(), (-2f64).exp(), uniform(&mut rng));
            while x > cdf && k < 21 {
                k += 1;
                p *= 2.0 / k as f64;
                cdf += p;
            }
            let mut held: Vec<usize> = Vec::new();
            while held.len() < 1 + k {
                let a = ((uniform(&mut rng).powi(2)) * 22.0) as usize;
                if !held.contains(&a) {
                    held.push(a);
                }
            }
            let whale = rng.next_u64() % 1000 == 0;
            let value = if whale { 10f64.powf(6.0 + 3.0 * uniform(&mut rng)) } else { 10f64.powf(6.0 * uniform(&mut rng)) };
            let mut entries: Vec<Entry> = held
                .iter()
                .map(|&a| {
                    let amount = value / held.len() as f64 / price(a) * 10f64.powi(ASSETS[a].1 as i32);
                    Entry::equity(a as u32 + 1, (amount as u128).max(1))
                })
                .collect();
            if (rng.next_u64() % 100) < borrow_percent {
                // owe half of the collateral's value after haircuts in BTC, ETH or USDT
                let collateral: f64 = entries.iter().map(|e| e.amount as f64 * prices.of_tag(e.tag) as f64).sum();
                let a = [0usize, 1, 2][(rng.next_u64() % 3) as usize];
                let debt = (0.5 * collateral / prices.debt[a] as f64) as u128;
                if debt > 0 {
                    entries.push(Entry::debt(a as u32 + 1, debt));
                }
            }
            entries.sort();
            Leaf { idc: [Felt::new(u as u64 + 1), Felt::new(2), Felt::new(3), Felt::new(4)], entries }
        })
        .collect()
}

/// The largest forest `[0, e)` of `leaves` whose rows fit a `2^log_rows` trace.
fn fill(leaves: &[Leaf], num_leaves: u64, log_rows: u32, margin: bool) -> Forest {
    let options = Security::Bits100.options();
    let fits = |e: u64| {
        let f = Forest::new(num_leaves, 0, e).unwrap();
        let slice = &leaves[..e as usize];
        let rows = used_rows(slice, &f) + if margin { section_rows(slice, ASSETS.len()) } else { 0 };
        trace_length(rows, &options).map(|(n, _)| n <= 1 << log_rows).unwrap_or(false)
    };
    let (mut lo, mut hi) = (1u64, leaves.len() as u64);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) { lo = mid } else { hi = mid - 1 }
    }
    Forest::new(num_leaves, 0, lo).unwrap()
}

fn main() {
    let log_rows: u32 = std::env::var("LOG_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    let repeat: usize = std::env::var("REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let (collateral, debt) = ASSETS.iter().map(|&(_, d, p, h)| fold_price(p, h, d, UNIT_EXP).unwrap()).unzip();
    let prices = Prices { collateral, debt };
    let params = StatementParams { num_assets: ASSETS.len(), range_bits: 112, assets_digest: [Felt::new(7); 4], round_digest: [Felt::new(9); 4] };
    let pool = 1usize << (log_rows - 1);
    let num_leaves = (pool as u64).next_power_of_two();
    println!("W3-like users, 22 assets, forests filling a 2^{log_rows}-row trace, preset Bits100");
    println!("| statement | users | borrowers | working rows per user | cells per row | cells per user | vs v2 | prove wall s | prove CPU s | CPU ms per user | vs v2 |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut base_per_user, mut base_cells) = (0.0, 0.0);
    for (label, borrow, margin) in [("v2", 0, false), ("v3, no borrowers", 0, true), ("v3, 10 % borrowers", 10, true)] {
        let leaves = users(pool, borrow, &prices);
        let forest = fill(&leaves, num_leaves, log_rows, margin);
        let slice = &leaves[..forest.end as usize];
        let borrowers = slice.iter().filter(|l| l.entries.iter().any(|e| e.tag % 2 == 1)).count();
        let rows = used_rows(slice, &forest) + if margin { section_rows(slice, ASSETS.len()) } else { 0 };
        let width = if margin {
            layout::MAIN_WIDTH_MARGIN + 3 * layout::AUX_WIDTH_MARGIN
        } else {
            layout::MAIN_WIDTH + 3 * layout::AUX_WIDTH
        };
        // prove time only (trace building included); the proof is then verified
        let run = || if margin {
            let (start, cpu) = (Instant::now(), cpu_seconds());
            let (proof, pi, _) = prove_margin(slice, forest, &params, &prices, Security::Bits100, [1; 32]).unwrap();
            let secs = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
            let n = proof.trace_info().length();
            stark_por_liabilities::verify_margin(proof, pi, 100).unwrap();
            (secs, n)
        } else {
            let (start, cpu) = (Instant::now(), cpu_seconds());
            let (proof, pi, _) = prove(slice, forest, &params, Security::Bits100, [1; 32]).unwrap();
            let secs = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
            let n = proof.trace_info().length();
            stark_por_liabilities::verify(proof, pi, 100).unwrap();
            (secs, n)
        };
        let ((mut wall, mut cpu), n) = run();
        for _ in 1..repeat {
            let ((w, c), _) = run();
            (wall, cpu) = (wall.min(w), cpu.min(c));
        }
        assert_eq!(n, 1 << log_rows);
        let per_user = 1000.0 * cpu / forest.end as f64;
        let cells = (n * width) as f64 / forest.end as f64;
        if !margin {
            (base_per_user, base_cells) = (per_user, cells);
        }
        println!(
            "| {label} | {} | {borrowers} | {:.3} | {width} | {cells:.0} | {:.3} | {wall:.1} | {cpu:.1} | {per_user:.3} | {:.2} |",
            forest.end,
            rows as f64 / forest.end as f64,
            cells / base_cells,
            per_user / base_per_user
        );
    }
}
