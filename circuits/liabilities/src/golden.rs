//! Version 2 must keep its proofs byte for byte whatever later statement versions add: a fixed
//! forest's proof is compared with the digest of the proof the version-2 code made before the
//! margin section existed (commit 86c84bc).

use super::*;
use winterfell::crypto::{hashers::Blake3_256, Digest as _, Hasher};
use winterfell::math::fields::f64::BaseElement as Felt;

fn digest(seed: u64) -> stark_por_solvency::hash::Digest {
    [Felt::new(seed), Felt::new(seed + 1), Felt::new(seed + 2), Felt::new(seed + 3)]
}

#[test]
fn a_version_2_proof_is_unchanged_byte_for_byte() {
    let amounts = [1u128, 999, (1 << 62) - 1, 1 << 62, 5 * 10u128.pow(18), 3 << 100, (1 << 112) - 1];
    let leaves: Vec<Leaf> = (0..16u64)
        .map(|j| Leaf {
            idc: digest(100 * j),
            entries: (1..=(j % 4) as u32).map(|a| Entry::equity(a, amounts[(j as usize + a as usize) % amounts.len()])).collect(),
        })
        .collect();
    let params = StatementParams { num_assets: 4, range_bits: 112, assets_digest: digest(7), round_digest: digest(9) };
    let (proof, pi, _) = prove(&leaves[3..13], Forest::new(16, 3, 13).unwrap(), &params, Security::Bits100, [5; 32]).unwrap();
    let bytes = proof.to_bytes();
    const BEFORE: [u8; 32] = [
        239, 4, 191, 238, 5, 17, 13, 127, 91, 150, 48, 193, 58, 162, 208, 201, 120, 98, 147, 61, 164, 211, 255, 97,
        135, 114, 240, 153, 12, 80, 199, 110,
    ];
    assert_eq!(bytes.len(), 113_767);
    assert_eq!(Blake3_256::<Felt>::hash(&bytes).as_bytes(), BEFORE);
    verify(proof, pi, 100).unwrap();
}
