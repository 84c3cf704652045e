//! The aggregation proof (formats 4 and 5): every batch of a round publishes only a hiding
//! commitment to its totals (`stark_por_liabilities::committed`); this proof opens all of them
//! inside its own blinded trace and shows that, per tag, the batches' part sums add up exactly
//! to the round's public total. Design and soundness: `circuits/aggregation/README.md`.

use stark_por_liabilities::TotalsOpening;
pub use stark_por_solvency::{Estimate, Security};
use stark_por_solvency::hash::Digest;
use winterfell::Proof;

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
/// `inputs.totals`.
pub fn prove(
    _inputs: &AggregationInputs,
    _openings: &[TotalsOpening],
    _security: Security,
    _blinding_seed: [u8; 32],
) -> Result<Proof, AggregationError> {
    Err(AggregationError::Prover("not built yet".into()))
}

/// Verifies an aggregation proof against `inputs`, requiring `min_security_bits`.
pub fn verify(_proof: Proof, _inputs: AggregationInputs, _min_security_bits: u32) -> Result<Estimate, AggregationError> {
    Err(AggregationError::Rejected("not built yet".into()))
}

/// Both security figures of an aggregation proof.
pub fn estimate(_proof: &Proof, _inputs: &AggregationInputs) -> Estimate {
    unimplemented!("not built yet")
}
