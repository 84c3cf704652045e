use std::sync::OnceLock;

use stark_por_liabilities::hash::EQUITY;
use stark_por_liabilities::layout::PARTS;
use stark_por_liabilities::prover::amount_parts_of;
use stark_por_solvency::hash::{digest_to_bytes, merkle_tree};

use super::file::RoundFile;
use super::inclusion::{path_from_tree, tree_digests, user_leaf};
use super::*;
use crate::inclusion::{verify_inclusion, Anchor, Expected, InclusionEntry, InclusionError, InclusionProof, INCLUSION_VERSION_2};

pub(super) const SECRET: &[u8] = b"a version-2 round secret of enough bytes";
pub(super) const MAX: u128 = (1 << 112) - 1;

/// Amounts at every boundary that matters: dust, the limb and element boundaries around 2^62
/// and 2^64, 5 ETH at 18 decimals, and whales just below the bound.
const SPECIAL: [u128; 12] = [
    1,
    (1 << 62) - 1,
    1 << 62,
    (1 << 62) + 1,
    (1 << 64) - 1,
    1 << 64,
    (1 << 64) + 1,
    5_000_000_000_000_000_000,
    (1 << 100) + 12_345,
    MAX - 1,
    MAX,
    8_191 << 62,
];

pub(super) struct Owned {
    pub(super) ids: Vec<String>,
    pub(super) assets: Vec<Asset>,
    pub(super) indptr: Vec<u64>,
    pub(super) asset_index: Vec<u32>,
    pub(super) lo: Vec<u64>,
    pub(super) hi: Vec<u64>,
    /// Empty (all equity) or one kind per entry.
    pub(super) kinds: Vec<u8>,
    pub(super) range_bits: u32,
}

impl Owned {
    pub(super) fn view(&self) -> WideLedgerRef<'_> {
        WideLedgerRef {
            user_ids: &self.ids,
            assets: &self.assets,
            indptr: &self.indptr,
            asset_index: &self.asset_index,
            amounts_lo: &self.lo,
            amounts_hi: &self.hi,
            kinds: &self.kinds,
            range_bits: self.range_bits,
        }
    }

    /// User `u`'s balances as `(1-based asset, amount)`.
    fn balances(&self, u: usize) -> Vec<(u32, u128)> {
        (self.indptr[u] as usize..self.indptr[u + 1] as usize)
            .map(|e| (self.asset_index[e] + 1, self.lo[e] as u128 | (self.hi[e] as u128) << 64))
            .collect()
    }

    /// The exact total of asset `k`, summed here in `u128` (the test ledgers stay below 2^128).
    pub(super) fn total(&self, k: u32) -> u128 {
        (0..self.lo.len())
            .filter(|&e| self.asset_index[e] == k)
            .map(|e| self.lo[e] as u128 | (self.hi[e] as u128) << 64)
            .fold(0u128, |a, x| a.checked_add(x).unwrap())
    }
}

/// `n` users over BTC, ETH, SHIB and USDT: the special amounts in turn, the rest pseudo-random
/// amounts of every size, between 0 and 4 balances each.
pub(super) fn ledger(n: usize) -> Owned {
    let assets = [("BTC", 8), ("ETH", 18), ("SHIB", 18), ("USDT", 6)]
        .iter()
        .map(|&(name, decimals)| Asset { name: name.into(), decimals })
        .collect();
    let (mut indptr, mut asset_index, mut amounts) = (vec![0u64], vec![], vec![]);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for u in 0..n {
        for k in 0..4u32 {
            if (u + k as usize) % 3 == 2 {
                continue;
            }
            let amount = if u < 40 {
                SPECIAL[(u + k as usize) % SPECIAL.len()]
            } else {
                let bits = 1 + next() % 112;
                let v = (next() as u128) << 64 | next() as u128;
                (v >> (128 - bits)).max(1)
            };
            asset_index.push(k);
            amounts.push(amount);
        }
        indptr.push(asset_index.len() as u64);
    }
    Owned {
        ids: (0..n).map(|u| format!("user-{u}")).collect(),
        assets,
        indptr,
        asset_index,
        lo: amounts.iter().map(|&a| a as u64).collect(),
        hi: amounts.iter().map(|&a| (a >> 64) as u64).collect(),
        kinds: vec![],
        range_bits: 112,
    }
}

/// A 300-user round (512 leaves) cut into several forests, proved once for every test.
pub(super) fn round() -> &'static (Owned, ProveOutput) {
    static ROUND: OnceLock<(Owned, ProveOutput)> = OnceLock::new();
    ROUND.get_or_init(|| {
        let l = ledger(300);
        let out = prove_planned(&l.view(), SECRET, "r-1", Security::Bits100, &[400], 2, None, false).unwrap();
        (l, out)
    })
}

/// A small round of several forests under another round id, proved once.
fn other_round() -> &'static ProveOutput {
    static ROUND: OnceLock<ProveOutput> = OnceLock::new();
    ROUND.get_or_init(|| prove_planned(&ledger(30).view(), SECRET, "r-2", Security::Bits100, &[40], 2, None, false).unwrap())
}

pub(super) fn decoded() -> RoundFile {
    RoundFile::from_bytes(&round().1.file).unwrap()
}

