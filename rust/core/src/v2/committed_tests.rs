//! Formats 4 and 5 through the core: rounds whose forests commit to their totals, with one
//! aggregation proof, proved in memory and streamed, verified, and every splice and tamper of
//! what they add refused.

use std::sync::OnceLock;

use stark_por_liabilities::hash::EQUITY;
use stark_por_solvency::hash::digest_to_bytes;

use super::file::RoundFile;
use super::job::{answers, prove_encoded, ForestOutput};
use super::margin_tests::{margin_round, prices};
use super::tests::streamed::{place, placed_and_proved};
use super::tests::{format_error, invalid, ledger, round, Owned, MAX, SECRET};
use super::*;

/// The 300-user round of `tests::round` (same ledger, secret, round id and plan), committed.
fn committed_round() -> &'static ProveOutput {
    static ROUND: OnceLock<ProveOutput> = OnceLock::new();
    ROUND.get_or_init(|| prove_planned(&round().0.view(), SECRET, "r-1", Security::Bits100, &[400], 2, None, true).unwrap())
}

/// The 100-user margin round of `margin_tests::margin_round`, committed.
fn committed_margin_round() -> &'static ProveOutput {
    static ROUND: OnceLock<ProveOutput> = OnceLock::new();
    ROUND.get_or_init(|| {
        let l = &margin_round().0;
        prove_planned(&l.view(), SECRET, "m-1", Security::Bits100, &[150], 2, Some(&prices()), true).unwrap()
    })
}

/// `ledger(n)` with every user's first two balances only: every leaf is one block, so the plan
/// is the same whatever the round id's leaf order.
fn two_balances(n: usize) -> Owned {
    let mut l = ledger(n);
    let (mut indptr, mut keep) = (vec![0u64], vec![]);
    for u in 0..n {
        let lo = l.indptr[u] as usize;
        let hi = (l.indptr[u + 1] as usize).min(lo + 2);
        keep.extend(lo..hi);
        indptr.push(keep.len() as u64);
    }
    l.asset_index = keep.iter().map(|&e| l.asset_index[e]).collect();
    l.lo = keep.iter().map(|&e| l.lo[e]).collect();
    l.hi = keep.iter().map(|&e| l.hi[e]).collect();
    l.indptr = indptr;
    l
}

/// A small committed round of several forests under `round_id`.
fn small_committed(round_id: &str) -> ProveOutput {
    prove_planned(&two_balances(40).view(), SECRET, round_id, Security::Bits100, &[40], 2, None, true).unwrap()
}

fn small_pair() -> &'static (ProveOutput, ProveOutput) {
    static PAIR: OnceLock<(ProveOutput, ProveOutput)> = OnceLock::new();
    PAIR.get_or_init(|| (small_committed("c-a"), small_committed("c-b")))
}

/// The byte offset at which the aggregation proof's length is written.
fn aggregation_offset(file: &[u8]) -> usize {
    let decoded = RoundFile::from_bytes(file).unwrap();
    file.len() - 4 - decoded.aggregation.unwrap().to_bytes().len()
}

/// Recomputes the statement's root from the (tampered) forests, so that only the proofs can
/// catch what changed.
fn recombine_root(f: &mut RoundFile) {
    let parts: Vec<(Forest, Vec<Digest>)> = f
        .forests
        .iter()
        .map(|r| (Forest::new(f.statement.num_leaves, r.start, r.end).unwrap(), r.root_digests().unwrap()))
        .collect();
    let views: Vec<(Forest, &[Digest])> = parts.iter().map(|(x, r)| (*x, r.as_slice())).collect();
    f.statement.root = digest_to_bytes(&forest::round_root(&views).unwrap());
}

/// `total + 1` in minimal little-endian bytes.
fn plus_one(total: &[u8]) -> Vec<u8> {
    let mut words: Vec<u64> = total.chunks(8).map(|c| c.iter().rev().fold(0u64, |a, &b| a << 8 | b as u64)).collect();
    let mut one = [0u64; PARTS];
    one[0] = 1;
    add_parts(&mut words, &one);
    words_to_bytes(&words)
}

