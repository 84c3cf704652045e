//! Decoding a winterfell proof without letting its bytes crash the process.
//!
//! winterfell's `read_many` calls `Vec::with_capacity(n)` for a count `n` taken from the input
//! before reading a single element, so a few bytes claiming 2^40 elements make the allocator
//! fail, which aborts the process (no panic to catch). [`BoundedReader`] refuses a count above
//! the bytes left: every element of a proof (a byte, a field element, a digest, a nested vector
//! with its length) takes at least one byte, so no honest proof is affected.
//!
//! Some parts of a proof are opaque byte strings that winterfell decodes only while verifying,
//! with its own unbounded reader and with asserts: the Merkle multi-proofs of the queries and
//! of every FRI layer, and the out-of-domain frame. [`check_nested`] decodes them first, bounded,
//! so that what would abort or panic there is refused here as a malformed proof.

use stark_por_solvency::hiding::SALT_BYTES;
use stark_por_solvency::prover::{HashFn, MAX_LOG_LDE};
use stark_por_solvency::options::accepted_sets;
use winter_utils::{ByteReader, Deserializable, DeserializationError, Serializable};
use winterfell::crypto::Hasher;
use winterfell::Proof;

pub struct BoundedReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BoundedReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }
}

impl ByteReader for BoundedReader<'_> {
    fn read_u8(&mut self) -> Result<u8, DeserializationError> {
        let b = self.peek_u8()?;
        self.pos += 1;
        Ok(b)
    }

    fn peek_u8(&self) -> Result<u8, DeserializationError> {
        self.bytes.get(self.pos).copied().ok_or(DeserializationError::UnexpectedEOF)
    }

    fn read_slice(&mut self, len: usize) -> Result<&[u8], DeserializationError> {
        self.check_eor(len)?;
        let out = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DeserializationError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.read_slice(N)?);
        Ok(out)
    }

    fn check_eor(&self, num_bytes: usize) -> Result<(), DeserializationError> {
        if num_bytes > self.left() {
            return Err(DeserializationError::UnexpectedEOF);
        }
        Ok(())
    }

    fn has_more_bytes(&self) -> bool {
        self.left() > 0
    }

    fn read_many<D: Deserializable>(&mut self, num_elements: usize) -> Result<Vec<D>, DeserializationError> {
        if num_elements > self.left() {
            return Err(DeserializationError::InvalidValue(format!(
                "{num_elements} elements cannot fit in the {} bytes left",
                self.left()
            )));
        }
        (0..num_elements).map(|_| D::read_from(self)).collect()
    }
}

/// Decodes a winterfell value from exactly `bytes`, with [`BoundedReader`].
pub fn read_exact<D: Deserializable>(bytes: &[u8]) -> Result<D, DeserializationError> {
    let mut r = BoundedReader::new(bytes);
    let value = D::read_from(&mut r)?;
    if r.has_more_bytes() {
        return Err(DeserializationError::UnconsumedBytes);
    }
    Ok(value)
}

/// Checks the head of an encoded proof before winterfell decodes it, which would panic on a
/// trace length of 2^64 or more (an unchecked `pow`) and on options out of their domain (asserts
/// in `ProofOptions::new`): the trace length must fit the largest domain, and the options must
/// be, byte for byte, those of one of the presets, today's or an earlier release's (all a
/// verifier accepts anyway). Returns the
/// offset at fault and why.
pub fn check_head(bytes: &[u8]) -> Result<(), (usize, String)> {
    let mut r = BoundedReader::new(bytes);
    let eof = || (bytes.len(), "the proof ends inside its context".to_string());
    r.read_slice(3).map_err(|_| eof())?; // trace widths and auxiliary random elements
    let log_len = r.read_u8().map_err(|_| eof())?;
    if u32::from(log_len) > MAX_LOG_LDE {
        return Err((3, format!("trace length 2^{log_len} is beyond 2^{MAX_LOG_LDE}")));
    }
    let meta = r.read_u16().map_err(|_| eof())? as usize;
    r.read_slice(meta).map_err(|_| eof())?;
    let modulus = r.read_u8().map_err(|_| eof())? as usize;
    r.read_slice(modulus).map_err(|_| eof())?;
    let at = r.pos;
    let rest = &bytes[at..];
    // today's presets and those earlier releases wrote (old rounds verify forever)
    if !accepted_sets().any(|o| rest.starts_with(&o.to_bytes())) {
        return Err((at, "the proof options are not those of a preset (\"100\" or \"128\")".into()));
    }
    Ok(())
}