/// The message of a refusal that is not a format error.
pub(super) fn invalid(bytes: &[u8]) -> String {
    match verify(bytes, 100) {
        Err(Error::Invalid(m)) => m,
        Err(e) => panic!("expected an invalid proof, got {e:?}"),
        Ok(_) => panic!("a tampered round verified"),
    }
}

pub(super) fn format_error(bytes: &[u8]) -> (usize, String) {
    match verify(bytes, 100) {
        Err(Error::Format { offset, message }) => (offset, message),
        Err(e) => panic!("expected a format error, got {e:?}"),
        Ok(_) => panic!("a malformed round verified"),
    }
}

/// Recomputes the statement's root and totals from the (tampered) forests, so that only the
/// proofs can catch what changed.
pub(super) fn make_consistent(f: &mut RoundFile) {
    let parts: Vec<(Forest, Vec<Digest>)> = f
        .forests
        .iter()
        .map(|r| (Forest::new(f.statement.num_leaves, r.start, r.end).unwrap(), r.root_digests().unwrap()))
        .collect();
    let views: Vec<(Forest, &[Digest])> = parts.iter().map(|(x, r)| (*x, r.as_slice())).collect();
    f.statement.root = digest_to_bytes(&forest::round_root(&views).unwrap());
    f.statement.totals = round_totals(f.statement.assets.len(), f.forests.iter().map(|r| r.parts.as_slice()));
    if let Some(m) = &mut f.statement.margin {
        m.debt_totals = round_totals(f.statement.assets.len(), f.forests.iter().map(|r| r.debt_parts.as_slice()));
    }
}

#[test]
fn a_round_of_whales_verifies_with_exact_totals() {
    let (l, out) = round();
    assert!(out.forests.len() >= 3, "{} forests", out.forests.len());
    let AnyVerified::V2(v) = verify_any(&out.file, 100).unwrap() else { panic!("read as version 1") };
    assert_eq!(v.statement, out.statement);
    assert_eq!(v.forests, out.forests.len());
    assert!(v.security_bits >= 100);
    // the prover reports the figures the verifier finds, the proven one never above the other
    assert_eq!((v.security_bits, v.proven_security_bits), (out.security_bits, out.proven_security_bits));
    assert!(v.proven_security_bits > 0 && v.proven_security_bits <= v.security_bits);
    assert_eq!(read_statement(&out.file).unwrap(), out.statement);
    assert_eq!(read_statement_any(&out.file).unwrap(), AnyStatement::V2(out.statement.clone()));
    for k in 0..4 {
        let expected = l.total(k);
        assert!(expected > 1 << 64, "asset {k}: total {expected} does not exceed 2^64");
        assert_eq!(v.statement.totals[k as usize], minimal(&expected.to_le_bytes()), "asset {k}");
    }
    // the fingerprint is statement version 2's: not what the same fields give under version 1
    let s = v.statement.summary();
    assert_eq!(v.statement.fingerprint(), s.fingerprint_as(2));
    assert_ne!(v.statement.fingerprint(), s.fingerprint());
    assert_eq!(RoundFile::from_bytes(&out.file).unwrap().to_bytes(), out.file, "re-encoding is exact");
    let (used, rows) = out.working_rows;
    assert!(used > 0 && used <= rows && rows == out.trace_rows.iter().sum::<usize>() as u64);
}

#[test]
fn totals_are_exact_beyond_2_to_128() {
    // 2^20 forests each holding one amount 2^112 − 1: the total is 2^132 − 2^20
    let one = vec![amount_parts_of(MAX)];
    let totals = round_totals(1, std::iter::repeat_n(one.as_slice(), 1 << 20));
    let mut expected = ((1u64 << 20).wrapping_neg()).to_le_bytes().to_vec();
    expected.extend_from_slice(&u64::MAX.to_le_bytes());
    expected.push(0x0f);
    assert_eq!(totals, vec![expected]);
    // parts summed over many amounts first, as a forest publishes them
    let mut acc = Vec::new();
    add_parts(&mut acc, &amount_parts_of(MAX).map(|p| p << 20));
    assert_eq!(words_to_bytes(&acc), totals[0]);
    assert_eq!(round_totals(2, std::iter::once([[0u64; PARTS]; 2].as_slice())), vec![Vec::<u8>::new(); 2]);
}

#[test]
fn the_same_round_proves_to_the_same_bytes() {
    let again = prove_planned(&ledger(30).view(), SECRET, "r-2", Security::Bits100, &[40], 1, None, false).unwrap();
    assert_eq!(again.file, other_round().file);
    assert!(other_round().forests.len() >= 2);
}

/// User `u`'s version-2 inclusion proof, cut from the round's tree.
fn inclusion_proof(l: &Owned, out: &ProveOutput, u: usize) -> InclusionProof {
    let (pos, n) = (out.positions[u], out.statement.num_leaves);
    let tree = tree_digests(&out.tree);
    InclusionProof {
        version: INCLUSION_VERSION_2,
        round_id: out.statement.round_id.clone(),
        user_id: l.ids[u].clone(),
        salt: out.salts[u],
        entries: l
            .balances(u)
            .into_iter()
            .map(|(index, amount)| {
                let a = &l.assets[index as usize - 1];
                InclusionEntry { asset: a.name.clone(), index, decimals: a.decimals, amount, kind: EQUITY }
            })
            .collect(),
        leaf_index: pos,
        num_leaves: n,
        leaf: out.tree[(n + pos) as usize],
        root: out.statement.root,
        path: path_from_tree(&tree, pos).iter().map(digest_to_bytes).collect(),
    }
}

