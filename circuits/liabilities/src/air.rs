//! The version-2 liabilities AIR. Every constraint is listed, with its formula, in
//! `circuits/liabilities/README.md`; the numbers `[Tn]`, `[An]`, `[Bn]` below refer to that list.
//!
//! Notation: `s` = SEL, `f` = FIRST, `c` = CONT, `d` = NODE, `e` = END, `g` = LSTART,
//! `ℓ = f + c` (a leaf block); primed names are read from the next row.

use stark_por_solvency::air::{rescue_round_residuals, Challenges};
use stark_por_solvency::hash::{Digest, NODE_TAG, NUM_ROUNDS, STATE_WIDTH};
use stark_por_solvency::options::blinding_rows;
use winterfell::math::{fields::f64::BaseElement as Felt, ExtensionOf, FieldElement, ToElements};
use winterfell::{
    Air, AirContext, Assertion, AuxRandElements, EvaluationFrame, ProofOptions, TraceInfo,
    TransitionConstraintDegree,
};

use crate::forest::Forest;
use crate::hash::{LEAF_TAG, MAX_AMOUNT_BITS, TAG_BITS};
use crate::layout::*;

/// Tags that keep the buses apart inside one running sum.
pub const RANGE_BUS: u64 = 1;
pub const ASSET_BUS: u64 = 2;
pub const TREE_BUS: u64 = 3;
pub const LEVEL_BUS: u64 = 4;

/// Version of the statement, bound into the transcript: a proof of one version never verifies
/// as another.
pub const CIRCUIT_VERSION: u64 = 2;

/// What one instance of the circuit proves: version 2's public inputs, with or without the
/// margin section (version 3). Without it every column, constraint, term and public input is
/// exactly version 2's.
pub trait Statement: ToElements<Felt> + Clone + Send + Sync + 'static {
    fn base(&self) -> &PublicInputs;
    fn margin(&self) -> Option<&crate::margin::MarginInputs>;
    /// With committed totals (formats 4 and 5): the commitment the totals rows must reach.
    /// The base's (and the margin section's) part sums are then not the verifier's: the trace
    /// consumes them itself.
    fn committed(&self) -> Option<&Digest> {
        None
    }
}

impl Statement for PublicInputs {
    fn base(&self) -> &PublicInputs {
        self
    }
    fn margin(&self) -> Option<&crate::margin::MarginInputs> {
        None
    }
}

/// Smallest and largest supported range bound on every amount, in bits.
pub const MIN_RANGE_BITS: u32 = 32;
pub const MAX_RANGE_BITS: u32 = MAX_AMOUNT_BITS;

/// Public inputs of the statement. All of them enter the Fiat–Shamir seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicInputs {
    /// The tree size `N'` and the leaf range this proof covers.
    pub forest: Forest,
    /// Every amount is proven to lie in `[0, 2^range_bits)`.
    pub range_bits: u32,
    /// Digest of the asset list (names and decimals), computed by the caller.
    pub assets_digest: Digest,
    /// Digest of the round identifier (and of the batch's place in it), computed by the caller.
    pub round_digest: Digest,
    /// Per asset (asset k at index k − 1): the sums of the five parts of every equity amount,
    /// `amount = Σ 2^PART_OFFSETS[i] · partᵢ`.
    pub totals: Vec<[Felt; PARTS]>,
    /// The forest's root digests, in [`Forest::roots`] order.
    pub roots: Vec<Digest>,
}

impl PublicInputs {
    pub fn num_assets(&self) -> usize {
        self.totals.len()
    }
}

impl ToElements<Felt> for PublicInputs {
    fn to_elements(&self) -> Vec<Felt> {
        let f = &self.forest;
        let mut out = vec![
            Felt::new(CIRCUIT_VERSION),
            Felt::new(f.num_leaves),
            Felt::new(f.start),
            Felt::new(f.end),
            Felt::from(self.range_bits),
            Felt::new(self.num_assets() as u64),
            Felt::new(self.roots.len() as u64),
        ];
        out.extend_from_slice(&self.assets_digest);
        out.extend_from_slice(&self.round_digest);
        out.extend(self.roots.iter().flatten());
        out.extend(self.totals.iter().flatten());
        out
    }
}

