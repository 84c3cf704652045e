//! The aggregation AIR. Every constraint is listed, with its formula, in
//! `circuits/aggregation/README.md`; `[Gn]`, `[Bn]` below refer to that table.
//!
//! Notation: `s` = SEL, `h` = H, `c` = CL; primed names are read from the next row.

use stark_por_liabilities::committed::{tag_walk, totals_tags, TOTALS_TAG};
use stark_por_liabilities::layout::{PARTS, PART_OFFSETS};
use stark_por_solvency::air::{rescue_round_residuals, Challenges};
use stark_por_solvency::hash::{Digest, NUM_ROUNDS, STATE_WIDTH};
use stark_por_solvency::options::blinding_rows;
use stark_por_solvency::BusShape;
use winterfell::math::{fields::f64::BaseElement as Felt, ExtensionOf, FieldElement, ToElements};
use winterfell::{
    Air, AirContext, Assertion, AuxRandElements, EvaluationFrame, ProofOptions, TraceInfo,
    TransitionConstraintDegree,
};

use crate::layout::*;

/// Tags that keep the buses apart inside one running sum.
pub const RANGE_BUS: u64 = 1;
/// `(b, tag, capacity)`: a chain row hands its output capacity to batch `b`'s next row.
pub const CHAIN_BUS: u64 = 2;
/// `(b, C)`: a chain's last row meets the verifier's commitment of batch `b`.
pub const END_BUS: u64 = 3;
/// `(tag, d₀…d₄)`: a close row meets the verifier's digits of the tag's total.
pub const DIGITS_BUS: u64 = 4;

/// Version of the aggregation statement, first of the public elements.
pub const AGGREGATION_VERSION: u64 = 1;

/// What the AIR is instantiated with: [`crate::AggregationInputs`] after its checks, totals as
/// their digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub binding: Digest,
    pub num_assets: usize,
    pub margin: bool,
    pub commitments: Vec<Digest>,
    /// Per tag of `totals_tags(num_assets, margin)`: the total's mixed-radix digits at
    /// `PART_OFFSETS`, each below `2^DIGIT_BITS[i]`.
    pub digits: Vec<[u64; PARTS]>,
}

impl Statement {
    pub fn num_batches(&self) -> usize {
        self.commitments.len()
    }

    pub fn tags(&self) -> Vec<(u32, u32)> {
        totals_tags(self.num_assets, self.margin)
    }
}

impl ToElements<Felt> for Statement {
    fn to_elements(&self) -> Vec<Felt> {
        let mut out = vec![
            Felt::new(AGGREGATION_VERSION),
            Felt::new(self.margin as u64),
            Felt::new(self.num_assets as u64),
            Felt::new(self.num_batches() as u64),
        ];
        out.extend_from_slice(&self.binding);
        out.extend(self.commitments.iter().flatten());
        out.extend(self.digits.iter().flatten().map(|&d| Felt::new(d)));
        out
    }
}

/// Carry `j` from its limbs: `Σ 2^(8i)·lᵢ`.
pub fn carry<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> F {
    let radix = F::from(1u32 << LIMB_BITS);
    (0..LIMBS_PER_CARRY).rev().fold(F::ZERO, |acc, i| acc * radix + row[carry_limb(j, i)])
}

/// The scaled top limb of bounded carry `j`: in the table exactly when the limb is below
/// `2^(CARRY_BITS − 32)`.
pub fn scaled_top<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> F {
    row[carry_limb(j, LIMBS_PER_CARRY - 1)] * F::from(1u32 << (WIDE_CARRY_BITS - CARRY_BITS))
}

