//! Rounds proved in batches: one statement, one file, many proofs.
//!
//! A round of `N` users is laid out exactly as a single proof would be: users and padding
//! leaves in one secret-keyed order over `N' = next_pow2(N)` leaves (so the padded count says
//! no more than a single proof's). The leaves are cut into `B = N' / 2^k` consecutive batches
//! of `2^k` leaves and each batch is proved with the unchanged solvency circuit. Batch `i`'s
//! root is node `B + i` of the full `N'`-leaf tree, so the verifier rebuilds the top `B − 1`
//! nodes from the batch roots with the same `node_digest` and obtains the **round root, which
//! is the Merkle root of all `N'` leaves**: an inclusion path is the ordinary full-depth path
//! (leaf → batch root → round root), in the unchanged inclusion format.
//!
//! **Binding a batch to its place.** The circuit's `round_digest` public input of batch `i` is
//! `H_bytes(BATCH_TAG, round_digest(round_id) ‖ i ‖ B)` (u64 little-endian), instead of
//! `round_digest(round_id)`. A batch proof therefore verifies only as batch `i` of a round of
//! `B` batches with that round id: a batch moved to another index, duplicated in another
//! slot, taken from another round or from a round of another size is rejected, and a batch
//! that is missing changes `B` (or leaves a slot whose proof no longer fits).
//!
//! **Totals.** Each batch publishes its per-asset part sums; the round's are their exact
//! sums, checked by the verifier, which refuses a sum reaching the field modulus. An honest
//! round never does: a leaf holds at most one entry per asset, each part below 2^24, so over
//! at most 2^40 leaves a part sums to at most `2^40·(2^24 − 1) = 2^64 − 2^40 < p`.
//!
//! **What a batch reveals beyond a single proof:** each batch's totals and root are public.
//! Batches hold a secret-keyed random subset of users (padding interleaved), so a batch total
//! is the sum over about `N/B` random users. Hiding them needs committed batch totals (an
//! aggregation proof) — not done here.
//!
//! **Where the leaves come from.** [`prove_round`] builds them from a ledger held in memory;
//! `spill.rs` builds the very same leaves from a ledger streamed in chunks, through bucket
//! files. Either way each batch becomes a `batch::BatchJob`, proved on one thread so that its
//! bytes never depend on timing, and [`assemble`] turns the results into the round file.
//!
//! File layout (kind 2), all integers little-endian:
//! ```text
//! magic "STARKPOR" | version u16 | kind u8 = 2 | statement length u32 | round statement
//!   | batch_log2 u8 | batch count u32
//!   | per batch i = 0..B: root (32) | K × 3 part sums u64 | proof length u32 | winterfell proof
//! ```
//! The round statement is the ordinary statement encoding (round id, range bound, `N'`, round
//! root, assets and round totals), so `read_statement` reads either kind the same way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, hash_bytes, merkle_tree, Digest};
use stark_por_solvency::layout::{PARTS, PART_BITS};
use stark_por_solvency::{CircuitError, Estimate, Leaf, PublicInputs, StatementParams};
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};
use winterfell::Proof;

use crate::batch::{prove_batch, BatchJob, BatchOutput};
use crate::envelope::{read_header, read_proof_block, read_statement_block, write_header, KIND_ROUND};
use crate::error::{Error, Result};
use crate::reader::Reader;
use crate::statement::{round_digest, Statement};
use crate::{build_leaves_and_salts, guard, kdf, prepare, witness_digest, LedgerRef, ProofFile, ProveOutput, Security, Verified};

/// Capacity tag of the batch binding digest.
pub const BATCH_TAG: u64 = u64::from_be_bytes(*b"stpr/bt\x01");
/// Largest round (the circuit's own leaf limit). Its largest honest part sum stays below the
/// modulus, so the verifier's sum check never refuses an honest round.
pub const MAX_ROUND_LEAVES: u64 = 1 << 40;
const _: () = assert!((MAX_ROUND_LEAVES as u128) * ((1u128 << PART_BITS) - 1) < Felt::MODULUS as u128);

/// The `round_digest` public input of batch `index` of a round of `count` batches.
pub fn batch_digest(round_id: &str, index: u64, count: u64) -> Digest {
    let mut bytes = Vec::with_capacity(48);
    bytes.extend_from_slice(&digest_to_bytes(&round_digest(round_id)));
    bytes.extend_from_slice(&index.to_le_bytes());
    bytes.extend_from_slice(&count.to_le_bytes());
    hash_bytes(BATCH_TAG, &bytes)
}

