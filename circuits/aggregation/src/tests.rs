//! Aggregation proofs: honest rounds verify; inputs the proof cannot stand for are refused;
//! each forged trace (built to break one constraint, or only a bus) is rejected.
//!
//! Every forged trace first shows which main constraints or assertions it violates (the AIR
//! evaluated row by row), then that the verifier rejects the proof made from it.

use std::collections::BTreeSet;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use stark_por_liabilities::layout::{PARTS, PART_OFFSETS};
use stark_por_solvency::hash::{permutation_states, NUM_ROUNDS, STATE_WIDTH};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement, StarkField};
use winterfell::{Air, EvaluationFrame, Trace};

use super::*;
use crate::air::{assertion, index};
use crate::layout::*;
use crate::prover::{assemble, write_close_row, AggregationTrace};
use crate::totals::{carries, digits_of, total_bytes};

const SEED: [u8; 32] = [9; 32];
const MAX_AMOUNT: u128 = (1 << 112) - 1;

fn digest(seed: u64) -> Digest {
    [Felt::new(seed), Felt::new(seed + 1), Felt::new(seed + 2), Felt::new(seed + 3)]
}

/// A round: inputs and the openings behind them.
#[derive(Clone)]
struct Round {
    inputs: AggregationInputs,
    openings: Vec<TotalsOpening>,
}

/// Whether `total ≥ 2^bit`.
fn reaches(total: &[u8], bit: u32) -> bool {
    total.last().is_some_and(|&top| (total.len() as u32 - 1) * 8 + (8 - top.leading_zeros()) > bit)
}

