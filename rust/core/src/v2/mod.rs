//! Version-2 rounds: amounts up to `2^112` smallest units at every asset's native decimals,
//! proved by the liabilities circuit (`circuits/liabilities/`) as **forests** of the round tree.
//!
//! A round of `N` users has the leaves of version 1 in version 1's secret-keyed order over
//! `N' = next_pow2(N)` leaves (users and padding interleaved, the same `kdf` salts and
//! positions: `crate::placement`), but each leaf hashes version-2 entries
//! (`Entry::equity(asset, amount)`, amounts up to 112 bits). The leaves are cut by
//! `forest::plan` into consecutive ranges `[start, end)` whose leaf blocks and nodes fill a
//! trace of the target length (default `2^16` rows); each range is proved as one forest, side
//! by side, every proof on a one-thread pool so its bytes never depend on timing (as version
//! 1's batches: `batch.rs`). The verifier rebuilds the round root from the forests' public roots
//! (`forest::round_root`, after checking that the ranges partition `[0, N')`), so inclusion
//! paths are ordinary full-depth paths of the round tree.
//!
//! **Binding a forest to its place.** Forest `i` of `B` proves with the `round_digest` public
//! input `H_bytes(FOREST_TAG, round_digest(round_id) ‖ i ‖ B)` (u64 little-endian): it verifies
//! only as forest `i` of a round of `B` forests with that round id. Its range, roots and part
//! sums are public inputs the verifier builds from the file.
//!
//! **Totals.** Each forest publishes, per asset, the sums of the five parts of its amounts
//! (`layout::PART_OFFSETS`, each sum a canonical field element, below `2^57` by the circuit's
//! argument). The round total of an asset is `Σ_forests Σ_parts 2^offset · sum`, computed with
//! carries over 64-bit words ([`add_parts`]): exact at any size, never `u128` arithmetic.
//! The statement carries each total as minimal little-endian bytes, the encoding of the
//! statement fingerprint (`statement_version = 2`, otherwise [`Summary::fingerprint`]'s).
//!
//! File layout (format version 2, kind 1), all integers little-endian:
//! ```text
//! magic "STARKPOR" (8) | format version u16 = 2 | kind u8 = 1 | statement length u32 | statement
//!   | forest count u32
//!   | per forest i = 0..B: start u64 | end u64 | root count u16 | roots (32 each, Forest::roots order)
//!                        | K × 5 part sums u64 | proof length u32 | winterfell proof
//! statement: round id length u16 | round id | range bits u8 | N' u64 | round root (32) | K u32
//!   | K × (name length u8 | name | decimals u8 | total length u16 | total, minimal little-endian bytes)
//! ```
//!
//! **Statement version 3 (margin)** is version 2 with debts, prices and a proven collateral
//! condition per borrower (the circuit's margin section, `circuits/liabilities/README.md` §4),
//! made by this module's same code: a [`Statement`] whose `margin` is `Some`. A ledger's entries
//! carry a kind ([`WideLedgerRef::kinds`], tag `2·asset + kind`); [`prove_round`] takes the
//! round's prices (one per asset, `None` unpriced) and refuses, naming the user, a debt without
//! prices, a debt in an unpriced asset, a borrower with more entries than margin rows hold and
//! a borrower not covered after haircuts. The planner counts a borrower's margin rows in their
//! leaf's cost ([`leaf_cost`]) and leaves every trace `2K` rows for the price table
//! ([`round_capacities`]). The statement adds, in the fingerprint's encoding
//! ([`Summary::fingerprint_as`]`(3)`), the value unit, each asset's exact debt total and its
//! price and haircut as canonical decimals; the coefficients are folded from those strings by
//! the verifier, never read from the file. Each forest binds the price strings too: its
//! binding digest appends [`prices_digest`] to version 2's input ([`statement_forest_digest`]),
//! so no price can be respelled even where two spellings fold to the same coefficients.
//!
//! File layout, format version 3 (kind 1): version 2's, with
//! ```text
//! statement: … version 2's fields … | unit_exp u8
//!   | K × (debt total length u16 | debt total | priced u8 (0, 1) | [price length u8 | price
//!          | haircut length u8 | haircut])
//! per forest: … | K × 5 part sums u64 (equity) | K × 5 debt part sums u64 | proof length u32 | proof
//! ```
//! Verifying a version-3 file checks everything version 2's does on the equity totals, and:
//! the debt totals are the exact sums of the forests' debt part sums, an unpriced asset's debt
//! total is 0, and each forest verifies under the margin section (`verify_margin`) with the
//! coefficients folded from the statement's prices.
//!
//! **Committed totals (formats 4 and 5).** The same statements (versions 2 and 3: the same
//! root, totals, summary and fingerprint as the format-2 or -3 round of the same ledger, secret
//! and round id), but no forest publishes its part sums: each proves with committed totals
//! (`circuits/liabilities/README.md` §5) and publishes only a hiding commitment `C` to them,
//! its trace leaving one row per tag for the totals chain ([`round_capacities`]). The file ends
//! with one aggregation proof (`circuits/aggregation/`) that the forests' commitments open to
//! part sums whose exact per-tag sums are the statement's totals (equity, and with margin
//! debt, interleaved per `committed::totals_tags`), bound to the round by the digest of
//! "forest `B` of `B`" ([`aggregation_inputs`]: a digest no forest uses, over the round id,
//! the forest count and the prices). The openings are secret: they travel in forest results
//! (private work files) to `job::assemble`, which proves the aggregation on one thread with a
//! seed derived from the master secret and the commitments (`kdf::aggregation_seed`).
//! Verifying a format-4 or -5 file checks the roots as above, every forest against its own
//! commitment, that the forests' traces hold fewer than `2^36` entry slots (the aggregation's
//! exactness precondition), and the aggregation proof against the statement's totals.
//!
//! File layout, format versions 4 and 5 (kind 1): version 2's (or 3's) header and statement,
//! then
//! ```text
//! forest count u32
//!   | per forest i = 0..B: start u64 | end u64 | root count u16 | roots (32 each)
//!                        | commitment (32, canonical digest) | proof length u32 | winterfell proof
//!   | aggregation proof length u32 | aggregation proof
//! ```
//! Every proof of these formats uses salted vector commitments (`stark_por_solvency::hiding`).
//!
//! Version-1 files (format version 1) keep their reader; [`verify_any`] and
//! [`read_statement_any`] dispatch on the format version (1 to 5; `crate::verify` and
//! `crate::read_statement` refuse the others as an unknown format version). Python reaches
//! version 2 through the binding's `prove_v2` (the ledger's `amounts_lo`/`amounts_hi` columns),
//! `verify` and `read_statement` (both versions, totals as exact Python ints): `stark_por.prove`
//! makes version 2 by default, with committed totals (format 4). Inclusion proofs of version 2
//! are [`crate::inclusion`]'s, checked independently by `pyverify.py` and the page.
//!
//! **Where rounds come from.** [`prove_round`] proves a ledger held in memory; a ledger
//! streamed in chunks is placed through bucket files (`crate::spill`, amounts up to `2^112`)
//! and proved forest by forest from there ([`stream`]). Both make each forest's job with
//! `job::forest_job` and put the results together with `job::assemble`, so they write the
//! same file byte for byte; a job travels as bytes to a local thread or a Ray worker.

