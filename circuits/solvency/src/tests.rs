//! Honest proofs verify; each dishonest trace, built to break one constraint, is rejected.
//!
//! Every dishonest test first shows which constraint its trace violates (evaluating the AIR's
//! own main constraints row by row, or showing that only the log-derivative sum is off), then
//! that the verifier rejects the proof made from it.

use std::collections::BTreeSet;

use super::*;
use crate::air::{FIRST_ROUND_CONSTRAINT, MAX_RANGE_BITS, NUM_MAIN_CONSTRAINTS};
use crate::hash::{permutation_states, Digest, NUM_ROUNDS, STATE_WIDTH};
use crate::layout::*;
use crate::prover::{build_trace_unchecked, SolvencyTrace, MAX_LOG_LDE};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement, StarkField};
use winterfell::{Air, EvaluationFrame, ProofOptions, Trace, TraceInfo};

fn digest(seed: u64) -> Digest {
    [Felt::new(seed), Felt::new(seed + 1), Felt::new(seed + 2), Felt::new(seed + 3)]
}

/// 16 leaves over 5 assets holding 0 to 6 entries each (1 to 2 blocks).
fn sample_leaves() -> Vec<Leaf> {
    (0..16usize)
        .map(|j| {
            let held = j % 7;
            let entries = (0..held)
                .map(|k| (1 + ((k * 3 + j) % 5) as u32, 1 + ((j * 7919 + k * 104_729) % 1_000_003) as u64))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect();
            Leaf { idc: digest(100 * j as u64), entries }
        })
        .collect()
}

fn params() -> StatementParams {
    StatementParams { num_assets: 5, range_bits: 62, assets_digest: digest(7), round_digest: digest(9) }
}

const SEED: [u8; 32] = [5; 32];

fn honest() -> (SolvencyTrace, PublicInputs) {
    build_trace(&sample_leaves(), &params(), &Security::Bits100.options(), SEED).unwrap()
}

fn prove_trace(trace: SolvencyTrace, pi: &PublicInputs) -> Proof {
    SolvencyProver::new(Security::Bits100.options(), pi.clone(), SEED).prove(trace).unwrap()
}

fn assert_rejected(trace: SolvencyTrace, pi: &PublicInputs) {
    let proof = prove_trace(trace, pi);
    let result = verify(proof, pi.clone(), 100);
    assert!(matches!(result, Err(CircuitError::Rejected(_))), "expected rejection, got {result:?}");
}

/// `(constraint, row)` of every violated main transition constraint, and `(1000 + i, step)`
/// for every failed main assertion `Bi`.
fn main_violations(trace: &SolvencyTrace, pi: &PublicInputs) -> BTreeSet<(usize, usize)> {
    let air = SolvencyAir::new(trace.info().clone(), pi.clone(), Security::Bits100.options());
    let mut out = BTreeSet::new();
    let mut frame = EvaluationFrame::<Felt>::new(MAIN_WIDTH);
    let mut result = vec![Felt::ZERO; NUM_MAIN_CONSTRAINTS];
    for row in 0..trace.length() - 1 {
        trace.read_main_frame(row, &mut frame);
        air.evaluate_transition(&frame, &[], &mut result);
        out.extend(result.iter().enumerate().filter(|(_, v)| **v != Felt::ZERO).map(|(c, _)| (c, row)));
    }
    for (i, a) in air.get_assertions().iter().enumerate() {
        if trace.get(a.column(), a.first_step()) != a.values()[0] {
            out.insert((1000 + i, a.first_step()));
        }
    }
    out
}

fn constraints(v: &BTreeSet<(usize, usize)>) -> BTreeSet<usize> {
    v.iter().map(|&(c, _)| c).collect()
}

/// Rows of leaf `j` (in trace order) and of each internal node.
fn leaf_rows(trace: &SolvencyTrace, j: usize) -> Vec<usize> {
    let idx = Felt::new(16 + j as u64);
    (0..trace.length())
        .filter(|&r| trace.get(SEL, r) == Felt::ONE && trace.get(IDX, r) == idx && trace.get(NODE, r) == Felt::ZERO)
        .collect()
}

fn node_row(trace: &SolvencyTrace, idx: u64) -> usize {
    (0..trace.length())
        .find(|&r| trace.get(NODE, r) == Felt::ONE && trace.get(IDX, r) == Felt::new(idx) && trace.get(SEL, r) == Felt::ONE)
        .unwrap()
}

