//! The aggregation trace and the winterfell prover wiring.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rayon::prelude::*;
use stark_por_liabilities::committed::TotalsOpening;
use stark_por_liabilities::layout::PARTS;
use stark_por_solvency::hash::{permutation_states, NUM_ROUNDS, STATE_WIDTH};
use stark_por_solvency::options::blinding_rows;
use stark_por_solvency::prover::{derive_seed, random_felt, HashFn, RandomCoin, VectorCommit, MAX_LOG_LDE};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement, StarkField};
use winterfell::matrix::ColMatrix;
use winterfell::{
    AuxRandElements, CompositionPoly, CompositionPolyTrace, ConstraintCompositionCoefficients,
    DefaultConstraintCommitment, DefaultConstraintEvaluator, DefaultTraceLde, EvaluationFrame, PartitionOptions,
    ProofOptions, Prover, StarkDomain, Trace, TraceInfo, TracePolyTable,
};

use crate::air::{challenges, row_terms, scaled_top, AggregationAir, Statement};
use crate::layout::*;
use crate::totals::carries;
use crate::AggregationError;

/// Rows of the groups: per tag, one hash row per batch and a close row.
pub fn group_rows(num_batches: usize, num_tags: usize) -> Option<usize> {
    num_tags.checked_mul(num_batches.checked_add(1)?)
}

/// The trace length for `B` batches and `T` tags, and its blinding rows: room for a start row,
/// the groups and the whole range table, then the blinding rows. `None` if it exceeds what
/// these options can prove (winterfell's LDE domain holds at most `2^31` points).
pub fn trace_length(num_batches: usize, num_tags: usize, options: &ProofOptions) -> Option<(usize, usize)> {
    let real = group_rows(num_batches, num_tags)?.checked_add(1)?.max(TABLE_SIZE);
    let max_len = (1usize << MAX_LOG_LDE) / options.blowup_factor();
    let mut n = real.checked_next_power_of_two()?.max(8);
    // never ask for the blinding rows of a domain winterfell cannot build
    while n <= max_len && real + blinding_rows(options, n) > n {
        n *= 2;
    }
    (n <= max_len).then(|| (n, blinding_rows(options, n)))
}

/// Per tag: the part sums over the batches and the carries to the tag's public digits.
pub type Plan = Vec<([u128; PARTS], [u64; CARRIES])>;

/// Checks the openings against the statement (one per batch, the round's tags in order,
/// canonical parts, each opening to its batch's commitment) and returns, per tag, the part
/// sums over the batches and the carries to its public digits.
pub fn check_openings(
    statement: &Statement,
    openings: &[TotalsOpening],
) -> Result<Plan, AggregationError> {
    let refuse = |why: String| Err(AggregationError::Inputs(why));
    let tags = statement.tags();
    if openings.len() != statement.num_batches() {
        return refuse(format!("{} openings for {} batch commitments", openings.len(), statement.num_batches()));
    }
    let mut sums = vec![[0u128; PARTS]; tags.len()];
    for (b, (opening, commitment)) in openings.iter().zip(&statement.commitments).enumerate() {
        let listed: Vec<(u32, u32)> = opening.rows.iter().map(|r| (r.tag, r.kind)).collect();
        if listed != tags {
            return refuse(format!("batch {b}: the opening lists tags {listed:?}, the round {tags:?}"));
        }
        if let Some(row) = opening.rows.iter().find(|r| r.parts.iter().any(|&p| p >= Felt::MODULUS)) {
            return refuse(format!("batch {b}: a part sum of tag {} is not a field element", row.tag));
        }
        if opening.commitment() != *commitment {
            return refuse(format!("batch {b}: the opening does not open the batch's commitment"));
        }
        for (sum, row) in sums.iter_mut().zip(&opening.rows) {
            for (s, &p) in sum.iter_mut().zip(&row.parts) {
                *s += p as u128;
            }
        }
    }
    tags.iter()
        .zip(sums)
        .zip(&statement.digits)
        .map(|((&(tag, _), sums), digits)| match carries(&sums, digits) {
            Some(k) => Ok((sums, k)),
            None => Err(AggregationError::Inputs(format!(
                "tag {tag}: the batches' part sums {sums:?} do not add up to the public total (or exceed the 2^36 entry slots the proof covers)"
            ))),
        })
        .collect()
}