/// Decodes the parts of `proof` that winterfell decodes only while verifying; names the part
/// at fault. `salted`: the proof's vector commitments are salted Merkle trees (formats 4 and
/// 5's proofs, `stark_por_solvency::hiding`), each batch proof led by its opened leaves' salts.
pub fn check_nested(proof: &Proof, salted: bool) -> Result<(), String> {
    let check_multiproof = |bytes: &[u8]| if salted { check_salted_multiproof(bytes) } else { check_multiproof(bytes) };
    let queries = proof.trace_queries.iter().map(|q| ("trace queries", q));
    for (what, q) in queries.chain([("constraint queries", &proof.constraint_queries)]) {
        let bytes = q.to_bytes();
        let mut r = BoundedReader::new(&bytes);
        Vec::<u8>::read_from(&mut r).map_err(|e| format!("{what}: {e}"))?; // the queried values
        let paths = Vec::<u8>::read_from(&mut r).map_err(|e| format!("{what}: {e}"))?;
        check_multiproof(&paths).map_err(|e| format!("{what}: {e}"))?;
    }
    let fri = proof.fri_proof.to_bytes();
    let mut r = BoundedReader::new(&fri);
    let eof = |e: DeserializationError| format!("FRI proof: {e}");
    for layer in 0..r.read_u8().map_err(eof)? {
        let values = r.read_u32().map_err(eof)? as usize;
        r.read_slice(values).map_err(eof)?;
        let paths = r.read_u32().map_err(eof)? as usize;
        check_multiproof(r.read_slice(paths).map_err(eof)?).map_err(|e| format!("FRI layer {layer}: {e}"))?;
    }
    let remainder = r.read_u16().map_err(eof)? as usize;
    r.read_slice(remainder).map_err(eof)?;
    // the verifier computes 2^k partitions with an unchecked `pow`
    let partitions = r.read_u8().map_err(eof)?;
    if u32::from(partitions) > MAX_LOG_LDE {
        return Err(format!("FRI proof: 2^{partitions} partitions (at most 2^{MAX_LOG_LDE})"));
    }
    let ood = proof.ood_frame.to_bytes();
    let mut r = BoundedReader::new(&ood);
    for what in ["trace", "quotient"] {
        let len = r.read_u16().map_err(|e| format!("out-of-domain frame: {e}"))? as usize;
        let states = r.read_slice(len).map_err(|e| format!("out-of-domain frame: {e}"))?;
        if states.first() != Some(&2) {
            return Err(format!("the out-of-domain {what} frame does not hold 2 rows"));
        }
    }
    Ok(())
}

/// A salted batch Merkle proof: a count of salts, the salts, then a batch Merkle proof.
fn check_salted_multiproof(bytes: &[u8]) -> Result<(), String> {
    let mut r = BoundedReader::new(bytes);
    let count = r.read_usize().map_err(|e| format!("salts: {e}"))?;
    let len = count.checked_mul(SALT_BYTES).ok_or_else(|| format!("{count} salts"))?;
    r.read_slice(len).map_err(|e| format!("salts: {e}"))?;
    check_multiproof(&bytes[r.pos..])
}

/// A batch Merkle proof: depth u8, a count of node vectors, each a vector of digests.
fn check_multiproof(bytes: &[u8]) -> Result<(), String> {
    let mut r = BoundedReader::new(bytes);
    let depth = r.read_u8().map_err(|e| format!("Merkle proof: {e}"))?;
    if u32::from(depth) > MAX_LOG_LDE {
        return Err(format!("a Merkle proof of depth {depth} (at most {MAX_LOG_LDE})"));
    }
    let count = r.read_usize().map_err(|e| format!("Merkle proof: {e}"))?;
    r.read_many::<Vec<<HashFn as Hasher>::Digest>>(count).map_err(|e| format!("Merkle proof: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_count_is_refused_before_reserving() {
        // vint64 of 2^40 (9 bytes: 0x00 marker then the value) followed by three bytes: a
        // `SliceReader` would reserve a terabyte here and abort the process
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bytes.extend_from_slice(&[1, 2, 3]);
        let err = read_exact::<Vec<u8>>(&bytes).unwrap_err();
        assert!(err.to_string().contains("cannot fit"), "{err}");
    }

    #[test]
    fn what_fits_reads_as_winterfell_reads_it() {
        let v: Vec<u64> = vec![1, 2, 3];
        let mut bytes = Vec::new();
        winter_utils::Serializable::write_into(&v, &mut bytes);
        assert_eq!(read_exact::<Vec<u64>>(&bytes).unwrap(), v);
        bytes.push(0);
        assert!(read_exact::<Vec<u64>>(&bytes).is_err());
    }
}
