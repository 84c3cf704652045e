//! Statement version 2 of stark-por: liabilities at every asset's native decimals.
//!
//! A trace proves, for the leaf range `[start, end)` of a round tree of `N'` leaves and `K`
//! assets:
//! 1. every amount lies in `[0, 2^R)`, `R` up to 112 bits;
//! 2. each asset's public total is the exact integer sum of its amounts in the range (at any
//!    size: totals may exceed `2^128`);
//! 3. the public forest roots are the `Rp64_256` digests of every tree node whose leaves all lie
//!    in the range, each leaf hashing a tagged id commitment and its `(tag, amount)` entries;
//! 4. nothing else: padding leaves are ordinary leaves without entries.
//!
//! A round is a partition of `[0, N')` into such ranges (one proof for a whole tree is the
//! range `[0, N')`, whose one root is the round root). `air.rs` holds the constraints,
//! `prover.rs` the trace builder, `hash.rs` the leaf encoding, `forest.rs` what a range
//! implies, and `circuits/liabilities/README.md` the constraint list and soundness argument.
//!
//! Statement version 3 ([`prove_margin`], [`verify_margin`]) is the same AIR with the margin
//! section (`margin.rs`, README §4): leaves may also hold debts, the public inputs add exact
//! debt totals and per-asset price coefficients, and every borrower's collateral after haircuts
//! is proven to cover their debt. Version 2 ([`prove`], [`verify`]) is unchanged by it.

pub mod air;
pub mod committed;
pub mod forest;
pub mod hash;
pub mod layout;
pub mod margin;
pub mod prover;

#[cfg(test)]
mod committed_tests;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod hiding_tests;
#[cfg(test)]
mod margin_tests;
#[cfg(test)]
mod tests;

pub use air::{LiabilitiesAir, PublicInputs, Statement};
pub use committed::{CommittedInputs, CommittedStatement, TotalsOpening};
pub use forest::Forest;
pub use hash::Entry;
pub use margin::{MarginInputs, Prices};
pub use prover::{build_committed_trace, build_margin_trace, build_trace, Leaf, LiabilitiesProver, StatementParams};
pub use stark_por_solvency::{Estimate, Security};

use stark_por_solvency::hiding::HidingProver;
use stark_por_solvency::options::blinding_rows;
use stark_por_solvency::prover::{HashFn, HidingCommit, RandomCoin, VectorCommit};
use winterfell::{AcceptableOptions, Proof, Prover, TraceInfo};

use crate::layout::{
    AUX_WIDTH, AUX_WIDTH_MARGIN, MAIN_WIDTH, MAIN_WIDTH_COMMITTED, MAIN_WIDTH_COMMITTED_MARGIN, MAIN_WIDTH_MARGIN,
    NUM_AUX_RANDS, TABLE_SIZE,
};
use crate::prover::{ForestDigests, MAX_LOG_LDE};

/// Everything that can go wrong in the circuit layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    #[error("range bound of {0} bits is unsupported (supported: 32 to 112)")]
    RangeBits(u32),
    #[error("the tree needs a power-of-two number of leaves, 2 to 2^40; got {0}")]
    LeafCount(u64),
    #[error("leaf range {start}..{end} is not a non-empty range of a tree of {num_leaves} leaves (or does not match the leaves given)")]
    LeafRange { start: u64, end: u64, num_leaves: u64 },
    #[error("{0} assets: a statement lists 1 to 4,095")]
    AssetCount(usize),
    #[error("leaf {leaf}: tag {tag} is not an equity entry of a listed asset")]
    UnknownTag { leaf: u64, tag: u32 },
    #[error("leaf {leaf}: entries are not sorted by tag without repeats")]
    UnsortedEntries { leaf: u64 },
    #[error("leaf {leaf}: amount {amount} of tag {tag} is not in 1..2^{bits}")]
    OutOfRange { leaf: u64, tag: u32, amount: String, bits: u32 },
    #[error("the trace would need {rows} rows; at most {max_rows} fit these proof options")]
    TooLarge { rows: usize, max_rows: usize },
    #[error("proof options are not one of the supported security presets")]
    UnknownOptions,
    #[error("proof security is {actual} bits, below the required {required}")]
    InsufficientSecurity { required: u32, actual: u32 },
    #[error("proof trace shape does not match the statement: {0}")]
    Shape(String),
    #[error("proof does not verify: {0}")]
    Rejected(String),
    #[error("prover failed: {0}")]
    Prover(String),
    #[error("leaf {leaf}: debt in assets {debt_assets:?} worth {debt} is not covered by collateral in assets {collateral_assets:?} worth {collateral} after haircuts (values in the coefficients' unit)")]
    UncoveredDebt { leaf: u64, debt_assets: Vec<u32>, collateral_assets: Vec<u32>, debt: String, collateral: String },
    #[error("leaf {leaf}: a borrower holds {entries} entries; the margin section takes at most {max}")]
    MarginEntries { leaf: u64, entries: usize, max: usize },
    #[error("asset {asset}: coefficients {collateral} (collateral) and {debt} (debt): {why}")]
    Coefficient { asset: u32, collateral: u128, debt: u128, why: String },
}

