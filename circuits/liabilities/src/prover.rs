//! Trace building and the winterfell prover wiring for the version-2 statement.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rayon::prelude::*;
use stark_por_solvency::air::Challenges;
use stark_por_solvency::hash::{initial_state, node_digest, permutation_states, Digest, NODE_TAG, NUM_ROUNDS, RATE, STATE_WIDTH};
use stark_por_solvency::options::blinding_rows;
use stark_por_solvency::prover::{derive_seed, random_felt, HashFn, RandomCoin, VectorCommit};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement};
use winterfell::matrix::ColMatrix;
use winterfell::{
    AuxRandElements, CompositionPoly, CompositionPolyTrace, ConstraintCompositionCoefficients,
    DefaultConstraintCommitment, DefaultConstraintEvaluator, DefaultTraceLde, EvaluationFrame, PartitionOptions,
    ProofOptions, Prover, StarkDomain, Trace, TraceInfo, TracePolyTable,
};

use crate::air::{low_top_value, statement_row_terms, tag_value, LiabilitiesAir, PublicInputs, RangeCheck, Statement};
use crate::committed::{totals_tags, CommittedInputs, CommittedStatement, TotalsOpening};
use crate::forest::Forest;
use crate::hash::{leaf_blocks, leaf_blocks_input, leaf_digest, Entry, DEBT, EQUITY, LEAF_TAG, LOW_BITS, MAX_ASSETS, TAG_BITS};
use crate::margin::{self, Forge, MarginInputs, Prices};
use crate::layout::*;
use crate::CircuitError;

/// Largest trace: winterfell's LDE domain (trace × blowup) must stay below `2^32`.
pub const MAX_LOG_LDE: u32 = 31;

/// One leaf of the tree, as the prover knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The user's id commitment (or a random digest for a padding leaf).
    pub idc: Digest,
    /// Entries sorted by tag, amounts non-zero.
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

/// Permutation rows of a forest over `leaves` (leaf blocks and nodes), without fillers.
pub fn used_rows(leaves: &[Leaf], forest: &Forest) -> usize {
    leaves.iter().map(|l| leaf_blocks(l.entries.len())).sum::<usize>() + forest.num_nodes() as usize
}

/// The trace length for `used` permutation rows: room for them, at least one filler row (it
/// closes the last level), the whole range table and the blinding rows. `(n, r)`.
pub fn trace_length(used: usize, options: &ProofOptions) -> Result<(usize, usize), CircuitError> {
    let real = (used + 1).max(TABLE_SIZE);
    let mut n = real.next_power_of_two();
    while real + blinding_rows(options, n) > n {
        n *= 2;
    }
    let max_len = (1usize << MAX_LOG_LDE) / options.blowup_factor();
    if n > max_len {
        return Err(CircuitError::TooLarge { rows: real, max_rows: max_len });
    }
    Ok((n, blinding_rows(options, n)))
}

/// The main trace of the forest `forest` over `leaves` (one per leaf slot of the range), its
/// public inputs, and the forest's node digests by heap index (leaves included), from which
/// inclusion paths are cut.
pub fn build_trace(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, PublicInputs, ForestDigests), CircuitError> {
    check_inputs(leaves, &forest, params, false)?;
    build_trace_parts(leaves, forest, params, None, None, options, blinding_seed)
}

/// [`build_trace`] for version 3: leaves may hold debt entries (tag `2·asset + 1`); every
/// borrower's debt must be covered by their collateral at `prices` (else
/// [`CircuitError::UncoveredDebt`] names the leaf and the assets).
pub fn build_margin_trace(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    prices: &Prices,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, MarginInputs, ForestDigests), CircuitError> {
    check_inputs(leaves, &forest, params, true)?;
    prices.check(params.num_assets)?;
    margin::check_borrowers(leaves, forest.start, prices)?;
    build_margin_parts(leaves, forest, params, prices, &Forge::default(), options, blinding_seed)
}

