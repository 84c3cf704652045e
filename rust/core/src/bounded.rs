//! A winterfell `ByteReader` that never reserves room for more elements than bytes are left.
//!
//! winterfell's `read_many` calls `Vec::with_capacity(n)` for a count `n` taken from the input
//! before reading a single element, so a few bytes claiming 2^40 elements make the allocator
//! fail, which aborts the process (no panic to catch). Every element of a proof (a byte, a
//! field element, a digest, a nested vector with its length) takes at least one byte, so a
//! count above the bytes left is refused as the end of input it must run into: no honest proof
//! is affected.

use winter_utils::{ByteReader, Deserializable, DeserializationError};

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