/// Proves the forest over `leaves`. Returns the proof, its public inputs and the forest's
/// digests (for inclusion paths).
pub fn prove(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    security: Security,
    blinding_seed: [u8; 32],
) -> Result<(Proof, PublicInputs, ForestDigests), CircuitError> {
    let options = security.options();
    let (trace, pub_inputs, digests) = build_trace(leaves, forest, params, &options, blinding_seed)?;
    let prover = LiabilitiesProver::new(options, pub_inputs.clone(), blinding_seed);
    let proof = prover.prove(trace).map_err(|e| CircuitError::Prover(e.to_string()))?;
    Ok((proof, pub_inputs, digests))
}

/// Proves the forest over `leaves` under statement version 3: the leaves may hold debt, and
/// every borrower's collateral at `prices` must cover their debt.
pub fn prove_margin(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    prices: &Prices,
    security: Security,
    blinding_seed: [u8; 32],
) -> Result<(Proof, MarginInputs, ForestDigests), CircuitError> {
    let options = security.options();
    let (trace, pub_inputs, digests) = build_margin_trace(leaves, forest, params, prices, &options, blinding_seed)?;
    let prover = LiabilitiesProver::new(options, pub_inputs.clone(), blinding_seed);
    let proof = prover.prove(trace).map_err(|e| CircuitError::Prover(e.to_string()))?;
    Ok((proof, pub_inputs, digests))
}

/// Proves the forest over `leaves` with committed totals (formats 4 and 5, README §5): the
/// trace ends with the totals chain and publishes its commitment; with `prices`, under the
/// margin section too. Salted vector commitments throughout. Returns the proof, its public
/// inputs, the forest's digests and the opening (secret: for the aggregation proof).
pub fn prove_committed(
    leaves: &[Leaf],
    forest: Forest,
    params: &StatementParams,
    prices: Option<&Prices>,
    security: Security,
    blinding_seed: [u8; 32],
) -> Result<(Proof, CommittedInputs, ForestDigests, TotalsOpening), CircuitError> {
    let options = security.options();
    let (trace, statement, digests, opening) = build_committed_trace(leaves, forest, params, prices, &options, blinding_seed)?;
    let inner = LiabilitiesProver::new(options, statement.clone(), blinding_seed);
    let proof = HidingProver::new(inner, &blinding_seed).prove(trace).map_err(|e| CircuitError::Prover(e.to_string()))?;
    Ok((proof, statement.inputs, digests, opening))
}

/// Verifies a proof made by [`prove_committed`] (see [`verify`]): its vector commitments must be
/// the salted ones, and its totals chain must end in `pub_inputs.commitment`.
pub fn verify_committed(proof: Proof, pub_inputs: CommittedInputs, min_security_bits: u32) -> Result<Estimate, CircuitError> {
    let statement = CommittedStatement::new(pub_inputs)?;
    check_shape_of(&proof, statement.base(), statement.margin(), true)?;
    let figures = estimate_committed(&proof, &statement.inputs);
    if figures.conjectured < min_security_bits {
        return Err(CircuitError::InsufficientSecurity { required: min_security_bits, actual: figures.conjectured });
    }
    winterfell::verify::<LiabilitiesAir<CommittedStatement>, HashFn, RandomCoin, HidingCommit>(
        proof,
        statement,
        &AcceptableOptions::MinConjecturedSecurity(min_security_bits),
    )
    .map_err(|e| CircuitError::Rejected(e.to_string()))?;
    Ok(figures)
}

