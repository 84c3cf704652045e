//! A round's exact total as the AIR reads it: mixed-radix digits at `PART_OFFSETS`
//! (`d₀ = T mod 2^26`, `d₁ = ⌊T/2^26⌋ mod 2^26`, `d₂ = ⌊T/2^52⌋ mod 2^10`,
//! `d₃ = ⌊T/2^62⌋ mod 2^26`, `d₄ = ⌊T/2^88⌋ < 2^62`), and the carries that take five part sums
//! to those digits.

use stark_por_liabilities::layout::{PARTS, PART_OFFSETS};
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};

use crate::layout::{CARRIES, CARRY_BITS, DIGIT_BITS, WIDE_CARRY_BITS};

/// Bytes of the largest total the digits hold (`d₄ < 2^62`: totals below `2^150`).
pub const MAX_TOTAL_BYTES: usize = 19;

/// The digits of a total given as minimal little-endian bytes (0 is empty).
pub fn digits_of(total: &[u8]) -> Result<[u64; PARTS], String> {
    if total.last() == Some(&0) {
        return Err("not minimally encoded (a trailing zero byte)".into());
    }
    if total.len() > MAX_TOTAL_BYTES {
        return Err(format!("{} bytes: totals are below 2^150", total.len()));
    }
    let mut words = [0u64; 3];
    for (k, &byte) in total.iter().enumerate() {
        words[k / 8] |= (byte as u64) << (8 * (k % 8));
    }
    let digits: [u64; PARTS] = std::array::from_fn(|i| bits(&words, PART_OFFSETS[i], DIGIT_BITS[i]));
    // whatever lies above the last digit's 62 bits (bit 150 up) makes the total too large
    if bits(&words, PART_OFFSETS[PARTS - 1] + DIGIT_BITS[PARTS - 1], 2) != 0 {
        return Err("totals are below 2^150".into());
    }
    Ok(digits)
}

