//! The solvency AIR. Every constraint is listed, with its formula, in
//! `circuits/solvency/README.md`; the numbers `[Tn]`, `[An]`, `[Bn]` below refer to that list.
//!
//! Notation: `s` = SEL, `f` = FIRST, `c` = CONT, `d` = NODE, `e` = END, `ℓ = f + c` (a leaf
//! block); primed names are read from the next row.

use winterfell::crypto::hashers::Rp64_256;
use winterfell::math::{fields::f64::BaseElement as Felt, ExtensionOf, FieldElement, ToElements};
use winterfell::{
    Air, AirContext, Assertion, AuxRandElements, EvaluationFrame, ProofOptions, TraceInfo,
    TransitionConstraintDegree,
};

use crate::hash::{Digest, DIGEST_LEN, LEAF_TAG, NODE_TAG, NUM_ROUNDS, STATE_WIDTH};
use crate::layout::*;
use crate::options::blinding_rows;
use crate::security::BusShape;

/// Tags that keep the three log-derivative buses apart inside one running sum.
pub const RANGE_BUS: u64 = 1;
pub const ASSET_BUS: u64 = 2;
pub const TREE_BUS: u64 = 3;

/// Version of the statement; bound into the transcript so that a proof for one circuit
/// version can never verify as another.
pub const CIRCUIT_VERSION: u64 = 1;

/// Smallest and largest supported range bound (in bits) on every amount. 63 is the most any
/// amount below the modulus can use.
pub const MIN_RANGE_BITS: u32 = 32;
pub const MAX_RANGE_BITS: u32 = 63;

/// Public inputs of the solvency statement. All of them enter the Fiat–Shamir seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicInputs {
    /// N': the number of leaves, a power of two ≥ 2.
    pub num_leaves: u64,
    /// Every amount is proven to lie in `[0, 2^range_bits)`.
    pub range_bits: u32,
    /// Digest of the asset list (names and decimals), computed by the caller.
    pub assets_digest: Digest,
    /// Digest of the round identifier, computed by the caller.
    pub round_digest: Digest,
    /// Per asset (asset k at index k − 1): the sums of the three 24-bit parts of every amount,
    /// `amount = part₀ + 2²⁴·part₁ + 2⁴⁸·part₂`.
    pub totals: Vec<[Felt; PARTS]>,
    /// Root of the liabilities tree.
    pub root: Digest,
}

impl PublicInputs {
    pub fn num_assets(&self) -> usize {
        self.totals.len()
    }

    /// The exact integer total of asset `k` (0-based): `Σᵢ 2^(24i) · partᵢ`.
    pub fn total(&self, k: usize) -> u128 {
        combine_parts(&self.totals[k].map(|x| x.as_int()))
    }
}

impl ToElements<Felt> for PublicInputs {
    fn to_elements(&self) -> Vec<Felt> {
        let mut out = vec![
            Felt::new(CIRCUIT_VERSION),
            Felt::new(self.num_leaves),
            Felt::from(self.range_bits),
            Felt::new(self.num_assets() as u64),
        ];
        out.extend_from_slice(&self.assets_digest);
        out.extend_from_slice(&self.round_digest);
        out.extend_from_slice(&self.root);
        out.extend(self.totals.iter().flatten());
        out
    }
}

/// The verifier challenges of the log-derivative argument.
#[derive(Clone, Copy)]
pub struct Challenges<E> {
    pub alpha: E,
    pub beta: E,
    pub delta: E,
}

impl<E: FieldElement> Challenges<E> {
    pub fn from_rand(rand: &[E]) -> Self {
        Self { alpha: rand[0], beta: rand[1], delta: rand[2] }
    }

    /// `α − (bus + β·v₀ + β²·v₁ + …)`: the pole of one bus message.
    pub fn pole<F>(&self, bus: u64, values: &[F]) -> E
    where
        F: FieldElement<BaseField = E::BaseField>,
        E: ExtensionOf<F>,
    {
        let mut acc = E::from(E::BaseField::from(bus as u32));
        let mut power = self.beta;
        for &v in values {
            acc += power.mul_base(v);
            power *= self.beta;
        }
        self.alpha - acc
    }
}