fn inclusion_reason(p: &InclusionProof, anchor: &Anchor<'_>) -> &'static str {
    let expected = Expected { user_id: &p.user_id, fingerprint: None };
    verify_inclusion(p, anchor, &expected).map_or_else(|e| e.reason(), |_| "included")
}

#[test]
fn inclusion_proofs_verify_against_the_statement_and_its_summary_and_fail_when_an_amount_changes() {
    let (l, out) = round();
    let summary = out.statement.summary();
    summary.validate_as(STATEMENT_VERSION).unwrap();
    let (by_statement, by_summary) = (Anchor::statement_v2(&out.statement), Anchor::summary_as(&summary, STATEMENT_VERSION));
    assert_eq!(by_statement.fingerprint(), out.statement.fingerprint());
    assert_eq!(by_summary.fingerprint(), out.statement.fingerprint());
    for u in [0usize, 1, 9, 10, 37, 150, 299] {
        let p = inclusion_proof(l, out, u);
        assert_eq!(user_leaf(&p.user_id, &p.salt, &l.balances(u)).map(|d| digest_to_bytes(&d)), Ok(p.leaf));
        for anchor in [&by_statement, &by_summary] {
            let expected = Expected { user_id: &l.ids[u], fingerprint: Some(out.statement.fingerprint()) };
            verify_inclusion(&p, anchor, &expected).unwrap();
        }
        // one smallest unit more (or less) for any balance is a leaf mismatch, and with the leaf
        // recomputed a path mismatch
        for k in 0..p.entries.len() {
            for delta in [1i128, -1] {
                let mut changed = p.clone();
                changed.entries[k].amount = (changed.entries[k].amount as i128 + delta) as u128;
                if changed.entries[k].amount == 0 || changed.entries[k].amount > MAX {
                    continue;
                }
                assert_eq!(inclusion_reason(&changed, &by_statement), "leaf-mismatch", "user {u} entry {k}");
                changed.leaf = crate::inclusion::proof_leaf(&changed).unwrap();
                assert_eq!(inclusion_reason(&changed, &by_statement), "path-mismatch", "user {u} entry {k}");
            }
        }
        let mut moved = p.clone();
        moved.leaf_index ^= 1;
        assert_eq!(inclusion_reason(&moved, &by_statement), "path-mismatch");
        let mut short = p.clone();
        short.path.pop();
        assert_eq!(inclusion_reason(&short, &by_summary), "path-mismatch");
    }
    assert!(matches!(user_leaf("u", &[0; 32], &[(1, MAX + 1)]), Err(InclusionError::Malformed(_))));
    assert!(matches!(user_leaf("u", &[0; 32], &[(2, 1), (1, 1)]), Err(InclusionError::Malformed(_))));
}

#[test]
fn proofs_and_anchors_of_different_statement_versions_are_refused() {
    let (l, out) = round();
    let summary = out.statement.summary();
    let p = inclusion_proof(l, out, 0);
    // the v2 round's fields read as a version-1 summary: another fingerprint, another version
    assert_eq!(inclusion_reason(&p, &Anchor::summary(&summary)), "version-mismatch");
    assert_ne!(Anchor::summary(&summary).fingerprint(), out.statement.fingerprint());
    // the same proof relabelled version 1 against the version-2 statement
    let mut v1 = p.clone();
    v1.version = crate::inclusion::INCLUSION_VERSION;
    v1.entries.retain(|e| e.amount < 1 << 63);
    assert_eq!(inclusion_reason(&v1, &Anchor::statement_v2(&out.statement)), "version-mismatch");
    // the expected fingerprint is checked first: a user holding the v2 fingerprint sees the
    // version-1 reading of the summary as another statement
    let expected = Expected { user_id: &p.user_id, fingerprint: Some(out.statement.fingerprint()) };
    let err = verify_inclusion(&p, &Anchor::summary(&summary), &expected).unwrap_err();
    assert_eq!(err.reason(), "wrong-statement");
    // a version-1 proof's amounts stop at 2^63, a version-2 one's at 2^112
    let whale = (0..300).find(|&u| l.balances(u).iter().any(|&(_, a)| a >= 1 << 63)).unwrap();
    let mut p = inclusion_proof(l, out, whale);
    assert_eq!(inclusion_reason(&p, &Anchor::statement_v2(&out.statement)), "included");
    p.version = crate::inclusion::INCLUSION_VERSION;
    assert_eq!(inclusion_reason(&p, &Anchor::statement_v2(&out.statement)), "malformed");
}

#[test]
fn a_summary_of_version_2_takes_range_bounds_up_to_112_bits() {
    let mut s = round().1.statement.summary();
    assert!(s.validate().is_err(), "a 112-bit bound is out of version 1's domain");
    s.validate_as(2).unwrap();
    for bits in [31, 113] {
        s.range_bits = bits;
        assert!(s.validate_as(2).is_err(), "{bits} bits");
    }
    s.range_bits = 62;
    s.validate().unwrap();
    assert!(s.validate_as(3).is_err());
}

#[test]
fn swapped_dropped_or_duplicated_forests_break_the_partition() {
    let mut f = decoded();
    f.forests.swap(0, 1);
    assert!(invalid(&f.to_bytes()).contains("expected to start at leaf 0"));
    let mut f = decoded();
    f.forests.pop();
    assert!(invalid(&f.to_bytes()).contains("not the whole tree"));
    let mut f = decoded();
    f.forests.remove(1);
    assert!(invalid(&f.to_bytes()).contains("batch 1 covers"), "a gap");
    let mut f = decoded();
    let copy = RoundFile::from_bytes(&round().1.file).unwrap().forests.remove(1);
    f.forests.insert(1, copy);
    assert!(invalid(&f.to_bytes()).contains("batch 2 covers"), "a duplicate");
}

#[test]
fn a_forest_range_is_checked_against_the_tree() {
    let mut f = decoded();
    f.forests[0].end = f.statement.num_leaves + 1;
    assert!(invalid(&f.to_bytes()).contains("forest 0"));
    let mut f = decoded();
    f.forests[1].start = f.forests[1].end;
    assert!(invalid(&f.to_bytes()).contains("forest 1"));
    // a range moved by one leaf: the roots no longer match the range's count, or the partition
    let mut f = decoded();
    f.forests[0].end -= 1;
    f.forests[1].start -= 1;
    invalid(&f.to_bytes());
}

#[test]
fn a_changed_root_is_refused_by_the_root_check_then_by_the_proof() {
    let mut f = decoded();
    f.statement.root = f.forests[0].roots[0];
    assert!(invalid(&f.to_bytes()).contains("round root"));
    let mut f = decoded();
    f.forests[1].roots[0] = f.forests[0].roots[0];
    assert!(invalid(&f.to_bytes()).contains("round root"));
    make_consistent(&mut f);
    assert!(invalid(&f.to_bytes()).contains("forest 1"));
}

#[test]
fn changed_totals_are_refused() {
    let mut f = decoded();
    let mut t = f.statement.totals[1].clone();
    t[0] ^= 1;
    f.statement.totals[1] = t;
    assert!(invalid(&f.to_bytes()).contains("exact sums"));
    // moving value between forests keeps the sums but breaks both proofs
    let mut f = decoded();
    f.forests[0].parts[2][0] += 1;
    f.forests[1].parts[2][0] -= 1;
    let m = invalid(&f.to_bytes());
    assert!(m.contains("forest 0") || m.contains("forest 1"), "{m}");
    // a part raised by one in one forest, the statement made consistent: the proof refuses it
    let mut f = decoded();
    f.forests[2].parts[0][4] += 1;
    make_consistent(&mut f);
    assert!(invalid(&f.to_bytes()).contains("forest 2"));
}

#[test]
fn a_proof_answers_only_its_own_slot_and_round() {
    // two forests' proofs exchanged (ranges, roots and sums left in place)
    let mut f = decoded();
    let p0 = f.forests[0].proof.clone();
    f.forests[0].proof = f.forests[1].proof.clone();
    f.forests[1].proof = p0;
    assert!(invalid(&f.to_bytes()).contains("forest 0"));
    // a whole forest of another round, in the same slot
    let other = RoundFile::from_bytes(&other_round().file).unwrap();
    let mut f = decoded();
    f.forests[0].proof = other.forests[0].proof.clone();
    assert!(invalid(&f.to_bytes()).contains("forest 0"));
    // the other round relabelled as this one: every binding digest differs
    let mut o = other;
    o.statement.round_id = "r-1".into();
    assert!(invalid(&o.to_bytes()).contains("forest"));
}

#[test]
fn truncation_trailing_bytes_and_bad_encodings_are_format_errors() {
    let bytes = &round().1.file;
    for cut in (0..400).chain(bytes.len() - 400..bytes.len()).step_by(3) {
        format_error(&bytes[..cut]);
    }
    let mut longer = bytes.clone();
    longer.push(0);
    let (offset, message) = format_error(&longer);
    assert_eq!(offset, bytes.len());
    assert!(message.contains("trailing"));
    let mut bad = bytes.clone();
    bad[10] = 9;
    assert_eq!(format_error(&bad).0, 10, "an unknown kind");
    let mut f = decoded();
    f.statement.totals[0].push(0);
    assert!(format_error(&f.to_bytes()).1.contains("minimally"));
    let mut f = decoded();
    f.forests[0].parts[0][0] = u64::MAX;
    assert!(format_error(&f.to_bytes()).1.contains("canonical"));
    let mut f = decoded();
    f.forests[0].roots[0] = [0xff; 32];
    assert!(format_error(&f.to_bytes()).1.contains("canonical"));
    let mut f = decoded();
    f.statement.range_bits = 113;
    assert!(format_error(&f.to_bytes()).1.contains("113"));
}

#[test]
fn version_1_files_still_verify_through_the_dispatch() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/rounds/v1");
    let expected = std::fs::read_to_string(format!("{dir}/expected.json")).unwrap();
    for name in ["single-100", "batched-100"] {
        let bytes = std::fs::read(format!("{dir}/{name}.stpor")).unwrap();
        let AnyVerified::V1(v) = verify_any(&bytes, 100).unwrap() else { panic!("{name} read as version 2") };
        assert_eq!(v.statement, crate::verify(&bytes, 100).unwrap().statement);
        assert_eq!(read_statement_any(&bytes).unwrap(), AnyStatement::V1(v.statement.clone()));
        let root: String = v.statement.root.iter().map(|b| format!("{b:02x}")).collect();
        assert!(expected.contains(&root), "{name}");
        // and a version-1 file is no version-2 file
        assert!(matches!(verify(&bytes, 100), Err(Error::Format { offset: 8, .. })));
    }
    // a version-2 file is not taken for version 1
    assert!(matches!(crate::verify(&round().1.file, 100), Err(Error::Format { offset: 8, .. })));
    assert!(matches!(crate::read_statement(&round().1.file), Err(Error::Format { offset: 8, .. })));
    // and an unknown format version is refused by both dispatches, naming its offset
    let mut unknown = round().1.file.clone();
    unknown[8] = 6;
    assert!(matches!(verify_any(&unknown, 100), Err(Error::Format { offset: 8, .. })));
    assert!(matches!(read_statement_any(&unknown), Err(Error::Format { offset: 8, .. })));
}

