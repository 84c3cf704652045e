//! One forest of a version-2 round as a self-contained job, and its result: what `batch.rs` is
//! to version 1's batches.
//!
//! A [`ForestJob`] holds everything proving forest `i` of `B` needs — its range of the round
//! tree, its leaves, the circuit's public parameters (with the forest binding digest) and the
//! blinding seed — and no master secret, so it can be shipped to another machine (a Ray worker)
//! as bytes. [`prove_forest`] proves it on a one-thread pool, so the same job gives the same
//! bytes anywhere (`batch.rs` explains why). Its [`ForestOutput`] carries the proof, the public
//! inputs it was proved against, the rows that did work and every digest the forest holds (for
//! the inclusion store), tagged with the digest of the job it answers: a result found on disk
//! is reused only for the very job it was proved from ([`answers`]).
//!
//! The in-memory prover (`v2::prove_round`) and the streamed one (`v2::stream`) make the same
//! jobs (`forest_job`) and put the results together the same way (`assemble`), so they
//! write the same round byte for byte.
//!
//! Encodings (little-endian, length-prefixed):
//! ```text
//! job:    "STPRFJB2" | index u64 | count u64 | security name (u8 len + bytes) | N' u64 | start u64
//!         | end u64 | num_assets u32 | range_bits u32 | assets digest (32) | forest digest (32)
//!         | seed (32) | per leaf (end − start): idc (32) | entries u32 | per entry: tag u32, amount u128
//! output: "STPRFRS2" | job digest (32) | index u64 | count u64 | N' u64 | start u64 | end u64
//!         | range_bits u32 | assets digest (32) | forest digest (32) | K u32 | K × 5 part sums u64
//!         | root count u16 | roots (32 each) | used rows u64 | proof length u32 | proof
//!         | digests of the leaves, then of each height's nodes (32 each; counts follow the range)
//! ```
//! A forest of statement version 3 (margin) has the magics `STPRFJB3` and `STPRFRS3`: its job
//! carries the coefficients (`K × (collateral u128, debt u128)`) right after the seed, and its
//! output the debt part sums (`K × 5 u64`) right after the equity part sums, then the
//! coefficients it was proved on; leaves' entries carry their kind in the tag as always.

use sha2::{Digest as _, Sha256};
use stark_por_liabilities::forest::{self, Forest};
use stark_por_liabilities::layout::PARTS;
use stark_por_liabilities::margin::section_rows;
use stark_por_liabilities::prover::{used_rows, ForestDigests};
use stark_por_liabilities::{Entry, Leaf, MarginInputs, Prices, PublicInputs, StatementParams};
use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, Digest};
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};
use winterfell::Proof;

use super::file::{ForestRecord, RoundFile};
use super::{circuit_error, forest_seed, round_totals, statement_forest_digest, Statement};
use crate::envelope::read_proof_block;
use crate::error::{Error, Result};
use crate::reader::Reader;
use crate::{guard, statement, Security};

const JOB_MAGIC: &[u8; 8] = b"STPRFJB2";
const OUTPUT_MAGIC: &[u8; 8] = b"STPRFRS2";
const JOB_MAGIC_MARGIN: &[u8; 8] = b"STPRFJB3";
const OUTPUT_MAGIC_MARGIN: &[u8; 8] = b"STPRFRS3";

/// Everything needed to prove one forest.
pub struct ForestJob {
    pub index: u64,
    pub count: u64,
    pub security: Security,
    pub forest: Forest,
    pub params: StatementParams,
    pub seed: [u8; 32],
    /// Version 3: the coefficients every borrower's collateral condition is proved on.
    pub prices: Option<Prices>,
    /// One leaf per slot of the forest's range.
    pub leaves: Vec<Leaf>,
}

/// What a forest of version 3 publishes besides version 2's public inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForestMargin {
    /// Per asset: the sums of the five parts of its debts.
    pub debt_totals: Vec<[Felt; PARTS]>,
    /// The coefficients it was proved on.
    pub prices: Prices,
}

