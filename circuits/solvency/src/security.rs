//! How many bits of security a proof carries, from every term its soundness error has.
//!
//! winterfell's own conjectured figure, `min(field, queries·log2(blowup) + grinding) − 1`, has
//! no term that grows with the trace length `n`. Two do: the DEEP out-of-domain check and the
//! log-derivative identity of the buses. Here each term is a soundness error `2^−λᵢ`:
//!
//! | term | error | where from |
//! |---|---|---|
//! | field | `1/\|F\|` | constraint composition, linear batching (winterfell's field term) |
//! | queries | `2^−(q·log2(blowup) + grinding)` | FRI queries, under the ethSTARK conjecture (grinding counts once the queries give ≥ 80 bits, as in winterfell) |
//! | DEEP | `((blowup + 1)·(n + 1) + (n − 1))/\|F\|` | winterfell's DEEP term (list size 1, the conjecture's regime); `blowup + 1` bounds the constraint degree |
//! | bus | `((T + W)·n + P + Q + e)/\|F\|` | the log-derivative identity, Schwartz–Zippel over the challenges: see [`BusShape`] |
//!
//! `|F| = p^ext` is the extension field the challenges are drawn from.
//!
//! The conjectured figure is the largest whole number of bits strictly below
//! `−log2(Σ 2^−λᵢ)` (a union bound over the terms, which for one dominant term is winterfell's
//! "− 1"), capped by the commitment hash's collision resistance. The derivation, and the table
//! of every term at the smallest and the largest supported size, are in
//! `circuits/solvency/README.md`.
//!
//! The **proven** figure is winterfell's own (`Proof::proven_security`: the better of its
//! list- and unique-decoding estimates, round by round), and no more than the bus term, which
//! is one more round of that protocol.
//!
//! A batched round is accepted only if every batch verifies, and a false round needs a false
//! batch; each Fiat–Shamir query an attacker makes advances one batch's transcript, so a round
//! is as hard to forge as its weakest batch (no `log2(B)` loss): its figure is the batches'
//! minimum.

use winter_air::proof::Context;
use winterfell::crypto::Hasher;
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};
use winterfell::{Proof, ProofOptions, TraceInfo};

/// winterfell counts grinding only once the queries alone give this many bits.
const GRINDING_FLOOR: f64 = 80.0;

/// The shape of a circuit's log-derivative identity, what its soundness error depends on. A
/// new circuit version passes its own.
///
/// The identity `Σ_rows Σ_terms nᵢ/dᵢ = Σ_public N/D` is checked at one random point
/// `(α, β, δ)` drawn after the main trace is committed; each denominator is a *pole*
/// `α − (bus + β·v₀ + β²·v₁ + …)`, of degree `len(v)` in the challenges, and each numerator
/// a polynomial in them of degree at most `numerator_degree`. A dishonest trace passes when
/// 1. a denominator vanishes at the point (the helper column's constraint then no longer
///    fixes its value): each pole is `α` minus something free of `α`, so at most one in
///    `|F|` per pole, `M = T·n + P` poles in all; or
/// 2. none vanishes and the false identity holds at the point: clearing denominators gives a
///    non-zero polynomial of total degree at most `e + W·n + Q`, which vanishes at a random
///    point with probability at most its degree over `|F|` (Schwartz–Zippel).
///
/// So `ε_bus ≤ ((T + W)·n + P + Q + e) / |F|`, counting every row of the trace (the blinding
/// rows add no term: they are not summed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusShape {
    /// `T`: fractions each row adds to the running sum.
    pub terms_per_row: u64,
    /// `W`: the sum of the degrees of one row's denominators.
    pub pole_degree_per_row: u64,
    /// `P`: fractions on the verifier's side of the identity.
    pub public_terms: u64,
    /// `Q`: the sum of the degrees of their denominators.
    pub public_pole_degree: u64,
    /// `e`: the largest degree of a numerator in the challenges.
    pub numerator_degree: u64,
}

impl BusShape {
    /// `|F| · ε_bus` for a trace of `n` rows.
    pub fn error_numerator(&self, n: u64) -> f64 {
        let poles = self.terms_per_row as f64 * n as f64 + self.public_terms as f64;
        let degree = self.numerator_degree as f64
            + self.pole_degree_per_row as f64 * n as f64
            + self.public_pole_degree as f64;
        poles + degree
    }
}

