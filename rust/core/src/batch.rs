//! One batch of a round as a self-contained job, and its result.
//!
//! A [`BatchJob`] holds everything proving needs — the leaves, the circuit's public parameters
//! (with the batch binding digest in place of the round digest) and the blinding seed — and no
//! master secret, so it can be shipped to another machine (a Ray worker) as bytes. Its
//! [`BatchOutput`] carries the proof, the batch's root and totals, and the batch's Merkle tree
//! (for the inclusion store), tagged with the digest of the job it answers: a finished batch
//! found on disk is reused only for the very job it was proved from.
//!
//! **Determinism.** winterfell searches the grinding nonce with a parallel `find_any`, whose
//! answer depends on thread timing. [`prove_batch`] runs on a one-thread pool, where the search
//! is sequential and finds the smallest nonce: the same job gives the same bytes on any machine
//! and in any executor. Throughput comes from batches side by side, one per core (measured no
//! slower than two threads inside one batch: see `benches/README.md`).
//!
//! Encodings (little-endian, length-prefixed):
//! ```text
//! job:    "STPRJOB1" | index u64 | count u64 | security name (u8 len + bytes) | num_assets u32
//!         | range_bits u32 | assets digest (32) | round digest (32) | seed (32) | leaves u64
//!         | per leaf: idc (32) | entries u32 | per entry: asset u32, amount u64
//! output: "STPRBAT1" | job digest (32) | index u64 | count u64 | root (32) | K × 3 parts u64
//!         | proof length u32 | proof | tree nodes 1 .. 2·leaves − 1 (32 each, heap order)
//! ```

use sha2::{Digest as _, Sha256};
use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, Digest};
use stark_por_solvency::layout::PARTS;
use stark_por_solvency::{Leaf, Security, StatementParams};
use winterfell::Proof;

use crate::envelope::read_proof_block;
use crate::error::{Error, Result};
use crate::guard;
use crate::reader::Reader;

const JOB_MAGIC: &[u8; 8] = b"STPRJOB1";
const OUTPUT_MAGIC: &[u8; 8] = b"STPRBAT1";

/// Everything needed to prove one batch.
pub struct BatchJob {
    pub index: u64,
    pub count: u64,
    pub security: Security,
    pub params: StatementParams,
    pub seed: [u8; 32],
    pub leaves: Vec<Leaf>,
}

/// A proved batch.
pub struct BatchOutput {
    /// SHA-256 of the job's encoding.
    pub job_digest: [u8; 32],
    pub index: u64,
    pub count: u64,
    pub root: [u8; 32],
    pub totals: Vec<[u64; PARTS]>,
    pub proof: Proof,
    /// The batch's Merkle tree, heap-numbered (`tree[1]` is the root); `tree[0]` is zero.
    pub tree: Vec<[u8; 32]>,
}

fn digest_bytes(r: &mut Reader<'_>, what: &str) -> Result<Digest> {
    let at = r.offset();
    digest_from_bytes(&r.array::<32>(what)?).ok_or_else(|| Error::format(at, format!("{what} is not a canonical digest")))
}

impl BatchJob {
    pub fn to_bytes(&self) -> Vec<u8> {
        let entries: usize = self.leaves.iter().map(|l| l.entries.len()).sum();
        let mut out = Vec::with_capacity(200 + 36 * self.leaves.len() + 12 * entries);
        out.extend_from_slice(JOB_MAGIC);
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        let name = self.security.name().as_bytes();
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(&(self.params.num_assets as u32).to_le_bytes());
        out.extend_from_slice(&self.params.range_bits.to_le_bytes());
        out.extend_from_slice(&digest_to_bytes(&self.params.assets_digest));
        out.extend_from_slice(&digest_to_bytes(&self.params.round_digest));
        out.extend_from_slice(&self.seed);
        out.extend_from_slice(&(self.leaves.len() as u64).to_le_bytes());
        for leaf in &self.leaves {
            out.extend_from_slice(&digest_to_bytes(&leaf.idc));
            out.extend_from_slice(&(leaf.entries.len() as u32).to_le_bytes());
            for &(asset, amount) in &leaf.entries {
                out.extend_from_slice(&asset.to_le_bytes());
                out.extend_from_slice(&amount.to_le_bytes());
            }
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if r.take(8, "job magic")? != JOB_MAGIC {
            return Err(Error::format(0, "not a stark-por batch job"));
        }
        let index = r.u64("batch index")?;
        let count = r.u64("batch count")?;
        let at = r.offset();
        let name_len = r.u8("security name length")? as usize;
        let name = r.utf8(name_len, "security name")?;
        let security = Security::from_name(&name).ok_or_else(|| Error::format(at, format!("unknown security {name:?}")))?;
        let num_assets = r.u32("asset count")? as usize;
        let range_bits = r.u32("range bits")?;
        let assets_digest = digest_bytes(&mut r, "assets digest")?;
        let round_digest = digest_bytes(&mut r, "round digest")?;
        let seed = r.array::<32>("seed")?;
        let at = r.offset();
        let n = r.u64("leaf count")?;
        // a leaf takes at least 36 bytes: refuse a count the job cannot hold before reserving
        if n.saturating_mul(36) > r.remaining() as u64 {
            return Err(Error::format(at, format!("{n} leaves cannot fit in the {} bytes left", r.remaining())));
        }
        let mut leaves = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let idc = digest_bytes(&mut r, "id commitment")?;
            let k = r.u32("entry count")? as usize;
            if k.saturating_mul(12) > r.remaining() {
                return Err(Error::format(r.offset(), format!("{k} entries cannot fit in the bytes left")));
            }
            let mut entries = Vec::with_capacity(k);
            for _ in 0..k {
                entries.push((r.u32("asset")?, r.u64("amount")?));
            }
            leaves.push(Leaf { idc, entries });
        }
        r.finish()?;
        let params = StatementParams { num_assets, range_bits, assets_digest, round_digest };
        Ok(BatchJob { index, count, security, params, seed, leaves })
    }

