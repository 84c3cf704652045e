//! Trace building and the winterfell prover wiring for the solvency statement.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use winterfell::crypto::{hashers::Blake3_256, DefaultRandomCoin, MerkleTree};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement, StarkField};
use winterfell::matrix::ColMatrix;
use winterfell::{
    AuxRandElements, CompositionPoly, CompositionPolyTrace, ConstraintCompositionCoefficients,
    DefaultConstraintCommitment, DefaultConstraintEvaluator, DefaultTraceLde, PartitionOptions,
    EvaluationFrame, ProofOptions, Prover, StarkDomain, Trace, TraceInfo, TracePolyTable,
};

use crate::air::{row_terms, Challenges, PublicInputs, RangeCheck, SolvencyAir};
use crate::hash::{
    initial_state, leaf_blocks, leaf_blocks_input, merkle_tree, permutation_states, Digest, Entry,
    LEAF_TAG, NODE_TAG, NUM_ROUNDS, RATE, STATE_WIDTH,
};
use crate::layout::*;
use crate::options::blinding_rows;
use crate::CircuitError;

pub type HashFn = Blake3_256<Felt>;
pub type RandomCoin = DefaultRandomCoin<HashFn>;
pub type VectorCommit = MerkleTree<HashFn>;
/// The hiding commitment (salted leaves, `hiding.rs`): built, not yet used by any statement.
pub type HidingCommit = crate::hiding::SaltedMerkleTree<HashFn>;

/// Largest LDE domain, `log2`: winterfell refuses domains above `u32::MAX`, so the trace length
/// times the blowup is at most 2^31 (2^28 rows at blowup 8, 2^27 at blowup 16).
pub const MAX_LOG_LDE: u32 = 31;

/// One leaf of the liabilities tree, as the prover knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The user's id commitment (or a random digest for a padding leaf).
    pub idc: Digest,
    /// (asset, amount) entries, assets numbered from 1.
    pub entries: Vec<Entry>,
}

/// What the prover is asked to prove, besides the leaves.
#[derive(Debug, Clone)]
pub struct StatementParams {
    pub num_assets: usize,
    pub range_bits: u32,
    pub assets_digest: Digest,
    pub round_digest: Digest,
}

/// The shape a trace for these leaves takes: `(used rows, trace length, blinding rows)`.
pub fn trace_shape(leaves: &[Leaf], options: &ProofOptions) -> Result<(usize, usize, usize), CircuitError> {
    let leaf_rows: usize = leaves.iter().map(|l| leaf_blocks(l.entries.len())).sum();
    let used = leaf_rows + leaves.len() - 1;
    let real = used.max(TABLE_SIZE);
    let mut n = (real + 1).next_power_of_two();
    while real + blinding_rows(options, n) > n {
        n *= 2;
    }
    let max_len = (1usize << MAX_LOG_LDE) / options.blowup_factor();
    if n > max_len {
        return Err(CircuitError::TooLarge { rows: real, max_rows: max_len });
    }
    Ok((used, n, blinding_rows(options, n)))
}