/// The `NUM_TERMS` (numerator, denominator) pairs one row adds to the running sum; shared by
/// the trace builder and the AIR. `step` is the tag walk's step.
pub fn row_terms<F, E>(row: &[F], ch: &Challenges<E>, step: Felt) -> [(E, E); NUM_TERMS]
where
    F: FieldElement<BaseField = Felt>,
    E: FieldElement<BaseField = Felt> + ExtensionOf<F>,
{
    let mut terms = [(E::ZERO, E::ONE); NUM_TERMS];
    let mut t = 0;
    let mut push = |num: E, den: E| {
        terms[t] = (num, den);
        t += 1;
    };
    let close = E::from(row[CL]);
    // carry limbs and the bounded carries' top limbs: looked up on close rows only (elsewhere
    // these columns hold hash states)
    for j in 0..CARRIES {
        for i in 0..LIMBS_PER_CARRY {
            push(close, ch.pole(RANGE_BUS, &[row[carry_limb(j, i)]]));
        }
    }
    for j in BOUNDED_CARRIES {
        push(close, ch.pole(RANGE_BUS, &[scaled_top(row, j)]));
    }
    push(-E::from(row[MULT]), ch.pole(RANGE_BUS, &[row[TABLE]]));
    // the chain: consume (b, tag, capacity in) unless the chain starts here, emit
    // (b, tag + step, capacity out) unless it ends here, where it emits (b, out[4..8])
    let (hash, start, last) = (row[H], row[CSTART], row[LAST]);
    let (b, tag) = (row[BIDX], row[TAG]);
    let input = |k: usize| row[state(0, k)];
    let output = |k: usize| row[state(NUM_ROUNDS, k)];
    push(
        -E::from(hash * (F::ONE - start)),
        ch.pole(CHAIN_BUS, &[b, tag, input(0), input(1), input(2), input(3)]),
    );
    push(
        E::from(hash * (F::ONE - last)),
        ch.pole(CHAIN_BUS, &[b, tag + F::from(step), output(0), output(1), output(2), output(3)]),
    );
    push(E::from(hash * last), ch.pole(END_BUS, &[b, output(4), output(5), output(6), output(7)]));
    // the close row takes its tag's digits
    let d = |i: usize| row[digit(i)];
    push(close, ch.pole(DIGITS_BUS, &[tag, d(0), d(1), d(2), d(3), d(4)]));
    debug_assert_eq!(t, NUM_TERMS);
    terms
}

/// Indices of the main transition constraints (README table, `G0`…).
pub mod index {
    use super::*;
    pub const SEL_PREFIX: usize = 0;
    pub const H_BINARY: usize = 1;
    pub const CL_BINARY: usize = 2;
    pub const CSTART_BINARY: usize = 3;
    pub const LAST_BINARY: usize = 4;
    pub const H_THEN_H_OR_CL: usize = 5;
    pub const GROUP_TAG: usize = 6;
    pub const CLOSE_TAG: usize = 7;
    /// Five: one per part.
    pub const ACC_STEP: usize = 8;
    pub const CSTART_CAPACITY: usize = ACC_STEP + PARTS;
    pub const CSTART_TAG: usize = CSTART_CAPACITY + 1;
    pub const LAST_TAG: usize = CSTART_TAG + 1;
    /// Five: one per part position.
    pub const CLOSE_SUM: usize = LAST_TAG + 1;
    pub const TABLE_STEP: usize = CLOSE_SUM + PARTS;
    pub const PERMUTATION: usize = TABLE_STEP + 1;
    pub const NUM_MAIN: usize = PERMUTATION + NUM_ROUNDS * STATE_WIDTH;
}
pub use index::NUM_MAIN as NUM_MAIN_CONSTRAINTS;
pub const NUM_AUX_CONSTRAINTS: usize = NUM_HELPERS + 1;

/// Indices of the main assertions, in [`Air::get_assertions`] order.
pub mod assertion {
    pub const SEL_LAST: usize = 0;
    pub const SEL_AFTER: usize = 1;
    pub const H_FIRST: usize = 2;
    pub const CL_LAST: usize = 3;
    pub const TABLE_FIRST: usize = 4;
    pub const TABLE_LAST: usize = 5;
    pub const COUNT: usize = 6;
}

pub struct AggregationAir {
    context: AirContext<Felt>,
    statement: Statement,
    last_real: usize,
    /// `(first, step, last)` of the tag walk, as field elements.
    walk: (Felt, Felt, Felt),
}

impl AggregationAir {
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    pub fn last_real_row(&self) -> usize {
        self.last_real
    }

    pub fn step(&self) -> Felt {
        self.walk.1
    }