/// Per-part sums as exact integers, least significant first: `Σ 2^PART_OFFSETS[i] · partᵢ`
/// may exceed `2^128`, so callers combine them with arbitrary precision; this gives the
/// little-endian 64-bit words of that integer.
pub fn combine_parts(parts: &[u64; PARTS]) -> Vec<u64> {
    let mut words = vec![0u64; 4];
    for (&part, &offset) in parts.iter().zip(PART_OFFSETS.iter()) {
        // add part · 2^offset, word by word with carries (part < 2^64, offset < 128)
        let (word, shift) = ((offset / 64) as usize, offset % 64);
        let wide = (part as u128) << shift;
        let mut carry = 0u128;
        for (k, add) in [wide as u64, (wide >> 64) as u64].into_iter().enumerate() {
            let sum = words[word + k] as u128 + add as u128 + carry;
            words[word + k] = sum as u64;
            carry = sum >> 64;
        }
        let mut k = word + 2;
        while carry > 0 {
            let sum = words[k] as u128 + carry;
            words[k] = sum as u64;
            carry = sum >> 64;
            k += 1;
        }
    }
    words
}

/// How the range bound `R` is checked: one lookup of `shift·l_t + 2^13·Σ_{i>t} lᵢ`, `t` the
/// limb holding bit `R − 1` and `shift = 2^(13 − (R − offset_t))`. All limbs being 13-bit
/// integers (their own lookups), this sum cannot wrap, and it fits the table only if
/// `l_t < 2^(R − offset_t)` and every higher limb is zero: exactly `amount < 2^R`.
#[derive(Debug, Clone, Copy)]
pub struct RangeCheck {
    pub top: usize,
    pub shift: Felt,
}

impl RangeCheck {
    pub fn new(range_bits: u32) -> Self {
        let bits = range_bits.clamp(MIN_RANGE_BITS, MAX_RANGE_BITS);
        let top = LIMB_OFFSETS.iter().rposition(|&o| o < bits).expect("offset 0 is below any bound");
        let shift = Felt::new(1u64 << (LIMB_BITS - (bits - LIMB_OFFSETS[top])));
        Self { top, shift }
    }

    /// The bound lookup's value for slot `j`.
    pub fn bound_value<F: FieldElement<BaseField = Felt>>(&self, row: &[F], j: usize) -> F {
        let above = (self.top + 1..LIMBS_PER_SLOT).fold(F::ZERO, |acc, i| acc + row[limb(j, i)]);
        row[limb(j, self.top)] * F::from(self.shift) + above * F::from(TABLE_SIZE as u32)
    }
}

/// `8·l₄`: in the table exactly when `l₄ < 2^10`, i.e. `x₀`'s limbs sum below `2^62` (no wrap).
pub fn low_top_value<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> F {
    row[limb(j, LOW_LIMBS - 1)] * F::from(1u32 << (LIMB_BITS - LOW_TOP_BITS))
}

/// The high part `h = Σ 2^(13i)·l_{5+i}` of slot `j`'s amount.
pub fn high_part<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> F {
    let radix = F::from(1u32 << LIMB_BITS);
    (0..HIGH_LIMBS).rev().fold(F::ZERO, |acc, i| acc * radix + row[limb(j, LOW_LIMBS + i)])
}

/// The low element `x₀` as its limbs say: `Σ 2^(13i)·lᵢ`, `i < 5`.
pub fn low_from_limbs<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> F {
    let radix = F::from(1u32 << LIMB_BITS);
    (0..LOW_LIMBS).rev().fold(F::ZERO, |acc, i| acc * radix + row[limb(j, i)])
}

/// Slot `j`'s tag: `x₁ − 2^13·h`. Looked up in the 13-bit table, so the split of `x₁` is unique.
pub fn tag_value<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> F {
    row[slot_high(j)] - high_part(row, j) * F::from(1u32 << TAG_BITS)
}

/// The parts of slot `j`'s amount (see [`PART_LIMBS`]).
pub fn amount_parts<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> [F; PARTS] {
    let radix = F::from(1u32 << LIMB_BITS);
    core::array::from_fn(|p| {
        let (first, count) = PART_LIMBS[p];
        (0..count).rev().fold(F::ZERO, |acc, k| acc * radix + row[limb(j, first + k)])
    })
}