/// Rewrites a row's hash columns from a new permutation input, keeping the row self-consistent.
fn rehash_row(trace: &mut SolvencyTrace, row: usize, input: [Felt; STATE_WIDTH]) {
    let states = permutation_states(input);
    for (s, values) in states.iter().enumerate() {
        for (c, &v) in values.iter().enumerate() {
            trace.set(state(s, c), row, v);
        }
    }
}

fn row_input(trace: &SolvencyTrace, row: usize) -> [Felt; STATE_WIDTH] {
    core::array::from_fn(|c| trace.get(state(0, c), row))
}

// -- honest proofs -------------------------------------------------------------------------------

#[test]
fn honest_proof_verifies_and_totals_are_exact() {
    let leaves = sample_leaves();
    let (proof, pi) = prove(&leaves, &params(), Security::Bits100, SEED).unwrap();
    for k in 0..5u32 {
        let expected: u128 =
            leaves.iter().flat_map(|l| l.entries.iter()).filter(|e| e.0 == k + 1).map(|e| e.1 as u128).sum();
        assert_eq!(pi.total(k as usize), expected);
    }
    assert_eq!(estimate(&proof, 5).conjectured, 103);
    verify(proof, pi, 100).unwrap();
}

#[test]
fn honest_trace_satisfies_every_main_constraint() {
    let (trace, pi) = honest();
    assert_eq!(main_violations(&trace, &pi), BTreeSet::new());
}

#[test]
fn totals_at_the_bound_are_exact_beyond_2_64() {
    // every leaf holds the largest amount of asset 1: the total needs 66 bits
    let max = (1u64 << 62) - 1;
    let leaves: Vec<Leaf> = (0..16).map(|j| Leaf { idc: digest(j), entries: vec![(1, max), (2, 1)] }).collect();
    let (proof, pi) = prove(&leaves, &params(), Security::Bits100, SEED).unwrap();
    assert_eq!(pi.total(0), 16 * max as u128);
    assert!(pi.total(0) > u64::MAX as u128);
    assert_eq!(pi.total(1), 16);
    verify(proof, pi, 100).unwrap();
}

#[test]
fn cubic_preset_gives_128_bits() {
    let leaves: Vec<Leaf> = (0..2).map(|j| Leaf { idc: digest(j), entries: vec![(1, 5)] }).collect();
    let (proof, pi) = prove(&leaves, &params(), Security::Bits128, SEED).unwrap();
    assert_eq!(estimate(&proof, 5).conjectured, 128);
    verify(proof, pi, 128).unwrap();
}

#[test]
fn verifier_enforces_its_own_minimum() {
    let leaves: Vec<Leaf> = (0..2).map(|j| Leaf { idc: digest(j), entries: vec![] }).collect();
    let (proof, pi) = prove(&leaves, &params(), Security::Bits100, SEED).unwrap();
    let result = verify(proof, pi, 120);
    assert!(matches!(result, Err(CircuitError::InsufficientSecurity { required: 120, .. })));
}

#[test]
fn out_of_range_and_unknown_assets_are_refused_before_proving() {
    let mut leaves = sample_leaves();
    leaves[3].entries = vec![(1, 1u64 << 62)];
    assert!(matches!(prove(&leaves, &params(), Security::Bits100, SEED), Err(CircuitError::OutOfRange { .. })));
    leaves[3].entries = vec![(6, 1)];
    assert!(matches!(prove(&leaves, &params(), Security::Bits100, SEED), Err(CircuitError::UnknownAsset { .. })));
    let mut p = params();
    p.range_bits = MAX_RANGE_BITS + 1;
    assert!(matches!(prove(&sample_leaves(), &p, Security::Bits100, SEED), Err(CircuitError::RangeBits(64))));
}

#[test]
fn blinding_rows_hide_the_witness_and_depend_on_the_seed() {
    let options = Security::Bits100.options();
    let (a, _) = build_trace(&sample_leaves(), &params(), &options, [1; 32]).unwrap();
    let (b, _) = build_trace(&sample_leaves(), &params(), &options, [2; 32]).unwrap();
    let n = a.length();
    let first_blind = n - options::blinding_rows(&options, n);
    for row in [first_blind, n - 1] {
        assert_eq!(a.get(SEL, row), Felt::ZERO);
        let differing = (1..MAIN_WIDTH).filter(|&c| a.get(c, row) != b.get(c, row)).count();
        assert_eq!(differing, MAIN_WIDTH - 1, "every column but SEL is random on blinding rows");
    }
    // real rows do not depend on the seed
    assert!((0..first_blind).all(|r| (0..MAIN_WIDTH).all(|c| a.get(c, r) == b.get(c, r))));
}

