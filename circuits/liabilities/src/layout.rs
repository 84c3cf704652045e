//! Column layout of the version-2 trace. One row is one `Rp64_256` permutation (a leaf block
//! or a forest node), a filler row, or a blinding row. See `circuits/liabilities/README.md`.

use stark_por_solvency::hash::{NUM_ROUNDS, STATE_WIDTH};

// Main segment ---------------------------------------------------------------------------------

/// 1 on the real rows `[0, n − r)`, 0 on the `r` blinding rows at the end.
pub const SEL: usize = 0;
/// The row is the first permutation of a leaf.
pub const FIRST: usize = 1;
/// The row continues the leaf of the previous row.
pub const CONT: usize = 2;
/// The row is a node of the forest.
pub const NODE: usize = 3;
/// The row is the last permutation of its leaf (the leaf digest is published on the tree bus).
pub const END: usize = 4;
/// The row starts a level of nodes (or is the first filler after the last one).
pub const LSTART: usize = 5;
/// Heap index of the tree node this row produces: `N' + j` for leaf `j`, the node's index for
/// a node, 0 on filler rows.
pub const IDX: usize = 6;
/// On a level-start row: the previous row's `IDX`.
pub const PREV: usize = 7;
/// The range table: `0, 1, …, 2^13 − 1` over the first rows, then constant.
pub const TABLE: usize = 8;
/// How many range lookups hit this row's table value.
pub const MULT: usize = 9;
/// First of the 8 × 12 hash columns: the permutation input, then the state after each round.
pub const STATE: usize = 10;
/// First of the 36 limb columns: 4 entry slots × 9 limbs of 13 bits.
pub const LIMBS: usize = STATE + (NUM_ROUNDS + 1) * STATE_WIDTH;
/// Main trace width.
pub const MAIN_WIDTH: usize = LIMBS + SLOTS * LIMBS_PER_SLOT;

/// Column of element `c` of hash state `s` (0 = permutation input, 7 = output).
pub const fn state(s: usize, c: usize) -> usize {
    STATE + s * STATE_WIDTH + c
}

/// Column of limb `i` of entry slot `j`.
pub const fn limb(j: usize, i: usize) -> usize {
    LIMBS + j * LIMBS_PER_SLOT + i
}

/// Entry slots per row: the four two-element entries of the rate. In a leaf's first block,
/// slots 0 and 1 hold the id commitment instead.
pub const SLOTS: usize = 4;
/// Bits per limb; the range table has `2^13` values.
pub const LIMB_BITS: u32 = 13;
pub const TABLE_SIZE: usize = 1 << LIMB_BITS;
/// Limbs of the low element `x₀ < 2^62` (5 × 13 = 65 bits of room, the top limb bounded).
pub const LOW_LIMBS: usize = 5;
/// Limbs of the high part `h < 2^50` in `x₁ = tag + 2^13·h`.
pub const HIGH_LIMBS: usize = 4;
pub const LIMBS_PER_SLOT: usize = LOW_LIMBS + HIGH_LIMBS;
/// Bit offset of each limb in the amount: the low element's limbs, then the high part's
/// (which starts at bit 62).
pub const LIMB_OFFSETS: [u32; LIMBS_PER_SLOT] = [0, 13, 26, 39, 52, 62, 75, 88, 101];
/// Bits of the low element's top limb (`x₀ < 2^62`).
pub const LOW_TOP_BITS: u32 = 62 - 52;

/// An amount is summed as parts of at most 26 bits (pairs of limbs, the low element's top
/// limb alone) so that the per-asset sums of a part can never wrap around the modulus.
pub const PARTS: usize = 5;
/// The limbs of each part (first, count).
pub const PART_LIMBS: [(usize, usize); PARTS] = [(0, 2), (2, 2), (4, 1), (5, 2), (7, 2)];
/// Bit offset of each part in the amount.
pub const PART_OFFSETS: [u32; PARTS] = [0, 26, 52, 62, 88];

