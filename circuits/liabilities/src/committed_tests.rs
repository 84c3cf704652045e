//! Committed totals (formats 4 and 5): honest forests, with and without the margin section,
//! prove and verify under the commitment of their true part sums; each forged trace, built to
//! break one constraint or assertion of committed mode (or, where only the bus can catch it,
//! none), is rejected.
//!
//! As in `tests.rs`, every forged trace is first shown to violate exactly the named constraint
//! (evaluating the AIR row by row), then proved and refused by [`verify_committed`].

use std::collections::BTreeSet;
use std::sync::OnceLock;

use super::*;
use crate::air::{combine_parts, NUM_MAIN_CONSTRAINTS};
use crate::committed::{tag_walk, totals_tags, TotalsRow, RATE_KIND, RATE_PARTS, RATE_TAG, TOTALS_TAG};
use crate::forest::round_root;
use crate::hash::leaf_digest;
use crate::layout::*;
use crate::margin::{fold_price, Forge};
use crate::prover::{amount_parts_of, build_committed_trace_unchecked, forest_opening, LiabilitiesTrace};
use stark_por_solvency::hash::{merkle_tree, permutation_states, Digest, NUM_ROUNDS, STATE_WIDTH};
use stark_por_solvency::hiding::HidingProver;
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement, ToElements};
use winterfell::{Air, EvaluationFrame, Trace};

const SEED: [u8; 32] = [8; 32];
const MAX: u128 = (1 << 112) - 1;
/// Six assets; asset 6 is held and owed by nobody.
const ASSETS: usize = 6;

fn digest(seed: u64) -> Digest {
    [Felt::new(seed), Felt::new(seed + 1), Felt::new(seed + 2), Felt::new(seed + 3)]
}

fn params() -> StatementParams {
    StatementParams { num_assets: ASSETS, range_bits: 112, assets_digest: digest(7), round_digest: digest(9) }
}

/// Every asset at $1 per whole token of 18 decimals, haircut 50 %: a borrower is covered when
/// half their holdings (in units) reach their debt.
fn prices() -> Prices {
    let (c, d) = fold_price("1", "0.5", 18, 27).unwrap();
    Prices { collateral: vec![c; ASSETS], debt: vec![d; ASSETS] }
}

/// 32 users over assets 1–5: dust to whales at `2^112 − 1`, some users with nothing; with
/// `margin`, every fourth user borrows (covered): one whale owes `2^110` of asset 3 against
/// `2^112 − 1` of asset 1.
fn ledger(margin: bool) -> Vec<Leaf> {
    let amounts = [1u128, 999, (1 << 62) - 1, 1 << 62, 5 * 10u128.pow(18), 3 << 100, MAX];
    (0..32usize)
        .map(|j| {
            let mut entries: Vec<Entry> = (1..=5u32)
                .filter(|&a| !(j + a as usize).is_multiple_of(3) && j % 7 != 6)
                .map(|a| Entry::equity(a, amounts[(j * 3 + a as usize) % amounts.len()]))
                .collect();
            if margin && j % 4 == 1 {
                entries.retain(|e| e.asset() != 1 && e.asset() != 3);
                entries.push(Entry::equity(1, MAX));
                entries.push(Entry::debt(3, if j == 1 { 1 << 110 } else { 999 * j as u128 }));
            }
            entries.sort();
            Leaf { idc: digest(100 * j as u64), entries }
        })
        .collect()
}

/// The exact part sums of one tag over some leaves.
fn part_sums(leaves: &[Leaf], tag: u32) -> [u64; PARTS] {
    let mut sums = [0u64; PARTS];
    for e in leaves.iter().flat_map(|l| &l.entries).filter(|e| e.tag == tag) {
        for (s, p) in sums.iter_mut().zip(amount_parts_of(e.amount)) {
            *s += p;
        }
    }
    sums
}

/// The partition of the 32-leaf tree the honest tests prove; its middle forest is the one the
/// forged tests start from ([`Case`]).
const PARTITION: [(u64, u64); 3] = [(0, 3), (3, 29), (29, 32)];

/// An honest forest of [`PARTITION`] proved with committed totals.
struct Proved {
    proof: Proof,
    inputs: CommittedInputs,
    opening: TotalsOpening,
}

/// The forests of [`PARTITION`], proved once per mode and shared by every test that only
/// verifies or replays them (proving is nearly all of such a test's time).
fn proved(margin: bool) -> &'static [Proved; 3] {
    static PROVED: [OnceLock<[Proved; 3]>; 2] = [OnceLock::new(), OnceLock::new()];
    PROVED[margin as usize].get_or_init(|| {
        let leaves = ledger(margin);
        let prices = margin.then(prices);
        PARTITION.map(|(s, e)| {
            let forest = Forest::new(32, s, e).unwrap();
            let slice = &leaves[s as usize..e as usize];
            let (proof, inputs, _, opening) =
                prove_committed(slice, forest, &params(), prices.as_ref(), Security::Bits100, SEED).unwrap();
            Proved { proof, inputs, opening }
        })
    })
}