/// A proved forest.
pub struct ForestOutput {
    /// SHA-256 of the job's encoding.
    pub job_digest: [u8; 32],
    pub index: u64,
    pub count: u64,
    /// What the proof was made against: range, parameters, part sums and roots.
    pub pub_inputs: PublicInputs,
    /// Version 3: the debt part sums and the coefficients.
    pub margin: Option<ForestMargin>,
    /// Permutation rows doing work (leaf blocks and nodes).
    pub used_rows: u64,
    pub proof: Proof,
    /// Every leaf and node digest the forest holds.
    pub digests: ForestDigests,
}

/// The job of forest `index` of the round planned as `plan`, over its `leaves`: the one place
/// where a forest's parameters and blinding seed are derived, for both provers.
pub(crate) fn forest_job(
    stub: &Statement,
    secret: &[u8],
    security: Security,
    plan: &[Forest],
    index: usize,
    leaves: Vec<Leaf>,
) -> ForestJob {
    let (count, forest) = (plan.len() as u64, plan[index]);
    let params = StatementParams {
        num_assets: stub.assets.len(),
        range_bits: stub.range_bits,
        assets_digest: statement::assets_digest(&stub.assets),
        round_digest: statement_forest_digest(stub, index as u64, count),
    };
    let seed = forest_seed(secret, &stub.round_id, index as u64, count, &forest, &leaves);
    // the stub's prices were checked when the round was set up
    let prices = stub.margin.as_ref().and_then(|m| m.coefficients(&stub.assets).ok());
    ForestJob { index: index as u64, count, security, forest, params, seed, prices, leaves }
}

fn u128_at(r: &mut Reader<'_>, what: &str) -> Result<u128> {
    Ok(u128::from_le_bytes(r.array::<16>(what)?))
}

fn write_prices(out: &mut Vec<u8>, prices: &Prices) {
    for (c, d) in prices.collateral.iter().zip(&prices.debt) {
        out.extend_from_slice(&c.to_le_bytes());
        out.extend_from_slice(&d.to_le_bytes());
    }
}

/// `k` assets' coefficients, in their documented ranges.
fn read_prices(r: &mut Reader<'_>, k: usize) -> Result<Prices> {
    let at = r.offset();
    if k.saturating_mul(32) > r.remaining() {
        return Err(Error::format(at, format!("{k} assets' coefficients cannot fit in the bytes left")));
    }
    let (mut collateral, mut debt) = (Vec::with_capacity(k), Vec::with_capacity(k));
    for _ in 0..k {
        collateral.push(u128_at(r, "collateral coefficient")?);
        debt.push(u128_at(r, "debt coefficient")?);
    }
    let prices = Prices { collateral, debt };
    prices.check(k).map_err(|e| Error::format(at, e.to_string()))?;
    Ok(prices)
}

fn write_part_sums(out: &mut Vec<u8>, sums: &[[Felt; PARTS]]) {
    for p in sums.iter().flatten() {
        out.extend_from_slice(&p.as_int().to_le_bytes());
    }
}

/// `k` assets' part sums, each a canonical field element.
fn read_part_sums(r: &mut Reader<'_>, k: usize) -> Result<Vec<[Felt; PARTS]>> {
    if k.saturating_mul(8 * PARTS) > r.remaining() {
        return Err(Error::format(r.offset(), format!("{k} assets' part sums cannot fit in the bytes left")));
    }
    let mut totals = Vec::with_capacity(k);
    for _ in 0..k {
        let mut parts = [Felt::new(0); PARTS];
        for p in parts.iter_mut() {
            let at = r.offset();
            let x = r.u64("part sum")?;
            if x >= Felt::MODULUS {
                return Err(Error::format(at, "a part sum is not a canonical field element"));
            }
            *p = Felt::new(x);
        }
        totals.push(parts);
    }
    Ok(totals)
}