fn add_bits(total: &[u8], bit: u32, sign: i8) -> Vec<u8> {
    // total ± 2^bit, exactly, as minimal bytes
    let mut words = [0u64; 4];
    for (k, &b) in total.iter().enumerate() {
        words[k / 8] |= (b as u64) << (8 * (k % 8));
    }
    let mut big = [0u128; 2];
    big[0] = words[0] as u128 | (words[1] as u128) << 64;
    big[1] = words[2] as u128 | (words[3] as u128) << 64;
    let add = if bit < 128 { [1u128 << bit, 0] } else { [0, 1u128 << (bit - 128)] };
    if sign > 0 {
        let (lo, c) = big[0].overflowing_add(add[0]);
        big = [lo, big[1] + add[1] + c as u128];
    } else {
        let (lo, b) = big[0].overflowing_sub(add[0]);
        big = [lo, big[1] - add[1] - b as u128];
    }
    let mut bytes: Vec<u8> = big[0].to_le_bytes().into_iter().chain(big[1].to_le_bytes()).collect();
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// A round of `b` batches over `k` assets whose parts are `parts(batch, tag index)`.
fn round_with(b: usize, k: usize, margin: bool, salt: u8, parts: impl Fn(usize, usize) -> [u64; PARTS]) -> Round {
    let tags = totals_tags(k, margin).len();
    let openings: Vec<TotalsOpening> = (0..b)
        .map(|j| {
            let rows: Vec<[u64; PARTS]> = (0..tags).map(|t| parts(j, t)).collect();
            let mut seed = [salt; 32];
            seed[..8].copy_from_slice(&(j as u64).to_le_bytes());
            TotalsOpening::new(&rows, margin, seed)
        })
        .collect();
    let totals = (0..tags)
        .map(|t| {
            let mut sums = [0u128; PARTS];
            for o in &openings {
                for (s, &p) in sums.iter_mut().zip(&o.rows[t].parts) {
                    *s += p as u128;
                }
            }
            total_bytes(&sums)
        })
        .collect();
    let inputs = AggregationInputs {
        binding: digest(1000 + salt as u64),
        num_assets: k,
        margin,
        commitments: openings.iter().map(TotalsOpening::commitment).collect(),
        totals,
    };
    Round { inputs, openings }
}

/// Part sums of a batch of up to `2^14` entries: 26-bit parts summed over the entries, the
/// 10-bit part 2 and the 24-bit part 4 likewise; some zero.
fn random_round(b: usize, k: usize, margin: bool, salt: u8) -> Round {
    round_with(b, k, margin, salt, |j, t| {
        let mut rng = ChaCha20Rng::from_seed([salt ^ (j as u8) ^ ((t as u8) << 4); 32]);
        let mut part = |bits: u32| rng.next_u64() >> (64 - bits);
        if (j + t) % 5 == 4 {
            return [0; PARTS];
        }
        [part(40), part(40), part(24), part(40), part(38)]
    })
}

fn assert_verifies(round: &Round) -> Estimate {
    let proof = prove(&round.inputs, &round.openings, Security::Bits100, SEED).unwrap();
    verify(proof, round.inputs.clone(), 100).unwrap()
}

fn assert_refused(result: Result<Estimate, AggregationError>) {
    assert!(
        matches!(result, Err(AggregationError::Rejected(_)) | Err(AggregationError::Shape(_))),
        "expected rejection, got {result:?}"
    );
}

// -- honest proofs -------------------------------------------------------------------------------

#[test]
fn honest_rounds_verify() {
    // one batch of one asset (a chain of one row: it starts and ends there), margin, several
    for (b, k, margin) in [(1, 1, false), (1, 1, true), (3, 2, false), (2, 3, true), (5, 4, true)] {
        let round = random_round(b, k, margin, 1);
        let figures = assert_verifies(&round);
        assert!(figures.conjectured >= 100 && figures.proven <= figures.conjectured, "{b} {k} {margin}");
    }
}

#[test]
fn a_realistic_round_verifies_at_both_presets() {
    // 64 batches of W3's 22 assets with debts: 44 tags, 2,861 real rows
    let round = random_round(64, 22, true, 2);
    let proof = prove(&round.inputs, &round.openings, Security::Bits128, SEED).unwrap();
    assert_eq!(proof.trace_info().length(), trace_length(64, 44, &Security::Bits128.options()).unwrap().0);
    let figures = verify(proof, round.inputs.clone(), 128).unwrap();
    assert_eq!(figures.conjectured, 128);
    assert_verifies(&round);
}

#[test]
fn totals_beyond_2_128_and_at_the_slot_bound_are_exact() {
    // every batch holds 2^20 whales of 2^112 − 1 in asset 1: 64·2^20·(2^112 − 1) > 2^137;
    // asset 2 reaches the 2^36 entry slots of the round (2 batches of 2^35 entries at the top
    // of each part)
    let whale = stark_por_liabilities::prover::amount_parts_of(MAX_AMOUNT);
    let round = round_with(64, 2, false, 3, |_, t| match t {
        0 => whale.map(|p| p << 20),
        _ => [0; PARTS],
    });
    // 64 × 2^20 × (2^112 − 1) = 2^26·(2^112 − 1) = 2^138 − 2^26
    assert_eq!(round.inputs.totals[0], add_bits(&add_bits(&[], 138, 1), 26, -1));
    assert!(round.inputs.totals[0].len() > 16, "beyond 2^128");
    assert_verifies(&round);

    let top = [(1u64 << 26) - 1, (1 << 26) - 1, (1 << 10) - 1, (1 << 26) - 1, (1 << 24) - 1].map(|p| p << 35);
    let round = round_with(2, 1, false, 4, |_, _| top);
    assert_verifies(&round);
}

#[test]
fn zero_totals_verify() {
    let round = round_with(4, 3, true, 5, |j, t| if t == 2 && j == 1 { [1, 0, 0, 0, 0] } else { [0; PARTS] });
    assert!(round.inputs.totals.iter().enumerate().all(|(t, x)| x.is_empty() == (t != 2)));
    assert_verifies(&round);
}

/// The whole path: forests proved with committed totals by the batch circuit, their openings
/// aggregated against the ledger's totals (plain and with debts).
#[test]
fn committed_batches_aggregate_to_the_ledger_totals() {
    use stark_por_liabilities::{prove_committed, verify_committed, Entry, Forest, Leaf, Prices, StatementParams};
    let amounts = [1u128, 999, MAX_AMOUNT, 1 << 62, 5 * 10u128.pow(18)];
    let params = StatementParams { num_assets: 3, range_bits: 112, assets_digest: digest(7), round_digest: digest(8) };
    for margin in [false, true] {
        let leaves: Vec<Leaf> = (0..16usize)
            .map(|j| {
                let mut entries = Vec::new();
                for a in 1..=3u32 {
                    if (j + a as usize) % 3 != 0 {
                        entries.push(Entry::equity(a, amounts[(j + a as usize) % amounts.len()]));
                    }
                    if margin && a == 1 && j % 4 == 1 {
                        entries.push(Entry::debt(1, 1)); // covered by any equity at coefficient 1
                    }
                }
                Leaf { idc: digest(100 + j as u64), entries }
            })
            .collect();
        let prices = margin.then(|| Prices { collateral: vec![1; 3], debt: vec![1; 3] });
        let (mut commitments, mut openings) = (Vec::new(), Vec::new());
        for (b, (start, end)) in [(0u64, 5u64), (5, 11), (11, 16)].into_iter().enumerate() {
            let forest = Forest::new(16, start, end).unwrap();
            let slice = &leaves[start as usize..end as usize];
            let (proof, public, _, opening) =
                prove_committed(slice, forest, &params, prices.as_ref(), Security::Bits100, [b as u8 + 1; 32]).unwrap();
            verify_committed(proof, public.clone(), 100).unwrap();
            commitments.push(public.commitment);
            openings.push(opening);
        }
        let totals = totals_tags(3, margin)
            .iter()
            .map(|&(tag, _)| {
                let sum: u128 = leaves.iter().flat_map(|l| &l.entries).filter(|e| e.tag == tag).map(|e| e.amount).sum();
                total_bytes(&[sum, 0, 0, 0, 0])
            })
            .collect();
        let round = Round { inputs: AggregationInputs { binding: digest(5), num_assets: 3, margin, commitments, totals }, openings };
        assert_verifies(&round);
    }
}

// -- inputs refused ------------------------------------------------------------------------------

#[test]
fn the_prover_refuses_what_the_proof_cannot_stand_for() {
    let round = random_round(3, 2, true, 6);
    let refused = |inputs: &AggregationInputs, openings: &[TotalsOpening]| {
        let result = prove(inputs, openings, Security::Bits100, SEED);
        assert!(matches!(result, Err(AggregationError::Inputs(_))), "{result:?}");
    };
    let mut inputs = round.inputs.clone();
    inputs.totals.pop();
    refused(&inputs, &round.openings);
    let mut inputs = round.inputs.clone();
    inputs.totals[1] = add_bits(&[], 150, 1); // d₄ = 2^62
    refused(&inputs, &round.openings);
    let mut inputs = round.inputs.clone();
    inputs.totals[1].push(0); // not minimal
    refused(&inputs, &round.openings);
    let mut inputs = round.inputs.clone();
    inputs.commitments.clear();
    refused(&inputs, &[]);
    let mut inputs = round.inputs.clone();
    inputs.num_assets = 0;
    inputs.totals.clear();
    refused(&inputs, &round.openings);
    // openings: one missing, in another order (each opens another batch's commitment), listing
    // other tags, another round's
    refused(&round.inputs, &round.openings[..2]);
    let swapped = [round.openings[1].clone(), round.openings[0].clone(), round.openings[2].clone()];
    refused(&round.inputs, &swapped);
    let plain = random_round(3, 4, false, 6); // 4 tags, as many as 2 assets with debt
    refused(&round.inputs, &plain.openings);
    let other = random_round(3, 2, true, 7);
    refused(&round.inputs, &other.openings);
    // a total off by one in any part position
    for (t, i) in [(0, 0), (1, 1), (2, 2), (3, 3), (3, 4)] {
        let mut inputs = round.inputs.clone();
        inputs.totals[t] = add_bits(&inputs.totals[t], PART_OFFSETS[i], 1);
        refused(&inputs, &round.openings);
    }
    // sums the AIR cannot carry exactly: the round is over the 2^36 entry slots
    let over = round_with(1, 1, false, 8, |_, _| [1 << 63, 0, 0, 0, 0]);
    refused(&over.inputs, &over.openings);
}

#[test]
fn a_total_off_by_one_in_any_part_is_rejected() {
    let round = random_round(3, 2, true, 9);
    let proof = prove(&round.inputs, &round.openings, Security::Bits100, SEED).unwrap();
    for t in 0..4 {
        for &off in &PART_OFFSETS {
            for sign in [1i8, -1] {
                let mut inputs = round.inputs.clone();
                if sign < 0 && !reaches(&inputs.totals[t], off) {
                    continue; // would go below zero
                }
                inputs.totals[t] = add_bits(&inputs.totals[t], off, sign);
                assert_refused(verify(proof.clone(), inputs, 100));
            }
        }
    }
    // off by one where it carries or borrows through positions: every digit of 2^112 − 1 at its top
    let ones = [(1u64 << 26) - 1, (1 << 26) - 1, (1 << 10) - 1, (1 << 26) - 1, (1 << 24) - 1];
    let round = round_with(1, 1, false, 10, |_, _| ones);
    let proof = prove(&round.inputs, &round.openings, Security::Bits100, SEED).unwrap();
    for (bit, sign) in [(0, 1i8), (0, -1), (26, 1), (52, -1), (62, 1), (88, -1)] {
        let mut inputs = round.inputs.clone();
        inputs.totals[0] = add_bits(&inputs.totals[0], bit, sign);
        assert_refused(verify(proof.clone(), inputs, 100));
    }
    verify(proof, round.inputs, 100).unwrap();
}

#[test]
fn commitments_swapped_left_out_repeated_or_from_another_round_are_rejected() {
    let round = random_round(4, 2, false, 11);
    let proof = prove(&round.inputs, &round.openings, Security::Bits100, SEED).unwrap();
    let check = |edit: &dyn Fn(&mut AggregationInputs)| {
        let mut inputs = round.inputs.clone();
        edit(&mut inputs);
        assert_refused(verify(proof.clone(), inputs, 100));
    };
    check(&|i| i.commitments.swap(0, 3));
    check(&|i| i.commitments[2] = random_round(4, 2, false, 12).inputs.commitments[2]);
    check(&|i| i.binding[3] += Felt::ONE);
    // a batch left out or counted twice (its totals with it or not)
    check(&|i| {
        i.commitments.pop();
    });
    check(&|i| {
        let again = i.commitments[1];
        i.commitments.push(again);
    });
    // another asset count or margin flag, totals to match
    check(&|i| {
        i.num_assets = 4;
        i.margin = true;
        i.totals = (0..8).map(|k| i.totals[k % 2].clone()).collect();
    });
    check(&|i| {
        i.num_assets = 1;
        i.margin = true;
    });
    check(&|i| {
        i.num_assets = 3;
        i.totals.push(vec![]);
    });
    verify(proof, round.inputs.clone(), 100).unwrap();
}

/// Only salted commitments under a preset's options verify; a proof is a function of its inputs
/// and seed (proved on one thread, as the core proves).
#[test]
fn proofs_are_hiding_preset_and_reproducible() {
    use winterfell::{BatchingMethod, FieldExtension, ProofOptions, Prover};
    let round = random_round(2, 2, false, 14);
    let statement = statement_of(&round.inputs).unwrap();
    let plan = check_openings(&statement, &round.openings).unwrap();
    let trace = |options: &ProofOptions| {
        let (n, r) = trace_length(2, 2, options).unwrap();
        assemble(&honest_groups(&statement, &round.openings, &plan), n, r, &SEED)
    };
    let options = Security::Bits100.options();
    let plain = AggregationProver::new(options.clone(), statement.clone(), SEED).prove(trace(&options)).unwrap();
    assert_refused(verify(plain, round.inputs.clone(), 100));
    let other = ProofOptions::new(27, 8, 20, FieldExtension::Cubic, 8, 127, BatchingMethod::Linear, BatchingMethod::Linear);
    let inner = AggregationProver::new(other.clone(), statement.clone(), SEED);
    let proof = HidingProver::new(inner, &SEED).prove(trace(&other)).unwrap();
    assert_eq!(verify(proof, round.inputs.clone(), 100), Err(AggregationError::UnknownOptions));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let once = || pool.install(|| prove(&round.inputs, &round.openings, Security::Bits100, SEED).unwrap().to_bytes());
    assert_eq!(once(), once());
    let reseeded = prove(&round.inputs, &round.openings, Security::Bits100, [10; 32]).unwrap();
    assert_ne!(reseeded.to_bytes(), once());
    verify(reseeded, round.inputs.clone(), 100).unwrap();
}

#[test]
fn inputs_the_statement_cannot_hold_are_refused_by_the_verifier() {
    let round = random_round(2, 1, false, 13);
    let proof = prove(&round.inputs, &round.openings, Security::Bits100, SEED).unwrap();
    let mut inputs = round.inputs.clone();
    inputs.totals[0] = add_bits(&[], 150, 1);
    assert!(matches!(verify(proof.clone(), inputs, 100), Err(AggregationError::Inputs(_))));
    let mut inputs = round.inputs.clone();
    inputs.totals.push(vec![1]);
    assert!(matches!(verify(proof.clone(), inputs, 100), Err(AggregationError::Inputs(_))));
    let mut inputs = round.inputs.clone();
    inputs.commitments.clear();
    assert!(matches!(verify(proof.clone(), inputs, 100), Err(AggregationError::Inputs(_))));
    assert!(matches!(verify(proof.clone(), round.inputs.clone(), 129), Err(AggregationError::InsufficientSecurity { .. })));
}

// -- forged traces -------------------------------------------------------------------------------

type Rows = Vec<Vec<Felt>>;

/// The honest group rows of `round`.
fn honest_rows(round: &Round) -> Rows {
    let statement = statement_of(&round.inputs).unwrap();
    let plan = check_openings(&statement, &round.openings).unwrap();
    honest_groups(&statement, &round.openings, &plan).chunks(MAIN_WIDTH).map(<[Felt]>::to_vec).collect()
}

fn filler() -> Vec<Felt> {
    let mut row = vec![Felt::ZERO; MAIN_WIDTH];
    row[SEL] = Felt::ONE;
    row
}

fn is(row: &[Felt], column: usize) -> bool {
    row[column] == Felt::ONE
}

/// Recomputes every running sum as the AIR reads it (a group's first hash row restarts it, a
/// close row takes over its predecessor's) and every close row's digits and carries from the
/// sums it closes; returns `(tag, total)` per close row.
fn reclose(rows: &mut Rows) -> Vec<(u64, Vec<u8>)> {
    let mut closes = Vec::new();
    let mut acc = [Felt::ZERO; PARTS];
    let mut prev_h = false;
    for row in rows.iter_mut() {
        if is(row, H) {
            for (i, a) in acc.iter_mut().enumerate() {
                *a = if prev_h { *a } else { Felt::ZERO } + row[part(i)];
            }
            row[ACC..ACC + PARTS].copy_from_slice(&acc);
        } else if is(row, CL) {
            if !prev_h {
                acc = [Felt::ZERO; PARTS];
            }
            let sums = acc.map(|a| a.as_int() as u128);
            let total = total_bytes(&sums);
            let digits = digits_of(&total).unwrap();
            let k = carries(&sums, &digits).unwrap();
            let tag = row[TAG].as_int();
            write_close_row(row, tag as u32, &acc, &digits, &k);
            closes.push((tag, total));
        }
        prev_h = is(row, H);
    }
    closes
}

/// `round.inputs` with the totals the close rows claim (the last close of each tag).
fn claimed(round: &Round, closes: &[(u64, Vec<u8>)]) -> AggregationInputs {
    let mut inputs = round.inputs.clone();
    for (t, &(tag, _)) in totals_tags(inputs.num_assets, inputs.margin).iter().enumerate() {
        if let Some((_, total)) = closes.iter().rev().find(|(c, _)| *c == tag as u64) {
            inputs.totals[t] = total.clone();
        }
    }
    inputs
}

fn trace_of(rows: &Rows, inputs: &AggregationInputs) -> AggregationTrace {
    let statement = statement_of(inputs).unwrap();
    let (n, r) = trace_length(statement.num_batches(), statement.digits.len(), &Security::Bits100.options()).unwrap();
    assert!(rows.len() <= n - r, "the forged rows fit the honest trace length");
    assemble(&rows.concat(), n, r, &SEED)
}

/// `(constraint, row)` of every violated main transition constraint, `(1000 + i, row)` of every
/// failed main assertion `Bi`.
fn violations(trace: &AggregationTrace, inputs: &AggregationInputs) -> BTreeSet<(usize, usize)> {
    let statement = statement_of(inputs).unwrap();
    let air = AggregationAir::new(trace.info().clone(), statement, Security::Bits100.options());
    let mut out = BTreeSet::new();
    let mut frame = EvaluationFrame::<Felt>::new(MAIN_WIDTH);
    let mut result = vec![Felt::ZERO; air::NUM_MAIN_CONSTRAINTS];
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

/// Proves the forged trace, checks that exactly `broken` (constraint indices, `1000 + i` for an
/// assertion; empty when only a bus is off) are violated, and that the verifier rejects it.
fn assert_forgery_rejected(trace: AggregationTrace, inputs: &AggregationInputs, broken: &[usize]) {
    let violated = constraints(&violations(&trace, inputs));
    assert_eq!(violated, broken.iter().copied().collect(), "violated constraints");
    let proof = prove_trace(trace, statement_of(inputs).unwrap(), Security::Bits100, SEED).unwrap();
    let result = verify(proof, inputs.clone(), 100);
    assert!(matches!(result, Err(AggregationError::Rejected(_))), "expected rejection, got {result:?}");
}

/// Row index of group row `i` of `rows` in the trace.
fn at(rows: &Rows, inputs: &AggregationInputs, i: usize) -> usize {
    let statement = statement_of(inputs).unwrap();
    let (n, r) = trace_length(statement.num_batches(), statement.digits.len(), &Security::Bits100.options()).unwrap();
    n - r - rows.len() + i
}

/// Index in `rows` of batch `b`'s hash row of tag index `t` (honest layout: `B + 1` rows per tag).
fn hash_row(b: usize, t: usize, batches: usize) -> usize {
    t * (batches + 1) + b
}

fn close_row(t: usize, batches: usize) -> usize {
    t * (batches + 1) + batches
}

fn forge_round() -> Round {
    random_round(3, 2, true, 20)
}

#[test]
fn the_honest_trace_violates_nothing() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let closes = reclose(&mut rows);
    assert_eq!(claimed(&round, &closes), round.inputs, "reclose rebuilds the honest close rows");
    assert!(violations(&trace_of(&rows, &round.inputs), &round.inputs).is_empty());
}

/// A group whose running sum skips one part of a batch (the total claimed without it), part by
/// part: [G8–G12].
#[test]
fn a_sum_that_does_not_accumulate_is_rejected() {
    let round = forge_round();
    let (b, t) = (1, 2);
    let parts = round.openings[b].rows[t].parts;
    assert!(parts.iter().all(|&p| p != 0));
    for i in 0..PARTS {
        let mut rows = honest_rows(&round);
        // from batch 1's row on, the group sums part i as if batch 1 added nothing
        for row in &mut rows[hash_row(b, t, 3)..=close_row(t, 3)] {
            row[ACC + i] -= Felt::new(parts[i]);
        }
        let close = close_row(t, 3);
        let acc: [Felt; PARTS] = std::array::from_fn(|i| rows[close][ACC + i]);
        let sums = acc.map(|a| a.as_int() as u128);
        let mut inputs = round.inputs.clone();
        inputs.totals[t] = total_bytes(&sums);
        let digits = digits_of(&inputs.totals[t]).unwrap();
        write_close_row(&mut rows[close], 4, &acc, &digits, &carries(&sums, &digits).unwrap());
        let trace = trace_of(&rows, &inputs);
        assert_eq!(violations(&trace, &inputs), BTreeSet::from([(index::ACC_STEP + i, at(&rows, &inputs, hash_row(b, t, 3)) - 1)]));
        assert_forgery_rejected(trace, &inputs, &[index::ACC_STEP + i]);
    }
}

/// A part changed in a hash row, its chain messages left as they were (so the chain bus still
/// balances) and the total claimed with it: only the permutation refuses it.
#[test]
fn a_commitment_opened_to_other_values_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    rows[hash_row(2, 1, 3)][part(3)] += Felt::new(1 << 20);
    let inputs = claimed(&round, &reclose(&mut rows));
    assert_ne!(inputs.totals[1], round.inputs.totals[1]);
    let trace = trace_of(&rows, &inputs);
    let violated = constraints(&violations(&trace, &inputs));
    assert!(!violated.is_empty() && violated.iter().all(|&c| (index::PERMUTATION..index::PERMUTATION + STATE_WIDTH).contains(&c)), "{violated:?}");
    assert_forgery_rejected(trace, &inputs, &violated.into_iter().collect::<Vec<_>>());
}

