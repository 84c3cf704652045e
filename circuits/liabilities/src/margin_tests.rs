//! Statement version 3 (the margin section): honest ledgers with and without borrowers prove
//! and verify; each dishonest trace, built to break one new constraint or bus, is rejected.
//!
//! As in `tests.rs`, every dishonest test first shows which main constraints its trace breaks
//! (or that none does: only a bus is off), then that the verifier rejects the proof made from it.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use super::*;
use crate::air::NUM_MAIN_CONSTRAINTS;
use crate::forest::round_root;
use crate::hash::leaf_digest;
use crate::layout::*;
use crate::margin::{fold_price, Forge, NUM_CONSTRAINTS};
use crate::prover::{amount_parts_of, build_margin_trace_unchecked, LiabilitiesTrace};
use stark_por_solvency::hash::{merkle_tree, Digest};
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement, ToElements};
use winterfell::{Air, EvaluationFrame, Trace};

const SEED: [u8; 32] = [6; 32];
const BTC: u32 = 1;
const ETH: u32 = 2;
const USDT: u32 = 3;
const ILQ: u32 = 4;
const MAX: u128 = (1 << 112) - 1;

fn digest(seed: u64) -> Digest {
    [Felt::new(seed), Felt::new(seed + 1), Felt::new(seed + 2), Felt::new(seed + 3)]
}

fn whole(n: u64) -> u128 {
    n as u128
}

/// BTC (8 decimals, $97,000, 5 % haircut), ETH (18, $3,500.25, 10 %), USDT (6, $1, none) and an
/// illiquid token ILQ (18, $0.50, 90 %), in units of 10^-27 USD.
fn prices() -> Prices {
    let table = [("97000", "0.05", 8), ("3500.25", "0.10", 18), ("1", "0", 6), ("0.50", "0.9", 18)];
    let (collateral, debt) = table.iter().map(|&(p, h, d)| fold_price(p, h, d, 27).unwrap()).unzip();
    Prices { collateral, debt }
}

fn params(range_bits: u32) -> StatementParams {
    StatementParams { num_assets: 4, range_bits, assets_digest: digest(7), round_digest: digest(9) }
}

fn leaf(seed: u64, mut entries: Vec<Entry>) -> Leaf {
    entries.sort();
    Leaf { idc: digest(1000 + seed), entries }
}

const SAT: u128 = 100_000_000;
const WEI: u128 = 1_000_000_000_000_000_000;
const MICRO: u128 = 1_000_000;

/// 16 users of a realistic exchange: dust and whales, 1 to 4 assets; with `borrowers`, five of
/// them borrow (covered) — including a whale owing 1,000 BTC and 10M USDT against 50,000 ETH.
fn ledger(borrowers: bool) -> Vec<Leaf> {
    let mut users: Vec<Vec<Entry>> = vec![
        vec![Entry::equity(BTC, 1)],
        vec![Entry::equity(ETH, 5 * WEI), Entry::equity(USDT, 120 * MICRO + 7)],
        vec![Entry::equity(BTC, whole(21_000) * SAT), Entry::equity(ETH, 250_000 * WEI)],
        vec![],
        vec![Entry::equity(USDT, 3 * MICRO)],
        vec![Entry::equity(ILQ, 10_000_000 * WEI), Entry::equity(USDT, 1)],
        vec![Entry::equity(BTC, 12_345), Entry::equity(ETH, 1), Entry::equity(USDT, 999), Entry::equity(ILQ, MAX)],
        vec![Entry::equity(ETH, 31 * WEI / 10)],
        vec![Entry::equity(BTC, 2 * SAT), Entry::equity(USDT, 1_000_000_000 * MICRO)],
        vec![Entry::equity(ETH, 7)],
        vec![Entry::equity(BTC, 5 * SAT / 100)],
        vec![Entry::equity(USDT, 42 * MICRO)],
        vec![Entry::equity(ETH, 12 * WEI), Entry::equity(BTC, 3 * SAT)],
        vec![Entry::equity(ILQ, 1)],
        vec![Entry::equity(USDT, 77)],
        vec![Entry::equity(BTC, 4 * SAT)],
    ];
    if borrowers {
        // owes 2 BTC against 250,000 USDT
        users[4] = vec![Entry::equity(USDT, 250_000 * MICRO), Entry::debt(BTC, 2 * SAT)];
        // a whale: 50,000 ETH against 1,000 BTC and 10M USDT of debt
        users[7] = vec![Entry::equity(ETH, 50_000 * WEI), Entry::debt(BTC, 1_000 * SAT), Entry::debt(USDT, 10_000_000 * MICRO)];
        // owes 100 ETH against 5 BTC, and holds some of what it borrowed
        users[10] = vec![Entry::equity(BTC, 5 * SAT), Entry::equity(ETH, 20 * WEI), Entry::debt(ETH, 100 * WEI)];
        // five entries: three entry rows; dust debt
        users[11] = vec![
            Entry::equity(BTC, 1),
            Entry::equity(ETH, WEI),
            Entry::equity(USDT, 42 * MICRO),
            Entry::equity(ILQ, 5 * WEI),
            Entry::debt(USDT, 1),
        ];
        // exactly covered at the extremes: 2^112 − 1 of ILQ held and owed
        users[13] = vec![Entry::equity(ILQ, MAX), Entry::debt(ILQ, MAX / 10)];
    }
    users.into_iter().enumerate().map(|(j, e)| leaf(j as u64, e)).collect()
}

