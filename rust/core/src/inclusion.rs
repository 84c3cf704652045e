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
//! | `uncovered` | version 3: the user's debts are worth more than their collateral after haircuts |
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
//! ([`crate::v2::inclusion::user_leaf`]). Version 3 (margin) entries are an equity or a debt
//! (`kind`), hashed as version 2's with the kind in each entry's tag, sorted by `(index, kind)`.
//! Everything else (fields, tree, path walk, order of the checks) is shared; a proof is only
//! checked against an anchor of its own statement version.
//!
//! **The collateral check (version 3).** Once the proof is known to be in the root, the
//! verifier values the user's entries with the coefficients of the anchor's prices and haircuts
//! (`statement::Margin::coefficients`, never taken from the proof): collateral
//! `Σ c·equity` and debt `Σ d·debt`, exact integers in units of `10^-unit_exp` USD
//! ([`Position`]). The round's proof shows collateral ≥ debt for every user, so a proof showing
//! less is refused (`uncovered`): its numbers are not the ones the round proved.
//!
//! The JSON encoding lives in Python (`stark_por/inclusion.py`); this module works on the
//! decoded values.

use stark_por_liabilities::hash::{DEBT, EQUITY};
use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, leaf_digest, node_digest, Digest, Entry};

use crate::statement::{validate_round_id, Asset, Margin, Statement, Summary, MAX_DECIMALS, MAX_DEPTH};
use crate::user_commitment;

/// The inclusion proof format version of rounds of statement version 1.
pub const INCLUSION_VERSION: u64 = 1;
/// The inclusion proof format version of rounds of statement version 2 (`crate::v2`).
pub const INCLUSION_VERSION_2: u64 = 2;
/// The inclusion proof format version of rounds of statement version 3 (`crate::v2` with margin).
pub const INCLUSION_VERSION_3: u64 = 3;
/// Longest user id, in bytes (as in the ledger).
pub const MAX_USER_ID: usize = 256;
/// Version-1 amounts must be below this bound to be field elements the circuit could range-check.
pub const AMOUNT_BOUND: u64 = 1 << 63;
/// Bits of the largest version-2 amount (every amount is below `2^112`).
pub const AMOUNT_BITS_2: u32 = stark_por_liabilities::hash::MAX_AMOUNT_BITS;

/// One balance of the user: the asset's 1-based index in the statement's asset list, its name
/// and decimals (as the exchange labels it), the amount in the asset's smallest unit, and its
/// kind (`EQUITY`; `DEBT` only in proofs of version 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionEntry {
    pub asset: String,
    pub index: u32,
    pub decimals: u8,
    pub amount: u128,
    pub kind: u32,
}

/// A decoded inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub version: u64,
    pub round_id: String,
    pub user_id: String,
    pub salt: [u8; 32],
    /// Sorted by `(index, kind)`, no zero amounts.
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
/// list, and has a fingerprint; one of version 3 also the prices and haircuts (`margin`).
#[derive(Debug, Clone, Copy)]
pub struct Anchor<'a> {
    statement_version: u16,
    round_id: &'a str,
    num_leaves: u64,
    root: [u8; 32],
    assets: &'a [Asset],
    fingerprint: [u8; 32],
    margin: Option<&'a Margin>,
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
            margin: None,
        }
    }

    /// A version-2 (or 3) statement recovered by verifying the round's proof.
    pub fn statement_v2(s: &'a crate::v2::Statement) -> Self {
        Anchor {
            statement_version: s.statement_version(),
            round_id: &s.round_id,
            num_leaves: s.num_leaves,
            root: s.root,
            assets: &s.assets,
            fingerprint: s.fingerprint(),
            margin: s.margin.as_ref(),
        }
    }

    /// The published summary of a version-1 round (validate it first: [`Summary::validate`]).
    pub fn summary(s: &'a Summary) -> Self {
        Self::summary_as(s, crate::statement::STATEMENT_VERSION)
    }

    /// The published summary of a round of `statement_version` (validate it first:
    /// [`Summary::validate_as`]); of version 3, with its margin.
    pub fn summary_as(s: &'a Summary, statement_version: u16) -> Self {
        Anchor {
            statement_version,
            round_id: &s.round_id,
            num_leaves: s.num_leaves,
            root: s.root,
            assets: &s.assets,
            fingerprint: s.fingerprint_as(statement_version),
            margin: s.margin.as_ref(),
        }
    }

    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub fn statement_version(&self) -> u16 {
        self.statement_version
    }

    /// The collateral check of `entries` (already checked against the asset list) at the
    /// coefficients of this anchor's prices, recomputed here.
    fn position(&self, entries: &[InclusionEntry]) -> Result<Position, InclusionError> {
        let bad = |m: String| InclusionError::Malformed(format!("the statement's margin: {m}"));
        let margin = self.margin.ok_or_else(|| bad("a statement of version 3 has prices and debt totals".into()))?;
        let prices = margin.coefficients(self.assets).map_err(|e| bad(e.to_string()))?;
        let mut position = Position { collateral_value: Value::default(), debt_value: Value::default(), unit_exp: margin.unit_exp };
        for e in entries {
            let k = e.index as usize - 1;
            let (value, coefficient) =
                if e.kind == DEBT { (&mut position.debt_value, prices.debt[k]) } else { (&mut position.collateral_value, prices.collateral[k]) };
            value.add_product(e.amount, coefficient).ok_or_else(|| bad("a value beyond 2^256".into()))?;
        }
        Ok(position)
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
    #[error("inclusion proof version {0} is not supported (this verifier reads versions 1, 2 and 3)")]
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
    #[error("uncovered: the proof shows debts worth {debt} against collateral worth {collateral} after haircuts (units of 10^-{unit_exp} USD): the round's proof cannot hold such a user")]
    Uncovered { collateral: String, debt: String, unit_exp: u8 },
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
            InclusionError::Uncovered { .. } => "uncovered",
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
    let entries: Vec<(u32, u128, u32)> = p.entries.iter().map(|e| (e.index, e.amount, e.kind)).collect();
    versioned_leaf_kinds(p.version, &p.user_id, &p.salt, &entries)
}