// -- dishonest traces, one per property ------------------------------------------------------

#[test]
fn balance_of_p_minus_one_is_rejected_by_the_range_check() {
    // p − 1 = 2^64 − 2^32: its limbs are 12-bit, but the top one (15) exceeds the 2^62 bound
    let mut leaves = sample_leaves();
    leaves[5].entries = vec![(1, Felt::MODULUS - 1)];
    let (trace, pi) = build_trace_unchecked(&leaves, &params(), &Security::Bits100.options(), SEED).unwrap();
    assert_eq!(main_violations(&trace, &pi), BTreeSet::new(), "only the range lookup can catch it");
    assert_rejected(trace, &pi);
}

#[test]
fn wrong_total_is_rejected() {
    let (trace, mut pi) = honest();
    pi.totals[2][0] += Felt::ONE;
    assert_rejected(trace, &pi);
}

#[test]
fn total_moved_between_parts_is_rejected() {
    // the integer total is unchanged, but the parts are what the circuit sums
    let leaves: Vec<Leaf> = (0..2).map(|j| Leaf { idc: digest(j), entries: vec![(1, 3 << 48)] }).collect();
    let (trace, mut pi) = build_trace(&leaves, &params(), &Security::Bits100.options(), SEED).unwrap();
    let honest_total = pi.total(0);
    pi.totals[0][1] += Felt::new(1 << 24);
    pi.totals[0][2] -= Felt::ONE;
    assert_eq!(pi.total(0), honest_total);
    assert_rejected(trace, &pi);
}

#[test]
fn leaf_not_in_the_tree_is_rejected() {
    // leaf 3's rows are replaced by those of another, well-hashed leaf with the same entries
    let (mut trace, pi) = honest();
    let mut other = sample_leaves();
    other[3].idc = digest(999_999);
    let (forged, _) = build_trace(&other, &params(), &Security::Bits100.options(), SEED).unwrap();
    for row in leaf_rows(&trace, 3) {
        for c in 0..MAIN_WIDTH {
            trace.set(c, row, forged.get(c, row));
        }
    }
    assert_eq!(main_violations(&trace, &pi), BTreeSet::new(), "only the tree bus can catch it");
    assert_rejected(trace, &pi);
}

#[test]
fn nonzero_padding_leaf_is_rejected() {
    // leaf 0 holds nothing (a padding leaf); give it a balance the public totals do not count
    let leaves = sample_leaves();
    assert!(leaves[0].entries.is_empty());
    let mut padded = leaves.clone();
    padded[0].entries = vec![(4, 1_000)];
    let (_, honest_pi) = build_trace(&leaves, &params(), &Security::Bits100.options(), SEED).unwrap();
    let (trace, mut pi) = build_trace(&padded, &params(), &Security::Bits100.options(), SEED).unwrap();
    pi.totals = honest_pi.totals.clone();
    assert_rejected(trace, &pi);
}

#[test]
fn changed_root_is_rejected() {
    let (trace, mut pi) = honest();
    pi.root[1] += Felt::ONE;
    assert_rejected(trace, &pi);
}

#[test]
fn limb_outside_the_table_is_rejected() {
    // amount = l0 + 2^12·l1 with l0 = 2^12 + a, l1 = b − 1: same amount, a limb of 13 bits
    let (mut trace, pi) = honest();
    let row = leaf_rows(&trace, 6)[1];
    let (l0, l1) = (trace.get(limb(0, 0), row), trace.get(limb(0, 1), row));
    assert!(l1 != Felt::ZERO, "fixture: the amount must have a non-zero second limb");
    trace.set(limb(0, 0), row, l0 + Felt::new(1 << LIMB_BITS));
    trace.set(limb(0, 1), row, l1 - Felt::ONE);
    assert_eq!(main_violations(&trace, &pi), BTreeSet::new(), "only the range lookup can catch it");
    assert_rejected(trace, &pi);
}

