//! Honest forests verify and rebuild the round root; each dishonest trace, built to break one
//! constraint or one bus, is rejected.
//!
//! Every dishonest test first shows which constraint its trace violates (evaluating the AIR's
//! main constraints row by row), or that none is (only a bus is off), then that the verifier
//! rejects the proof made from it.

use std::collections::BTreeSet;

use super::*;
use crate::air::{combine_parts, total_words, NUM_MAIN_CONSTRAINTS};
use crate::forest::round_root;
use crate::hash::{leaf_digest, LOW_BITS, TAG_BITS};
use crate::layout::*;
use crate::prover::{amount_limbs, build_trace_unchecked, LiabilitiesTrace};
use stark_por_solvency::hash::{merkle_tree, Digest};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement, StarkField};
use winterfell::{Air, EvaluationFrame, Trace};

const SEED: [u8; 32] = [5; 32];
const MAX: u128 = (1 << 112) - 1;

fn digest(seed: u64) -> Digest {
    [Felt::new(seed), Felt::new(seed + 1), Felt::new(seed + 2), Felt::new(seed + 3)]
}

/// `n` leaves over 5 assets holding 0 to 6 entries each, amounts from dust to `2^112 − 1`
/// (an 18-decimal whale), several around the 62-bit split.
fn sample_leaves(n: usize) -> Vec<Leaf> {
    let amounts = [1u128, 999, (1 << 62) - 1, 1 << 62, (1 << 62) + 7, 5 * 10u128.pow(18), 1 << 64, 3 << 100, MAX];
    (0..n)
        .map(|j| {
            let held = j % 7;
            let mut assets: Vec<u32> = (0..held).map(|k| 1 + ((k * 3 + j) % 5) as u32).collect();
            assets.sort();
            assets.dedup();
            let entries = assets
                .iter()
                .enumerate()
                .map(|(k, &a)| Entry::equity(a, amounts[(j * 5 + k) % amounts.len()]))
                .collect();
            Leaf { idc: digest(100 * j as u64), entries }
        })
        .collect()
}

fn params(range_bits: u32) -> StatementParams {
    StatementParams { num_assets: 5, range_bits, assets_digest: digest(7), round_digest: digest(9) }
}

fn honest(leaves: &[Leaf], forest: Forest) -> (LiabilitiesTrace, PublicInputs) {
    let (trace, pi, _) = build_trace(leaves, forest, &params(112), &Security::Bits100.options(), SEED).unwrap();
    (trace, pi)
}

fn prove_trace(trace: LiabilitiesTrace, pi: &PublicInputs) -> Proof {
    LiabilitiesProver::new(Security::Bits100.options(), pi.clone(), SEED).prove(trace).unwrap()
}

fn assert_rejected(trace: LiabilitiesTrace, pi: &PublicInputs) {
    let proof = prove_trace(trace, pi);
    let result = verify(proof, pi.clone(), 100);
    assert!(matches!(result, Err(CircuitError::Rejected(_))), "expected rejection, got {result:?}");
}