/// Both security figures of a proof made by [`prove_committed`] (see [`estimate`]).
pub fn estimate_committed(proof: &Proof, pub_inputs: &CommittedInputs) -> Estimate {
    let margin = pub_inputs.prices.is_some();
    let width = if margin { MAIN_WIDTH_COMMITTED_MARGIN } else { MAIN_WIDTH_COMMITTED };
    let info = TraceInfo::new_multi_segment(width, AUX_WIDTH, NUM_AUX_RANDS, proof.trace_info().length(), vec![]);
    let constraints = air::NUM_MAIN_CONSTRAINTS
        + if margin { margin::NUM_CONSTRAINTS } else { 0 }
        + committed::NUM_CONSTRAINTS
        + air::NUM_AUX_CONSTRAINTS;
    stark_por_solvency::security::estimate::<HashFn>(proof.options(), &info, constraints, &committed::bus_shape(pub_inputs))
}

/// Both security figures of a proof of `pub_inputs`, from every term of its soundness error
/// (version 1's accounting, `stark_por_solvency::security`, with this statement's bus shape).
pub fn estimate(proof: &Proof, pub_inputs: &PublicInputs) -> Estimate {
    let info = TraceInfo::new_multi_segment(MAIN_WIDTH, AUX_WIDTH, NUM_AUX_RANDS, proof.trace_info().length(), vec![]);
    stark_por_solvency::security::estimate::<HashFn>(
        proof.options(),
        &info,
        air::NUM_MAIN_CONSTRAINTS + air::NUM_AUX_CONSTRAINTS,
        &air::bus_shape(pub_inputs),
    )
}

/// [`estimate`] for a version-3 proof.
pub fn estimate_margin(proof: &Proof, pub_inputs: &MarginInputs) -> Estimate {
    let info = TraceInfo::new_multi_segment(
        MAIN_WIDTH_MARGIN,
        AUX_WIDTH_MARGIN,
        NUM_AUX_RANDS,
        proof.trace_info().length(),
        vec![],
    );
    stark_por_solvency::security::estimate::<HashFn>(
        proof.options(),
        &info,
        air::NUM_MAIN_CONSTRAINTS + margin::NUM_CONSTRAINTS + layout::NUM_HELPERS_MARGIN + 1,
        &margin::bus_shape(pub_inputs),
    )
}

/// Verifies a version-3 proof (see [`verify`]); the coefficients must be in their documented
/// range.
pub fn verify_margin(proof: Proof, pub_inputs: MarginInputs, min_security_bits: u32) -> Result<Estimate, CircuitError> {
    check_shape_of(&proof, &pub_inputs.base, Some(&pub_inputs), false)?;
    let figures = estimate_margin(&proof, &pub_inputs);
    if figures.conjectured < min_security_bits {
        return Err(CircuitError::InsufficientSecurity { required: min_security_bits, actual: figures.conjectured });
    }
    winterfell::verify::<LiabilitiesAir<MarginInputs>, HashFn, RandomCoin, VectorCommit>(
        proof,
        pub_inputs,
        &AcceptableOptions::MinConjecturedSecurity(min_security_bits),
    )
    .map_err(|e| CircuitError::Rejected(e.to_string()))?;
    Ok(figures)
}

/// Conjectured security of a proof of `pub_inputs`, in bits (see [`estimate`]).
pub fn security_bits(proof: &Proof, pub_inputs: &PublicInputs) -> u32 {
    estimate(proof, pub_inputs).conjectured
}

/// Verifies `proof` against `pub_inputs`, requiring at least `min_security_bits` of
/// conjectured security as [`estimate`] counts it. The proof's options must be one of our
/// presets and its trace shape one the statement allows; the proof's own word is never taken
/// for either. Returns the proof's figures.
pub fn verify(proof: Proof, pub_inputs: PublicInputs, min_security_bits: u32) -> Result<Estimate, CircuitError> {
    check_shape(&proof, &pub_inputs)?;
    let figures = estimate(&proof, &pub_inputs);
    if figures.conjectured < min_security_bits {
        return Err(CircuitError::InsufficientSecurity { required: min_security_bits, actual: figures.conjectured });
    }
    winterfell::verify::<LiabilitiesAir, HashFn, RandomCoin, VectorCommit>(
        proof,
        pub_inputs,
        &AcceptableOptions::MinConjecturedSecurity(min_security_bits),
    )
    .map_err(|e| CircuitError::Rejected(e.to_string()))?;
    Ok(figures)
}