/// [`versioned_leaf`] of entries `(1-based asset index, amount, kind)`: a debt (`DEBT`) only in
/// version 3, whose leaf is version 2's with the kind in each entry's tag.
pub fn versioned_leaf_kinds(version: u64, user_id: &str, salt: &[u8; 32], entries: &[(u32, u128, u32)]) -> Result<[u8; 32], InclusionError> {
    if version == INCLUSION_VERSION_3 {
        return Ok(digest_to_bytes(&crate::v2::inclusion::user_leaf_kinds(user_id, salt, entries)?));
    }
    if let Some(i) = entries.iter().position(|e| e.2 != EQUITY) {
        return Err(InclusionError::Malformed(format!("entry {i}: a debt in a proof of format version {version} (debts are of version 3)")));
    }
    let balances: Vec<(u32, u128)> = entries.iter().map(|&(index, amount, _)| (index, amount)).collect();
    versioned_leaf(version, user_id, salt, &balances)
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
/// own id, salt and balances hash to a leaf from which the path reaches the anchor's root; for
/// version 3, also that the user's debts are covered, and `Some` of their [`Position`].
pub fn verify_inclusion(proof: &InclusionProof, anchor: &Anchor<'_>, expected: &Expected<'_>) -> Result<Option<Position>, InclusionError> {
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
    if proof.version != INCLUSION_VERSION_3 {
        return Ok(None);
    }
    let position = anchor.position(&proof.entries)?;
    if !position.covered() {
        return Err(InclusionError::Uncovered {
            collateral: position.collateral_value.to_string(),
            debt: position.debt_value.to_string(),
            unit_exp: position.unit_exp,
        });
    }
    Ok(Some(position))
}

/// What a version-3 proof shows of its user beyond their balances: their collateral after
/// haircuts and their debt valued at the anchor's prices, exact, in units of `10^-unit_exp` USD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub collateral_value: Value,
    pub debt_value: Value,
    pub unit_exp: u8,
}

impl Position {
    /// The debt is worth no more than the collateral (always so without debt).
    pub fn covered(&self) -> bool {
        self.collateral_value >= self.debt_value
    }
}

/// A sum of products `amount · coefficient` (amounts below `2^112`, coefficients below `2^91`,
/// at most `2·4095` terms: below `2^216`), exact: four little-endian 64-bit words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Value(pub [u64; 4]);

impl Value {
    /// Adds `a · b`; `None` on overflow of 256 bits (beyond any sum a proof can show).
    pub fn add_product(&mut self, a: u128, b: u128) -> Option<()> {
        let (a, b) = ([a as u64, (a >> 64) as u64], [b as u64, (b >> 64) as u64]);
        let mut product = [0u64; 4];
        for (i, &x) in a.iter().enumerate() {
            let mut carry = 0u128;
            for (j, &y) in b.iter().enumerate() {
                let t = x as u128 * y as u128 + product[i + j] as u128 + carry;
                product[i + j] = t as u64;
                carry = t >> 64;
            }
            product[i + 2] = carry as u64;
        }
        let mut carry = 0u128;
        for (w, p) in self.0.iter_mut().zip(product) {
            let t = *w as u128 + p as u128 + carry;
            *w = t as u64;
            carry = t >> 64;
        }
        (carry == 0).then_some(())
    }