/// Which rows hold an entry in slot `j`: continuations in every slot, first blocks only in
/// slots 2 and 3 (slots 0 and 1 hold the id commitment).
fn slot_gate<F: FieldElement>(row: &[F], j: usize) -> F {
    if j < 2 { row[CONT] } else { row[FIRST] + row[CONT] }
}

/// A row's (numerator, denominator) pairs: `NUM_TERMS` of them in version 2,
/// `NUM_TERMS_MARGIN` with the margin section (version 2's first, in the same order), one more
/// with committed totals.
pub struct RowTerms<E> {
    terms: [(E, E); MAX_TERMS],
    len: usize,
}

impl<E: FieldElement> RowTerms<E> {
    pub fn push(&mut self, num: E, den: E) {
        self.terms[self.len] = (num, den);
        self.len += 1;
    }
}

impl<E> core::ops::Deref for RowTerms<E> {
    type Target = [(E, E)];
    fn deref(&self) -> &[(E, E)] {
        &self.terms[..self.len]
    }
}

/// `Σ δ^i·gate·partᵢ`: an amount's parts packed with powers of δ.
pub fn packed_parts<F, E>(row: &[F], j: usize, gate: F, delta: E) -> E
where
    F: FieldElement<BaseField = Felt>,
    E: FieldElement<BaseField = Felt> + ExtensionOf<F>,
{
    amount_parts(row, j).iter().rev().fold(E::ZERO, |acc, &p| acc * delta + E::from(gate * p))
}

/// The (numerator, denominator) pairs that one row adds to the running sum. Shared by the
/// trace builder and the AIR so both read the row the same way. With `margin`, three of
/// version 2's terms read two more columns (README §4): the bound and `x₀`-top lookups are off
/// on close rows, and an entry is keyed by `(tag, UIDK)`, consumed there by entry rows.
pub fn row_terms<F, E>(row: &[F], range: &RangeCheck, ch: &Challenges<E>, margin: bool) -> RowTerms<E>
where
    F: FieldElement<BaseField = Felt>,
    E: FieldElement<BaseField = Felt> + ExtensionOf<F>,
{
    statement_row_terms(row, range, ch, margin, false)
}

/// [`row_terms`] of any statement: with `committed`, a last term consumes a totals row's parts
/// (`crate::committed::row_term`).
pub fn statement_row_terms<F, E>(row: &[F], range: &RangeCheck, ch: &Challenges<E>, margin: bool, committed: bool) -> RowTerms<E>
where
    F: FieldElement<BaseField = Felt>,
    E: FieldElement<BaseField = Felt> + ExtensionOf<F>,
{
    let one = E::ONE;
    let mut terms = RowTerms { terms: [(E::ZERO, E::ONE); MAX_TERMS], len: 0 };
    let bounded = if margin { one - E::from(row[MCLOSE]) } else { one };
    for j in 0..SLOTS {
        let gate = slot_gate(row, j);
        // every limb, x₀'s top limb, the range bound: on every real row (zero off entries)
        for i in 0..LIMBS_PER_SLOT {
            terms.push(one, ch.pole(RANGE_BUS, &[row[limb(j, i)]]));
        }
        terms.push(bounded, ch.pole(RANGE_BUS, &[low_top_value(row, j)]));
        terms.push(bounded, ch.pole(RANGE_BUS, &[range.bound_value(row, j)]));
        // the tag, only where the slot holds an entry (elsewhere x₁ is a digest element)
        terms.push(E::from(gate), ch.pole(RANGE_BUS, &[tag_value(row, j)]));
    }
    // asset sums: the amount's parts packed with powers of δ, keyed by tag (and, with margin,
    // by UIDK: a borrower's entries go to their entry rows, which consume them)
    for j in 0..SLOTS {
        let gate = slot_gate(row, j);
        if margin {
            // entry rows consume in their entry slots only
            let consumed = if j < MARGIN_SLOTS { gate - row[MENTRY] } else { gate };
            let num = packed_parts(row, j, consumed, ch.delta);
            terms.push(num, ch.pole(ASSET_BUS, &[tag_value(row, j), row[UIDK]]));
        } else {
            terms.push(packed_parts(row, j, gate, ch.delta), ch.pole(ASSET_BUS, &[tag_value(row, j)]));
        }
    }
    // tree bus: publish this row's digest; a node consumes its two children
    let (d, e) = (row[NODE], row[END]);
    let idx = row[IDX];
    let two = F::from(2u32);
    let s7 = |c: usize| row[state(NUM_ROUNDS, c)];
    let s0 = |c: usize| row[state(0, c)];
    terms.push(E::from(e + d), ch.pole(TREE_BUS, &[idx, s7(4), s7(5), s7(6), s7(7)]));
    terms.push(-E::from(d), ch.pole(TREE_BUS, &[two * idx, s0(4), s0(5), s0(6), s0(7)]));
    terms.push(-E::from(d), ch.pole(TREE_BUS, &[two * idx + F::ONE, s0(8), s0(9), s0(10), s0(11)]));
    // level bus: a row that starts a level announces (previous IDX, IDX)
    terms.push(E::from(row[LSTART]), ch.pole(LEVEL_BUS, &[row[PREV], idx]));
    // the range table, with its multiplicity
    terms.push(-E::from(row[MULT]), ch.pole(RANGE_BUS, &[row[TABLE]]));
    debug_assert_eq!(terms.len, NUM_TERMS);
    if margin {
        crate::margin::row_terms(row, ch, &mut terms);
        debug_assert_eq!(terms.len, NUM_TERMS_MARGIN);
    }
    if committed {
        let (num, den) = crate::committed::row_term(row, ch, margin);
        terms.push(num, den);
    }
    terms
}

