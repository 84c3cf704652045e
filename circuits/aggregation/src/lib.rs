//! The aggregation proof (formats 4 and 5): every batch of a round publishes only a hiding
//! commitment to its totals (`stark_por_liabilities::committed`); this proof opens all of them
//! inside its own blinded trace and shows that, per tag, the batches' part sums add up exactly
//! to the round's public total. Design and soundness: `circuits/aggregation/README.md`.

pub mod air;
pub mod layout;
pub mod prover;
pub mod totals;

#[cfg(test)]
mod tests;

use stark_por_liabilities::committed::totals_tags;
use stark_por_liabilities::hash::MAX_ASSETS;
use stark_por_liabilities::TotalsOpening;
pub use stark_por_solvency::{Estimate, Security};
use stark_por_solvency::hash::Digest;
use stark_por_solvency::hiding::HidingProver;
use stark_por_solvency::prover::{HashFn, HidingCommit, RandomCoin, MAX_LOG_LDE};
use winterfell::{AcceptableOptions, Proof, Prover, TraceInfo};

use crate::air::{AggregationAir, Statement};
use crate::layout::{AUX_WIDTH, MAIN_WIDTH, NUM_AUX_RANDS};
use crate::prover::{assemble, check_openings, honest_groups, trace_length, AggregationProver};

/// A round with fewer than `2^36` entry slots (four per trace row, over all its batches) keeps
/// every per-part sum below the modulus and every carry below `2^37`.
pub const MAX_ENTRY_SLOTS_LOG2: u32 = 36;

/// What the aggregation proof is verified against: all public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregationInputs {
    /// Binds the proof to its round (the core passes the statement's binding digest).
    pub binding: Digest,
    pub num_assets: usize,
    pub margin: bool,
    /// Batch `b`'s commitment, in forest order.
    pub commitments: Vec<Digest>,
    /// Per tag of `committed::totals_tags(num_assets, margin)`: the round's exact total,
    /// minimal little-endian bytes.
    pub totals: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregationError {
    #[error("aggregation inputs: {0}")]
    Inputs(String),
    #[error("proof options are not one of the supported security presets")]
    UnknownOptions,
    #[error("proof security is {actual} bits, below the required {required}")]
    InsufficientSecurity { required: u32, actual: u32 },
    #[error("aggregation proof shape does not match the round: {0}")]
    Shape(String),
    #[error("aggregation proof does not verify: {0}")]
    Rejected(String),
    #[error("aggregation prover failed: {0}")]
    Prover(String),
}

/// Proves that `openings` (batch `b`'s opening of `inputs.commitments[b]`) sum, per tag, to
/// `inputs.totals`. Refuses (`Inputs`) anything the proof could not show: totals that are not
/// one per tag or not below `2^150`, no batch, openings that are not one per batch, list other
/// tags, open another commitment or sum to another total.
pub fn prove(
    inputs: &AggregationInputs,
    openings: &[TotalsOpening],
    security: Security,
    blinding_seed: [u8; 32],
) -> Result<Proof, AggregationError> {
    let statement = statement_of(inputs)?;
    let plan = check_openings(&statement, openings)?;
    let options = security.options();
    let (n, r) = shape_of(&statement, &options)?;
    let trace = assemble(&honest_groups(&statement, openings, &plan), n, r, &blinding_seed);
    prove_trace(trace, statement, security, blinding_seed)
}

/// Proves any trace (honest or, in tests, forged) with salted commitments.
pub(crate) fn prove_trace(
    trace: prover::AggregationTrace,
    statement: Statement,
    security: Security,
    blinding_seed: [u8; 32],
) -> Result<Proof, AggregationError> {
    let inner = AggregationProver::new(security.options(), statement, blinding_seed);
    HidingProver::new(inner, &blinding_seed).prove(trace).map_err(|e| AggregationError::Prover(e.to_string()))
}

/// Verifies an aggregation proof against `inputs`, requiring `min_security_bits` (as
/// [`estimate`] counts them). The proof's options must be a preset's and its trace the shape
/// `inputs` imply; the proof's own word is taken for neither.
pub fn verify(proof: Proof, inputs: AggregationInputs, min_security_bits: u32) -> Result<Estimate, AggregationError> {
    let statement = statement_of(&inputs)?;
    check_shape(&proof, &statement)?;
    let figures = estimate(&proof, &inputs);
    if figures.conjectured < min_security_bits {
        return Err(AggregationError::InsufficientSecurity { required: min_security_bits, actual: figures.conjectured });
    }
    winterfell::verify::<AggregationAir, HashFn, RandomCoin, HidingCommit>(
        proof,
        statement,
        &AcceptableOptions::MinConjecturedSecurity(min_security_bits),
    )
    .map_err(|e| AggregationError::Rejected(e.to_string()))?;
    Ok(figures)
}

