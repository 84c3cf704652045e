//! Column layout of the aggregation trace (README "Layout"). Rows, tag-major: a start row (and
//! fillers), then per tag of the round `B` hash rows, one per batch, and one close row.

use stark_por_liabilities::layout::PARTS;
use stark_por_solvency::hash::{NUM_ROUNDS, STATE_WIDTH};

// Main segment ---------------------------------------------------------------------------------

/// 1 on the real rows, 0 on the blinding rows at the end.
pub const SEL: usize = 0;
/// The row recomputes one row of one batch's totals chain (one permutation).
pub const H: usize = 1;
/// The row closes a tag's group: its sums against the public total's digits.
pub const CL: usize = 2;
/// On a hash row: the chain's first row (capacity tagged, nothing consumed).
pub const CSTART: usize = 3;
/// On a hash row: the chain's last row (its output is the batch's commitment).
pub const LAST: usize = 4;
/// On a hash row: the batch it belongs to, `0..B`.
pub const BIDX: usize = 5;
/// The range table: `0, 1, …, 2^8 − 1` over the first rows, then constant.
pub const TABLE: usize = 6;
/// How many range lookups hit this row's table value.
pub const MULT: usize = 7;
/// First of the 8 × 12 hash columns: the permutation input, then the state after each round.
pub const STATE: usize = 8;
/// First of the five running part sums of the tag's group.
pub const ACC: usize = STATE + (NUM_ROUNDS + 1) * STATE_WIDTH;
/// Main trace width.
pub const MAIN_WIDTH: usize = ACC + PARTS;

/// Column of element `c` of hash state `s` (0 = permutation input, 7 = output).
pub const fn state(s: usize, c: usize) -> usize {
    STATE + s * STATE_WIDTH + c
}

/// The tag a row absorbs (rate position 0 of the input); a close row keeps its group's here.
pub const TAG: usize = state(0, 4 + stark_por_liabilities::committed::RATE_TAG);
/// Part `i` of the totals row a hash row absorbs.
pub const fn part(i: usize) -> usize {
    state(0, 4 + stark_por_liabilities::committed::RATE_PARTS + i)
}

// Close rows reuse hash columns after the input state (no permutation is checked there).

/// Digit `i` of the tag's public total (mixed radix at `PART_OFFSETS`), on a close row.
pub const fn digit(i: usize) -> usize {
    state(1, 0) + i
}
/// Limb `i` of carry `j`, on a close row.
pub const fn carry_limb(j: usize, i: usize) -> usize {
    digit(PARTS) + j * LIMBS_PER_CARRY + i
}

/// Carries between the five part positions.
pub const CARRIES: usize = PARTS - 1;
/// Bits per limb; the range table has `2^8` values.
pub const LIMB_BITS: u32 = 8;
pub const TABLE_SIZE: usize = 1 << LIMB_BITS;
/// Limbs per carry: 40 bits of room.
pub const LIMBS_PER_CARRY: usize = 5;
/// Carries whose top limb is bounded to 5 bits (carry `< 2^37`): those that enter a
/// `2^26`-weighted position. Carry 2 (into `2^10·k₂`) keeps its 40 bits.
pub const BOUNDED_CARRIES: [usize; 3] = [0, 1, 3];
/// Bits of a bounded carry.
pub const CARRY_BITS: u32 = 37;
/// Bits of carry 2.
pub const WIDE_CARRY_BITS: u32 = LIMB_BITS * LIMBS_PER_CARRY as u32;
/// Bits of each digit position of a total: `PART_OFFSETS` differences, the last unbounded
/// but below `2^62`.
pub const DIGIT_BITS: [u32; PARTS] = [26, 26, 10, 26, 62];

const _: () = assert!(carry_limb(CARRIES - 1, LIMBS_PER_CARRY - 1) < state(NUM_ROUNDS, 0));

// Auxiliary segment ----------------------------------------------------------------------------

/// Range lookups per row: every carry limb, and the scaled top limb of each bounded carry.
pub const RANGE_TERMS: usize = CARRIES * LIMBS_PER_CARRY + BOUNDED_CARRIES.len();
/// Terms per row: the range lookups, the table, chain consume, chain emit, chain end, digits.
pub const NUM_TERMS: usize = RANGE_TERMS + 1 + 4;
/// Terms folded into one helper column (every constraint stays at degree ≤ 9).
pub const TERMS_PER_HELPER: usize = 7;
pub const NUM_HELPERS: usize = NUM_TERMS.div_ceil(TERMS_PER_HELPER);
/// The running sum over the real rows.
pub const SUM: usize = NUM_HELPERS;
pub const AUX_WIDTH: usize = NUM_HELPERS + 1;
/// Verifier challenges: α (the pole) and β (packs tuples).
pub const NUM_AUX_RANDS: usize = 2;

const _: () = assert!(NUM_TERMS == 28 && NUM_HELPERS == 4);
const _: () = assert!(MAIN_WIDTH == 109);