#[test]
fn a_committed_round_verifies_with_the_statement_of_its_published_twin() {
    let (l, plain) = round();
    let out = committed_round();
    assert!(out.forests.len() >= 3, "{} forests", out.forests.len());
    assert_eq!(out.forests, plain.forests, "the same plan");
    assert_eq!(&out.file[8..10], &4u16.to_le_bytes(), "format version 4");
    let AnyVerified::V2(v) = verify_any(&out.file, 100).unwrap() else { panic!("read as version 1") };
    assert_eq!(v.statement, out.statement);
    assert!(v.statement.committed && v.statement.format_version() == FORMAT_VERSION_COMMITTED);
    assert_eq!(v.statement.statement_version(), STATEMENT_VERSION);
    assert_eq!((v.security_bits, v.proven_security_bits), (out.security_bits, out.proven_security_bits));
    assert!(v.security_bits >= 100 && v.proven_security_bits > 0 && v.proven_security_bits <= v.security_bits);
    assert_eq!(v.forests, out.forests.len());
    // what the round claims is format 2's, to the byte: root, totals, summary, fingerprint
    assert_eq!(v.statement.fingerprint(), plain.statement.fingerprint());
    assert_eq!(v.statement.summary(), plain.statement.summary());
    assert_eq!(Statement { committed: false, ..v.statement.clone() }, plain.statement);
    assert_eq!((&out.tree, &out.positions, &out.salts), (&plain.tree, &plain.positions, &plain.salts));
    for k in 0..4 {
        assert_eq!(v.statement.totals[k as usize], minimal(&l.total(k).to_le_bytes()), "asset {k}");
    }
    assert!(l.lo.iter().zip(&l.hi).any(|(&lo, &hi)| (lo as u128 | (hi as u128) << 64) == MAX), "whales at 2^112 − 1");
    assert_eq!(read_statement(&out.file).unwrap(), out.statement);
    assert_eq!(read_statement_any(&out.file).unwrap(), AnyStatement::V2(out.statement.clone()));
    assert_eq!(RoundFile::from_bytes(&out.file).unwrap().to_bytes(), out.file, "re-encoding is exact");
    // version 1's reader refuses it as an unknown format version
    assert!(matches!(crate::verify(&out.file, 100), Err(Error::Format { offset: 8, .. })));
    assert!(matches!(crate::read_statement(&out.file), Err(Error::Format { offset: 8, .. })));
    // every committed trace left its totals chain room: no trace grew past the plain one's
    assert_eq!(out.trace_rows, plain.trace_rows);
    // the same round proves to the same bytes, on any number of workers
    let again = prove_planned(&l.view(), SECRET, "r-1", Security::Bits100, &[400], 1, None, true).unwrap();
    assert_eq!(again.file, out.file);
}

#[test]
fn a_committed_round_holds_no_forests_totals_in_any_form() {
    // each forest's part sums as format 2 wrote them (K × 5 u64), and each one asset's alone
    let plain = RoundFile::from_bytes(&round().1.file).unwrap();
    let file = &committed_round().file;
    for (i, f) in plain.forests.iter().enumerate() {
        let all: Vec<u8> = f.parts.iter().flatten().flat_map(|p| p.to_le_bytes()).collect();
        assert!(!file.windows(all.len()).any(|w| w == all), "forest {i}'s part sums");
        for (k, p) in f.parts.iter().enumerate() {
            let one: Vec<u8> = p.iter().flat_map(|x| x.to_le_bytes()).collect();
            assert!(!file.windows(one.len()).any(|w| w == one), "forest {i}'s part sums of asset {k}");
        }
    }
    assert!(plain.forests.iter().all(|f| f.commitment.is_none()));
    assert!(RoundFile::from_bytes(file).unwrap().forests.iter().all(|f| f.parts.is_empty() && f.commitment.is_some()));
}