/// Rejects any proof whose options or trace shape differ from what the statement allows, before
/// winterfell builds an AIR from them.
pub fn check_shape(proof: &Proof, pi: &PublicInputs) -> Result<(), CircuitError> {
    check_shape_of(proof, pi, None, false)
}

/// [`check_shape`] for a proof with committed totals.
pub fn check_shape_committed(proof: &Proof, pi: &CommittedInputs) -> Result<(), CircuitError> {
    let statement = CommittedStatement::new(pi.clone())?;
    check_shape_of(proof, statement.base(), statement.margin(), true)
}

fn check_shape_of(proof: &Proof, pi: &PublicInputs, margin: Option<&MarginInputs>, committed: bool) -> Result<(), CircuitError> {
    use air::{MAX_RANGE_BITS, MIN_RANGE_BITS};
    let options = proof.options();
    if Security::of(options).is_none() {
        return Err(CircuitError::UnknownOptions);
    }
    if !(MIN_RANGE_BITS..=MAX_RANGE_BITS).contains(&pi.range_bits) {
        return Err(CircuitError::RangeBits(pi.range_bits));
    }
    let f = pi.forest;
    Forest::new(f.num_leaves, f.start, f.end)?;
    if pi.totals.is_empty() || pi.totals.len() > hash::MAX_ASSETS {
        return Err(CircuitError::AssetCount(pi.totals.len()));
    }
    let shape_err = |what: String| Err(CircuitError::Shape(what));
    if pi.roots.len() != f.roots().len() {
        return shape_err(format!("{} forest roots for a range that has {}", pi.roots.len(), f.roots().len()));
    }
    let mut section = 0;
    if let Some(m) = margin {
        m.prices.check(pi.totals.len())?;
        if m.debt_totals.len() != pi.totals.len() {
            return shape_err(format!("{} debt totals for {} assets", m.debt_totals.len(), pi.totals.len()));
        }
        section = 2 * pi.totals.len() as u64;
    }
    let (main_width, aux_width) = if margin.is_some() { (MAIN_WIDTH_MARGIN, AUX_WIDTH_MARGIN) } else { (MAIN_WIDTH, AUX_WIDTH) };
    // committed totals: the TOT column, and one totals row per tag
    let main_width = main_width + committed as usize;
    if committed {
        section += committed::reserved_rows(pi.totals.len(), margin.is_some()) as u64;
    }
    let info = proof.trace_info();
    if info.main_trace_width() != main_width {
        return shape_err(format!("main width {} (expected {main_width})", info.main_trace_width()));
    }
    if info.aux_segment_width() != aux_width || info.get_num_aux_segment_rand_elements() != NUM_AUX_RANDS {
        return shape_err(format!(
            "auxiliary segment of width {} with {} challenges (expected {aux_width} and {NUM_AUX_RANDS})",
            info.aux_segment_width(),
            info.get_num_aux_segment_rand_elements()
        ));
    }
    if !info.meta().is_empty() {
        return shape_err("unexpected trace metadata".into());
    }
    // every leaf takes a row, every node one, plus a filler, the price table, the totals rows
    // and the whole range table
    let n = info.length();
    let max_len = (1usize << MAX_LOG_LDE) / options.blowup_factor();
    let min_real = (TABLE_SIZE as u64).max(f.num_leaf_slots() + f.num_nodes() + 1 + section);
    let r = blinding_rows(options, n) as u64;
    if n > max_len || (n as u64) < min_real + r {
        return shape_err(format!(
            "trace length {n} cannot hold leaves {}..{} of {}, their nodes, {section} rows of price table and totals, and {r} blinding rows (at most {max_len})",
            f.start, f.end, f.num_leaves
        ));
    }
    Ok(())
}
