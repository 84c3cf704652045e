//! The round file of format versions 2 to 5 (layout in the module doc of `v2`): encoding,
//! and a decoder whose errors name the byte offset at fault. Decoding checks the encoding
//! (canonical digests, field elements and decimals, minimal totals, flags 0 or 1, lengths, no
//! trailing bytes) and the statement's domain; what the values mean is checked by `v2::verify`.

use stark_por_liabilities::layout::PARTS;
use stark_por_solvency::hash::{digest_from_bytes, Digest};
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};
use winterfell::Proof;

use super::{Statement, FORMAT_VERSION, FORMAT_VERSION_COMMITTED, FORMAT_VERSION_COMMITTED_MARGIN, FORMAT_VERSION_MARGIN, KIND_FORESTS};
use crate::envelope::{read_proof_block_with, shift, MAGIC};
use crate::error::{Error, Result};
use crate::reader::Reader;
use crate::statement::{validate_decimal, Asset, Margin, PriceTerm};

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
    /// Per asset: the sums of the five parts of its amounts (canonical field elements); the
    /// equity amounts in version 3. Empty in formats 4 and 5.
    pub parts: Vec<[u64; PARTS]>,
    /// Format 3: per asset, the sums of the five parts of its debts (empty otherwise).
    pub debt_parts: Vec<[u64; PARTS]>,
    /// Formats 4 and 5: the hiding commitment to the forest's totals (a canonical digest).
    pub commitment: Option<[u8; 32]>,
    pub proof: Proof,
}

impl ForestRecord {
    /// The roots as digests (`None` if one is not canonical; the decoder refuses those).
    pub fn root_digests(&self) -> Option<Vec<Digest>> {
        self.roots.iter().map(digest_from_bytes).collect()
    }
}

/// A decoded round file of format version 2 to 5 (the statement's `margin` and `committed`
/// say which).
pub struct RoundFile {
    pub statement: Statement,
    pub forests: Vec<ForestRecord>,
    /// Formats 4 and 5: the aggregation proof (`None` in formats 2 and 3).
    pub aggregation: Option<Proof>,
}

/// The format versions of rounds of forests.
const FOREST_FORMATS: [u16; 4] = [FORMAT_VERSION, FORMAT_VERSION_MARGIN, FORMAT_VERSION_COMMITTED, FORMAT_VERSION_COMMITTED_MARGIN];

/// Whether `bytes` start as a round of forests, format version 2 to 5 (magic and format
/// version; nothing else checked).
pub fn is_forest_round(bytes: &[u8]) -> bool {
    bytes.len() >= 10 && bytes[..8] == MAGIC[..] && FOREST_FORMATS.contains(&u16::from_le_bytes([bytes[8], bytes[9]]))
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
    if let Some(m) = &s.margin {
        out.push(m.unit_exp);
        for (d, p) in m.debt_totals.iter().zip(&m.prices) {
            out.extend_from_slice(&(d.len() as u16).to_le_bytes());
            out.extend_from_slice(d);
            match p {
                None => out.push(0),
                Some(term) => {
                    out.push(1);
                    for x in [&term.price, &term.haircut] {
                        out.push(x.len() as u8);
                        out.extend_from_slice(x.as_bytes());
                    }
                },
            }
        }
    }
}

/// A total of at most [`MAX_TOTAL_BYTES`], minimally encoded; `what` names it in errors.
fn read_total(r: &mut Reader<'_>, what: &str) -> Result<Vec<u8>> {
    let at = r.offset();
    let len = r.u16("total length")? as usize;
    if len > MAX_TOTAL_BYTES {
        return Err(Error::format(at, format!("{what}: a total of {len} bytes (at most {MAX_TOTAL_BYTES})")));
    }
    let at = r.offset();
    let total = r.take(len, "total")?;
    if total.last() == Some(&0) {
        return Err(Error::format(at, format!("{what}: the total is not minimally encoded (a trailing zero byte)")));
    }
    Ok(total.to_vec())
}

/// A canonical decimal of one length byte and its ASCII characters.
fn read_decimal(r: &mut Reader<'_>, what: &str) -> Result<String> {
    let len = r.u8("decimal length")? as usize;
    let at = r.offset();
    let text = r.take(len, what)?;
    let text = std::str::from_utf8(text).map_err(|_| Error::format(at, format!("{what} is not ASCII")))?;
    validate_decimal(text, what).map_err(|e| Error::format(at, e.to_string()))?;
    Ok(text.to_string())
}

/// Version 3's margin fields of a statement of `assets`.
fn read_margin(r: &mut Reader<'_>, assets: &[Asset]) -> Result<Margin> {
    let unit_exp = r.u8("value unit exponent")?;
    let (mut debt_totals, mut prices) = (Vec::with_capacity(assets.len()), Vec::with_capacity(assets.len()));
    for a in assets {
        debt_totals.push(read_total(r, &format!("debt of {}", a.name))?);
        let at = r.offset();
        prices.push(match r.u8("priced flag")? {
            0 => None,
            1 => {
                let price = read_decimal(r, &format!("price of {}", a.name))?;
                let haircut = read_decimal(r, &format!("haircut of {}", a.name))?;
                Some(PriceTerm { price, haircut })
            },
            flag => return Err(Error::format(at, format!("asset {}: priced flag {flag} is not 0 or 1", a.name))),
        });
    }
    Ok(Margin { unit_exp, prices, debt_totals })
}