#[test]
fn a_committed_margin_round_verifies_with_the_statement_of_its_published_twin() {
    let (l, plain) = margin_round();
    let out = committed_margin_round();
    assert!(out.forests.len() >= 3, "{} forests", out.forests.len());
    assert_eq!(&out.file[8..10], &5u16.to_le_bytes(), "format version 5");
    let AnyVerified::V2(v) = verify_any(&out.file, 100).unwrap() else { panic!("read as version 1") };
    assert_eq!(v.statement, out.statement);
    assert_eq!((v.statement.statement_version(), v.statement.format_version()), (3, FORMAT_VERSION_COMMITTED_MARGIN));
    assert_eq!(v.statement.fingerprint(), plain.statement.fingerprint());
    assert_eq!(v.statement.summary(), plain.statement.summary());
    assert_eq!(v.statement.root, plain.statement.root);
    let m = v.statement.margin.as_ref().unwrap();
    assert!(m.debt_totals[2].is_empty(), "SHIB is unpriced: no debt");
    assert!(!m.debt_totals[0].is_empty() && !m.debt_totals[1].is_empty(), "BTC and ETH are borrowed");
    assert!(l.kinds.contains(&1));
    assert_eq!((v.security_bits, v.proven_security_bits), (out.security_bits, out.proven_security_bits));
    assert_eq!(RoundFile::from_bytes(&out.file).unwrap().to_bytes(), out.file);
}