fn build_margin_parts(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    prices: &Prices,
    forge: &Forge,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, MarginInputs, ForestDigests), CircuitError> {
    let (trace, base, digests) = build_trace_parts(leaves, forest, params, Some((prices, forge)), None, options, blinding_seed)?;
    let inputs = MarginInputs { base, debt_totals: totals(leaves, params.num_assets, DEBT), prices: prices.clone() };
    Ok((trace, inputs, digests))
}

/// Builds a version-3 trace without checking the leaves or the collateral condition, with the
/// dishonest variants `forge` asks for: tests use it for forged traces.
#[cfg(test)]
pub(crate) fn build_margin_trace_unchecked(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    prices: &Prices,
    forge: &Forge,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, MarginInputs, ForestDigests), CircuitError> {
    build_margin_parts(leaves, forest, params, prices, forge, options, blinding_seed)
}

/// Builds the trace without checking the leaves: tests use it for dishonest traces.
#[cfg(test)]
pub(crate) fn build_trace_unchecked(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, PublicInputs, ForestDigests), CircuitError> {
    build_trace_parts(leaves, forest, params, None, None, options, blinding_seed)
}

/// The trace of a forest with committed totals (formats 4 and 5, README §5): version 2's, or
/// with `prices` version 3's, with the `TOT` column and the totals chain of the forest's
/// opening (salts from `blinding_seed`) in its last real rows. Returns the opening too.
pub fn build_committed_trace(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    prices: Option<&Prices>,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, CommittedStatement, ForestDigests, TotalsOpening), CircuitError> {
    check_inputs(leaves, &forest, params, prices.is_some())?;
    if let Some(prices) = prices {
        prices.check(params.num_assets)?;
        margin::check_borrowers(leaves, forest.start, prices)?;
    }
    let opening = forest_opening(leaves, params.num_assets, prices.is_some(), &blinding_seed);
    let (trace, statement, digests) =
        build_committed_parts(leaves, forest, params, prices, &Forge::default(), &opening, options, blinding_seed)?;
    Ok((trace, statement, digests, opening))
}

/// The opening of a forest's totals: its exact part sums per tag of
/// [`totals_tags`] (equity, and with `margin` debt, of every asset), salted from the forest's
/// totals seed `derive_seed(blinding_seed, "totals")`.
pub fn forest_opening(leaves: &[Leaf], num_assets: usize, margin: bool, blinding_seed: &[u8; 32]) -> TotalsOpening {
    let equity = totals(leaves, num_assets, EQUITY);
    let debt = if margin { totals(leaves, num_assets, DEBT) } else { Vec::new() };
    let parts: Vec<[u64; PARTS]> = totals_tags(num_assets, margin)
        .into_iter()
        .map(|(tag, kind)| {
            let of = if kind == EQUITY { &equity } else { &debt };
            of[(tag / 2 - 1) as usize].map(|p| p.as_int())
        })
        .collect();
    TotalsOpening::new(&parts, margin, derive_seed(blinding_seed, b"totals"))
}

#[allow(clippy::too_many_arguments)]
fn build_committed_parts(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    prices: Option<&Prices>,
    forge: &Forge,
    opening: &TotalsOpening,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, CommittedStatement, ForestDigests), CircuitError> {
    let margin = prices.map(|p| (p, forge));
    let (trace, base, digests) = build_trace_parts(leaves, forest, params, margin, Some(opening), options, blinding_seed)?;
    let inputs = CommittedInputs {
        forest,
        range_bits: params.range_bits,
        num_assets: params.num_assets,
        assets_digest: params.assets_digest,
        round_digest: params.round_digest,
        roots: base.roots,
        commitment: opening.commitment(),
        prices: prices.cloned(),
    };
    Ok((trace, CommittedStatement::new(inputs)?, digests))
}

