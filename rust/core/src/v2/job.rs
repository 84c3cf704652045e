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
//!
//! A forest with committed totals (formats 4 and 5) has the magics `STPRFJB4`/`STPRFRS4` (or
//! `STPRFJB5`/`STPRFRS5` with margin): its job is the plain (or margin) job under its own magic;
//! its output carries, instead of any part sum, the coefficients (format 5) and then
//! ```text
//! commitment (32) | capacity salts 3 × u64 | per tag of totals_tags(K, margin):
//!   tag u32 | kind u32 | 5 part sums u64 | salt u64
//! ```
//! The opening is secret (it reveals the forest's totals): results stay in the prover's private
//! work folder and never enter a round file; `assemble` proves the aggregation from them.

use sha2::{Digest as _, Sha256};
use stark_por_aggregation::AggregationError;
use stark_por_liabilities::committed::{reserved_rows, totals_tags, TotalsRow, CAP_SALT};
use stark_por_liabilities::forest::{self, Forest};
use stark_por_liabilities::hash::EQUITY;
use stark_por_liabilities::layout::PARTS;
use stark_por_liabilities::margin::section_rows;
use stark_por_liabilities::prover::{used_rows, ForestDigests};
use stark_por_liabilities::{CommittedInputs, Entry, Leaf, MarginInputs, Prices, PublicInputs, StatementParams, TotalsOpening};
use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, Digest};
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};
use winterfell::Proof;

use super::file::{ForestRecord, RoundFile};
use super::{aggregation_inputs, check_entry_slots, circuit_error, forest_seed, round_totals, statement_forest_digest, Statement};
use crate::envelope::read_proof_block_with;
use crate::error::{Error, Result};
use crate::reader::Reader;
use crate::{guard, kdf, on_threads, statement, Security};

/// Magics of jobs and results by (committed, margin): formats 2, 3, 4 and 5.
const JOB_MAGICS: [[&[u8; 8]; 2]; 2] = [[b"STPRFJB2", b"STPRFJB3"], [b"STPRFJB4", b"STPRFJB5"]];
const OUTPUT_MAGICS: [[&[u8; 8]; 2]; 2] = [[b"STPRFRS2", b"STPRFRS3"], [b"STPRFRS4", b"STPRFRS5"]];

/// `(committed, margin)` of a magic among `magics`.
fn mode_of(magics: &[[&[u8; 8]; 2]; 2], magic: &[u8]) -> Option<(bool, bool)> {
    [(false, false), (false, true), (true, false), (true, true)]
        .into_iter()
        .find(|&(c, m)| magics[c as usize][m as usize][..] == *magic)
}

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
    /// Formats 4 and 5: the forest commits to its totals instead of publishing them.
    pub committed: bool,
    /// One leaf per slot of the forest's range.
    pub leaves: Vec<Leaf>,
}

/// What a forest of version 3 publishes besides version 2's public inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForestMargin {
    /// Per asset: the sums of the five parts of its debts (empty in a committed forest: its
    /// opening holds them).
    pub debt_totals: Vec<[Felt; PARTS]>,
    /// The coefficients it was proved on.
    pub prices: Prices,
}

/// What a forest with committed totals publishes, and what opens it (secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForestCommitment {
    pub commitment: Digest,
    pub opening: TotalsOpening,
}

/// A proved forest.
pub struct ForestOutput {
    /// SHA-256 of the job's encoding.
    pub job_digest: [u8; 32],
    pub index: u64,
    pub count: u64,
    /// What the proof was made against: range, parameters, part sums and roots (no part sums
    /// in a committed forest).
    pub pub_inputs: PublicInputs,
    /// Version 3: the debt part sums and the coefficients.
    pub margin: Option<ForestMargin>,
    /// Formats 4 and 5: the commitment and its opening.
    pub committed: Option<ForestCommitment>,
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
    let seed = forest_seed(secret, &stub.round_id, index as u64, count, &forest, &leaves, stub.committed);
    // the stub's prices were checked when the round was set up
    let prices = stub.margin.as_ref().and_then(|m| m.coefficients(&stub.assets).ok());
    ForestJob { index: index as u64, count, security, forest, params, seed, prices, committed: stub.committed, leaves }
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
        out.extend_from_slice(JOB_MAGICS[self.committed as usize][self.prices.is_some() as usize]);
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
        let Some((committed, margin)) = mode_of(&JOB_MAGICS, magic) else {
            return Err(Error::format(0, "not a stark-por forest job"));
        };
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
        let prices = if margin { Some(read_prices(&mut r, num_assets)?) } else { None };
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
        Ok(ForestJob { index, count, security, forest, params, seed, prices, committed, leaves })
    }

    /// SHA-256 of the encoding: what a finished forest is matched against.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }
}