/// The liabilities AIR for one instance (public inputs and trace shape): version 2 for
/// [`PublicInputs`], version 3 (with the margin section) for [`crate::margin::MarginInputs`].
pub struct LiabilitiesAir<P: Statement = PublicInputs> {
    context: AirContext<Felt>,
    pub_inputs: P,
    /// Index of the last real row, `n − r − 1`.
    last_real: usize,
    range: RangeCheck,
}

/// Constraint counts, kept in one place so the README and the tests agree.
pub const FIRST_ROUND_CONSTRAINT: usize = 37;
pub const NUM_MAIN_CONSTRAINTS: usize = FIRST_ROUND_CONSTRAINT + NUM_ROUNDS * STATE_WIDTH;
pub const NUM_AUX_CONSTRAINTS: usize = NUM_HELPERS + 1;

impl<P: Statement> LiabilitiesAir<P> {
    pub fn pub_inputs(&self) -> &P {
        &self.pub_inputs
    }

    pub fn last_real_row(&self) -> usize {
        self.last_real
    }

    /// The value the running sum must reach: what the asset table, the forest's roots and its
    /// level starts contribute, since every lookup, entry and tree message is matched inside
    /// the trace. `O(K + log N')`. With committed totals the totals rows consume the part sums
    /// in the trace, so the verifier lists none.
    pub fn expected_sum<E: FieldElement<BaseField = Felt>>(&self, ch: &Challenges<E>) -> E {
        let pi = self.pub_inputs.base();
        let committed = self.pub_inputs.committed().is_some();
        let mut sum = E::ZERO;
        for (&index, root) in pi.forest.roots().iter().zip(&pi.roots) {
            let message = [Felt::new(index), root[0], root[1], root[2], root[3]];
            sum += ch.pole::<Felt>(TREE_BUS, &message).inv();
        }
        for (prev, idx) in pi.forest.level_starts() {
            sum += ch.pole::<Felt>(LEVEL_BUS, &[Felt::new(prev), Felt::new(idx)]).inv();
        }
        if !committed {
            for (k, parts) in pi.totals.iter().enumerate() {
                let num = parts.iter().rev().fold(E::ZERO, |acc, &p| acc * ch.delta + E::from(p));
                let equity_tag = Felt::new(2 * (k as u64 + 1));
                sum += num / ch.pole::<Felt>(ASSET_BUS, &[equity_tag]);
            }
        }
        if let Some(margin) = self.pub_inputs.margin() {
            if !committed {
                sum += margin.debt_sum(ch);
            }
            sum += margin.pin_sum(ch);
        }
        sum
    }
}

