//! Inclusion proofs: a user's evidence that their balances are inside a round's committed root.
//!
//! A proof carries the user's own data (id, salt, entries), where their leaf sits (index, tree
//! size) and the sibling digests from the leaf up to the root. It also names the leaf and the
//! root it claims to lead to: those two never decide acceptance (the walk from the user's own
//! data to the expected root does), they only let the verifier say *where* a proof breaks:
//!
//! | reason | meaning |
//! |---|---|
//! | `malformed` | a field is out of its domain (bad length, non-canonical digest, unsorted entries…) |
//! | `unknown-version` | a format version this verifier does not read |
//! | `wrong-user` | the proof is for another user id than the one checking it |
//! | `wrong-statement` | the anchor's fingerprint is not the one the user was given |
//! | `version-mismatch` | the proof's format version is not the anchor's statement version |
//! | `wrong-round` | the proof belongs to another round than the statement's |
//! | `asset-mismatch` | an entry's asset (index, name, decimals) differs from the statement's list |
//! | `leaf-mismatch` | the user's id, salt and balances do not hash to the proof's leaf |
//! | `path-mismatch` | the path does not lead from that leaf to the proof's root (or has the wrong length) |
//! | `root-mismatch` | a consistent proof, but of another tree than the expected root |
//!
//! A proof is always checked against an [`Anchor`] that carries the round's asset list: a leaf
//! hashes `(asset index, amount)`, so the asset names and decimals a proof shows are only
//! bound by comparing them with the list the round published. A bare root is no anchor.
//! `balance-mismatch` (the user's expected balances differ from the proven ones) compares
//! decoded values and is left to the caller.
//!
//! **Versions.** A proof's format version is the statement version of its round: version 1
//! leaves hash `(asset index, amount)` with amounts below `2^63` (`stark_por_solvency::hash`),
//! version 2 leaves hash version-2 entries with amounts below `2^112`
//! ([`crate::v2::inclusion::user_leaf`]). Everything else (fields, tree, path walk, order of the
//! checks) is shared; a proof is only checked against an anchor of its own statement version.
//!
//! The JSON encoding lives in Python (`stark_por/inclusion.py`); this module works on the
//! decoded values.

use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, leaf_digest, node_digest, Digest, Entry};

use crate::statement::{validate_round_id, Asset, Statement, Summary, MAX_DECIMALS, MAX_DEPTH};
use crate::user_commitment;

/// The inclusion proof format version of rounds of statement version 1.
pub const INCLUSION_VERSION: u64 = 1;
/// The inclusion proof format version of rounds of statement version 2 (`crate::v2`).
pub const INCLUSION_VERSION_2: u64 = 2;
/// Longest user id, in bytes (as in the ledger).
pub const MAX_USER_ID: usize = 256;
/// Version-1 amounts must be below this bound to be field elements the circuit could range-check.
pub const AMOUNT_BOUND: u64 = 1 << 63;
/// Bits of the largest version-2 amount (every amount is below `2^112`).
pub const AMOUNT_BITS_2: u32 = stark_por_liabilities::hash::MAX_AMOUNT_BITS;

/// One balance of the user: the asset's 1-based index in the statement's asset list, its name
/// and decimals (as the exchange labels it), and the amount in the asset's smallest unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionEntry {
    pub asset: String,
    pub index: u32,
    pub decimals: u8,
    pub amount: u128,
}

/// A decoded inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub version: u64,
    pub round_id: String,
    pub user_id: String,
    pub salt: [u8; 32],
    /// Sorted by `index`, no zero amounts.
    pub entries: Vec<InclusionEntry>,
    pub leaf_index: u64,
    pub num_leaves: u64,
    /// The leaf the proof claims (diagnostic only).
    pub leaf: [u8; 32],
    /// The root the proof claims (diagnostic only).
    pub root: [u8; 32],
    /// Sibling digests, from the leaf's sibling up to the root's children.
    pub path: Vec<[u8; 32]>,
}