/// An instance to forge: the leaves of a forest of the 32-leaf tree, with or without margin.
struct Case {
    leaves: Vec<Leaf>,
    forest: Forest,
    prices: Option<Prices>,
}

impl Case {
    /// The middle forest of [`PARTITION`] (`3..29`).
    fn new(margin: bool) -> Self {
        let (s, e) = PARTITION[1];
        let forest = Forest::new(32, s, e).unwrap();
        let leaves = ledger(margin)[s as usize..e as usize].to_vec();
        Case { leaves, forest, prices: margin.then(prices) }
    }

    fn margin(&self) -> bool {
        self.prices.is_some()
    }

    fn honest_opening(&self) -> TotalsOpening {
        forest_opening(&self.leaves, ASSETS, self.margin(), &SEED)
    }

    /// The trace with `opening`'s chain as its totals rows (its commitment published).
    fn trace(&self, opening: &TotalsOpening) -> (LiabilitiesTrace, CommittedStatement) {
        let options = Security::Bits100.options();
        let (trace, statement, _) = build_committed_trace_unchecked(
            &self.leaves,
            self.forest,
            &params(),
            self.prices.as_ref(),
            &Forge::default(),
            opening,
            &options,
            SEED,
        )
        .unwrap();
        (trace, statement)
    }

    fn honest(&self) -> (LiabilitiesTrace, CommittedStatement) {
        self.trace(&self.honest_opening())
    }
}

fn air_of(trace: &LiabilitiesTrace, statement: &CommittedStatement) -> LiabilitiesAir<CommittedStatement> {
    LiabilitiesAir::new(trace.info().clone(), statement.clone(), Security::Bits100.options())
}

/// The statement publishing another commitment.
fn with_commitment(statement: &CommittedStatement, commitment: Digest) -> CommittedStatement {
    CommittedStatement::new(CommittedInputs { commitment, ..statement.inputs.clone() }).unwrap()
}

fn prove_trace(trace: LiabilitiesTrace, statement: &CommittedStatement) -> Proof {
    let inner = LiabilitiesProver::new(Security::Bits100.options(), statement.clone(), SEED);
    HidingProver::new(inner, &SEED).prove(trace).unwrap()
}

fn assert_rejected(trace: LiabilitiesTrace, statement: &CommittedStatement) {
    let proof = prove_trace(trace, statement);
    let result = verify_committed(proof, statement.inputs.clone(), 100);
    assert!(matches!(result, Err(CircuitError::Rejected(_))), "expected rejection, got {result:?}");
}

/// Violations of a trace: `(others, committed)`. `committed` holds the numbers of committed
/// mode's constraints (`Cn` as `n`) and assertions (`C-Bn` as `100 + n`); `others` every other
/// main constraint (by index) and assertion (`1000 + i`) that fails.
fn violations(trace: &LiabilitiesTrace, statement: &CommittedStatement) -> (BTreeSet<usize>, BTreeSet<usize>) {
    let air = air_of(trace, statement);
    let margin = statement.margin().is_some();
    let first = NUM_MAIN_CONSTRAINTS + if margin { crate::margin::NUM_CONSTRAINTS } else { 0 };
    let mut frame = EvaluationFrame::<Felt>::new(trace.info().main_trace_width());
    let mut result = vec![Felt::ZERO; first + committed::NUM_CONSTRAINTS];
    let (mut others, mut ours) = (BTreeSet::new(), BTreeSet::new());
    for row in 0..trace.length() - 1 {
        trace.read_main_frame(row, &mut frame);
        air.evaluate_transition(&frame, &[], &mut result);
        for (c, _) in result.iter().enumerate().filter(|(_, v)| **v != Felt::ZERO) {
            if c >= first { ours.insert(c - first) } else { others.insert(c) };
        }
    }
    let base_assertions = 7 + margin as usize;
    for (i, a) in air.get_assertions().iter().enumerate() {
        if trace.get(a.column(), a.first_step()) != a.values()[0] {
            if i >= base_assertions { ours.insert(100 + i - base_assertions) } else { others.insert(1000 + i) };
        }
    }
    (others, ours)
}

/// Asserts the trace violates exactly the committed-mode constraints or assertions `expected`
/// (and nothing else), then that its proof is refused.
fn assert_breaks_exactly(trace: LiabilitiesTrace, statement: &CommittedStatement, expected: &[usize]) {
    assert_violates_exactly(&trace, statement, expected);
    assert_rejected(trace, statement);
}