/// `Σ sums[i]·2^PART_OFFSETS[i]` (any sums below `2^128`) as minimal little-endian bytes: the
/// exact total of part sums, in the encoding [`digits_of`] reads.
pub fn total_bytes(sums: &[u128; PARTS]) -> Vec<u8> {
    let mut words = [0u64; 6];
    for (&s, &off) in sums.iter().zip(&PART_OFFSETS) {
        let (w, shift) = ((off / 64) as usize, off % 64);
        let (lo, hi) = (s as u64, (s >> 64) as u64);
        let pieces = if shift == 0 {
            [lo, hi, 0]
        } else {
            [lo << shift, (hi << shift) | (lo >> (64 - shift)), hi >> (64 - shift)]
        };
        let mut carry = 0u128;
        for (k, word) in words.iter_mut().enumerate().skip(w) {
            let add = pieces.get(k - w).copied().unwrap_or(0) as u128;
            let v = *word as u128 + add + carry;
            *word = v as u64;
            carry = v >> 64;
        }
    }
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// Bits `from..from + len` (`len ≤ 62`) of a little-endian 192-bit integer.
fn bits(words: &[u64; 3], from: u32, len: u32) -> u64 {
    let (w, shift) = ((from / 64) as usize, from % 64);
    let mut v = words[w] >> shift;
    if shift > 0 && w + 1 < words.len() {
        v |= words[w + 1] << (64 - shift);
    }
    v & ((1u64 << len) - 1)
}

/// The carries `k₀…k₃` with `ACC₀ = d₀ + 2^26·k₀`, `ACCᵢ + kᵢ₋₁ = dᵢ + 2^(offᵢ₊₁ − offᵢ)·kᵢ`,
/// `ACC₄ + k₃ = d₄`, if the sums `Σ ACCᵢ·2^offᵢ` equal the digits' value and every sum and carry
/// fits what the AIR proves (each sum below the modulus, carries below `2^37`, carry 2 below
/// `2^40`); `None` otherwise.
pub fn carries(sums: &[u128; PARTS], digits: &[u64; PARTS]) -> Option<[u64; CARRIES]> {
    if sums.iter().any(|&a| a >= Felt::MODULUS as u128) {
        return None;
    }
    let mut out = [0u64; CARRIES];
    let mut carry_in = 0u128;
    for i in 0..PARTS {
        let lhs = sums[i] + carry_in;
        let d = digits[i] as u128;
        if i + 1 == PARTS {
            return (lhs == d).then_some(out);
        }
        let shift = PART_OFFSETS[i + 1] - PART_OFFSETS[i];
        if lhs < d || !(lhs - d).is_multiple_of(1u128 << shift) {
            return None;
        }
        let k = (lhs - d) >> shift;
        let bound = if crate::layout::BOUNDED_CARRIES.contains(&i) { CARRY_BITS } else { WIDE_CARRY_BITS };
        if k >= 1u128 << bound {
            return None;
        }
        out[i] = k as u64;
        carry_in = k;
    }
    unreachable!("the last position returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(v: u128) -> Vec<u8> {
        total_bytes(&[v, 0, 0, 0, 0])
    }

    #[test]
    fn part_sums_combine_exactly() {
        assert_eq!(total_bytes(&[0; PARTS]), Vec::<u8>::new());
        assert_eq!(total_bytes(&[1, 0, 0, 0, 0]), vec![1]);
        // 2^88·(2^128 − 1) + 2^62 + 2^52·3: bytes 6..=7 hold 3·2^52 and 2^62
        let bytes = total_bytes(&[0, 0, 3, 1, u128::MAX]);
        assert_eq!(bytes.len(), 27);
        assert_eq!(bytes[6..8], [0x30, 0x40]);
        assert!(bytes[11..27].iter().all(|&b| b == 0xff) && bytes[8..11].iter().all(|&b| b == 0));
    }

    #[test]
    fn digits_recombine_to_the_total() {
        for v in [0u128, 1, (1 << 26) - 1, 1 << 26, 1 << 52, (1 << 62) + 5, 1 << 88, u128::MAX, 3 << 100] {
            let d = digits_of(&le(v)).unwrap();
            let back = (0..PARTS).fold(0u128, |acc, i| acc.wrapping_add((d[i] as u128).wrapping_shl(PART_OFFSETS[i])));
            assert_eq!(back, v, "{v}");
            for i in 0..PARTS {
                assert!(d[i] < 1 << DIGIT_BITS[i]);
            }
        }
        // 2^150 − 1 is the largest; 2^150 and non-minimal encodings are refused
        let mut top = vec![0xff; 18];
        top.push(0x3f);
        assert_eq!(digits_of(&top).unwrap()[4], (1 << 62) - 1);
        let mut over = vec![0; 18];
        over.push(0x40);
        assert!(digits_of(&over).is_err());
        assert!(digits_of(&[1, 0]).is_err());
        assert!(digits_of(&[0; 20]).is_err());
        assert_eq!(digits_of(&[]).unwrap(), [0; PARTS]);
    }

    #[test]
    fn carries_exist_only_for_the_right_total() {
        // 2^36 entry slots of amounts below 2^112: parts of 26, 26, 10, 26 and 24 bits
        let sums = [(1u128 << 62) - 1, (1 << 62) - 1, (1 << 46) - 1, (1 << 62) - 1, (1 << 60) - 1];
        let d = digits_of(&total_bytes(&sums)).unwrap();
        let k = carries(&sums, &d).expect("the largest honest sums fit");
        assert!(k.iter().enumerate().all(|(j, &c)| c < 1 << if j == 2 { 40 } else { 37 }));
        let mut off = d;
        off[0] ^= 1;
        assert!(carries(&sums, &off).is_none());
        off = d;
        off[4] += 1;
        assert!(carries(&sums, &off).is_none());
    }
}