/// Builds the main trace and the public inputs. Checks every input the statement depends on.
pub fn build_trace(
    leaves: &[Leaf],
    params: &StatementParams,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(SolvencyTrace, PublicInputs), CircuitError> {
    build_trace_with_tree(leaves, params, options, blinding_seed).map(|(trace, pi, _)| (trace, pi))
}

/// [`build_trace`], also handing back the Merkle tree it computed (heap-numbered, as
/// [`merkle_tree`] returns it), which inclusion proofs are cut from.
pub fn build_trace_with_tree(
    leaves: &[Leaf],
    params: &StatementParams,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(SolvencyTrace, PublicInputs, Vec<Digest>), CircuitError> {
    check_inputs(leaves, params)?;
    build_trace_parts(leaves, params, options, blinding_seed)
}

/// Builds the trace without checking the leaves: tests use it to build dishonest traces (an
/// amount of p − 1, say) and watch the verifier reject them.
#[cfg(test)]
pub(crate) fn build_trace_unchecked(
    leaves: &[Leaf],
    params: &StatementParams,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(SolvencyTrace, PublicInputs), CircuitError> {
    build_trace_parts(leaves, params, options, blinding_seed).map(|(trace, pi, _)| (trace, pi))
}

fn build_trace_parts(
    leaves: &[Leaf],
    params: &StatementParams,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(SolvencyTrace, PublicInputs, Vec<Digest>), CircuitError> {
    let (used, n, r) = trace_shape(leaves, options)?;
    let num_leaves = leaves.len();

    // tree first: node rows need every child digest
    let leaf_digests: Vec<Digest> =
        leaves.par_iter().map(|l| crate::hash::leaf_digest(&l.idc, &l.entries)).collect();
    let tree = merkle_tree(&leaf_digests);

    let mut rows = vec![Felt::ZERO; n * MAIN_WIDTH];
    // leaf rows, in leaf order
    let mut leaf_slices = Vec::with_capacity(num_leaves);
    let mut rest = &mut rows[..];
    for leaf in leaves {
        let (head, tail) = rest.split_at_mut(leaf_blocks(leaf.entries.len()) * MAIN_WIDTH);
        leaf_slices.push(head);
        rest = tail;
    }
    let (node_rows, rest) = rest.split_at_mut((num_leaves - 1) * MAIN_WIDTH);
    leaf_slices.into_par_iter().zip(leaves.par_iter()).enumerate().for_each(|(j, (out, leaf))| {
        write_leaf_rows(out, (num_leaves + j) as u64, leaf)
    });
    // node rows: IDX N'−1 down to 1
    node_rows.par_chunks_mut(MAIN_WIDTH).enumerate().for_each(|(k, row)| {
        let idx = num_leaves - 1 - k;
        write_node_row(row, idx as u64, &tree[2 * idx], &tree[2 * idx + 1])
    });
    // fillers: real rows with no kind, holding IDX at 1
    let real_end = n - r;
    rest[..(real_end - used) * MAIN_WIDTH].par_chunks_mut(MAIN_WIDTH).for_each(|row| {
        row[SEL] = Felt::ONE;
        row[IDX] = Felt::ONE;
    });

    // the range table and its multiplicities
    let range = RangeCheck::new(params.range_bits);
    let counts = rows[..real_end * MAIN_WIDTH]
        .par_chunks(MAIN_WIDTH)
        .fold(
            || vec![0u64; TABLE_SIZE],
            |mut acc, row| {
                for j in 0..SLOTS {
                    let bound = range.bound_value(row, j);
                    let lookups = (0..LIMBS_PER_AMOUNT).map(|i| row[limb(j, i)]).chain([bound]);
                    // a value outside the table has no row to count on (dishonest traces only)
                    for v in lookups {
                        if let Some(count) = acc.get_mut(v.as_int() as usize) {
                            *count += 1;
                        }
                    }
                }
                acc
            },
        )
        .reduce(|| vec![0u64; TABLE_SIZE], |mut a, b| {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            a
        });
    for (i, row) in rows[..real_end * MAIN_WIDTH].chunks_mut(MAIN_WIDTH).enumerate() {
        let t = i.min(TABLE_SIZE - 1);
        row[TABLE] = Felt::new(t as u64);
        row[MULT] = if i < TABLE_SIZE { Felt::new(counts[i]) } else { Felt::ZERO };
    }

    // blinding rows: every column uniform except SEL, which is 0
    let mut rng = ChaCha20Rng::from_seed(derive_seed(&blinding_seed, b"main"));
    for row in rows[real_end * MAIN_WIDTH..].chunks_mut(MAIN_WIDTH) {
        for v in row.iter_mut() {
            *v = random_felt(&mut rng);
        }
        row[SEL] = Felt::ZERO;
    }

    let columns = transpose(&rows, n);
    drop(rows);

    let pub_inputs = PublicInputs {
        num_leaves: num_leaves as u64,
        range_bits: params.range_bits,
        assets_digest: params.assets_digest,
        round_digest: params.round_digest,
        totals: totals(leaves, params.num_assets),
        root: tree[1],
    };
    Ok((SolvencyTrace::new(columns), pub_inputs, tree))
}

fn check_inputs(leaves: &[Leaf], params: &StatementParams) -> Result<(), CircuitError> {
    use crate::air::{MAX_RANGE_BITS, MIN_RANGE_BITS};
    if !(MIN_RANGE_BITS..=MAX_RANGE_BITS).contains(&params.range_bits) {
        return Err(CircuitError::RangeBits(params.range_bits));
    }
    if leaves.len() < 2 || !leaves.len().is_power_of_two() {
        return Err(CircuitError::LeafCount(leaves.len()));
    }
    let bound = 1u64 << params.range_bits;
    for (position, leaf) in leaves.iter().enumerate() {
        for &(asset, amount) in &leaf.entries {
            if asset == 0 || asset as usize > params.num_assets {
                return Err(CircuitError::UnknownAsset { leaf: position, asset });
            }
            if amount >= bound {
                return Err(CircuitError::OutOfRange { leaf: position, asset, amount, bits: params.range_bits });
            }
        }
    }
    Ok(())
}

/// Exact per-asset sums of the three amount parts; each stays far below the modulus (see the
/// circuit README).
fn totals(leaves: &[Leaf], num_assets: usize) -> Vec<[Felt; PARTS]> {
    let mut sums = vec![[0u64; PARTS]; num_assets];
    for leaf in leaves {
        for &(asset, amount) in &leaf.entries {
            for (p, sum) in sums[asset as usize - 1].iter_mut().enumerate() {
                *sum += (amount >> (PART_BITS * p as u32)) & ((1 << PART_BITS) - 1);
            }
        }
    }
    sums.into_iter().map(|parts| parts.map(Felt::new)).collect()
}

fn write_leaf_rows(out: &mut [Felt], idx: u64, leaf: &Leaf) {
    let blocks = leaf_blocks_input(&leaf.idc, &leaf.entries);
    let last = blocks.len() - 1;
    let mut capacity = [Felt::ZERO; 4];
    for (b, (row, block)) in out.chunks_mut(MAIN_WIDTH).zip(&blocks).enumerate() {
        let mut input = initial_state(LEAF_TAG, block);
        if b > 0 {
            input[..4].copy_from_slice(&capacity);
        }
        let states = permutation_states(input);
        capacity.copy_from_slice(&states[NUM_ROUNDS][..4]);
        row[SEL] = Felt::ONE;
        row[if b == 0 { FIRST } else { CONT }] = Felt::ONE;
        row[END] = if b == last { Felt::ONE } else { Felt::ZERO };
        row[IDX] = Felt::new(idx);
        write_states(row, &states);
        let first_slot = if b == 0 { 2 } else { 0 };
        for j in first_slot..SLOTS {
            let amount = block[2 * j + 1].as_int();
            for i in 0..LIMBS_PER_AMOUNT {
                row[limb(j, i)] = Felt::new((amount >> (LIMB_BITS * i as u32)) & ((1 << LIMB_BITS) - 1));
            }
        }
    }
}

fn write_node_row(row: &mut [Felt], idx: u64, left: &Digest, right: &Digest) {
    let mut rate = [Felt::ZERO; RATE];
    rate[..4].copy_from_slice(left);
    rate[4..].copy_from_slice(right);
    row[SEL] = Felt::ONE;
    row[NODE] = Felt::ONE;
    row[IDX] = Felt::new(idx);
    write_states(row, &permutation_states(initial_state(NODE_TAG, &rate)));
}

fn write_states(row: &mut [Felt], states: &[[Felt; STATE_WIDTH]; NUM_ROUNDS + 1]) {
    for (s, state_values) in states.iter().enumerate() {
        row[state(s, 0)..state(s, 0) + STATE_WIDTH].copy_from_slice(state_values);
    }
}

fn transpose(rows: &[Felt], n: usize) -> Vec<Vec<Felt>> {
    (0..MAIN_WIDTH)
        .into_par_iter()
        .map(|c| (0..n).map(|i| rows[i * MAIN_WIDTH + c]).collect())
        .collect()
}

pub fn derive_seed(seed: &[u8; 32], label: &[u8]) -> [u8; 32] {
    // ChaCha20 keyed by the seed, with the label as a distinct stream: independent outputs
    let mut stream = [0u8; 32];
    let mut nonce = [0u8; 8];
    nonce[..label.len().min(8)].copy_from_slice(&label[..label.len().min(8)]);
    let mut rng = ChaCha20Rng::from_seed(*seed);
    rng.set_stream(u64::from_le_bytes(nonce));
    rng.fill_bytes(&mut stream);
    stream
}

/// A uniform field element (rejection sampling, no modular bias).
pub fn random_felt(rng: &mut ChaCha20Rng) -> Felt {
    loop {
        let v = rng.next_u64();
        if v < Felt::MODULUS {
            return Felt::new(v);
        }
    }
}

/// The main trace, declared with its auxiliary segment (winterfell's `TraceTable` has none).
pub struct SolvencyTrace {
    info: TraceInfo,
    main: ColMatrix<Felt>,
}

impl SolvencyTrace {
    pub fn new(columns: Vec<Vec<Felt>>) -> Self {
        let length = columns[0].len();
        let info = TraceInfo::new_multi_segment(MAIN_WIDTH, AUX_WIDTH, NUM_AUX_RANDS, length, vec![]);
        Self { info, main: ColMatrix::new(columns) }
    }

    /// Mutable access for tests that build dishonest traces.
    #[cfg(test)]
    pub fn set(&mut self, column: usize, row: usize, value: Felt) {
        self.main.set(column, row, value)
    }

    pub fn get(&self, column: usize, row: usize) -> Felt {
        self.main.get(column, row)
    }
}

impl Trace for SolvencyTrace {
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

/// The winterfell prover for one solvency instance.
pub struct SolvencyProver {
    options: ProofOptions,
    pub_inputs: PublicInputs,
    blinding_seed: [u8; 32],
}

impl SolvencyProver {
    pub fn new(options: ProofOptions, pub_inputs: PublicInputs, blinding_seed: [u8; 32]) -> Self {
        Self { options, pub_inputs, blinding_seed }
    }
}

impl Prover for SolvencyProver {
    type BaseField = Felt;
    type Air = SolvencyAir;
    type Trace = SolvencyTrace;
    type HashFn = HashFn;
    type VC = VectorCommit;
    type RandomCoin = RandomCoin;
    type TraceLde<E: FieldElement<BaseField = Felt>> = DefaultTraceLde<E, HashFn, VectorCommit>;
    type ConstraintCommitment<E: FieldElement<BaseField = Felt>> =
        DefaultConstraintCommitment<E, HashFn, VectorCommit>;
    type ConstraintEvaluator<'a, E: FieldElement<BaseField = Felt>> =
        DefaultConstraintEvaluator<'a, SolvencyAir, E>;

    fn get_pub_inputs(&self, _trace: &Self::Trace) -> PublicInputs {
        self.pub_inputs.clone()
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
        DefaultConstraintCommitment::new(
            composition_poly_trace,
            num_constraint_composition_columns,
            domain,
            partition_options,
        )
    }

    fn new_evaluator<'a, E: FieldElement<BaseField = Felt>>(
        &self,
        air: &'a SolvencyAir,
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
        build_aux_columns(main_trace, &self.pub_inputs, &self.options, aux_rand_elements, &self.blinding_seed)
    }
}

/// The auxiliary columns: per-group helper sums and the running sum over real rows, uniform
/// values on the blinding rows.
pub fn build_aux_columns<E: FieldElement<BaseField = Felt>>(
    main_trace: &SolvencyTrace,
    pub_inputs: &PublicInputs,
    options: &ProofOptions,
    aux_rand_elements: &AuxRandElements<E>,
    blinding_seed: &[u8; 32],
) -> ColMatrix<E> {
    let n = main_trace.length();
    let real_end = n - blinding_rows(options, n);
    let ch = Challenges::from_rand(aux_rand_elements.rand_elements());
    let range = RangeCheck::new(pub_inputs.range_bits);
    crate::logup::aux_columns(
        main_trace.main_segment(),
        real_end,
        TERMS_PER_HELPER,
        |row| row_terms::<Felt, E>(row, &range, &ch).to_vec(),
        blinding_seed,
    )
}