/// The shared placement leaves version 1 as it was: the fixture ledgers of `make.py` give the
/// recorded roots again.
#[test]
fn version_1_leaves_are_unchanged_by_the_shared_placement() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/rounds/v1");
    let expected = std::fs::read_to_string(format!("{dir}/expected.json")).unwrap();
    let secret = b"stark-por v1 fixture secret, public on purpose";
    let assets: Vec<Asset> =
        [("BTC", 8), ("ETH", 18), ("USDT", 6), ("DOGE", 8)].iter().map(|&(n, d)| Asset { name: n.into(), decimals: d }).collect();
    for (name, n) in [("single-100", 13u64), ("batched-100", 40)] {
        let (mut indptr, mut asset_index, mut amounts) = (vec![0u64], vec![], vec![]);
        for i in 0..n {
            let mut row = [
                if i % 3 != 0 { (i * 7_919_113) % 250_000_000 } else { 0 },
                if i % 2 != 0 { ((i as u128 * 31_337 * 10u128.pow(12)) % (4 * 10u128.pow(18))) as u64 } else { 0 },
                if i % 5 != 1 { ((i as u128 * 1_234_567_891) % (50_000 * 10u128.pow(6))) as u64 } else { 0 },
                if i % 4 == 0 { 100_000_000 * (i % 11) * 1000 } else { 0 },
            ];
            match i {
                0 => row = [(1 << 62) - 1; 4],
                1 => row = [1; 4],
                2 => row = [0; 4],
                _ => {},
            }
            for (k, &a) in row.iter().enumerate() {
                if a != 0 {
                    asset_index.push(k as u32);
                    amounts.push(a);
                }
            }
            indptr.push(amounts.len() as u64);
        }
        let ids: Vec<String> = (0..n).map(|i| format!("user-{i:03}")).collect();
        let l = crate::LedgerRef { user_ids: &ids, assets: &assets, indptr: &indptr, asset_index: &asset_index, amounts: &amounts, range_bits: 62 };
        let (leaves, _) = crate::build_leaves(&l, secret, &format!("fixture-v1-{name}"));
        let digests: Vec<Digest> = leaves.iter().map(|x| stark_por_solvency::hash::leaf_digest(&x.idc, &x.entries)).collect();
        let root: String = digest_to_bytes(&merkle_tree(&digests)[1]).iter().map(|b| format!("{b:02x}")).collect();
        assert!(expected.contains(&format!("\"root\": \"{root}\"")), "{name}: root {root} is not the recorded one");
    }
}

