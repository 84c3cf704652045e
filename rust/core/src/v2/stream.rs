//! Version-2 rounds of a ledger streamed in chunks: the placement of `spill.rs` (users and
//! padding in the secret leaf order, through private bucket files, with amounts up to `2^112`)
//! cut into forests and read back one forest at a time.
//!
//! The plan is `forest::plan` over every leaf's block count in leaf order (`blocks.bin`, kept
//! when the buckets were sorted) with the capacities of [`super::forest_capacities`], exactly as
//! [`super::prove_round`] plans a ledger held in memory; each forest's job is made by the same
//! `job::forest_job` from the same leaves, and the results are put together by the same
//! `job::assemble`. A streamed round is therefore byte for byte the in-memory round of the
//! same ledger, secret, round id, security and trace size. Memory follows a forest (its leaves,
//! read from the few buckets it overlaps) and the plan (two bytes and one prefix sum a leaf),
//! never the ledger.
//!
//! A placement of version 3 (made with the round's prices) gives version-3 forests: its records
//! carry each entry's kind, its block counts the borrowers' margin rows, and the plan leaves
//! every trace room for the price table (`v2::round_capacities`), as `prove_round` does.
//!
//! Every method takes the round's mode, `committed` (formats 4 and 5) or not: the plan leaves
//! committed traces the rows of their totals chain, the jobs say which proof to make, and the
//! assembly proves the aggregation from the results' openings.

use std::fs;
use std::path::PathBuf;

use stark_por_liabilities::forest::{self, Forest};
use stark_por_liabilities::{Entry, Leaf};

use super::job::{self, Assembled, ForestJob, ForestOutput};
use super::{round_capacities, Statement};
use crate::error::{Error, Result};
use crate::spill::{io_error, tagged_entries, Placement, Version};
use crate::Security;

impl Placement {
    /// The version-2 (or 3) statement without its proof-dependent fields.
    fn v2_stub(&self, committed: bool) -> Statement {
        let k = self.stub.assets.len();
        Statement {
            round_id: self.stub.round_id.clone(),
            assets: self.stub.assets.clone(),
            range_bits: self.stub.range_bits,
            num_leaves: self.layout().num_leaves,
            root: [0; 32],
            totals: vec![vec![]; k],
            margin: self.prices.as_ref().map(|p| p.stub(k)),
            committed,
        }
    }

    /// The round's forests for traces of up to `2^trace_log2` rows, as `v2::prove_round` plans them.
    pub fn forest_plan(&self, security: Security, trace_log2: u32, committed: bool) -> Result<Vec<Forest>> {
        let margin = self.layout().version == Version::V3;
        self.forest_plan_within(&round_capacities(security, trace_log2, self.stub.assets.len(), margin, committed)?)
    }

    /// The round's forests for traces of `capacities` permutation rows (tests use small ones).
    pub(crate) fn forest_plan_within(&self, capacities: &[u64]) -> Result<Vec<Forest>> {
        forest::plan(&self.blocks()?, capacities).map_err(|e| Error::Work(format!("{}: {e}", self.dir.display())))
    }

    /// The job of forest `index` of `plan`.
    pub fn forest_job(&self, security: Security, plan: &[Forest], index: u64, committed: bool) -> Result<ForestJob> {
        self.require(Version::V2)?;
        let Some(&f) = plan.get(index as usize) else {
            return Err(Error::Input(format!("forest {index} is not one of the round's {}", plan.len())));
        };
        if f.num_leaves != self.layout().num_leaves {
            return Err(Error::Input(format!("a plan of {} leaves for a round of {}", f.num_leaves, self.layout().num_leaves)));
        }
        let mut leaves = Vec::with_capacity(f.num_leaf_slots() as usize);
        let tagged = self.layout().version == Version::V3;
        self.for_each(f.start, f.end, |_, r| {
            let entries = match tagged {
                true => tagged_entries(&r.entries),
                false => r.entries.iter().map(|&(asset, amount)| Entry::equity(asset, amount)).collect(),
            };
            leaves.push(Leaf { idc: self.id_commitment(r.ordinal, r.id), entries });
            Ok(())
        })?;
        Ok(job::forest_job(&self.v2_stub(committed), &self.secret, security, plan, index as usize, leaves))
    }

    /// The round from its forests' results in `outputs` (index order, one per forest of `plan`),
    /// proved under `security` (a committed round's aggregation proof too).
    pub fn assemble_forests(&self, security: Security, plan: &[Forest], outputs: &[PathBuf], committed: bool) -> Result<Assembled> {
        self.require(Version::V2)?;
        let decoded = outputs.iter().map(|path| {
            let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
            ForestOutput::from_bytes(&bytes).map_err(|e| Error::Work(format!("{}: damaged forest result ({e})", path.display())))
        });
        job::assemble(self.v2_stub(committed), &self.secret, security, plan, decoded, drop)
    }
}