pub mod file;
pub mod inclusion;
pub mod inspect;
pub mod job;
pub mod stream;
#[cfg(test)]
mod committed_tests;
#[cfg(test)]
mod margin_tests;
#[cfg(test)]
mod tests;


use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use stark_por_aggregation::{AggregationError, AggregationInputs, MAX_ENTRY_SLOTS_LOG2};
use stark_por_liabilities::air::combine_parts;
use stark_por_liabilities::committed::reserved_rows;
use stark_por_liabilities::forest::{self, Forest};
use stark_por_liabilities::hash::{leaf_blocks, DEBT, MAX_ASSETS as CIRCUIT_MAX_ASSETS};
use stark_por_liabilities::layout::{MARGIN_SLOTS, PARTS};
use stark_por_liabilities::margin::check_borrowers;
use stark_por_liabilities::prover::ForestDigests;
use stark_por_liabilities::{CircuitError, CommittedInputs, Entry, Leaf, MarginInputs, Prices, PublicInputs};
use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, hash_bytes, id_commitment, Digest};
use stark_por_solvency::options::blinding_rows;
use winterfell::math::fields::f64::BaseElement as Felt;

use crate::error::{Error, Result};
use crate::statement::{self, minimal, Asset, Margin, PriceTerm, Summary, VALUE_UNIT_EXP};
use crate::{guard, kdf, Security};

pub use file::{ForestRecord, RoundFile};

/// The proof file format version of version-2 rounds.
pub const FORMAT_VERSION: u16 = 2;
/// The one kind of version-2 file: a round of forests (a whole tree is a round of one forest).
pub const KIND_FORESTS: u8 = 1;
/// The statement version under the fingerprint.
pub const STATEMENT_VERSION: u16 = 2;
/// The proof file format version of rounds with margin (statement version 3).
pub const FORMAT_VERSION_MARGIN: u16 = 3;
/// Statement version 3: version 2 with prices, debts and the collateral condition.
pub const STATEMENT_VERSION_MARGIN: u16 = statement::STATEMENT_VERSION_MARGIN;
/// The proof file format version of statement-2 rounds with committed forest totals.
pub const FORMAT_VERSION_COMMITTED: u16 = 4;
/// The proof file format version of statement-3 rounds with committed forest totals.
pub const FORMAT_VERSION_COMMITTED_MARGIN: u16 = 5;
/// Capacity tag of the forest binding digest.
pub const FOREST_TAG: u64 = u64::from_be_bytes(*b"stpr/fr\x02");
/// Supported range bounds on every amount, in bits.
pub const MIN_RANGE_BITS: u32 = stark_por_liabilities::air::MIN_RANGE_BITS;
pub const MAX_RANGE_BITS: u32 = stark_por_liabilities::air::MAX_RANGE_BITS;
/// Default trace length the planner fills: `2^16` rows.
pub const DEFAULT_TRACE_LOG2: u32 = 16;
/// Columns of every forest's trace: main and auxiliary (as version 1's `trace_columns`).
pub const TRACE_COLUMNS: usize = stark_por_liabilities::layout::MAIN_WIDTH + stark_por_liabilities::layout::AUX_WIDTH;
/// The same for version 3's traces.
pub const TRACE_COLUMNS_MARGIN: usize =
    stark_por_liabilities::layout::MAIN_WIDTH_MARGIN + stark_por_liabilities::layout::AUX_WIDTH_MARGIN;
/// Most leaf blocks a leaf may take (the planner counts them in 16 bits): far beyond the
/// 4,095 entries of a user holding every asset of the largest statement (1,024 blocks).
pub const MAX_LEAF_BLOCKS: usize = u16::MAX as usize;

/// A ledger in sparse form with wide amounts: user `i` holds `amount(e)` of asset
/// `asset_index[e]` (0-based) for `e` in `indptr[i]..indptr[i+1]`, where
/// `amount(e) = amounts_lo[e] + 2^64 · amounts_hi[e]`, as equity or, when `kinds[e]` is 1, as
/// debt (statement version 3). `kinds` is empty (all equity) or parallel to `asset_index`;
/// a user's entries are strictly increasing by [`WideLedgerRef::tag`], i.e. by
/// `(asset, kind)`. Zero balances are not listed.
pub struct WideLedgerRef<'a> {
    pub user_ids: &'a [String],
    pub assets: &'a [Asset],
    pub indptr: &'a [u64],
    pub asset_index: &'a [u32],
    pub amounts_lo: &'a [u64],
    pub amounts_hi: &'a [u64],
    pub kinds: &'a [u8],
    pub range_bits: u32,
}