    /// SHA-256 of the encoding: what a finished batch is matched against.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }
}

/// Proves a batch, deterministically (one thread: see the module notes).
pub fn prove_batch(job: &BatchJob) -> Result<BatchOutput> {
    prove_batch_on(job, 1)
}

/// [`prove_batch`] on `threads` threads: faster for a lone batch, but the grinding nonce (so the
/// bytes, never the validity) then depends on timing.
pub fn prove_batch_on(job: &BatchJob, threads: usize) -> Result<BatchOutput> {
    let proved = guard("proving", || {
        crate::on_threads(threads, || stark_por_solvency::prove_with_tree(&job.leaves, &job.params, job.security, job.seed))
    })???;
    let (proof, pi, tree) = proved;
    let mut tree: Vec<[u8; 32]> = tree.iter().map(digest_to_bytes).collect();
    tree[0] = [0; 32];
    Ok(BatchOutput {
        job_digest: job.digest(),
        index: job.index,
        count: job.count,
        root: digest_to_bytes(&pi.root),
        totals: pi.totals.iter().map(|parts| parts.map(|x| x.as_int())).collect(),
        proof,
        tree,
    })
}

impl BatchOutput {
    pub fn to_bytes(&self) -> Vec<u8> {
        let proof = self.proof.to_bytes();
        let mut out = Vec::with_capacity(128 + proof.len() + 32 * self.tree.len());
        out.extend_from_slice(OUTPUT_MAGIC);
        out.extend_from_slice(&self.job_digest);
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.root);
        for parts in &self.totals {
            for p in parts {
                out.extend_from_slice(&p.to_le_bytes());
            }
        }
        out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
        out.extend_from_slice(&proof);
        for node in &self.tree[1..] {
            out.extend_from_slice(node);
        }
        out
    }

    /// Decodes an output of a batch of `num_leaves` leaves over `num_assets` assets.
    pub fn from_bytes(bytes: &[u8], num_assets: usize, num_leaves: usize) -> Result<Self> {
        if num_leaves < 2 || !num_leaves.is_power_of_two() {
            return Err(Error::Input(format!("a batch of {num_leaves} leaves is not a tree")));
        }
        let mut r = Reader::new(bytes);
        if r.take(8, "batch magic")? != OUTPUT_MAGIC {
            return Err(Error::format(0, "not a stark-por batch result"));
        }
        let job_digest = r.array::<32>("job digest")?;
        let index = r.u64("batch index")?;
        let count = r.u64("batch count")?;
        let root = r.array::<32>("batch root")?;
        let mut totals = Vec::with_capacity(num_assets);
        for _ in 0..num_assets {
            let mut parts = [0u64; PARTS];
            for p in parts.iter_mut() {
                *p = r.u64("batch total")?;
            }
            totals.push(parts);
        }
        let proof = read_proof_block(&mut r)?;
        if r.remaining() != 32 * (2 * num_leaves - 1) {
            return Err(Error::format(r.offset(), format!("expected the {}-node batch tree", 2 * num_leaves - 1)));
        }
        let mut tree = vec![[0u8; 32]; 2 * num_leaves];
        for node in tree.iter_mut().skip(1) {
            *node = r.array::<32>("tree node")?;
        }
        if tree[1] != root {
            return Err(Error::format(0, "the batch tree does not end in the batch root"));
        }
        Ok(BatchOutput { job_digest, index, count, root, totals, proof, tree })
    }
}

/// Decodes, proves (on `threads` threads) and encodes a job: the whole work of a remote worker.
pub fn prove_encoded(job: &[u8], threads: usize) -> Result<Vec<u8>> {
    Ok(prove_batch_on(&BatchJob::from_bytes(job)?, threads)?.to_bytes())
}