/// A batch's row taken out of its group (the group closes without it; a filler takes its place):
/// every main constraint holds, the batch's chain is broken.
#[test]
fn a_batch_left_out_of_a_group_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    rows.remove(hash_row(0, 1, 3));
    rows.insert(0, filler());
    let inputs = claimed(&round, &reclose(&mut rows));
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[]);
}

/// A batch's row repeated in its group: its chain messages are then emitted and consumed twice.
#[test]
fn a_batch_counted_twice_in_a_group_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let again = rows[hash_row(1, 3, 3)].clone();
    rows.insert(hash_row(1, 3, 3), again);
    let inputs = claimed(&round, &reclose(&mut rows));
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[]);
}

/// A tag's group closed twice, each half against its own digits: the verifier lists one digits
/// message per tag.
#[test]
fn a_group_split_in_two_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let close = rows[close_row(0, 3)].clone();
    rows.insert(hash_row(2, 0, 3), close);
    let closes = reclose(&mut rows);
    assert_eq!(closes.iter().filter(|(tag, _)| *tag == 2).count(), 2);
    // whichever half the public total names, the other half's close has no message to meet
    for half in [0, 1] {
        let mut inputs = round.inputs.clone();
        inputs.totals[0] = closes.iter().filter(|(tag, _)| *tag == 2).nth(half).unwrap().1.clone();
        assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[]);
    }
}