#[test]
fn ledgers_out_of_range_are_refused_naming_user_asset_and_value() {
    let mut l = ledger(12);
    l.range_bits = 100;
    match l.view().check() {
        Err(Error::Ledger { user: Some(u), asset: Some(a), message }) => {
            assert!(message.contains("2^100") && message.contains(&format!("user {u}")), "{message}");
            let e = (l.indptr[u] as usize..l.indptr[u + 1] as usize).find(|&e| l.hi[e] >> 36 != 0).unwrap();
            let value = l.lo[e] as u128 | (l.hi[e] as u128) << 64;
            assert!(message.contains(&value.to_string()) && a == l.assets[l.asset_index[e] as usize].name, "{message}");
        },
        other => panic!("{other:?}"),
    }
    let mut l = ledger(12);
    l.lo[3] = 0;
    l.hi[3] = 0;
    assert!(matches!(l.view().check(), Err(Error::Ledger { user: Some(_), asset: Some(_), .. })));
    let mut l = ledger(12);
    l.hi.pop();
    assert!(matches!(l.view().check(), Err(Error::Ledger { user: None, .. })));
    for bits in [31, 113] {
        let mut l = ledger(12);
        l.range_bits = bits;
        assert!(matches!(l.view().check(), Err(Error::Input(_))));
    }
    let mut l = ledger(12);
    l.asset_index[1] = 0;
    assert!(l.view().check().unwrap_err().to_string().contains("strictly increasing"));
}

// -- streamed rounds (`v2::stream`, `v2::job`) ------------------------------------------------

pub(super) mod streamed {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::spill::tests::tempfile_dir::Dir;
    use crate::spill::{Layout, Placement, Spill, Version, BUCKETS};
    use crate::v2::job::{answers, prove_encoded, ForestJob, ForestOutput};