/// Builds a committed trace without checking the leaves, with the margin section's forgeries
/// `forge` and the totals chain of any `opening` (whose commitment the inputs then publish):
/// tests use it for forged traces.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_committed_trace_unchecked(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    prices: Option<&Prices>,
    forge: &Forge,
    opening: &TotalsOpening,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, CommittedStatement, ForestDigests), CircuitError> {
    build_committed_parts(leaves, forest, params, prices, forge, opening, options, blinding_seed)
}

/// Digests of a forest's leaves and nodes, by level: `levels[0]` the leaves `N'+start..`,
/// `levels[j]` the nodes of height `j` from index `Forest::levels()[j − 1].0`.
pub struct ForestDigests {
    pub first_index: Vec<u64>,
    pub levels: Vec<Vec<Digest>>,
}

impl ForestDigests {
    /// The digest of heap index `index`, if the forest holds it.
    pub fn get(&self, index: u64) -> Option<&Digest> {
        // levels cover disjoint index ranges (each height's indices lie below the one beneath)
        self.first_index.iter().zip(&self.levels).find_map(|(&first, level)| level.get(index.checked_sub(first)? as usize))
    }
}

fn forest_digests(leaves: &[Leaf], forest: &Forest) -> ForestDigests {
    let mut first_index = vec![forest.num_leaves + forest.start];
    let mut levels = vec![leaves.par_iter().map(|l| leaf_digest(&l.idc, &l.entries)).collect::<Vec<_>>()];
    for (a, b) in forest.levels() {
        let (below_first, below) = (first_index[first_index.len() - 1], &levels[levels.len() - 1]);
        let level: Vec<Digest> = (a..b)
            .into_par_iter()
            .map(|i| {
                let left = (2 * i - below_first) as usize;
                node_digest(&below[left], &below[left + 1])
            })
            .collect();
        first_index.push(a);
        levels.push(level);
    }
    ForestDigests { first_index, levels }
}