/// A batch's row moved out of every group, to a lone hash row among the fillers (its chain
/// intact, the group of its tag closing without it): [G5].
#[test]
fn a_hash_row_outside_any_group_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let lone = rows.remove(hash_row(1, 2, 3));
    rows.splice(0..0, [filler(), lone, filler()]);
    let inputs = claimed(&round, &reclose(&mut rows));
    let trace = trace_of(&rows, &inputs);
    let row = at(&rows, &inputs, 1);
    assert!(violations(&trace, &inputs).contains(&(index::H_THEN_H_OR_CL, row)));
    assert_forgery_rejected(trace, &inputs, &[index::H_THEN_H_OR_CL]);
}

/// The same row left unclosed at the very end of the real rows, where no next row checks it: [B3].
#[test]
fn a_hash_row_left_unclosed_at_the_end_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let lone = rows.remove(hash_row(1, 2, 3));
    rows.push(lone);
    rows.insert(0, filler());
    let inputs = claimed(&round, &reclose(&mut rows));
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[1000 + assertion::CL_LAST]);
}

/// A batch's part of one tag summed into another tag's group: [G6].
#[test]
fn a_row_in_another_tags_group_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let moved = rows.remove(hash_row(0, 1, 3));
    rows.insert(hash_row(1, 2, 3) - 1, moved);
    let inputs = claimed(&round, &reclose(&mut rows));
    assert_ne!(inputs.totals[2], round.inputs.totals[2]);
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[index::GROUP_TAG]);
}