fn digest_at(r: &mut Reader<'_>, what: &str) -> Result<Digest> {
    let at = r.offset();
    digest_from_bytes(&r.array::<32>(what)?).ok_or_else(|| Error::format(at, format!("{what} is not a canonical digest")))
}

fn forest_at(r: &mut Reader<'_>) -> Result<Forest> {
    let at = r.offset();
    let (num_leaves, start, end) = (r.u64("leaf count")?, r.u64("forest start")?, r.u64("forest end")?);
    Forest::new(num_leaves, start, end).map_err(|e| Error::format(at, e.to_string()))
}

impl ForestJob {
    pub fn to_bytes(&self) -> Vec<u8> {
        let entries: usize = self.leaves.iter().map(|l| l.entries.len()).sum();
        let mut out = Vec::with_capacity(256 + 36 * self.leaves.len() + 20 * entries);
        out.extend_from_slice(if self.prices.is_some() { JOB_MAGIC_MARGIN } else { JOB_MAGIC });
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        let name = self.security.name().as_bytes();
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        for x in [self.forest.num_leaves, self.forest.start, self.forest.end] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&(self.params.num_assets as u32).to_le_bytes());
        out.extend_from_slice(&self.params.range_bits.to_le_bytes());
        out.extend_from_slice(&digest_to_bytes(&self.params.assets_digest));
        out.extend_from_slice(&digest_to_bytes(&self.params.round_digest));
        out.extend_from_slice(&self.seed);
        if let Some(prices) = &self.prices {
            write_prices(&mut out, prices);
        }
        for leaf in &self.leaves {
            out.extend_from_slice(&digest_to_bytes(&leaf.idc));
            out.extend_from_slice(&(leaf.entries.len() as u32).to_le_bytes());
            for entry in &leaf.entries {
                out.extend_from_slice(&entry.tag.to_le_bytes());
                out.extend_from_slice(&entry.amount.to_le_bytes());
            }
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let magic = r.take(8, "job magic")?;
        if magic != JOB_MAGIC && magic != JOB_MAGIC_MARGIN {
            return Err(Error::format(0, "not a stark-por forest job"));
        }
        let index = r.u64("forest index")?;
        let count = r.u64("forest count")?;
        let at = r.offset();
        let name_len = r.u8("security name length")? as usize;
        let name = r.utf8(name_len, "security name")?;
        let security = Security::from_name(&name).ok_or_else(|| Error::format(at, format!("unknown security {name:?}")))?;
        let forest = forest_at(&mut r)?;
        let num_assets = r.u32("asset count")? as usize;
        let range_bits = r.u32("range bits")?;
        let assets_digest = digest_at(&mut r, "assets digest")?;
        let round_digest = digest_at(&mut r, "forest digest")?;
        let seed = r.array::<32>("seed")?;
        let prices = if magic == JOB_MAGIC_MARGIN { Some(read_prices(&mut r, num_assets)?) } else { None };
        // a leaf takes at least 36 bytes: refuse a range the job cannot hold before reserving
        let n = forest.num_leaf_slots();
        if n.saturating_mul(36) > r.remaining() as u64 {
            return Err(Error::format(r.offset(), format!("{n} leaves cannot fit in the {} bytes left", r.remaining())));
        }
        let mut leaves = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let idc = digest_at(&mut r, "id commitment")?;
            let k = r.u32("entry count")? as usize;
            if k.saturating_mul(20) > r.remaining() {
                return Err(Error::format(r.offset(), format!("{k} entries cannot fit in the bytes left")));
            }
            let mut entries = Vec::with_capacity(k);
            for _ in 0..k {
                let tag = r.u32("tag")?;
                let amount = u128::from_le_bytes(r.array::<16>("amount")?);
                entries.push(Entry { tag, amount });
            }
            leaves.push(Leaf { idc, entries });
        }
        r.finish()?;
        let params = StatementParams { num_assets, range_bits, assets_digest, round_digest };
        Ok(ForestJob { index, count, security, forest, params, seed, prices, leaves })
    }

    /// SHA-256 of the encoding: what a finished forest is matched against.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }
}