/// The version-2 trace, or with `margin` the version-3 one: four more columns, the borrowers'
/// leaf rows keyed by their `IDX`, and the margin section after the first filler row. With
/// `committed`, one more column (`TOT`) and the opening's chain as the last real rows.
fn build_trace_parts(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    margin: Option<(&Prices, &Forge)>,
    committed: Option<&TotalsOpening>,
    options: &ProofOptions,
    blinding_seed: [u8; 32],
) -> Result<(LiabilitiesTrace, PublicInputs, ForestDigests), CircuitError> {
    if leaves.len() as u64 != forest.num_leaf_slots() {
        return Err(CircuitError::LeafRange { start: forest.start, end: forest.end, num_leaves: forest.num_leaves });
    }
    let width = if margin.is_some() { MAIN_WIDTH_MARGIN } else { MAIN_WIDTH } + committed.is_some() as usize;
    let used = used_rows(leaves, &forest);
    let section = margin.map_or(0, |_| margin::section_rows(leaves, params.num_assets));
    let totals_rows = committed.map_or(0, |o| o.rows.len());
    let (n, r) = trace_length(used + section + totals_rows, options)?;
    let digests = forest_digests(leaves, &forest);

    let mut rows = vec![Felt::ZERO; n * width];
    // leaf rows, in leaf order
    let mut leaf_slices = Vec::with_capacity(leaves.len());
    let mut rest = &mut rows[..];
    for leaf in leaves {
        let (head, tail) = rest.split_at_mut(leaf_blocks(leaf.entries.len()) * width);
        leaf_slices.push(head);
        rest = tail;
    }
    let first_leaf = forest.num_leaves + forest.start;
    leaf_slices.into_par_iter().zip(leaves.par_iter()).enumerate().for_each(|(j, (out, leaf))| {
        let keyed = margin.is_some_and(|(_, forge)| margin::uidk(leaf, j, forge));
        write_leaf_rows(out, width, first_leaf + j as u64, leaf, keyed)
    });
    // node rows, level by level, each level from its highest index down
    let mut prev = forest.num_leaves + forest.end - 1;
    for (level, (a, b)) in forest.levels().into_iter().enumerate() {
        let (level_rows, tail) = rest.split_at_mut(((b - a) as usize) * width);
        let below = &digests.levels[level];
        let below_first = digests.first_index[level];
        level_rows.par_chunks_mut(width).enumerate().for_each(|(k, row)| {
            let idx = b - 1 - k as u64;
            let left = (2 * idx - below_first) as usize;
            write_node_row(row, idx, &below[left], &below[left + 1]);
        });
        level_rows[LSTART] = Felt::ONE;
        level_rows[PREV] = Felt::new(prev);
        prev = a;
        rest = tail;
    }
    // fillers: real rows of no kind, IDX 0; the first closes the top level
    let real_end = n - r;
    let fillers = real_end - used;
    for row in rest[..fillers * width].chunks_mut(width) {
        row[SEL] = Felt::ONE;
    }
    rest[LSTART] = Felt::ONE;
    rest[PREV] = Felt::new(prev);
    // the margin section: rows that are fillers to version 2, after the one closing the top level
    if let Some((prices, forge)) = margin {
        margin::write_section(&mut rest[width..(1 + section) * width], width, leaves, first_leaf, prices, forge);
    }
    // the totals chain: the last real rows, one permutation per tag
    if let Some(opening) = committed {
        let chain = &mut rest[(fillers - totals_rows) * width..fillers * width];
        for (row, states) in chain.chunks_mut(width).zip(opening.chain_states()) {
            row[width - 1] = Felt::ONE;
            write_states(row, &states);
        }
    }

    // the range table and its multiplicities
    let range = RangeCheck::new(params.range_bits);
    let counts = rows[..real_end * width]
        .par_chunks(width)
        .fold(
            || vec![0u64; TABLE_SIZE],
            |mut acc, row| {
                for v in lookups(row, &range, margin.is_some()) {
                    // a value outside the table has no row to count on (dishonest traces only)
                    if let Some(count) = acc.get_mut(v.as_int() as usize) {
                        *count += 1;
                    }
                }
                acc
            },
        )
        .reduce(|| vec![0u64; TABLE_SIZE], |mut a, b| {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            a
        });
    for (i, row) in rows[..real_end * width].chunks_mut(width).enumerate() {
        row[TABLE] = Felt::new(i.min(TABLE_SIZE - 1) as u64);
        row[MULT] = if i < TABLE_SIZE { Felt::new(counts[i]) } else { Felt::ZERO };
    }

    // blinding rows: every column uniform except SEL, which is 0
    let mut rng = ChaCha20Rng::from_seed(derive_seed(&blinding_seed, b"main"));
    for row in rows[real_end * width..].chunks_mut(width) {
        for v in row.iter_mut() {
            *v = random_felt(&mut rng);
        }
        row[SEL] = Felt::ZERO;
    }

    let columns: Vec<Vec<Felt>> =
        (0..width).into_par_iter().map(|c| (0..n).map(|i| rows[i * width + c]).collect()).collect();
    drop(rows);

    let roots = forest.roots().iter().map(|&i| *digests.get(i).expect("a forest root is in the forest")).collect();
    let pub_inputs = PublicInputs {
        forest,
        range_bits: params.range_bits,
        assets_digest: params.assets_digest,
        round_digest: params.round_digest,
        totals: totals(leaves, params.num_assets, EQUITY),
        roots,
    };
    Ok((LiabilitiesTrace::new(columns), pub_inputs, digests))
}

/// The range lookups of one row whose numerator is 1 or a gate (the builder counts them where
/// they are live).
fn lookups<'a>(row: &'a [Felt], range: &'a RangeCheck, margin: bool) -> impl Iterator<Item = Felt> + 'a {
    let bounded = !(margin && row[MCLOSE] == Felt::ONE);
    (0..SLOTS).flat_map(move |j| {
        let live_tag = if j < 2 { row[CONT] } else { row[FIRST] + row[CONT] } == Felt::ONE;
        (0..LIMBS_PER_SLOT)
            .map(move |i| row[limb(j, i)])
            .chain(bounded.then(|| [low_top_value(row, j), range.bound_value(row, j)]).into_iter().flatten())
            .chain(live_tag.then(|| tag_value(row, j)))
    })
}