/// Each term of a proof's conjectured security, in bits (`λ` for an error of `2^−λ`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terms {
    pub field: f64,
    pub queries: f64,
    pub deep: f64,
    pub bus: f64,
    /// Collision resistance of the commitment hash.
    pub hash: u32,
}

impl Terms {
    /// Every term of a proof made with `options` over `n` rows, for a circuit whose buses
    /// have `bus`'s shape.
    pub fn compute<H: Hasher>(options: &ProofOptions, n: usize, bus: &BusShape) -> Self {
        let field = field_bits(options);
        let blowup = options.blowup_factor() as f64;
        let mut queries = options.num_queries() as f64 * blowup.log2();
        if queries >= GRINDING_FLOOR {
            queries += options.grinding_factor() as f64;
        }
        let n_f = n as f64;
        let deep = field - ((blowup + 1.0) * (n_f + 1.0) + (n_f - 1.0)).log2();
        let bus = field - bus.error_numerator(n as u64).log2();
        Self { field, queries, deep, bus, hash: H::COLLISION_RESISTANCE }
    }

    /// `−log2` of the sum of the statistical errors.
    pub fn statistical(&self) -> f64 {
        let least = self.field.min(self.queries).min(self.deep).min(self.bus);
        let rest: f64 = [self.field, self.queries, self.deep, self.bus].iter().map(|b| (least - b).exp2()).sum();
        least - rest.log2()
    }

    /// The conjectured figure: whole bits strictly below the statistical union, capped by the
    /// hash.
    pub fn conjectured(&self) -> u32 {
        bits_below(self.statistical()).min(self.hash)
    }
}

/// Both figures for one proof shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub terms: Terms,
    /// Conjectured security in bits: what `min_security` is enforced on.
    pub conjectured: u32,
    /// winterfell's proven figure for this shape (which knows nothing of the buses).
    pub winterfell_proven: u32,
    /// Proven security in bits: winterfell's proven figure, capped by the bus term.
    pub proven: u32,
}

/// Both figures of a proof made with `options` over a trace of this shape. `num_constraints`
/// is only read by winterfell's proven estimate under algebraic batching, which no accepted
/// option set uses.
pub fn estimate<H: Hasher>(options: &ProofOptions, trace: &TraceInfo, num_constraints: usize, bus: &BusShape) -> Estimate {
    let terms = Terms::compute::<H>(options, trace.length(), bus);
    let winterfell = winterfell_proven::<H>(options, trace, num_constraints);
    Estimate {
        terms,
        conjectured: terms.conjectured(),
        winterfell_proven: winterfell,
        proven: winterfell.min(bits_below(terms.bus)),
    }
}

/// winterfell's proven security (the better of its list- and unique-decoding estimates, as
/// its verifier's `MinProvenSecurity` reads it) for this shape. The trace must fit winterfell's
/// LDE domain (`n · blowup ≤ 2^31`, see `check_shape`).
fn winterfell_proven<H: Hasher>(options: &ProofOptions, trace: &TraceInfo, num_constraints: usize) -> u32 {
    let mut proof = Proof::new_dummy();
    proof.context = Context::new::<Felt>(trace.clone(), options.clone(), num_constraints.max(1));
    let proven = proof.proven_security::<H>();
    proven.ldr_bits().max(proven.udr_bits())
}

/// `log2 |F|` of the proof's extension field (exactly, not `64 · ext`).
fn field_bits(options: &ProofOptions) -> f64 {
    options.field_extension().degree() as f64 * (Felt::MODULUS as f64).log2()
}

/// The largest whole number strictly below `bits` (0 for anything below 1): an error sum of
/// `2^−103.0` computed in floating point may truly be a hair above it.
fn bits_below(bits: f64) -> u32 {
    if bits <= 1.0 {
        0
    } else {
        (bits.ceil() - 1.0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_bits_are_strictly_below() {
        assert_eq!(bits_below(103.9), 103);
        assert_eq!(bits_below(104.0), 103);
        assert_eq!(bits_below(0.5), 0);
    }
}
