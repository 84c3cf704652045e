//! The version-2 round file (layout in the module doc of `v2`): encoding, and a decoder whose
//! errors name the byte offset at fault. Decoding checks the encoding only (canonical digests
//! and field elements, minimal totals, lengths, no trailing bytes); what the values mean is
//! checked by `v2::verify`.

use stark_por_liabilities::layout::PARTS;
use stark_por_solvency::hash::{digest_from_bytes, Digest};
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};
use winterfell::Proof;

use super::{Statement, FORMAT_VERSION, KIND_FORESTS};
use crate::envelope::{read_proof_block, shift, MAGIC};
use crate::error::{Error, Result};
use crate::reader::Reader;
use crate::statement::Asset;

/// Longest encoded total, in bytes (a total is below `2^112 · 2^40`: 19 bytes).
pub const MAX_TOTAL_BYTES: usize = 32;
/// Most roots a forest of a tree of at most `2^40` leaves has (`2 · 40`).
pub const MAX_FOREST_ROOTS: usize = 80;

/// One forest as stored in the file.
pub struct ForestRecord {
    pub start: u64,
    pub end: u64,
    /// Its roots' digests, in `Forest::roots` order.
    pub roots: Vec<[u8; 32]>,
    /// Per asset: the sums of the five parts of its amounts (canonical field elements).
    pub parts: Vec<[u64; PARTS]>,
    pub proof: Proof,
}

impl ForestRecord {
    /// The roots as digests (`None` if one is not canonical; the decoder refuses those).
    pub fn root_digests(&self) -> Option<Vec<Digest>> {
        self.roots.iter().map(digest_from_bytes).collect()
    }
}

/// A decoded version-2 round file.
pub struct RoundFile {
    pub statement: Statement,
    pub forests: Vec<ForestRecord>,
}

/// Whether `bytes` start as a version-2 file (magic and format version; nothing else checked).
pub fn is_version_2(bytes: &[u8]) -> bool {
    bytes.len() >= 10 && bytes[..8] == MAGIC[..] && bytes[8..10] == FORMAT_VERSION.to_le_bytes()
}

fn write_statement(s: &Statement, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.round_id.len() as u16).to_le_bytes());
    out.extend_from_slice(s.round_id.as_bytes());
    out.push(s.range_bits as u8);
    out.extend_from_slice(&s.num_leaves.to_le_bytes());
    out.extend_from_slice(&s.root);
    out.extend_from_slice(&(s.assets.len() as u32).to_le_bytes());
    for (a, t) in s.assets.iter().zip(&s.totals) {
        out.push(a.name.len() as u8);
        out.extend_from_slice(a.name.as_bytes());
        out.push(a.decimals);
        out.extend_from_slice(&(t.len() as u16).to_le_bytes());
        out.extend_from_slice(t);
    }
}

fn read_statement_fields(r: &mut Reader<'_>) -> Result<Statement> {
    let len = r.u16("round id length")? as usize;
    let round_id = r.utf8(len, "round id")?;
    let range_bits = r.u8("range bound")? as u32;
    let num_leaves = r.u64("leaf count")?;
    let at = r.offset();
    let root = r.array::<32>("root")?;
    if digest_from_bytes(&root).is_none() {
        return Err(Error::format(at, "root is not a canonical digest"));
    }
    let at = r.offset();
    let num_assets = r.u32("asset count")? as usize;
    if num_assets == 0 || num_assets > stark_por_liabilities::hash::MAX_ASSETS {
        return Err(Error::format(at, format!("asset count {num_assets} is not in 1..={}", stark_por_liabilities::hash::MAX_ASSETS)));
    }
    let (mut assets, mut totals) = (Vec::new(), Vec::new());
    for k in 0..num_assets {
        let name_len = r.u8("asset name length")? as usize;
        let name = r.utf8(name_len, "asset name")?;
        let decimals = r.u8("asset decimals")?;
        let at = r.offset();
        let total_len = r.u16("total length")? as usize;
        if total_len > MAX_TOTAL_BYTES {
            return Err(Error::format(at, format!("asset {k}: a total of {total_len} bytes (at most {MAX_TOTAL_BYTES})")));
        }
        let at = r.offset();
        let total = r.take(total_len, "total")?;
        if total.last() == Some(&0) {
            return Err(Error::format(at, format!("asset {k}: the total is not minimally encoded (a trailing zero byte)")));
        }
        assets.push(Asset { name, decimals });
        totals.push(total.to_vec());
    }
    Ok(Statement { round_id, assets, range_bits, num_leaves, root, totals })
}