/// Proves a forest on `threads` threads. On one thread it is deterministic (the grinding nonce
/// search is sequential): the same job gives the same bytes on any machine and in any executor.
pub fn prove_forest(job: &ForestJob, threads: usize) -> Result<ForestOutput> {
    let (proof, pub_inputs, margin, committed, digests) = on_threads(threads, || {
        guard("proving", || match (&job.prices, job.committed) {
            (None, false) => stark_por_liabilities::prove(&job.leaves, job.forest, &job.params, job.security, job.seed)
                .map(|(proof, pi, digests)| (proof, pi, None, None, digests)),
            (Some(prices), false) => {
                stark_por_liabilities::prove_margin(&job.leaves, job.forest, &job.params, prices, job.security, job.seed)
                    .map(|(proof, mi, digests)| {
                        let margin = ForestMargin { debt_totals: mi.debt_totals, prices: mi.prices };
                        (proof, mi.base, Some(margin), None, digests)
                    })
            },
            (prices, true) => stark_por_liabilities::prove_committed(
                &job.leaves,
                job.forest,
                &job.params,
                prices.as_ref(),
                job.security,
                job.seed,
            )
            .map(|(proof, ci, digests, opening)| {
                let pi = PublicInputs {
                    forest: ci.forest,
                    range_bits: ci.range_bits,
                    assets_digest: ci.assets_digest,
                    round_digest: ci.round_digest,
                    totals: vec![],
                    roots: ci.roots,
                };
                let margin = ci.prices.map(|prices| ForestMargin { debt_totals: vec![], prices });
                (proof, pi, margin, Some(ForestCommitment { commitment: ci.commitment, opening }), digests)
            }),
        })
    })??
    .map_err(circuit_error)?;
    // version 3's working rows include the margin section (price table, borrowers' rows), and
    // a committed forest's its totals chain
    let (k, margin_rows) = (job.params.num_assets, job.prices.is_some());
    let section = if margin_rows { section_rows(&job.leaves, k) } else { 0 };
    let chain = if job.committed { reserved_rows(k, margin_rows) } else { 0 };
    Ok(ForestOutput {
        job_digest: job.digest(),
        index: job.index,
        count: job.count,
        pub_inputs,
        margin,
        committed,
        used_rows: (used_rows(&job.leaves, &job.forest) + section + chain) as u64,
        proof,
        digests,
    })
}

fn write_opening(out: &mut Vec<u8>, opening: &TotalsOpening) {
    for s in &opening.cap_salt {
        out.extend_from_slice(&s.as_int().to_le_bytes());
    }
    for row in &opening.rows {
        out.extend_from_slice(&row.tag.to_le_bytes());
        out.extend_from_slice(&row.kind.to_le_bytes());
        for p in &row.parts {
            out.extend_from_slice(&p.to_le_bytes());
        }
        out.extend_from_slice(&row.salt.as_int().to_le_bytes());
    }
}

fn felt_at(r: &mut Reader<'_>, what: &str) -> Result<Felt> {
    let at = r.offset();
    let x = r.u64(what)?;
    if x >= Felt::MODULUS {
        return Err(Error::format(at, format!("{what} is not a canonical field element")));
    }
    Ok(Felt::new(x))
}