fn check_inputs(leaves: &[Leaf], forest: &Forest, params: &StatementParams, allow_debt: bool) -> Result<(), CircuitError> {
    use crate::air::{MAX_RANGE_BITS, MIN_RANGE_BITS};
    if !(MIN_RANGE_BITS..=MAX_RANGE_BITS).contains(&params.range_bits) {
        return Err(CircuitError::RangeBits(params.range_bits));
    }
    if params.num_assets == 0 || params.num_assets > MAX_ASSETS {
        return Err(CircuitError::AssetCount(params.num_assets));
    }
    let bound = 1u128 << params.range_bits;
    for (k, leaf) in leaves.iter().enumerate() {
        let position = forest.start + k as u64;
        let mut last_tag = 0;
        for entry in &leaf.entries {
            let asset = entry.asset();
            // version 2 lists equity only; debt tags come with the margin section (version 3)
            if (entry.tag % 2 != EQUITY && !allow_debt) || asset == 0 || asset as usize > params.num_assets {
                return Err(CircuitError::UnknownTag { leaf: position, tag: entry.tag });
            }
            if entry.tag <= last_tag {
                return Err(CircuitError::UnsortedEntries { leaf: position });
            }
            last_tag = entry.tag;
            if entry.amount == 0 || entry.amount >= bound {
                return Err(CircuitError::OutOfRange {
                    leaf: position,
                    tag: entry.tag,
                    amount: entry.amount.to_string(),
                    bits: params.range_bits,
                });
            }
        }
    }
    Ok(())
}

/// Exact per-asset sums of the amount parts of one kind of entry; each stays far below the
/// modulus (at most `2^31` entries of parts below `2^26`).
fn totals(leaves: &[Leaf], num_assets: usize, kind: u32) -> Vec<[Felt; PARTS]> {
    let mut sums = vec![[0u64; PARTS]; num_assets];
    for entry in leaves.iter().flat_map(|l| &l.entries).filter(|e| e.tag % 2 == kind) {
        let parts = amount_parts_of(entry.amount);
        for (sum, part) in sums[entry.asset() as usize - 1].iter_mut().zip(parts) {
            *sum += part;
        }
    }
    sums.into_iter().map(|parts| parts.map(Felt::new)).collect()
}

/// The 13-bit limbs of an amount at [`LIMB_OFFSETS`] (the low element's top limb holds 10 bits).
pub fn amount_limbs(amount: u128) -> [u64; LIMBS_PER_SLOT] {
    let low = amount & ((1u128 << LOW_BITS) - 1);
    let high = amount >> LOW_BITS;
    core::array::from_fn(|i| {
        let (value, shift) = if i < LOW_LIMBS { (low, LIMB_OFFSETS[i]) } else { (high, LIMB_OFFSETS[i] - LOW_BITS) };
        ((value >> shift) as u64) & ((1 << LIMB_BITS) - 1)
    })
}

/// The parts of an amount at [`PART_OFFSETS`].
pub fn amount_parts_of(amount: u128) -> [u64; PARTS] {
    let limbs = amount_limbs(amount);
    core::array::from_fn(|p| {
        let (first, count) = PART_LIMBS[p];
        (0..count).rev().fold(0u64, |acc, k| (acc << LIMB_BITS) + limbs[first + k])
    })
}