/// The row-by-row half of [`assert_breaks_exactly`], for a further variant of a cheat whose
/// constraints another variant's refused proof already shows enforced.
fn assert_violates_exactly(trace: &LiabilitiesTrace, statement: &CommittedStatement, expected: &[usize]) {
    let (others, ours) = violations(trace, statement);
    assert!(others.is_empty(), "other constraints break: {others:?}");
    assert_eq!(ours, expected.iter().copied().collect::<BTreeSet<_>>());
}

/// The first totals row and the last real row `L`.
fn chain_rows(trace: &LiabilitiesTrace, statement: &CommittedStatement, rows: usize) -> (usize, usize) {
    let last = air_of(trace, statement).last_real_row();
    (last + 1 - rows, last)
}

/// Writes a totals chain over rows `first..`: the permutations of `inputs` (each a whole input
/// state), `TOT` set on each; returns the last output's rate half.
fn write_rows(trace: &mut LiabilitiesTrace, margin: bool, first: usize, inputs: &[[Felt; STATE_WIDTH]]) -> Digest {
    let mut out = [Felt::ZERO; 4];
    for (k, input) in inputs.iter().enumerate() {
        let states = permutation_states(*input);
        for (s, values) in states.iter().enumerate() {
            for (c, &v) in values.iter().enumerate() {
                trace.set(state(s, c), first + k, v);
            }
        }
        trace.set(tot(margin), first + k, Felt::ONE);
        out.copy_from_slice(&states[NUM_ROUNDS][4..8]);
    }
    out
}

/// The inputs of a chain from `capacity` absorbing `rates`, each capacity chained honestly.
fn chain_inputs(capacity: [Felt; 4], rates: &[[Felt; 8]]) -> Vec<[Felt; STATE_WIDTH]> {
    let mut capacity = capacity;
    rates
        .iter()
        .map(|rate| {
            let mut input = [Felt::ZERO; STATE_WIDTH];
            input[..4].copy_from_slice(&capacity);
            input[4..].copy_from_slice(rate);
            capacity.copy_from_slice(&permutation_states(input)[NUM_ROUNDS][..4]);
            input
        })
        .collect()
}

fn rates(opening: &TotalsOpening) -> Vec<[Felt; 8]> {
    (0..opening.rows.len()).map(|i| opening.rate(i)).collect()
}

// -- honest proofs -------------------------------------------------------------------------------

#[test]
fn forests_with_committed_totals_verify_and_open_to_their_part_sums() {
    for margin in [false, true] {
        let leaves = ledger(margin);
        let full = merkle_tree(&leaves.iter().map(|l| leaf_digest(&l.idc, &l.entries)).collect::<Vec<_>>());
        let prices = margin.then(prices);
        let mut parts = Vec::new();
        let mut commitments = Vec::new();
        for (&(s, e), Proved { proof, inputs: pi, opening }) in PARTITION.iter().zip(proved(margin)) {
            let forest = Forest::new(32, s, e).unwrap();
            let slice = &leaves[s as usize..e as usize];
            assert_eq!(pi.forest, forest);
            assert_eq!(pi.commitment, opening.commitment());
            assert_eq!(pi.prices, prices);
            // the opening lists every tag once, in chain order, with the forest's exact part sums
            let tags = totals_tags(ASSETS, margin);
            assert_eq!(opening.rows.iter().map(|r| (r.tag, r.kind)).collect::<Vec<_>>(), tags);
            for row in &opening.rows {
                assert_eq!(row.parts, part_sums(slice, row.tag), "tag {}", row.tag);
            }
            // the unheld asset's rows sum to nothing; in 3..29 (three whales) asset 1's total
            // passes 2^112
            assert!(opening.rows.iter().filter(|r| r.tag / 2 == 6).all(|r| r.parts == [0; PARTS]));
            assert!(combine_parts(&opening.rows[0].parts)[1] >> 48 != 0 || s != 3, "asset 1's total above 2^112");
            let elements = CommittedStatement::new(pi.clone()).unwrap().to_elements();
            assert_eq!(elements[0], Felt::new(if margin { 5 } else { 4 }));
            assert_eq!(proof.trace_info().main_trace_width(), if margin { MAIN_WIDTH_COMMITTED_MARGIN } else { MAIN_WIDTH_COMMITTED });
            let figures = verify_committed(proof.clone(), pi.clone(), 100).unwrap();
            assert!(figures.conjectured >= 100 && figures.proven <= figures.conjectured);
            for (&i, root) in forest.roots().iter().zip(&pi.roots) {
                assert_eq!(&full[i as usize], root);
            }
            commitments.push(pi.commitment);
            parts.push((forest, pi.roots.clone()));
        }
        let parts: Vec<(Forest, &[Digest])> = parts.iter().map(|(f, r)| (*f, r.as_slice())).collect();
        assert_eq!(round_root(&parts).unwrap(), full[1]);
        // each forest salts its own chain
        assert!(commitments[0] != commitments[1] && commitments[1] != commitments[2]);
    }
}