/// Applies `mutate`, checks that constraint `expected` is among those it breaks, and that the
/// proof is rejected.
fn breaks(expected: usize, mutate: impl FnOnce(&mut SolvencyTrace)) {
    let (mut trace, pi) = honest();
    mutate(&mut trace);
    let violated = constraints(&main_violations(&trace, &pi));
    assert!(violated.contains(&expected), "expected constraint {expected} among {violated:?}");
    assert_rejected(trace, &pi);
}

#[test]
fn sel_must_be_ones_then_zeros() {
    breaks(1, |t| t.set(SEL, 40, Felt::ZERO)); // [T1]
}

#[test]
fn sel_boundary_is_fixed() {
    let (trace, pi) = honest();
    let last = trace.length() - options::blinding_rows(&Security::Bits100.options(), trace.length()) - 1;
    breaks(1000 + 2, |t| t.set(SEL, last + 1, Felt::ONE)); // [B2]
    let _ = pi;
}

#[test]
fn flags_must_be_binary() {
    breaks(2, |t| t.set(FIRST, 0, Felt::new(2))); // [T2]
}

#[test]
fn a_row_has_one_kind() {
    breaks(6, |t| t.set(CONT, 0, Felt::ONE)); // [T6]
}

#[test]
fn only_leaves_end() {
    let (trace, _) = honest();
    let row = node_row(&trace, 5);
    breaks(9, |t| t.set(END, row, Felt::ONE)); // [T9]
}

#[test]
fn continuation_follows_an_unfinished_leaf() {
    // leaf 6 has two blocks; ending it after the first leaves an orphan continuation
    let (trace, _) = honest();
    let row = leaf_rows(&trace, 6)[0];
    breaks(10, |t| t.set(END, row, Felt::ONE)); // [T10]
}

#[test]
fn unfinished_leaf_must_continue() {
    // leaf 6's continuation turned into a new leaf
    let (trace, _) = honest();
    let row = leaf_rows(&trace, 6)[1];
    breaks(14, |t| {
        t.set(CONT, row, Felt::ZERO);
        t.set(FIRST, row, Felt::ONE);
    }); // [T14]
}

#[test]
fn node_indices_step_down() {
    let (trace, _) = honest();
    let row = node_row(&trace, 7);
    breaks(15, |t| t.set(IDX, row, Felt::new(8))); // [T15]
}

#[test]
fn table_steps_by_zero_or_one() {
    breaks(16, |t| t.set(TABLE, 100, Felt::new(102))); // [T16]
}

#[test]
fn continuation_carries_the_capacity() {
    let (trace, _) = honest();
    let row = leaf_rows(&trace, 6)[1];
    breaks(17 + 2, |t| {
        let mut input = row_input(t, row);
        input[2] += Felt::ONE;
        rehash_row(t, row, input);
    }); // [T19]
}

#[test]
fn leaf_starts_from_its_tag() {
    let (trace, _) = honest();
    let row = leaf_rows(&trace, 1)[0];
    breaks(21 + 1, |t| {
        let mut input = row_input(t, row);
        input[1] = Felt::new(5);
        rehash_row(t, row, input);
    }); // [T22]
}

#[test]
fn node_starts_from_its_tag() {
    let (trace, _) = honest();
    let row = node_row(&trace, 3);
    breaks(25, |t| {
        let mut input = row_input(t, row);
        input[0] = Felt::new(hash::LEAF_TAG);
        rehash_row(t, row, input);
    }); // [T25]
}

#[test]
fn absorbed_amount_equals_its_limbs() {
    let (trace, _) = honest();
    let row = leaf_rows(&trace, 6)[1];
    breaks(29 + 1, |t| t.set(limb(1, 0), row, t.get(limb(1, 0), row) + Felt::ONE)); // [T30]
}

#[test]
fn permutation_rounds_are_enforced() {
    let (trace, _) = honest();
    let row = node_row(&trace, 2);
    // state 3 is the output of round 2 (constraint 33 + 2·12 + c) and the input of round 3
    breaks(FIRST_ROUND_CONSTRAINT + 2 * STATE_WIDTH + 5, |t| t.set(state(3, 5), row, t.get(state(3, 5), row) + Felt::ONE));
    assert_eq!(NUM_MAIN_CONSTRAINTS, FIRST_ROUND_CONSTRAINT + NUM_ROUNDS * STATE_WIDTH);
}