/// Both security figures of an aggregation proof (`stark_por_solvency::security`, with this
/// AIR's bus shape). Meaningful for a proof that passes [`verify`]'s shape check; a longer
/// trace than any preset can prove is counted at the longest.
pub fn estimate(proof: &Proof, inputs: &AggregationInputs) -> Estimate {
    let options = proof.options();
    let max_len = (1usize << MAX_LOG_LDE) / options.blowup_factor();
    let n = proof.trace_info().length().min(max_len);
    let info = TraceInfo::new_multi_segment(MAIN_WIDTH, AUX_WIDTH, NUM_AUX_RANDS, n, vec![]);
    let tags = totals_tags(inputs.num_assets, inputs.margin).len();
    stark_por_solvency::security::estimate::<HashFn>(
        options,
        &info,
        air::NUM_MAIN_CONSTRAINTS + air::NUM_AUX_CONSTRAINTS,
        &air::bus_shape(inputs.commitments.len(), tags),
    )
}

/// The AIR's statement: `inputs` checked (at least one batch, 1 to 4,095 assets, one total per
/// tag, each minimal and below `2^150`) and the totals turned into digits.
pub fn statement_of(inputs: &AggregationInputs) -> Result<Statement, AggregationError> {
    let refuse = |why: String| Err(AggregationError::Inputs(why));
    if inputs.commitments.is_empty() {
        return refuse("no batch commitments".into());
    }
    if inputs.num_assets == 0 || inputs.num_assets > MAX_ASSETS {
        return refuse(format!("{} assets: a statement lists 1 to {MAX_ASSETS}", inputs.num_assets));
    }
    let tags = totals_tags(inputs.num_assets, inputs.margin);
    if inputs.totals.len() != tags.len() {
        return refuse(format!("{} totals for {} tags", inputs.totals.len(), tags.len()));
    }
    let digits = tags
        .iter()
        .zip(&inputs.totals)
        .map(|(&(tag, _), total)| totals::digits_of(total).map_err(|why| AggregationError::Inputs(format!("total of tag {tag}: {why}"))))
        .collect::<Result<_, _>>()?;
    Ok(Statement {
        binding: inputs.binding,
        num_assets: inputs.num_assets,
        margin: inputs.margin,
        commitments: inputs.commitments.clone(),
        digits,
    })
}

/// The trace length and blinding rows of `statement` under `options`.
fn shape_of(statement: &Statement, options: &winterfell::ProofOptions) -> Result<(usize, usize), AggregationError> {
    let (b, t) = (statement.num_batches(), statement.digits.len());
    trace_length(b, t, options)
        .ok_or_else(|| AggregationError::Shape(format!("{b} batches of {t} tags do not fit one proof under these options")))
}

/// Rejects a proof whose options are not a preset's or whose trace is not exactly the shape the
/// statement implies, before winterfell builds an AIR from it.
fn check_shape(proof: &Proof, statement: &Statement) -> Result<(), AggregationError> {
    let options = proof.options();
    if Security::of(options).is_none() {
        return Err(AggregationError::UnknownOptions);
    }
    let info = proof.trace_info();
    let shape_err = |what: String| Err(AggregationError::Shape(what));
    if info.main_trace_width() != MAIN_WIDTH {
        return shape_err(format!("main width {} (expected {MAIN_WIDTH})", info.main_trace_width()));
    }
    if info.aux_segment_width() != AUX_WIDTH || info.get_num_aux_segment_rand_elements() != NUM_AUX_RANDS {
        return shape_err(format!(
            "auxiliary segment of width {} with {} challenges (expected {AUX_WIDTH} and {NUM_AUX_RANDS})",
            info.aux_segment_width(),
            info.get_num_aux_segment_rand_elements()
        ));
    }
    if !info.meta().is_empty() {
        return shape_err("unexpected trace metadata".into());
    }
    let (n, _) = shape_of(statement, options)?;
    if info.length() != n {
        return shape_err(format!(
            "trace length {} (expected {n} for {} batches of {} tags)",
            info.length(),
            statement.num_batches(),
            statement.digits.len()
        ));
    }
    Ok(())
}