#[test]
fn a_forest_of_borrowers_commits_to_exact_debt_totals() {
    // every fourth user owes asset 3 (tag 7): the whale (user 1) 2^110, user j 999·j
    let owed = |range: std::ops::Range<usize>| -> u128 {
        range.filter(|j| j % 4 == 1).map(|j| if j == 1 { 1 << 110 } else { 999 * j as u128 }).sum()
    };
    for (s, e) in [(3usize, 29usize), (0, 32)] {
        let leaves = &ledger(true)[s..e];
        let opening = forest_opening(leaves, ASSETS, true, &SEED);
        let row = opening.rows.iter().find(|r| r.tag == 7).unwrap();
        assert_eq!(row.kind, 1);
        let words = combine_parts(&row.parts);
        assert_eq!((words[0] as u128 | (words[1] as u128) << 64, words[2], words[3]), (owed(s..e), 0, 0));
        // nobody owes assets 1, 2, 4, 5 or 6
        assert!(opening.rows.iter().filter(|r| r.kind == 1 && r.tag != 7).all(|r| r.parts == [0; PARTS]));
    }
}

/// The honest traces the forged ones start from satisfy every main and auxiliary constraint
/// and assertion, and their rows' terms sum to the verifier's side, which lists no part sum.
#[test]
fn an_honest_committed_trace_satisfies_every_constraint() {
    use stark_por_solvency::air::Challenges;
    use winterfell::AuxRandElements;
    for margin in [false, true] {
        let case = Case::new(margin);
        let (trace, statement) = case.honest();
        let (others, ours) = violations(&trace, &statement);
        assert!(others.is_empty() && ours.is_empty(), "{others:?} {ours:?}");
        let options = Security::Bits100.options();
        let air = air_of(&trace, &statement);
        let challenges = vec![Felt::new(123_456_789), Felt::new(987_654_321), Felt::new(55_555)];
        let rand = AuxRandElements::new(challenges.clone());
        let aux = crate::prover::build_aux_columns(&trace, &statement, &options, &rand, &SEED);
        let mut main = EvaluationFrame::<Felt>::new(trace.info().main_trace_width());
        let mut frame = EvaluationFrame::<Felt>::new(AUX_WIDTH);
        let mut result = vec![Felt::ZERO; AUX_WIDTH];
        for r in 0..trace.length() - 1 {
            trace.read_main_frame(r, &mut main);
            aux.read_row_into(r, frame.current_mut());
            aux.read_row_into(r + 1, frame.next_mut());
            air.evaluate_aux_transition(&main, &frame, &[], &rand, &mut result);
            assert!(result.iter().all(|v| *v == Felt::ZERO), "row {r}");
        }
        for a in air.get_aux_assertions(&rand) {
            assert_eq!(aux.get(a.column(), a.first_step()), a.values()[0]);
        }
        // term by term: the rows (totals rows included) sum to roots, level starts and prices
        let ch = Challenges::from_rand(&challenges);
        let range = air::RangeCheck::new(112);
        let mut row = vec![Felt::ZERO; trace.info().main_trace_width()];
        let mut sum = Felt::ZERO;
        for r in 0..=air.last_real_row() {
            trace.main_segment().read_row_into(r, &mut row);
            let terms = air::statement_row_terms::<Felt, Felt>(&row, &range, &ch, margin, true);
            assert_eq!(terms.len(), if margin { NUM_TERMS_COMMITTED_MARGIN } else { NUM_TERMS_COMMITTED });
            sum += terms.iter().fold(Felt::ZERO, |a, (n, d)| a + *n / *d);
        }
        assert_eq!(sum, air.expected_sum(&ch));
        // the totals rows are the last T real rows, at the tags of the walk
        let t = committed::reserved_rows(ASSETS, margin);
        let (first, last) = chain_rows(&trace, &statement, t);
        let (first_tag, step, last_tag) = tag_walk(ASSETS, margin);
        for (k, r) in (first..=last).enumerate() {
            assert_eq!(trace.get(tot(margin), r), Felt::ONE);
            assert_eq!(trace.get(totals_rate(RATE_TAG), r), Felt::from(first_tag + step * k as u32));
        }
        assert_eq!(trace.get(totals_rate(RATE_TAG), last), Felt::from(last_tag));
        assert_eq!(trace.get(tot(margin), first - 1), Felt::ZERO);
    }
}