#[test]
fn limbs_above_a_smaller_bound_are_zero() {
    // with R = 40 the top limb is limb 3; limb 4 must be zero even though it is a valid 12-bit value
    let mut p = params();
    p.range_bits = 40;
    let (mut trace, pi) = build_trace(&sample_leaves(), &p, &Security::Bits100.options(), SEED).unwrap();
    let row = node_row(&trace, 4);
    trace.set(limb(2, 4), row, Felt::ONE);
    assert_eq!(main_violations(&trace, &pi), BTreeSet::new(), "only the bound lookup can catch it");
    assert_rejected(trace, &pi);
}

#[test]
fn one_declared_degree_per_constraint() {
    let (trace, pi) = honest();
    let air = SolvencyAir::new(trace.info().clone(), pi, Security::Bits100.options());
    assert_eq!(air.context().num_main_transition_constraints(), NUM_MAIN_CONSTRAINTS);
    assert_eq!(air.context().num_aux_transition_constraints(), crate::air::NUM_AUX_CONSTRAINTS);
}

// -- security figures ----------------------------------------------------------------------------

/// `log2` of the longest trace these options can prove: `n · blowup ≤ 2^31`.
fn max_log_rows(options: &ProofOptions) -> u32 {
    MAX_LOG_LDE - options.blowup_factor().ilog2()
}

/// `proof` with its context claiming `2^log_rows` trace rows (byte 3 of a winterfell proof:
/// main width, auxiliary width, challenges, then `log2` of the trace length).
fn with_trace_length(proof: &Proof, log_rows: u8) -> Proof {
    let mut bytes = proof.to_bytes();
    assert_eq!(bytes[3] as u32, proof.trace_info().length().ilog2());
    bytes[3] = log_rows;
    Proof::from_bytes(&bytes).unwrap()
}

/// winterfell's own conjectured figure (version 1 printed it) for these options and length.
fn winterfell_conjectured(options: &ProofOptions, rows: usize) -> u32 {
    let mut proof = Proof::new_dummy();
    let info = TraceInfo::new_multi_segment(MAIN_WIDTH, AUX_WIDTH, NUM_AUX_RANDS, rows, vec![]);
    proof.context = winter_air::proof::Context::new::<Felt>(info, options.clone(), 1);
    proof.conjectured_security::<prover::HashFn>().bits()
}

#[test]
fn every_preset_keeps_its_figure_at_every_supported_size() {
    for (preset, bits) in [(Security::Bits100, 103), (Security::Bits128, 128)] {
        let options = preset.options();
        for log_rows in 13..=max_log_rows(&options) {
            for assets in [1, 22, 65_536] {
                let e = estimate_for(&options, 1 << log_rows, assets);
                assert_eq!(e.conjectured, bits, "preset {} at 2^{log_rows} rows", preset.name());
                assert!(e.proven < e.conjectured);
            }
        }
    }
}

#[test]
fn the_v1_figure_falls_below_the_old_constant_as_the_trace_grows() {
    let (_, v1) = options::legacy_options()[0].clone();
    assert!(options::accepted(&v1) && Security::of(&v1).is_none(), "version 1 proofs stay readable, not makeable");
    assert_ne!(v1, Security::Bits100.options(), "new proofs use the new options");
    for log_rows in 13..=max_log_rows(&v1) {
        let rows = 1usize << log_rows;
        let ours = estimate_for(&v1, rows, 5).conjectured;
        // version 1 printed winterfell's figure, the same at every size
        assert_eq!(winterfell_conjectured(&v1, rows), 103);
        assert!(ours <= 103);
        // the bus and DEEP terms cost a bit per doubling once they dominate
        assert_eq!(ours >= 100, log_rows <= 21, "2^{log_rows} rows: {ours} bits");
    }
    assert!(estimate_for(&v1, 1 << 28, 5).conjectured < 100);
}