/// The dummy user of the attack Binance's haircuts answer: 5 BTC owed, "covered" only by
/// 2,000,000 ILQ ($1M at face value, $100,000 after its 90 % haircut).
fn dummy() -> Leaf {
    leaf(99, vec![Entry::equity(ILQ, 2_000_000 * WEI), Entry::debt(BTC, 5 * SAT)])
}

fn honest(leaves: &[Leaf], forest: Forest) -> (LiabilitiesTrace, MarginInputs) {
    let (t, pi, _) = build_margin_trace(leaves, forest, &params(112), &prices(), &Security::Bits100.options(), SEED).unwrap();
    (t, pi)
}

fn forged(leaves: &[Leaf], forest: Forest, range_bits: u32, forge: &Forge) -> (LiabilitiesTrace, MarginInputs) {
    let (t, pi, _) = build_margin_trace_unchecked(
        leaves,
        forest,
        &params(range_bits),
        &prices(),
        forge,
        &Security::Bits100.options(),
        SEED,
    )
    .unwrap();
    (t, pi)
}

fn assert_rejected(trace: LiabilitiesTrace, pi: &MarginInputs) {
    let proof = LiabilitiesProver::new(Security::Bits100.options(), pi.clone(), SEED).prove(trace).unwrap();
    let result = verify_margin(proof, pi.clone(), 100);
    assert!(matches!(result, Err(CircuitError::Rejected(_))), "expected rejection, got {result:?}");
}

/// Every violated main transition constraint (`(index, row)`), and `1000 + i` for a failed
/// main assertion `i`.
fn main_violations(trace: &LiabilitiesTrace, pi: &MarginInputs) -> BTreeSet<(usize, usize)> {
    let air = LiabilitiesAir::new(trace.info().clone(), pi.clone(), Security::Bits100.options());
    let mut out = BTreeSet::new();
    let mut frame = EvaluationFrame::<Felt>::new(MAIN_WIDTH_MARGIN);
    let mut result = vec![Felt::ZERO; NUM_MAIN_CONSTRAINTS + NUM_CONSTRAINTS];
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

/// The margin constraint numbers (`M0`… of the README) a trace violates.
fn margin_violations(trace: &LiabilitiesTrace, pi: &MarginInputs) -> BTreeSet<usize> {
    let all = main_violations(trace, pi);
    assert!(all.iter().all(|&(c, _)| c >= NUM_MAIN_CONSTRAINTS), "version 2's constraints hold: {all:?}");
    all.iter().map(|&(c, _)| c - NUM_MAIN_CONSTRAINTS).collect()
}

fn rows_where(trace: &LiabilitiesTrace, pred: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..trace.length()).filter(|&r| trace.get(SEL, r) == Felt::ONE && pred(r)).collect()
}