/// A leaf's rows; `keyed` (version 3, a borrower) keys its entries by its `IDX`.
fn write_leaf_rows(out: &mut [Felt], width: usize, idx: u64, leaf: &Leaf, keyed: bool) {
    let blocks = leaf_blocks_input(&leaf.idc, &leaf.entries);
    let last = blocks.len() - 1;
    let mut capacity = [Felt::ZERO; 4];
    for (b, (row, block)) in out.chunks_mut(width).zip(&blocks).enumerate() {
        if keyed {
            row[UIDK] = Felt::new(idx);
        }
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
            let (low, high) = (block[2 * j].as_int() as u128, block[2 * j + 1].as_int() >> TAG_BITS);
            let limbs = amount_limbs(low | ((high as u128) << LOW_BITS));
            for (i, l) in limbs.into_iter().enumerate() {
                row[limb(j, i)] = Felt::new(l);
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
    for (s, values) in states.iter().enumerate() {
        row[state(s, 0)..state(s, 0) + STATE_WIDTH].copy_from_slice(values);
    }
}

/// The main trace, declared with its auxiliary segment.
pub struct LiabilitiesTrace {
    info: TraceInfo,
    main: ColMatrix<Felt>,
}

impl LiabilitiesTrace {
    /// A version-2 trace, or a version-3 one if there are `MAIN_WIDTH_MARGIN` columns (either
    /// with one more column for committed totals: the auxiliary width is the same for all).
    pub fn new(columns: Vec<Vec<Felt>>) -> Self {
        let length = columns[0].len();
        let aux_width = if columns.len() == MAIN_WIDTH_MARGIN { AUX_WIDTH_MARGIN } else { AUX_WIDTH };
        let info = TraceInfo::new_multi_segment(columns.len(), aux_width, NUM_AUX_RANDS, length, vec![]);
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

impl Trace for LiabilitiesTrace {
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

/// The winterfell prover for one instance (version 2, or 3 with [`MarginInputs`]).
pub struct LiabilitiesProver<P: Statement = PublicInputs> {
    options: ProofOptions,
    pub_inputs: P,
    blinding_seed: [u8; 32],
}

impl<P: Statement> LiabilitiesProver<P> {
    pub fn new(options: ProofOptions, pub_inputs: P, blinding_seed: [u8; 32]) -> Self {
        Self { options, pub_inputs, blinding_seed }
    }
}

impl<P: Statement> Prover for LiabilitiesProver<P> {
    type BaseField = Felt;
    type Air = LiabilitiesAir<P>;
    type Trace = LiabilitiesTrace;
    type HashFn = HashFn;
    type VC = VectorCommit;
    type RandomCoin = RandomCoin;
    type TraceLde<E: FieldElement<BaseField = Felt>> = DefaultTraceLde<E, HashFn, VectorCommit>;
    type ConstraintCommitment<E: FieldElement<BaseField = Felt>> =
        DefaultConstraintCommitment<E, HashFn, VectorCommit>;
    type ConstraintEvaluator<'a, E: FieldElement<BaseField = Felt>> =
        DefaultConstraintEvaluator<'a, LiabilitiesAir<P>, E>;

    fn get_pub_inputs(&self, _trace: &Self::Trace) -> P {
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
        DefaultConstraintCommitment::new(composition_poly_trace, num_constraint_composition_columns, domain, partition_options)
    }

    fn new_evaluator<'a, E: FieldElement<BaseField = Felt>>(
        &self,
        air: &'a LiabilitiesAir<P>,
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
pub fn build_aux_columns<E: FieldElement<BaseField = Felt>, P: Statement>(
    main_trace: &LiabilitiesTrace,
    pub_inputs: &P,
    options: &ProofOptions,
    aux_rand_elements: &AuxRandElements<E>,
    blinding_seed: &[u8; 32],
) -> ColMatrix<E> {
    let n = main_trace.length();
    let real_end = n - blinding_rows(options, n);
    let ch = Challenges::from_rand(aux_rand_elements.rand_elements());
    let range = RangeCheck::new(pub_inputs.base().range_bits);
    let (margin, committed) = (pub_inputs.margin().is_some(), pub_inputs.committed().is_some());
    stark_por_solvency::logup::aux_columns(
        main_trace.main_segment(),
        real_end,
        TERMS_PER_HELPER,
        |row| statement_row_terms::<Felt, E>(row, &range, &ch, margin, committed).to_vec(),
        blinding_seed,
    )
}