    pub fn to_le_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, w) in out.chunks_mut(8).zip(self.0) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl std::fmt::Display for Value {
    /// Decimal digits.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut words = self.0;
        let mut groups = Vec::new(); // base 10^19, least significant first
        while words.iter().any(|&w| w != 0) {
            let mut rem = 0u128;
            for w in words.iter_mut().rev() {
                let t = (rem << 64) | *w as u128;
                *w = (t / 10_000_000_000_000_000_000) as u64;
                rem = t % 10_000_000_000_000_000_000;
            }
            groups.push(rem as u64);
        }
        match groups.split_last() {
            None => write!(f, "0"),
            Some((top, rest)) => {
                write!(f, "{top}")?;
                rest.iter().rev().try_for_each(|g| write!(f, "{g:019}"))
            },
        }
    }
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
        INCLUSION_VERSION_2 | INCLUSION_VERSION_3 => (AMOUNT_BITS_2, stark_por_liabilities::hash::MAX_ASSETS as u32),
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
        if e.kind != EQUITY && (e.kind != DEBT || p.version != INCLUSION_VERSION_3) {
            return bad(format!("entry {i}: kind {} in a proof of format version {} (debts are of version 3)", e.kind, p.version));
        }
        if i > 0 && (p.entries[i - 1].index, p.entries[i - 1].kind) >= (e.index, e.kind) {
            let order = if p.version == INCLUSION_VERSION_3 { "asset index, equity before debt," } else { "asset index," };
            return bad(format!("entry {i}: entries must be sorted by {order} without repeats"));
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
                        InclusionEntry { asset: asset.name.clone(), index: a, decimals: asset.decimals, amount: amount.into(), kind: EQUITY }
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
        p.entries.push(InclusionEntry { asset: "BTC".into(), index: 1, decimals: 8, amount: 1, kind: EQUITY });
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
        for version in [0, 4, u64::MAX] {
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
                        InclusionEntry { asset: a.name.clone(), index: asset_index[e] + 1, decimals: a.decimals, amount, kind: EQUITY }
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
    fn values_are_exact_sums_of_products_up_to_the_largest_a_proof_can_show() {
        // 2·4,095 entries of 2^112 − 1 at a coefficient of 2^91 − 1 (the values from Python's ints)
        let (amount, coefficient) = ((1u128 << 112) - 1, (1u128 << 91) - 1);
        let mut one = Value::default();
        one.add_product(amount, coefficient).unwrap();
        assert_eq!(one.to_string(), "12855504354071922204335696733537001485762717750971296554942465");
        let mut all = Value::default();
        for _ in 0..8_190 {
            all.add_product(amount, coefficient).unwrap();
        }
        assert_eq!(all.to_string(), "105286580659849042853509356247668042168396658380454918784978788350");
        assert!(all > one && one > Value::default() && Value::default().to_string() == "0");
        let mut small = Value::default();
        small.add_product(3, 5).unwrap();
        small.add_product(u64::MAX as u128, 1).unwrap();
        assert_eq!((small.0, small.to_string()), ([14, 1, 0, 0], "18446744073709551630".to_string()));
        assert_eq!(&small.to_le_bytes()[..9], &[14, 0, 0, 0, 0, 0, 0, 0, 1]);
        let mut full = Value([u64::MAX; 4]);
        assert!(full.add_product(1, 1).is_none(), "beyond 2^256 is refused, not wrapped");
    }

    #[test]
    fn debts_belong_to_version_3_and_follow_their_equity() {
        let r = round();
        let mut p = r.proofs[0].clone();
        p.entries[1].kind = DEBT;
        assert_eq!(reason(&p, &r.statement), "malformed", "a debt in a version-1 proof");
        p.entries[1].kind = 2;
        assert_eq!(reason(&p, &r.statement), "malformed", "a kind other than equity or debt");
        let salt = [9; 32];
        let leaf = |entries: &[(u32, u128, u32)]| versioned_leaf_kinds(INCLUSION_VERSION_3, "u", &salt, entries);
        // an asset's equity then its debt; the other order, a repeat, or a kind 2 are malformed
        let both = leaf(&[(1, 5, EQUITY), (1, 5, DEBT)]).unwrap();
        assert_ne!(both, leaf(&[(1, 5, EQUITY)]).unwrap());
        assert_ne!(leaf(&[(1, 5, DEBT)]).unwrap(), leaf(&[(1, 5, EQUITY)]).unwrap(), "the kind is hashed");
        for bad in [&[(1, 5, DEBT), (1, 5, EQUITY)][..], &[(1, 5, DEBT), (1, 6, DEBT)], &[(1, 5, 2)], &[(2, 5, EQUITY), (1, 5, DEBT)]] {
            assert!(matches!(leaf(bad), Err(InclusionError::Malformed(_))), "{bad:?}");
        }
        // version 2 hashes the same equity entries alike, and knows no debt
        assert_eq!(versioned_leaf_kinds(INCLUSION_VERSION_2, "u", &salt, &[(1, 5, EQUITY)]), leaf(&[(1, 5, EQUITY)]));
        assert!(versioned_leaf_kinds(INCLUSION_VERSION_2, "u", &salt, &[(1, 5, DEBT)]).is_err());
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