fn sum_words(entries: impl Iterator<Item = u128>) -> Vec<u64> {
    let mut parts = [0u64; PARTS];
    for a in entries {
        for (s, p) in parts.iter_mut().zip(amount_parts_of(a)) {
            *s += p;
        }
    }
    air::combine_parts(&parts)
}

/// The whole 16-leaf tree of [`ledger`] proved once per `borrowers`, shared by the tests that
/// only verify it or claim it for other inputs.
fn whole_proof(borrowers: bool) -> &'static (Proof, MarginInputs) {
    static PROOFS: [OnceLock<(Proof, MarginInputs)>; 2] = [OnceLock::new(), OnceLock::new()];
    PROOFS[borrowers as usize].get_or_init(|| {
        let (proof, pi, _) =
            prove_margin(&ledger(borrowers), Forest::whole(16).unwrap(), &params(112), &prices(), Security::Bits100, SEED).unwrap();
        (proof, pi)
    })
}

// -- honest proofs -------------------------------------------------------------------------------

#[test]
fn honest_ledgers_with_and_without_borrowers_prove_and_verify() {
    for borrowers in [false, true] {
        let leaves = ledger(borrowers);
        let (proof, pi) = whole_proof(borrowers);
        assert_eq!(proof.trace_info().main_trace_width(), MAIN_WIDTH_MARGIN);
        assert_eq!(pi.to_elements()[0], Felt::new(3));
        // exact totals of both kinds, whales included
        for k in 0..4 {
            let of = |kind: u32| {
                let tag = 2 * (k as u32 + 1) + kind;
                sum_words(leaves.iter().flat_map(|l| &l.entries).filter(move |e| e.tag == tag).map(|e| e.amount))
            };
            assert_eq!(air::total_words(&pi.base, k), of(0));
            assert_eq!(pi.debt_total_words(k), of(1));
        }
        assert_eq!(pi.debt_totals.iter().flatten().any(|p| *p != Felt::ZERO), borrowers);
        // the root is the tree of the leaves' digests, debt entries included
        let full = merkle_tree(&leaves.iter().map(|l| leaf_digest(&l.idc, &l.entries)).collect::<Vec<_>>());
        assert_eq!(pi.base.roots, vec![full[1]]);
        let figures = verify_margin(proof.clone(), pi.clone(), 100).unwrap();
        assert!(figures.conjectured >= 100);
        // a version-3 proof is no version-2 proof
        assert!(verify(proof.clone(), pi.base.clone(), 100).is_err());
    }
}

#[test]
fn forests_with_borrowers_rebuild_the_round_root() {
    let leaves = ledger(true);
    let full = merkle_tree(&leaves.iter().map(|l| leaf_digest(&l.idc, &l.entries)).collect::<Vec<_>>());
    let mut parts = Vec::new();
    for (s, e) in [(0u64, 9u64), (9, 16)] {
        let forest = Forest::new(16, s, e).unwrap();
        let (proof, pi, _) =
            prove_margin(&leaves[s as usize..e as usize], forest, &params(112), &prices(), Security::Bits100, SEED).unwrap();
        verify_margin(proof, pi.clone(), 100).unwrap();
        parts.push((forest, pi.base.roots));
    }
    let parts: Vec<(Forest, &[Digest])> = parts.iter().map(|(f, r)| (*f, r.as_slice())).collect();
    assert_eq!(round_root(&parts).unwrap(), full[1]);
}

#[test]
fn prices_fold_into_coefficients_rounded_against_the_exchange() {
    // BTC at $97,000 with a 5 % haircut: 92,150 USD per BTC as collateral, in 10^-27 USD per sat
    assert_eq!(fold_price("97000", "0.05", 8, 27).unwrap(), (92_150 * 10u128.pow(19), 97_000 * 10u128.pow(19)));
    // a third: collateral rounded down, debt up
    let (c, d) = fold_price("0.000000000000000000001", "0.5", 0, 21).unwrap();
    assert_eq!((c, d), (0, 1));
    let (c, d) = fold_price("1", "0.333", 18, 20).unwrap();
    assert_eq!((c, d), (66, 100));
    let (c, d) = fold_price("0.007", "0", 18, 20).unwrap();
    assert_eq!((c, d), (0, 1));
    for (p, h) in [("0", "0"), ("-1", "0"), ("1", "1.5"), ("1e3", "0"), ("1", "")] {
        assert!(fold_price(p, h, 8, 27).is_err(), "{p} {h}");
    }
}