    /// What the running sum must reach: one `(b, C_b)` per batch, one `(tag, digits)` per tag;
    /// every range lookup and chain message is matched inside the trace.
    pub fn expected_sum<E: FieldElement<BaseField = Felt>>(&self, ch: &Challenges<E>) -> E {
        let st = &self.statement;
        let mut sum = E::ZERO;
        for (b, c) in st.commitments.iter().enumerate() {
            sum += ch.pole::<Felt>(END_BUS, &[Felt::new(b as u64), c[0], c[1], c[2], c[3]]).inv();
        }
        for (&(tag, _), d) in st.tags().iter().zip(&st.digits) {
            let message = [Felt::from(tag), Felt::new(d[0]), Felt::new(d[1]), Felt::new(d[2]), Felt::new(d[3]), Felt::new(d[4])];
            sum += ch.pole::<Felt>(DIGITS_BUS, &message).inv();
        }
        sum
    }
}

fn degrees(spec: &[(usize, usize)]) -> Vec<TransitionConstraintDegree> {
    spec.iter().flat_map(|&(count, degree)| (0..count).map(move |_| TransitionConstraintDegree::new(degree))).collect()
}

/// `2^PART_OFFSETS[i+1] / 2^PART_OFFSETS[i]`: the weight of carry `i` in position `i`.
fn radix(i: usize) -> u64 {
    1u64 << (PART_OFFSETS[i + 1] - PART_OFFSETS[i])
}

impl Air for AggregationAir {
    type BaseField = Felt;
    type PublicInputs = Statement;

    fn new(trace_info: TraceInfo, statement: Statement, options: ProofOptions) -> Self {
        let main_degrees = degrees(&[
            (1, 2),                        // [G0] SEL
            (4, 3),                        // [G1–G4] flags binary
            (1, 3),                        // [G5] a group continues or closes
            (1, 4),                        // [G6] one tag per group
            (1, 3),                        // [G7] the close row's tag
            (PARTS, 4),                    // [G8–G12] the running sums
            (3, 3),                        // [G13–G15] chain start and end
            (PARTS, 3),                    // [G16–G20] the close row's sum
            (1, 3),                        // [G21] the table
            (NUM_ROUNDS * STATE_WIDTH, 9), // [G22–G105] the permutation
        ]);
        debug_assert_eq!(main_degrees.len(), NUM_MAIN_CONSTRAINTS);
        let aux_degrees = degrees(&[(NUM_HELPERS, TERMS_PER_HELPER + 2), (1, 2)]);
        let n = trace_info.length();
        // the verifier checks the shape first; saturate so that no shape panics here
        let last_real = n.saturating_sub(blinding_rows(&options, n) + 1).max(1);
        let (first, step, last) = tag_walk(statement.num_assets, statement.margin);
        let walk = (Felt::from(first), Felt::from(step), Felt::from(last));
        let context =
            AirContext::new_multi_segment(trace_info, main_degrees, aux_degrees, assertion::COUNT, 2, options);
        Self { context, statement, last_real, walk }
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
        use index::*;
        let (cur, nxt) = (frame.current(), frame.next());
        let one = E::ONE;
        let (s, h, c, cs, l) = (cur[SEL], cur[H], cur[CL], cur[CSTART], cur[LAST]);
        let (s_, h_, c_) = (nxt[SEL], nxt[H], nxt[CL]);

        // [G0] SEL is 1…1 0…0 (with [B0–B1]: a 1 only after a 1)
        result[SEL_PREFIX] = s_ * (one - s);
        // [G1–G4] flags are binary
        for (k, x) in [h, c, cs, l].into_iter().enumerate() {
            result[H_BINARY + k] = s * x * (one - x);
        }
        // [G5] a hash row is followed by a hash row of its group or by the group's close row
        result[H_THEN_H_OR_CL] = s_ * h * (one - h_ - c_);
        // [G6] a group's hash rows share one tag; [G7] its close row takes it over
        result[GROUP_TAG] = s_ * h * h_ * (nxt[TAG] - cur[TAG]);
        result[CLOSE_TAG] = s_ * c_ * (nxt[TAG] - cur[TAG]);
        // [G8–G12] ACC restarts at a group's first hash row, adds each hash row's parts, and
        //          is carried into the close row
        for i in 0..PARTS {
            result[ACC_STEP + i] = s_ * (h_ + c_) * (nxt[ACC + i] - h * cur[ACC + i] - h_ * nxt[part(i)]);
        }
        // [G13–G15] a chain starts from the tagged capacity at the first tag, ends at the last
        let (first, _, last) = self.walk;
        result[CSTART_CAPACITY] = s * cs * (cur[state(0, 0)] - E::from(Felt::new(TOTALS_TAG)));
        result[CSTART_TAG] = s * cs * (cur[TAG] - E::from(first));
        result[LAST_TAG] = s * l * (cur[TAG] - E::from(last));
        // [G16–G20] close row: Σ ACCᵢ·2^PART_OFFSETS[i] equals the digits' value, with carries
        let acc = |i: usize| cur[ACC + i];
        let k = |j: usize| carry(cur, j);
        for i in 0..PARTS {
            let carry_in = if i == 0 { E::ZERO } else { k(i - 1) };
            let carry_out = if i + 1 < PARTS { k(i) * E::from(Felt::new(radix(i))) } else { E::ZERO };
            result[CLOSE_SUM + i] = s * c * (acc(i) + carry_in - cur[digit(i)] - carry_out);
        }
        // [G21] the table steps by 0 or 1
        let step = nxt[TABLE] - cur[TABLE];
        result[TABLE_STEP] = s_ * step * (step - one);
        // [G22–G105] the permutation, on hash rows
        let active = s * h;
        let mut i = PERMUTATION;
        for round in 0..NUM_ROUNDS {
            for r in rescue_round_residuals(&cur[state(round, 0)..], &cur[state(round + 1, 0)..], round) {
                result[i] = active * r;
                i += 1;
            }
        }
        debug_assert_eq!(i, NUM_MAIN_CONSTRAINTS);
    }

