//! Committed batch totals (statement formats 4 and 5, README §5): what a forest publishes
//! instead of its per-asset part sums, and the one place that says how they are hashed.
//!
//! A forest's totals are the sums of the five parts of its amounts, per tag (version 2: the
//! equity tags `2, 4, …, 2K`; with margin: `2, 3, 4, 5, …, 2K + 1`, equity then debt of each
//! asset). They are absorbed, one tag per permutation, into a sponge whose first capacity is
//! `[TOTALS_TAG, σ₀, σ₁, σ₂]` and whose every rate is `[tag, kind, P₀, …, P₄, σ]` with fresh
//! secret salts `σ`; the commitment is the rate half of the last output,
//! `C = out[4..8]`. The batch trace computes this chain in its last real rows (the rows consume
//! the parts on the asset bus) and publishes `C`; the aggregation proof recomputes every
//! batch's chain from the same openings and sums the parts across batches.
//!
//! Hiding: the salts are `3 + rows` uniform field elements (at least 256 bits) drawn from the
//! forest's totals seed, itself derived from the master secret, so `C` is a random-looking
//! digest to anyone without it. Binding: collision resistance of `Rp64_256`.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use stark_por_solvency::hash::{permutation_states, Digest, State, NUM_ROUNDS, RATE, STATE_WIDTH};
use stark_por_solvency::prover::random_felt;
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement};

use crate::hash::{DEBT, EQUITY};
use crate::layout::PARTS;

/// Capacity tag of a totals chain.
pub const TOTALS_TAG: u64 = u64::from_be_bytes(*b"stpr/tt\x01");
/// Salt elements in the chain's first capacity, after the tag.
pub const CAP_SALT: usize = 3;
/// Rate positions of a totals row: the tag, its kind, the five part sums, a salt.
pub const RATE_TAG: usize = 0;
pub const RATE_KIND: usize = 1;
pub const RATE_PARTS: usize = 2;
pub const RATE_SALT: usize = RATE_PARTS + PARTS;
const _: () = assert!(RATE_SALT + 1 == RATE);

/// The tags a forest's totals list, in chain order, with their kinds: `(2(a+1), 0)` for every
/// asset `a`, followed in margin rounds by its debt tag `(2(a+1) + 1, 1)`.
pub fn totals_tags(num_assets: usize, margin: bool) -> Vec<(u32, u32)> {
    let mut tags = Vec::with_capacity(num_assets * (1 + margin as usize));
    for a in 1..=num_assets as u32 {
        tags.push((2 * a, EQUITY));
        if margin {
            tags.push((2 * a + 1, DEBT));
        }
    }
    tags
}

/// First tag of the chain, the step between consecutive rows, and the last tag.
pub fn tag_walk(num_assets: usize, margin: bool) -> (u32, u32, u32) {
    let last = 2 * num_assets as u32 + margin as u32;
    (2, if margin { 1 } else { 2 }, last)
}

/// Rows a forest's trace reserves for its totals chain: one per tag.
pub fn reserved_rows(num_assets: usize, margin: bool) -> usize {
    num_assets * (1 + margin as usize)
}

/// The public inputs of a forest whose totals are committed (formats 4 and 5): version 2's
/// (or, with `prices`, version 3's) without any part sum, and the commitment `C`.
#[derive(Debug, Clone)]
pub struct CommittedInputs {
    pub forest: crate::Forest,
    pub range_bits: u32,
    pub num_assets: usize,
    pub assets_digest: Digest,
    pub round_digest: Digest,
    pub roots: Vec<Digest>,
    pub commitment: Digest,
    /// `Some` in margin rounds (format 5).
    pub prices: Option<crate::Prices>,
}

/// One row of a totals chain: a tag's five part sums (each below `2^57`, a canonical field
/// element) and the row's salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotalsRow {
    pub tag: u32,
    pub kind: u32,
    pub parts: [u64; PARTS],
    pub salt: Felt,
}

/// What opens a forest's commitment: the capacity salt and the rows. Secret: it stays with the
/// prover (work files), never in a round file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsOpening {
    pub cap_salt: [Felt; CAP_SALT],
    pub rows: Vec<TotalsRow>,
}