/// Rate column (in the permutation input) of slot `j`'s two elements.
pub const fn slot_low(j: usize) -> usize {
    state(0, 4 + 2 * j)
}
pub const fn slot_high(j: usize) -> usize {
    state(0, 5 + 2 * j)
}

// Auxiliary segment ----------------------------------------------------------------------------

/// Range lookups per slot: 9 limbs, `x₀`'s top limb bound, the range bound, the tag.
pub const LOOKUPS_PER_SLOT: usize = LIMBS_PER_SLOT + 3;
/// Log-derivative terms per row: the lookups, 4 asset sums, 3 tree messages, 1 level message,
/// 1 table term.
pub const NUM_TERMS: usize = SLOTS * LOOKUPS_PER_SLOT + SLOTS + 3 + 1 + 1;
/// Terms folded into one helper column (keeps every constraint at degree ≤ 9).
pub const TERMS_PER_HELPER: usize = 7;
/// Helper columns: each holds the sum of its group's terms for the row (the last group may
/// be shorter).
pub const NUM_HELPERS: usize = NUM_TERMS.div_ceil(TERMS_PER_HELPER);
/// The running sum of all terms over the real rows.
pub const SUM: usize = NUM_HELPERS;
/// Auxiliary trace width (extension-field columns).
pub const AUX_WIDTH: usize = NUM_HELPERS + 1;
/// Verifier challenges: α (the pole), β (packs tuples), δ (packs an amount's parts).
pub const NUM_AUX_RANDS: usize = 3;

const _: () = assert!(MAIN_WIDTH == 142);
const _: () = assert!(NUM_TERMS == 57);

// Margin section (statement version 3) ------------------------------------------------------------
//
// Version 3 is version 2's trace with four more main columns and, on rows that are fillers to
// version 2 (neither a leaf block nor a node), three new kinds of row that reuse the hash-state
// and limb columns, which version 2 leaves free there: price-table rows, entry rows (up to two
// entries of one borrower each) and a close row per borrower. See README §4.

/// On a leaf row: 0, or the leaf's own `IDX` if the user borrows (their entries then go to the
/// margin section). On an entry row: the borrower's `IDX`.
pub const UIDK: usize = MAIN_WIDTH;
/// The row is a margin entry row.
pub const MENTRY: usize = MAIN_WIDTH + 1;
/// The row closes a borrower's entry rows (the collateral condition is checked here).
pub const MCLOSE: usize = MAIN_WIDTH + 2;
/// The row is a price-table row.
pub const MPRICE: usize = MAIN_WIDTH + 3;
/// Main trace width of version 3.
pub const MAIN_WIDTH_MARGIN: usize = MAIN_WIDTH + 4;

/// 13-bit digits of a price coefficient: coefficients are below `2^91`.
pub const COEF_DIGITS: usize = 7;
pub const COEF_BITS: u32 = COEF_DIGITS as u32 * LIMB_BITS;
/// Digits of an amount at 13-bit spacing (the high part's limbs sit 10 bits into theirs).
pub const AMOUNT_DIGITS: usize = 8;
/// Positions of the running value `Σ ±amount·coefficient`, 13 bits apart.
pub const POSITIONS: usize = AMOUNT_DIGITS + COEF_DIGITS - 1;
/// The close row normalises the value two positions (26 bits) at a time.
pub const PAIRS: usize = POSITIONS.div_ceil(2);
/// Limb cells of a close row per pair: the 26-bit remainder (2) and the carry (3).
pub const CELLS_PER_PAIR: usize = 5;
/// Entry slots of an entry row: slots 0 and 1 (two entries per row keep version 3's terms
/// within version 2's nine helper columns).
pub const MARGIN_SLOTS: usize = 2;
/// The close row's cell holding `32·CNT` (so a borrower has at most 255 entry rows).
pub const COUNT_CELL: usize = PAIRS * CELLS_PER_PAIR;
/// Most entry rows of one borrower (510 entries).
pub const MAX_ENTRY_ROWS: u64 = (1 << (LIMB_BITS - COUNT_SHIFT)) - 1;
/// `CNT·2^5` is looked up, so `CNT < 2^8`.
pub const COUNT_SHIFT: u32 = 5;