    impl Owned {
        /// Users `lo..hi` as a ledger of their own.
        pub(in crate::v2) fn slice(&self, lo: usize, hi: usize) -> Owned {
            let (a, b) = (self.indptr[lo] as usize, self.indptr[hi] as usize);
            Owned {
                ids: self.ids[lo..hi].to_vec(),
                assets: self.assets.clone(),
                indptr: self.indptr[lo..=hi].iter().map(|p| p - a as u64).collect(),
                asset_index: self.asset_index[a..b].to_vec(),
                lo: self.lo[a..b].to_vec(),
                hi: self.hi[a..b].to_vec(),
                kinds: if self.kinds.is_empty() { vec![] } else { self.kinds[a..b].to_vec() },
                range_bits: self.range_bits,
            }
        }
    }

    /// Places `l` streamed in chunks of `chunk` users in a fresh folder.
    pub(in crate::v2) fn place(l: &Owned, round_id: &str, chunk: usize) -> (Dir, Placement) {
        let dir = Dir::new();
        let mut spill = Spill::create_for(Version::V2, dir.path(), SECRET, round_id, &l.assets, l.range_bits).unwrap();
        for lo in (0..l.ids.len()).step_by(chunk) {
            spill.append_wide(&l.slice(lo, (lo + chunk).min(l.ids.len())).view()).unwrap();
        }
        let layout = spill.finish(&|| ()).unwrap();
        assert_eq!(layout.version, Version::V2);
        assert_eq!(Layout::load(dir.path()).unwrap().as_ref(), Some(&layout));
        let placement = Placement::open(dir.path(), SECRET, round_id, &l.assets, l.range_bits).unwrap();
        (dir, placement)
    }

    /// Proves every forest of `placement` planned within `capacity` rows into result files, as
    /// the Python driver does (through the encoded job), committed or not, and returns the plan
    /// and the paths.
    pub(in crate::v2) fn prove_all(placement: &Placement, capacity: u64, dir: &Path, committed: bool) -> (Vec<Forest>, Vec<PathBuf>) {
        let plan = placement.forest_plan_within(&[capacity]).unwrap();
        let paths = (0..plan.len())
            .map(|i| {
                let job = placement.forest_job(Security::Bits100, &plan, i as u64, committed).unwrap().to_bytes();
                let out = prove_encoded(&job, 1).unwrap();
                assert!(answers(&job, &out));
                let path = dir.join(format!("forest-{i}.bin"));
                std::fs::write(&path, out).unwrap();
                path
            })
            .collect();
        (plan, paths)
    }

    /// A ledger placed (by `place`) in chunks of each size of `chunks`, with the plan within
    /// `capacity` rows and the results of its forests' jobs. Only the first placement's jobs
    /// are proved: every other placement must give the same plan and byte for byte the same
    /// jobs, which the same results answer (proving is deterministic).
    pub(in crate::v2) fn placed_and_proved(
        place: impl Fn(usize) -> (Dir, Placement),
        chunks: &[usize],
        capacity: u64,
        committed: bool,
    ) -> (Vec<(Dir, Placement)>, Vec<Forest>, Vec<PathBuf>) {
        let placements: Vec<(Dir, Placement)> = chunks.iter().map(|&c| place(c)).collect();
        let (dir, first) = &placements[0];
        let (plan, paths) = prove_all(first, capacity, dir.path(), committed);
        let jobs = |p: &Placement| -> Vec<Vec<u8>> {
            (0..plan.len() as u64).map(|i| p.forest_job(Security::Bits100, &plan, i, committed).unwrap().to_bytes()).collect()
        };
        let proved = jobs(first);
        for ((_, p), chunk) in placements.iter().zip(chunks).skip(1) {
            assert_eq!(p.forest_plan_within(&[capacity]).unwrap(), plan, "chunks of {chunk}: the same plan");
            assert!(jobs(p) == proved, "chunks of {chunk}: the same jobs");
        }
        (placements, plan, paths)
    }

    #[test]
    fn a_streamed_round_is_byte_for_byte_the_in_memory_round() {
        let (l, expected) = round();
        let chunks = [37, 300];
        let (placements, plan, paths) = placed_and_proved(|c| place(l, "r-1", c), &chunks, 400, false);
        assert_eq!(plan, expected.forests, "the same plan");
        for ((_dir, placement), chunk) in placements.iter().zip(chunks) {
            let a = placement.assemble_forests(Security::Bits100, &plan, &paths, false).unwrap();
            assert_eq!(a.file, expected.file, "chunks of {chunk}");
            assert_eq!((a.trace_rows.clone(), a.working_rows, a.security_bits), (expected.trace_rows.clone(), expected.working_rows, expected.security_bits));
            // the store's nodes: every node of the round tree exactly once, as in memory
            let mut tree = vec![None; expected.tree.len()];
            let outputs = paths.iter().map(|p| ForestOutput::from_bytes(&std::fs::read(p).unwrap()).unwrap());
            for (index, digest) in outputs.flat_map(|o| o.nodes().collect::<Vec<_>>()).chain(a.top.iter().copied()) {
                assert!(tree[index as usize].replace(digest).is_none(), "node {index} twice");
            }
            assert!(tree[0].is_none());
            assert!(tree[1..].iter().zip(&expected.tree[1..]).all(|(a, b)| a.as_ref() == Some(b)));
            // users come back at the positions, with the salts and the exact amounts of memory
            let mut seen = 0;
            for b in 0..BUCKETS {
                for row in placement.users_in_bucket(b).unwrap() {
                    let u: usize = row.user_id.strip_prefix("user-").unwrap().parse().unwrap();
                    assert_eq!((row.position, row.salt), (expected.positions[u], expected.salts[u]));
                    assert_eq!(row.entries, l.balances(u));
                    seen += 1;
                }
            }
            assert_eq!(seen, 300);
        }
    }