#[test]
fn prices_with_many_digits_fold_exactly_without_overflow() {
    // expected values from exact rational arithmetic (Python fractions): the products exceed
    // 2^128 before the powers of ten cancel
    let cases = [
        (("97000.123456789012345678", "0.05", 8), (921501172839495617283941, 970001234567890123456780)),
        (("97000.123456789012345678", "0.123456789012345678", 8), (850247996810127283408414, 970001234567890123456780)),
        (("0.000000012345678901", "0.1", 18), (11, 13)),
        (("0.000000012345678901", "0.999999999999999999", 18), (0, 13)),
    ];
    for ((p, h, d), expected) in cases {
        assert_eq!(fold_price(p, h, d, 27).unwrap(), expected, "{p} {h} {d}");
    }
    assert_eq!(
        fold_price("1", "0.00000000000000000000000000000000000001", 0, 38).unwrap(),
        (10u128.pow(38) - 1, 10u128.pow(38))
    );
    assert_eq!(fold_price(&u128::MAX.to_string(), "0", 0, 0).unwrap(), (u128::MAX, u128::MAX));
    // 2^128 itself does not fit: refused, not wrapped
    assert!(fold_price("34028236692093846346337460743176821145.6", "0", 0, 1).is_err());
    assert!(fold_price("1", "0", 0, 39).is_err());
}

#[test]
fn prices_outside_their_range_are_refused() {
    let leaves = ledger(false);
    let forest = Forest::whole(16).unwrap();
    let bad = [
        Prices { collateral: vec![1, 1, 1, 1], debt: vec![1, 1, 1, 1 << 91] },
        Prices { collateral: vec![0, 0, 0, 0], debt: vec![1, 0, 1, 1] },
        Prices { collateral: vec![2, 1, 1, 1], debt: vec![1, 1, 1, 1] },
        Prices { collateral: vec![1, 1, 1], debt: vec![1, 1, 1] },
    ];
    let (proof, pi) = whole_proof(false);
    for p in bad {
        let err = build_margin_trace(&leaves, forest, &params(112), &p, &Security::Bits100.options(), SEED).err();
        assert!(matches!(err, Some(CircuitError::Coefficient { .. } | CircuitError::Shape(_))), "{p:?}: {err:?}");
        let mut claimed = pi.clone();
        claimed.prices = p;
        assert!(verify_margin(proof.clone(), claimed, 100).is_err());
    }
}

#[test]
fn the_prover_refuses_what_the_margin_section_cannot_hold() {
    let forest = Forest::whole(16).unwrap();
    let opts = Security::Bits100.options();
    let mut leaves = ledger(true);
    leaves[3] = leaf(3, vec![Entry::debt(5, 1)]); // an unknown asset
    assert!(matches!(
        build_margin_trace(&leaves, forest, &params(112), &prices(), &opts, SEED),
        Err(CircuitError::UnknownTag { leaf: 3, tag: 11 })
    ));
    leaves[3] = leaf(3, vec![Entry::debt(1, 0)]); // an empty debt
    assert!(matches!(build_margin_trace(&leaves, forest, &params(112), &prices(), &opts, SEED), Err(CircuitError::OutOfRange { .. })));
    // a borrower with more entries than 255 entry rows hold
    let many = StatementParams { num_assets: 300, ..params(112) };
    let wide = Prices { collateral: vec![1; 300], debt: vec![1; 300] };
    let mut entries: Vec<Entry> = (1..=300).map(|a| Entry::equity(a, 10)).collect();
    entries.extend((1..=211).map(|a| Entry::debt(a, 1)));
    let mut leaves = ledger(false);
    leaves[2] = leaf(2, entries);
    assert_eq!(
        build_margin_trace(&leaves, forest, &many, &wide, &opts, SEED).err(),
        Some(CircuitError::MarginEntries { leaf: 2, entries: 511, max: 510 })
    );
}