/// Runs `job(0) … job(count − 1)` on `workers` plain threads, each taking the next index, and
/// returns the outputs in index order; the first error stops the others from starting new jobs.
/// Plain threads, not rayon: a rayon worker waiting on a job would steal and start further
/// jobs, holding more than `workers` traces at once. `what` names a job in errors.
pub(crate) fn run_side_by_side<T: Send>(
    count: usize,
    workers: usize,
    what: &str,
    job: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T>>>> = Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(count) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let out = job(i);
                let failed = out.is_err();
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(out);
                }
                if failed {
                    next.store(count, Ordering::Relaxed);
                }
            });
        }
    });
    let results = results.into_inner().map_err(|_| Error::Internal(format!("a {what} worker panicked")))?;
    results.into_iter().map(|r| r.unwrap_or_else(|| Err(Error::Internal(format!("a {what} was not proved"))))).collect()
}

/// One batch as stored in a round file.
pub struct Batch {
    pub root: [u8; 32],
    pub totals: Vec<[u64; PARTS]>,
    pub proof: Proof,
}

/// A decoded round file.
pub struct RoundFile {
    pub statement: Statement,
    pub batch_log2: u8,
    pub batches: Vec<Batch>,
}

impl RoundFile {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, KIND_ROUND);
        let mut statement = Vec::new();
        self.statement.write(&mut statement);
        out.extend_from_slice(&(statement.len() as u32).to_le_bytes());
        out.extend_from_slice(&statement);
        out.push(self.batch_log2);
        out.extend_from_slice(&(self.batches.len() as u32).to_le_bytes());
        for b in &self.batches {
            out.extend_from_slice(&b.root);
            for parts in &b.totals {
                for p in parts {
                    out.extend_from_slice(&p.to_le_bytes());
                }
            }
            let proof = b.proof.to_bytes();
            out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
            out.extend_from_slice(&proof);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if read_header(&mut r)? != KIND_ROUND {
            return Err(Error::format(10, "not a batched round file"));
        }
        let statement = read_statement_block(&mut r)?;
        let n = statement.num_leaves;
        let at = r.offset();
        let batch_log2 = r.u8("batch size")?;
        let count = r.u32("batch count")? as u64;
        if batch_log2 == 0 || batch_log2 >= 40 {
            return Err(Error::format(at, format!("batch size 2^{batch_log2} is not in 2^1..2^39")));
        }
        if n > MAX_ROUND_LEAVES || !n.is_power_of_two() || count < 2 || !count.is_power_of_two() || count << batch_log2 != n
        {
            return Err(Error::format(
                at,
                format!("{count} batches of 2^{batch_log2} leaves do not make a round of {n} leaves (at least two batches)"),
            ));
        }
        // each batch takes at least its root, its totals and a proof length: refuse a count the
        // file cannot hold before reserving anything for it
        let min_batch = 32 + 8 * PARTS * statement.assets.len() + 4;
        if count.saturating_mul(min_batch as u64) > r.remaining() as u64 {
            return Err(Error::format(at, format!("{count} batches cannot fit in the {} bytes left", r.remaining())));
        }
        let mut batches = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = r.offset();
            let root = r.array::<32>("batch root")?;
            if digest_from_bytes(&root).is_none() {
                return Err(Error::format(at, format!("batch {i}: root is not a canonical digest")));
            }
            let mut totals = Vec::with_capacity(statement.assets.len());
            for _ in 0..statement.assets.len() {
                let mut parts = [0u64; PARTS];
                for part in parts.iter_mut() {
                    let at = r.offset();
                    *part = r.u64("batch total")?;
                    if *part >= Felt::MODULUS {
                        return Err(Error::format(at, format!("batch {i}: total is not a canonical field element")));
                    }
                }
                totals.push(parts);
            }
            let proof = read_proof_block(&mut r)?;
            batches.push(Batch { root, totals, proof });
        }
        r.finish()?;
        Ok(RoundFile { statement, batch_log2, batches })
    }

    /// The circuit's public inputs of batch `i`: the round's assets and range bound, the
    /// batch's size, root and totals, and the batch binding digest.
    pub fn batch_public_inputs(&self, i: usize) -> Result<PublicInputs> {
        let b = &self.batches[i];
        let s = Statement {
            round_id: self.statement.round_id.clone(),
            assets: self.statement.assets.clone(),
            range_bits: self.statement.range_bits,
            num_leaves: 1 << self.batch_log2,
            root: b.root,
            totals: b.totals.clone(),
        };
        let mut pi = s.public_inputs()?;
        pi.round_digest = batch_digest(&s.round_id, i as u64, self.batches.len() as u64);
        Ok(pi)
    }
}

/// The root over `roots` (a power of two of them), with the tree's own node hash.
fn top_root(roots: &[Digest]) -> Digest {
    merkle_tree(roots)[1]
}