    fn get_assertions(&self) -> Vec<Assertion<Felt>> {
        let last = self.last_real;
        vec![
            // [B0–B1] the real/blinding boundary sits where the options say
            Assertion::single(SEL, last, Felt::ONE),
            Assertion::single(SEL, last + 1, Felt::ZERO),
            // [B2] the first row is no hash row (a group's running sums start after it)
            Assertion::single(H, 0, Felt::ZERO),
            // [B3] the last real row closes a group
            Assertion::single(CL, last, Felt::ONE),
            // [B4–B5] the table covers every 8-bit value
            Assertion::single(TABLE, 0, Felt::ZERO),
            Assertion::single(TABLE, last, Felt::new(TABLE_SIZE as u64 - 1)),
        ]
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
        let ch = challenges(aux_rand_elements.rand_elements());
        let terms = row_terms(cur, &ch, self.walk.1);
        // [A0–A3] helper g = Σ nᵢ/dᵢ over its 7 terms, cleared of denominators; [A4] the
        //         running sum adds the helpers of every real row
        stark_por_solvency::logup::aux_residuals(
            &terms,
            TERMS_PER_HELPER,
            E::from(cur[SEL]),
            aux_frame.current(),
            aux_frame.next(),
            result,
        );
    }

    fn get_aux_assertions<E: FieldElement<BaseField = Felt>>(
        &self,
        aux_rand_elements: &AuxRandElements<E>,
    ) -> Vec<Assertion<E>> {
        let ch = challenges(aux_rand_elements.rand_elements());
        vec![
            // [B6] the sum starts at zero
            Assertion::single(SUM, 0, E::ZERO),
            // [B7] after the last real row it equals the verifier's side
            Assertion::single(SUM, self.last_real + 1, self.expected_sum(&ch)),
        ]
    }
}

/// α and β; no numerator packs values, so there is no δ (its slot is unused).
pub fn challenges<E: FieldElement>(rand: &[E]) -> Challenges<E> {
    Challenges { alpha: rand[0], beta: rand[1], delta: E::ZERO }
}

/// The shape of the log-derivative identity for the security estimate: per row 23 range
/// lookups and the table (poles of degree 1), two chain messages (6-tuples), the end message
/// (a 5-tuple) and the digits message (a 6-tuple); on the verifier's side one end message per
/// batch and one digits message per tag. Numerators hold no challenge.
pub fn bus_shape(num_batches: usize, num_tags: usize) -> BusShape {
    const CHAIN: u64 = 6;
    const END: u64 = 5;
    const DIGITS: u64 = 1 + PARTS as u64;
    let (b, t) = (num_batches as u64, num_tags as u64);
    BusShape {
        terms_per_row: NUM_TERMS as u64,
        pole_degree_per_row: RANGE_TERMS as u64 + 1 + 2 * CHAIN + END + DIGITS,
        public_terms: b + t,
        public_pole_degree: b * END + t * DIGITS,
        numerator_degree: 0,
    }
}