impl WideLedgerRef<'_> {
    /// Entry `e`'s amount.
    pub fn amount(&self, e: usize) -> u128 {
        self.amounts_lo[e] as u128 | (self.amounts_hi[e] as u128) << 64
    }

    /// Entry `e`'s kind: 0 equity, 1 debt.
    pub fn kind(&self, e: usize) -> u8 {
        self.kinds.get(e).copied().unwrap_or(0)
    }

    /// Entry `e`'s circuit tag `2·(asset + 1) + kind` (assets numbered from 1 in the circuit).
    pub fn tag(&self, e: usize) -> u32 {
        2 * (self.asset_index[e] + 1) + self.kind(e) as u32
    }

    /// Entry `e` as the circuit's entry.
    fn entry(&self, e: usize) -> Entry {
        Entry { tag: self.tag(e), amount: self.amount(e) }
    }

    /// Whether any entry is a debt.
    pub fn has_debt(&self) -> bool {
        self.kinds.iter().any(|&k| k != 0)
    }

    /// Checks everything the circuit needs: users and structure as version 1, asset indices
    /// strictly increasing per user, amounts in `[1, 2^R)`, at most [`MAX_LEAF_BLOCKS`] blocks
    /// per leaf.
    pub fn check(&self) -> Result<()> {
        self.check_from(0, None)
    }

    /// [`WideLedgerRef::check`] of a chunk whose first user is user `first` of the ledger (errors
    /// name users by their place in the ledger), under the round's `prices` (version 3; `None`:
    /// version 2, where a debt is refused): no debt in an unpriced asset, at most as many
    /// entries as a borrower's margin rows hold, and every borrower's debt covered by their
    /// collateral after haircuts (the circuit's own check, its leaf translated to the user).
    pub fn check_from(&self, first: usize, prices: Option<&RoundPrices>) -> Result<()> {
        crate::check_users(self.user_ids, self.indptr, self.asset_index.len(), self.amounts_lo.len(), first)?;
        if self.amounts_hi.len() != self.amounts_lo.len() {
            return Err(Error::Ledger { user: None, asset: None, message: "amounts_lo and amounts_hi differ in length".into() });
        }
        if !self.kinds.is_empty() && self.kinds.len() != self.amounts_lo.len() {
            return Err(Error::Ledger { user: None, asset: None, message: "kinds and amounts differ in length".into() });
        }
        check_range_bits(self.range_bits)?;
        for i in 0..self.user_ids.len() {
            let (lo, hi) = (self.indptr[i] as usize, self.indptr[i + 1] as usize);
            let user = i + first;
            if leaf_blocks(hi - lo) > MAX_LEAF_BLOCKS {
                return Err(Error::Ledger {
                    user: Some(user),
                    asset: None,
                    message: format!("user {user}: {} balances, more than a version-2 leaf holds", hi - lo),
                });
            }
            for e in lo..hi {
                let (asset, amount, kind) = (self.asset_index[e] as usize, self.amount(e), self.kind(e));
                let name = self.assets.get(asset).map(|a| a.name.clone());
                let fail = |message: String| Err(Error::Ledger { user: Some(user), asset: name.clone(), message });
                if asset >= self.assets.len() {
                    return fail(format!("user {user}: asset index {asset} is not in the asset list"));
                }
                if kind > 1 {
                    return fail(format!("user {user}: kind {kind} is not 0 (equity) or 1 (debt)"));
                }
                if e > lo && self.tag(e - 1) >= self.tag(e) {
                    return fail(format!("user {user}: entries are not strictly increasing by (asset, kind)"));
                }
                let what = if kind == 1 { "debt" } else { "amount" };
                let asset_name = &self.assets[asset].name;
                if amount == 0 || amount >> self.range_bits != 0 {
                    return fail(format!("user {user}: {what} {amount} of {asset_name} is not in [1, 2^{})", self.range_bits));
                }
                if kind == 1 {
                    match prices {
                        None => {
                            return fail(format!(
                                "user {user}: a debt of {amount} {asset_name} needs prices (statement version 3)"
                            ))
                        },
                        Some(p) if p.terms[asset].is_none() => {
                            return fail(format!("user {user}: a debt of {amount} {asset_name}, an asset without a price"))
                        },
                        Some(_) => {},
                    }
                }
            }
            if let Some(p) = prices {
                self.check_borrower(i, first, p)?;
            }
        }
        Ok(())
    }

    /// The circuit's check of user `i`'s collateral condition, its errors naming the user.
    fn check_borrower(&self, i: usize, first: usize, prices: &RoundPrices) -> Result<()> {
        let (lo, hi) = (self.indptr[i] as usize, self.indptr[i + 1] as usize);
        if !(lo..hi).any(|e| self.kind(e) == 1) {
            return Ok(());
        }
        let user = i + first;
        let leaf = Leaf { idc: Default::default(), entries: (lo..hi).map(|e| self.entry(e)).collect() };
        let names = |assets: &[u32]| assets.iter().map(|&a| self.assets[a as usize - 1].name.as_str()).collect::<Vec<_>>().join(", ");
        let message = match check_borrowers(std::slice::from_ref(&leaf), 0, &prices.coefficients) {
            Ok(()) => return Ok(()),
            Err(CircuitError::UncoveredDebt { debt_assets, collateral_assets, debt, collateral, .. }) => format!(
                "user {user} ({:?}): debt in {} worth {} USD is not covered by collateral in {} worth {} USD after haircuts",
                self.user_ids[i],
                names(&debt_assets),
                usd(&debt, prices.unit_exp),
                if collateral_assets.is_empty() { "no asset".to_string() } else { names(&collateral_assets) },
                usd(&collateral, prices.unit_exp),
            ),
            Err(CircuitError::MarginEntries { entries, max, .. }) => {
                format!("user {user} ({:?}): a borrower with {entries} entries; at most {max} fit a borrower's margin rows", self.user_ids[i])
            },
            Err(other) => format!("user {user}: {other}"),
        };
        Err(Error::Ledger { user: Some(user), asset: None, message })
    }
}