fn read_header(r: &mut Reader<'_>) -> Result<()> {
    if r.array::<8>("magic bytes")? != *MAGIC {
        return Err(Error::format(0, "not a stark-por proof file (bad magic bytes)"));
    }
    let version = r.u16("format version")?;
    if version != FORMAT_VERSION {
        return Err(Error::format(8, format!("format version {version} is not a version-2 round")));
    }
    let kind = r.u8("proof kind")?;
    if kind != KIND_FORESTS {
        return Err(Error::format(10, format!("unknown version-2 proof kind {kind}")));
    }
    Ok(())
}

fn read_statement_block(r: &mut Reader<'_>) -> Result<Statement> {
    let len = r.u32("statement length")? as usize;
    let at = r.offset();
    let block = r.take(len, "statement")?;
    let mut inner = Reader::new(block);
    let statement = read_statement_fields(&mut inner).map_err(|e| shift(e, at))?;
    inner.finish().map_err(|e| shift(e, at))?;
    statement.validate().map_err(|e| Error::format(at, e.to_string()))?;
    Ok(statement)
}

/// The statement of a version-2 file, nothing past it read.
pub(crate) fn read_statement(bytes: &[u8]) -> Result<Statement> {
    let mut r = Reader::new(bytes);
    read_header(&mut r)?;
    read_statement_block(&mut r)
}

impl RoundFile {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(KIND_FORESTS);
        let mut statement = Vec::new();
        write_statement(&self.statement, &mut statement);
        out.extend_from_slice(&(statement.len() as u32).to_le_bytes());
        out.extend_from_slice(&statement);
        out.extend_from_slice(&(self.forests.len() as u32).to_le_bytes());
        for f in &self.forests {
            out.extend_from_slice(&f.start.to_le_bytes());
            out.extend_from_slice(&f.end.to_le_bytes());
            out.extend_from_slice(&(f.roots.len() as u16).to_le_bytes());
            for root in &f.roots {
                out.extend_from_slice(root);
            }
            for parts in &f.parts {
                for p in parts {
                    out.extend_from_slice(&p.to_le_bytes());
                }
            }
            let proof = f.proof.to_bytes();
            out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
            out.extend_from_slice(&proof);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_header(&mut r)?;
        let statement = read_statement_block(&mut r)?;
        let k = statement.assets.len();
        let at = r.offset();
        let count = r.u32("forest count")? as usize;
        // each forest takes at least its range, one root, its part sums and a proof length:
        // refuse a count the file cannot hold before reserving anything for it
        let min_forest = 8 + 8 + 2 + 32 + 8 * PARTS * k + 4;
        if count == 0 || count.saturating_mul(min_forest) > r.remaining() {
            return Err(Error::format(at, format!("{count} forests cannot fit in the {} bytes left (at least one)", r.remaining())));
        }
        let mut forests = Vec::with_capacity(count);
        for i in 0..count {
            let start = r.u64("forest start")?;
            let end = r.u64("forest end")?;
            let at = r.offset();
            let num_roots = r.u16("root count")? as usize;
            if num_roots == 0 || num_roots > MAX_FOREST_ROOTS {
                return Err(Error::format(at, format!("forest {i}: {num_roots} roots (1 to {MAX_FOREST_ROOTS})")));
            }
            let mut roots = Vec::with_capacity(num_roots);
            for _ in 0..num_roots {
                let at = r.offset();
                let root = r.array::<32>("forest root")?;
                if digest_from_bytes(&root).is_none() {
                    return Err(Error::format(at, format!("forest {i}: a root is not a canonical digest")));
                }
                roots.push(root);
            }
            let mut parts = Vec::with_capacity(k);
            for _ in 0..k {
                let mut p = [0u64; PARTS];
                for x in p.iter_mut() {
                    let at = r.offset();
                    *x = r.u64("part sum")?;
                    if *x >= Felt::MODULUS {
                        return Err(Error::format(at, format!("forest {i}: a part sum is not a canonical field element")));
                    }
                }
                parts.push(p);
            }
            let proof = read_proof_block(&mut r)?;
            forests.push(ForestRecord { start, end, roots, parts, proof });
        }
        r.finish()?;
        Ok(RoundFile { statement, forests })
    }
}
