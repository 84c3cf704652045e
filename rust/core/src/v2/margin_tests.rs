//! Statement version 3 (margin) through the core: rounds with debts proved in memory and
//! streamed, verified, and every tamper of what version 3 adds refused.

use std::sync::OnceLock;

use stark_por_liabilities::layout::PARTS;

use super::file::RoundFile;
use super::tests::streamed::placed_and_proved;
use super::tests::{decoded, format_error, invalid, ledger, make_consistent, round, Owned, MAX, SECRET};
use super::*;
use crate::spill::tests::tempfile_dir::Dir;
use crate::spill::{Layout, Placement, Spill, Version, BUCKETS};

pub(super) const EQ: u8 = 0;
pub(super) const DEBT_KIND: u8 = 1;

fn term(price: &str, haircut: &str) -> Option<PriceTerm> {
    Some(PriceTerm { price: price.into(), haircut: haircut.into() })
}

/// BTC, ETH and USDT priced (ETH with an 18-digit price), SHIB unpriced, ILLQ (an illiquid
/// token) priced with a 100 % haircut: worth nothing as collateral.
pub(super) fn prices() -> Vec<Option<PriceTerm>> {
    vec![term("97000.5", "0.05"), term("3500.123456789012345678", "0.1"), None, term("1", "0"), term("0.35", "1")]
}

pub(super) fn assets() -> Vec<Asset> {
    [("BTC", 8), ("ETH", 18), ("SHIB", 18), ("USDT", 6), ("ILLQ", 0)]
        .iter()
        .map(|&(name, decimals)| Asset { name: name.into(), decimals })
        .collect()
}

/// A ledger of users given as `(asset, kind, amount)` lists, sorted by `(asset, kind)`.
pub(super) fn owned(users: &[Vec<(u32, u8, u128)>]) -> Owned {
    let (mut indptr, mut asset_index, mut kinds, mut amounts) = (vec![0u64], vec![], vec![], vec![]);
    for u in users {
        for &(a, k, x) in u {
            asset_index.push(a);
            kinds.push(k);
            amounts.push(x);
        }
        indptr.push(asset_index.len() as u64);
    }
    Owned {
        ids: (0..users.len()).map(|u| format!("user-{u}")).collect(),
        assets: assets(),
        indptr,
        asset_index,
        lo: amounts.iter().map(|&a| a as u64).collect(),
        hi: amounts.iter().map(|&a| (a >> 64) as u64).collect(),
        kinds,
        range_bits: 112,
    }
}

/// `n` users; every tenth borrows USDT and ETH against BTC, two whales borrow BTC (2^99 sat)
/// against more BTC, and everyone else holds equity of every size, SHIB whales included.
pub(super) fn margin_users(n: usize) -> Vec<Vec<(u32, u8, u128)>> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|u| match u {
            13 | 23 => vec![(0, EQ, 1 << 100), (0, DEBT_KIND, 1 << 99), (2, EQ, MAX)],
            _ if u % 10 == 3 => vec![
                (0, EQ, 100_000_000 + next() as u128 % 100_000_000),
                (1, DEBT_KIND, 10u128.pow(18)),
                (3, DEBT_KIND, 50_000 * 10u128.pow(6) + next() as u128 % 1_000_000),
            ],
            _ => {
                let mut entries = vec![];
                for a in 0..5u32 {
                    if (u + a as usize) % 3 != 1 {
                        let bits = 1 + next() % 112;
                        entries.push((a, EQ, ((next() as u128) << 64 | next() as u128) >> (128 - bits) | 1));
                    }
                }
                entries
            },
        })
        .collect()
}

/// A 100-user round with margin cut into several forests, proved once for every test.
pub(super) fn margin_round() -> &'static (Owned, ProveOutput) {
    static ROUND: OnceLock<(Owned, ProveOutput)> = OnceLock::new();
    ROUND.get_or_init(|| {
        let l = owned(&margin_users(100));
        let out = prove_planned(&l.view(), SECRET, "m-1", Security::Bits100, &[150], 2, Some(&prices()), false).unwrap();
        (l, out)
    })
}

fn margin_decoded() -> RoundFile {
    RoundFile::from_bytes(&margin_round().1.file).unwrap()
}

/// The exact sum of one kind of `l`'s amounts of asset `k` (the test ledgers stay below 2^128).
fn sum(l: &Owned, k: u32, kind: u8) -> u128 {
    (0..l.lo.len())
        .filter(|&e| l.asset_index[e] == k && l.kinds[e] == kind)
        .map(|e| l.lo[e] as u128 | (l.hi[e] as u128) << 64)
        .fold(0u128, |a, x| a.checked_add(x).unwrap())
}