/// Exact per-part sums of the batches' totals, refused if one reaches the field modulus.
fn sum_totals(num_assets: usize, batches: impl Iterator<Item = Vec<[u64; PARTS]>>) -> Option<Vec<[u64; PARTS]>> {
    let mut sums = vec![[0u128; PARTS]; num_assets];
    for totals in batches {
        for (s, t) in sums.iter_mut().zip(&totals) {
            for j in 0..PARTS {
                s[j] += t[j] as u128;
            }
        }
    }
    sums.into_iter()
        .map(|s| {
            let mut out = [0u64; PARTS];
            for j in 0..PARTS {
                if s[j] >= Felt::MODULUS as u128 {
                    return None;
                }
                out[j] = s[j] as u64;
            }
            Some(out)
        })
        .collect()
}

/// The circuit parameters and blinding seed of batch `index` of `count` over `leaves`. A round
/// of one batch is an ordinary single proof: the round's own digest, and the seed `prove` uses.
pub(crate) fn batch_params_and_seed(
    stub: &Statement,
    secret: &[u8],
    index: u64,
    count: u64,
    leaves: &[Leaf],
) -> (StatementParams, [u8; 32]) {
    let witness = witness_digest(leaves);
    let (round_digest, seed_input) = if count == 1 {
        (stub.round_digest(), witness)
    } else {
        let mut h = Sha256::new();
        h.update(b"stark-por/v1/batch");
        h.update(index.to_le_bytes());
        h.update(count.to_le_bytes());
        h.update(witness);
        (batch_digest(&stub.round_id, index, count), h.finalize().into())
    };
    let params = StatementParams {
        num_assets: stub.assets.len(),
        range_bits: stub.range_bits,
        assets_digest: stub.assets_digest(),
        round_digest,
    };
    (params, kdf::blinding_seed(secret, &stub.round_id, &seed_input))
}

/// Heap index, in the round's tree, of node `h` of the tree of batch `index` (`2^d ≤ h < 2^(d+1)`
/// lies `d` levels below the batch root, which is node `count + index`).
pub fn round_node_index(count: u64, index: u64, h: u64) -> u64 {
    let d = h.ilog2();
    ((count + index) << d) + (h - (1 << d))
}

/// Builds a round's proof file from its proved batches, given in index order. Returns the file,
/// its statement and the round tree's nodes above the batches (heap-numbered, `[0]` unused;
/// empty for a round of one batch, which is an ordinary single proof).
pub fn assemble(
    stub: &Statement,
    num_leaves: u64,
    batch_log2: u32,
    outputs: impl Iterator<Item = Result<BatchOutput>>,
) -> Result<(Vec<u8>, Statement, Vec<[u8; 32]>)> {
    let size = 1u64 << batch_log2.min(num_leaves.ilog2());
    let count = num_leaves / size;
    let mut batches = Vec::with_capacity(count as usize);
    for (i, out) in outputs.enumerate() {
        let out = out?;
        if out.index != i as u64 || out.count != count || out.totals.len() != stub.assets.len() {
            return Err(Error::Work(format!("batch result {i} is batch {} of {}, not {i} of {count}", out.index, out.count)));
        }
        batches.push(Batch { root: out.root, totals: out.totals, proof: out.proof });
    }
    if batches.len() as u64 != count {
        return Err(Error::Work(format!("{} batch results for a round of {count} batches", batches.len())));
    }
    let totals = sum_totals(stub.assets.len(), batches.iter().map(|b| b.totals.clone()))
        .ok_or_else(|| Error::Input("a round total part reaches the field modulus".into()))?;
    if count == 1 {
        let b = batches.pop().ok_or_else(|| Error::Internal("no batch".into()))?;
        let statement = Statement { num_leaves, root: b.root, totals, ..stub.clone() };
        let file = ProofFile { statement: statement.clone(), proof: b.proof }.to_bytes();
        return Ok((file, statement, vec![]));
    }
    let roots = batches
        .iter()
        .map(|b| digest_from_bytes(&b.root).ok_or_else(|| Error::Work("a batch root is not a canonical digest".into())))
        .collect::<Result<Vec<Digest>>>()?;
    let mut top: Vec<[u8; 32]> = merkle_tree(&roots).iter().take(count as usize).map(digest_to_bytes).collect();
    top[0] = [0; 32];
    let statement = Statement { num_leaves, root: top[1], totals, ..stub.clone() };
    let file = RoundFile { statement: statement.clone(), batch_log2: batch_log2 as u8, batches }.to_bytes();
    Ok((file, statement, top))
}