/// The honest group rows (row-major, `MAIN_WIDTH` each): per tag, batch `b`'s chain row in
/// batch order, then the close row.
pub fn honest_groups(statement: &Statement, openings: &[TotalsOpening], plan: &Plan) -> Vec<Felt> {
    let (num_batches, tags) = (statement.num_batches(), statement.tags());
    let last = tags.len() - 1;
    // each chain's input capacities, so that groups can be written in parallel
    let capacities: Vec<Vec<[Felt; 4]>> = openings
        .par_iter()
        .map(|opening| {
            let mut cap = opening.first_capacity();
            (0..tags.len())
                .map(|i| {
                    let cap_in = cap;
                    cap.copy_from_slice(&permutation_states(chain_input(&cap_in, opening, i))[NUM_ROUNDS][..4]);
                    cap_in
                })
                .collect()
        })
        .collect();
    let group = (num_batches + 1) * MAIN_WIDTH;
    let mut rows = vec![Felt::ZERO; tags.len() * group];
    rows.par_chunks_mut(group).enumerate().for_each(|(i, out)| {
        let mut acc = [Felt::ZERO; PARTS];
        for (b, row) in out.chunks_mut(MAIN_WIDTH).take(num_batches).enumerate() {
            let states = permutation_states(chain_input(&capacities[b][i], &openings[b], i));
            row[SEL] = Felt::ONE;
            row[H] = Felt::ONE;
            row[CSTART] = Felt::from((i == 0) as u32);
            row[LAST] = Felt::from((i == last) as u32);
            row[BIDX] = Felt::new(b as u64);
            for (s, values) in states.iter().enumerate() {
                row[state(s, 0)..state(s, 0) + STATE_WIDTH].copy_from_slice(values);
            }
            for (a, &p) in acc.iter_mut().zip(&openings[b].rows[i].parts) {
                *a += Felt::new(p);
            }
            row[ACC..ACC + PARTS].copy_from_slice(&acc);
        }
        let close = &mut out[num_batches * MAIN_WIDTH..];
        write_close_row(close, tags[i].0, &acc, &statement.digits[i], &plan[i].1);
    });
    rows
}

fn chain_input(capacity: &[Felt; 4], opening: &TotalsOpening, i: usize) -> [Felt; STATE_WIDTH] {
    let mut input = [Felt::ZERO; STATE_WIDTH];
    input[..4].copy_from_slice(capacity);
    input[4..].copy_from_slice(&opening.rate(i));
    input
}

/// A close row: the group's tag and sums, the tag's digits, the carries' limbs.
pub fn write_close_row(row: &mut [Felt], tag: u32, acc: &[Felt; PARTS], digits: &[u64; PARTS], carries: &[u64; CARRIES]) {
    row[SEL] = Felt::ONE;
    row[CL] = Felt::ONE;
    row[TAG] = Felt::from(tag);
    row[ACC..ACC + PARTS].copy_from_slice(acc);
    for (i, &d) in digits.iter().enumerate() {
        row[digit(i)] = Felt::new(d);
    }
    for (j, &k) in carries.iter().enumerate() {
        for i in 0..LIMBS_PER_CARRY {
            row[carry_limb(j, i)] = Felt::new((k >> (LIMB_BITS * i as u32)) & ((1 << LIMB_BITS) - 1));
        }
    }
}

/// The trace: the start row and fillers, then `groups` (row-major) ending at the last real row,
/// the range table with its multiplicities, and `r` uniform blinding rows (SEL 0).
pub fn assemble(groups: &[Felt], n: usize, r: usize, blinding_seed: &[u8; 32]) -> AggregationTrace {
    let real_end = n - r;
    let mut rows = vec![Felt::ZERO; n * MAIN_WIDTH];
    let start = real_end * MAIN_WIDTH - groups.len();
    rows[start..real_end * MAIN_WIDTH].copy_from_slice(groups);
    let mut counts = vec![0u64; TABLE_SIZE];
    for row in rows[..real_end * MAIN_WIDTH].chunks_mut(MAIN_WIDTH) {
        row[SEL] = Felt::ONE;
        if row[CL] == Felt::ONE {
            let limbs = (0..CARRIES).flat_map(|j| (0..LIMBS_PER_CARRY).map(move |i| (j, i)));
            let values = limbs.map(|(j, i)| row[carry_limb(j, i)]).chain(BOUNDED_CARRIES.map(|j| scaled_top(row, j)));
            // a value outside the table has no row to count on (dishonest traces only)
            for v in values.collect::<Vec<_>>() {
                if let Some(count) = counts.get_mut(v.as_int() as usize) {
                    *count += 1;
                }
            }
        }
    }
    for (i, row) in rows[..real_end * MAIN_WIDTH].chunks_mut(MAIN_WIDTH).enumerate() {
        row[TABLE] = Felt::new(i.min(TABLE_SIZE - 1) as u64);
        row[MULT] = if i < TABLE_SIZE { Felt::new(counts[i]) } else { Felt::ZERO };
    }
    let mut rng = ChaCha20Rng::from_seed(derive_seed(blinding_seed, b"main"));
    for row in rows[real_end * MAIN_WIDTH..].chunks_mut(MAIN_WIDTH) {
        for v in row.iter_mut() {
            *v = random_felt(&mut rng);
        }
        row[SEL] = Felt::ZERO;
    }
    let columns = (0..MAIN_WIDTH).into_par_iter().map(|c| (0..n).map(|i| rows[i * MAIN_WIDTH + c]).collect()).collect();
    AggregationTrace::new(columns)
}