/// The opening of a forest of `k` assets (with margin or not): one row per tag of
/// [`totals_tags`], in order, every value canonical.
fn read_opening(r: &mut Reader<'_>, k: usize, margin: bool) -> Result<TotalsOpening> {
    let at = r.offset();
    let tags = reserved_rows(k, margin);
    if (8 * CAP_SALT).saturating_add(tags.saturating_mul(8 + 8 * (PARTS + 1))) > r.remaining() {
        return Err(Error::format(at, format!("the opening of {tags} tags cannot fit in the bytes left")));
    }
    let mut cap_salt = [Felt::new(0); CAP_SALT];
    for s in cap_salt.iter_mut() {
        *s = felt_at(r, "capacity salt")?;
    }
    let mut rows = Vec::with_capacity(tags);
    for (tag, kind) in totals_tags(k, margin) {
        let at = r.offset();
        let (t, d) = (r.u32("totals tag")?, r.u32("totals kind")?);
        if (t, d) != (tag, kind) {
            return Err(Error::format(at, format!("totals row of tag {t} and kind {d}, expected tag {tag} and kind {kind}")));
        }
        let mut parts = [0u64; PARTS];
        for p in parts.iter_mut() {
            *p = felt_at(r, "part sum")?.as_int();
        }
        rows.push(TotalsRow { tag, kind, parts, salt: felt_at(r, "totals salt")? });
    }
    Ok(TotalsOpening { cap_salt, rows })
}

impl ForestOutput {
    pub fn to_bytes(&self) -> Vec<u8> {
        let proof = self.proof.to_bytes();
        let pi = &self.pub_inputs;
        let nodes: usize = self.digests.levels.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(256 + 40 * pi.totals.len() + 32 * pi.roots.len() + proof.len() + 32 * nodes);
        out.extend_from_slice(OUTPUT_MAGICS[self.committed.is_some() as usize][self.margin.is_some() as usize]);
        out.extend_from_slice(&self.job_digest);
        for x in [self.index, self.count, pi.forest.num_leaves, pi.forest.start, pi.forest.end] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&pi.range_bits.to_le_bytes());
        out.extend_from_slice(&digest_to_bytes(&pi.assets_digest));
        out.extend_from_slice(&digest_to_bytes(&pi.round_digest));
        match &self.committed {
            None => {
                out.extend_from_slice(&(pi.totals.len() as u32).to_le_bytes());
                write_part_sums(&mut out, &pi.totals);
                if let Some(m) = &self.margin {
                    write_part_sums(&mut out, &m.debt_totals);
                    write_prices(&mut out, &m.prices);
                }
            },
            Some(c) => {
                let k = c.opening.rows.len() / (1 + self.margin.is_some() as usize);
                out.extend_from_slice(&(k as u32).to_le_bytes());
                if let Some(m) = &self.margin {
                    write_prices(&mut out, &m.prices);
                }
                out.extend_from_slice(&digest_to_bytes(&c.commitment));
                write_opening(&mut out, &c.opening);
            },
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
        let Some((is_committed, is_margin)) = mode_of(&OUTPUT_MAGICS, magic) else {
            return Err(Error::format(0, "not a stark-por forest result"));
        };
        let job_digest = r.array::<32>("job digest")?;
        let index = r.u64("forest index")?;
        let count = r.u64("forest count")?;
        let forest = forest_at(&mut r)?;
        let range_bits = r.u32("range bits")?;
        let assets_digest = digest_at(&mut r, "assets digest")?;
        let round_digest = digest_at(&mut r, "forest digest")?;
        let at = r.offset();
        let k = r.u32("asset count")? as usize;
        let (totals, margin, committed) = if is_committed {
            if k == 0 || k > stark_por_liabilities::hash::MAX_ASSETS {
                return Err(Error::format(at, format!("asset count {k} is not in 1..={}", stark_por_liabilities::hash::MAX_ASSETS)));
            }
            let margin = if is_margin { Some(ForestMargin { debt_totals: vec![], prices: read_prices(&mut r, k)? }) } else { None };
            let at = r.offset();
            let commitment = digest_at(&mut r, "commitment")?;
            let opening = read_opening(&mut r, k, is_margin)?;
            // a result whose opening is not its commitment's would prove an aggregation that
            // cannot verify: refuse it here, naming the result
            if opening.commitment() != commitment {
                return Err(Error::format(at, "the opening does not open the commitment"));
            }
            (vec![], margin, Some(ForestCommitment { commitment, opening }))
        } else {
            let totals = read_part_sums(&mut r, k)?;
            let margin = if is_margin {
                let debt_totals = read_part_sums(&mut r, k)?;
                Some(ForestMargin { debt_totals, prices: read_prices(&mut r, k)? })
            } else {
                None
            };
            (totals, margin, None)
        };
        let at = r.offset();
        let num_roots = r.u16("root count")? as usize;
        let root_indices = forest.roots();
        if num_roots != root_indices.len() {
            return Err(Error::format(at, format!("{num_roots} roots for a forest of {}", root_indices.len())));
        }
        let roots = (0..num_roots).map(|_| digest_at(&mut r, "forest root")).collect::<Result<Vec<_>>>()?;
        let used_rows = r.u64("used rows")?;
        let proof = read_proof_block_with(&mut r, is_committed)?;
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
        Ok(ForestOutput { job_digest, index, count, pub_inputs, margin, committed, used_rows, proof, digests })
    }