/// The exact integer `Σᵢ 2^(24i) · partᵢ`.
pub fn combine_parts(parts: &[u64; PARTS]) -> u128 {
    parts.iter().rev().fold(0u128, |acc, &p| (acc << PART_BITS) + p as u128)
}

/// How the range bound `R` is checked: one extra lookup per amount of
/// `shift·l_top + 2^12·Σ_{i>top} lᵢ` with `shift = 2^(12·(top+1) − R)`. All limbs being 12-bit
/// integers (their own lookups), this sum cannot wrap, and it fits the 12-bit table only if
/// `l_top < 2^(R − 12·top)` and every limb above `top` is zero: exactly `amount < 2^R`.
#[derive(Debug, Clone, Copy)]
pub struct RangeCheck {
    pub top: usize,
    pub shift: Felt,
}

impl RangeCheck {
    pub fn new(range_bits: u32) -> Self {
        let bits = range_bits.clamp(MIN_RANGE_BITS, MAX_RANGE_BITS);
        let top = ((bits - 1) / LIMB_BITS) as usize;
        let shift = Felt::new(1u64 << (LIMB_BITS * (top as u32 + 1) - bits));
        Self { top, shift }
    }

    /// The bound lookup's value for slot `j`: `shift·l_top + 2^12·Σ_{i>top} lᵢ`.
    pub fn bound_value<F: FieldElement<BaseField = Felt>>(&self, row: &[F], j: usize) -> F {
        let above = (self.top + 1..LIMBS_PER_AMOUNT).fold(F::ZERO, |acc, i| acc + row[limb(j, i)]);
        row[limb(j, self.top)] * F::from(self.shift) + above * F::from(TABLE_SIZE as u32)
    }
}

/// The `NUM_TERMS` (numerator, denominator) pairs that one row adds to the running sum.
/// Shared by the trace builder and the AIR so both read the row the same way.
pub fn row_terms<F, E>(row: &[F], range: &RangeCheck, ch: &Challenges<E>) -> [(E, E); NUM_TERMS]
where
    F: FieldElement<BaseField = Felt>,
    E: FieldElement<BaseField = Felt> + ExtensionOf<F>,
{
    let one = E::ONE;
    let mut terms = [(E::ZERO, E::ONE); NUM_TERMS];
    let mut t = 0;
    // range lookups: every limb, and the bound lookup (see `RangeCheck`)
    for j in 0..SLOTS {
        for i in 0..LIMBS_PER_AMOUNT {
            terms[t] = (one, ch.pole(RANGE_BUS, &[row[limb(j, i)]]));
            t += 1;
        }
        terms[t] = (one, ch.pole(RANGE_BUS, &[range.bound_value(row, j)]));
        t += 1;
    }
    // asset sums: the amount's parts packed as p₀ + δ·p₁ + δ²·p₂, keyed by asset; only real
    // entry slots count
    let (f, c) = (row[FIRST], row[CONT]);
    for j in 0..SLOTS {
        let gate = if j < 2 { c } else { f + c };
        let parts = amount_parts(row, j);
        let mut num = E::ZERO;
        for part in parts.iter().rev() {
            num = num * ch.delta + E::from(gate * *part);
        }
        terms[t] = (num, ch.pole(ASSET_BUS, &[row[slot_asset(j)]]));
        t += 1;
    }
    // tree bus: publish this row's digest; a node consumes its two children
    let (d, e) = (row[NODE], row[END]);
    let idx = row[IDX];
    let two = F::from(2u32);
    let out = [row[state(7, 4)], row[state(7, 5)], row[state(7, 6)], row[state(7, 7)]];
    let left = [row[state(0, 4)], row[state(0, 5)], row[state(0, 6)], row[state(0, 7)]];
    let right = [row[state(0, 8)], row[state(0, 9)], row[state(0, 10)], row[state(0, 11)]];
    terms[t] = (E::from(e + d), ch.pole(TREE_BUS, &[idx, out[0], out[1], out[2], out[3]]));
    terms[t + 1] = (-E::from(d), ch.pole(TREE_BUS, &[two * idx, left[0], left[1], left[2], left[3]]));
    terms[t + 2] =
        (-E::from(d), ch.pole(TREE_BUS, &[two * idx + F::ONE, right[0], right[1], right[2], right[3]]));
    t += 3;
    // the range table, with its multiplicity
    terms[t] = (-E::from(row[MULT]), ch.pole(RANGE_BUS, &[row[TABLE]]));
    debug_assert_eq!(t + 1, NUM_TERMS);
    terms
}