    #[test]
    fn a_streamed_round_of_default_traces_verifies() {
        // one forest of a 2^14-row trace holds the whole round: its root is the round root
        let l = ledger(40);
        let (dir, placement) = place(&l, "r-3", 16);
        let plan = placement.forest_plan(Security::Bits100, 14, false).unwrap();
        assert_eq!(plan, vec![Forest::whole(64).unwrap()]);
        let (_, paths) = prove_all(&placement, crate::v2::forest_capacity(Security::Bits100, 14).unwrap(), dir.path(), false);
        let a = placement.assemble_forests(Security::Bits100, &plan, &paths, false).unwrap();
        assert!(a.top.is_empty());
        let in_memory = prove_round(&l.view(), SECRET, "r-3", Security::Bits100, 14, 1, None, false).unwrap();
        assert_eq!(a.file, in_memory.file);
        let AnyVerified::V2(v) = verify_any(&a.file, 100).unwrap() else { panic!("read as version 1") };
        assert_eq!(v.statement, a.statement);
    }

    #[test]
    fn a_user_holding_every_one_of_1500_assets_at_the_maximum_proves_streamed_and_in_memory() {
        // more balances than a leaf block count in a byte allowed (1,018): the plan counts 16 bits
        let assets: Vec<Asset> = (0..1500).map(|k| Asset { name: format!("T{k}"), decimals: 18 }).collect();
        let (mut indptr, mut asset_index, mut amounts) = (vec![0u64], vec![], vec![]);
        for u in 0..5u32 {
            let held: Vec<u32> = if u == 2 { (0..1500).collect() } else { vec![u, 700 + u] };
            for k in held {
                asset_index.push(k);
                amounts.push(if u == 2 { MAX } else { 10u128.pow(18) * (u as u128 + 1) });
            }
            indptr.push(asset_index.len() as u64);
        }
        let l = Owned {
            ids: (0..5).map(|u| format!("user-{u}")).collect(),
            assets,
            indptr,
            asset_index,
            lo: amounts.iter().map(|&a| a as u64).collect(),
            hi: amounts.iter().map(|&a| (a >> 64) as u64).collect(),
            kinds: vec![],
            range_bits: 112,
        };
        let in_memory = prove_round(&l.view(), SECRET, "r-wide", Security::Bits100, 14, 1, None, false).unwrap();
        let (dir, placement) = place(&l, "r-wide", 2);
        let plan = placement.forest_plan(Security::Bits100, 14, false).unwrap();
        assert_eq!(plan, in_memory.forests);
        let (_, paths) = prove_all(&placement, crate::v2::forest_capacity(Security::Bits100, 14).unwrap(), dir.path(), false);
        assert_eq!(placement.assemble_forests(Security::Bits100, &plan, &paths, false).unwrap().file, in_memory.file);
        let AnyVerified::V2(v) = verify_any(&in_memory.file, 100).unwrap() else { panic!("read as version 1") };
        for k in 0..1500u32 {
            let t = v.statement.totals[k as usize].iter().rev().fold(0u128, |acc, &b| acc << 8 | b as u128);
            assert_eq!(t, l.total(k), "asset T{k}");
        }
    }