/// What a proof is checked against: the round's verified statement or its published summary.
/// Either fixes the statement version, the round id, the tree size, the root and the asset
/// list, and has a fingerprint.
#[derive(Debug, Clone, Copy)]
pub struct Anchor<'a> {
    statement_version: u16,
    round_id: &'a str,
    num_leaves: u64,
    root: [u8; 32],
    assets: &'a [Asset],
    fingerprint: [u8; 32],
}

impl<'a> Anchor<'a> {
    /// A version-1 statement recovered by verifying the round's proof.
    pub fn statement(s: &'a Statement) -> Self {
        Anchor {
            statement_version: crate::statement::STATEMENT_VERSION,
            round_id: &s.round_id,
            num_leaves: s.num_leaves,
            root: s.root,
            assets: &s.assets,
            fingerprint: s.fingerprint(),
        }
    }

    /// A version-2 statement recovered by verifying the round's proof.
    pub fn statement_v2(s: &'a crate::v2::Statement) -> Self {
        Anchor {
            statement_version: crate::v2::STATEMENT_VERSION,
            round_id: &s.round_id,
            num_leaves: s.num_leaves,
            root: s.root,
            assets: &s.assets,
            fingerprint: s.fingerprint(),
        }
    }

    /// The published summary of a version-1 round (validate it first: [`Summary::validate`]).
    pub fn summary(s: &'a Summary) -> Self {
        Self::summary_as(s, crate::statement::STATEMENT_VERSION)
    }

    /// The published summary of a round of `statement_version` (validate it first:
    /// [`Summary::validate_as`]).
    pub fn summary_as(s: &'a Summary, statement_version: u16) -> Self {
        Anchor {
            statement_version,
            round_id: &s.round_id,
            num_leaves: s.num_leaves,
            root: s.root,
            assets: &s.assets,
            fingerprint: s.fingerprint_as(statement_version),
        }
    }

    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub fn statement_version(&self) -> u16 {
        self.statement_version
    }
}

/// What the user checking a proof knows of their own: their id and, when they have it, the
/// fingerprint the exchange published (or auditors attested).
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub user_id: &'a str,
    pub fingerprint: Option<[u8; 32]>,
}

/// Why an inclusion proof was refused. `reason()` gives the stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    #[error("malformed inclusion proof: {0}")]
    Malformed(String),
    #[error("inclusion proof version {0} is not supported (this verifier reads versions 1 and 2)")]
    UnknownVersion(u64),
    #[error("the inclusion proof is for user {actual:?}, not {expected:?}")]
    WrongUser { expected: String, actual: String },
    #[error("the statement's fingerprint is {actual}, not the {expected} you were given")]
    WrongStatement { expected: String, actual: String },
    #[error("the inclusion proof is of version {proof} (for rounds of statement version {proof}), the round's statement is of version {statement}")]
    VersionMismatch { proof: u64, statement: u16 },
    #[error("the inclusion proof is for round {actual:?}, not {expected:?}")]
    WrongRound { expected: String, actual: String },
    #[error("asset mismatch: {0}")]
    AssetMismatch(String),
    #[error("leaf mismatch: the user's id, salt and balances do not hash to the leaf the proof names")]
    LeafMismatch,
    #[error("path mismatch: {0}")]
    PathMismatch(String),
    #[error("root mismatch: the proof leads to root {actual}, not to {expected}")]
    RootMismatch { expected: String, actual: String },
}