/// The shape of this circuit's log-derivative identity (see [`BusShape`]) for `num_assets`
/// assets. A pole's degree in the challenges is the length of its tuple: one value for a range
/// or asset lookup, an index and a digest for a tree message.
pub fn bus_shape(num_assets: usize) -> BusShape {
    const TREE_TUPLE: u64 = 1 + DIGEST_LEN as u64;
    const RANGE_TERMS: u64 = (SLOTS * (LIMBS_PER_AMOUNT + 1) + 1) as u64; // limbs, bounds, table
    const ASSET_TERMS: u64 = SLOTS as u64;
    const TREE_TERMS: u64 = 3; // publish, consume left, consume right
    const _: () = assert!(RANGE_TERMS + ASSET_TERMS + TREE_TERMS == NUM_TERMS as u64);
    let k = num_assets as u64;
    BusShape {
        terms_per_row: NUM_TERMS as u64,
        pole_degree_per_row: RANGE_TERMS + ASSET_TERMS + TREE_TERMS * TREE_TUPLE,
        // the verifier's side: one pole per listed asset and the unconsumed root message
        public_terms: k + 1,
        public_pole_degree: k + TREE_TUPLE,
        // an amount's parts packed as p₀ + δ·p₁ + δ²·p₂
        numerator_degree: (PARTS - 1) as u64,
    }
}

/// The three parts of slot `j`'s amount from its limbs: `partᵢ = l₂ᵢ + 2¹²·l₂ᵢ₊₁`.
pub fn amount_parts<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> [F; PARTS] {
    let radix = F::from(1u32 << LIMB_BITS);
    core::array::from_fn(|p| row[limb(j, 2 * p)] + radix * row[limb(j, 2 * p + 1)])
}

/// The solvency AIR for one instance (public inputs and trace shape).
pub struct SolvencyAir {
    context: AirContext<Felt>,
    pub_inputs: PublicInputs,
    /// Index of the last real row, `n − r − 1`.
    last_real: usize,
    range: RangeCheck,
}

/// Constraint counts, kept in one place so the README and the tests agree.
pub const NUM_MAIN_CONSTRAINTS: usize = FIRST_ROUND_CONSTRAINT + NUM_ROUNDS * STATE_WIDTH;
/// Index of the first permutation constraint.
pub const FIRST_ROUND_CONSTRAINT: usize = 33;
pub const NUM_AUX_CONSTRAINTS: usize = NUM_HELPERS + 1;

impl SolvencyAir {
    pub fn pub_inputs(&self) -> &PublicInputs {
        &self.pub_inputs
    }

    pub fn last_real_row(&self) -> usize {
        self.last_real
    }

    /// The value the running sum must reach: what the asset table and the unconsumed root
    /// contribute, since every lookup, entry and tree message is matched by the trace itself.
    pub fn expected_sum<E: FieldElement<BaseField = Felt>>(&self, ch: &Challenges<E>) -> E {
        let pi = &self.pub_inputs;
        let root = [Felt::ONE, pi.root[0], pi.root[1], pi.root[2], pi.root[3]];
        let mut sum = ch.pole::<Felt>(TREE_BUS, &root).inv();
        for (k, parts) in pi.totals.iter().enumerate() {
            let num = parts.iter().rev().fold(E::ZERO, |acc, &p| acc * ch.delta + E::from(p));
            sum += num / ch.pole::<Felt>(ASSET_BUS, &[Felt::new(k as u64 + 1)]);
        }
        sum
    }
}