#[test]
fn a_round_with_margin_verifies_with_exact_equity_and_debt_totals() {
    let (l, out) = margin_round();
    assert!(out.forests.len() >= 3, "{} forests", out.forests.len());
    let AnyVerified::V2(v) = verify_any(&out.file, 100).unwrap() else { panic!("read as version 1") };
    assert_eq!(v.statement, out.statement);
    assert_eq!(v.statement.statement_version(), 3);
    assert_eq!(&out.file[8..10], &3u16.to_le_bytes(), "format version 3");
    assert!(v.security_bits >= 100 && v.proven_security_bits <= v.security_bits);
    assert_eq!((v.security_bits, v.proven_security_bits), (out.security_bits, out.proven_security_bits));
    assert_eq!(read_statement_any(&out.file).unwrap(), AnyStatement::V2(out.statement.clone()));
    let m = v.statement.margin.as_ref().unwrap();
    assert_eq!((m.unit_exp, &m.prices), (VALUE_UNIT_EXP, &prices()));
    for k in 0..5u32 {
        assert_eq!(v.statement.totals[k as usize], minimal(&sum(l, k, EQ).to_le_bytes()), "equity of asset {k}");
        assert_eq!(m.debt_totals[k as usize], minimal(&sum(l, k, DEBT_KIND).to_le_bytes()), "debt of asset {k}");
    }
    assert!(sum(l, 0, DEBT_KIND) >= 1 << 100, "the whales' BTC debt is in the total");
    assert!(m.debt_totals[2].is_empty(), "SHIB is unpriced: no debt");
    // the fingerprint is version 3's, over the margin fields too
    let s = v.statement.summary();
    s.validate_as(3).unwrap();
    assert_eq!(v.statement.fingerprint(), s.fingerprint_as(3));
    assert_eq!(RoundFile::from_bytes(&out.file).unwrap().to_bytes(), out.file, "re-encoding is exact");
    // the same round proves to the same bytes
    let again = prove_planned(&l.view(), SECRET, "m-1", Security::Bits100, &[150], 1, Some(&prices()), false).unwrap();
    assert_eq!(again.file, out.file);
}

#[test]
fn a_ledger_without_debt_with_prices_is_a_version_3_round_and_without_them_version_2() {
    let l = ledger(20);
    let p: Vec<Option<PriceTerm>> = vec![term("97000", "0.05"), term("3500", "0.1"), None, term("1", "0")];
    let v3 = prove_round(&l.view(), SECRET, "m-2", Security::Bits100, 14, 1, Some(&p), false).unwrap();
    let v2 = prove_round(&l.view(), SECRET, "m-2", Security::Bits100, 14, 1, None, false).unwrap();
    assert_eq!(v3.statement.statement_version(), 3);
    assert_eq!(v2.statement.statement_version(), 2);
    assert_eq!((v3.statement.root, &v3.statement.totals), (v2.statement.root, &v2.statement.totals), "the same leaves");
    assert!(v3.statement.margin.as_ref().unwrap().debt_totals.iter().all(Vec::is_empty));
    verify(&v3.file, 100).unwrap();
    // a version-2 proof spliced into the version-3 file, and the other way round
    let (mut f3, mut f2) = (RoundFile::from_bytes(&v3.file).unwrap(), RoundFile::from_bytes(&v2.file).unwrap());
    let p3 = std::mem::replace(&mut f3.forests[0].proof, f2.forests[0].proof.clone());
    f2.forests[0].proof = p3;
    assert!(invalid(&f3.to_bytes()).contains("forest 0"));
    assert!(invalid(&f2.to_bytes()).contains("forest 0"));
}

#[test]
fn version_2_files_and_fixtures_still_verify() {
    let (_, out) = round();
    let AnyVerified::V2(v) = verify_any(&out.file, 100).unwrap() else { panic!("read as version 1") };
    assert_eq!((v.statement.statement_version(), &out.file[8..10]), (2, &2u16.to_le_bytes()[..]));
    assert!(v.statement.margin.is_none());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/rounds/v2");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "stpor") {
            let bytes = std::fs::read(&path).unwrap();
            let AnyVerified::V2(v) = verify_any(&bytes, 100).unwrap() else { panic!("{path:?} read as version 1") };
            assert_eq!(v.statement.statement_version(), 2, "{path:?}");
            assert_eq!(RoundFile::from_bytes(&bytes).unwrap().to_bytes(), bytes, "{path:?} re-encodes exactly");
            seen += 1;
        }
    }
    assert!(seen >= 2, "{seen} version-2 fixtures");
}