fn read_statement_fields(r: &mut Reader<'_>, format_version: u16) -> Result<Statement> {
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
        totals.push(read_total(r, &format!("asset {k}"))?);
        assets.push(Asset { name, decimals });
    }
    let margin = match format_version {
        FORMAT_VERSION_MARGIN | FORMAT_VERSION_COMMITTED_MARGIN => Some(read_margin(r, &assets)?),
        _ => None,
    };
    let committed = matches!(format_version, FORMAT_VERSION_COMMITTED | FORMAT_VERSION_COMMITTED_MARGIN);
    Ok(Statement { round_id, assets, range_bits, num_leaves, root, totals, margin, committed })
}

/// The format version (2 to 5) of a round of forests.
fn read_header(r: &mut Reader<'_>) -> Result<u16> {
    if r.array::<8>("magic bytes")? != *MAGIC {
        return Err(Error::format(0, "not a stark-por proof file (bad magic bytes)"));
    }
    let version = r.u16("format version")?;
    if !FOREST_FORMATS.contains(&version) {
        return Err(Error::format(8, format!("format version {version} is not a round of forests (2 to 5)")));
    }
    let kind = r.u8("proof kind")?;
    if kind != KIND_FORESTS {
        return Err(Error::format(10, format!("unknown version-{version} proof kind {kind}")));
    }
    Ok(version)
}

fn read_statement_block(r: &mut Reader<'_>, format_version: u16) -> Result<Statement> {
    let len = r.u32("statement length")? as usize;
    let at = r.offset();
    let block = r.take(len, "statement")?;
    let mut inner = Reader::new(block);
    let statement = read_statement_fields(&mut inner, format_version).map_err(|e| shift(e, at))?;
    inner.finish().map_err(|e| shift(e, at))?;
    statement.validate().map_err(|e| Error::format(at, e.to_string()))?;
    Ok(statement)
}

/// The statement of a file of format 2 to 5, nothing past it read.
pub(crate) fn read_statement(bytes: &[u8]) -> Result<Statement> {
    let mut r = Reader::new(bytes);
    let version = read_header(&mut r)?;
    read_statement_block(&mut r, version)
}

fn write_proof(out: &mut Vec<u8>, proof: &Proof) {
    let bytes = proof.to_bytes();
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&bytes);
}

fn write_parts(out: &mut Vec<u8>, parts: &[[u64; PARTS]]) {
    for p in parts.iter().flatten() {
        out.extend_from_slice(&p.to_le_bytes());
    }
}

/// `k` assets' part sums, each a canonical field element.
fn read_parts(r: &mut Reader<'_>, k: usize, forest: usize) -> Result<Vec<[u64; PARTS]>> {
    let mut parts = Vec::with_capacity(k);
    for _ in 0..k {
        let mut p = [0u64; PARTS];
        for x in p.iter_mut() {
            let at = r.offset();
            *x = r.u64("part sum")?;
            if *x >= Felt::MODULUS {
                return Err(Error::format(at, format!("forest {forest}: a part sum is not a canonical field element")));
            }
        }
        parts.push(p);
    }
    Ok(parts)
}

impl RoundFile {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.statement.format_version().to_le_bytes());
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
            write_parts(&mut out, &f.parts);
            write_parts(&mut out, &f.debt_parts);
            if let Some(c) = &f.commitment {
                out.extend_from_slice(c);
            }
            write_proof(&mut out, &f.proof);
        }
        if let Some(proof) = &self.aggregation {
            write_proof(&mut out, proof);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = read_header(&mut r)?;
        let statement = read_statement_block(&mut r, version)?;
        let committed = statement.committed;
        // formats 4 and 5 carry a commitment instead of the part sums
        let k = if committed { 0 } else { statement.assets.len() };
        let debt_k = if statement.margin.is_some() { k } else { 0 };
        let at = r.offset();
        let count = r.u32("forest count")? as usize;
        // each forest takes at least its range, one root, its part sums or commitment and a
        // proof length: refuse a count the file cannot hold before reserving anything for it
        let min_forest = 8 + 8 + 2 + 32 + 8 * PARTS * (k + debt_k) + 32 * committed as usize + 4;
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
            let parts = read_parts(&mut r, k, i)?;
            let debt_parts = read_parts(&mut r, debt_k, i)?;
            let commitment = if committed {
                let at = r.offset();
                let c = r.array::<32>("forest commitment")?;
                if digest_from_bytes(&c).is_none() {
                    return Err(Error::format(at, format!("forest {i}: the commitment is not a canonical digest")));
                }
                Some(c)
            } else {
                None
            };
            // formats 4 and 5 prove with salted vector commitments
            let proof = read_proof_block_with(&mut r, committed)?;
            forests.push(ForestRecord { start, end, roots, parts, debt_parts, commitment, proof });
        }
        let aggregation = if committed { Some(read_proof_block_with(&mut r, true)?) } else { None };
        r.finish()?;
        Ok(RoundFile { statement, forests, aggregation })
    }
}