#[test]
fn the_security_estimate_counts_the_totals_term_and_drops_the_listed_totals() {
    let k = ASSETS as u64;
    for margin in [false, true] {
        let case = Case::new(margin);
        let (_, statement) = case.honest();
        let shape = committed::bus_shape(&statement.inputs);
        let plain = match &statement.margin() {
            None => air::bus_shape(statement.base()),
            Some(m) => crate::margin::bus_shape(m),
        };
        assert_eq!(shape.terms_per_row, plain.terms_per_row + 1);
        assert_eq!(shape.terms_per_row as usize, if margin { NUM_TERMS_COMMITTED_MARGIN } else { NUM_TERMS_COMMITTED });
        // pole(2, tag, kind): a pair
        assert_eq!(shape.pole_degree_per_row, plain.pole_degree_per_row + 2);
        // no equity totals (single tags) and, with margin, no debt totals (pairs) listed
        let (terms, degree) = if margin { (2 * k, 3 * k) } else { (k, k) };
        assert_eq!((shape.public_terms, shape.public_pole_degree), (plain.public_terms - terms, plain.public_pole_degree - degree));
        assert_eq!(shape.numerator_degree, plain.numerator_degree);
    }
}

// -- refused inputs ------------------------------------------------------------------------------

#[test]
fn a_committed_proof_is_refused_under_other_inputs() {
    for margin in [false, true] {
        let leaves = ledger(margin);
        // forest 3..29, and 0..3 for another forest's inputs
        let [before, Proved { proof, inputs: pi, opening }, _] = proved(margin);
        let other_pi = &before.inputs;
        verify_committed(proof.clone(), pi.clone(), 100).unwrap();
        let refused = |claimed: CommittedInputs, what: &str| {
            let result = verify_committed(proof.clone(), claimed, 100);
            assert!(result.is_err(), "{what}: {result:?}");
        };
        // the commitment of the same totals under other salts, and of totals one unit off
        let resalted = forest_opening(&leaves[3..29], ASSETS, margin, &[9; 32]);
        refused(CommittedInputs { commitment: resalted.commitment(), ..pi.clone() }, "other salts");
        let mut off = opening.clone();
        off.rows[1].parts[0] += 1;
        refused(CommittedInputs { commitment: off.commitment(), ..pi.clone() }, "other totals");
        let mut roots = pi.roots.clone();
        roots[0][2] += Felt::ONE;
        refused(CommittedInputs { roots, ..pi.clone() }, "roots");
        refused(CommittedInputs { round_digest: digest(10), ..pi.clone() }, "round digest");
        refused(CommittedInputs { assets_digest: digest(8), ..pi.clone() }, "assets digest");
        refused(CommittedInputs { range_bits: 111, ..pi.clone() }, "range bound");
        refused(CommittedInputs { num_assets: ASSETS - 1, ..pi.clone() }, "asset count");
        refused(other_pi.clone(), "another forest's inputs");
        refused(CommittedInputs { commitment: other_pi.commitment, ..pi.clone() }, "another forest's commitment");
        // the other mode's inputs
        let flipped = if margin { None } else { Some(self::prices()) };
        refused(CommittedInputs { prices: flipped, ..pi.clone() }, "the other statement version");
        if margin {
            let mut cheaper = self::prices();
            cheaper.debt[2] -= 1;
            refused(CommittedInputs { prices: Some(cheaper), ..pi.clone() }, "other prices");
        }
        // nothing panics on inputs no statement has
        refused(CommittedInputs { num_assets: 0, ..pi.clone() }, "no assets");
        refused(CommittedInputs { num_assets: usize::MAX, ..pi.clone() }, "too many assets");
    }
}

#[test]
fn plain_and_committed_proofs_do_not_pass_for_each_other() {
    let case = Case::new(false);
    let (leaves, forest) = (&case.leaves, case.forest);
    let Proved { proof: committed_proof, inputs: cpi, .. } = &proved(false)[1];
    let (committed_proof, cpi) = (committed_proof.clone(), cpi.clone());
    let (plain, pi, _) = prove(leaves, forest, &params(), Security::Bits100, SEED).unwrap();
    // a version-2 proof claimed as committed (with its own roots, under any commitment)
    assert!(verify_committed(plain.clone(), cpi.clone(), 100).is_err());
    assert!(verify(committed_proof.clone(), pi.clone(), 100).is_err());
    verify(plain, pi, 100).unwrap();
    verify_committed(committed_proof, cpi, 100).unwrap();

    let case = Case::new(true);
    let prices = case.prices.clone().unwrap();
    let Proved { proof: committed_proof, inputs: cpi, .. } = &proved(true)[1];
    let (committed_proof, cpi) = (committed_proof.clone(), cpi.clone());
    let (plain, mi, _) = prove_margin(&case.leaves, forest, &params(), &prices, Security::Bits100, SEED).unwrap();
    assert!(verify_committed(plain.clone(), cpi.clone(), 100).is_err());
    assert!(verify_margin(committed_proof.clone(), mi.clone(), 100).is_err());
    assert!(verify(committed_proof.clone(), mi.base.clone(), 100).is_err());
    // a format-5 proof is no format-4 proof
    assert!(verify_committed(committed_proof, CommittedInputs { prices: None, ..cpi }, 100).is_err());
    verify_margin(plain, mi, 100).unwrap();
}