/// The main trace, declared with its auxiliary segment.
pub struct AggregationTrace {
    info: TraceInfo,
    main: ColMatrix<Felt>,
}

impl AggregationTrace {
    pub fn new(columns: Vec<Vec<Felt>>) -> Self {
        let length = columns[0].len();
        let info = TraceInfo::new_multi_segment(MAIN_WIDTH, AUX_WIDTH, NUM_AUX_RANDS, length, vec![]);
        Self { info, main: ColMatrix::new(columns) }
    }

    pub fn get(&self, column: usize, row: usize) -> Felt {
        self.main.get(column, row)
    }
}

impl Trace for AggregationTrace {
    type BaseField = Felt;

    fn info(&self) -> &TraceInfo {
        &self.info
    }

    fn main_segment(&self) -> &ColMatrix<Felt> {
        &self.main
    }

    fn read_main_frame(&self, row_idx: usize, frame: &mut EvaluationFrame<Felt>) {
        let next = (row_idx + 1) % self.info.length();
        self.main.read_row_into(row_idx, frame.current_mut());
        self.main.read_row_into(next, frame.next_mut());
    }
}

/// The winterfell prover of one aggregation statement (unsalted commitments: wrap it in
/// `HidingProver`, as [`crate::prove`] does).
pub struct AggregationProver {
    options: ProofOptions,
    statement: Statement,
    blinding_seed: [u8; 32],
}

impl AggregationProver {
    pub fn new(options: ProofOptions, statement: Statement, blinding_seed: [u8; 32]) -> Self {
        Self { options, statement, blinding_seed }
    }
}

impl Prover for AggregationProver {
    type BaseField = Felt;
    type Air = AggregationAir;
    type Trace = AggregationTrace;
    type HashFn = HashFn;
    type VC = VectorCommit;
    type RandomCoin = RandomCoin;
    type TraceLde<E: FieldElement<BaseField = Felt>> = DefaultTraceLde<E, HashFn, VectorCommit>;
    type ConstraintCommitment<E: FieldElement<BaseField = Felt>> = DefaultConstraintCommitment<E, HashFn, VectorCommit>;
    type ConstraintEvaluator<'a, E: FieldElement<BaseField = Felt>> = DefaultConstraintEvaluator<'a, AggregationAir, E>;

    fn get_pub_inputs(&self, _trace: &Self::Trace) -> Statement {
        self.statement.clone()
    }

    fn options(&self) -> &ProofOptions {
        &self.options
    }

    fn new_trace_lde<E: FieldElement<BaseField = Felt>>(
        &self,
        trace_info: &TraceInfo,
        main_trace: &ColMatrix<Felt>,
        domain: &StarkDomain<Felt>,
        partition_option: PartitionOptions,
    ) -> (Self::TraceLde<E>, TracePolyTable<E>) {
        DefaultTraceLde::new(trace_info, main_trace, domain, partition_option)
    }

    fn build_constraint_commitment<E: FieldElement<BaseField = Felt>>(
        &self,
        composition_poly_trace: CompositionPolyTrace<E>,
        num_constraint_composition_columns: usize,
        domain: &StarkDomain<Felt>,
        partition_options: PartitionOptions,
    ) -> (Self::ConstraintCommitment<E>, CompositionPoly<E>) {
        DefaultConstraintCommitment::new(composition_poly_trace, num_constraint_composition_columns, domain, partition_options)
    }

    fn new_evaluator<'a, E: FieldElement<BaseField = Felt>>(
        &self,
        air: &'a AggregationAir,
        aux_rand_elements: Option<AuxRandElements<E>>,
        composition_coefficients: ConstraintCompositionCoefficients<E>,
    ) -> Self::ConstraintEvaluator<'a, E> {
        DefaultConstraintEvaluator::new(air, aux_rand_elements, composition_coefficients)
    }

    fn build_aux_trace<E: FieldElement<BaseField = Felt>>(
        &self,
        main_trace: &Self::Trace,
        aux_rand_elements: &AuxRandElements<E>,
    ) -> ColMatrix<E> {
        let n = main_trace.length();
        let real_end = n - blinding_rows(&self.options, n);
        let ch = challenges(aux_rand_elements.rand_elements());
        let (_, step, _) = stark_por_liabilities::committed::tag_walk(self.statement.num_assets, self.statement.margin);
        let step = Felt::from(step);
        stark_por_solvency::logup::aux_columns(
            main_trace.main_segment(),
            real_end,
            TERMS_PER_HELPER,
            |row| row_terms::<Felt, E>(row, &ch, step).to_vec(),
            &self.blinding_seed,
        )
    }
}