#[inline(always)]
fn exp7<E: FieldElement>(x: E) -> E {
    let x2 = x.square();
    x2.square() * x2 * x
}

/// The 12 residuals of round `round` of `Rp64_256` taking state `x` to state `y` (the first 12
/// elements of each slice): `MDS·x⁷ + ARK1 − (MDS⁻¹·(y − ARK2))⁷`, all zero exactly when the
/// round is computed correctly. Degree 7; shared by every statement version.
pub fn rescue_round_residuals<E: FieldElement<BaseField = Felt>>(x: &[E], y: &[E], round: usize) -> [E; STATE_WIDTH] {
    let x7: [E; STATE_WIDTH] = core::array::from_fn(|k| exp7(x[k]));
    let y_ark: [E; STATE_WIDTH] = core::array::from_fn(|k| y[k] - E::from(Rp64_256::ARK2[round][k]));
    core::array::from_fn(|row| {
        let mut forward = E::from(Rp64_256::ARK1[round][row]);
        let mut backward = E::ZERO;
        for col in 0..STATE_WIDTH {
            forward += x7[col].mul_base(Rp64_256::MDS[row][col]);
            backward += y_ark[col].mul_base(Rp64_256::INV_MDS[row][col]);
        }
        forward - exp7(backward)
    })
}


impl Air for SolvencyAir {
    type BaseField = Felt;
    type PublicInputs = PublicInputs;