/// Proves a forest on `threads` threads. On one thread it is deterministic (the grinding nonce
/// search is sequential): the same job gives the same bytes on any machine and in any executor.
pub fn prove_forest(job: &ForestJob, threads: usize) -> Result<ForestOutput> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start a prover thread: {e}")))?;
    let (proof, pub_inputs, margin, digests) = guard("proving", || {
        pool.install(|| match &job.prices {
            None => stark_por_liabilities::prove(&job.leaves, job.forest, &job.params, job.security, job.seed)
                .map(|(proof, pi, digests)| (proof, pi, None, digests)),
            Some(prices) => {
                stark_por_liabilities::prove_margin(&job.leaves, job.forest, &job.params, prices, job.security, job.seed)
                    .map(|(proof, mi, digests)| {
                        let margin = ForestMargin { debt_totals: mi.debt_totals, prices: mi.prices };
                        (proof, mi.base, Some(margin), digests)
                    })
            },
        })
    })?
    .map_err(circuit_error)?;
    // version 3's working rows include the margin section (price table, borrowers' rows)
    let section = if job.prices.is_some() { section_rows(&job.leaves, job.params.num_assets) } else { 0 };
    Ok(ForestOutput {
        job_digest: job.digest(),
        index: job.index,
        count: job.count,
        pub_inputs,
        margin,
        used_rows: (used_rows(&job.leaves, &job.forest) + section) as u64,
        proof,
        digests,
    })
}

impl ForestOutput {
    pub fn to_bytes(&self) -> Vec<u8> {
        let proof = self.proof.to_bytes();
        let pi = &self.pub_inputs;
        let nodes: usize = self.digests.levels.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(256 + 40 * pi.totals.len() + 32 * pi.roots.len() + proof.len() + 32 * nodes);
        out.extend_from_slice(if self.margin.is_some() { OUTPUT_MAGIC_MARGIN } else { OUTPUT_MAGIC });
        out.extend_from_slice(&self.job_digest);
        for x in [self.index, self.count, pi.forest.num_leaves, pi.forest.start, pi.forest.end] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&pi.range_bits.to_le_bytes());
        out.extend_from_slice(&digest_to_bytes(&pi.assets_digest));
        out.extend_from_slice(&digest_to_bytes(&pi.round_digest));
        out.extend_from_slice(&(pi.totals.len() as u32).to_le_bytes());
        write_part_sums(&mut out, &pi.totals);
        if let Some(m) = &self.margin {
            write_part_sums(&mut out, &m.debt_totals);
            write_prices(&mut out, &m.prices);
        }
        out.extend_from_slice(&(pi.roots.len() as u16).to_le_bytes());
        for root in &pi.roots {
            out.extend_from_slice(&digest_to_bytes(root));
        }
        out.extend_from_slice(&self.used_rows.to_le_bytes());
        out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
        out.extend_from_slice(&proof);
        for level in &self.digests.levels {
            for d in level {
                out.extend_from_slice(&digest_to_bytes(d));
            }
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let magic = r.take(8, "result magic")?;
        if magic != OUTPUT_MAGIC && magic != OUTPUT_MAGIC_MARGIN {
            return Err(Error::format(0, "not a stark-por forest result"));
        }
        let job_digest = r.array::<32>("job digest")?;
        let index = r.u64("forest index")?;
        let count = r.u64("forest count")?;
        let forest = forest_at(&mut r)?;
        let range_bits = r.u32("range bits")?;
        let assets_digest = digest_at(&mut r, "assets digest")?;
        let round_digest = digest_at(&mut r, "forest digest")?;
        let k = r.u32("asset count")? as usize;
        let totals = read_part_sums(&mut r, k)?;
        let margin = if magic == OUTPUT_MAGIC_MARGIN {
            let debt_totals = read_part_sums(&mut r, k)?;
            Some(ForestMargin { debt_totals, prices: read_prices(&mut r, k)? })
        } else {
            None
        };
        let at = r.offset();
        let num_roots = r.u16("root count")? as usize;
        let root_indices = forest.roots();
        if num_roots != root_indices.len() {
            return Err(Error::format(at, format!("{num_roots} roots for a forest of {}", root_indices.len())));
        }
        let roots = (0..num_roots).map(|_| digest_at(&mut r, "forest root")).collect::<Result<Vec<_>>>()?;
        let used_rows = r.u64("used rows")?;
        let proof = read_proof_block(&mut r)?;
        // the leaves, then each height's nodes
        let at = r.offset();
        let mut sizes = vec![(forest.num_leaves + forest.start, forest.num_leaf_slots())];
        sizes.extend(forest.levels().into_iter().map(|(a, b)| (a, b - a)));
        let total: u64 = sizes.iter().map(|&(_, n)| n).sum();
        if total.checked_mul(32) != Some(r.remaining() as u64) {
            return Err(Error::format(at, format!("expected the forest's {total} digests")));
        }
        let mut digests = ForestDigests { first_index: vec![], levels: vec![] };
        for (first, n) in sizes {
            digests.first_index.push(first);
            digests.levels.push((0..n).map(|_| digest_at(&mut r, "forest digest")).collect::<Result<Vec<_>>>()?);
        }
        if root_indices.iter().zip(&roots).any(|(&i, root)| digests.get(i) != Some(root)) {
            return Err(Error::format(at, "the forest's digests do not hold its roots"));
        }
        let pub_inputs = PublicInputs { forest, range_bits, assets_digest, round_digest, totals, roots };
        Ok(ForestOutput { job_digest, index, count, pub_inputs, margin, used_rows, proof, digests })
    }

