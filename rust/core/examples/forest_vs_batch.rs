//! Prove time of one version-2 forest filling a 2^16-row trace (W3-like leaves: 1 + Poisson(2)
//! entries capped at 22, amounts of up to 112 bits) beside one version-1 batch of 2^14 W1-like
//! leaves (the same entry counts, amounts below 2^50), in one run, each on one thread as a round
//! proves them. Prints seconds, leaves, and seconds per leaf.
//!
//!     cargo run --release -p stark-por-core --example forest_vs_batch
//!
//! Measured 2026-12-02 on the shared 2-core machine while others worked on it (load average
//! 1.4 to 1.9), "100" preset over the cubic extension, built with `--profile test` (opt-level 3,
//! no LTO), two runs: v1 11.0 and 11.2 s for 16,384 leaves (65.2 % working rows), v2 13.9 and
//! 13.0 s for 23,903 leaves (95.2 %): 0.87x and 0.79x the prove time per leaf. The "W3-like"
//! amounts are log-uniform up to 112 bits, not the USD-valued W3 model of issue 10.

use std::time::Instant;

use stark_por_liabilities::forest::{plan, Forest};
use stark_por_liabilities::hash::leaf_blocks;
use stark_por_liabilities::{Entry, Security};
use stark_por_solvency::hash::{hash_bytes, id_commitment};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// 1 + Poisson(2), capped at 22 entries: mean about 3.
    fn entry_count(&mut self) -> usize {
        let u = self.unit();
        let (mut k, mut p, mut cdf) = (0usize, (-2f64).exp(), (-2f64).exp());
        while u > cdf && k < 21 {
            k += 1;
            p *= 2.0 / k as f64;
            cdf += p;
        }
        1 + k
    }

    /// `count` distinct assets of 1..=22, sorted.
    fn assets(&mut self, count: usize) -> Vec<u32> {
        let mut chosen: Vec<u32> = Vec::new();
        while chosen.len() < count {
            let a = 1 + (self.next() % 22) as u32;
            if !chosen.contains(&a) {
                chosen.push(a);
            }
        }
        chosen.sort_unstable();
        chosen
    }

    /// Log-uniform amount of 1 to `bits` bits.
    fn amount(&mut self, bits: u32) -> u128 {
        let b = 1 + (self.next() % bits as u64) as u32;
        let v = (self.next() as u128) << 64 | self.next() as u128;
        (v >> (128 - b)).max(1)
    }
}

fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a thread pool").install(f)
}

fn main() {
    let security = Security::Bits100;
    let mut rng = Rng(0x5EED_0FF0_2E57);
    let digest = |tag: &[u8]| hash_bytes(1, tag);

    // version 1: one batch of 2^14 W1 leaves
    let v1_leaves: Vec<stark_por_solvency::Leaf> = (0..1u32 << 14)
        .map(|i| {
            let count = rng.entry_count();
            let entries = rng.assets(count).into_iter().map(|a| (a, rng.amount(50) as u64)).collect();
            stark_por_solvency::Leaf { idc: id_commitment(&[0; 32], &i.to_le_bytes()), entries }
        })
        .collect();
    let v1_params = stark_por_solvency::StatementParams {
        num_assets: 22,
        range_bits: 62,
        assets_digest: digest(b"assets"),
        round_digest: digest(b"round"),
    };
    let t = Instant::now();
    let (proof, _, _) =
        one_thread(|| stark_por_solvency::prove_with_tree(&v1_leaves, &v1_params, security, [1; 32])).expect("v1 proves");
    let v1_secs = t.elapsed().as_secs_f64();
    let v1_rows = proof.trace_info().length();
    // leaf blocks and the nodes of the batch tree
    let v1_used = v1_leaves.iter().map(|l| leaf_blocks(l.entries.len())).sum::<usize>() + v1_leaves.len() - 1;

    // version 2: the first forest of a 2^16-leaf W3 round, planned to fill a 2^16-row trace
    let n = 1usize << 16;
    let v2_leaves: Vec<stark_por_liabilities::Leaf> = (0..n as u32)
        .map(|i| {
            let count = rng.entry_count();
            let entries = rng.assets(count).into_iter().map(|a| Entry::equity(a, rng.amount(112))).collect();
            stark_por_liabilities::Leaf { idc: id_commitment(&[0; 32], &i.to_le_bytes()), entries }
        })
        .collect();
    let blocks: Vec<u16> = v2_leaves.iter().map(|l| leaf_blocks(l.entries.len()) as u16).collect();
    let options = security.options();
    let capacity = (n - stark_por_solvency::options::blinding_rows(&options, n) - 1) as u64;
    let first: Forest = plan(&blocks, &[capacity]).expect("a plan")[0];
    let leaves = &v2_leaves[first.start as usize..first.end as usize];
    let used = stark_por_liabilities::prover::used_rows(leaves, &first);
    let v2_params = stark_por_liabilities::StatementParams {
        num_assets: 22,
        range_bits: 112,
        assets_digest: digest(b"assets"),
        round_digest: digest(b"round"),
    };
    let t = Instant::now();
    let (proof, _, _) =
        one_thread(|| stark_por_liabilities::prove(leaves, first, &v2_params, security, [1; 32])).expect("v2 proves");
    let v2_secs = t.elapsed().as_secs_f64();
    let v2_rows = proof.trace_info().length();

    let v1_per_leaf = v1_secs / v1_leaves.len() as f64;
    let v2_per_leaf = v2_secs / leaves.len() as f64;
    println!("| proof | trace rows | leaves | working rows | prove s (1 thread) | ms per leaf | vs v1 |");
    println!("|---|---|---|---|---|---|---|");
    println!("| v1 batch, W1 | {v1_rows} | {} | {:.1} % | {v1_secs:.1} | {:.3} | 1.00 |", v1_leaves.len(),
        100.0 * v1_used as f64 / v1_rows as f64, 1e3 * v1_per_leaf);
    println!("| v2 forest, W3-like | {v2_rows} | {} | {:.1} % | {v2_secs:.1} | {:.3} | {:.2} |", leaves.len(),
        100.0 * used as f64 / v2_rows as f64, 1e3 * v2_per_leaf, v2_per_leaf / v1_per_leaf);
}