/// Margin-row columns inside the hash-state block (free on non-permutation rows); the first
/// state (the permutation input) keeps the slots' second elements, from which tags are read.
const MARGIN_AREA: usize = STATE + STATE_WIDTH;
/// Slot `j`'s kind (0 equity, 1 debt), from the price table.
pub const fn kind(j: usize) -> usize {
    MARGIN_AREA + j
}
/// Digit `i` of slot `j`'s coefficient, from the price table.
pub const fn coef(j: usize, i: usize) -> usize {
    MARGIN_AREA + SLOTS + j * COEF_DIGITS + i
}
/// Position `p` of the borrower's running value, including this row.
pub const fn acc(p: usize) -> usize {
    MARGIN_AREA + SLOTS + SLOTS * COEF_DIGITS + p
}
/// Entry rows of the borrower so far, this one included.
pub const CNT: usize = acc(POSITIONS);
/// `1 / UIDK` on an entry row (a borrower is never user 0).
pub const INV: usize = CNT + 1;
/// On a price-table row: how many entry slots use it.
pub const MULTP: usize = CNT + 2;
/// Close-row cell `c` (the limb columns, 13-bit each by their lookups).
pub const fn cell(c: usize) -> usize {
    limb(c / LIMBS_PER_SLOT, c % LIMBS_PER_SLOT)
}

/// Version 3's terms: version 2's, then per entry slot an emission and a price lookup, then the
/// pin of a price-table row: 62, in nine helpers of 7 as version 2's 57.
pub const NUM_TERMS_MARGIN: usize = NUM_TERMS + 2 * MARGIN_SLOTS + 1;
pub const NUM_HELPERS_MARGIN: usize = NUM_TERMS_MARGIN.div_ceil(TERMS_PER_HELPER);
pub const SUM_MARGIN: usize = NUM_HELPERS_MARGIN;
pub const AUX_WIDTH_MARGIN: usize = NUM_HELPERS_MARGIN + 1;

const _: () = assert!(MULTP < STATE + (NUM_ROUNDS + 1) * STATE_WIDTH);
const _: () = assert!(COUNT_CELL < SLOTS * LIMBS_PER_SLOT);
const _: () = assert!(POSITIONS.is_multiple_of(2));
const _: () = assert!(NUM_HELPERS_MARGIN == NUM_HELPERS);

// Committed totals (formats 4 and 5) ---------------------------------------------------------------
//
// Version 2's or version 3's trace with one more main column, `TOT`, set on the totals rows that
// end the real rows: one permutation per tag of the chain `committed::TotalsOpening` describes,
// its rate `[tag, kind, P₀…P₄, σ]` read from the permutation input. See README §5.

/// The `TOT` column: after version 2's columns, or after version 3's with the margin section.
pub const fn tot(margin: bool) -> usize {
    if margin { MAIN_WIDTH_MARGIN } else { MAIN_WIDTH }
}
/// Main trace widths with committed totals.
pub const MAIN_WIDTH_COMMITTED: usize = MAIN_WIDTH + 1;
pub const MAIN_WIDTH_COMMITTED_MARGIN: usize = MAIN_WIDTH_MARGIN + 1;
/// Column of rate element `i` of a totals row (in the permutation input).
pub const fn totals_rate(i: usize) -> usize {
    state(0, 4 + i)
}
/// One more term per row: a totals row consumes its tag's parts.
pub const NUM_TERMS_COMMITTED: usize = NUM_TERMS + 1;
pub const NUM_TERMS_COMMITTED_MARGIN: usize = NUM_TERMS_MARGIN + 1;
/// The most terms any row has.
pub const MAX_TERMS: usize = NUM_TERMS_COMMITTED_MARGIN;

// 58 and 63 terms: still nine helpers of 7 (so the auxiliary width is version 2's)
const _: () = assert!(NUM_TERMS_COMMITTED.div_ceil(TERMS_PER_HELPER) == NUM_HELPERS);
const _: () = assert!(NUM_TERMS_COMMITTED_MARGIN.div_ceil(TERMS_PER_HELPER) == NUM_HELPERS);