#[test]
fn debt_totals_are_exact_beyond_2_to_128_and_an_inflated_debt_part_is_caught_by_the_proof() {
    // a debt part sum raised near 2^60 at offset 88 in every forest: the statement made
    // consistent holds a debt total above 2^148, summed exactly, so the sums check passes and
    // the forest proofs refuse it
    let mut f = margin_decoded();
    for r in f.forests.iter_mut() {
        r.debt_parts[3][4] += 1 << 60;
    }
    make_consistent(&mut f);
    let total = &f.statement.margin.as_ref().unwrap().debt_totals[3];
    assert!(total.len() >= 19, "{} bytes", total.len());
    let mut expected = vec![0u64; 3];
    for r in &f.forests {
        add_parts(&mut expected, &r.debt_parts[3]);
    }
    assert_eq!(*total, words_to_bytes(&expected));
    let m = invalid(&f.to_bytes());
    assert!(m.starts_with("forest 0"), "{m}");
}

#[test]
fn a_debt_part_sum_off_by_one_is_refused() {
    // the statement left as it was: the sums check
    let mut f = margin_decoded();
    f.forests[1].debt_parts[0][0] += 1;
    assert!(invalid(&f.to_bytes()).contains("debt totals are not the exact sums"));
    // the statement made consistent: forest 1's proof
    make_consistent(&mut f);
    assert!(invalid(&f.to_bytes()).starts_with("forest 1"));
    // debt moved between forests keeps the sums: both proofs refuse
    let mut f = margin_decoded();
    f.forests[0].debt_parts[3][1] += 1;
    f.forests[1].debt_parts[3][1] -= 1;
    let m = invalid(&f.to_bytes());
    assert!(m.starts_with("forest 0") || m.starts_with("forest 1"), "{m}");
    // a debt total off by one in the statement
    let mut f = margin_decoded();
    let mut t = f.statement.margin.as_ref().unwrap().debt_totals[3].clone();
    t[0] ^= 1;
    f.statement.margin.as_mut().unwrap().debt_totals[3] = t;
    assert!(invalid(&f.to_bytes()).contains("debt totals"));
}

#[test]
fn changed_prices_haircuts_unit_or_priced_flags_are_refused_by_the_proofs() {
    type Tamper = Box<dyn Fn(&mut Margin)>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("a price", Box::new(|m| m.prices[0] = term("97000.6", "0.05"))),
        ("a long price's last digit", Box::new(|m| m.prices[1] = term("3500.123456789012345679", "0.1"))),
        ("a haircut", Box::new(|m| m.prices[0] = term("97000.5", "0.04"))),
        ("the 100 % haircut", Box::new(|m| m.prices[4] = term("0.35", "0.99"))),
        ("the value unit", Box::new(|m| m.unit_exp = 26)),
        // a priced asset without debt made unpriced: coefficients 0 and 1
        ("a priced flag", Box::new(|m| m.prices[4] = None)),
        // the unpriced asset given a price
        ("an unpriced flag", Box::new(|m| m.prices[2] = term("0.000022", "0.5"))),
    ];
    // ETH's last price digit does not move its coefficients: only the forests' binding of the
    // price strings catches it
    let m = margin_decoded().statement.margin.unwrap();
    let mut respelled = m.clone();
    respelled.prices[1] = term("3500.123456789012345679", "0.1");
    assert_eq!(m.coefficients(&assets()).unwrap(), respelled.coefficients(&assets()).unwrap());
    for (what, tamper) in cases {
        let mut f = margin_decoded();
        tamper(f.statement.margin.as_mut().unwrap());
        let m = invalid(&f.to_bytes());
        assert!(m.starts_with("forest 0"), "{what}: {m}");
    }
}

/// The offset of the statement's margin block in a version-3 file (after the equity totals).
fn margin_offset(f: &RoundFile) -> usize {
    let s = &f.statement;
    let mut at = 8 + 2 + 1 + 4 + 2 + s.round_id.len() + 1 + 8 + 32 + 4;
    for (a, t) in s.assets.iter().zip(&s.totals) {
        at += 1 + a.name.len() + 1 + 2 + t.len();
    }
    at
}

