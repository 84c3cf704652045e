//! Column layout of the solvency trace. One row is one `Rp64_256` permutation (a leaf block or
//! an internal node), a filler row, or a blinding row. See `circuits/solvency/README.md`.

use crate::hash::{NUM_ROUNDS, STATE_WIDTH};

// Main segment ---------------------------------------------------------------------------------

/// 1 on the real rows `[0, n - r)`, 0 on the `r` blinding rows at the end.
pub const SEL: usize = 0;
/// The row is the first permutation of a leaf.
pub const FIRST: usize = 1;
/// The row continues the leaf of the previous row.
pub const CONT: usize = 2;
/// The row is an internal node of the tree.
pub const NODE: usize = 3;
/// The row is the last permutation of its leaf (the leaf digest is published on the tree bus).
pub const END: usize = 4;
/// Heap index of the tree node this row produces: `N' + j` for leaf `j`, `1..N'` for nodes.
pub const IDX: usize = 5;
/// The range table: `0, 1, …, 2^16 − 1` over the first rows, then constant.
pub const TABLE: usize = 6;
/// How many range lookups hit this row's table value.
pub const MULT: usize = 7;
/// First of the 8 × 12 hash columns: the permutation input, then the state after each round.
pub const STATE: usize = 8;
/// First of the 24 limb columns: 4 entry slots × 6 limbs of 12 bits.
pub const LIMBS: usize = STATE + (NUM_ROUNDS + 1) * STATE_WIDTH;
/// Main trace width.
pub const MAIN_WIDTH: usize = LIMBS + SLOTS * LIMBS_PER_AMOUNT;

/// Column of element `c` of hash state `s` (0 = permutation input, 7 = output).
pub const fn state(s: usize, c: usize) -> usize {
    STATE + s * STATE_WIDTH + c
}

/// Column of limb `i` of entry slot `j`.
pub const fn limb(j: usize, i: usize) -> usize {
    LIMBS + j * LIMBS_PER_AMOUNT + i
}

/// Entry slots per row: the four (asset, amount) pairs of the rate. In a leaf's first block,
/// slots 0 and 1 hold the id commitment instead.
pub const SLOTS: usize = 4;
/// Limbs per amount (72 bits: enough for any amount below the modulus).
pub const LIMBS_PER_AMOUNT: usize = 6;
/// Bits per limb (the range table has `2^LIMB_BITS` values). 12 bits keeps the smallest trace
/// at 2^13 rows while costing 24 limb columns.
pub const LIMB_BITS: u32 = 12;
/// An amount is summed as three parts of two limbs (24 bits) each, so that the per-asset sums
/// of a part can never wrap around the modulus.
pub const PARTS: usize = 3;
pub const LIMBS_PER_PART: usize = LIMBS_PER_AMOUNT / PARTS;
pub const PART_BITS: u32 = LIMB_BITS * LIMBS_PER_PART as u32;
/// Size of the range table.
pub const TABLE_SIZE: usize = 1 << LIMB_BITS;

/// Rate column (in the permutation input) of slot `j`'s asset; its amount follows it.
pub const fn slot_asset(j: usize) -> usize {
    state(0, 4 + 2 * j)
}
pub const fn slot_amount(j: usize) -> usize {
    state(0, 5 + 2 * j)
}

// Auxiliary segment ----------------------------------------------------------------------------

/// Log-derivative terms per row: 4 × 7 range lookups, 4 asset sums, 3 tree-bus terms, 1 table.
pub const NUM_TERMS: usize = SLOTS * (LIMBS_PER_AMOUNT + 1) + SLOTS + 3 + 1;
/// Terms folded into one helper column (keeps every constraint at degree ≤ 9).
pub const TERMS_PER_HELPER: usize = 6;
/// Helper columns: each holds the sum of its group's terms for the row.
pub const NUM_HELPERS: usize = NUM_TERMS / TERMS_PER_HELPER;
/// The running sum of all terms over the real rows.
pub const SUM: usize = NUM_HELPERS;
/// Auxiliary trace width (extension-field columns).
pub const AUX_WIDTH: usize = NUM_HELPERS + 1;
/// Verifier challenges: α (the pole), β (packs tuples), δ (packs the three amount parts).
pub const NUM_AUX_RANDS: usize = 3;

const _: () = assert!(NUM_TERMS.is_multiple_of(TERMS_PER_HELPER));
const _: () = assert!(MAIN_WIDTH == 128);
const _: () = assert!(LIMBS_PER_AMOUNT.is_multiple_of(PARTS));