#[test]
fn a_trace_too_short_for_its_totals_rows_is_refused_by_shape() {
    let Proved { proof, inputs: pi, .. } = &proved(true)[1];
    check_shape_committed(proof, pi).unwrap();
    assert!(matches!(check_shape_committed(proof, &CommittedInputs { num_assets: 5000, ..pi.clone() }), Err(CircuitError::AssetCount(5000))));
    // 4,000 assets with margin: 8,000 price-table rows and 8,000 totals rows do not fit 2^14
    let wide = Prices { collateral: vec![1; 4000], debt: vec![1; 4000] };
    let claimed = CommittedInputs { num_assets: 4000, prices: Some(wide), ..pi.clone() };
    let err = check_shape_committed(proof, &claimed).unwrap_err();
    assert!(matches!(&err, CircuitError::Shape(why) if why.contains("trace length")), "{err:?}");
}

// -- forged traces -------------------------------------------------------------------------------

/// A totals row with a part one unit off, its chain and commitment recomputed: every
/// constraint holds, the bus (leaves' entries against the totals rows) refuses it.
#[test]
fn a_totals_row_off_by_one_is_rejected_by_the_bus() {
    for (margin, row, part) in [(false, 0, 0), (false, 3, 4), (true, 5, 2)] {
        let case = Case::new(margin);
        let mut opening = case.honest_opening();
        opening.rows[row].parts[part] += 1;
        let (trace, statement) = case.trace(&opening);
        assert_eq!(statement.inputs.commitment, opening.commitment());
        assert_breaks_exactly(trace, &statement, &[]);
    }
}

/// [C0] `TOT = 1/2` on the first totals row with its parts doubled: the bus balances (it
/// consumes half of twice the sums) — a commitment to twice the totals. [C0] never breaks
/// alone: a flag `x ∉ {0, 1}` makes the next row a chain start too (`(1 − x)·TOT'` ≠ 0 in
/// [C3–C5]) while [C10] steps its tag, and in mid-chain [C2] (`1 − x` ≠ 0) catches it; here the
/// next row's capacity and tag break [C3] and [C4].
#[test]
fn a_totals_row_flag_other_than_one_is_rejected() {
    let case = Case::new(false);
    let mut opening = case.honest_opening();
    for p in opening.rows[0].parts.iter_mut() {
        *p *= 2;
    }
    let (mut trace, statement) = case.trace(&opening);
    let (first, _) = chain_rows(&trace, &statement, opening.rows.len());
    trace.set(tot(false), first, Felt::from(2u32).inv());
    assert_breaks_exactly(trace, &statement, &[0, 3, 4]);
}

/// [C1] A borrower's close row doubling as the first totals row (the margin section moved to
/// end right before the chain): the close row's cells sit in the limb columns, the chain in the
/// hash columns, and every other constraint holds.
#[test]
fn a_totals_row_that_is_also_a_margin_row_is_rejected() {
    let case = Case::new(true);
    let (mut trace, statement) = case.honest();
    let width = trace.info().main_trace_width();
    let t = committed::reserved_rows(ASSETS, true);
    let (chain, _) = chain_rows(&trace, &statement, t);
    let flagged = |r: usize| [MENTRY, MCLOSE, MPRICE].iter().any(|&c| trace.get(c, r) == Felt::ONE);
    let start = (0..chain).find(|&r| flagged(r)).unwrap();
    let end = (start..chain).find(|&r| !flagged(r)).unwrap();
    assert_eq!(trace.get(MCLOSE, end - 1), Felt::ONE, "the section ends with a close row");
    let moved = chain + 1 - (end - start);
    assert!(moved >= end, "room to move the section");
    let keep = |c: usize| c == TABLE || c == MULT || c == SEL;
    let hash = |c: usize| (STATE..LIMBS).contains(&c) || c == tot(true);
    for k in (0..end - start).rev() {
        let (from, to) = (start + k, moved + k);
        for c in (0..width).filter(|&c| !keep(c)) {
            let v = trace.get(c, from);
            // the merged row keeps the chain's hash columns and flag
            if !(to == chain && hash(c)) {
                trace.set(c, to, v);
            }
            trace.set(c, from, Felt::ZERO);
        }
    }
    assert_eq!((trace.get(MCLOSE, chain), trace.get(tot(true), chain)), (Felt::ONE, Felt::ONE));
    assert_breaks_exactly(trace, &statement, &[1]);
}

/// [C1] `TOT` on a leaf row: besides the exclusivity, it cannot start or join the chain.
#[test]
fn a_leaf_row_flagged_as_totals_is_rejected() {
    let case = Case::new(false);
    let (mut trace, statement) = case.honest();
    let row = (0..trace.length()).find(|&r| trace.get(END, r) == Felt::ONE && trace.get(FIRST, r) == Felt::ZERO).unwrap();
    trace.set(tot(false), row, Felt::ONE);
    let (others, ours) = violations(&trace, &statement);
    assert!(others.is_empty(), "{others:?}");
    assert!(ours.contains(&1), "{ours:?}");
    assert_rejected(trace, &statement);
}