impl TotalsOpening {
    /// The opening of `parts` (one per tag of [`totals_tags`], in that order) with salts drawn
    /// from `seed`.
    pub fn new(parts: &[[u64; PARTS]], margin: bool, seed: [u8; 32]) -> Self {
        let tags = totals_tags(parts.len() / (1 + margin as usize), margin);
        assert_eq!(tags.len(), parts.len(), "one part-sum row per tag");
        let mut rng = ChaCha20Rng::from_seed(seed);
        let cap_salt = std::array::from_fn(|_| random_felt(&mut rng));
        let rows = tags
            .iter()
            .zip(parts)
            .map(|(&(tag, kind), &parts)| TotalsRow { tag, kind, parts, salt: random_felt(&mut rng) })
            .collect();
        TotalsOpening { cap_salt, rows }
    }

    /// The rate row `i` absorbs.
    pub fn rate(&self, i: usize) -> [Felt; RATE] {
        let row = &self.rows[i];
        let mut rate = [Felt::ZERO; RATE];
        rate[RATE_TAG] = Felt::from(row.tag);
        rate[RATE_KIND] = Felt::from(row.kind);
        for (dst, &p) in rate[RATE_PARTS..RATE_SALT].iter_mut().zip(&row.parts) {
            *dst = Felt::new(p);
        }
        rate[RATE_SALT] = row.salt;
        rate
    }

    /// The chain's first capacity: `[TOTALS_TAG, σ₀, σ₁, σ₂]`.
    pub fn first_capacity(&self) -> [Felt; 4] {
        [Felt::new(TOTALS_TAG), self.cap_salt[0], self.cap_salt[1], self.cap_salt[2]]
    }

    /// Every row's permutation states (input, then after each round): the trace rows of the
    /// chain, in the batch trace and in the aggregation trace alike.
    pub fn chain_states(&self) -> Vec<[State; NUM_ROUNDS + 1]> {
        let mut capacity = self.first_capacity();
        self.rows
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let mut input = [Felt::ZERO; STATE_WIDTH];
                input[..4].copy_from_slice(&capacity);
                input[4..].copy_from_slice(&self.rate(i));
                let states = permutation_states(input);
                capacity.copy_from_slice(&states[NUM_ROUNDS][..4]);
                states
            })
            .collect()
    }

    /// The commitment `C`: the rate half (`[4..8]`) of the last row's output.
    pub fn commitment(&self) -> Digest {
        let states = self.chain_states();
        let out = &states.last().expect("a statement lists at least one asset")[NUM_ROUNDS];
        [out[4], out[5], out[6], out[7]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_walk_as_documented() {
        assert_eq!(totals_tags(3, false), vec![(2, 0), (4, 0), (6, 0)]);
        assert_eq!(totals_tags(2, true), vec![(2, 0), (3, 1), (4, 0), (5, 1)]);
        for margin in [false, true] {
            let tags = totals_tags(5, margin);
            let (first, step, last) = tag_walk(5, margin);
            assert_eq!(tags[0].0, first);
            assert_eq!(tags.last().unwrap().0, last);
            assert!(tags.windows(2).all(|w| w[1].0 == w[0].0 + step));
        }
    }

    #[test]
    fn commitment_binds_every_part_and_salt() {
        let parts: Vec<[u64; PARTS]> = (0..4u64).map(|a| [a, a + 1, 3, (1 << 57) - 1, 0]).collect();
        let opening = TotalsOpening::new(&parts, true, [7; 32]);
        let c = opening.commitment();
        assert_eq!(c, TotalsOpening::new(&parts, true, [7; 32]).commitment(), "deterministic in its seed");
        assert_ne!(c, TotalsOpening::new(&parts, true, [8; 32]).commitment(), "another seed, another commitment");
        for i in 0..opening.rows.len() {
            for p in 0..PARTS {
                let mut other = opening.clone();
                other.rows[i].parts[p] += 1;
                assert_ne!(other.commitment(), c, "row {i} part {p}");
            }
            let mut other = opening.clone();
            other.rows[i].salt += Felt::ONE;
            assert_ne!(other.commitment(), c);
        }
        let mut other = opening.clone();
        other.cap_salt[2] += Felt::ONE;
        assert_ne!(other.commitment(), c);
    }
}