/// A value in units of `10^-unit_exp` USD (decimal digits) in USD, exactly.
fn usd(value: &str, unit_exp: u8) -> String {
    let e = unit_exp as usize;
    let padded = format!("{value:0>width$}", width = e + 1);
    let (int, frac) = padded.split_at(padded.len() - e);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
}

/// The prices of a version-3 round as the prover needs them: the statement's terms (one per
/// asset, `None` unpriced) and the coefficients folded from them at [`VALUE_UNIT_EXP`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundPrices {
    pub unit_exp: u8,
    pub terms: Vec<Option<PriceTerm>>,
    pub coefficients: Prices,
}

impl RoundPrices {
    /// Checks `terms` (one per asset: canonical decimals, coefficients in range) and folds them.
    pub fn new(assets: &[Asset], terms: &[Option<PriceTerm>]) -> Result<Self> {
        let margin = Margin { unit_exp: VALUE_UNIT_EXP, prices: terms.to_vec(), debt_totals: vec![vec![]; assets.len()] };
        let coefficients = margin.coefficients(assets)?;
        Ok(RoundPrices { unit_exp: margin.unit_exp, terms: margin.prices, coefficients })
    }

    /// A statement's margin with these prices and no debt totals yet (the prover's stub).
    pub(crate) fn stub(&self, num_assets: usize) -> Margin {
        Margin { unit_exp: self.unit_exp, prices: self.terms.clone(), debt_totals: vec![vec![]; num_assets] }
    }
}

fn check_range_bits(range_bits: u32) -> Result<()> {
    if !(MIN_RANGE_BITS..=MAX_RANGE_BITS).contains(&range_bits) {
        return Err(Error::Input(format!(
            "range bound of {range_bits} bits is unsupported in version 2 ({MIN_RANGE_BITS} to {MAX_RANGE_BITS})"
        )));
    }
    Ok(())
}

/// Everything a version-2 round claims, in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub round_id: String,
    pub assets: Vec<Asset>,
    pub range_bits: u32,
    pub num_leaves: u64,
    pub root: [u8; 32],
    /// Exact total of each asset in its smallest unit: minimal little-endian bytes (0 → empty);
    /// the equity totals in version 3.
    pub totals: Vec<Vec<u8>>,
    /// `Some`: statement version 3 (prices, exact debt totals, the collateral condition).
    pub margin: Option<Margin>,
    /// Whether the forests publish commitments to their totals and the round an aggregation
    /// proof (formats 4 and 5) rather than the part sums (formats 2 and 3). Not part of what the
    /// round claims: the fingerprint and the summary are the same either way.
    pub committed: bool,
}

impl Statement {
    /// 2, or 3 with margin.
    pub fn statement_version(&self) -> u16 {
        if self.margin.is_some() { STATEMENT_VERSION_MARGIN } else { STATEMENT_VERSION }
    }

    /// The file format version of the round: 2, or 3 with margin; 4 and 5 with committed totals.
    pub fn format_version(&self) -> u16 {
        match (self.committed, self.margin.is_some()) {
            (false, false) => FORMAT_VERSION,
            (false, true) => FORMAT_VERSION_MARGIN,
            (true, false) => FORMAT_VERSION_COMMITTED,
            (true, true) => FORMAT_VERSION_COMMITTED_MARGIN,
        }
    }

    /// What the round publishes (the fields under the fingerprint).
    pub fn summary(&self) -> Summary {
        Summary {
            round_id: self.round_id.clone(),
            range_bits: self.range_bits,
            num_leaves: self.num_leaves,
            root: self.root,
            assets: self.assets.clone(),
            totals: self.totals.clone(),
            margin: self.margin.clone(),
        }
    }

    /// The statement fingerprint, `statement_version` 2 or 3.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.summary().fingerprint_as(self.statement_version())
    }

    /// Checks the fields a statement may hold (what `Statement::read` accepts).
    pub fn validate(&self) -> Result<()> {
        statement::validate_round_id(&self.round_id)?;
        statement::validate_assets(&self.assets)?;
        check_range_bits(self.range_bits)?;
        if self.assets.len() > CIRCUIT_MAX_ASSETS {
            return Err(Error::Input(format!("{} assets: version 2 lists at most {CIRCUIT_MAX_ASSETS}", self.assets.len())));
        }
        Forest::whole(self.num_leaves).map_err(|e| Error::Input(e.to_string()))?;
        if self.totals.len() != self.assets.len() {
            return Err(Error::Input(format!("{} totals for {} assets", self.totals.len(), self.assets.len())));
        }
        match &self.margin {
            Some(m) => m.validate(&self.assets),
            None => Ok(()),
        }
    }
}

/// A version-2 or version-3 round that verified.
#[derive(Debug, Clone)]
pub struct Verified {
    pub statement: Statement,
    /// The weakest forest's conjectured security (what `min_security_bits` is enforced on).
    pub security_bits: u32,
    /// The weakest forest's proven security (winterfell's proven figure capped by the bus term).
    pub proven_security_bits: u32,
    pub forests: usize,
}

/// A verified file of any format version (`V2` holds versions 2 and 3: see
/// [`Statement::statement_version`]).
pub enum AnyVerified {
    V1(crate::Verified),
    V2(Verified),
}

/// Verifies a proof file of any format version: version 1 goes to [`crate::verify`] as it
/// always did, versions 2 and 3 to [`verify`].
pub fn verify_any(bytes: &[u8], min_security_bits: u32) -> Result<AnyVerified> {
    if file::is_forest_round(bytes) {
        return verify(bytes, min_security_bits).map(AnyVerified::V2);
    }
    crate::verify(bytes, min_security_bits).map(AnyVerified::V1)
}

/// The statement of a file of any format version, unverified (`V2`: versions 2 and 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyStatement {
    V1(crate::Statement),
    V2(Statement),
}

