//! stark-por core: turns a ledger into a liabilities proof file and checks such files.
//!
//! Plain Rust with no Python in it; the `stark-por-python` crate only converts types.

pub mod batch;
pub mod bounded;
pub mod envelope;
pub mod error;
pub mod inclusion;
pub mod inspect;
pub mod kdf;
pub mod reader;
pub mod round;
pub mod spill;
pub mod statement;
pub mod v2;

use std::panic::{catch_unwind, AssertUnwindSafe};

use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use stark_por_solvency::hash::{digest_to_bytes, id_commitment, Digest};
use stark_por_solvency::{CircuitError, Leaf};

pub use envelope::ProofFile;
pub use round::prove_round;
pub use error::{Error, Result};
pub use stark_por_solvency::Security;
pub use statement::{Asset, Statement};

/// Default range bound: every amount is proven below 2^62.
pub const DEFAULT_RANGE_BITS: u32 = 62;

/// A ledger in sparse form: user `i` holds `amounts[indptr[i]..indptr[i+1]]` of the assets
/// `asset_index[..]` (0-based, strictly increasing per user). Zero balances are not listed.
pub struct LedgerRef<'a> {
    pub user_ids: &'a [String],
    pub assets: &'a [Asset],
    pub indptr: &'a [u64],
    pub asset_index: &'a [u32],
    pub amounts: &'a [u64],
    pub range_bits: u32,
}

/// What `prove` hands back.
pub struct ProveOutput {
    /// The proof file, ready to write.
    pub file: Vec<u8>,
    pub statement: Statement,
    /// Conjectured and proven security of the proof (the weakest batch's, for a round).
    pub security_bits: u32,
    pub proven_security_bits: u32,
    /// Leaf index of each user, in ledger order.
    pub positions: Vec<u64>,
    /// Trace rows (a power of two) and columns (main + auxiliary).
    pub trace_rows: usize,
    pub trace_columns: usize,
    /// Salt of each user's id commitment, in ledger order (what an inclusion proof reveals).
    pub salts: Vec<[u8; 32]>,
    /// The whole Merkle tree, heap-numbered: `tree[1]` is the root, node `i` has children `2i`
    /// and `2i + 1`, leaf `j` is `tree[num_leaves + j]`; `tree[0]` is zero.
    pub tree: Vec<[u8; 32]>,
}

/// A proof that verified.
pub struct Verified {
    pub statement: Statement,
    /// Conjectured security in bits, every term counted (`stark_por_solvency::security`): what
    /// the verifier's minimum is enforced on. For a round, its weakest batch's.
    pub security_bits: u32,
    /// winterfell's proven security, capped by the bus term; the weakest batch's for a round.
    pub proven_security_bits: u32,
}

/// Runs `f`, turning a panic (a bug in us or a dependency) into an error, never an abort of
/// the caller: a Rust panic must not cross into Python.
pub fn guard<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Error::Internal(format!("{what} panicked: {message}"))
    })
}

/// Runs `f` on a pool of `threads` threads (at least one). On one thread proving is
/// deterministic: winterfell searches the grinding nonce with a parallel `find_any`, whose
/// answer on several threads depends on their timing; on one it is the smallest nonce.
pub(crate) fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start a prover thread: {e}")))?;
    Ok(pool.install(f))
}

/// Proves the liabilities statement for `ledger` in round `round_id`, on one thread (the same
/// inputs give the same bytes).
pub fn prove(ledger: &LedgerRef<'_>, secret: &[u8], round_id: &str, security: Security) -> Result<ProveOutput> {
    let statement_stub = prepare(ledger, secret, round_id)?;
    guard("proving", || prove_checked(ledger, secret, statement_stub, security))?
}

/// Checks the ledger, the secret and the round id; returns the statement without the
/// proof-dependent fields (leaf count, root, totals).
fn prepare(ledger: &LedgerRef<'_>, secret: &[u8], round_id: &str) -> Result<Statement> {
    check_ledger(ledger, 0)?;
    check_stub(secret, round_id, ledger.assets, ledger.range_bits)
}

/// Checks the secret, round id, assets and range bound; returns the statement without the
/// proof-dependent fields.
fn check_stub(secret: &[u8], round_id: &str, assets: &[Asset], range_bits: u32) -> Result<Statement> {
    if !(stark_por_solvency::air::MIN_RANGE_BITS..=stark_por_solvency::air::MAX_RANGE_BITS).contains(&range_bits) {
        return Err(Error::Input(format!("range bound of {range_bits} bits is unsupported (32 to 63)")));
    }
    if secret.len() < kdf::MIN_SECRET_BYTES {
        return Err(Error::Input(format!(
            "the master secret must be at least {} bytes, got {}",
            kdf::MIN_SECRET_BYTES,
            secret.len()
        )));
    }
    let statement_stub = Statement {
        round_id: round_id.to_string(),
        assets: assets.to_vec(),
        range_bits,
        num_leaves: 0,
        root: [0; 32],
        totals: vec![],
    };
    statement_stub.validate()?;
    Ok(statement_stub)
}