#[test]
fn malformed_margin_fields_are_format_errors_naming_their_offset() {
    let f = margin_decoded();
    let bytes = f.to_bytes();
    let at = margin_offset(&f);
    assert_eq!(bytes[at], VALUE_UNIT_EXP, "the margin block starts with the unit");
    // BTC's debt total, then its priced flag
    let btc_debt = f.statement.margin.as_ref().unwrap().debt_totals[0].len();
    let flag = at + 1 + 2 + btc_debt;
    assert_eq!(bytes[flag], 1);
    let mut bad = bytes.clone();
    bad[flag] = 2;
    let (offset, message) = format_error(&bad);
    assert_eq!(offset, flag, "{message}");
    assert!(message.contains("priced flag 2") && message.contains("BTC"), "{message}");
    // a price spelled with a trailing zero, or with an exponent
    for (price, what) in [("97000.50", "trailing zero"), ("9.70005e4", "exponent"), ("097000.5", "leading zero")] {
        let mut g = margin_decoded();
        g.statement.margin.as_mut().unwrap().prices[0] = term(price, "0.05");
        let (offset, message) = format_error(&g.to_bytes());
        assert_eq!(offset, flag + 2, "{what}: {message}");
        assert!(message.contains("canonical") && message.contains("price of BTC"), "{what}: {message}");
    }
    let mut g = margin_decoded();
    g.statement.margin.as_mut().unwrap().prices[0] = term("97000.5", "-0.05");
    assert!(format_error(&g.to_bytes()).1.contains("haircut of BTC"));
    // an unpriced asset with a debt total, a haircut above 1, a debt total not minimal
    let mut g = margin_decoded();
    g.statement.margin.as_mut().unwrap().debt_totals[2] = vec![1];
    assert!(format_error(&g.to_bytes()).1.contains("SHIB has no price"));
    let mut g = margin_decoded();
    g.statement.margin.as_mut().unwrap().prices[3] = term("1", "1.5");
    assert!(format_error(&g.to_bytes()).1.contains("above 1"));
    let mut g = margin_decoded();
    g.statement.margin.as_mut().unwrap().debt_totals[0].push(0);
    assert!(format_error(&g.to_bytes()).1.contains("minimally"));
    // a BTC price whose debt coefficient reaches 2^91
    let mut g = margin_decoded();
    g.statement.margin.as_mut().unwrap().prices[0] = term("300000000", "0");
    assert!(format_error(&g.to_bytes()).1.contains("2^91"));
    // truncated anywhere in the margin block or the forests
    for cut in (at..at + 80).chain(bytes.len() - 200..bytes.len()).step_by(7) {
        format_error(&bytes[..cut]);
    }
    // the version-3 statement read as a version-2 one, and the other way round
    let mut as_v2 = bytes.clone();
    as_v2[8] = 2;
    format_error(&as_v2);
    let mut as_v3 = round().1.file.clone();
    as_v3[8] = 3;
    format_error(&as_v3);
}