impl InclusionError {
    /// The stable reason code (also the `reason` of Python's `InvalidInclusionProof`).
    pub fn reason(&self) -> &'static str {
        match self {
            InclusionError::Malformed(_) => "malformed",
            InclusionError::UnknownVersion(_) => "unknown-version",
            InclusionError::WrongUser { .. } => "wrong-user",
            InclusionError::WrongStatement { .. } => "wrong-statement",
            InclusionError::VersionMismatch { .. } => "version-mismatch",
            InclusionError::WrongRound { .. } => "wrong-round",
            InclusionError::AssetMismatch(_) => "asset-mismatch",
            InclusionError::LeafMismatch => "leaf-mismatch",
            InclusionError::PathMismatch(_) => "path-mismatch",
            InclusionError::RootMismatch { .. } => "root-mismatch",
        }
    }
}

/// The leaf of a user, as bytes: `H_leaf(H_id(salt ‖ user_id), entries)`, entries being
/// `(1-based asset index, amount)` sorted by asset.
pub fn compute_leaf(user_id: &str, salt: &[u8; 32], entries: &[Entry]) -> [u8; 32] {
    digest_to_bytes(&leaf_digest(&user_commitment(salt, user_id), entries))
}

/// A user's id commitment `H_id(salt ‖ user_id)`, as bytes.
pub fn id_commitment(salt: &[u8; 32], user_id: &str) -> [u8; 32] {
    digest_to_bytes(&user_commitment(salt, user_id))
}

/// [`walk_path`] over encoded digests; `Malformed` if one of them is not canonical.
pub fn walk_path_bytes(leaf: &[u8; 32], leaf_index: u64, path: &[[u8; 32]]) -> Result<[u8; 32], InclusionError> {
    let digest = |bytes: &[u8; 32]| {
        digest_from_bytes(bytes).ok_or_else(|| InclusionError::Malformed("a digest is not canonical".into()))
    };
    let path = path.iter().map(digest).collect::<Result<Vec<_>, _>>()?;
    Ok(digest_to_bytes(&walk_path(&digest(leaf)?, leaf_index, &path)))
}

/// Walks from `leaf` at `leaf_index` up through `path`: at each level the running node is the
/// left child when the index bit is 0.
pub fn walk_path(leaf: &Digest, leaf_index: u64, path: &[Digest]) -> Digest {
    let mut node = *leaf;
    for (level, sibling) in path.iter().enumerate() {
        // beyond the index's 64 bits the running node is a left child (a shift by >= 64 would panic)
        let right = leaf_index.checked_shr(level as u32).unwrap_or(0) & 1 == 1;
        node = if right { node_digest(sibling, &node) } else { node_digest(&node, sibling) };
    }
    node
}

/// The sibling path of leaf `leaf_index` in a heap-numbered tree (`tree[1]` the root, leaf `j`
/// at `tree.len() / 2 + j`), leaf level first.
pub fn path_from_tree(tree: &[Digest], leaf_index: u64) -> Vec<Digest> {
    let mut i = tree.len() / 2 + leaf_index as usize;
    let mut path = Vec::new();
    while i > 1 {
        path.push(tree[i ^ 1]);
        i /= 2;
    }
    path
}

/// The leaf of the proof's user from their id, salt and balances, hashed as the proof's format
/// version says.
pub fn proof_leaf(p: &InclusionProof) -> Result<[u8; 32], InclusionError> {
    let balances: Vec<(u32, u128)> = p.entries.iter().map(|e| (e.index, e.amount)).collect();
    versioned_leaf(p.version, &p.user_id, &p.salt, &balances)
}

/// The leaf of a user with balances `(1-based asset index, amount)` in a round whose inclusion
/// proofs are of format `version`: version 1's leaf (amounts below `2^63`) or version 2's.
pub fn versioned_leaf(version: u64, user_id: &str, salt: &[u8; 32], balances: &[(u32, u128)]) -> Result<[u8; 32], InclusionError> {
    match version {
        INCLUSION_VERSION => {
            let entries = balances
                .iter()
                .enumerate()
                .map(|(i, &(index, amount))| match u64::try_from(amount) {
                    Ok(amount) if amount < AMOUNT_BOUND => Ok((index, amount)),
                    _ => Err(InclusionError::Malformed(format!("entry {i}: amount {amount} is not in [1, 2^63)"))),
                })
                .collect::<Result<Vec<Entry>, _>>()?;
            Ok(compute_leaf(user_id, salt, &entries))
        },
        INCLUSION_VERSION_2 => Ok(digest_to_bytes(&crate::v2::inclusion::user_leaf(user_id, salt, balances)?)),
        v => Err(InclusionError::UnknownVersion(v)),
    }
}