impl<P: Statement> Air for LiabilitiesAir<P> {
    type BaseField = Felt;
    type PublicInputs = P;

    fn new(trace_info: TraceInfo, pub_inputs: P, options: ProofOptions) -> Self {
        let margin = pub_inputs.margin().is_some();
        let committed = pub_inputs.committed().is_some();
        let degrees = |spec: &[(usize, usize)]| -> Vec<TransitionConstraintDegree> {
            spec.iter()
                .flat_map(|&(count, degree)| (0..count).map(move |_| TransitionConstraintDegree::new(degree)))
                .collect()
        };
        let main_degrees = degrees(&[
            (2, 2),                        // [T0–T1] SEL
            (8, 3),                        // [T2–T9] flags
            (4, 3),                        // [T10–T13] row order
            (1, 4),                        // [T14]
            (3, 3),                        // [T15–T17] IDX, TABLE, no level start on leaves
            (2, 4),                        // [T18–T19] level starts
            (1, 3),                        // [T20] PREV
            (16, 3),                       // [T21–T36] capacity, IVs, low elements
            (NUM_ROUNDS * STATE_WIDTH, 9), // [T37–T120] the permutation
        ]);
        debug_assert_eq!(main_degrees.len(), NUM_MAIN_CONSTRAINTS);
        let (mut main_degrees, num_terms) = (main_degrees, if margin { NUM_TERMS_MARGIN } else { NUM_TERMS });
        if margin {
            main_degrees.extend(degrees(&crate::margin::CONSTRAINT_DEGREES));
        }
        let num_terms = if committed {
            main_degrees.extend(degrees(&crate::committed::CONSTRAINT_DEGREES));
            num_terms + 1
        } else {
            num_terms
        };
        let helpers = num_terms.div_ceil(TERMS_PER_HELPER);
        let last_group = num_terms - (helpers - 1) * TERMS_PER_HELPER;
        let aux_degrees = degrees(&[(helpers - 1, TERMS_PER_HELPER + 2), (1, last_group + 2), (1, 2)]);

        let trace_len = trace_info.length();
        let r = blinding_rows(&options, trace_len);
        // The verifier checks the shape before building the AIR; saturate so a bad shape can
        // never panic here.
        let last_real = trace_len.saturating_sub(r + 1).max(1);
        let assertions = 7 + margin as usize + if committed { crate::committed::NUM_ASSERTIONS } else { 0 };
        let context = AirContext::new_multi_segment(trace_info, main_degrees, aux_degrees, assertions, 2, options);
        let range = RangeCheck::new(pub_inputs.base().range_bits);
        Self { context, pub_inputs, last_real, range }
    }

    fn context(&self) -> &AirContext<Felt> {
        &self.context
    }

