//! Inclusion in a version-2 round: a user's leaf recomputed from their id, salt and
//! `(asset, amount)` balances with the version-2 leaf hash. The proof, its checks and the
//! full-depth path of the round tree are version 1's (`crate::inclusion`, format version 2),
//! which calls [`user_leaf`] for proofs of version 2 and [`user_leaf_kinds`] for version 3,
//! whose entries are equities or debts (the kind in each entry's tag, hashed alike).

use stark_por_liabilities::hash::{leaf_digest, Entry, DEBT, EQUITY, MAX_AMOUNT_BITS};
use stark_por_solvency::hash::{digest_from_bytes, Digest};

pub use crate::inclusion::path_from_tree;
use crate::inclusion::InclusionError;
use crate::user_commitment;

/// The leaf of a user from their id, salt and balances `(1-based asset index, amount)`, sorted
/// by asset without repeats, every amount in `[1, 2^112)`.
pub fn user_leaf(user_id: &str, salt: &[u8; 32], balances: &[(u32, u128)]) -> Result<Digest, InclusionError> {
    let entries: Vec<(u32, u128, u32)> = balances.iter().map(|&(asset, amount)| (asset, amount, EQUITY)).collect();
    user_leaf_kinds(user_id, salt, &entries)
}

/// The leaf of a user from their id, salt and entries `(1-based asset index, amount, kind)`
/// (kind `EQUITY` or `DEBT`), sorted by tag `2·asset + kind` without repeats, every amount in
/// `[1, 2^112)`.
pub fn user_leaf_kinds(user_id: &str, salt: &[u8; 32], entries: &[(u32, u128, u32)]) -> Result<Digest, InclusionError> {
    let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
    for (k, &(asset, amount, kind)) in entries.iter().enumerate() {
        if asset == 0 || asset as usize > stark_por_liabilities::hash::MAX_ASSETS {
            return Err(InclusionError::Malformed(format!("balance {k}: asset index {asset} is not in 1..=4095")));
        }
        let entry = match kind {
            EQUITY => Entry::equity(asset, amount),
            DEBT => Entry::debt(asset, amount),
            _ => return Err(InclusionError::Malformed(format!("balance {k}: kind {kind} is neither equity (0) nor debt (1)"))),
        };
        if out.last().is_some_and(|last| last.tag >= entry.tag) {
            return Err(InclusionError::Malformed(format!("balance {k}: assets are not strictly increasing")));
        }
        if amount == 0 || amount >> MAX_AMOUNT_BITS != 0 {
            return Err(InclusionError::Malformed(format!("balance {k}: amount {amount} is not in [1, 2^{MAX_AMOUNT_BITS})")));
        }
        out.push(entry);
    }
    Ok(leaf_digest(&user_commitment(salt, user_id), &out))
}

/// The tree of [`super::ProveOutput::tree`] as digests (its zero slot `[0]` becomes zero).
pub fn tree_digests(tree: &[[u8; 32]]) -> Vec<Digest> {
    tree.iter().map(|b| digest_from_bytes(b).unwrap_or_default()).collect()
}