/// [C2] A one-row chain among the filler rows consuming half of asset 1's total, the real
/// chain committing to the other half: the bus balances, the commitment hides half a total.
#[test]
fn a_totals_row_outside_the_suffix_is_rejected() {
    let case = Case::new(false);
    let honest = case.honest_opening();
    let half = honest.rows[0].parts.map(|p| p / 2);
    let mut opening = honest.clone();
    for (p, h) in opening.rows[0].parts.iter_mut().zip(half) {
        *p -= h;
    }
    let (mut trace, statement) = case.trace(&opening);
    let (first, _) = chain_rows(&trace, &statement, opening.rows.len());
    let hidden = TotalsOpening { cap_salt: [Felt::new(1), Felt::new(2), Felt::new(3)], rows: vec![TotalsRow { parts: half, ..honest.rows[0] }] };
    let inputs = chain_inputs(hidden.first_capacity(), &rates(&hidden));
    write_rows(&mut trace, false, first - 5, &inputs);
    assert_breaks_exactly(trace, &statement, &[2]);
}

/// [C3] The chain started from another capacity tag (the leaf tag): commitment recomputed.
#[test]
fn a_chain_started_from_another_tag_is_rejected() {
    let case = Case::new(false);
    let opening = case.honest_opening();
    let (mut trace, statement) = case.trace(&opening);
    let (first, _) = chain_rows(&trace, &statement, opening.rows.len());
    let mut capacity = opening.first_capacity();
    capacity[0] = Felt::new(crate::hash::LEAF_TAG);
    assert_ne!(crate::hash::LEAF_TAG, TOTALS_TAG);
    let c = write_rows(&mut trace, false, first, &chain_inputs(capacity, &rates(&opening)));
    assert_breaks_exactly(trace, &with_commitment(&statement, c), &[3]);
}

/// [C4] The chain started at the second tag (asset 1's total left out).
#[test]
fn a_chain_started_past_the_first_tag_is_rejected() {
    let case = Case::new(false);
    let mut opening = case.honest_opening();
    opening.rows.remove(0);
    let (trace, statement) = case.trace(&opening);
    assert_breaks_exactly(trace, &statement, &[4]);
}

/// [C5] The chain started with kind 1 (each later kind consistent with it): asset 1's equity
/// consumed as if it were debt. Proved once; with margin the same constraint breaks.
#[test]
fn a_chain_started_with_kind_one_is_rejected() {
    for margin in [false, true] {
        let case = Case::new(margin);
        let mut opening = case.honest_opening();
        opening.rows[0].kind = 1;
        if margin {
            for row in opening.rows.iter_mut().skip(1) {
                row.kind = 1 - row.kind;
            }
        }
        let (trace, statement) = case.trace(&opening);
        if margin {
            assert_violates_exactly(&trace, &statement, &[5]);
        } else {
            assert_breaks_exactly(trace, &statement, &[5]);
        }
    }
}

/// [C6–C9] A row whose capacity does not continue the previous row's (each element in turn).
#[test]
fn a_capacity_not_carried_along_the_chain_is_rejected() {
    let case = Case::new(true);
    let opening = case.honest_opening();
    for c in 0..4 {
        let (mut trace, statement) = case.trace(&opening);
        let (first, _) = chain_rows(&trace, &statement, opening.rows.len());
        let mut inputs = chain_inputs(opening.first_capacity(), &rates(&opening));
        // row 2 starts from a changed capacity; the rows after it chain on from there
        inputs[2][c] += Felt::ONE;
        let mut capacity: [Felt; 4] = permutation_states(inputs[2])[NUM_ROUNDS][..4].try_into().unwrap();
        for input in inputs.iter_mut().skip(3) {
            input[..4].copy_from_slice(&capacity);
            capacity.copy_from_slice(&permutation_states(*input)[NUM_ROUNDS][..4]);
        }
        let commitment = write_rows(&mut trace, true, first, &inputs);
        assert_breaks_exactly(trace, &with_commitment(&statement, commitment), &[6 + c]);
    }
}

/// [C10] A tag skipped (asset 2's total left out), and one tag's total split over two rows
/// (the second part invisible to an aggregation that reads one row per tag). The skip is
/// proved; the other variants break the same constraint, row by row.
#[test]
fn a_chain_that_skips_or_repeats_a_tag_is_rejected() {
    let case = Case::new(false);
    let mut skipped = case.honest_opening();
    skipped.rows.remove(1);
    let (trace, statement) = case.trace(&skipped);
    assert_breaks_exactly(trace, &statement, &[10]);

    let mut split = case.honest_opening();
    let half = split.rows[0].parts.map(|p| p / 2);
    for (p, h) in split.rows[0].parts.iter_mut().zip(half) {
        *p -= h;
    }
    let second = TotalsRow { parts: half, ..split.rows[0] };
    split.rows.insert(1, second);
    let (trace, statement) = case.trace(&split);
    assert_violates_exactly(&trace, &statement, &[10]);

    // with margin, two tags skipped keep the kinds alternating: still [C10]
    let case = Case::new(true);
    let mut skipped = case.honest_opening();
    skipped.rows.drain(1..3);
    let (trace, statement) = case.trace(&skipped);
    assert_violates_exactly(&trace, &statement, &[10]);
}