/// Two tags' totals swapped, their close rows relabelled to match: [G7].
#[test]
fn totals_swapped_between_tags_are_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let (a, b) = (close_row(0, 3), close_row(2, 3));
    let (ta, tb) = (rows[a][TAG], rows[b][TAG]);
    rows[a][TAG] = tb;
    rows[b][TAG] = ta;
    let inputs = claimed(&round, &reclose(&mut rows));
    assert_eq!((&inputs.totals[0], &inputs.totals[2]), (&round.inputs.totals[2], &round.inputs.totals[0]));
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[index::CLOSE_TAG]);
}

/// A close row whose digits are another representation of its sums (`d₀ + 2^26`, `d₁ − 1`, one
/// carry less): its equations hold, the digits bus does not.
#[test]
fn a_close_row_consuming_other_digits_is_rejected() {
    let round = round_with(2, 1, false, 21, |_, _| [5 << 26, 3 << 27, 0, 0, 0]);
    let mut rows = honest_rows(&round);
    let close = &mut rows[close_row(0, 2)];
    close[digit(0)] += Felt::new(1 << 26);
    close[digit(1)] -= Felt::ONE;
    let k0 = crate::air::carry(close, 0) - Felt::ONE;
    for i in 0..LIMBS_PER_CARRY {
        close[carry_limb(0, i)] = Felt::new((k0.as_int() >> (8 * i)) & 0xff);
    }
    assert_forgery_rejected(trace_of(&rows, &round.inputs), &round.inputs, &[]);
}