/// Reads the statement of a proof file of any format version without verifying anything
/// (dispatching as [`verify_any`] does).
pub fn read_statement_any(bytes: &[u8]) -> Result<AnyStatement> {
    if file::is_forest_round(bytes) {
        return read_statement(bytes).map(AnyStatement::V2);
    }
    crate::read_statement(bytes).map(AnyStatement::V1)
}

/// The `round_digest` public input of forest `index` of a round of `count` forests.
pub fn forest_digest(round_id: &str, index: u64, count: u64) -> Digest {
    forest_binding(round_id, index, count, None)
}

/// The forest binding digest of `statement`'s forest `index` of `count`: version 2's
/// [`forest_digest`], or in version 3 the same with the [`prices_digest`] appended, so that a
/// forest verifies only under the very price and haircut strings of its statement (two
/// spellings can fold to the same coefficients; the verifier must not accept either for the
/// other).
pub fn statement_forest_digest(statement: &Statement, index: u64, count: u64) -> Digest {
    forest_binding(&statement.round_id, index, count, statement.margin.as_ref().map(prices_digest).as_ref())
}

fn forest_binding(round_id: &str, index: u64, count: u64, prices: Option<&[u8; 32]>) -> Digest {
    let mut bytes = Vec::with_capacity(80);
    bytes.extend_from_slice(&digest_to_bytes(&statement::round_digest(round_id)));
    bytes.extend_from_slice(&index.to_le_bytes());
    bytes.extend_from_slice(&count.to_le_bytes());
    if let Some(p) = prices {
        bytes.extend_from_slice(p);
    }
    hash_bytes(FOREST_TAG, &bytes)
}

/// SHA-256 of a version-3 statement's prices as its fingerprint encodes them, without the debt
/// totals: `"stark-por/prices" 0x00 ‖ u8(unit_exp) ‖ K × (u8(priced) ‖ [u8(len price) ‖ price
/// ‖ u8(len haircut) ‖ haircut])`.
pub fn prices_digest(margin: &Margin) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"stark-por/prices\0");
    h.update([margin.unit_exp]);
    for p in &margin.prices {
        statement::hash_price_term(&mut h, p.as_ref());
    }
    h.finalize().into()
}

/// Adds `Σᵢ 2^PART_OFFSETS[i] · parts[i]` to the little-endian words `acc` (grown as needed).
pub fn add_parts(acc: &mut Vec<u64>, parts: &[u64; PARTS]) {
    let add = combine_parts(parts);
    if acc.len() < add.len() {
        acc.resize(add.len(), 0);
    }
    let mut carry = 0u64;
    for (k, word) in acc.iter_mut().enumerate() {
        let (s1, c1) = word.overflowing_add(add.get(k).copied().unwrap_or(0));
        let (s2, c2) = s1.overflowing_add(carry);
        *word = s2;
        carry = (c1 as u64) + (c2 as u64);
    }
    if carry > 0 {
        acc.push(carry);
    }
}

/// Minimal little-endian bytes of the integer with little-endian words `words`.
pub fn words_to_bytes(words: &[u64]) -> Vec<u8> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    minimal(&bytes).to_vec()
}

/// The exact per-asset totals of forests' part sums, as minimal little-endian bytes.
pub fn round_totals<'a>(num_assets: usize, forests: impl Iterator<Item = &'a [[u64; PARTS]]>) -> Vec<Vec<u8>> {
    let mut sums = vec![Vec::new(); num_assets];
    for parts in forests {
        for (acc, p) in sums.iter_mut().zip(parts) {
            add_parts(acc, p);
        }
    }
    sums.iter().map(|w| words_to_bytes(w)).collect()
}

/// Leaves in tree order (version 1's placement), each user's leaf index and salt.
fn build_leaves(ledger: &WideLedgerRef<'_>, secret: &[u8], round_id: &str) -> (Vec<Leaf>, Vec<u64>, Vec<[u8; 32]>) {
    let n = ledger.user_ids.len();
    let salts: Vec<[u8; 32]> = ledger.user_ids.par_iter().map(|id| kdf::user_salt(secret, round_id, id)).collect();
    let (order, positions) = crate::placement(ledger.user_ids, secret, round_id);
    let leaves = order
        .par_iter()
        .map(|&s| match ledger.user_ids.get(s) {
            Some(id) => {
                let (lo, hi) = (ledger.indptr[s] as usize, ledger.indptr[s + 1] as usize);
                let entries = (lo..hi).map(|e| ledger.entry(e)).collect();
                Leaf { idc: id_commitment(&salts[s], id.as_bytes()), entries }
            },
            None => {
                let salt = kdf::padding_salt(secret, round_id, (s - n) as u64);
                Leaf { idc: id_commitment(&salt, b""), entries: vec![] }
            },
        })
        .collect();
    (leaves, positions, salts)
}

/// SHA-256 of every leaf's contents: the blinding seed depends on all of a forest's witness.
fn witness_digest(leaves: &[Leaf]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"stark-por/v2/witness");
    for leaf in leaves {
        h.update(digest_to_bytes(&leaf.idc));
        h.update((leaf.entries.len() as u64).to_le_bytes());
        for entry in &leaf.entries {
            h.update(entry.tag.to_le_bytes());
            h.update(entry.amount.to_le_bytes());
        }
    }
    h.finalize().into()
}

/// The blinding seed of forest `index` of `count` over `leaves`. A committed forest's seed is
/// separated from the plain one's: proofs of the same forest in both modes never share
/// blinding values or salts.
pub(crate) fn forest_seed(
    secret: &[u8],
    round_id: &str,
    index: u64,
    count: u64,
    forest: &Forest,
    leaves: &[Leaf],
    committed: bool,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"stark-por/v2/forest");
    if committed {
        h.update(b"/committed");
    }
    for x in [index, count, forest.start, forest.end] {
        h.update(x.to_le_bytes());
    }
    h.update(witness_digest(leaves));
    let input: [u8; 32] = h.finalize().into();
    kdf::blinding_seed(secret, round_id, &input)
}