#[test]
fn the_dummy_user_and_other_bad_debts_are_refused_naming_the_user_asset_and_values() {
    let fail = |users: &[Vec<(u32, u8, u128)>], p: Option<&[Option<PriceTerm>]>| -> (Option<usize>, String) {
        let l = owned(users);
        match prove_round(&l.view(), SECRET, "m-3", Security::Bits100, 14, 1, p, false) {
            Err(Error::Ledger { user, message, .. }) => (user, message),
            Err(e) => panic!("expected a ledger error, got {e:?}"),
            Ok(_) => panic!("a bad ledger was proved"),
        }
    };
    let honest = vec![(0, EQ, 100_000_000)];
    // the dummy user: 2 BTC of debt against a million ILLQ, worth nothing after its haircut
    let dummy = vec![(0, DEBT_KIND, 200_000_000), (4, EQ, 1_000_000)];
    let (user, m) = fail(&[honest.clone(), honest.clone(), dummy.clone()], Some(&prices()));
    assert_eq!(user, Some(2));
    assert!(m.contains("user 2") && m.contains("user-2") && m.contains("BTC") && m.contains("ILLQ"), "{m}");
    // values in USD: 2 BTC at $97,000.50, rounded up per satoshi; the collateral is 0
    assert!(m.contains("worth 194001 USD") && m.contains("worth 0 USD"), "{m}");
    // the same borrower with enough BTC collateral is fine; a hair short is not
    let covered = vec![(0, EQ, 210_526_316), (0, DEBT_KIND, 200_000_000)];
    let short = vec![(0, EQ, 210_526_315), (0, DEBT_KIND, 200_000_000)];
    let ok = owned(&[covered, honest.clone()]);
    ok.view().check_from(0, Some(&RoundPrices::new(&ok.assets, &prices()).unwrap())).unwrap();
    assert_eq!(fail(&[honest.clone(), short], Some(&prices())).0, Some(1));
    // a debt without prices (version 2), a debt in the unpriced SHIB
    let (user, m) = fail(&[honest.clone(), vec![(3, DEBT_KIND, 5_000_000)]], None);
    assert_eq!(user, Some(1));
    assert!(m.contains("5000000 USDT") && m.contains("needs prices"), "{m}");
    let (user, m) = fail(&[vec![(0, EQ, 1 << 60), (2, DEBT_KIND, 77)], honest.clone()], Some(&prices()));
    assert_eq!(user, Some(0));
    assert!(m.contains("77 SHIB") && m.contains("without a price"), "{m}");
    // a kind that is neither, a debt before the equity of its asset, a debt of 0
    let l = owned(&[vec![(0, 2, 5)]]);
    assert!(l.view().check().unwrap_err().to_string().contains("kind 2"));
    let (_, m) = fail(&[vec![(0, DEBT_KIND, 5), (0, EQ, 100)]], Some(&prices()));
    assert!(m.contains("strictly increasing by (asset, kind)"), "{m}");
    let (_, m) = fail(&[vec![(0, EQ, 100), (0, DEBT_KIND, 0)]], Some(&prices()));
    assert!(m.contains("debt 0 of BTC"), "{m}");
    // kinds of another length than the entries
    let mut l = owned(std::slice::from_ref(&honest));
    l.kinds.push(0);
    assert!(matches!(l.view().check(), Err(Error::Ledger { user: None, .. })));
}

#[test]
fn a_borrower_with_more_entries_than_margin_rows_hold_is_refused() {
    // 300 priced assets: equity and debt in each is 600 entries, above the 510 of 255 rows
    let assets: Vec<Asset> = (0..300).map(|k| Asset { name: format!("T{k}"), decimals: 6 }).collect();
    let p: Vec<Option<PriceTerm>> = vec![term("1", "0"); 300];
    let entries: Vec<(u32, u8, u128)> = (0..300u32).flat_map(|a| [(a, EQ, 10), (a, DEBT_KIND, 1)]).collect();
    let mut l = owned(&[vec![(0, EQ, 1)], entries]);
    l.assets = assets;
    match prove_round(&l.view(), SECRET, "m-4", Security::Bits100, 14, 1, Some(&p), false) {
        Err(Error::Ledger { user: Some(1), message, .. }) => assert!(message.contains("600 entries") && message.contains("510"), "{message}"),
        other => panic!("{:?}", other.err()),
    }
    // prices for another number of assets, or out of their range, are refused up front
    assert!(matches!(prove_round(&l.view(), SECRET, "m-4", Security::Bits100, 14, 1, Some(&p[1..]), false), Err(Error::Input(_))));
}

#[test]
fn an_uncovered_borrower_in_a_job_made_elsewhere_is_refused_naming_its_leaf() {
    let (l, _) = margin_round();
    let stub = {
        let mut s = stub(SECRET, "m-1", &l.assets, 112, 128).unwrap();
        s.margin = Some(RoundPrices::new(&l.assets, &prices()).unwrap().stub(l.assets.len()));
        s
    };
    let plan = vec![Forest::whole(128).unwrap()];
    let (leaves, _, _) = build_leaves(&l.view(), SECRET, "m-1");
    let mut leaves = leaves;
    let k = leaves.iter().position(|x| x.entries.iter().any(|e| e.tag % 2 == 1)).unwrap();
    leaves[k].entries.retain(|e| e.tag % 2 == 1);
    let job = job::forest_job(&stub, SECRET, Security::Bits100, &plan, 0, leaves);
    match job::prove_forest(&job, 1) {
        Err(Error::Ledger { message, .. }) => assert!(message.contains(&format!("leaf {k}")) && message.contains("not covered"), "{message}"),
        other => panic!("{:?}", other.err()),
    }
}

// -- streamed ------------------------------------------------------------------------------------