    fn new(trace_info: TraceInfo, pub_inputs: PublicInputs, options: ProofOptions) -> Self {
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
            (2, 3),                        // [T15–T16] IDX, TABLE
            (16, 3),                       // [T17–T32] capacity, IVs, amounts
            (NUM_ROUNDS * STATE_WIDTH, 9), // [T33–T116] the permutation
        ]);
        debug_assert_eq!(main_degrees.len(), NUM_MAIN_CONSTRAINTS);
        let aux_degrees = degrees(&[(NUM_HELPERS, TERMS_PER_HELPER + 2), (1, 2)]);

        let trace_len = trace_info.length();
        let r = blinding_rows(&options, trace_len);
        // The verifier checks the shape before building the AIR; saturate so a bad shape can
        // never panic here.
        let last_real = trace_len.saturating_sub(r + 1).max(1);
        let context = AirContext::new_multi_segment(
            trace_info,
            main_degrees,
            aux_degrees,
            8,
            2,
            options,
        );
        let range = RangeCheck::new(pub_inputs.range_bits);
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
        let (s, f, c, d, e) = (cur[SEL], cur[FIRST], cur[CONT], cur[NODE], cur[END]);
        let (s_, f_, c_, d_) = (nxt[SEL], nxt[FIRST], nxt[CONT], nxt[NODE]);
        let leaf = f + c;
        let leaf_ = f_ + c_;
        let n_leaves = E::from(Felt::new(self.pub_inputs.num_leaves));

        // [T0–T1] SEL is 1…1 0…0
        result[0] = s * (one - s);
        result[1] = s_ * (one - s);
        // [T2–T5] row flags are binary
        result[2] = s * f * (one - f);
        result[3] = s * c * (one - c);
        result[4] = s * d * (one - d);
        result[5] = s * e * (one - e);
        // [T6–T8] at most one kind per row
        result[6] = s * f * c;
        result[7] = s * f * d;
        result[8] = s * c * d;
        // [T9] only a leaf block can end a leaf
        result[9] = s * e * (one - leaf);
        // [T10] a continuation follows an unfinished leaf block
        result[10] = s_ * c_ * (one - leaf + e);
        // [T11] a new leaf follows a finished one
        result[11] = s_ * f_ * (one - e);
        // [T12] a node follows a finished leaf or a node
        result[12] = s_ * d_ * (one - e - d);
        // [T13] a filler row (real, no kind) never follows a leaf block
        result[13] = s_ * (s_ - leaf_ - d_) * leaf;
        // [T14] an unfinished leaf block is followed by its continuation
        result[14] = s_ * leaf * (one - e) * (one - c_);
        // [T15] IDX: +1 per new leaf, same within a leaf, N' down to the first node, −1 per node
        result[15] = s_ * (nxt[IDX] - cur[IDX] - f_ + d_ * (leaf * n_leaves + d));
        // [T16] the table steps by 0 or 1
        let step = nxt[TABLE] - cur[TABLE];
        result[16] = s_ * step * (step - one);
        let mut i = 17;
        // [T17–T20] a continuation carries the capacity over
        for k in 0..4 {
            result[i] = s_ * c_ * (nxt[state(0, k)] - cur[state(7, k)]);
            i += 1;
        }
        // [T21–T28] leaves and nodes start from their tagged capacity [tag, 0, 0, 0]
        for k in 0..4 {
            let iv = if k == 0 { E::from(Felt::new(LEAF_TAG)) } else { E::ZERO };
            result[i] = s * f * (cur[state(0, k)] - iv);
            i += 1;
        }
        for k in 0..4 {
            let iv = if k == 0 { E::from(Felt::new(NODE_TAG)) } else { E::ZERO };
            result[i] = s * d * (cur[state(0, k)] - iv);
            i += 1;
        }
        // [T29–T32] each absorbed amount is its limbs: b = p₀ + 2²⁴·p₁ + 2⁴⁸·p₂
        let radix = E::from(Felt::new(1u64 << PART_BITS));
        for j in 0..SLOTS {
            let gate = if j < 2 { c } else { leaf };
            let parts = amount_parts(cur, j);
            let amount = parts.iter().rev().fold(E::ZERO, |acc, &p| acc * radix + p);
            result[i] = s * gate * (cur[slot_amount(j)] - amount);
            i += 1;
        }
        // [T33–T116] the permutation: for each round r, MDS·x⁷ + ARK1 = (MDS⁻¹·(y − ARK2))⁷
        let active = s * (leaf + d);
        for round in 0..NUM_ROUNDS {
            let residuals = rescue_round_residuals(&cur[state(round, 0)..], &cur[state(round + 1, 0)..], round);
            for r in residuals {
                result[i] = active * r;
                i += 1;
            }
        }
        debug_assert_eq!(i, NUM_MAIN_CONSTRAINTS);
    }

    fn get_assertions(&self) -> Vec<Assertion<Felt>> {
        let last = self.last_real;
        vec![
            // [B0–B2] the real/blinding boundary sits where the options say
            Assertion::single(SEL, 0, Felt::ONE),
            Assertion::single(SEL, last, Felt::ONE),
            Assertion::single(SEL, last + 1, Felt::ZERO),
            // [B3–B4] the first row starts leaf N'
            Assertion::single(FIRST, 0, Felt::ONE),
            Assertion::single(IDX, 0, Felt::new(self.pub_inputs.num_leaves)),
            // [B5] the last real row is the root (or a filler after it)
            Assertion::single(IDX, last, Felt::ONE),
            // [B6–B7] the table covers every 12-bit value
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
        let s = E::from(cur[SEL]);
        let aux = aux_frame.current();
        let aux_next = aux_frame.next();
        let ch = Challenges::from_rand(aux_rand_elements.rand_elements());
        let terms = row_terms(cur, &self.range, &ch);
        // [A0–A5] helper h = Σ nᵢ/dᵢ over its group, cleared of denominators:
        //         h·∏dᵢ = Σ nᵢ·∏_{j≠i} dⱼ; [A6] the running sum adds every helper of each real row
        crate::logup::aux_residuals(&terms, TERMS_PER_HELPER, s, aux, aux_next, result);
    }

    fn get_aux_assertions<E: FieldElement<BaseField = Felt>>(
        &self,
        aux_rand_elements: &AuxRandElements<E>,
    ) -> Vec<Assertion<E>> {
        let ch = Challenges::from_rand(aux_rand_elements.rand_elements());
        vec![
            // [B8] the sum starts at zero
            Assertion::single(SUM, 0, E::ZERO),
            // [B9] after the last real row it equals what the public inputs dictate
            Assertion::single(SUM, self.last_real + 1, self.expected_sum(&ch)),
        ]
    }
}