/// Permutation rows a forest may use so that its trace is `2^trace_log2` rows: the trace less
/// its blinding rows and the one filler row that closes the last level.
pub fn forest_capacity(security: Security, trace_log2: u32) -> Result<u64> {
    if !(14..=28).contains(&trace_log2) {
        return Err(Error::Input(format!("a target trace of 2^{trace_log2} rows is not in 2^14..2^28")));
    }
    let n = 1usize << trace_log2;
    Ok(n.saturating_sub(blinding_rows(&security.options(), n) + 1) as u64)
}

/// The smallest trace a forest takes: `2^14` rows.
pub const MIN_TRACE_LOG2: u32 = 14;

/// The capacities of the traces a round's forests may take, `2^trace_log2` rows down to
/// `2^MIN_TRACE_LOG2` (largest first): full forests take the target, the last few smaller
/// ones ([`forest::plan`]).
pub fn forest_capacities(security: Security, trace_log2: u32) -> Result<Vec<u64>> {
    (MIN_TRACE_LOG2..=trace_log2).rev().map(|log2| forest_capacity(security, log2)).collect()
}

/// [`forest_capacities`] of a round of `num_assets` assets, with margin or not, with committed
/// totals or not: every trace of version 3 gives `2K` rows to the price table, and every
/// committed trace one row per tag to its totals chain (`committed::reserved_rows`).
pub fn round_capacities(security: Security, trace_log2: u32, num_assets: usize, margin: bool, committed: bool) -> Result<Vec<u64>> {
    let table = if margin { 2 * num_assets as u64 } else { 0 };
    let chain = if committed { reserved_rows(num_assets, margin) as u64 } else { 0 };
    Ok(forest_capacities(security, trace_log2)?.into_iter().map(|c| c.saturating_sub(table + chain)).collect())
}

/// What a leaf costs the planner: its leaf blocks and, in version 3, a borrower's margin rows
/// (`⌈entries/2⌉` entry rows and a close row). The ledger checks keep it within 16 bits.
pub fn leaf_cost(entries: &[Entry]) -> u16 {
    let blocks = leaf_blocks(entries.len());
    let margin = if entries.iter().any(|e| e.tag % 2 == DEBT) { entries.len().div_ceil(MARGIN_SLOTS) + 1 } else { 0 };
    (blocks + margin).min(u16::MAX as usize) as u16
}

/// What [`prove_round`] hands back.
pub struct ProveOutput {
    /// The proof file, ready to write.
    pub file: Vec<u8>,
    pub statement: Statement,
    /// The weakest forest's conjectured and proven security (as [`Verified`]'s).
    pub security_bits: u32,
    pub proven_security_bits: u32,
    /// Leaf index of each user, in ledger order.
    pub positions: Vec<u64>,
    /// Salt of each user's id commitment, in ledger order.
    pub salts: Vec<[u8; 32]>,
    /// The whole round tree, heap-numbered (`tree[1]` the root, leaf `j` at `N' + j`, `tree[0]`
    /// zero): cut inclusion paths from it with `inclusion::path_from_tree`.
    pub tree: Vec<[u8; 32]>,
    /// The forests, in order, each one's trace length, and the columns of every trace.
    pub forests: Vec<Forest>,
    pub trace_rows: Vec<usize>,
    pub trace_columns: usize,
    /// Permutation rows doing work (leaf blocks and nodes) over all trace rows.
    pub working_rows: (u64, u64),
}

/// Proves `ledger` as a version-2 round, or with `prices` (one per asset, `None` unpriced) a
/// version-3 round: forests planned to fill `2^trace_log2`-row traces (default
/// [`DEFAULT_TRACE_LOG2`]), `workers` forests side by side (0: one per core). With `committed`
/// the forests commit to their totals and the file ends with the aggregation proof (formats
/// 4 and 5), otherwise they publish their part sums (formats 2 and 3). A debt without prices,
/// a debt in an unpriced asset and a borrower not covered are refused naming the user.
#[allow(clippy::too_many_arguments)]
pub fn prove_round(
    ledger: &WideLedgerRef<'_>,
    secret: &[u8],
    round_id: &str,
    security: Security,
    trace_log2: u32,
    workers: usize,
    prices: Option<&[Option<PriceTerm>]>,
    committed: bool,
) -> Result<ProveOutput> {
    let capacities = round_capacities(security, trace_log2, ledger.assets.len(), prices.is_some(), committed)?;
    prove_planned(ledger, secret, round_id, security, &capacities, workers, prices, committed)
}

/// [`prove_round`] with forests planned for traces of `capacities` permutation rows (tests use
/// small ones).
#[allow(clippy::too_many_arguments)]
pub(crate) fn prove_planned(
    ledger: &WideLedgerRef<'_>,
    secret: &[u8],
    round_id: &str,
    security: Security,
    capacities: &[u64],
    workers: usize,
    prices: Option<&[Option<PriceTerm>]>,
    committed: bool,
) -> Result<ProveOutput> {
    let prices = prices.map(|p| RoundPrices::new(ledger.assets, p)).transpose()?;
    ledger.check_from(0, prices.as_ref())?;
    let num_leaves = (ledger.user_ids.len() as u64).next_power_of_two().max(2);
    let mut stub = stub(secret, round_id, ledger.assets, ledger.range_bits, num_leaves)?;
    stub.margin = prices.as_ref().map(|p| p.stub(ledger.assets.len()));
    stub.committed = committed;
    let workers = match workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    guard("proving", || prove_checked(ledger, secret, stub, security, capacities, workers))?
}

/// Checks the secret, round id, assets, range bound and leaf count of a round; returns its
/// statement without the proof-dependent fields (root, totals).
pub(crate) fn stub(secret: &[u8], round_id: &str, assets: &[Asset], range_bits: u32, num_leaves: u64) -> Result<Statement> {
    if secret.len() < kdf::MIN_SECRET_BYTES {
        return Err(Error::Input(format!(
            "the master secret must be at least {} bytes, got {}",
            kdf::MIN_SECRET_BYTES,
            secret.len()
        )));
    }
    let stub = Statement {
        round_id: round_id.to_string(),
        assets: assets.to_vec(),
        range_bits,
        num_leaves,
        root: [0; 32],
        totals: vec![vec![]; assets.len()],
        margin: None,
        committed: false,
    };
    stub.validate()?;
    Ok(stub)
}