/// [C11] A row of the wrong kind mid-chain: an equity total consumed as debt (version 2,
/// proved), a debt total as equity (margin, row by row).
#[test]
fn a_totals_row_of_the_wrong_kind_is_rejected() {
    for (margin, row) in [(false, 2), (true, 1)] {
        let case = Case::new(margin);
        let mut opening = case.honest_opening();
        opening.rows[row].kind = 1 - opening.rows[row].kind;
        let (trace, statement) = case.trace(&opening);
        if margin {
            assert_violates_exactly(&trace, &statement, &[11]);
        } else {
            assert_breaks_exactly(trace, &statement, &[11]);
        }
    }
}

/// [C-B0] The chain's rows left unflagged (their hash columns kept): nothing consumes the
/// totals and no chain is proven; only `TOT[L] = 1` catches it among the constraints.
#[test]
fn a_trace_without_totals_rows_is_rejected() {
    let case = Case::new(false);
    let (mut trace, statement) = case.honest();
    let t = committed::reserved_rows(ASSETS, false);
    let (first, last) = chain_rows(&trace, &statement, t);
    for r in first..=last {
        trace.set(tot(false), r, Felt::ZERO);
    }
    assert_breaks_exactly(trace, &statement, &[100]);
}

/// [C-B1] The chain one row short (the unheld asset's zero total left out): proved with
/// margin, row by row without.
#[test]
fn a_chain_ending_before_the_last_tag_is_rejected() {
    for margin in [false, true] {
        let case = Case::new(margin);
        let mut opening = case.honest_opening();
        opening.rows.pop();
        let (trace, statement) = case.trace(&opening);
        if margin {
            assert_breaks_exactly(trace, &statement, &[101]);
        } else {
            assert_violates_exactly(&trace, &statement, &[101]);
        }
    }
}

/// [C-B2–C-B5] The statement publishing another commitment, one element at a time (each
/// proved); and the commitment of other totals (every element, row by row).
#[test]
fn a_commitment_other_than_the_chain_reaches_is_rejected() {
    let case = Case::new(false);
    let (_, statement) = case.honest();
    for i in 0..4 {
        let (trace, _) = case.honest();
        let mut c = statement.inputs.commitment;
        c[i] += Felt::ONE;
        assert_breaks_exactly(trace, &with_commitment(&statement, c), &[102 + i]);
    }
    let mut other = case.honest_opening();
    other.rows[0].parts[1] += 1;
    let (trace, _) = case.honest();
    assert_violates_exactly(&trace, &with_commitment(&statement, other.commitment()), &[102, 103, 104, 105]);
}

/// [C-P] The last totals row's output set to another commitment without permuting: only the
/// permutation constraints (now gated by `ℓ + d + TOT`) catch it.
#[test]
fn a_totals_row_that_is_no_permutation_is_rejected() {
    let case = Case::new(false);
    let (mut trace, statement) = case.honest();
    let (_, last) = chain_rows(&trace, &statement, 1);
    let forged = digest(42);
    for (i, &v) in forged.iter().enumerate() {
        trace.set(state(NUM_ROUNDS, 4 + i), last, v);
    }
    let statement = with_commitment(&statement, forged);
    let (others, ours) = violations(&trace, &statement);
    assert!(ours.is_empty(), "{ours:?}");
    let permutation = crate::air::FIRST_ROUND_CONSTRAINT..NUM_MAIN_CONSTRAINTS;
    assert!(!others.is_empty() && others.iter().all(|c| permutation.contains(c)), "{others:?}");
    assert_rejected(trace, &statement);
}

/// The rate's layout as the AIR reads it: tag, kind, the parts, the salt.
#[test]
fn the_totals_rate_is_read_where_the_chain_writes_it() {
    let case = Case::new(true);
    let opening = case.honest_opening();
    let (trace, statement) = case.trace(&opening);
    let (first, _) = chain_rows(&trace, &statement, opening.rows.len());
    for (k, row) in opening.rows.iter().enumerate() {
        assert_eq!(trace.get(totals_rate(RATE_TAG), first + k), Felt::from(row.tag));
        assert_eq!(trace.get(totals_rate(RATE_KIND), first + k), Felt::from(row.kind));
        for (i, &p) in row.parts.iter().enumerate() {
            assert_eq!(trace.get(totals_rate(RATE_PARTS + i), first + k), Felt::new(p));
        }
    }
}