/// The README's bound: at 255 entry rows of two amounts `2^112 − 1` at coefficients
/// `2^91 − 1`, every position of the running value stays below `2^48` and every carry of the
/// close row below `2^36`.
#[test]
fn the_running_value_stays_within_its_bounds_at_the_extremes() {
    use crate::margin::{close_cells, run_value};
    let top = (1u128 << COEF_BITS) - 1;
    for kind in [0u32, 1] {
        let entries = vec![Entry { tag: 2 + kind, amount: MAX }; MARGIN_SLOTS * MAX_ENTRY_ROWS as usize];
        let value = run_value(&entries, |_| top);
        assert!(value.iter().all(|v| v.unsigned_abs() < 1 << 48), "{value:?}");
        let (cells, covered) = close_cells(&value);
        assert_eq!(covered, kind == 0);
        if kind == 0 {
            assert!(cells.iter().all(|&c| c < 1 << LIMB_BITS));
        }
    }
}

// -- the dummy-user attack -----------------------------------------------------------------------

#[test]
fn the_dummy_user_is_refused_and_a_forged_trace_for_it_rejected() {
    let mut leaves = ledger(true);
    leaves[9] = dummy();
    let err = build_margin_trace(&leaves, Forest::whole(16).unwrap(), &params(112), &prices(), &Security::Bits100.options(), SEED)
        .err()
        .unwrap();
    let CircuitError::UncoveredDebt { leaf, ref debt_assets, ref collateral_assets, ref debt, ref collateral } = err else {
        panic!("{err:?}")
    };
    assert_eq!((leaf, debt_assets.as_slice(), collateral_assets.as_slice()), (9, &[BTC][..], &[ILQ][..]));
    // 5 BTC at $97,000 and 2,000,000 ILQ at $0.05, in 10^-27 USD
    assert_eq!(debt, &format!("485000{}", "0".repeat(27)));
    assert_eq!(collateral, &format!("100000{}", "0".repeat(27)));
    let message = err.to_string();
    assert!(message.starts_with("leaf 9: debt in assets [1]") && message.contains("collateral in assets [4]"), "{message}");

    // forged: the close row's cells satisfy its equations in the field, but its last carry is
    // the field element of a negative number, far outside the range table
    let (trace, pi) = forged(&leaves, Forest::whole(16).unwrap(), 112, &Forge::default());
    assert!(margin_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
}

/// The same attack with the dummy's debt lent collateral from another borrower: the whale's
/// ETH counted in the dummy's run (its entry rows claim the whale's entry for the dummy). Every
/// main constraint holds; the asset bus refuses (the entry is keyed by the whale's IDX).
#[test]
fn a_margin_row_claimed_for_another_user_is_rejected() {
    let mut leaves = ledger(true);
    leaves[9] = dummy();
    let forge = Forge { lend: Some((7, 9, 2 * ETH)), ..Forge::default() };
    let (trace, pi) = forged(&leaves, Forest::whole(16).unwrap(), 112, &forge);
    assert!(margin_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
}

/// An entry row relabelled to another borrower in the middle of a run: [M9].
#[test]
fn a_run_that_changes_borrower_is_rejected() {
    let leaves = ledger(true);
    let (mut trace, pi) = honest(&leaves, Forest::whole(16).unwrap());
    // user 11's second entry row
    let rows = rows_where(&trace, |r| trace.get(MENTRY, r) == Felt::ONE && trace.get(UIDK, r) == Felt::new(16 + 11));
    assert_eq!(rows.len(), 3);
    trace.set(UIDK, rows[1], Felt::new(16 + 4));
    trace.set(INV, rows[1], Felt::new(16 + 4).inv());
    assert_eq!(margin_violations(&trace, &pi), BTreeSet::from([9]));
    assert_rejected(trace, &pi);
}

// -- coefficients --------------------------------------------------------------------------------

/// The dummy's ILQ valued without its haircut (the debt coefficient, $0.50): the run is then
/// covered, every main constraint holds, and the price lookup finds no such table row.
#[test]
fn a_haircut_left_out_is_rejected() {
    let mut leaves = ledger(true);
    leaves[9] = dummy();
    let forge = Forge { coef: Some((2 * ILQ, prices().debt[ILQ as usize - 1])), ..Forge::default() };
    let (trace, pi) = forged(&leaves, Forest::whole(16).unwrap(), 112, &forge);
    assert!(margin_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
}

/// The price table itself changed (and used): the pin bus no longer matches the public list.
#[test]
fn a_price_table_other_than_listed_is_rejected() {
    let mut leaves = ledger(true);
    leaves[9] = dummy();
    let forge = Forge { table: Some((2 * ILQ, prices().debt[ILQ as usize - 1])), ..Forge::default() };
    let (trace, pi) = forged(&leaves, Forest::whole(16).unwrap(), 112, &forge);
    assert!(margin_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
}

/// An honest trace verified against other public prices: BTC's debt coefficient one unit lower.
#[test]
fn a_proof_claimed_for_other_prices_is_rejected() {
    let leaves = ledger(true);
    let (trace, mut pi) = honest(&leaves, Forest::whole(16).unwrap());
    pi.prices.debt[BTC as usize - 1] -= 1;
    assert_rejected(trace, &pi);
}

// -- debts ---------------------------------------------------------------------------------------

/// A debt at the range bound `2^80` (owed in ILQ, covered by 10 BTC, so only the bound fails).
#[test]
fn a_debt_past_the_range_check_is_rejected() {
    let mut leaves: Vec<Leaf> = (0..16).map(|j| leaf(j, vec![Entry::equity(USDT, j as u128 * MICRO + 1)])).collect();
    leaves[4] = leaf(4, vec![Entry::equity(USDT, 250_000 * MICRO), Entry::debt(BTC, 2 * SAT)]);
    leaves[9] = leaf(9, vec![Entry::equity(BTC, 10 * SAT), Entry::debt(ILQ, 1 << 80)]);
    // the honest prover refuses it
    assert!(matches!(
        build_margin_trace(&leaves, Forest::whole(16).unwrap(), &params(80), &prices(), &Security::Bits100.options(), SEED),
        Err(CircuitError::OutOfRange { leaf: 9, tag: 9, .. })
    ));
    let (trace, pi) = forged(&leaves, Forest::whole(16).unwrap(), 80, &Forge::default());
    assert!(margin_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
}

/// The dummy's debt written into slot 2 of its entry row, which takes no entry in version 3,
/// and left out of the debt totals: were slot 2 to consume (as on leaf rows), the debt would
/// vanish from the totals and from the collateral check with the bus balanced. It does not
/// consume, so the leaf's debt has no sink; every main constraint holds.
#[test]
fn a_debt_stowed_outside_the_entry_slots_is_rejected() {
    let mut leaves = ledger(true);
    leaves[9] = dummy();
    let (trace, mut pi) = forged(&leaves, Forest::whole(16).unwrap(), 112, &Forge { stowed: Some((9, 2 * BTC + 1)), ..Forge::default() });
    let row = rows_where(&trace, |r| trace.get(MENTRY, r) == Felt::ONE && trace.get(UIDK, r) == Felt::new(16 + 9))[0];
    assert_eq!(air::tag_value(&(0..MAIN_WIDTH_MARGIN).map(|c| trace.get(c, row)).collect::<Vec<_>>(), 2), Felt::new(3));
    for (t, p) in pi.debt_totals[BTC as usize - 1].iter_mut().zip(amount_parts_of(5 * SAT)) {
        *t -= Felt::new(p);
    }
    assert!(margin_violations(&trace, &pi).is_empty());
    assert_rejected(trace, &pi);
}

/// A borrower passed off as a user without debt: their leaf keys its entries by 0 and no entry
/// rows check them. The debt then has no sink on the asset bus, whether the debt totals include
/// it or not.
#[test]
fn a_debt_kept_out_of_the_margin_section_is_rejected() {
    let mut leaves = ledger(true);
    leaves[9] = dummy();
    for drop_from_totals in [false, true] {
        let (trace, mut pi) = forged(&leaves, Forest::whole(16).unwrap(), 112, &Forge { hidden: vec![9], ..Forge::default() });
        if drop_from_totals {
            for (t, p) in pi.debt_totals[BTC as usize - 1].iter_mut().zip(amount_parts_of(5 * SAT)) {
                *t -= Felt::new(p);
            }
        }
        assert!(margin_violations(&trace, &pi).is_empty());
        assert_rejected(trace, &pi);
    }
}

#[test]
fn debt_totals_off_by_one_are_rejected() {
    let leaves = ledger(true);
    for (asset, part) in [(BTC, 0), (USDT, 1), (ETH, 3), (ILQ, 4)] {
        let (trace, mut pi) = honest(&leaves, Forest::whole(16).unwrap());
        pi.debt_totals[asset as usize - 1][part] += Felt::ONE;
        assert_rejected(trace, &pi);
    }
    // equity moved into debt of the same asset
    let (trace, mut pi) = honest(&leaves, Forest::whole(16).unwrap());
    pi.debt_totals[0][0] += Felt::ONE;
    pi.base.totals[0][0] -= Felt::ONE;
    assert_rejected(trace, &pi);
}

// -- the section's structure ---------------------------------------------------------------------

/// A leaf row keyed by another leaf's index: [M0].
#[test]
fn a_leaf_keyed_by_another_index_is_rejected() {
    let leaves = ledger(true);
    let (mut trace, pi) = honest(&leaves, Forest::whole(16).unwrap());
    let row = rows_where(&trace, |r| trace.get(FIRST, r) == Felt::ONE && trace.get(IDX, r) == Felt::new(16 + 4))[0];
    assert_eq!(trace.get(UIDK, row), Felt::new(16 + 4));
    trace.set(UIDK, row, Felt::new(16 + 7));
    assert_eq!(margin_violations(&trace, &pi), BTreeSet::from([0]));
    assert_rejected(trace, &pi);
}

/// A close row dropped (turned into a filler): the run is left open, [M11].
#[test]
fn a_run_without_its_close_row_is_rejected() {
    let leaves = ledger(true);
    let (mut trace, pi) = honest(&leaves, Forest::whole(16).unwrap());
    let row = rows_where(&trace, |r| trace.get(MCLOSE, r) == Felt::ONE)[0];
    trace.set(MCLOSE, row, Felt::ZERO);
    assert_eq!(margin_violations(&trace, &pi), BTreeSet::from([11]));
    assert_rejected(trace, &pi);
}

/// An entry row whose running value skips a slot's product: [M13–M26].
#[test]
fn a_running_value_off_its_products_is_rejected() {
    let leaves = ledger(true);
    let (mut trace, pi) = honest(&leaves, Forest::whole(16).unwrap());
    let row = rows_where(&trace, |r| trace.get(MENTRY, r) == Felt::ONE)[0];
    let p = (0..POSITIONS).rev().find(|&p| trace.get(acc(p), row) != Felt::ZERO).unwrap();
    trace.set(acc(p), row, trace.get(acc(p), row) + Felt::ONE);
    assert!(margin_violations(&trace, &pi).contains(&(13 + p)));
    assert_rejected(trace, &pi);
}

/// The honest traces the dishonest ones start from satisfy every main and auxiliary constraint
/// and assertion, with the bus balanced (so each rejection below is the forgery's doing).
#[test]
fn an_honest_trace_satisfies_every_constraint() {
    use stark_por_solvency::air::Challenges;
    use winterfell::AuxRandElements;
    for borrowers in [false, true] {
        let (trace, pi) = honest(&ledger(borrowers), Forest::whole(16).unwrap());
        assert!(main_violations(&trace, &pi).is_empty());
        let options = Security::Bits100.options();
        let air = LiabilitiesAir::new(trace.info().clone(), pi.clone(), options.clone());
        let challenges = vec![Felt::new(123_456_789), Felt::new(987_654_321), Felt::new(55_555)];
        let rand = AuxRandElements::new(challenges.clone());
        let aux = crate::prover::build_aux_columns(&trace, &pi, &options, &rand, &SEED);
        let mut main = EvaluationFrame::<Felt>::new(MAIN_WIDTH_MARGIN);
        let mut frame = EvaluationFrame::<Felt>::new(AUX_WIDTH_MARGIN);
        let mut result = vec![Felt::ZERO; AUX_WIDTH_MARGIN];
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
        // the same identity, term by term: every row's terms sum to the verifier's side
        let ch = Challenges::from_rand(&challenges);
        let range = air::RangeCheck::new(112);
        let mut row = vec![Felt::ZERO; MAIN_WIDTH_MARGIN];
        let mut sum = Felt::ZERO;
        for r in 0..=air.last_real_row() {
            trace.main_segment().read_row_into(r, &mut row);
            sum += air::row_terms::<Felt, Felt>(&row, &range, &ch, true).iter().fold(Felt::ZERO, |a, (n, d)| a + *n / *d);
        }
        assert_eq!(sum, air.expected_sum(&ch));
    }
}

/// The close row's arithmetic (13-bit digit products in 14 positions, normalised in pairs)
/// decides coverage exactly as plain big-integer arithmetic does (32-bit words), over random
/// amounts and coefficients from 1 to the bounds (all-ones and powers of two among them), and
/// at exact equality and one unit short; when covered, every cell fits the range table.
#[test]
fn the_close_row_decides_coverage_as_big_integers_do() {
    use crate::margin::{close_cells, decimal_value, run_value};
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};
    let mut rng = ChaCha20Rng::from_seed([21; 32]);
    let mut draw = |bits: u32| -> u128 {
        let wide = (rng.next_u64() as u128) << 64 | rng.next_u64() as u128;
        let b = 1 + (rng.next_u64() % bits as u64) as u32;
        let v = wide >> (128 - b);
        match rng.next_u64() % 8 {
            0 => (1u128 << b) - 1,                        // all ones
            1 => 1u128 << (b - 1),                        // a power of two
            _ => v.max(1),
        }
    };
    let as_big = |s: String| (s.len(), s); // decimal strings compare as numbers this way
    let (mut covered_cases, mut uncovered_cases) = (0, 0);
    for case in 0..20_000 {
        let k = 1 + case % 6;
        let prices = Prices { collateral: (0..k).map(|_| draw(COEF_BITS)).collect(), debt: (0..k).map(|_| draw(COEF_BITS)).collect() };
        let entries: Vec<Entry> = (0..1 + case % 9)
            .map(|i| Entry { tag: 2 * (1 + (i % k) as u32) + (i as u32).is_multiple_of(3) as u32, amount: draw(112) })
            .collect();
        let value = run_value(&entries, |t| prices.of_tag(t));
        let (cells, covered) = close_cells(&value);
        let refs = |kind: u32| entries.iter().filter(|e| e.tag % 2 == kind).collect::<Vec<_>>();
        let (c, d) = (as_big(decimal_value(&refs(0), &prices)), as_big(decimal_value(&refs(1), &prices)));
        assert_eq!(covered, c >= d, "case {case}: {entries:?} {prices:?}");
        if covered {
            assert!(cells.iter().all(|&x| x < 1 << LIMB_BITS), "case {case}");
            covered_cases += 1;
        } else {
            uncovered_cases += 1;
        }
    }
    // exactly equal, and one unit short: (equity, its coefficient, debt, its coefficient)
    let top = (1u128 << COEF_BITS) - 1;
    for (e, c, debt, d, expected) in [
        (MAX, 3, MAX, 3, true),
        (MAX - 1, 3, MAX, 3, false),
        (6, 5, 10, 3, true),
        (6, 5, 31, 1, false),
        (MAX, top, MAX, top, true),
        (MAX - 1, top, MAX, top, false),
        (MAX, top, MAX, top - 1, true),
    ] {
        let prices = Prices { collateral: vec![c, 0], debt: vec![c, d] };
        let entries = vec![Entry::equity(1, e), Entry::debt(2, debt)];
        let (_, covered) = close_cells(&run_value(&entries, |t| prices.of_tag(t)));
        assert_eq!(covered, expected, "{e}·{c} against {debt}·{d}");
    }
    assert!(covered_cases > 1000 && uncovered_cases > 1000, "{covered_cases} {uncovered_cases}");
}