pub(super) fn place_priced(l: &Owned, round_id: &str, chunk: usize) -> (Dir, Placement) {
    let dir = Dir::new();
    let mut spill = Spill::create_priced(dir.path(), SECRET, round_id, &l.assets, l.range_bits, &prices()).unwrap();
    for lo in (0..l.ids.len()).step_by(chunk) {
        spill.append_wide(&l.slice(lo, (lo + chunk).min(l.ids.len())).view()).unwrap();
    }
    let layout = spill.finish(&|| ()).unwrap();
    assert_eq!(layout.version, Version::V3);
    assert_eq!(Layout::load(dir.path()).unwrap().as_ref(), Some(&layout));
    let placement = Placement::open_priced(dir.path(), SECRET, round_id, &l.assets, l.range_bits, Some(&prices())).unwrap();
    (dir, placement)
}

#[test]
fn a_streamed_round_with_margin_is_byte_for_byte_the_in_memory_round() {
    let (l, expected) = margin_round();
    let chunks = [17, 100];
    let (placements, plan, paths) = placed_and_proved(|c| place_priced(l, "m-1", c), &chunks, 150, false);
    assert_eq!(plan, expected.forests, "the same plan");
    for ((_dir, placement), chunk) in placements.iter().zip(chunks) {
        let a = placement.assemble_forests(Security::Bits100, &plan, &paths, false).unwrap();
        assert_eq!(a.file, expected.file, "chunks of {chunk}");
        assert_eq!((a.trace_rows.clone(), a.working_rows), (expected.trace_rows.clone(), expected.working_rows));
        let mut seen = 0;
        for b in 0..BUCKETS {
            for row in placement.users_in_bucket(b).unwrap() {
                let u: usize = row.user_id.strip_prefix("user-").unwrap().parse().unwrap();
                assert_eq!(row.position, expected.positions[u]);
                let tags: Vec<(u32, u128)> = (l.indptr[u] as usize..l.indptr[u + 1] as usize)
                    .map(|e| (l.view().tag(e), l.view().amount(e)))
                    .collect();
                assert_eq!(row.entries, tags);
                seen += 1;
            }
        }
        assert_eq!(seen, 100);
    }
    // the default plan leaves each trace room for the price table, as in memory
    let (_dir, placement) = place_priced(l, "m-1", 100);
    let in_memory = prove_round(&l.view(), SECRET, "m-1", Security::Bits100, 14, 1, Some(&prices()), false).unwrap();
    assert_eq!(placement.forest_plan(Security::Bits100, 14, false).unwrap(), in_memory.forests);
}

#[test]
fn a_placement_resumes_only_with_its_own_prices() {
    let l = owned(&margin_users(30));
    let (dir, _) = place_priced(&l, "m-5", 30);
    let open = |p: Option<&[Option<PriceTerm>]>| Placement::open_priced(dir.path(), SECRET, "m-5", &l.assets, 112, p);
    assert!(open(Some(&prices())).is_ok());
    let mut other = prices();
    other[1] = term("3500.12345678901234568", "0.1");
    assert!(matches!(open(Some(&other)), Err(Error::Input(m)) if m.contains("other prices")));
    assert!(matches!(open(None), Err(Error::Input(m)) if m.contains("give its prices")));
    assert!(Placement::open(dir.path(), SECRET, "m-5", &l.assets, 112).is_err());
    // a version-2 placement takes no prices, and no debt
    let v2 = ledger(10);
    let dir2 = Dir::new();
    let mut spill = Spill::create_for(Version::V2, dir2.path(), SECRET, "m-5", &v2.assets, 112).unwrap();
    spill.append_wide(&v2.view()).unwrap();
    spill.finish(&|| ()).unwrap();
    let p4: Vec<Option<PriceTerm>> = vec![None; 4];
    assert!(Placement::open_priced(dir2.path(), SECRET, "m-5", &v2.assets, 112, Some(&p4)).is_err());
    let mut spill = Spill::create_for(Version::V2, dir2.path(), SECRET, "m-5", &l.assets, 112).unwrap();
    assert!(matches!(spill.append_wide(&l.view()), Err(Error::Ledger { user: Some(3), .. })));
    assert!(Spill::create_for(Version::V3, dir2.path(), SECRET, "m-5", &l.assets, 112).is_err());
    // debts are checked as they stream in, naming the user by their place in the ledger
    let mut users = margin_users(30);
    users[27] = vec![(0, DEBT_KIND, 200_000_000), (4, EQ, 1_000_000)];
    let l = owned(&users);
    let mut spill = Spill::create_priced(dir2.path(), SECRET, "m-5", &l.assets, 112, &prices()).unwrap();
    spill.append_wide(&l.slice(0, 20).view()).unwrap();
    match spill.append_wide(&l.slice(20, 30).view()) {
        Err(Error::Ledger { user: Some(27), message, .. }) => assert!(message.contains("user 27") && message.contains("ILLQ"), "{message}"),
        other => panic!("{:?}", other.err()),
    }
}

