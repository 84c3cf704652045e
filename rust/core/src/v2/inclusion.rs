//! Inclusion in a version-2 round: a user's leaf recomputed from their id, salt and
//! `(asset, amount)` balances with the version-2 leaf hash. The proof, its checks and the
//! full-depth path of the round tree are version 1's (`crate::inclusion`, format version 2),
//! which calls [`user_leaf`] for proofs of version 2.

use stark_por_liabilities::hash::{leaf_digest, Entry, MAX_AMOUNT_BITS};
use stark_por_solvency::hash::{digest_from_bytes, Digest};

pub use crate::inclusion::path_from_tree;
use crate::inclusion::InclusionError;
use crate::user_commitment;

/// The leaf of a user from their id, salt and balances `(1-based asset index, amount)`, sorted
/// by asset without repeats, every amount in `[1, 2^112)`.
pub fn user_leaf(user_id: &str, salt: &[u8; 32], balances: &[(u32, u128)]) -> Result<Digest, InclusionError> {
    let mut entries = Vec::with_capacity(balances.len());
    for (k, &(asset, amount)) in balances.iter().enumerate() {
        if asset == 0 || asset as usize > stark_por_liabilities::hash::MAX_ASSETS {
            return Err(InclusionError::Malformed(format!("balance {k}: asset index {asset} is not in 1..=4095")));
        }
        if k > 0 && balances[k - 1].0 >= asset {
            return Err(InclusionError::Malformed(format!("balance {k}: assets are not strictly increasing")));
        }
        if amount == 0 || amount >> MAX_AMOUNT_BITS != 0 {
            return Err(InclusionError::Malformed(format!("balance {k}: amount {amount} is not in [1, 2^{MAX_AMOUNT_BITS})")));
        }
        entries.push(Entry::equity(asset, amount));
    }
    Ok(leaf_digest(&user_commitment(salt, user_id), &entries))
}

/// The tree of [`super::ProveOutput::tree`] as digests (its zero slot `[0]` becomes zero).
pub fn tree_digests(tree: &[[u8; 32]]) -> Vec<Digest> {
    tree.iter().map(|b| digest_from_bytes(b).unwrap_or_default()).collect()
}