/// Checks `proof` against `anchor` for the user `expected` names. Ok means: the proof is this
/// user's, the anchor is the statement they were told of (when they know its fingerprint) and of
/// the proof's version, the round, tree size and asset labels are the anchor's, and the user's
/// own id, salt and balances hash to a leaf from which the path reaches the anchor's root.
pub fn verify_inclusion(proof: &InclusionProof, anchor: &Anchor<'_>, expected: &Expected<'_>) -> Result<(), InclusionError> {
    let checked = check_structure(proof)?;

    if proof.user_id != expected.user_id {
        return Err(InclusionError::WrongUser { expected: expected.user_id.into(), actual: proof.user_id.clone() });
    }
    if let Some(fingerprint) = expected.fingerprint {
        if fingerprint != anchor.fingerprint {
            return Err(InclusionError::WrongStatement { expected: hex(&fingerprint), actual: hex(&anchor.fingerprint) });
        }
    }
    if proof.version != anchor.statement_version as u64 {
        return Err(InclusionError::VersionMismatch { proof: proof.version, statement: anchor.statement_version });
    }
    if proof.round_id != anchor.round_id {
        return Err(InclusionError::WrongRound { expected: anchor.round_id.into(), actual: proof.round_id.clone() });
    }
    let n = anchor.num_leaves;
    if proof.num_leaves != n {
        return Err(InclusionError::PathMismatch(format!(
            "the proof places the leaf in a tree of {} leaves, the round's tree has {n}",
            proof.num_leaves
        )));
    }
    let depth = n.trailing_zeros() as usize;
    if checked.path.len() != depth {
        return Err(InclusionError::PathMismatch(format!(
            "a tree of {n} leaves needs {depth} siblings, the path has {}",
            checked.path.len()
        )));
    }
    check_assets(&proof.entries, anchor.assets)?;

    let leaf = proof_leaf(proof)?;
    if leaf != proof.leaf {
        return Err(InclusionError::LeafMismatch);
    }
    let reached = digest_to_bytes(&walk_path(&checked.leaf, proof.leaf_index, &checked.path));
    if reached != proof.root {
        return Err(InclusionError::PathMismatch(format!(
            "walking the path from leaf {} does not reach the root the proof names",
            proof.leaf_index
        )));
    }
    if reached != anchor.root {
        return Err(InclusionError::RootMismatch { expected: hex(&anchor.root), actual: hex(&reached) });
    }
    Ok(())
}

struct Checked {
    leaf: Digest,
    path: Vec<Digest>,
}