/// A close row's sum equation `i` off by one (its digit raised, nothing else): [G16–G20].
#[test]
fn each_close_equation_is_checked() {
    let round = round_with(2, 1, false, 22, |_, _| [5, 7, 9, 11, 13]);
    for i in 0..PARTS {
        let mut rows = honest_rows(&round);
        rows[close_row(0, 2)][digit(i)] += Felt::ONE;
        let mut inputs = round.inputs.clone();
        inputs.totals[0] = add_bits(&inputs.totals[0], PART_OFFSETS[i], 1);
        assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[index::CLOSE_SUM + i]);
    }
}

/// The carry that wraps the modulus: `d₀' + 2^26·k₀' = ACC₀ + p` with `k₀' < 2^40` in byte limbs
/// claims the total plus `p`; every equation holds in the field, and only the bound on the
/// carry's top limb (`8·l₄` in the table) refuses it.
#[test]
fn a_carry_out_of_range_wrapping_the_modulus_is_rejected() {
    let round = round_with(2, 1, false, 23, |_, _| [77, 1 << 30, 3, 1 << 40, 1 << 20]);
    let mut rows = honest_rows(&round);
    let close_at = close_row(0, 2);
    let sums: [u128; PARTS] = std::array::from_fn(|i| rows[close_at][ACC + i].as_int() as u128);
    // A₀ + p = d₀' + 2^26·k₀', then the other positions as usual
    let wrapped = sums[0] + Felt::MODULUS as u128;
    let mut digits = [0u64; PARTS];
    let mut k = [0u64; CARRIES];
    digits[0] = (wrapped & ((1 << 26) - 1)) as u64;
    k[0] = (wrapped >> 26) as u64;
    let mut carry = k[0] as u128;
    for i in 1..PARTS {
        let lhs = sums[i] + carry;
        if i + 1 == PARTS {
            digits[i] = lhs as u64;
        } else {
            let shift = PART_OFFSETS[i + 1] - PART_OFFSETS[i];
            digits[i] = (lhs & ((1 << shift) - 1)) as u64;
            k[i] = (lhs >> shift) as u64;
            carry = k[i] as u128;
        }
    }
    assert!(k[0] >= 1 << 37 && k[0] < 1 << 40);
    let acc: [Felt; PARTS] = std::array::from_fn(|i| rows[close_at][ACC + i]);
    write_close_row(&mut rows[close_at], 2, &acc, &digits, &k);
    // the claimed total: the digits' value, the true total plus p
    let claimed_sums: [u128; PARTS] = std::array::from_fn(|i| digits[i] as u128);
    let mut inputs = round.inputs.clone();
    inputs.totals[0] = total_bytes(&claimed_sums);
    assert_eq!(digits_of(&inputs.totals[0]).unwrap(), digits);
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[]);
}