    fn evaluate_transition<E: FieldElement<BaseField = Felt>>(
        &self,
        frame: &EvaluationFrame<E>,
        _periodic_values: &[E],
        result: &mut [E],
    ) {
        let cur = frame.current();
        let nxt = frame.next();
        let one = E::ONE;
        let (s, f, c, d, e, g) = (cur[SEL], cur[FIRST], cur[CONT], cur[NODE], cur[END], cur[LSTART]);
        let (s_, f_, c_, d_, g_) = (nxt[SEL], nxt[FIRST], nxt[CONT], nxt[NODE], nxt[LSTART]);
        let leaf = f + c;

        // [T0–T1] SEL is 1…1 0…0
        result[0] = s * (one - s);
        result[1] = s_ * (one - s);
        // [T2–T6] row flags are binary
        for (k, x) in [f, c, d, e, g].into_iter().enumerate() {
            result[2 + k] = s * x * (one - x);
        }
        // [T7–T9] at most one kind per row
        result[7] = s * f * c;
        result[8] = s * f * d;
        result[9] = s * c * d;
        // [T10] only a leaf block can end a leaf
        result[10] = s * e * (one - leaf);
        // [T11] a continuation follows an unfinished leaf block
        result[11] = s_ * c_ * (one - leaf + e);
        // [T12] a new leaf follows a finished one
        result[12] = s_ * f_ * (one - e);
        // [T13] a node follows a finished leaf or a node
        result[13] = s_ * d_ * (one - e - d);
        // [T14] an unfinished leaf block is followed by its continuation
        result[14] = s_ * leaf * (one - e) * (one - c_);
        // [T15] IDX: +1 per new leaf, same within a leaf, −1 per node within a level; free only
        //       on a row that starts a level (the level bus pins it)
        result[15] = s_ * (one - g_) * (nxt[IDX] - cur[IDX] - f_ + d_);
        // [T16] the table steps by 0 or 1
        let step = nxt[TABLE] - cur[TABLE];
        result[16] = s_ * step * (step - one);
        // [T17] a leaf row never starts a level
        result[17] = s * g * leaf;
        // [T18] after a finished leaf, a row that is not a new leaf starts a level
        result[18] = s_ * e * (one - f_) * (one - g_);
        // [T19] after a node, a row that is not a node starts a level
        result[19] = s_ * d * (one - d_) * (one - g_);
        // [T20] a level start records the previous row's IDX
        result[20] = s_ * g_ * (nxt[PREV] - cur[IDX]);
        let mut i = 21;
        // [T21–T24] a continuation carries the capacity over
        for k in 0..4 {
            result[i] = s_ * c_ * (nxt[state(0, k)] - cur[state(NUM_ROUNDS, k)]);
            i += 1;
        }
        // [T25–T32] leaves and nodes start from their tagged capacity [tag, 0, 0, 0]
        for (flag, tag) in [(f, LEAF_TAG), (d, NODE_TAG)] {
            for k in 0..4 {
                let iv = if k == 0 { E::from(Felt::new(tag)) } else { E::ZERO };
                result[i] = s * flag * (cur[state(0, k)] - iv);
                i += 1;
            }
        }
        // [T33–T36] each entry's low element is its five limbs
        for j in 0..SLOTS {
            result[i] = s * slot_gate(cur, j) * (cur[slot_low(j)] - low_from_limbs(cur, j));
            i += 1;
        }
        // [T37–T120] the permutation, on leaf blocks and nodes (and totals rows: [C-P])
        let margin = self.pub_inputs.margin().is_some();
        let tot = self.pub_inputs.committed().map(|_| cur[crate::layout::tot(margin)]);
        let active = match tot {
            None => s * (leaf + d),
            Some(tot) => s * (leaf + d + tot),
        };
        for round in 0..NUM_ROUNDS {
            for r in rescue_round_residuals(&cur[state(round, 0)..], &cur[state(round + 1, 0)..], round) {
                result[i] = active * r;
                i += 1;
            }
        }
        debug_assert_eq!(i, NUM_MAIN_CONSTRAINTS);
        let mut i = NUM_MAIN_CONSTRAINTS;
        if margin {
            crate::margin::evaluate(cur, nxt, &mut result[i..]);
            i += crate::margin::NUM_CONSTRAINTS;
        }
        if tot.is_some() {
            let k = self.pub_inputs.base().num_assets();
            crate::committed::evaluate(cur, nxt, margin, k, &mut result[i..]);
        }
    }

    fn get_assertions(&self) -> Vec<Assertion<Felt>> {
        let last = self.last_real;
        let forest = &self.pub_inputs.base().forest;
        let mut assertions = vec![
            // [B0–B2] the real/blinding boundary sits where the options say
            Assertion::single(SEL, 0, Felt::ONE),
            Assertion::single(SEL, last, Felt::ONE),
            Assertion::single(SEL, last + 1, Felt::ZERO),
            // [B3–B4] the first row starts the range's first leaf
            Assertion::single(FIRST, 0, Felt::ONE),
            Assertion::single(IDX, 0, Felt::new(forest.num_leaves + forest.start)),
            // [B5–B6] the table covers every 13-bit value
            Assertion::single(TABLE, 0, Felt::ZERO),
            Assertion::single(TABLE, last, Felt::new(TABLE_SIZE as u64 - 1)),
        ];
        let margin = self.pub_inputs.margin().is_some();
        if margin {
            // [M-B0] no borrower's entry rows are left open at the end of the real rows
            assertions.push(Assertion::single(MENTRY, last, Felt::ZERO));
        }
        if let Some(commitment) = self.pub_inputs.committed() {
            // [C-B0–C-B5] the totals chain ends on the last real row, at the last tag, in C
            let k = self.pub_inputs.base().num_assets();
            assertions.extend(crate::committed::assertions(last, margin, k, commitment));
        }
        assertions
    }