/// Every field in its domain.
fn check_structure(p: &InclusionProof) -> Result<Checked, InclusionError> {
    let bad = |m: String| Err(InclusionError::Malformed(m));
    // the amount bound and the most assets a leaf can name, per version
    let (amount_bits, max_index) = match p.version {
        INCLUSION_VERSION => (AMOUNT_BOUND.trailing_zeros(), u32::MAX),
        INCLUSION_VERSION_2 => (AMOUNT_BITS_2, stark_por_liabilities::hash::MAX_ASSETS as u32),
        v => return Err(InclusionError::UnknownVersion(v)),
    };
    if let Err(e) = validate_round_id(&p.round_id) {
        return bad(e.to_string());
    }
    if p.user_id.is_empty() || p.user_id.len() > MAX_USER_ID {
        return bad(format!("user id must be 1 to {MAX_USER_ID} bytes, got {}", p.user_id.len()));
    }
    for (i, e) in p.entries.iter().enumerate() {
        if e.index == 0 {
            return bad(format!("entry {i}: asset indices start at 1"));
        }
        if e.index > max_index {
            return bad(format!("entry {i}: asset index {} is above {max_index}, the most a version-{} leaf names", e.index, p.version));
        }
        if i > 0 && p.entries[i - 1].index >= e.index {
            return bad(format!("entry {i}: entries must be sorted by asset index, without repeats"));
        }
        if e.decimals > MAX_DECIMALS {
            return bad(format!("entry {i}: {} decimals (at most {MAX_DECIMALS})", e.decimals));
        }
        if let Err(err) = (Asset { name: e.asset.clone(), decimals: e.decimals }).validate() {
            return bad(format!("entry {i}: {err}"));
        }
        if e.amount == 0 || e.amount >> amount_bits != 0 {
            return bad(format!("entry {i}: amount {} is not in [1, 2^{amount_bits})", e.amount));
        }
    }
    let n = p.num_leaves;
    if n < 2 || !n.is_power_of_two() || n.trailing_zeros() > MAX_DEPTH {
        return bad(format!("the tree size {n} is not a power of two from 2 to 2^{MAX_DEPTH}"));
    }
    if p.leaf_index >= n {
        return bad(format!("leaf index {} is outside a tree of {n} leaves", p.leaf_index));
    }
    let digest = |bytes: &[u8; 32], what: &str| {
        digest_from_bytes(bytes).ok_or_else(|| InclusionError::Malformed(format!("{what} is not a canonical digest")))
    };
    let leaf = digest(&p.leaf, "the leaf")?;
    digest(&p.root, "the root")?;
    let path = p
        .path
        .iter()
        .enumerate()
        .map(|(level, s)| digest(s, &format!("path element {level}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Checked { leaf, path })
}

fn check_assets(entries: &[InclusionEntry], assets: &[Asset]) -> Result<(), InclusionError> {
    for e in entries {
        match assets.get(e.index as usize - 1) {
            Some(a) if a.name == e.asset && a.decimals == e.decimals => {},
            Some(a) => {
                return Err(InclusionError::AssetMismatch(format!(
                    "asset {} of the statement is {} with {} decimals, the proof calls it {} with {}",
                    e.index, a.name, a.decimals, e.asset, e.decimals
                )))
            },
            None => {
                return Err(InclusionError::AssetMismatch(format!(
                    "the statement lists {} assets, the proof names asset {}",
                    assets.len(),
                    e.index
                )))
            },
        }
    }
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stark_por_solvency::hash::merkle_tree;

    const ROUND: &str = "2026-11";

    fn assets() -> Vec<Asset> {
        vec![
            Asset { name: "BTC".into(), decimals: 8 },
            Asset { name: "ETH".into(), decimals: 18 },
            Asset { name: "USDT".into(), decimals: 6 },
        ]
    }

    struct Round {
        tree: Vec<Digest>,
        proofs: Vec<InclusionProof>,
        statement: Statement,
    }

    /// A tree of 8 leaves: 5 users with 0 to 3 entries, 3 padding leaves.
    fn round() -> Round {
        let users: Vec<(String, Vec<(u32, u64)>)> = vec![
            ("alice".into(), vec![(1, 150_000_000), (3, 42)]),
            ("bob".into(), vec![]),
            ("carol".into(), vec![(2, (1 << 62) - 1)]),
            ("dave".into(), vec![(1, 1), (2, 2), (3, 3)]),
            ("émile".into(), vec![(3, 7)]),
        ];
        let n = 8u64;
        let mut leaves = vec![digest_from_bytes(&[0; 32]).unwrap(); n as usize];
        let mut proofs = Vec::new();
        for (k, (id, entries)) in users.iter().enumerate() {
            let salt = [k as u8 + 1; 32];
            let index = (k as u64 * 3) % n; // 0, 3, 6, 1, 4
            leaves[index as usize] = digest_from_bytes(&compute_leaf(id, &salt, entries)).unwrap();
            let asset_list = assets();
            proofs.push(InclusionProof {
                version: INCLUSION_VERSION,
                round_id: ROUND.into(),
                user_id: id.clone(),
                salt,
                entries: entries
                    .iter()
                    .map(|&(a, amount)| {
                        let asset = &asset_list[a as usize - 1];
                        InclusionEntry { asset: asset.name.clone(), index: a, decimals: asset.decimals, amount: amount.into() }
                    })
                    .collect(),
                leaf_index: index,
                num_leaves: n,
                leaf: [0; 32],
                root: [0; 32],
                path: vec![],
            });
        }
        for j in [2usize, 5, 7] {
            leaves[j] = digest_from_bytes(&compute_leaf("", &[0xAA; 32], &[])).unwrap();
        }
        let tree = merkle_tree(&leaves);
        let root = digest_to_bytes(&tree[1]);
        for p in &mut proofs {
            p.leaf = digest_to_bytes(&tree[(n + p.leaf_index) as usize]);
            p.root = root;
            p.path = path_from_tree(&tree, p.leaf_index).iter().map(digest_to_bytes).collect();
        }
        let statement = Statement {
            round_id: ROUND.into(),
            assets: assets(),
            range_bits: 62,
            num_leaves: n,
            root,
            totals: vec![[0; 3]; 3],
        };
        Round { tree, proofs, statement }
    }

    fn own(p: &InclusionProof) -> Expected<'_> {
        Expected { user_id: &p.user_id, fingerprint: None }
    }

    fn reason(p: &InclusionProof, s: &Statement) -> &'static str {
        verify_inclusion(p, &Anchor::statement(s), &own(p)).unwrap_err().reason()
    }

    #[test]
    fn every_user_verifies_against_the_statement_and_its_summary() {
        let r = round();
        let summary = r.statement.summary();
        for p in &r.proofs {
            verify_inclusion(p, &Anchor::statement(&r.statement), &own(p)).unwrap();
            let expected = Expected { user_id: &p.user_id, fingerprint: Some(r.statement.fingerprint()) };
            verify_inclusion(p, &Anchor::summary(&summary), &expected).unwrap();
        }
    }

    #[test]
    fn a_proof_checked_by_another_user_is_wrong_user() {
        let r = round();
        for (a, b) in [(0, 3), (3, 0), (1, 4)] {
            let other = Expected { user_id: &r.proofs[b].user_id, fingerprint: None };
            let err = verify_inclusion(&r.proofs[a], &Anchor::statement(&r.statement), &other).unwrap_err();
            assert_eq!(err.reason(), "wrong-user");
        }
        // ids are compared exactly: no case folding, no trimming
        let near = Expected { user_id: "Alice", fingerprint: None };
        let err = verify_inclusion(&r.proofs[0], &Anchor::statement(&r.statement), &near).unwrap_err();
        assert_eq!(err.reason(), "wrong-user");
    }

    #[test]
    fn an_anchor_with_another_fingerprint_is_wrong_statement() {
        let r = round();
        let mut other = r.statement.summary();
        other.totals[0] = vec![1];
        let p = &r.proofs[0];
        let expected = Expected { user_id: &p.user_id, fingerprint: Some(r.statement.fingerprint()) };
        let err = verify_inclusion(p, &Anchor::summary(&other), &expected).unwrap_err();
        assert_eq!(err.reason(), "wrong-statement");
    }

    #[test]
    fn a_changed_balance_salt_or_id_is_a_leaf_mismatch() {
        let r = round();
        let mut p = r.proofs[0].clone();
        p.entries[0].amount += 1;
        assert_eq!(reason(&p, &r.statement), "leaf-mismatch");
        let mut p = r.proofs[0].clone();
        p.salt[0] ^= 1;
        assert_eq!(reason(&p, &r.statement), "leaf-mismatch");
        let mut p = r.proofs[0].clone();
        p.user_id = "alicf".into();
        assert_eq!(reason(&p, &r.statement), "leaf-mismatch");
        // a user with no balance cannot claim one
        let mut p = r.proofs[1].clone();
        p.entries.push(InclusionEntry { asset: "BTC".into(), index: 1, decimals: 8, amount: 1 });
        assert_eq!(reason(&p, &r.statement), "leaf-mismatch");
    }

    #[test]
    fn a_recomputed_leaf_with_a_changed_balance_breaks_the_path() {
        let r = round();
        let mut p = r.proofs[0].clone();
        p.entries[0].amount -= 1;
        p.leaf = proof_leaf(&p).unwrap();
        assert_eq!(reason(&p, &r.statement), "path-mismatch");
    }

    #[test]
    fn swapped_shortened_or_misplaced_paths_are_path_mismatches() {
        let r = round();
        let mut p = r.proofs[0].clone();
        p.path.swap(0, 1);
        assert_eq!(reason(&p, &r.statement), "path-mismatch");
        let mut p = r.proofs[0].clone();
        p.path.pop();
        assert_eq!(reason(&p, &r.statement), "path-mismatch");
        // shortened consistently: a tree of half the size
        p.num_leaves /= 2;
        assert_eq!(reason(&p, &r.statement), "path-mismatch");
        let mut p = r.proofs[0].clone();
        p.leaf_index ^= 1;
        assert_eq!(reason(&p, &r.statement), "path-mismatch");
    }

    #[test]
    fn another_round_or_root_is_refused() {
        let r = round();
        let mut p = r.proofs[2].clone();
        p.round_id = "2026-10".into();
        assert_eq!(reason(&p, &r.statement), "wrong-round");
        let mut other = r.statement.clone();
        other.root = digest_to_bytes(&r.tree[2]);
        assert_eq!(reason(&r.proofs[2], &other), "root-mismatch");
    }

    #[test]
    fn relabelled_assets_are_refused() {
        let r = round();
        let mut p = r.proofs[0].clone();
        p.entries[0].asset = "WBTC".into();
        assert_eq!(reason(&p, &r.statement), "asset-mismatch");
        let mut p = r.proofs[0].clone();
        p.entries[1].decimals = 8;
        assert_eq!(reason(&p, &r.statement), "asset-mismatch");
        let mut s = r.statement.clone();
        s.assets.truncate(2);
        assert_eq!(reason(&r.proofs[0], &s), "asset-mismatch");
    }

    #[test]
    fn out_of_domain_fields_are_malformed() {
        let r = round();
        let base = &r.proofs[0];
        type Tamper = Box<dyn Fn(&mut InclusionProof)>;
        let cases: Vec<Tamper> = vec![
            Box::new(|p| p.user_id.clear()),
            Box::new(|p| p.user_id = "x".repeat(257)),
            Box::new(|p| p.round_id.clear()),
            Box::new(|p| p.entries[0].index = 0),
            Box::new(|p| p.entries.swap(0, 1)),
            Box::new(|p| p.entries[1].index = 1),
            Box::new(|p| p.entries[0].amount = 0),
            Box::new(|p| p.entries[0].amount = 1 << 63),
            Box::new(|p| p.entries[0].decimals = 31),
            Box::new(|p| p.entries[0].asset = "B,TC".into()),
            Box::new(|p| p.num_leaves = 6),
            Box::new(|p| p.num_leaves = 1),
            Box::new(|p| p.leaf_index = 8),
            Box::new(|p| p.leaf = [0xFF; 32]),
            Box::new(|p| p.root = [0xFF; 32]),
            Box::new(|p| p.path[1] = [0xFF; 32]),
        ];
        for (i, tamper) in cases.iter().enumerate() {
            let mut p = base.clone();
            tamper(&mut p);
            assert_eq!(reason(&p, &r.statement), "malformed", "case {i}");
        }
        for version in [0, 3, u64::MAX] {
            let mut p = base.clone();
            p.version = version;
            assert_eq!(reason(&p, &r.statement), "unknown-version");
        }
        // a version-2 leaf names at most 4,095 assets and amounts below 2^112; version 1 below 2^63
        let mut p = base.clone();
        p.version = INCLUSION_VERSION_2;
        p.entries[1].index = 4_096;
        assert_eq!(reason(&p, &r.statement), "malformed");
        p.entries[1].index = 3;
        p.entries[1].amount = 1 << 112;
        assert_eq!(reason(&p, &r.statement), "malformed");
        p.entries[1].amount = (1 << 112) - 1;
        assert_eq!(reason(&p, &r.statement), "version-mismatch");
    }

    #[test]
    fn prove_hands_back_the_salts_and_tree_every_user_needs() {
        let user_ids: Vec<String> = (0..5).map(|i| format!("user-{i}")).collect();
        let asset_list = assets();
        let (indptr, asset_index, amounts) = ([0u64, 2, 2, 3, 6, 7], [0u32, 2, 1, 0, 1, 2, 2], [5u64, 6, 7, 8, 9, 10, 11]);
        let ledger = crate::LedgerRef {
            user_ids: &user_ids,
            assets: &asset_list,
            indptr: &indptr,
            asset_index: &asset_index,
            amounts: &amounts,
            range_bits: 62,
        };
        let out = crate::prove(&ledger, b"sixteen byte key", ROUND, crate::Security::Bits100).unwrap();
        let n = out.statement.num_leaves;
        assert_eq!((n, out.tree.len(), out.salts.len()), (8, 16, 5));
        assert_eq!(out.tree[1], out.statement.root);
        for (u, id) in user_ids.iter().enumerate() {
            let (lo, hi) = (indptr[u] as usize, indptr[u + 1] as usize);
            let mut i = (n + out.positions[u]) as usize;
            let leaf = out.tree[i];
            let mut path = Vec::new();
            while i > 1 {
                path.push(out.tree[i ^ 1]);
                i /= 2;
            }
            let proof = InclusionProof {
                version: INCLUSION_VERSION,
                round_id: ROUND.into(),
                user_id: id.clone(),
                salt: out.salts[u],
                entries: (lo..hi)
                    .map(|e| {
                        let a = &asset_list[asset_index[e] as usize];
                        let amount = amounts[e].into();
                        InclusionEntry { asset: a.name.clone(), index: asset_index[e] + 1, decimals: a.decimals, amount }
                    })
                    .collect(),
                leaf_index: out.positions[u],
                num_leaves: n,
                leaf,
                root: out.statement.root,
                path,
            };
            verify_inclusion(&proof, &Anchor::statement(&out.statement), &own(&proof)).unwrap();
        }
    }

    // found by fuzz/ (inclusion): a path of more than 64 siblings shifted the leaf index by 64
    // (a panic in debug builds); the binding's walk_path takes any path
    #[test]
    fn a_walk_longer_than_the_index_is_wide_goes_on_as_a_left_child() {
        let r = round();
        let leaf = r.tree[8 + 5];
        let mut path = path_from_tree(&r.tree, 5);
        path.extend(std::iter::repeat_n(r.tree[2], 64));
        // index 5 has no bit set above level 2: every later step has the node on the left
        let expected = path[3..].iter().fold(walk_path(&leaf, 5, &path[..3]), |node, s| node_digest(&node, s));
        assert_eq!(walk_path(&leaf, 5, &path), expected);
    }

    #[test]
    fn the_walk_matches_the_tree_at_every_index() {
        let r = round();
        for j in 0..8u64 {
            let path = path_from_tree(&r.tree, j);
            assert_eq!(path.len(), 3);
            assert_eq!(walk_path(&r.tree[8 + j as usize], j, &path), r.tree[1]);
        }
    }
}