fn prove_checked(
    ledger: &WideLedgerRef<'_>,
    secret: &[u8],
    stub: Statement,
    security: Security,
    capacities: &[u64],
    workers: usize,
) -> Result<ProveOutput> {
    let (leaves, positions, salts) = build_leaves(ledger, secret, &stub.round_id);
    let blocks: Vec<u16> = leaves.iter().map(|l| leaf_cost(&l.entries)).collect();
    let forests = forest::plan(&blocks, capacities).map_err(|e| Error::Internal(e.to_string()))?;
    // forests side by side, each proved on a one-thread pool (see `batch.rs`)
    let outputs = crate::round::run_side_by_side(forests.len(), workers, "forest", |i| {
        let f = forests[i];
        let chunk = leaves[f.start as usize..f.end as usize].to_vec();
        job::prove_forest(&job::forest_job(&stub, secret, security, &forests, i, chunk), 1)
    })?;
    drop(leaves);
    let num_leaves = stub.num_leaves;
    let mut digests = Vec::with_capacity(forests.len());
    let a = job::assemble(stub, secret, security, &forests, outputs.into_iter().map(Ok), |d| digests.push(d))?;
    let tree = round_tree(num_leaves, digests.iter(), &a.top)?;
    Ok(ProveOutput {
        file: a.file,
        statement: a.statement,
        security_bits: a.security_bits,
        proven_security_bits: a.proven_security_bits,
        positions,
        salts,
        tree,
        forests,
        trace_rows: a.trace_rows,
        trace_columns: a.trace_columns,
        working_rows: a.working_rows,
    })
}

pub(crate) fn circuit_error(e: CircuitError) -> Error {
    match e {
        CircuitError::InsufficientSecurity { required, actual } => Error::InsufficientSecurity { required, actual },
        CircuitError::Prover(m) => Error::Internal(m),
        // the ledger checks name the user first; a job made elsewhere can only name its leaf
        e @ (CircuitError::UncoveredDebt { .. } | CircuitError::MarginEntries { .. }) => {
            Error::Ledger { user: None, asset: None, message: e.to_string() }
        },
        other => Error::Invalid(other.to_string()),
    }
}

/// The whole round tree (heap-numbered bytes, `[0]` zero) from the forests' digests and the
/// nodes above their roots.
fn round_tree<'a>(num_leaves: u64, forests: impl Iterator<Item = &'a ForestDigests>, top: &[(u64, [u8; 32])]) -> Result<Vec<[u8; 32]>> {
    let n = num_leaves as usize;
    let mut tree: Vec<Option<[u8; 32]>> = vec![None; 2 * n];
    for d in forests {
        for (&first, level) in d.first_index.iter().zip(&d.levels) {
            for (k, digest) in level.iter().enumerate() {
                tree[first as usize + k] = Some(digest_to_bytes(digest));
            }
        }
    }
    for &(i, digest) in top {
        tree[i as usize] = Some(digest);
    }
    match tree[1..].iter().position(Option::is_none) {
        Some(i) => Err(Error::Internal(format!("the forests do not cover node {}", i + 1))),
        None => Ok(tree.iter().map(|d| d.unwrap_or([0; 32])).collect()),
    }
}