    /// Version 3's public inputs of the forest (`None` for version 2).
    pub fn margin_inputs(&self) -> Option<MarginInputs> {
        self.margin.as_ref().map(|m| MarginInputs {
            base: self.pub_inputs.clone(),
            debt_totals: m.debt_totals.clone(),
            prices: m.prices.clone(),
        })
    }

    /// Every digest the forest holds, with its heap index in the round tree.
    pub fn nodes(&self) -> impl Iterator<Item = (u64, [u8; 32])> + '_ {
        self.digests
            .first_index
            .iter()
            .zip(&self.digests.levels)
            .flat_map(|(&first, level)| level.iter().enumerate().map(move |(k, d)| (first + k as u64, digest_to_bytes(d))))
    }
}

/// Decodes, proves (on `threads` threads) and encodes a job: the whole work of a remote worker.
pub fn prove_encoded(job: &[u8], threads: usize) -> Result<Vec<u8>> {
    Ok(prove_forest(&ForestJob::from_bytes(job)?, threads)?.to_bytes())
}

/// Whether `output` is a whole, well-formed result of exactly `job` (its recorded job digest
/// matches). The proof itself is checked when the round is verified before it is written.
pub fn answers(job: &[u8], output: &[u8]) -> bool {
    let digest: [u8; 32] = Sha256::digest(job).into();
    if output.len() < 40 || output[8..40] != digest {
        return false;
    }
    match (ForestJob::from_bytes(job), ForestOutput::from_bytes(output)) {
        (Ok(j), Ok(o)) => {
            o.index == j.index
                && o.count == j.count
                && o.pub_inputs.forest == j.forest
                && o.margin.as_ref().map(|m| &m.prices) == j.prices.as_ref()
        },
        _ => false,
    }
}

/// A round put together from its forests.
pub struct Assembled {
    pub file: Vec<u8>,
    pub statement: Statement,
    /// The weakest forest's conjectured and proven security.
    pub security_bits: u32,
    pub proven_security_bits: u32,
    /// Each forest's trace length.
    pub trace_rows: Vec<usize>,
    /// Permutation rows doing work over all trace rows.
    pub working_rows: (u64, u64),
    /// The round tree's nodes above the forests' roots, as (heap index, digest).
    pub top: Vec<(u64, [u8; 32])>,
}

