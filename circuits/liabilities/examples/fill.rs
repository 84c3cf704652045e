//! Working rows and trace cells per leaf: version 1's batches of 2^14 leaves against version 2's
//! forests planned to fill 2^16-row traces, on a W3-like round (entries per user `1 + Poisson(2)`
//! capped at 22, mean 3 — W1 has the same entry counts), 700,000 users padded to 2^20 leaves.
//! Counts only: no proving, so the figures are exact and repeatable.
//!
//!     cargo run --release -p stark-por-liabilities --example fill

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use stark_por_liabilities::{forest, layout, Security};
use stark_por_solvency::options::blinding_rows;

fn main() {
    let (users, num_leaves) = (700_000usize, 1usize << 20);
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let mut blocks = vec![1u16; num_leaves];
    let mut entries = 0usize;
    for b in blocks.iter_mut().take(users) {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let (mut k, mut p, mut cdf) = (0usize, (-2f64).exp(), (-2f64).exp());
        while u > cdf && k < 21 {
            k += 1;
            p *= 2.0 / k as f64;
            cdf += p;
        }
        entries += 1 + k;
        *b = stark_por_solvency::hash::leaf_blocks(1 + k) as u16;
    }
    let options = Security::Bits100.options();
    let aux_cells = |helpers_plus_sum: usize| 2 * helpers_plus_sum; // quadratic extension
    println!("{users} users ({:.2} entries each) in {num_leaves} leaves", entries as f64 / users as f64);

    // version 1: 2^14 leaves per batch, 128 main + 7 auxiliary columns
    let v1_width = 128 + aux_cells(7);
    let (mut v1_cells, mut v1_used, mut v1_rows) = (0usize, 0usize, 0usize);
    for chunk in blocks.chunks(1 << 14) {
        let used = chunk.iter().map(|&b| b as usize).sum::<usize>() + chunk.len() - 1;
        let real = used.max(1 << 12);
        let mut n = (real + 1).next_power_of_two();
        while real + blinding_rows(&options, n) > n {
            n *= 2;
        }
        v1_cells += n * v1_width;
        v1_used += used;
        v1_rows += n;
    }
    // version 2: forests filling 2^16-row traces
    let n = 1usize << 16;
    let capacity = (n - blinding_rows(&options, n) - 1) as u64;
    let forests = forest::plan(&blocks, &[capacity]).unwrap();
    let v2_width = layout::MAIN_WIDTH + aux_cells(layout::AUX_WIDTH);
    let mut v2_used = 0usize;
    for f in &forests {
        v2_used += blocks[f.start as usize..f.end as usize].iter().map(|&b| b as usize).sum::<usize>()
            + f.num_nodes() as usize;
    }
    let v2_rows = forests.len() * n;
    let v2_cells = v2_rows * v2_width;
    println!("| version | batches | working rows | cells per row | cells per leaf | vs v1 |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| 1: 2^14 leaves per batch | {} | {:.1} % | {v1_width} | {:.0} | 1.00 |",
        num_leaves >> 14,
        100.0 * v1_used as f64 / v1_rows as f64,
        v1_cells as f64 / num_leaves as f64
    );
    println!(
        "| 2: forests in 2^16 rows | {} | {:.1} % | {v2_width} | {:.0} | {:.2} |",
        forests.len(),
        100.0 * v2_used as f64 / v2_rows as f64,
        v2_cells as f64 / num_leaves as f64,
        v2_cells as f64 / v1_cells as f64
    );
}