#[test]
fn a_streamed_committed_round_is_byte_for_byte_the_in_memory_round() {
    let l = &round().0;
    let expected = committed_round();
    let chunks = [37, 300];
    let (placements, plan, paths) = placed_and_proved(|c| place(l, "r-1", c), &chunks, 400, true);
    assert_eq!(plan, expected.forests, "the same plan");
    for ((_dir, placement), chunk) in placements.iter().zip(chunks) {
        let a = placement.assemble_forests(Security::Bits100, &plan, &paths, true).unwrap();
        assert_eq!(a.file, expected.file, "chunks of {chunk}");
        assert_eq!((a.trace_rows.clone(), a.working_rows), (expected.trace_rows.clone(), expected.working_rows));
        assert_eq!((a.security_bits, a.proven_security_bits), (expected.security_bits, expected.proven_security_bits));
    }
    // a result of the other mode answers no job of this one, and assembles into no round of it
    let (dir, placement) = &placements[0];
    let job = placement.forest_job(Security::Bits100, &plan, 0, true).unwrap().to_bytes();
    let plain_job = placement.forest_job(Security::Bits100, &plan, 0, false).unwrap().to_bytes();
    let plain_out = prove_encoded(&plain_job, 1).unwrap();
    assert!(answers(&plain_job, &plain_out) && !answers(&job, &plain_out));
    assert!(!answers(&plain_job, &std::fs::read(&paths[0]).unwrap()));
    let mixed = dir.path().join("plain-0.bin");
    std::fs::write(&mixed, &plain_out).unwrap();
    let mut with_plain = paths.clone();
    with_plain[0] = mixed;
    match placement.assemble_forests(Security::Bits100, &plan, &with_plain, true) {
        Err(Error::Work(m)) => assert!(m.contains("forest result 0") && m.contains("published"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
    match placement.assemble_forests(Security::Bits100, &plan, &paths, false) {
        Err(Error::Work(m)) => assert!(m.contains("forest result 0") && m.contains("committed"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn committed_results_carry_an_opening_of_their_commitment_and_nothing_else_opens_it() {
    let l = &round().0;
    let (dir, placement) = place(l, "r-1", 300);
    let plan = placement.forest_plan_within(&[400]).unwrap();
    let job = placement.forest_job(Security::Bits100, &plan, 1, true).unwrap();
    assert!(job.committed && job.to_bytes().starts_with(b"STPRFJB4"));
    let bytes = prove_encoded(&job.to_bytes(), 1).unwrap();
    assert!(bytes.starts_with(b"STPRFRS4"));
    let out = ForestOutput::from_bytes(&bytes).unwrap();
    assert_eq!(out.to_bytes(), bytes, "re-encoding is exact");
    let c = out.committed.as_ref().unwrap();
    assert_eq!(c.opening.commitment(), c.commitment);
    // the opening's equity rows are the forest's part sums, as the format-2 round published them
    let plain = RoundFile::from_bytes(&round().1.file).unwrap();
    let opened: Vec<[u64; PARTS]> = c.opening.rows.iter().filter(|r| r.kind == EQUITY).map(|r| r.parts).collect();
    assert_eq!(opened, plain.forests[1].parts);
    // the layout: magic, job digest, index, count, range, range bits, two digests, K, then C
    let at = 8 + 32 + 5 * 8 + 4 + 2 * 32 + 4;
    assert_eq!(bytes[at..at + 32], digest_to_bytes(&c.commitment));
    // a changed capacity salt, part sum or row salt no longer opens the commitment: refused whole
    let (salts, row) = (at + 32, at + 32 + 3 * 8);
    for offset in [salts, row + 8, row + 8 + 4 * 8, row + 8 + 5 * 8] {
        let mut bad = bytes.clone();
        bad[offset] ^= 1;
        match ForestOutput::from_bytes(&bad) {
            Err(Error::Format { message, .. }) => assert!(message.contains("does not open"), "flip at {offset}: {message}"),
            other => panic!("flip at {offset}: {:?}", other.err()),
        }
        assert!(!answers(&job.to_bytes(), &bad));
    }
    drop(dir);
}

// -- refusals -----------------------------------------------------------------------------------

#[test]
fn a_committed_round_without_its_aggregation_proof_is_refused_where_it_should_begin() {
    let file = &committed_round().file;
    let at = aggregation_offset(file);
    let (offset, message) = format_error(&file[..at]);
    assert_eq!(offset, at, "{message}");
    assert!(message.contains("proof length"), "{message}");
    // cut inside it
    let (offset, _) = format_error(&file[..file.len() - 1]);
    assert!(offset >= at, "{offset}");
}

#[test]
fn a_committed_round_with_trailing_bytes_is_refused_at_the_first_one() {
    let mut file = committed_round().file.clone();
    let end = file.len();
    file.push(0);
    let (offset, message) = format_error(&file);
    assert_eq!(offset, end, "{message}");
}

#[test]
fn an_aggregation_proof_of_another_round_of_the_same_ledger_is_refused() {
    let (a, b) = small_pair();
    assert!(a.forests.len() >= 2 && a.forests == b.forests, "two rounds of the same plan");
    assert_eq!(a.statement.totals, b.statement.totals);
    verify(&a.file, 100).unwrap();
    verify(&b.file, 100).unwrap();
    let mut f = RoundFile::from_bytes(&a.file).unwrap();
    f.aggregation = RoundFile::from_bytes(&b.file).unwrap().aggregation;
    let m = invalid(&f.to_bytes());
    assert!(m.starts_with("the aggregation proof"), "{m}");
}

#[test]
fn a_forest_record_of_another_round_is_refused_by_its_proof() {
    let (a, b) = small_pair();
    let other = RoundFile::from_bytes(&b.file).unwrap();
    let mut f = RoundFile::from_bytes(&a.file).unwrap();
    let mut record = other.forests.into_iter().nth(1).unwrap();
    assert_eq!((record.start, record.end), (f.forests[1].start, f.forests[1].end));
    std::mem::swap(&mut f.forests[1], &mut record);
    // with the round's root recombined, only forest 1's own proof can tell
    recombine_root(&mut f);
    let m = invalid(&f.to_bytes());
    assert!(m.starts_with("forest 1:"), "{m}");
    // and its commitment alone, under this round's forest: refused too
    let mut f = RoundFile::from_bytes(&a.file).unwrap();
    f.forests[1].commitment = RoundFile::from_bytes(&b.file).unwrap().forests[1].commitment;
    let m = invalid(&f.to_bytes());
    assert!(m.starts_with("forest 1:"), "{m}");
}

#[test]
fn commitments_swapped_between_forests_are_refused() {
    let mut f = RoundFile::from_bytes(&committed_round().file).unwrap();
    let (c0, c1) = (f.forests[0].commitment, f.forests[1].commitment);
    assert_ne!(c0, c1);
    f.forests[0].commitment = c1;
    f.forests[1].commitment = c0;
    let m = invalid(&f.to_bytes());
    assert!(m.starts_with("forest 0:"), "{m}");
}

#[test]
fn totals_off_by_one_in_any_tag_are_refused_by_the_aggregation_proof() {
    let out = committed_round();
    for k in 0..out.statement.assets.len() {
        let mut f = RoundFile::from_bytes(&out.file).unwrap();
        f.statement.totals[k] = plus_one(&f.statement.totals[k]);
        let m = invalid(&f.to_bytes());
        assert!(m.starts_with("the aggregation proof"), "asset {k}: {m}");
    }
    let out = committed_margin_round();
    let m0 = out.statement.margin.as_ref().unwrap();
    for k in 0..out.statement.assets.len() {
        let mut f = RoundFile::from_bytes(&out.file).unwrap();
        f.statement.totals[k] = plus_one(&f.statement.totals[k]);
        let m = invalid(&f.to_bytes());
        assert!(m.starts_with("the aggregation proof"), "equity of asset {k}: {m}");
        if m0.prices[k].is_none() {
            continue; // an unpriced asset's debt is 0 by the statement's own check
        }
        let mut f = RoundFile::from_bytes(&out.file).unwrap();
        let debt = &mut f.statement.margin.as_mut().unwrap().debt_totals[k];
        *debt = plus_one(debt);
        let m = invalid(&f.to_bytes());
        assert!(m.starts_with("the aggregation proof"), "debt of asset {k}: {m}");
    }
}

#[test]
fn a_flipped_byte_in_the_aggregation_proof_is_refused() {
    let file = &committed_round().file;
    let start = aggregation_offset(file) + 4;
    let len = file.len() - start;
    let mut invalids = 0;
    for k in 1..16 {
        let at = start + k * len / 16;
        let mut bad = file.clone();
        bad[at] ^= 0x40;
        match verify(&bad, 100) {
            Err(Error::Invalid(m)) => {
                assert!(m.starts_with("the aggregation proof"), "byte {at}: {m}");
                invalids += 1;
            },
            Err(Error::Format { offset, .. }) => assert!(offset >= start - 4, "byte {at}: a format error at {offset}"),
            other => panic!("byte {at}: {other:?}"),
        }
    }
    assert!(invalids > 0, "every flip was a format error: none reached the verifier");
}

#[test]
fn the_entry_slot_bound_is_checked_on_the_forests_trace_lengths() {
    assert!(check_entry_slots([(1usize << 34) - 1].into_iter()).is_ok());
    assert!(check_entry_slots([1usize << 33, (1 << 33) - 1].into_iter()).is_ok());
    let m = check_entry_slots([1usize << 33, 1 << 33].into_iter()).unwrap_err();
    assert!(m.contains("2^36"), "{m}");
    assert!(check_entry_slots(std::iter::repeat_n(1usize << 16, 1 << 18)).is_err());
}

#[test]
fn a_format_2_round_relabelled_as_format_4_is_refused() {
    let mut file = round().1.file.clone();
    file[8..10].copy_from_slice(&4u16.to_le_bytes());
    assert!(matches!(verify(&file, 100), Err(Error::Format { .. })));
    let mut file = committed_round().file.clone();
    file[8..10].copy_from_slice(&2u16.to_le_bytes());
    assert!(matches!(verify(&file, 100), Err(Error::Format { .. })));
}