/// `(constraint, row)` of every violated main transition constraint, and `(1000 + i, step)`
/// for every failed main assertion `Bi`.
fn main_violations(trace: &LiabilitiesTrace, pi: &PublicInputs) -> BTreeSet<(usize, usize)> {
    let air = LiabilitiesAir::new(trace.info().clone(), pi.clone(), Security::Bits100.options());
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

fn row_where(trace: &LiabilitiesTrace, pred: impl Fn(usize) -> bool) -> usize {
    (0..trace.length()).find(|&r| trace.get(SEL, r) == Felt::ONE && pred(r)).expect("such a row")
}

fn big(words: &[u64]) -> (u128, u128) {
    // (low 128 bits, high 128 bits) of a little-endian word list of 4 words
    let low = words[0] as u128 | (words[1] as u128) << 64;
    let high = words[2] as u128 | (words[3] as u128) << 64;
    (low, high)
}

// -- honest proofs -------------------------------------------------------------------------------

#[test]
fn forests_of_a_partition_verify_and_rebuild_the_round_root() {
    let leaves = sample_leaves(32);
    let full = merkle_tree(&leaves.iter().map(|l| leaf_digest(&l.idc, &l.entries)).collect::<Vec<_>>());
    let cuts = [0u64, 11, 29, 32];
    let mut parts = Vec::new();
    for w in cuts.windows(2) {
        let forest = Forest::new(32, w[0], w[1]).unwrap();
        let slice = &leaves[w[0] as usize..w[1] as usize];
        let (proof, pi, _) = prove(slice, forest, &params(112), Security::Bits100, SEED).unwrap();
        verify(proof, pi.clone(), 100).unwrap();
        // every forest root is the node of the full tree at that index
        for (&i, root) in forest.roots().iter().zip(&pi.roots) {
            assert_eq!(&full[i as usize], root);
        }
        parts.push((forest, pi.roots));
    }
    let parts: Vec<(Forest, &[Digest])> = parts.iter().map(|(f, r)| (*f, r.as_slice())).collect();
    assert_eq!(round_root(&parts).unwrap(), full[1]);
    // a partition with a gap or an overlap is refused
    assert!(round_root(&parts[..2]).is_err());
    assert!(round_root(&[parts[0], parts[0], parts[1], parts[2]]).is_err());
}

#[test]
fn a_whole_tree_proves_totals_exactly_at_the_bound() {
    // every leaf holds all five assets at 2^112 − 1: totals 16·(2^112 − 1), above 2^115
    let leaves: Vec<Leaf> = (0..16)
        .map(|j| Leaf { idc: digest(j), entries: (1..=5).map(|a| Entry::equity(a, MAX)).collect() })
        .collect();
    let (proof, pi, _) = prove(&leaves, Forest::whole(16).unwrap(), &params(112), Security::Bits100, SEED).unwrap();
    for k in 0..5 {
        let (low, high) = big(&total_words(&pi, k));
        let expected = 16 * MAX; // fits u128: 2^116
        assert_eq!((low, high), (expected, 0));
    }
    // the bus term counts this statement's poles: per row 57 terms of total degree 70; on the
    // verifier's side 5 assets, 1 root (a 5-tuple) and 5 level starts (pairs); numerators δ^4
    let n = proof.trace_info().length() as f64;
    let field = 64.0 * proof.options().field_extension().degree() as f64;
    let figures = verify(proof, pi, 100).unwrap();
    let numerator = (field - figures.terms.bus).exp2();
    assert!((numerator - (127.0 * n + 35.0)).abs() < 1e-3 * numerator, "{numerator} vs 127·{n} + 35");
    assert!(figures.conjectured >= 100 && figures.proven <= figures.conjectured);
}

#[test]
fn part_sums_combine_into_totals_beyond_2_128() {
    // 2^31 entries of 2^112 − 1 (the most a trace holds): each part sums to 2^31·(2^w − 1)
    let n = 1u64 << 31;
    let limbs = amount_limbs(MAX);
    let parts = crate::prover::amount_parts_of(MAX).map(|p| p * n);
    let words = combine_parts(&parts);
    // n·(2^112 − 1) = 2^143 − 2^31: bits 31..143 set
    let (low, high) = big(&words);
    assert_eq!(low, u128::MAX << 31);
    assert_eq!(high, (1u128 << 15) - 1);
    assert!(limbs.iter().all(|&l| l < 1 << LIMB_BITS));
}

#[test]
fn the_prover_refuses_what_the_statement_cannot_hold() {
    let forest = Forest::whole(2).unwrap();
    let opts = Security::Bits100.options();
    let leaf = |entries: Vec<Entry>| vec![Leaf { idc: digest(1), entries }, Leaf { idc: digest(2), entries: vec![] }];
    let cases = [
        (leaf(vec![Entry::equity(1, 1 << 62)]), 62),                          // at the bound
        (leaf(vec![Entry::equity(1, 1 << 112)]), 112),                        // beyond 112 bits
        (leaf(vec![Entry::equity(6, 1)]), 112),                               // unknown asset
        (leaf(vec![Entry { tag: 3, amount: 1 }]), 112),                       // a debt entry
        (leaf(vec![Entry::equity(2, 1), Entry::equity(1, 1)]), 112),          // unsorted
        (leaf(vec![Entry::equity(1, 0)]), 112),                               // an empty entry
    ];
    for (leaves, bits) in cases {
        assert!(build_trace(&leaves, forest, &params(bits), &opts, SEED).is_err(), "{leaves:?}");
    }
    assert!(Forest::new(16, 5, 5).is_err() && Forest::new(16, 0, 17).is_err() && Forest::new(12, 0, 1).is_err());
}

#[test]
fn forest_levels_and_roots_follow_the_range() {
    let f = Forest::new(16, 3, 13).unwrap();
    // leaves 19..29; height 1: nodes 10..14 (leaves 4..12); height 2: 5..7; height 3: none
    assert_eq!(f.levels(), vec![(10, 14), (5, 7)]);
    assert_eq!(f.roots(), vec![19, 5, 6, 28]);
    assert_eq!(f.level_starts(), vec![(28, 13), (10, 6), (5, 0)]);
    let whole = Forest::whole(8).unwrap();
    assert_eq!(whole.roots(), vec![1]);
    assert_eq!(whole.num_nodes(), 7);
}

// -- dishonest traces ----------------------------------------------------------------------------

/// The attack the tag lookup exists for: an amount `h·2^62` has `x₀ = 0`; splitting
/// `x₁ = tag + 2^13·h` as `(x₁, 0)` would sum nothing into an unlisted "tag" while the leaf
/// still shows the user their amount. Every main constraint holds; the range bus refuses.
#[test]
fn a_high_part_moved_into_the_tag_is_rejected() {
    let mut leaves = sample_leaves(8);
    leaves[1].entries = vec![Entry::equity(1, 5 << 62)];
    let (mut trace, mut pi) = {
        let (t, p, _) =
            build_trace_unchecked(&leaves, Forest::whole(8).unwrap(), &params(112), &Security::Bits100.options(), SEED)
                .unwrap();
        (t, p)
    };
    let row = row_where(&trace, |r| trace.get(IDX, r) == Felt::new(9));
    for i in LOW_LIMBS..LIMBS_PER_SLOT {
        trace.set(limb(2, i), row, Felt::ZERO);
    }
    // the totals the cheat would publish: asset 1 without the 5·2^62
    let parts = crate::prover::amount_parts_of(5 << 62);
    for (t, p) in pi.totals[0].iter_mut().zip(parts) {
        *t -= Felt::new(p);
    }
    assert!(main_violations(&trace, &pi).is_empty());
    assert!(trace.get(slot_high(2), row).as_int() >= 1 << TAG_BITS);
    assert_rejected(trace, &pi);
}

/// `x₀`'s five limbs have 65 bits of room: limbs summing to `x₀ + p` would move `p` into the
/// totals. The top-limb lookup (`8·l₄` in the table) refuses it.
#[test]
fn low_limbs_wrapping_the_modulus_are_rejected() {
    let mut leaves = sample_leaves(8);
    leaves[1].entries = vec![Entry::equity(1, 12345)];
    let (mut trace, mut pi, _) =
        build_trace_unchecked(&leaves, Forest::whole(8).unwrap(), &params(112), &Security::Bits100.options(), SEED)
            .unwrap();
    let row = row_where(&trace, |r| trace.get(IDX, r) == Felt::new(9));
    let wrapped = 12345u128 + Felt::MODULUS as u128;
    for i in 0..LOW_LIMBS {
        trace.set(limb(2, i), row, Felt::new(((wrapped >> (13 * i)) as u64) & 0x1fff));
    }
    assert!((wrapped >> 52) as u64 >= 1 << 10);
    pi.totals[0][2] += Felt::new((wrapped >> 52) as u64);
    pi.totals[0][0] += Felt::new((wrapped & ((1 << 26) - 1)) as u64) - Felt::new(12345);
    pi.totals[0][1] += Felt::new(((wrapped >> 26) & ((1 << 26) - 1)) as u64);
    assert!(main_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
}

#[test]
fn an_amount_at_the_range_bound_is_rejected() {
    let mut leaves = sample_leaves(8);
    leaves[2].entries = vec![Entry::equity(3, 1u128 << 80)];
    let (trace, pi, _) =
        build_trace_unchecked(&leaves, Forest::whole(8).unwrap(), &params(80), &Security::Bits100.options(), SEED)
            .unwrap();
    assert!(main_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
    assert_eq!(LOW_BITS, 62);
}

#[test]
fn a_total_off_by_one_in_any_part_is_rejected() {
    let leaves = sample_leaves(8);
    for part in [0, 3, 4] {
        let (trace, mut pi) = honest(&leaves, Forest::whole(8).unwrap());
        pi.totals[1][part] += Felt::ONE;
        assert_rejected(trace, &pi);
    }
}

#[test]
fn a_forest_root_or_range_other_than_proved_is_rejected() {
    let leaves = sample_leaves(16);
    let forest = Forest::new(16, 0, 11).unwrap();
    let (trace, mut pi) = honest(&leaves[..11], forest);
    pi.roots[1][0] += Felt::ONE;
    assert_rejected(trace, &pi);
    // the same leaves claimed as a range one leaf shorter (the last leaf dropped from the round)
    let (trace, mut pi) = honest(&leaves[..11], forest);
    pi.forest = Forest::new(16, 0, 10).unwrap();
    pi.roots = pi.forest.roots().iter().map(|_| digest(3)).collect();
    assert_rejected(trace, &pi);
}

/// A node row placed at another index of its level (its digest honest for its children): the
/// IDX walk [T15] breaks.
#[test]
fn a_node_out_of_its_level_walk_is_rejected() {
    let leaves = sample_leaves(16);
    let (mut trace, pi) = honest(&leaves, Forest::whole(16).unwrap());
    let row = row_where(&trace, |r| trace.get(NODE, r) == Felt::ONE && trace.get(IDX, r) == Felt::new(12));
    trace.set(IDX, row, Felt::new(11));
    assert!(constraints(&main_violations(&trace, &pi)).contains(&15));
    assert_rejected(trace, &pi);
}

/// A level start not flagged: where the next level's indices do not continue the walk, [T15]
/// breaks; where the next row is the first filler, [T19] does; where the indices happen to be
/// consecutive (a whole tree), no main constraint does, and the level bus misses the pair.
#[test]
fn a_level_start_left_unflagged_is_rejected() {
    let leaves = sample_leaves(16);
    let forest = Forest::new(16, 3, 13).unwrap();
    for (forest, idx, broken) in [(forest, 6, Some(15)), (forest, 0, Some(19)), (Forest::whole(16).unwrap(), 3, None)] {
        let (mut trace, pi) = honest(&leaves[forest.start as usize..forest.end as usize], forest);
        let row = row_where(&trace, |r| trace.get(LSTART, r) == Felt::ONE && trace.get(IDX, r) == Felt::new(idx));
        trace.set(LSTART, row, Felt::ZERO);
        let violated = constraints(&main_violations(&trace, &pi));
        match broken {
            Some(c) => assert!(violated.contains(&c), "{violated:?}"),
            None => assert!(violated.is_empty(), "{violated:?}"),
        }
        assert_rejected(trace, &pi);
    }
}

/// An extra level start in the middle of a level (to let IDX jump): every main constraint can
/// hold, but the level bus has a pair the verifier never listed.
#[test]
fn an_extra_level_start_is_rejected() {
    let leaves = sample_leaves(16);
    let (mut trace, pi) = honest(&leaves, Forest::whole(16).unwrap());
    let row = row_where(&trace, |r| trace.get(NODE, r) == Felt::ONE && trace.get(IDX, r) == Felt::new(6));
    trace.set(LSTART, row, Felt::ONE);
    trace.set(PREV, row, Felt::new(7));
    assert!(main_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
}

/// A leaf whose entry is changed after the fact, its row rehashed: the published leaf no longer
/// hashes into the tree the roots commit to (the tree bus is off).
#[test]
fn a_changed_balance_is_rejected() {
    let leaves = sample_leaves(8);
    let (mut trace, pi) = honest(&leaves, Forest::whole(8).unwrap());
    let row = row_where(&trace, |r| trace.get(FIRST, r) == Felt::ONE && trace.get(IDX, r) == Felt::new(8 + 2));
    let mut input: [Felt; 12] = core::array::from_fn(|c| trace.get(state(0, c), row));
    input[8] += Felt::ONE; // slot 2's low element
    let states = stark_por_solvency::hash::permutation_states(input);
    for (s, values) in states.iter().enumerate() {
        for (c, &v) in values.iter().enumerate() {
            trace.set(state(s, c), row, v);
        }
    }
    let limbs = amount_limbs(input[8].as_int() as u128);
    for (i, l) in limbs.iter().take(LOW_LIMBS).enumerate() {
        trace.set(limb(2, i), row, Felt::new(*l));
    }
    assert_rejected(trace, &pi);
}

/// Block counts of a W3-like round (entries per user `1 + Poisson(2)`, at most 22; mean 3),
/// padding leaves (no entries, one block) filling the power of two.
fn w3_like_blocks(users: usize, num_leaves: usize) -> Vec<u16> {
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let mut blocks = vec![1u16; num_leaves];
    for b in blocks.iter_mut().take(users) {
        // Poisson(2) by inversion
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let (mut k, mut p, mut cdf) = (0usize, (-2f64).exp(), (-2f64).exp());
        while u > cdf && k < 21 {
            k += 1;
            p *= 2.0 / k as f64;
            cdf += p;
        }
        *b = crate::hash::leaf_blocks(1 + k) as u16;
    }
    blocks
}

#[test]
fn a_plan_fills_every_trace_and_covers_the_round() {
    use stark_por_solvency::options::blinding_rows;
    let options = Security::Bits100.options();
    let trace = |log2: u32| 1usize << log2;
    let capacity = |log2: u32| (trace(log2) - blinding_rows(&options, trace(log2)) - 1) as u64;
    // capacities of 2^16, 2^15 and 2^14-row traces, as the core plans by default
    let capacities: Vec<u64> = (14..=16).rev().map(capacity).collect();
    for (users, num_leaves) in [(700_000usize, 1usize << 20), (100_000, 1 << 17), (16_384, 1 << 14), (10_000, 1 << 14), (3_000, 1 << 12)] {
        let blocks = w3_like_blocks(users, num_leaves);
        let forests = forest::plan(&blocks, &capacities).unwrap();
        // consecutive, covering [0, N')
        assert_eq!(forests[0].start, 0);
        assert!(forests.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(forests.last().unwrap().end, num_leaves as u64);
        // each forest's trace is the smallest that holds it; all together at least 85 % work
        // (a round that fits the smallest trace has nothing to choose: it takes that one)
        let (mut used_all, mut rows_all) = (0u64, 0u64);
        for f in &forests {
            let used = blocks[f.start as usize..f.end as usize].iter().map(|&b| b as u64).sum::<u64>() + f.num_nodes();
            let log2 = (14..=16).find(|&l| capacity(l) >= used).expect("fits the largest trace");
            used_all += used;
            rows_all += trace(log2) as u64;
        }
        let working = used_all as f64 / rows_all as f64;
        // from 2^14 users on, at least 85 % of all trace rows work; a smaller round takes no
        // more rows than its smallest single trace (10,000 users: 2^15 + 2^14 rows, 79 %)
        if let Some(single) = (14..=16).find(|&l| capacity(l) >= used_all) {
            assert!(rows_all <= trace(single) as u64, "{users} users: {rows_all} rows, one trace 2^{single}");
        }
        assert!(users < 1 << 14 || working >= 0.85, "{users} users: {working:.3} working");
    }
}

#[test]
fn a_plan_with_one_capacity_fills_it_to_the_end() {
    // one trace size (the tests' small capacities): every forest but the last holds as much as fits
    let blocks = vec![2u16; 1 << 10];
    let forests = forest::plan(&blocks, &[300]).unwrap();
    assert!(forests.len() > 1);
    for w in forests.windows(2) {
        let f = w[0];
        let used = |e: u64| 2 * (e - f.start) + Forest { end: e, ..f }.num_nodes();
        assert!(used(f.end) <= 300 && used(f.end + 1) > 300, "{f:?}");
    }
    assert!(forest::plan(&blocks, &[]).is_err());
}