#[test]
fn the_figure_never_grows_with_the_trace_and_never_exceeds_a_term() {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use winterfell::{BatchingMethod, FieldExtension};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let mut pick = |lo: u64, hi: u64| lo + rng.next_u64() % (hi - lo + 1);
    for _ in 0..200 {
        let ext = [FieldExtension::None, FieldExtension::Quadratic, FieldExtension::Cubic][pick(0, 2) as usize];
        let options = ProofOptions::new(
            pick(1, 255) as usize,
            1 << pick(1, 7),
            pick(0, 32) as u32,
            ext,
            1 << pick(1, 4),
            (1 << pick(0, 8)) - 1,
            BatchingMethod::Linear,
            BatchingMethod::Linear,
        );
        let terms_per_row = pick(1, 200);
        let bus = BusShape {
            terms_per_row,
            pole_degree_per_row: pick(terms_per_row, 10 * terms_per_row),
            public_terms: pick(1, 70_000),
            public_pole_degree: pick(1, 140_000),
            numerator_degree: pick(0, 6),
        };
        let mut previous = u32::MAX;
        for log_rows in 3..=max_log_rows(&options) {
            let info = TraceInfo::new_multi_segment(MAIN_WIDTH, AUX_WIDTH, NUM_AUX_RANDS, 1 << log_rows, vec![]);
            let e = security::estimate::<prover::HashFn>(&options, &info, 100, &bus);
            let t = e.terms;
            let least = t.field.min(t.queries).min(t.deep).min(t.bus);
            let c = e.conjectured as f64;
            assert!(e.conjectured <= previous, "{options:?} {bus:?}: grew at 2^{log_rows}");
            assert!(e.conjectured <= t.hash && (c < least || e.conjectured == 0), "{options:?} {bus:?} 2^{log_rows}");
            // the union of four errors costs at most two bits, the rounding one more
            assert!(c >= (least.min(t.hash as f64) - 3.0).floor(), "{options:?} {bus:?} 2^{log_rows}");
            assert!((e.proven as f64) < t.bus.max(1.0));
            previous = e.conjectured;
        }
    }
}

#[test]
fn an_lde_domain_of_2_32_is_refused_by_the_shape_check() {
    let leaves: Vec<Leaf> = (0..2).map(|j| Leaf { idc: digest(j), entries: vec![(1, 5)] }).collect();
    for preset in Security::ALL {
        let (proof, pi) = prove(&leaves, &params(), preset, SEED).unwrap();
        let largest = max_log_rows(&preset.options()) as u8;
        // n · blowup = 2^32: winterfell cannot hold the domain (it panicked building the AIR)
        let over = with_trace_length(&proof, largest + 1);
        match check_shape(&over, &pi) {
            Err(CircuitError::Shape(m)) => assert!(m.contains("at most"), "{m}"),
            other => panic!("expected a shape error, got {other:?}"),
        }
        assert!(matches!(verify(over, pi.clone(), 100), Err(CircuitError::Shape(_))));
        // n · blowup = 2^31 is a shape winterfell takes: the forged length is then rejected
        let largest = with_trace_length(&proof, largest);
        check_shape(&largest, &pi).unwrap();
        assert!(matches!(verify(largest, pi, 100), Err(CircuitError::Rejected(_))));
    }
}

#[test]
fn a_v1_proof_below_the_minimum_by_the_new_figure_is_refused() {
    let (_, v1) = options::legacy_options()[0].clone();
    let (trace, pi) = build_trace(&sample_leaves(), &params(), &v1, SEED).unwrap();
    let proof = SolvencyProver::new(v1, pi.clone(), SEED).prove(trace).unwrap();
    // at its own size a version-1 proof keeps 103 bits and verifies
    assert_eq!(estimate(&proof, 5).conjectured, 103);
    verify(proof.clone(), pi.clone(), 100).unwrap();
    // the same options over 2^22 rows carry 99 bits, which winterfell's figure (103) hid
    let long = with_trace_length(&proof, 22);
    assert_eq!(long.conjectured_security::<prover::HashFn>().bits(), 103);
    match verify(long, pi, 100) {
        Err(CircuitError::InsufficientSecurity { required: 100, actual: 99 }) => {},
        other => panic!("expected a refusal for 99 bits, got {other:?}"),
    }
}

#[test]
fn the_bus_shape_counts_every_term_of_a_row() {
    let bus = crate::air::bus_shape(5);
    assert_eq!(bus.terms_per_row, NUM_TERMS as u64);
    // 28 range lookups, 4 asset terms and the table (one value each), 3 tree messages of 5
    assert_eq!(bus.pole_degree_per_row, 28 + 4 + 1 + 3 * 5);
    assert_eq!((bus.public_terms, bus.public_pole_degree, bus.numerator_degree), (6, 10, 2));
}