fn prove_checked(
    ledger: &LedgerRef<'_>,
    secret: &[u8],
    stub: Statement,
    security: Security,
) -> Result<ProveOutput> {
    let (leaves, positions, salts) = build_leaves_and_salts(ledger, secret, &stub.round_id);
    let (params, seed) = round::batch_params_and_seed(&stub, secret, 0, 1, &leaves);
    let (proof, pub_inputs, tree) = on_threads(1, || stark_por_solvency::prove_with_tree(&leaves, &params, security, seed))??;
    drop(leaves);
    let mut tree: Vec<[u8; 32]> = tree.par_iter().map(digest_to_bytes).collect();
    tree[0] = [0; 32];
    let figures = stark_por_solvency::estimate(&proof, stub.assets.len());
    let info = proof.trace_info().clone();
    let statement = Statement::from_public_inputs(stub.round_id.clone(), stub.assets, &pub_inputs);
    let file = ProofFile { statement: statement.clone(), proof }.to_bytes();
    Ok(ProveOutput {
        file,
        statement,
        security_bits: figures.conjectured,
        proven_security_bits: figures.proven,
        positions,
        trace_rows: info.length(),
        trace_columns: info.main_trace_width() + info.aux_segment_width(),
        salts,
        tree,
    })
}

/// Leaves in tree order, and each user's leaf index. Users and padding leaves are placed by a
/// secret-keyed order, so a leaf index says nothing about the number of real users.
fn build_leaves(ledger: &LedgerRef<'_>, secret: &[u8], round_id: &str) -> (Vec<Leaf>, Vec<u64>) {
    let (leaves, positions, _) = build_leaves_and_salts(ledger, secret, round_id);
    (leaves, positions)
}

/// [`build_leaves`], and each user's salt (ledger order).
fn build_leaves_and_salts(ledger: &LedgerRef<'_>, secret: &[u8], round_id: &str) -> (Vec<Leaf>, Vec<u64>, Vec<[u8; 32]>) {
    let n = ledger.user_ids.len();
    let salts: Vec<[u8; 32]> = ledger.user_ids.par_iter().map(|id| kdf::user_salt(secret, round_id, id)).collect();
    let (order, positions) = placement(ledger.user_ids, secret, round_id);
    let leaves = order
        .par_iter()
        .map(|&s| match ledger.user_ids.get(s) {
            Some(id) => {
                let salt = &salts[s];
                let (lo, hi) = (ledger.indptr[s] as usize, ledger.indptr[s + 1] as usize);
                let entries =
                    (lo..hi).map(|e| (ledger.asset_index[e] + 1, ledger.amounts[e])).collect();
                Leaf { idc: id_commitment(salt, id.as_bytes()), entries }
            },
            None => {
                let salt = kdf::padding_salt(secret, round_id, (s - n) as u64);
                Leaf { idc: id_commitment(&salt, b""), entries: vec![] }
            },
        })
        .collect();
    (leaves, positions, salts)
}

/// The secret-keyed leaf order of a round of `user_ids` (`next_pow2(N)` leaves, at least 2):
/// the slot placed at each leaf (`s < N` is user `s`, `s ≥ N` padding leaf `s − N`), and each
/// user's leaf index. Shared by every statement version.
pub(crate) fn placement(user_ids: &[String], secret: &[u8], round_id: &str) -> (Vec<usize>, Vec<u64>) {
    let n = user_ids.len();
    let num_leaves = n.next_power_of_two().max(2);
    let mut slots: Vec<([u8; 32], usize)> = (0..num_leaves)
        .into_par_iter()
        .map(|s| {
            let slot = match user_ids.get(s) {
                Some(id) => kdf::Slot::User(id),
                None => kdf::Slot::Padding((s - n) as u64),
            };
            (kdf::position_key(secret, round_id, slot), s)
        })
        .collect();
    slots.par_sort_unstable();
    let mut positions = vec![0u64; n];
    for (position, &(_, s)) in slots.iter().enumerate() {
        if s < n {
            positions[s] = position as u64;
        }
    }
    (slots.into_iter().map(|(_, s)| s).collect(), positions)
}

