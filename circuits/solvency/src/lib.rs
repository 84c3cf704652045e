//! The solvency statement of stark-por.
//!
//! A trace proves, for N' leaves (a power of two) and K assets:
//! 1. every amount lies in `[0, 2^range_bits)`;
//! 2. each asset's public total is the exact integer sum of its amounts;
//! 3. the public root is the binary `Rp64_256` Merkle root of the leaves, each leaf hashing a
//!    tagged id commitment and its (asset, amount) entries;
//! 4. nothing else: padding leaves are ordinary leaves whose entries are empty.
//!
//! `air.rs` holds the constraints, `prover.rs` the trace builder, `hash.rs` the hashing that both
//! the trace and the inclusion proofs use. The constraint list, the trace layout and the
//! soundness argument are in `circuits/solvency/README.md`.

pub mod air;
pub mod hash;
pub mod hiding;
pub mod layout;
pub mod logup;
pub mod options;
pub mod prover;
pub mod security;

#[cfg(test)]
mod tests;

pub use air::{PublicInputs, SolvencyAir};
pub use options::Security;
pub use security::{BusShape, Estimate};
pub use prover::{build_trace, build_trace_with_tree, Leaf, SolvencyProver, StatementParams};

use winterfell::{AcceptableOptions, Proof, ProofOptions, Prover, TraceInfo};

use crate::air::{NUM_AUX_CONSTRAINTS, NUM_MAIN_CONSTRAINTS};
use crate::layout::{AUX_WIDTH, MAIN_WIDTH, NUM_AUX_RANDS, TABLE_SIZE};
use crate::options::blinding_rows;
use crate::prover::{HashFn, RandomCoin, VectorCommit, MAX_LOG_LDE};

/// Everything that can go wrong in the circuit layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    #[error("range bound of {0} bits is unsupported (supported: 32 to 63)")]
    RangeBits(u32),
    #[error("the tree needs a power-of-two number of leaves, at least 2; got {0}")]
    LeafCount(usize),
    #[error("leaf {leaf}: asset {asset} is not in the asset list")]
    UnknownAsset { leaf: usize, asset: u32 },
    #[error("leaf {leaf}: amount {amount} of asset {asset} is not below 2^{bits}")]
    OutOfRange { leaf: usize, asset: u32, amount: u64, bits: u32 },
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
}

/// Proves the statement over `leaves`. Returns the proof and its public inputs.
pub fn prove(
    leaves: &[Leaf],
    params: &StatementParams,
    security: Security,
    blinding_seed: [u8; 32],
) -> Result<(Proof, PublicInputs), CircuitError> {
    prove_with_tree(leaves, params, security, blinding_seed).map(|(proof, pi, _)| (proof, pi))
}

/// [`prove`], also returning the Merkle tree over the leaves (heap-numbered: `tree[1]` is the
/// root, leaf `j` is `tree[N' + j]`), so inclusion proofs need not hash the tree again.
pub fn prove_with_tree(
    leaves: &[Leaf],
    params: &StatementParams,
    security: Security,
    blinding_seed: [u8; 32],
) -> Result<(Proof, PublicInputs, Vec<hash::Digest>), CircuitError> {
    let options = security.options();
    let (trace, pub_inputs, tree) = build_trace_with_tree(leaves, params, &options, blinding_seed)?;
    let prover = SolvencyProver::new(options, pub_inputs.clone(), blinding_seed);
    let proof = prover.prove(trace).map_err(|e| CircuitError::Prover(e.to_string()))?;
    Ok((proof, pub_inputs, tree))
}

/// Both security figures of `proof` for a statement over `num_assets` assets, from its options
/// and trace length (see `security.rs`). Only meaningful for a proof that passed
/// [`check_shape`].
pub fn estimate(proof: &Proof, num_assets: usize) -> Estimate {
    estimate_for(proof.options(), proof.trace_info().length(), num_assets)
}

/// Both security figures of a proof made with `options` over `trace_len` rows (a power of two,
/// `trace_len · blowup ≤ 2^31`) for `num_assets` assets.
pub fn estimate_for(options: &ProofOptions, trace_len: usize, num_assets: usize) -> Estimate {
    let info = TraceInfo::new_multi_segment(MAIN_WIDTH, AUX_WIDTH, NUM_AUX_RANDS, trace_len, vec![]);
    security::estimate::<HashFn>(options, &info, NUM_MAIN_CONSTRAINTS + NUM_AUX_CONSTRAINTS, &air::bus_shape(num_assets))
}

/// Verifies `proof` against `pub_inputs`, requiring at least `min_security_bits` of
/// conjectured security as [`estimate`] counts it. The proof's options must be one of our
/// presets (or an earlier release's) and its trace shape the one the statement implies; the
/// proof's own word is never taken for either. Returns the proof's figures.
pub fn verify(proof: Proof, pub_inputs: PublicInputs, min_security_bits: u32) -> Result<Estimate, CircuitError> {
    check_shape(&proof, &pub_inputs)?;
    let figures = estimate(&proof, pub_inputs.totals.len());
    if figures.conjectured < min_security_bits {
        return Err(CircuitError::InsufficientSecurity { required: min_security_bits, actual: figures.conjectured });
    }
    // winterfell's own conjectured figure is never below ours (it has fewer terms)
    winterfell::verify::<SolvencyAir, HashFn, RandomCoin, VectorCommit>(
        proof,
        pub_inputs,
        &AcceptableOptions::MinConjecturedSecurity(min_security_bits),
    )
    .map_err(|e| CircuitError::Rejected(e.to_string()))?;
    Ok(figures)
}

/// Rejects any proof whose options or trace shape differ from what the statement implies,
/// before winterfell builds an AIR from them (which would panic on some shapes).
pub fn check_shape(proof: &Proof, pi: &PublicInputs) -> Result<(), CircuitError> {
    use air::{MAX_RANGE_BITS, MIN_RANGE_BITS};
    let options = proof.options();
    if !options::accepted(options) {
        return Err(CircuitError::UnknownOptions);
    }
    if !(MIN_RANGE_BITS..=MAX_RANGE_BITS).contains(&pi.range_bits) {
        return Err(CircuitError::RangeBits(pi.range_bits));
    }
    let n_leaves = pi.num_leaves;
    if n_leaves < 2 || !n_leaves.is_power_of_two() || n_leaves > (1 << 40) {
        return Err(CircuitError::LeafCount(n_leaves as usize));
    }
    if pi.totals.is_empty() {
        return Err(CircuitError::Shape("no assets".into()));
    }
    let info = proof.trace_info();
    let shape_err = |what: String| Err(CircuitError::Shape(what));
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
    let n = info.length();
    // winterfell refuses an LDE domain above u32::MAX: n · blowup ≤ 2^31
    let max_len = (1usize << MAX_LOG_LDE) / options.blowup_factor();
    let min_real = (TABLE_SIZE as u64).max(2 * n_leaves - 1);
    let r = blinding_rows(options, n) as u64;
    if n > max_len || (n as u64) < min_real + r {
        return shape_err(format!(
            "trace length {n} cannot hold {n_leaves} leaves and {r} blinding rows (at most {max_len})"
        ));
    }
    Ok(())
}