/// Builds the round file of `stub` from its forests' results, in index order, for the plan
/// `plan`; `keep` receives each forest's digests (the in-memory prover keeps them for the tree).
pub(crate) fn assemble(
    stub: Statement,
    plan: &[Forest],
    outputs: impl Iterator<Item = Result<ForestOutput>>,
    mut keep: impl FnMut(ForestDigests),
) -> Result<Assembled> {
    let count = plan.len() as u64;
    let coefficients = match &stub.margin {
        Some(m) => Some(m.coefficients(&stub.assets)?),
        None => None,
    };
    let mut records = Vec::with_capacity(plan.len());
    let (mut security_bits, mut proven_security_bits) = (u32::MAX, u32::MAX);
    let (mut used, mut trace_rows) = (0u64, Vec::with_capacity(plan.len()));
    for (i, out) in outputs.enumerate() {
        let out = out?;
        let pi = &out.pub_inputs;
        if out.index != i as u64 || out.count != count || plan.get(i) != Some(&pi.forest) || pi.totals.len() != stub.assets.len() {
            return Err(Error::Work(format!(
                "forest result {i} is forest {} of {} over leaves {}..{}, not the plan's forest {i} of {count}",
                out.index, out.count, pi.forest.start, pi.forest.end
            )));
        }
        if out.margin.as_ref().map(|m| &m.prices) != coefficients.as_ref() {
            return Err(Error::Work(format!("forest result {i} was proved on other prices than the round's")));
        }
        // a round is as strong as its weakest forest
        let figures = match out.margin_inputs() {
            None => stark_por_liabilities::estimate(&out.proof, pi),
            Some(mi) => stark_por_liabilities::estimate_margin(&out.proof, &mi),
        };
        security_bits = security_bits.min(figures.conjectured);
        proven_security_bits = proven_security_bits.min(figures.proven);
        used += out.used_rows;
        trace_rows.push(out.proof.trace_info().length());
        records.push(ForestRecord {
            start: pi.forest.start,
            end: pi.forest.end,
            roots: pi.roots.iter().map(digest_to_bytes).collect(),
            parts: pi.totals.iter().map(|t| t.map(|x| x.as_int())).collect(),
            debt_parts: out.margin.iter().flat_map(|m| &m.debt_totals).map(|t| t.map(|x| x.as_int())).collect(),
            proof: out.proof,
        });
        keep(out.digests);
    }
    if records.len() != plan.len() {
        return Err(Error::Work(format!("{} forest results for a round of {count} forests", records.len())));
    }
    let parts = records
        .iter()
        .zip(plan)
        .map(|(r, f)| r.root_digests().map(|roots| (*f, roots)))
        .collect::<Option<Vec<(Forest, Vec<Digest>)>>>()
        .ok_or_else(|| Error::Work("a forest root is not a canonical digest".into()))?;
    let views: Vec<(Forest, &[Digest])> = parts.iter().map(|(f, r)| (*f, r.as_slice())).collect();
    let mut top = Vec::new();
    let root = forest::round_root_with(&views, |index, digest| top.push((index, digest_to_bytes(digest))))
        .map_err(|e| Error::Internal(e.to_string()))?;
    let totals = round_totals(stub.assets.len(), records.iter().map(|r| r.parts.as_slice()));
    let margin = stub.margin.clone().map(|m| statement::Margin {
        debt_totals: round_totals(stub.assets.len(), records.iter().map(|r| r.debt_parts.as_slice())),
        ..m
    });
    let statement = Statement { root: digest_to_bytes(&root), totals, margin, ..stub };
    let file = RoundFile { statement: statement.clone(), forests: records }.to_bytes();
    let total_rows = trace_rows.iter().sum::<usize>() as u64;
    Ok(Assembled { file, statement, security_bits, proven_security_bits, trace_rows, working_rows: (used, total_rows), top })
}
