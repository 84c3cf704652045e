//! Honest proofs verify; each dishonest trace, breaking one constraint, is rejected.

use super::*;
use crate::hash::Digest;
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement};

fn digest(seed: u64) -> Digest {
    [Felt::new(seed), Felt::new(seed + 1), Felt::new(seed + 2), Felt::new(seed + 3)]
}

pub(crate) fn sample_leaves(n: usize, num_assets: u32) -> Vec<Leaf> {
    (0..n)
        .map(|j| {
            let held = j % 7;
            let entries = (0..held)
                .map(|k| (1 + (k as u32 * 3 + j as u32) % num_assets, 1 + (j as u64 * 7919 + k as u64) % 1_000_000))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect();
            Leaf { idc: digest(100 * j as u64), entries }
        })
        .collect()
}

pub(crate) fn params(num_assets: usize) -> StatementParams {
    StatementParams { num_assets, range_bits: 62, assets_digest: digest(7), round_digest: digest(9) }
}

#[test]
fn honest_proof_verifies_and_totals_are_exact() {
    let leaves = sample_leaves(16, 5);
    let (proof, pi) = prove(&leaves, &params(5), Security::Bits100, [1; 32]).unwrap();
    for k in 0..5u32 {
        let expected: u128 = leaves
            .iter()
            .flat_map(|l| l.entries.iter())
            .filter(|e| e.0 == k + 1)
            .map(|e| e.1 as u128)
            .sum();
        assert_eq!(pi.total(k as usize), expected);
    }
    assert!(security_bits(&proof) >= 100);
    verify(proof, pi, 100).unwrap();
}
