//! The proof file: a versioned envelope around the statement and the winterfell proof.
//!
//! ```text
//! magic "STARKPOR" (8) | format version u16 | kind u8 | statement length u32 | statement
//!                      | proof length u32 | winterfell proof
//! ```
//! Kind 1 is a single proof; kind 2 a round proved in batches (layout in `round.rs`).
//! All integers little-endian. Unknown versions or kinds, truncation and trailing bytes are
//! rejected, and the winterfell proof must re-encode to exactly the bytes it was read from.

use winterfell::Proof;

use crate::bounded;
use crate::error::{Error, Result};
use crate::reader::Reader;
use crate::statement::Statement;

pub const MAGIC: &[u8; 8] = b"STARKPOR";
pub const FORMAT_VERSION: u16 = 1;
/// A single solvency proof over all leaves.
pub const KIND_SOLVENCY: u8 = 1;
/// A round proved in batches (see `round.rs`): the round statement, then every batch.
pub const KIND_ROUND: u8 = 2;

pub struct ProofFile {
    pub statement: Statement,
    pub proof: Proof,
}

impl ProofFile {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut statement = Vec::new();
        self.statement.write(&mut statement);
        let proof = self.proof.to_bytes();
        let mut out = Vec::with_capacity(19 + statement.len() + proof.len());
        write_header(&mut out, KIND_SOLVENCY);
        out.extend_from_slice(&(statement.len() as u32).to_le_bytes());
        out.extend_from_slice(&statement);
        out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
        out.extend_from_slice(&proof);
        out
    }

    /// Reads only the statement (for display before verification), of either kind of file:
    /// both put the statement right after the header.
    pub fn read_statement(bytes: &[u8]) -> Result<Statement> {
        let mut r = Reader::new(bytes);
        read_header(&mut r)?;
        read_statement_block(&mut r)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if read_header(&mut r)? != KIND_SOLVENCY {
            return Err(Error::format(10, "not a single-proof file (this is a batched round)"));
        }
        let statement = read_statement_block(&mut r)?;
        let proof = read_proof_block(&mut r)?;
        r.finish()?;
        Ok(ProofFile { statement, proof })
    }
}

/// Reads a length-prefixed winterfell proof, which must be canonically encoded.
pub(crate) fn read_proof_block(r: &mut Reader<'_>) -> Result<Proof> {
    read_proof_block_with(r, false)
}

/// [`read_proof_block`] of a proof whose vector commitments are salted (`salted`) or not.
pub(crate) fn read_proof_block_with(r: &mut Reader<'_>, salted: bool) -> Result<Proof> {
    let len = r.u32("proof length")? as usize;
    let at = r.offset();
    let proof_bytes = r.take(len, "winterfell proof")?;
    bounded::check_head(proof_bytes).map_err(|(offset, why)| Error::format(at + offset, why))?;
    let proof = crate::guard("proof decoding", || {
        let proof = bounded::read_exact::<Proof>(proof_bytes).map_err(|e| e.to_string())?;
        bounded::check_nested(&proof, salted)?;
        Ok::<_, String>(proof)
    })
    .map_err(|e| Error::format(at, format!("winterfell proof is malformed: {e}")))?
    .map_err(|e| Error::format(at, format!("winterfell proof is malformed: {e}")))?;
    if proof.to_bytes() != proof_bytes {
        return Err(Error::format(at, "winterfell proof is not canonically encoded"));
    }
    Ok(proof)
}

/// Writes the header of a file of `kind`.
pub(crate) fn write_header(out: &mut Vec<u8>, kind: u8) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(kind);
}

/// Checks magic and version; returns the kind (one this build reads).
pub(crate) fn read_header(r: &mut Reader<'_>) -> Result<u8> {
    if r.array::<8>("magic bytes")? != *MAGIC {
        return Err(Error::format(0, "not a stark-por proof file (bad magic bytes)"));
    }
    let version = r.u16("format version")?;
    if version != FORMAT_VERSION {
        return Err(Error::format(8, format!("unknown format version {version} (this build reads {FORMAT_VERSION})")));
    }
    let kind = r.u8("proof kind")?;
    if kind != KIND_SOLVENCY && kind != KIND_ROUND {
        return Err(Error::format(10, format!("unknown proof kind {kind}")));
    }
    Ok(kind)
}

/// Reads the kind of a file without checking anything past the header.
pub fn file_kind(bytes: &[u8]) -> Result<u8> {
    read_header(&mut Reader::new(bytes))
}

pub(crate) fn read_statement_block(r: &mut Reader<'_>) -> Result<Statement> {
    let len = r.u32("statement length")? as usize;
    let at = r.offset();
    let block = r.take(len, "statement")?;
    let mut inner = Reader::new(block);
    let statement = Statement::read(&mut inner).map_err(|e| shift(e, at))?;
    inner.finish().map_err(|e| shift(e, at))?;
    Ok(statement)
}

pub(crate) fn shift(e: Error, by: usize) -> Error {
    match e {
        Error::Format { offset, message } => Error::Format { offset: offset + by, message },
        other => other,
    }
}