/// Proves `ledger` as a round of batches of `2^batch_log2` leaves, `workers` batches side by
/// side (0: one per core). A round that fits in one batch is an ordinary single proof (kind 1). The leaf order,
/// salts, tree and root are those `prove` would give for the same ledger, secret and round id.
pub fn prove_round(
    ledger: &LedgerRef<'_>,
    secret: &[u8],
    round_id: &str,
    security: Security,
    batch_log2: u32,
    workers: usize,
) -> Result<ProveOutput> {
    if !(1..40).contains(&batch_log2) {
        return Err(Error::Input(format!("batch size 2^{batch_log2} is not in 2^1..2^39")));
    }
    let num_leaves = (ledger.user_ids.len() as u64).next_power_of_two().max(2);
    if num_leaves <= 1 << batch_log2 {
        return crate::prove(ledger, secret, round_id, security);
    }
    let stub = prepare(ledger, secret, round_id)?;
    let workers = match workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    guard("proving", || prove_round_checked(ledger, secret, stub, security, batch_log2, workers))?
}

fn prove_round_checked(
    ledger: &LedgerRef<'_>,
    secret: &[u8],
    stub: Statement,
    security: Security,
    batch_log2: u32,
    workers: usize,
) -> Result<ProveOutput> {
    let (leaves, positions, salts) = build_leaves_and_salts(ledger, secret, &stub.round_id);
    let n = leaves.len() as u64;
    if n > MAX_ROUND_LEAVES {
        return Err(Error::Input(format!("a round holds at most 2^40 leaves, not {n}")));
    }
    let size = 1usize << batch_log2;
    let count = leaves.len() / size;
    let outputs = run_side_by_side(count, workers, "batch", |i| {
        let chunk = &leaves[i * size..(i + 1) * size];
        let (params, seed) = batch_params_and_seed(&stub, secret, i as u64, count as u64, chunk);
        let job = BatchJob { index: i as u64, count: count as u64, security, params, seed, leaves: chunk.to_vec() };
        prove_batch(&job)
    })?;
    drop(leaves);
    let mut tree = vec![[0u8; 32]; 2 * n as usize];
    for out in &outputs {
        for (h, digest) in out.tree.iter().enumerate().skip(1) {
            tree[round_node_index(count as u64, out.index, h as u64) as usize] = *digest;
        }
    }
    let (trace_rows, trace_columns) = {
        let info = outputs[0].proof.trace_info();
        (info.length(), info.main_trace_width() + info.aux_segment_width())
    };
    let weakest = weakest(outputs.iter().map(|o| stark_por_solvency::estimate(&o.proof, stub.assets.len())));
    let (file, statement, top) = assemble(&stub, n, batch_log2, outputs.into_iter().map(Ok))?;
    tree[1..count].copy_from_slice(&top[1..]);
    Ok(ProveOutput {
        file,
        statement,
        security_bits: weakest.0,
        proven_security_bits: weakest.1,
        positions,
        trace_rows,
        trace_columns,
        salts,
        tree,
    })
}

/// Verifies a round file: the top tree from the batch roots to the round root, the round
/// totals as the exact sums of the batch totals, then every batch proof (in parallel) against
/// its binding digest. Returns the round statement and the weakest batch's security.
pub fn verify_round(bytes: &[u8], min_security_bits: u32) -> Result<Verified> {
    let file = RoundFile::from_bytes(bytes)?;
    let roots = file
        .batches
        .iter()
        .map(|b| digest_from_bytes(&b.root).ok_or_else(|| Error::Invalid("a batch root is not a canonical digest".into())))
        .collect::<Result<Vec<Digest>>>()?;
    if digest_to_bytes(&top_root(&roots)) != file.statement.root {
        return Err(Error::Invalid("the batch roots do not combine to the round root".into()));
    }
    let sums = sum_totals(file.statement.assets.len(), file.batches.iter().map(|b| b.totals.clone()));
    if sums.as_ref() != Some(&file.statement.totals) {
        return Err(Error::Invalid("the round totals are not the sums of the batch totals".into()));
    }
    let inputs = (0..file.batches.len()).map(|i| file.batch_public_inputs(i)).collect::<Result<Vec<_>>>()?;
    let RoundFile { statement, batches, .. } = file;
    let results: Vec<Result<Estimate>> = batches
        .into_par_iter()
        .zip(inputs)
        .enumerate()
        .map(|(i, (b, pi))| {
            guard("verification", || stark_por_solvency::verify(b.proof, pi, min_security_bits))?.map_err(|e| match e {
                CircuitError::InsufficientSecurity { .. } => Error::from(e),
                other => Error::Invalid(format!("batch {i}: {other}")),
            })
        })
        .collect();
    let (security_bits, proven_security_bits) = weakest(results.into_iter().collect::<Result<Vec<_>>>()?);
    Ok(Verified { statement, security_bits, proven_security_bits })
}