/// Whether `output` is a whole, well-formed result of exactly `job` (its recorded job digest
/// matches). The proof itself is checked when the round is verified before it is written.
pub fn answers(job: &[u8], output: &[u8]) -> bool {
    let digest: [u8; 32] = Sha256::digest(job).into();
    if output.len() < 40 || output[8..40] != digest {
        return false;
    }
    match BatchJob::from_bytes(job) {
        Ok(j) => BatchOutput::from_bytes(output, j.params.num_assets, j.leaves.len())
            .is_ok_and(|o| o.index == j.index && o.count == j.count),
        Err(_) => false,
    }
}

/// The nodes of a batch result's tree as (round heap index, digest): where they sit in the
/// tree of a round of `count` batches of `num_leaves` leaves over `num_assets` assets.
pub fn round_nodes(output: &[u8], num_assets: usize, num_leaves: usize, count: u64) -> Result<Vec<(u64, [u8; 32])>> {
    let out = BatchOutput::from_bytes(output, num_assets, num_leaves)?;
    let index = out.index;
    if index >= count {
        return Err(Error::format(40, format!("batch index {index} is not one of the round's {count}")));
    }
    Ok(out.tree.into_iter().enumerate().skip(1).map(|(h, d)| (crate::round::round_node_index(count, index, h as u64), d)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stark_por_solvency::hash::id_commitment;

    fn job() -> BatchJob {
        let leaves = (0..8u8)
            .map(|i| Leaf { idc: id_commitment(&[i; 32], b"u"), entries: if i % 3 == 0 { vec![] } else { vec![(1, 5 + i as u64), (2, 7)] } })
            .collect();
        let params = StatementParams {
            num_assets: 2,
            range_bits: 62,
            assets_digest: id_commitment(&[9; 32], b"assets"),
            round_digest: id_commitment(&[8; 32], b"round"),
        };
        BatchJob { index: 1, count: 4, security: Security::Bits100, params, seed: [3; 32], leaves }
    }

    // found by fuzz/ (batch_result), minimised: a 4-byte proof whose trace length byte is 67
    #[test]
    fn a_result_with_a_4_byte_proof_is_refused_naming_the_byte() {
        let mut bytes = OUTPUT_MAGIC.to_vec();
        bytes.extend_from_slice(&[0x43; 32 + 8 + 8 + 32]); // job digest, index, count, root
        bytes.extend_from_slice(&4u32.to_le_bytes());
        bytes.extend_from_slice(&[0x2b, 0xc6, 0xa6, 0x43]);
        match BatchOutput::from_bytes(&bytes, 0, 256) {
            Err(Error::Format { offset: 95, message }) => assert!(message.contains("trace length 2^67"), "{message}"),
            other => panic!("expected a format error at byte 95, got {:?}", other.err()),
        }
    }

    // found by fuzz/ (batch_result): the nodes of a result claiming batch 7 of a round of 4 were
    // placed outside the round's tree (and a huge index overflowed the node numbering)
    #[test]
    fn nodes_of_a_batch_outside_the_round_are_refused() {
        let mut out = BatchOutput::from_bytes(&proved().0, 2, 8).unwrap();
        assert_eq!(round_nodes(&out.to_bytes(), 2, 8, 4).unwrap().len(), 15);
        for index in [4, 7, u64::MAX] {
            out.index = index;
            match round_nodes(&out.to_bytes(), 2, 8, 4) {
                Err(Error::Format { offset: 40, message }) => assert!(message.contains("not one of the round's 4"), "{message}"),
                other => panic!("batch {index} of 4: expected a format error, got {:?}", other.map(|n| n.len())),
            }
        }
    }

    #[test]
    fn job_round_trips_and_every_truncation_is_refused() {
        let bytes = job().to_bytes();
        let back = BatchJob::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        for cut in 0..bytes.len() {
            assert!(BatchJob::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    /// The job's result, proved twice (once for every test).
    fn proved() -> &'static (Vec<u8>, Vec<u8>) {
        static PROVED: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
        PROVED.get_or_init(|| (prove_batch(&job()).unwrap().to_bytes(), prove_batch(&job()).unwrap().to_bytes()))
    }

    #[test]
    fn proving_a_job_twice_gives_the_same_bytes() {
        let j = job();
        let (a, b) = proved();
        let a = a.clone();
        assert_eq!(&a, b);
        let out = BatchOutput::from_bytes(&a, 2, 8).unwrap();
        assert_eq!(out.to_bytes(), a);
        assert_eq!(out.job_digest, j.digest());
        assert!(BatchOutput::from_bytes(&a[..a.len() - 1], 2, 8).is_err());
        assert!(BatchOutput::from_bytes(&a, 2, 0).is_err() && round_nodes(&a, 2, 0, 4).is_err());
        let encoded = j.to_bytes();
        assert!(answers(&encoded, &a));
        assert!(!answers(&encoded, &a[..a.len() - 32]), "a truncated result answers nothing");
        let other = BatchJob { index: 2, ..job() }.to_bytes();
        assert!(!answers(&other, &a), "a result answers only its own job");
    }
}