/// `prices.bin` is read back exactly: truncated, extended, another unit, a priced flag other
/// than 0 or 1, a price that is not UTF-8, or an empty file, is a damaged work file (never
/// prices read some other way, never a panic).
#[test]
fn a_damaged_prices_file_is_refused_as_damaged() {
    let l = owned(&margin_users(30));
    let (dir, _) = place_priced(&l, "m-6", 30);
    let path = dir.path().join("prices.bin");
    let good = std::fs::read(&path).unwrap();
    let open = || Placement::open_priced(dir.path(), SECRET, "m-6", &l.assets, 112, Some(&prices()));
    assert!(open().is_ok());
    // unit_exp u8 | BTC: priced 1 | price length | "97000.5" | …
    assert_eq!((good[0], good[1], good[2], &good[3..10]), (VALUE_UNIT_EXP, 1, 7, &b"97000.5"[..]));
    let edit = |at: usize, b: u8| {
        let mut x = good.clone();
        x[at] = b;
        x
    };
    let damaged = [
        good[..good.len() - 1].to_vec(),
        [good.as_slice(), &[0]].concat(),
        edit(0, VALUE_UNIT_EXP - 1),
        edit(1, 2),
        edit(4, 0xff),
        edit(2, 200),
        vec![],
    ];
    for bytes in damaged {
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(open(), Err(Error::Work(m)) if m.contains("damaged prices file")), "{bytes:?}");
    }
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(open(), Err(Error::Work(_))));
}

#[test]
fn forest_jobs_and_results_of_version_3_carry_their_prices() {
    use super::job::{answers, prove_encoded, ForestJob, ForestOutput};
    let (l, _) = margin_round();
    let (_dir, placement) = place_priced(l, "m-1", 100);
    let plan = placement.forest_plan_within(&[150]).unwrap();
    let job = placement.forest_job(Security::Bits100, &plan, 1, false).unwrap();
    assert!(job.prices.is_some());
    let bytes = job.to_bytes();
    assert_eq!(&bytes[..8], b"STPRFJB3");
    assert_eq!(ForestJob::from_bytes(&bytes).unwrap().to_bytes(), bytes);
    let out = prove_encoded(&bytes, 1).unwrap();
    assert_eq!(&out[..8], b"STPRFRS3");
    let decoded = ForestOutput::from_bytes(&out).unwrap();
    assert_eq!(decoded.to_bytes(), out);
    assert_eq!(decoded.margin.as_ref().map(|m| &m.prices), job.prices.as_ref());
    assert!(answers(&bytes, &out));
    // coefficients out of their range in a job are refused where they are read
    let k = l.assets.len();
    let debt_at = bytes.len() - job.leaves.iter().map(|x| 36 + 20 * x.entries.len()).sum::<usize>() - 32 * k + 16;
    let mut bad = bytes.clone();
    bad[debt_at..debt_at + 16].copy_from_slice(&0u128.to_le_bytes());
    assert!(matches!(ForestJob::from_bytes(&bad), Err(Error::Format { .. })));
    for cut in (0..bytes.len()).step_by(211) {
        assert!(ForestJob::from_bytes(&bytes[..cut]).is_err());
    }
    for cut in (0..out.len()).step_by(997) {
        assert!(ForestOutput::from_bytes(&out[..cut]).is_err());
    }
    // a version-2 job of the same leaves keeps version 2's bytes and magic
    let mut v2 = ForestJob::from_bytes(&bytes).unwrap();
    v2.prices = None;
    assert_eq!(&v2.to_bytes()[..8], b"STPRFJB2");
}

#[test]
fn a_debt_part_of_each_forest_record_is_read_where_the_layout_puts_it() {
    // forest records of version 3 hold K × 5 debt part sums after the equity ones
    let f = margin_decoded();
    let k = f.statement.assets.len();
    assert!(f.forests.iter().all(|r| r.parts.len() == k && r.debt_parts.len() == k));
    let total: Vec<u8> = round_totals(k, f.forests.iter().map(|r| r.debt_parts.as_slice()))[0].clone();
    assert_eq!(total, f.statement.margin.as_ref().unwrap().debt_totals[0]);
    assert_eq!(PARTS, 5);
    let v2 = decoded();
    assert!(v2.forests.iter().all(|r| r.debt_parts.is_empty()));
}