/// A round's figures: its weakest batch's, conjectured and proven. A round is accepted only if
/// every batch verifies, and each forging attempt works on one batch's transcript, so the
/// number of batches adds no union term (`circuits/solvency/README.md`, Parameters).
fn weakest(batches: impl IntoIterator<Item = Estimate>) -> (u32, u32) {
    batches.into_iter().fold((u32::MAX, u32::MAX), |(c, p), e| (c.min(e.conjectured), p.min(e.proven)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::inclusion::{path_from_tree, walk_path};
    use crate::statement::Asset;

    pub(crate) struct Owned {
        pub ids: Vec<String>,
        pub assets: Vec<Asset>,
        pub indptr: Vec<u64>,
        pub asset_index: Vec<u32>,
        pub amounts: Vec<u64>,
    }

    pub(crate) fn ledger(n: usize) -> Owned {
        let assets = vec![Asset { name: "BTC".into(), decimals: 8 }, Asset { name: "USDT".into(), decimals: 6 }];
        let (mut indptr, mut asset_index, mut amounts) = (vec![0u64], vec![], vec![]);
        for u in 0..n {
            if u % 3 != 1 {
                asset_index.push(0);
                amounts.push(1_000 + u as u64 * 7);
            }
            if u % 2 == 0 {
                asset_index.push(1);
                amounts.push((1 << 50) + u as u64);
            }
            indptr.push(amounts.len() as u64);
        }
        Owned { ids: (0..n).map(|u| format!("user-{u}")).collect(), assets, indptr, asset_index, amounts }
    }

    impl Owned {
        /// Users `lo..hi` as a ledger of their own.
        pub(crate) fn slice(&self, lo: usize, hi: usize) -> Owned {
            let (a, b) = (self.indptr[lo] as usize, self.indptr[hi] as usize);
            Owned {
                ids: self.ids[lo..hi].to_vec(),
                assets: self.assets.clone(),
                indptr: self.indptr[lo..=hi].iter().map(|p| p - a as u64).collect(),
                asset_index: self.asset_index[a..b].to_vec(),
                amounts: self.amounts[a..b].to_vec(),
            }
        }

        pub(crate) fn view(&self) -> LedgerRef<'_> {
            LedgerRef {
                user_ids: &self.ids,
                assets: &self.assets,
                indptr: &self.indptr,
                asset_index: &self.asset_index,
                amounts: &self.amounts,
                range_bits: 62,
            }
        }
    }

    const SECRET: &[u8] = b"a round secret of enough bytes";

    /// One 4-batch round (2^4 leaves per batch, 50 users), proved once for every test.
    fn round() -> &'static (Vec<u8>, ProveOutput) {
        static ROUND: std::sync::OnceLock<(Vec<u8>, ProveOutput)> = std::sync::OnceLock::new();
        ROUND.get_or_init(|| {
            let l = ledger(50);
            let out = prove_round(&l.view(), SECRET, "r-1", Security::Bits100, 4, 2).unwrap();
            (out.file.clone(), out)
        })
    }

    fn expect_invalid(bytes: &[u8]) -> String {
        match crate::verify(bytes, 100) {
            Err(Error::Invalid(m)) => m,
            Err(Error::Format { message, .. }) => message,
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a tampered round verified"),
        }
    }

    #[test]
    fn round_verifies_as_one_statement_with_the_full_tree_root() {
        let (bytes, out) = round();
        let v = crate::verify(bytes, 100).unwrap();
        assert_eq!(v.statement, out.statement);
        assert_eq!(v.statement.num_leaves, 64);
        assert!(v.security_bits >= 100);
        // the round root is the Merkle root of all leaves: the single proof's root
        let l = ledger(50);
        let single = crate::prove(&l.view(), SECRET, "r-1", Security::Bits100).unwrap();
        assert_eq!(single.statement.root, v.statement.root);
        assert_eq!(single.statement.totals, v.statement.totals);
        assert_eq!(single.tree, out.tree);
        assert_eq!(single.positions, out.positions);
        let btc: u128 = l.amounts.iter().zip(&l.asset_index).filter(|(_, &a)| a == 0).map(|(&x, _)| x as u128).sum();
        assert_eq!(v.statement.total(0), btc);
        assert_eq!(crate::read_statement(bytes).unwrap(), out.statement);
    }

    #[test]
    fn inclusion_paths_run_through_the_batch_root_to_the_round_root() {
        let (_, out) = round();
        let tree: Vec<Digest> = out.tree.iter().map(|b| digest_from_bytes(b).unwrap_or([Felt::new(0); 4])).collect();
        for &pos in &out.positions {
            let path = path_from_tree(&tree, pos);
            assert_eq!(path.len(), 6);
            let leaf = tree[64 + pos as usize];
            assert_eq!(digest_to_bytes(&walk_path(&leaf, pos, &path)), out.statement.root);
            // the first four steps reach the batch root
            let batch = (pos >> 4) as usize;
            assert_eq!(walk_path(&leaf, pos & 15, &path[..4]), tree[4 + batch]);
        }
    }

    fn decoded() -> RoundFile {
        RoundFile::from_bytes(&round().0).unwrap()
    }

    #[test]
    fn re_encoding_is_exact() {
        assert_eq!(decoded().to_bytes(), round().0);
    }

    #[test]
    fn a_missing_batch_is_rejected() {
        let mut f = decoded();
        f.batches.pop();
        assert!(RoundFile::from_bytes(&f.to_bytes()).is_err());
        expect_invalid(&f.to_bytes());
        // also when the leaf count is lowered to match: the top tree and the binding break
        f.batches.pop();
        f.statement.num_leaves = 32;
        expect_invalid(&f.to_bytes());
    }

    #[test]
    fn a_duplicated_batch_is_rejected() {
        let mut f = decoded();
        let copy = Batch { root: f.batches[0].root, totals: f.batches[0].totals.clone(), proof: f.batches[0].proof.clone() };
        f.batches[1] = copy;
        // even with the round root and totals made consistent, the proof is bound to slot 0
        let roots: Vec<Digest> = f.batches.iter().map(|b| digest_from_bytes(&b.root).unwrap()).collect();
        f.statement.root = digest_to_bytes(&top_root(&roots));
        f.statement.totals = sum_totals(2, f.batches.iter().map(|b| b.totals.clone())).unwrap();
        let m = expect_invalid(&f.to_bytes());
        assert!(m.contains("batch 1"), "{m}");
    }

    #[test]
    fn swapped_batches_are_rejected() {
        let mut f = decoded();
        f.batches.swap(1, 2);
        let m = expect_invalid(&f.to_bytes());
        assert!(m.contains("round root"), "{m}");
        // with the top tree recomputed for the new order, the binding catches it
        let roots: Vec<Digest> = f.batches.iter().map(|b| digest_from_bytes(&b.root).unwrap()).collect();
        f.statement.root = digest_to_bytes(&top_root(&roots));
        let m = expect_invalid(&f.to_bytes());
        assert!(m.contains("batch 1") || m.contains("batch 2"), "{m}");
    }

    #[test]
    fn a_changed_top_node_is_rejected() {
        let mut f = decoded();
        f.statement.root = f.batches[0].root;
        assert!(expect_invalid(&f.to_bytes()).contains("round root"));
        let mut f = decoded();
        f.batches[3].root = f.batches[2].root;
        expect_invalid(&f.to_bytes());
    }

    #[test]
    fn changed_totals_are_rejected() {
        let mut f = decoded();
        f.statement.totals[1][0] += 1;
        assert!(expect_invalid(&f.to_bytes()).contains("sums"));
        // moving value between batches keeps the sums but breaks the batch proofs
        let mut f = decoded();
        f.batches[0].totals[1][0] += 1;
        f.batches[1].totals[1][0] -= 1;
        expect_invalid(&f.to_bytes());
    }

    #[test]
    fn a_batch_from_another_round_is_rejected() {
        let l = ledger(50);
        let other = prove_round(&l.view(), SECRET, "r-2", Security::Bits100, 4, 2).unwrap();
        let mut f = decoded();
        let o = RoundFile::from_bytes(&other.file).unwrap();
        f.batches[2].proof = o.batches[2].proof.clone();
        expect_invalid(&f.to_bytes());
        // relabelling the whole other round keeps nothing of it valid
        let mut o = o;
        o.statement.round_id = "r-1".into();
        expect_invalid(&o.to_bytes());
    }

    #[test]
    fn a_round_of_one_batch_is_a_single_proof() {
        let l = ledger(10);
        let out = prove_round(&l.view(), SECRET, "r-1", Security::Bits100, 4, 2).unwrap();
        assert_eq!(crate::envelope::file_kind(&out.file).unwrap(), crate::envelope::KIND_SOLVENCY);
        crate::verify(&out.file, 100).unwrap();
        assert!(prove_round(&l.view(), SECRET, "r-1", Security::Bits100, 0, 2).is_err());
    }

    #[test]
    fn a_huge_batch_count_is_refused_before_allocating() {
        let mut f = decoded();
        f.batches.truncate(2);
        f.batch_log2 = 4;
        f.statement.num_leaves = 1 << 35; // 2^31 batches of 16 leaves claimed
        let mut bytes = f.to_bytes();
        let statement_len = u32::from_le_bytes(bytes[11..15].try_into().unwrap()) as usize;
        let count_at = 15 + statement_len + 1;
        bytes[count_at..count_at + 4].copy_from_slice(&(1u32 << 31).to_le_bytes());
        match crate::verify(&bytes, 100) {
            Err(Error::Format { message, .. }) => assert!(message.contains("cannot fit"), "{message}"),
            other => panic!("expected a format error, got {:?}", other.err()),
        }
    }

    /// A single-proof file around `proof` (any bytes), with the round's statement.
    fn single_file(proof: &[u8]) -> Vec<u8> {
        let mut statement = Vec::new();
        decoded().statement.write(&mut statement);
        let mut out = Vec::new();
        write_header(&mut out, crate::envelope::KIND_SOLVENCY);
        out.extend_from_slice(&(statement.len() as u32).to_le_bytes());
        out.extend_from_slice(&statement);
        out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
        out.extend_from_slice(proof);
        out
    }

    fn format_error(bytes: &[u8]) -> (usize, String) {
        match crate::verify(bytes, 100) {
            Err(Error::Format { offset, message }) => (offset, message),
            other => panic!("expected a format error, got {:?}", other.err()),
        }
    }

    // found by fuzz/ (proof_single, batch_result): a count of 2^40 elements in a 100-byte
    // proof made winterfell reserve a terabyte, and the failed allocation aborted the process
    #[test]
    fn a_proof_claiming_more_elements_than_bytes_is_a_format_error_not_an_abort() {
        use winter_utils::Serializable;
        let proof = &decoded().batches[0].proof;
        let honest = proof.to_bytes();
        // the commitments' length follows the context and the unique-query count
        let at = proof.context.to_bytes().len() + 1;
        let prefix = honest[at].trailing_zeros() as usize + 1; // vint64: length in the first byte
        let mut bad = honest[..at].to_vec();
        bad.push(0); // 9-byte form
        bad.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bad.extend_from_slice(&honest[at + prefix..]);
        let (_, message) = format_error(&single_file(&bad));
        assert!(message.contains("cannot fit"), "{message}");
        assert!(matches!(crate::verify(&single_file(&honest), 100), Err(Error::Invalid(_))), "only the count was at fault");
    }

    /// A vint64 (winterfell's length prefix).
    fn vint(n: usize) -> Vec<u8> {
        use winter_utils::ByteWriter;
        let mut out = Vec::new();
        out.write_usize(n);
        out
    }

    // found by fuzz/ (proof_single, proof_round): winterfell decodes a query's Merkle multi-proof
    // only while verifying, reserving room for as many node vectors as its count says; 2^40 of
    // them aborted the process
    #[test]
    fn a_merkle_proof_claiming_more_nodes_than_bytes_is_a_format_error_not_an_abort() {
        use winter_utils::{Deserializable, Serializable};
        let mut proof = decoded().batches[0].proof.clone();
        let honest = proof.trace_queries[0].to_bytes();
        let mut r = crate::bounded::BoundedReader::new(&honest);
        let values = Vec::<u8>::read_from(&mut r).unwrap();
        let paths = Vec::<u8>::read_from(&mut r).unwrap();
        // paths: depth u8, then the vint64 count of node vectors (here in its 9-byte form)
        let count_len = paths[1].trailing_zeros() as usize + 1;
        let mut bad_paths = vec![paths[0], 0];
        bad_paths.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bad_paths.extend_from_slice(&paths[1 + count_len..]);
        let mut bytes = vint(values.len());
        bytes.extend_from_slice(&values);
        bytes.extend(vint(bad_paths.len()));
        bytes.extend_from_slice(&bad_paths);
        proof.trace_queries[0] = Deserializable::read_from_bytes(&bytes).unwrap();
        let (_, message) = format_error(&single_file(&proof.to_bytes()));
        assert!(message.contains("trace queries") && message.contains("cannot fit"), "{message}");
    }

    // seen in winterfell's verifier while fixing the multi-proof abort above: it asserts that the
    // out-of-domain frame holds 2 rows (a panic, reported as an internal error)
    #[test]
    fn an_out_of_domain_frame_of_other_than_two_rows_is_a_format_error() {
        use winter_utils::{Deserializable, Serializable};
        let mut proof = decoded().batches[0].proof.clone();
        let mut ood = proof.ood_frame.to_bytes();
        assert_eq!(ood[2], 2, "u16 length, then the frame's row count");
        ood[2] = 3;
        proof.ood_frame = Deserializable::read_from_bytes(&ood).unwrap();
        let (_, message) = format_error(&single_file(&proof.to_bytes()));
        assert!(message.contains("out-of-domain trace frame"), "{message}");
    }

    // found by fuzz/ (proof_round, batch_result): proof options out of their domain (here 0 FRI
    // partitions) made winterfell's `ProofOptions::new` assert while decoding
    #[test]
    fn proof_options_other_than_a_preset_are_refused_naming_their_offset() {
        use winter_utils::Serializable;
        let proof = &decoded().batches[0].proof;
        let mut bytes = proof.to_bytes();
        let options = proof.options().to_bytes();
        let at = (4..bytes.len()).find(|&i| bytes[i..].starts_with(&options)).unwrap();
        bytes[at + options.len() - 2] = 0; // the number of partitions
        let file = single_file(&bytes);
        let (offset, message) = format_error(&file);
        assert_eq!(&file[offset..offset + options.len() - 2], &options[..options.len() - 2]);
        assert!(message.contains("not those of a preset"), "{message}");
    }

    // found by fuzz/ (proof_single): the FRI proof's partition count is 2^k, computed while
    // verifying with an unchecked `pow` (k = 70 overflowed)
    #[test]
    fn a_fri_partition_count_beyond_the_domain_is_a_format_error() {
        use winter_utils::{Deserializable, Serializable};
        let mut proof = decoded().batches[0].proof.clone();
        let mut fri = proof.fri_proof.to_bytes();
        *fri.last_mut().unwrap() = 70;
        proof.fri_proof = Deserializable::read_from_bytes(&fri).unwrap();
        let (_, message) = format_error(&single_file(&proof.to_bytes()));
        assert!(message.contains("2^70 partitions"), "{message}");
    }

    // found by fuzz/ (batch_result): winterfell computes the trace length 2^k from the proof's
    // 4th byte with an unchecked `pow`; k = 67 overflowed (a panic, caught as "malformed")
    #[test]
    fn a_trace_length_beyond_the_largest_domain_is_refused_naming_its_byte() {
        let mut proof = decoded().batches[0].proof.to_bytes();
        proof[3] = 67;
        let file = single_file(&proof);
        let (offset, message) = format_error(&file);
        assert_eq!(file[offset], 67);
        assert!(message.contains("trace length 2^67"), "{message}");
    }

    #[test]
    fn the_largest_round_part_sums_stay_below_the_modulus() {
        // two batches of 2^39 leaves, every leaf at the largest part: 2^64 − 2^40, below p
        let largest = (1u64 << 39) * ((1 << PART_BITS) - 1);
        let batches = vec![vec![[largest; PARTS]]; 2];
        let sums = sum_totals(1, batches.into_iter()).expect("an honest giant round is refused");
        assert_eq!(sums[0][0] as u128, MAX_ROUND_LEAVES as u128 * ((1 << PART_BITS) - 1));
        assert_eq!(sums[0][0], u64::MAX - (1 << 40) + 1);
        // a sum reaching the modulus (no honest round makes one) is refused
        assert!(sum_totals(1, vec![vec![[Felt::MODULUS - 1, 0, 0]], vec![[1, 0, 0]]].into_iter()).is_none());
    }

    /// `proof` claiming `2^log_rows` trace rows (byte 3 of its context).
    fn with_trace_length(proof: &Proof, log_rows: u8) -> Proof {
        let mut bytes = proof.to_bytes();
        bytes[3] = log_rows;
        Proof::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn an_lde_domain_of_2_32_is_an_invalid_proof_not_an_internal_error() {
        // blowup 8: 2^29 rows make an LDE domain of 2^32, which winterfell cannot hold
        let l = ledger(10);
        let single = crate::prove(&l.view(), SECRET, "r-1", Security::Bits100).unwrap();
        let mut f = ProofFile::from_bytes(&single.file).unwrap();
        f.proof = with_trace_length(&f.proof, 29);
        match crate::verify(&f.to_bytes(), 100) {
            Err(Error::Invalid(m)) => assert!(m.contains("trace length"), "{m}"),
            other => panic!("expected an invalid proof, got {:?}", other.err()),
        }
        let mut r = decoded();
        r.batches[1].proof = with_trace_length(&r.batches[1].proof, 29);
        let m = expect_invalid(&r.to_bytes());
        assert!(m.contains("batch 1") && m.contains("trace length"), "{m}");
    }

    #[test]
    fn a_round_reports_its_weakest_batch() {
        let (bytes, out) = round();
        let v = crate::verify(bytes, 100).unwrap();
        let f = decoded();
        let each: Vec<Estimate> = f.batches.iter().map(|b| stark_por_solvency::estimate(&b.proof, 2)).collect();
        assert_eq!(v.security_bits, each.iter().map(|e| e.conjectured).min().unwrap());
        assert_eq!(v.proven_security_bits, each.iter().map(|e| e.proven).min().unwrap());
        assert_eq!((v.security_bits, v.proven_security_bits), (out.security_bits, out.proven_security_bits));
        assert_eq!(v.security_bits, 103);
    }

    #[test]
    fn truncation_and_trailing_bytes_are_format_errors() {
        let bytes = &round().0;
        for cut in [bytes.len() - 1, bytes.len() / 2, 200] {
            assert!(matches!(crate::verify(&bytes[..cut], 100), Err(Error::Format { .. })));
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(crate::verify(&longer, 100), Err(Error::Format { .. })));
    }
}