/// A chain that starts from another capacity (the "commitment" of some other hash of the
/// parts): [G13].
#[test]
fn a_chain_from_another_capacity_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let b = 1;
    let mut capacity = round.openings[b].first_capacity();
    capacity[0] += Felt::ONE;
    for t in 0..4 {
        let mut input = [Felt::ZERO; STATE_WIDTH];
        input[..4].copy_from_slice(&capacity);
        input[4..].copy_from_slice(&round.openings[b].rate(t));
        let states = permutation_states(input);
        let row = &mut rows[hash_row(b, t, 3)];
        for (s, values) in states.iter().enumerate() {
            row[state(s, 0)..state(s, 0) + STATE_WIDTH].copy_from_slice(values);
        }
        capacity.copy_from_slice(&states[NUM_ROUNDS][..4]);
    }
    let commitment = output_digest(&rows[hash_row(b, 3, 3)]);
    let mut inputs = claimed(&round, &reclose(&mut rows));
    inputs.commitments[b] = commitment;
    assert_eq!(inputs.totals, round.inputs.totals);
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[index::CSTART_CAPACITY]);
}

/// A batch whose chain leaves out its first tag (starting at the second, so the first tag's sum
/// is claimed without it): [G14].
#[test]
fn a_chain_starting_past_the_first_tag_is_rejected() {
    let round = forge_round();
    let (b, rows_of) = (2, 3);
    let mut rows = honest_rows(&round);
    // the shorter chain: from [TOTALS_TAG, σ] over tags 1.. of the opening
    let opening = &round.openings[b];
    let mut capacity = opening.first_capacity();
    for t in 1..4 {
        let mut input = [Felt::ZERO; STATE_WIDTH];
        input[..4].copy_from_slice(&capacity);
        input[4..].copy_from_slice(&opening.rate(t));
        let states = permutation_states(input);
        let row = &mut rows[hash_row(b, t, rows_of)];
        for (s, values) in states.iter().enumerate() {
            row[state(s, 0)..state(s, 0) + STATE_WIDTH].copy_from_slice(values);
        }
        row[CSTART] = Felt::from((t == 1) as u32);
        capacity.copy_from_slice(&states[NUM_ROUNDS][..4]);
    }
    let commitment = output_digest(&rows[hash_row(b, 3, rows_of)]);
    rows.remove(hash_row(b, 0, rows_of));
    rows.insert(0, filler());
    let mut inputs = claimed(&round, &reclose(&mut rows));
    inputs.commitments[b] = commitment;
    assert_ne!(inputs.totals[0], round.inputs.totals[0]);
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[index::CSTART_TAG]);
}

/// A batch whose chain stops before the last tag (its commitment the output there): [G15].
#[test]
fn a_chain_ending_before_the_last_tag_is_rejected() {
    let round = forge_round();
    let (b, rows_of) = (0, 3);
    let mut rows = honest_rows(&round);
    let r = hash_row(b, 2, rows_of);
    rows[r][LAST] = Felt::ONE;
    let commitment = output_digest(&rows[r]);
    rows.remove(hash_row(b, 3, rows_of));
    rows.insert(0, filler());
    let mut inputs = claimed(&round, &reclose(&mut rows));
    inputs.commitments[b] = commitment;
    assert_ne!(inputs.totals[3], round.inputs.totals[3]);
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[index::LAST_TAG]);
}

/// A chain's start or end flag dropped: its first row then consumes a message nobody emits, its
/// last emits one nobody consumes (and the verifier's commitment is unmatched).
#[test]
fn a_chain_start_or_end_left_unflagged_is_rejected() {
    let round = forge_round();
    for (t, flag) in [(0, CSTART), (3, LAST)] {
        let mut rows = honest_rows(&round);
        rows[hash_row(1, t, 3)][flag] = Felt::ZERO;
        assert_forgery_rejected(trace_of(&rows, &round.inputs), &round.inputs, &[]);
    }
}

/// Flags other than 0 and 1, each on a row where nothing else notices: [G1–G4].
#[test]
fn flags_must_be_binary() {
    let round = forge_round();
    // CSTART = 2 on a first row, LAST = 2 on a last row
    for (t, flag, broken) in [(0, CSTART, index::CSTART_BINARY), (3, LAST, index::LAST_BINARY)] {
        let mut rows = honest_rows(&round);
        rows[hash_row(1, t, 3)][flag] = Felt::new(2);
        assert_forgery_rejected(trace_of(&rows, &round.inputs), &round.inputs, &[broken]);
    }
    // CL = 2 on a filler (all its sums and digits zero)
    let mut rows = honest_rows(&round);
    let mut double = filler();
    double[CL] = Felt::new(2);
    rows.splice(0..0, [filler(), double]);
    assert_forgery_rejected(trace_of(&rows, &round.inputs), &round.inputs, &[index::CL_BINARY]);
    // H = 2 on a row before the first group: a valid first chain row of no batch, parts zero
    let mut rows = honest_rows(&round);
    let mut double = rows[hash_row(0, 0, 3)].clone();
    let mut input = [Felt::ZERO; STATE_WIDTH];
    input[..4].copy_from_slice(&round.openings[0].first_capacity());
    input[4] = double[TAG];
    for (s, values) in permutation_states(input).iter().enumerate() {
        double[state(s, 0)..state(s, 0) + STATE_WIDTH].copy_from_slice(values);
    }
    double[H] = Felt::new(2);
    double[CSTART] = Felt::ZERO;
    double[ACC..ACC + PARTS].fill(Felt::ZERO);
    rows.splice(0..0, [filler(), double]);
    assert_forgery_rejected(trace_of(&rows, &round.inputs), &round.inputs, &[index::H_BINARY]);
}