/// Inclusion in a round with margin: every user's proof (version 3, entries with their kind)
/// verifies against the verified statement and its summary, and shows the collateral check at
/// the statement's own coefficients; a debt shown as equity, or the same proof against the
/// round read without its margin, is refused.
#[test]
fn inclusion_proofs_of_a_round_with_margin_show_each_user_their_collateral_check() {
    use crate::inclusion::{path_from_tree, proof_leaf, verify_inclusion, Anchor, Expected, InclusionEntry, InclusionProof, Value, INCLUSION_VERSION_3};
    use stark_por_solvency::hash::digest_to_bytes;

    let (l, out) = margin_round();
    let s = &out.statement;
    let summary = s.summary();
    let (by_statement, by_summary) = (Anchor::statement_v2(s), Anchor::summary_as(&summary, 3));
    assert_eq!((by_statement.statement_version(), by_statement.fingerprint()), (3, s.fingerprint()));
    let coefficients = s.margin.as_ref().unwrap().coefficients(&s.assets).unwrap();
    let tree = super::inclusion::tree_digests(&out.tree);
    let n = s.num_leaves;
    let mut borrowers = 0;
    for u in 0..l.ids.len() {
        let (lo, hi) = (l.indptr[u] as usize, l.indptr[u + 1] as usize);
        let pos = out.positions[u];
        let p = InclusionProof {
            version: INCLUSION_VERSION_3,
            round_id: s.round_id.clone(),
            user_id: l.ids[u].clone(),
            salt: out.salts[u],
            entries: (lo..hi)
                .map(|e| {
                    let a = &l.assets[l.asset_index[e] as usize];
                    let amount = l.lo[e] as u128 | (l.hi[e] as u128) << 64;
                    InclusionEntry { asset: a.name.clone(), index: l.asset_index[e] + 1, decimals: a.decimals, amount, kind: l.kinds[e] as u32 }
                })
                .collect(),
            leaf_index: pos,
            num_leaves: n,
            leaf: out.tree[(n + pos) as usize],
            root: s.root,
            path: path_from_tree(&tree, pos).iter().map(digest_to_bytes).collect(),
        };
        let (mut collateral, mut debt) = (Value::default(), Value::default());
        for e in &p.entries {
            let k = e.index as usize - 1;
            if e.kind == 1 {
                debt.add_product(e.amount, coefficients.debt[k]).unwrap();
            } else {
                collateral.add_product(e.amount, coefficients.collateral[k]).unwrap();
            }
        }
        let expected = Expected { user_id: &l.ids[u], fingerprint: Some(s.fingerprint()) };
        for anchor in [&by_statement, &by_summary] {
            let position = verify_inclusion(&p, anchor, &expected).unwrap().expect("a version-3 position");
            assert_eq!((position.collateral_value, position.debt_value, position.unit_exp), (collateral, debt, VALUE_UNIT_EXP));
            assert!(position.covered());
        }
        if let Some(k) = p.entries.iter().position(|e| e.kind == 1) {
            borrowers += 1;
            // a debt shown as equity hashes to another leaf (and with that leaf, another path)
            let mut hidden = p.clone();
            hidden.entries[k].kind = 0;
            let reason = |q: &InclusionProof| verify_inclusion(q, &by_statement, &expected).unwrap_err().reason();
            if hidden.entries.windows(2).all(|w| (w[0].index, w[0].kind) < (w[1].index, w[1].kind)) {
                assert_eq!(reason(&hidden), "leaf-mismatch", "user {u}");
                hidden.leaf = proof_leaf(&hidden).unwrap();
                assert_eq!(reason(&hidden), "path-mismatch", "user {u}");
            } else {
                assert_eq!(reason(&hidden), "malformed", "user {u}: the debt's equity is already listed");
            }
        }
        // the round read without its margin is a version-2 statement: version-3 proofs do not fit
        let mut plain = summary.clone();
        plain.margin = None;
        let err = verify_inclusion(&p, &Anchor::summary_as(&plain, 2), &Expected { user_id: &l.ids[u], fingerprint: None }).unwrap_err();
        assert_eq!(err.reason(), "version-mismatch");
    }
    assert!(borrowers >= 10, "{borrowers} borrowers");
}
