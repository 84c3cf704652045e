//! The log-derivative (LogUp) machinery every statement version shares: a row's terms
//! `nᵢ/dᵢ` are summed in helper columns of a few terms each (so no constraint's degree grows
//! with the number of terms), and a running sum adds the helpers of every real row.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rayon::prelude::*;
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement};
use winterfell::matrix::ColMatrix;

use crate::prover::{derive_seed, random_felt};

/// Most terms one helper column may sum.
pub const MAX_TERMS_PER_HELPER: usize = 15;

/// The auxiliary constraints of a row: for each group `g` of `per_helper` terms,
/// `s·(H_g·∏dᵢ − Σ nᵢ·∏_{j≠i} dⱼ)` (helper `g` is the group's sum, denominators cleared), then
/// `s·(Σ' − Σ − Σ_g H_g)` (the running sum in column `helpers`, read at this and the next row).
pub fn aux_residuals<E: FieldElement>(terms: &[(E, E)], per_helper: usize, s: E, aux: &[E], aux_next: &[E], result: &mut [E]) {
    debug_assert!(per_helper <= MAX_TERMS_PER_HELPER);
    let helpers = terms.len().div_ceil(per_helper);
    for (g, group) in terms.chunks(per_helper).enumerate() {
        let mut prefix = [E::ONE; MAX_TERMS_PER_HELPER + 1];
        for (k, &(_, den)) in group.iter().enumerate() {
            prefix[k + 1] = prefix[k] * den;
        }
        let mut suffix = E::ONE;
        let mut rhs = E::ZERO;
        for k in (0..group.len()).rev() {
            rhs += group[k].0 * prefix[k] * suffix;
            suffix *= group[k].1;
        }
        result[g] = s * (aux[g] * prefix[group.len()] - rhs);
    }
    let sum: E = aux[..helpers].iter().copied().fold(E::ZERO, |a, b| a + b);
    result[helpers] = s * (aux_next[helpers] - aux[helpers] - sum);
}

/// The auxiliary columns of a trace of `n` rows whose first `real_end` rows are real: each
/// group's helper, the running sum (column `helpers`, 0 on row 0, the total on row
/// `real_end`), and uniform values from `blinding_seed` on the blinding rows.
pub fn aux_columns<E, T>(
    main: &ColMatrix<Felt>,
    real_end: usize,
    per_helper: usize,
    row_terms: T,
    blinding_seed: &[u8; 32],
) -> ColMatrix<E>
where
    E: FieldElement<BaseField = Felt>,
    T: Fn(&[Felt]) -> Vec<(E, E)> + Sync,
{
    let (n, width) = (main.num_rows(), main.num_cols());
    const CHUNK: usize = 4096;
    // per row, the helper sums (a group's terms inverted together with the chunk's)
    let helper_rows: Vec<Vec<E>> = (0..real_end)
        .into_par_iter()
        .chunks(CHUNK)
        .flat_map_iter(|chunk| {
            let mut row = vec![Felt::ZERO; width];
            let (mut nums, mut dens, mut counts) = (Vec::new(), Vec::new(), Vec::with_capacity(chunk.len()));
            for &i in &chunk {
                main.read_row_into(i, &mut row);
                let terms = row_terms(&row);
                counts.push(terms.len());
                for (num, den) in terms {
                    nums.push(num);
                    dens.push(den);
                }
            }
            let inv = winterfell::math::batch_inversion(&dens);
            let mut at = 0;
            counts
                .into_iter()
                .map(|count| {
                    let mut h = vec![E::ZERO; count.div_ceil(per_helper)];
                    for t in 0..count {
                        h[t / per_helper] += nums[at + t] * inv[at + t];
                    }
                    at += count;
                    h
                })
                .collect::<Vec<_>>()
        })
        .collect();

    let helpers = helper_rows.first().map_or(0, Vec::len);
    let mut columns = vec![vec![E::ZERO; n]; helpers + 1];
    let mut sum = E::ZERO;
    for (i, h) in helper_rows.iter().enumerate() {
        columns[helpers][i] = sum;
        for (g, &value) in h.iter().enumerate() {
            columns[g][i] = value;
            sum += value;
        }
    }
    columns[helpers][real_end] = sum;
    let mut rng = ChaCha20Rng::from_seed(derive_seed(blinding_seed, b"aux"));
    for (c, column) in columns.iter_mut().enumerate() {
        let start = if c == helpers { real_end + 1 } else { real_end };
        for v in column[start..].iter_mut() {
            let base: Vec<Felt> = (0..E::EXTENSION_DEGREE).map(|_| random_felt(&mut rng)).collect();
            *v = E::slice_from_base_elements(&base)[0];
        }
    }
    ColMatrix::new(columns)
}
