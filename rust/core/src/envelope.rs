//! The proof file: a versioned envelope around the statement and the winterfell proof.
//!
//! ```text
//! magic "STARKPOR" (8) | format version u16 | kind u8 | statement length u32 | statement
//!                      | proof length u32 | winterfell proof
//! ```
//! All integers little-endian. Unknown versions or kinds, truncation and trailing bytes are
//! rejected, and the winterfell proof must re-encode to exactly the bytes it was read from.

use winterfell::Proof;

use crate::error::{Error, Result};
use crate::reader::Reader;
use crate::statement::Statement;

pub const MAGIC: &[u8; 8] = b"STARKPOR";
pub const FORMAT_VERSION: u16 = 1;
/// A single solvency proof over all leaves.
pub const KIND_SOLVENCY: u8 = 1;

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
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(KIND_SOLVENCY);
        out.extend_from_slice(&(statement.len() as u32).to_le_bytes());
        out.extend_from_slice(&statement);
        out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
        out.extend_from_slice(&proof);
        out
    }

    /// Reads only the statement (for display before verification).
    pub fn read_statement(bytes: &[u8]) -> Result<Statement> {
        let mut r = Reader::new(bytes);
        read_header(&mut r)?;
        read_statement_block(&mut r)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_header(&mut r)?;
        let statement = read_statement_block(&mut r)?;
        let len = r.u32("proof length")? as usize;
        let at = r.offset();
        let proof_bytes = r.take(len, "winterfell proof")?;
        r.finish()?;
        let proof = crate::guard("proof decoding", || Proof::from_bytes(proof_bytes))
            .map_err(|e| Error::format(at, format!("winterfell proof is malformed: {e}")))?
            .map_err(|e| Error::format(at, format!("winterfell proof is malformed: {e}")))?;
        if proof.to_bytes() != proof_bytes {
            return Err(Error::format(at, "winterfell proof is not canonically encoded"));
        }
        Ok(ProofFile { statement, proof })
    }
}

fn read_header(r: &mut Reader<'_>) -> Result<()> {
    if r.array::<8>("magic bytes")? != *MAGIC {
        return Err(Error::format(0, "not a stark-por proof file (bad magic bytes)"));
    }
    let version = r.u16("format version")?;
    if version != FORMAT_VERSION {
        return Err(Error::format(8, format!("unknown format version {version} (this build reads {FORMAT_VERSION})")));
    }
    let kind = r.u8("proof kind")?;
    if kind != KIND_SOLVENCY {
        return Err(Error::format(10, format!("unknown proof kind {kind}")));
    }
    Ok(())
}

fn read_statement_block(r: &mut Reader<'_>) -> Result<Statement> {
    let len = r.u32("statement length")? as usize;
    let at = r.offset();
    let block = r.take(len, "statement")?;
    let mut inner = Reader::new(block);
    let statement = Statement::read(&mut inner).map_err(|e| shift(e, at))?;
    inner.finish().map_err(|e| shift(e, at))?;
    Ok(statement)
}

fn shift(e: Error, by: usize) -> Error {
    match e {
        Error::Format { offset, message } => Error::Format { offset: offset + by, message },
        other => other,
    }
}