    #[test]
    fn a_result_answers_only_its_own_job_and_damage_is_refused() {
        let (l, _) = round();
        let (dir, placement) = place(l, "r-1", 300);
        let plan = placement.forest_plan_within(&[400]).unwrap();
        let job = placement.forest_job(Security::Bits100, &plan, 1, false).unwrap();
        let bytes = job.to_bytes();
        assert_eq!(ForestJob::from_bytes(&bytes).unwrap().to_bytes(), bytes, "the job re-encodes exactly");
        for cut in (0..bytes.len()).step_by(97) {
            assert!(ForestJob::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let out = prove_encoded(&bytes, 1).unwrap();
        assert_eq!(prove_encoded(&bytes, 1).unwrap(), out, "proving twice gives the same bytes");
        assert_eq!(ForestOutput::from_bytes(&out).unwrap().to_bytes(), out, "the result re-encodes exactly");
        assert!(answers(&bytes, &out));
        let other = placement.forest_job(Security::Bits100, &plan, 2, false).unwrap().to_bytes();
        assert!(!answers(&other, &out), "a result answers only its own job");
        assert!(!answers(&bytes, &out[..out.len() - 1]), "a truncated result answers nothing");
        // a result whose digests do not hold its roots is damaged, not used
        let mut bad = out.clone();
        let last = bad.len() - 1;
        bad[last - 8] ^= 1;
        assert!(!answers(&bytes, &bad));
        // a damaged result on disk stops the assembly with a work error naming it
        let (_, mut paths) = prove_all(&placement, 400, dir.path(), false);
        std::fs::write(&paths[1], &out[..out.len() - 32]).unwrap();
        match placement.assemble_forests(Security::Bits100, &plan, &paths, false) {
            Err(Error::Work(m)) => assert!(m.contains("forest-1.bin") && m.contains("damaged"), "{m}"),
            other => panic!("expected a work error, got {:?}", other.err()),
        }
        // results out of order are refused
        paths.swap(0, 2);
        assert!(matches!(placement.assemble_forests(Security::Bits100, &plan, &paths, false), Err(Error::Work(_))));
    }

    // found by fuzz/ (spill_bucket_v2): a damaged record's asset of 2^31 + 1 overflowed the
    // entry's tag (2·asset) while making a forest job; in release builds it would have wrapped
    // to asset 1
    #[test]
    fn a_damaged_record_out_of_the_rounds_domain_is_a_work_error() {
        let l = ledger(12);
        let (dir, placement) = place(&l, "r-1", 12);
        let plan = placement.forest_plan_within(&[400]).unwrap();
        assert!(placement.forest_job(Security::Bits100, &plan, 0, false).is_ok());
        // every record's first entry: its asset number, then its amount
        for (offset, value) in [(0, (1u32 << 31) + 1), (0, 0), (0, 5), (4, 0)] {
            let b = placement.layout().counts.iter().position(|&c| c > 0).unwrap();
            let path = dir.path().join(format!("bucket-{b:03}.bin"));
            let honest = std::fs::read(&path).unwrap();
            // the bucket's first user record (an id of non-zero length) with an entry
            let mut at = 0;
            let first_entry = loop {
                let id_len = u16::from_le_bytes([honest[at + 40], honest[at + 41]]) as usize;
                let k_at = at + 42 + id_len;
                let k = u32::from_le_bytes(honest[k_at..k_at + 4].try_into().unwrap()) as usize;
                if k > 0 {
                    break k_at + 4;
                }
                at = k_at + 4;
            };
            let mut bad = honest.clone();
            bad[first_entry + offset..first_entry + offset + 4].copy_from_slice(&value.to_le_bytes());
            if offset == 4 {
                bad[first_entry + 4..first_entry + 20].fill(0); // amount 0
            }
            std::fs::write(&path, &bad).unwrap();
            let damaged = |r: Result<()>| matches!(r, Err(Error::Work(m)) if m.contains("damaged bucket"));
            let jobs = (0..plan.len() as u64).map(|i| placement.forest_job(Security::Bits100, &plan, i, false).map(drop));
            assert!(jobs.into_iter().any(damaged), "asset/amount word {offset} = {value}");
            assert!(damaged(placement.users_in_bucket(b).map(drop)));
            std::fs::write(&path, &honest).unwrap();
        }
    }

    #[test]
    fn a_placement_serves_only_its_own_statement_version() {
        let l = ledger(20);
        let (dir, placement) = place(&l, "r-1", 7);
        let layout = std::fs::read(dir.path().join("layout.bin")).unwrap();
        assert_eq!(&layout[..8], b"STPRLAY2");
        assert!(matches!(placement.batch_job(Security::Bits100, 3, 0), Err(Error::Work(m)) if m.contains("statement version 2")));
        // a version-1 placement of the same users has no forests
        let v1 = crate::round::tests::ledger(20);
        let dir1 = Dir::new();
        let mut spill = Spill::create(dir1.path(), SECRET, "r-1", &v1.assets, 62).unwrap();
        spill.append(&v1.view()).unwrap();
        spill.finish(&|| ()).unwrap();
        let p1 = Placement::open(dir1.path(), SECRET, "r-1", &v1.assets, 62).unwrap();
        assert_eq!(p1.layout().version, Version::V1);
        assert!(matches!(p1.forest_plan(Security::Bits100, 14, false), Err(Error::Work(m)) if m.contains("statement version 1")));
        // chunks of the other version are refused
        let mut spill = Spill::create_for(Version::V2, dir1.path(), SECRET, "r-1", &v1.assets, 62).unwrap();
        assert!(matches!(spill.append(&v1.view()), Err(Error::Input(m)) if m.contains("statement version 1")));
    }

    #[test]
    fn a_wide_chunk_names_bad_users_by_their_place_in_the_ledger() {
        let mut l = ledger(30);
        let e = l.indptr[17] as usize;
        l.hi[e] = 1 << 50; // 2^114: above the 112-bit bound
        let dir = Dir::new();
        let mut spill = Spill::create_for(Version::V2, dir.path(), SECRET, "r-1", &l.assets, 112).unwrap();
        spill.append_wide(&l.slice(0, 10).view()).unwrap();
        match spill.append_wide(&l.slice(10, 30).view()) {
            Err(Error::Ledger { user: Some(17), message, .. }) => assert!(message.starts_with("user 17:"), "{message}"),
            other => panic!("wrong result {:?}", other.err()),
        }
        // a repeated id in another chunk is refused when the buckets are sorted
        let mut l = ledger(30);
        l.ids[25] = "user-4".into();
        let mut spill = Spill::create_for(Version::V2, dir.path(), SECRET, "r-1", &l.assets, 112).unwrap();
        spill.append_wide(&l.slice(0, 10).view()).unwrap();
        spill.append_wide(&l.slice(10, 30).view()).unwrap();
        assert!(matches!(spill.finish(&|| ()), Err(Error::Ledger { user: Some(25), .. })));
        // a 2^113 bound is refused before anything is written
        assert!(Spill::create_for(Version::V2, dir.path(), SECRET, "r-1", &l.assets, 113).is_err());
    }
}