/// Verifies a round file of format 2 to 5: the forests' ranges partition `[0, N')` and their
/// roots combine to the statement's root, and every forest proof verifies (in parallel)
/// against public inputs built here from the file and its binding digest. Formats 2 and 3: the
/// statement's totals are the exact sums of the forests' part sums (format 3: the debt totals
/// of the debt part sums too). Formats 4 and 5: every forest verifies against its commitment,
/// the forests' traces hold fewer than `2^36` entry slots (the aggregation's precondition), and
/// the aggregation proof shows that the commitments open to part sums whose exact sums are the
/// statement's totals, equity and debt. Margin (formats 3 and 5): an unpriced asset's debt total
/// is 0, and the coefficients every forest is verified on are folded here from the statement's
/// prices (never taken from the file).
pub fn verify(bytes: &[u8], min_security_bits: u32) -> Result<Verified> {
    let file = guard("reading the round", || RoundFile::from_bytes(bytes))??;
    let s = &file.statement;
    let count = file.forests.len();
    let mut parts = Vec::with_capacity(count);
    for (i, f) in file.forests.iter().enumerate() {
        let forest = Forest::new(s.num_leaves, f.start, f.end).map_err(|e| Error::Invalid(format!("forest {i}: {e}")))?;
        let roots = f.root_digests().ok_or_else(|| Error::Invalid(format!("forest {i}: a root is not a canonical digest")))?;
        parts.push((forest, roots));
    }
    let views: Vec<(Forest, &[Digest])> = parts.iter().map(|(f, r)| (*f, r.as_slice())).collect();
    let root = guard("combining the forest roots", || forest::round_root(&views))?.map_err(|e| Error::Invalid(e.to_string()))?;
    if digest_to_bytes(&root) != s.root {
        return Err(Error::Invalid("the forest roots do not combine to the round root".into()));
    }
    if !s.committed && round_totals(s.assets.len(), file.forests.iter().map(|f| f.parts.as_slice())) != s.totals {
        return Err(Error::Invalid("the round totals are not the exact sums of the forests' part sums".into()));
    }
    let coefficients = match &s.margin {
        None => None,
        Some(m) => {
            if !s.committed && round_totals(s.assets.len(), file.forests.iter().map(|f| f.debt_parts.as_slice())) != m.debt_totals {
                return Err(Error::Invalid("the debt totals are not the exact sums of the forests' debt part sums".into()));
            }
            // the reader validated the margin (an unpriced asset's debt total is 0); folded again
            // here so that verification never rests on a check made elsewhere
            m.validate(&s.assets).map_err(|e| Error::Invalid(e.to_string()))?;
            Some(m.coefficients(&s.assets).map_err(|e| Error::Invalid(e.to_string()))?)
        },
    };
    let aggregation = match (&file.aggregation, s.committed) {
        (Some(_), true) => {
            check_entry_slots(file.forests.iter().map(|f| f.proof.trace_info().length())).map_err(Error::Invalid)?;
            let commitments = file
                .forests
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    f.commitment
                        .as_ref()
                        .and_then(digest_from_bytes)
                        .ok_or_else(|| Error::Invalid(format!("forest {i}: no canonical commitment")))
                })
                .collect::<Result<Vec<_>>>()?;
            Some(aggregation_inputs(s, commitments))
        },
        (None, false) => None,
        _ => return Err(Error::Internal("the reader gave an aggregation proof to the wrong format".into())),
    };
    let assets_digest = statement::assets_digest(&s.assets);
    let num_assets = s.assets.len();
    let RoundFile { statement, forests, aggregation: aggregation_proof } = file;
    let forest_digests: Vec<Digest> = (0..count).map(|i| statement_forest_digest(&statement, i as u64, count as u64)).collect();
    let verify_forests = || -> Vec<Result<(u32, u32)>> {
        forests
            .into_par_iter()
            .zip(parts)
            .zip(forest_digests)
            .enumerate()
            .map(|(i, ((f, (forest, roots)), round_digest))| {
                let pi = PublicInputs {
                    forest,
                    range_bits: statement.range_bits,
                    assets_digest,
                    round_digest,
                    totals: f.parts.iter().map(|p| p.map(Felt::new)).collect(),
                    roots,
                };
                let commitment = f.commitment.as_ref().and_then(digest_from_bytes);
                let figures = guard("verification", || match (commitment, &coefficients) {
                    (Some(commitment), prices) => {
                        let ci = CommittedInputs {
                            forest,
                            range_bits: pi.range_bits,
                            num_assets,
                            assets_digest,
                            round_digest: pi.round_digest,
                            roots: pi.roots,
                            commitment,
                            prices: prices.clone(),
                        };
                        stark_por_liabilities::verify_committed(f.proof, ci, min_security_bits)
                    },
                    (None, None) => stark_por_liabilities::verify(f.proof, pi, min_security_bits),
                    (None, Some(prices)) => {
                        let debt_totals = f.debt_parts.iter().map(|p| p.map(Felt::new)).collect();
                        let mi = MarginInputs { base: pi, debt_totals, prices: prices.clone() };
                        stark_por_liabilities::verify_margin(f.proof, mi, min_security_bits)
                    },
                })?
                .map_err(|e| match e {
                    CircuitError::InsufficientSecurity { required, actual } => Error::InsufficientSecurity { required, actual },
                    other => Error::Invalid(format!("forest {i}: {other}")),
                })?;
                Ok((figures.conjectured, figures.proven))
            })
            .collect()
    };
    let verify_aggregation = || -> Result<Option<(u32, u32)>> {
        let (Some(proof), Some(inputs)) = (aggregation_proof, aggregation) else { return Ok(None) };
        let figures = guard("verifying the aggregation", || stark_por_aggregation::verify(proof, inputs, min_security_bits))?
            .map_err(|e| match e {
                AggregationError::InsufficientSecurity { required, actual } => Error::InsufficientSecurity { required, actual },
                other => Error::Invalid(format!("the aggregation proof: {other}")),
            })?;
        Ok(Some((figures.conjectured, figures.proven)))
    };
    let (results, aggregated) = rayon::join(verify_forests, verify_aggregation);
    let (mut security_bits, mut proven_security_bits) = (u32::MAX, u32::MAX);
    for r in results.into_iter().chain(aggregated.transpose()) {
        let (conjectured, proven) = r?;
        security_bits = security_bits.min(conjectured);
        proven_security_bits = proven_security_bits.min(proven);
    }
    Ok(Verified { statement, security_bits, proven_security_bits, forests: count })
}

/// Refuses forests whose traces hold `2^MAX_ENTRY_SLOTS_LOG2` entry slots or more (four per
/// row, over all forests): below that bound every sum the aggregation proof adds is exact
/// (`circuits/aggregation/README.md`, the 2^36-slot precondition).
pub(crate) fn check_entry_slots(trace_lengths: impl Iterator<Item = usize>) -> std::result::Result<(), String> {
    let slots: u128 = trace_lengths.map(|n| 4 * n as u128).sum();
    if slots >= 1u128 << MAX_ENTRY_SLOTS_LOG2 {
        return Err(format!(
            "the forests' traces hold {slots} entry slots, at least 2^{MAX_ENTRY_SLOTS_LOG2}: beyond what the aggregation proof sums exactly"
        ));
    }
    Ok(())
}

/// The aggregation proof's public inputs of `statement` (formats 4 and 5) over the forests'
/// `commitments`, in forest order: bound by the digest of "forest `B` of `B`" (no forest's:
/// it binds the round id, the forest count and, with margin, the prices), the totals listed
/// per tag of `committed::totals_tags` (each asset's equity, then with margin its debt).
pub fn aggregation_inputs(statement: &Statement, commitments: Vec<Digest>) -> AggregationInputs {
    let count = commitments.len() as u64;
    let totals = (0..statement.assets.len())
        .flat_map(|a| std::iter::once(&statement.totals[a]).chain(statement.margin.as_ref().map(|m| &m.debt_totals[a])))
        .cloned()
        .collect();
    AggregationInputs {
        binding: statement_forest_digest(statement, count, count),
        num_assets: statement.assets.len(),
        margin: statement.margin.is_some(),
        commitments,
        totals,
    }
}

/// Reads a version-2 file's statement without verifying anything.
pub fn read_statement(bytes: &[u8]) -> Result<Statement> {
    guard("reading the statement", || file::read_statement(bytes))?
}