/// SHA-256 of every leaf's contents: the blinding seed depends on all of the witness.
fn witness_digest(leaves: &[Leaf]) -> [u8; 32] {
    let mut h = Sha256::new();
    for leaf in leaves {
        h.update(digest_to_bytes(&leaf.idc));
        h.update((leaf.entries.len() as u64).to_le_bytes());
        for &(asset, amount) in &leaf.entries {
            h.update(asset.to_le_bytes());
            h.update(amount.to_le_bytes());
        }
    }
    h.finalize().into()
}

/// The id commitment a user recomputes from their id and salt.
pub fn user_commitment(salt: &[u8; 32], user_id: &str) -> Digest {
    id_commitment(salt, user_id.as_bytes())
}

/// Checks a ledger (or a chunk of one whose first user is user `first` of the ledger).
fn check_ledger(l: &LedgerRef<'_>, first: usize) -> Result<()> {
    check_users(l.user_ids, l.indptr, l.asset_index.len(), l.amounts.len(), first)?;
    let n = l.user_ids.len();
    if !(stark_por_solvency::air::MIN_RANGE_BITS..=stark_por_solvency::air::MAX_RANGE_BITS).contains(&l.range_bits) {
        return Err(Error::Input(format!("range bound of {} bits is unsupported (32 to 63)", l.range_bits)));
    }
    let bound = 1u64 << l.range_bits;
    for i in 0..n {
        let (lo, hi) = (l.indptr[i] as usize, l.indptr[i + 1] as usize);
        for e in lo..hi {
            let (asset, amount) = (l.asset_index[e] as usize, l.amounts[e]);
            let name = l.assets.get(asset).map(|a| a.name.clone());
            let fail = |message: String| Err(Error::Ledger { user: Some(i + first), asset: name.clone(), message });
            if asset >= l.assets.len() {
                return fail(format!("user {}: asset index {asset} is not in the asset list", i + first));
            }
            if e > lo && l.asset_index[e - 1] as usize >= asset {
                return fail(format!("user {}: assets are not strictly increasing", i + first));
            }
            if amount == 0 || amount >= bound {
                return fail(format!("user {}: amount {amount} is not in [1, 2^{})", i + first, l.range_bits));
            }
        }
    }
    Ok(())
}

/// Checks a ledger's users and its sparse structure (ids, `indptr`, column lengths), for every
/// statement version; `first` as in [`check_ledger`].
pub(crate) fn check_users(user_ids: &[String], indptr: &[u64], num_asset_index: usize, num_amounts: usize, first: usize) -> Result<()> {
    let n = user_ids.len();
    let bad = |user: Option<usize>, message: String| Err(Error::Ledger { user: user.map(|u| u + first), asset: None, message });
    if n == 0 {
        return bad(None, "the ledger has no users".into());
    }
    if indptr.len() != n + 1 || indptr[0] != 0 || indptr[n] as usize != num_amounts {
        return bad(None, "indptr does not describe the entries".into());
    }
    if num_asset_index != num_amounts {
        return bad(None, "asset_index and amounts differ in length".into());
    }
    let mut seen = std::collections::HashSet::with_capacity(n);
    for (i, id) in user_ids.iter().enumerate() {
        if id.is_empty() || id.len() > 256 {
            return bad(Some(i), format!("user {}: id must be 1 to 256 bytes", i + first));
        }
        if !seen.insert(id.as_str()) {
            return bad(Some(i), format!("user {}: duplicate user id {id:?}", i + first));
        }
        let (lo, hi) = (indptr[i], indptr[i + 1]);
        if hi < lo {
            return bad(Some(i), format!("user {}: indptr decreases", i + first));
        }
    }
    Ok(())
}

/// Reads a proof file's statement without verifying anything.
pub fn read_statement(bytes: &[u8]) -> Result<Statement> {
    guard("reading the statement", || ProofFile::read_statement(bytes))?
}

/// Verifies a proof file (a single proof or a batched round), requiring at least
/// `min_security_bits` of conjectured security (of every batch, for a round).
pub fn verify(bytes: &[u8], min_security_bits: u32) -> Result<Verified> {
    if envelope::file_kind(bytes)? == envelope::KIND_ROUND {
        return round::verify_round(bytes, min_security_bits);
    }
    let file = ProofFile::from_bytes(bytes)?;
    let pub_inputs = file.statement.public_inputs()?;
    let statement = file.statement;
    let figures = guard("verification", || stark_por_solvency::verify(file.proof, pub_inputs, min_security_bits))?.map_err(
        |e| match e {
            // in a proof, every shape or parameter problem is the proof's fault
            CircuitError::InsufficientSecurity { .. } => Error::from(e),
            other => Error::Invalid(other.to_string()),
        },
    )?;
    Ok(Verified { statement, security_bits: figures.conjectured, proven_security_bits: figures.proven })
}