/// A real row with SEL 0 (its row unconstrained): [G0]; SEL 0 on the last real row or 1 on the
/// first blinding row: [B0], [B1].
#[test]
fn the_real_rows_are_a_prefix() {
    let round = forge_round();
    let rows = honest_rows(&round);
    let mut padded = rows.clone();
    padded.insert(0, filler());
    let trace = trace_of(&padded, &round.inputs);
    let (n, r) = (trace.length(), blinding_rows_of(&round));
    let last = n - r - 1;
    let mut columns = columns_of(&trace);
    let mut hole = columns.clone();
    hole[SEL][1] = Felt::ZERO;
    assert_forgery_rejected(AggregationTrace::new(hole), &round.inputs, &[index::SEL_PREFIX]);
    let mut cut = columns.clone();
    cut[SEL][last] = Felt::ZERO;
    assert_forgery_rejected(AggregationTrace::new(cut), &round.inputs, &[1000 + assertion::SEL_LAST]);
    // a zero filler past the last real row, flagged real
    for (c, column) in columns.iter_mut().enumerate() {
        column[last + 1] = match c {
            SEL => Felt::ONE,
            TABLE => Felt::new(TABLE_SIZE as u64 - 1),
            _ => Felt::ZERO,
        };
    }
    assert_forgery_rejected(AggregationTrace::new(columns), &round.inputs, &[1000 + assertion::SEL_AFTER]);
}

/// The first group placed at row 0, where no previous row pins its running sum, which then
/// starts above the batch's parts: [B2].
#[test]
fn a_group_at_the_first_row_is_rejected() {
    let round = forge_round();
    let mut rows = honest_rows(&round);
    let (n, r) = trace_length(3, 4, &Security::Bits100.options()).unwrap();
    // fillers after the first group, not before it
    let fillers = n - r - rows.len();
    rows.splice(4..4, (0..fillers).map(|_| filler()));
    reclose(&mut rows);
    for i in 0..PARTS {
        for row in &mut rows[..4] {
            row[ACC + i] += Felt::new(1 << 30);
        }
    }
    let sums: [u128; PARTS] = std::array::from_fn(|i| rows[3][ACC + i].as_int() as u128);
    let total = total_bytes(&sums);
    let digits = digits_of(&total).unwrap();
    let acc: [Felt; PARTS] = std::array::from_fn(|i| rows[3][ACC + i]);
    write_close_row(&mut rows[3], 2, &acc, &digits, &carries(&sums, &digits).unwrap());
    let mut inputs = round.inputs.clone();
    inputs.totals[0] = total;
    assert_forgery_rejected(trace_of(&rows, &inputs), &inputs, &[1000 + assertion::H_FIRST]);
}

/// The range table stepping by other than 0 or 1 ([G21]), or not starting at 0 or ending at 255
/// ([B4], [B5]).
#[test]
fn the_range_table_is_every_byte() {
    let round = forge_round();
    let trace = trace_of(&honest_rows(&round), &round.inputs);
    let last = trace.length() - blinding_rows_of(&round) - 1;
    let columns = columns_of(&trace);
    let with_table = |table: &dyn Fn(usize) -> u64| {
        let mut c = columns.clone();
        for (i, v) in c[TABLE][..=last].iter_mut().enumerate() {
            *v = Felt::new(table(i));
        }
        AggregationTrace::new(c)
    };
    let top = TABLE_SIZE as u64 - 1;
    // a value 256 slipped in after the table, next to the last row
    assert!(last > TABLE_SIZE + 1);
    let forged = with_table(&|i| if i == last - 1 { top + 1 } else { (i as u64).min(top) });
    assert_forgery_rejected(forged, &round.inputs, &[index::TABLE_STEP]);
    let forged = with_table(&|i| (i as u64 + 1).min(top));
    assert_forgery_rejected(forged, &round.inputs, &[1000 + assertion::TABLE_FIRST]);
    let forged = with_table(&|i| (i as u64).min(top - 1));
    assert_forgery_rejected(forged, &round.inputs, &[1000 + assertion::TABLE_LAST]);
}

/// The rate half of a hash row's output: a chain's commitment if the row is its last.
fn output_digest(row: &[Felt]) -> Digest {
    std::array::from_fn(|k| row[state(NUM_ROUNDS, 4 + k)])
}

fn blinding_rows_of(round: &Round) -> usize {
    let statement = statement_of(&round.inputs).unwrap();
    trace_length(statement.num_batches(), statement.digits.len(), &Security::Bits100.options()).unwrap().1
}

fn columns_of(trace: &AggregationTrace) -> Vec<Vec<Felt>> {
    (0..MAIN_WIDTH).map(|c| (0..trace.length()).map(|i| trace.get(c, i)).collect()).collect()
}

#[test]
fn trace_lengths_follow_batches_and_tags() {
    // (B, T) → n at both presets (blowup 8 and 16 give the same blinding rows here)
    for (b, t, n) in [(1, 1, 4096), (64, 20, 4096), (64, 44, 8192), (64, 300, 32768), (256, 600, 262144)] {
        for s in Security::ALL {
            let (len, r) = trace_length(b, t, &s.options()).unwrap();
            assert_eq!(len, n, "{b} batches, {t} tags");
            assert!(1 + t * (b + 1) + r <= len && TABLE_SIZE + r <= len);
        }
    }
    assert!(trace_length(1 << 20, 8190, &Security::Bits128.options()).is_none());
}