    /// Version 3's public inputs of the forest (`None` for version 2 and committed forests).
    pub fn margin_inputs(&self) -> Option<MarginInputs> {
        match self.committed {
            Some(_) => None,
            None => self.margin.as_ref().map(|m| MarginInputs {
                base: self.pub_inputs.clone(),
                debt_totals: m.debt_totals.clone(),
                prices: m.prices.clone(),
            }),
        }
    }

    /// The public inputs of a committed forest (`None` for formats 2 and 3).
    pub fn committed_inputs(&self) -> Option<CommittedInputs> {
        let c = self.committed.as_ref()?;
        let pi = &self.pub_inputs;
        Some(CommittedInputs {
            forest: pi.forest,
            range_bits: pi.range_bits,
            num_assets: c.opening.rows.len() / (1 + self.margin.is_some() as usize),
            assets_digest: pi.assets_digest,
            round_digest: pi.round_digest,
            roots: pi.roots.clone(),
            commitment: c.commitment,
            prices: self.margin.as_ref().map(|m| m.prices.clone()),
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
                && o.committed.is_some() == j.committed
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
    /// Columns of every forest's trace (main and auxiliary, as the proofs record them).
    pub trace_columns: usize,
    /// Permutation rows doing work over all trace rows.
    pub working_rows: (u64, u64),
    /// The round tree's nodes above the forests' roots, as (heap index, digest).
    pub top: Vec<(u64, [u8; 32])>,
}

/// Builds the round file of `stub` from its forests' results, in index order, for the plan
/// `plan`; `keep` receives each forest's digests (the in-memory prover keeps them for the tree).
/// A committed round (formats 4 and 5) takes its totals from the forests' openings and proves
/// the aggregation from them, under `security` with a seed derived from `secret`, on one
/// thread (so the file's bytes never depend on timing).
pub(crate) fn assemble(
    stub: Statement,
    secret: &[u8],
    security: Security,
    plan: &[Forest],
    outputs: impl Iterator<Item = Result<ForestOutput>>,
    mut keep: impl FnMut(ForestDigests),
) -> Result<Assembled> {
    let count = plan.len() as u64;
    let (k, margin) = (stub.assets.len(), stub.margin.is_some());
    let coefficients = match &stub.margin {
        Some(m) => Some(m.coefficients(&stub.assets)?),
        None => None,
    };
    let mut records = Vec::with_capacity(plan.len());
    // committed rounds: each forest's commitment and its opening
    let (mut commitments, mut openings) = (Vec::new(), Vec::new());
    let (mut security_bits, mut proven_security_bits) = (u32::MAX, u32::MAX);
    let (mut used, mut trace_rows, mut trace_columns) = (0u64, Vec::with_capacity(plan.len()), 0);
    for (i, out) in outputs.enumerate() {
        let mut out = out?;
        let pi = &out.pub_inputs;
        let shape = match &out.committed {
            None => pi.totals.len() == k,
            Some(c) => c.opening.rows.len() == reserved_rows(k, margin),
        };
        if out.index != i as u64 || out.count != count || plan.get(i) != Some(&pi.forest) || !shape {
            return Err(Error::Work(format!(
                "forest result {i} is forest {} of {} over leaves {}..{}, not the plan's forest {i} of {count}",
                out.index, out.count, pi.forest.start, pi.forest.end
            )));
        }
        if out.committed.is_some() != stub.committed {
            let (has, wants) = if stub.committed { ("published", "committed") } else { ("committed", "published") };
            return Err(Error::Work(format!("forest result {i} has {has} totals; the round's are {wants}")));
        }
        if out.margin.as_ref().map(|m| &m.prices) != coefficients.as_ref() {
            return Err(Error::Work(format!("forest result {i} was proved on other prices than the round's")));
        }
        if *out.proof.options() != security.options() {
            return Err(Error::Work(format!("forest result {i} was proved under other options than security {}", security.name())));
        }
        // a round is as strong as its weakest forest
        let figures = match (out.committed_inputs(), out.margin_inputs()) {
            (Some(ci), _) => stark_por_liabilities::estimate_committed(&out.proof, &ci),
            (None, None) => stark_por_liabilities::estimate(&out.proof, pi),
            (None, Some(mi)) => stark_por_liabilities::estimate_margin(&out.proof, &mi),
        };
        security_bits = security_bits.min(figures.conjectured);
        proven_security_bits = proven_security_bits.min(figures.proven);
        used += out.used_rows;
        let info = out.proof.trace_info();
        trace_rows.push(info.length());
        trace_columns = info.main_trace_width() + info.aux_segment_width();
        let commitment = out.committed.take().map(|c| {
            commitments.push(c.commitment);
            openings.push(c.opening);
            digest_to_bytes(&c.commitment)
        });
        let pi = &out.pub_inputs;
        records.push(ForestRecord {
            start: pi.forest.start,
            end: pi.forest.end,
            roots: pi.roots.iter().map(digest_to_bytes).collect(),
            parts: pi.totals.iter().map(|t| t.map(|x| x.as_int())).collect(),
            debt_parts: match commitment {
                Some(_) => vec![],
                None => out.margin.iter().flat_map(|m| &m.debt_totals).map(|t| t.map(|x| x.as_int())).collect(),
            },
            commitment,
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
    // per forest, the part sums of each asset's equity and debt: published, or opened
    type PartSums = Vec<[u64; PARTS]>;
    let (equity, debt): (Vec<PartSums>, Vec<PartSums>) = match stub.committed {
        false => records.iter().map(|r| (r.parts.clone(), r.debt_parts.clone())).unzip(),
        true => openings
            .iter()
            .map(|o| {
                let (e, d): (Vec<&TotalsRow>, Vec<&TotalsRow>) = o.rows.iter().partition(|r| r.kind == EQUITY);
                (e.iter().map(|r| r.parts).collect(), d.iter().map(|r| r.parts).collect())
            })
            .unzip(),
    };
    let totals = round_totals(k, equity.iter().map(Vec::as_slice));
    let margin = stub.margin.clone().map(|m| statement::Margin { debt_totals: round_totals(k, debt.iter().map(Vec::as_slice)), ..m });
    let statement = Statement { root: digest_to_bytes(&root), totals, margin, ..stub };
    let aggregation = match statement.committed {
        false => None,
        true => {
            check_entry_slots(trace_rows.iter().copied()).map_err(Error::Input)?;
            let bytes: Vec<[u8; 32]> = commitments.iter().map(digest_to_bytes).collect();
            let seed = kdf::aggregation_seed(secret, &statement.round_id, &bytes);
            let inputs = aggregation_inputs(&statement, commitments);
            let proof = on_threads(1, || guard("proving the aggregation", || stark_por_aggregation::prove(&inputs, &openings, security, seed)))??
                .map_err(|e| match e {
                    AggregationError::Inputs(m) => Error::Work(format!("the forests' openings: {m}")),
                    AggregationError::Shape(m) => Error::Input(format!("the aggregation: {m}")),
                    other => Error::Internal(other.to_string()),
                })?;
            let figures = stark_por_aggregation::estimate(&proof, &inputs);
            security_bits = security_bits.min(figures.conjectured);
            proven_security_bits = proven_security_bits.min(figures.proven);
            Some(proof)
        },
    };
    let file = RoundFile { statement: statement.clone(), forests: records, aggregation }.to_bytes();
    let total_rows = trace_rows.iter().sum::<usize>() as u64;
    Ok(Assembled {
        file,
        statement,
        security_bits,
        proven_security_bits,
        trace_rows,
        trace_columns,
        working_rows: (used, total_rows),
        top,
    })
}
