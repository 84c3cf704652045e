//! Leaves of statement version 2. Nodes, id commitments and byte-string digests are version 1's
//! (`stark_por_solvency::hash`); only the leaf changes: an entry carries a tag (asset and kind)
//! and an amount of up to 112 bits, still in two field elements.

use stark_por_solvency::hash::{initial_state, permutation_states, Digest, BLOCK_ENTRIES, FIRST_BLOCK_ENTRIES, RATE};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement};

pub use stark_por_solvency::hash::leaf_blocks;

/// Capacity tag of a version-2 leaf (version 1's is `stpr/lf\x01`).
pub const LEAF_TAG: u64 = u64::from_be_bytes(*b"stpr/lf\x02");
/// Bits of an amount carried by the first element of an entry.
pub const LOW_BITS: u32 = 62;
/// Bits of a tag; the high part of the amount sits above them in the second element.
pub const TAG_BITS: u32 = 13;
/// Largest supported range bound: every amount is below `2^112`.
pub const MAX_AMOUNT_BITS: u32 = 112;
/// Kinds of entry (the low bit of a tag).
pub const EQUITY: u32 = 0;
pub const DEBT: u32 = 1;
/// Largest asset number: `tag = 2·asset + kind < 2^13`.
pub const MAX_ASSETS: usize = (1 << (TAG_BITS - 1)) - 1;

/// One entry of a leaf: `tag = 2·asset + kind` (assets numbered from 1; tag 0 is an empty slot
/// with amount 0) and the amount in the asset's smallest unit, below `2^112`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub tag: u32,
    pub amount: u128,
}

impl Entry {
    pub fn equity(asset: u32, amount: u128) -> Self {
        Entry { tag: 2 * asset + EQUITY, amount }
    }

    pub fn debt(asset: u32, amount: u128) -> Self {
        Entry { tag: 2 * asset + DEBT, amount }
    }

    pub fn asset(&self) -> u32 {
        self.tag / 2
    }

    /// The two rate elements of the entry: `x₀ = v mod 2^62`, `x₁ = tag + 2^13·⌊v / 2^62⌋`.
    /// Callers keep `amount < 2^112` and `tag < 2^13`, so both are below `2^63 < p`.
    pub fn elements(&self) -> [Felt; 2] {
        let low = (self.amount & ((1u128 << LOW_BITS) - 1)) as u64;
        let high = (self.amount >> LOW_BITS) as u64;
        [Felt::new(low), Felt::new(self.tag as u64 + (high << TAG_BITS))]
    }
}

/// The rate inputs of each permutation of a leaf: the id commitment and two entries, then four
/// entries per block; unused slots are empty entries (both elements 0).
pub fn leaf_blocks_input(idc: &Digest, entries: &[Entry]) -> Vec<[Felt; RATE]> {
    // 4 + 2·2 elements in the first block and 2·4 in each later one: the leaf's rate elements
    // are simply the id commitment followed by every entry's two elements
    const _: () = assert!(4 + 2 * FIRST_BLOCK_ENTRIES == RATE && 2 * BLOCK_ENTRIES == RATE);
    let mut elements = vec![Felt::ZERO; RATE * leaf_blocks(entries.len())];
    elements[..4].copy_from_slice(idc);
    for (k, entry) in entries.iter().enumerate() {
        elements[4 + 2 * k..6 + 2 * k].copy_from_slice(&entry.elements());
    }
    elements.chunks(RATE).map(|c| c.try_into().expect("RATE-sized chunk")).collect()
}

/// The leaf of a user (or of a padding slot, with no entries).
pub fn leaf_digest(idc: &Digest, entries: &[Entry]) -> Digest {
    let blocks = leaf_blocks_input(idc, entries);
    let mut input = initial_state(LEAF_TAG, &blocks[0]);
    let mut out = permutation_states(input)[stark_por_solvency::hash::NUM_ROUNDS];
    for block in &blocks[1..] {
        input = out;
        input[4..].copy_from_slice(block);
        out = permutation_states(input)[stark_por_solvency::hash::NUM_ROUNDS];
    }
    [out[4], out[5], out[6], out[7]]
}