    fn evaluate_aux_transition<F, E>(
        &self,
        main_frame: &EvaluationFrame<F>,
        aux_frame: &EvaluationFrame<E>,
        _periodic_values: &[F],
        aux_rand_elements: &AuxRandElements<E>,
        result: &mut [E],
    ) where
        F: FieldElement<BaseField = Felt>,
        E: FieldElement<BaseField = Felt> + ExtensionOf<F>,
    {
        let cur = main_frame.current();
        let s = E::from(cur[SEL]);
        let aux = aux_frame.current();
        let aux_next = aux_frame.next();
        let ch = Challenges::from_rand(aux_rand_elements.rand_elements());
        let (margin, committed) = (self.pub_inputs.margin().is_some(), self.pub_inputs.committed().is_some());
        let terms = statement_row_terms(cur, &self.range, &ch, margin, committed);
        // [A0–A8] helper h = Σ nᵢ/dᵢ over its group, cleared of denominators:
        //         h·∏dᵢ = Σ nᵢ·∏_{j≠i} dⱼ; [A9] the running sum adds every helper of each real row
        stark_por_solvency::logup::aux_residuals(&terms, TERMS_PER_HELPER, s, aux, aux_next, result);
    }

    fn get_aux_assertions<E: FieldElement<BaseField = Felt>>(
        &self,
        aux_rand_elements: &AuxRandElements<E>,
    ) -> Vec<Assertion<E>> {
        let ch = Challenges::from_rand(aux_rand_elements.rand_elements());
        let sum = if self.pub_inputs.margin().is_some() { SUM_MARGIN } else { SUM };
        vec![
            // [B7] the sum starts at zero
            Assertion::single(sum, 0, E::ZERO),
            // [B8] after the last real row it equals what the public inputs dictate
            Assertion::single(sum, self.last_real + 1, self.expected_sum(&ch)),
        ]
    }
}

/// The shape of this statement's log-derivative identity, for the security estimate
/// (`stark_por_solvency::security`): per row, 57 poles (every one of degree 1 in the
/// challenges but the tree messages, tuples of 5, and the level message, a pair); on the
/// verifier's side one pole per listed asset, per forest root and per level start.
pub fn bus_shape(pi: &PublicInputs) -> stark_por_solvency::BusShape {
    bus_shape_of(pi.num_assets() as u64, &pi.forest)
}

/// [`bus_shape`] of a statement of `k` assets over `forest`.
pub fn bus_shape_of(k: u64, forest: &Forest) -> stark_por_solvency::BusShape {
    const TREE_TUPLE: u64 = 5; // IDX and a 4-element digest
    const LEVEL_TUPLE: u64 = 2; // PREV and IDX
    let lookups = (SLOTS * LOOKUPS_PER_SLOT + 1) as u64; // every lookup and the table
    let assets = SLOTS as u64;
    let (roots, levels) = (forest.roots().len() as u64, forest.level_starts().len() as u64);
    const _: () = assert!(SLOTS * LOOKUPS_PER_SLOT + 1 + SLOTS + 3 + 1 == NUM_TERMS);
    stark_por_solvency::BusShape {
        terms_per_row: NUM_TERMS as u64,
        pole_degree_per_row: lookups + assets + 3 * TREE_TUPLE + LEVEL_TUPLE,
        public_terms: k + roots + levels,
        public_pole_degree: k + roots * TREE_TUPLE + levels * LEVEL_TUPLE,
        // an amount's parts packed as Σ δ^i·partᵢ
        numerator_degree: (PARTS - 1) as u64,
    }
}

/// The exact total of asset `k` (0-based) as little-endian 64-bit words.
pub fn total_words(pi: &PublicInputs, k: usize) -> Vec<u64> {
    combine_parts(&pi.totals[k].map(|x| x.as_int()))
}
