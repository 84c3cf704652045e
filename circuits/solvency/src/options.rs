//! Proof options presets and the number of blinding rows they call for.

use winterfell::{BatchingMethod, FieldExtension, ProofOptions};

/// The security presets a proof can be made with. The verifier accepts no other options (and
/// the option sets earlier releases made them with, [`legacy_options`]).
///
/// Figures are conjectured bits as `security.rs` counts them (every term, at every trace size;
/// table in `circuits/solvency/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// 103 bits at every size: cubic extension (192-bit field), blowup 8, 28 queries, 20 bits
    /// of grinding. The queries give 104 bits; the field terms, which grow with `n`, stay above
    /// 155 bits.
    Bits100,
    /// 128 bits at every size: cubic extension, blowup 16, 28 queries, 20 bits of grinding →
    /// 131 bits, capped at 128 by the 256-bit commitment hash.
    Bits128,
}

impl Security {
    pub const ALL: [Security; 2] = [Security::Bits100, Security::Bits128];

    pub fn name(self) -> &'static str {
        match self {
            Security::Bits100 => "100",
            Security::Bits128 => "128",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The options new proofs are made with.
    pub fn options(self) -> ProofOptions {
        match self {
            Security::Bits100 => preset_options(28, 8, 20, FieldExtension::Cubic),
            Security::Bits128 => preset_options(28, 16, 20, FieldExtension::Cubic),
        }
    }

    /// The preset whose options (today's) these are, if any.
    pub fn of(options: &ProofOptions) -> Option<Self> {
        Self::ALL.into_iter().find(|s| &s.options() == options)
    }
}

/// Whether this circuit's verifier accepts proofs made with `options`: a preset's, today's or
/// an earlier release's ([`legacy_options`]).
pub fn accepted(options: &ProofOptions) -> bool {
    accepted_sets().any(|o| &o == options)
}

/// Every option set [`accepted`] takes: the presets' of today, then those of earlier releases.
pub fn accepted_sets() -> impl Iterator<Item = ProofOptions> {
    Security::ALL.into_iter().map(Security::options).chain(legacy_options().into_iter().map(|(_, o)| o))
}

/// Option sets of earlier releases, still accepted so that their rounds verify forever — but
/// only while their honestly computed security meets the verifier's minimum.
///
/// Version 1 made `"100"` proofs over the quadratic extension (128-bit field): 103 bits up to
/// `n = 2^17` rows, falling below 100 above `n = 2^21` as the DEEP and bus terms grow.
pub fn legacy_options() -> [(Security, ProofOptions); 1] {
    [(Security::Bits100, preset_options(28, 8, 20, FieldExtension::Quadratic))]
}

/// (queries, blowup, grinding, extension); FRI folding 8, remainder degree ≤ 127, linear
/// batching.
fn preset_options(queries: usize, blowup: usize, grinding: u32, ext: FieldExtension) -> ProofOptions {
    ProofOptions::new(queries, blowup, grinding, ext, 8, 127, BatchingMethod::Linear, BatchingMethod::Linear)
}

/// Rows of uniformly random values appended to the trace so that everything the proof reveals
/// about each column is independent of the witness (see `docs/PRIVACY.md`).
///
/// A column interpolated over `n` points of which `r` are uniform has jointly uniform values at
/// any `r` points outside the trace domain (the map is a Cauchy-type matrix, hence invertible).
/// We count, per column and conservatively, every evaluation the proof can expose, each
/// extension-field value as `ext` base-field values:
/// - trace openings at each query `x` and, through the composition polynomial, at `g·x`: `2q`;
/// - the out-of-domain frame at `z` and `g·z`: `2·ext`;
/// - every FRI layer value the queries open, `q·folding` per layer (the DEEP polynomial mixes
///   all columns linearly), plus the remainder's coefficients: `ext·(q·folding·layers + rem)`.
pub fn blinding_rows(options: &ProofOptions, trace_len: usize) -> usize {
    let q = options.num_queries();
    let ext = options.field_extension().degree() as usize;
    let fri = options.to_fri_options();
    let layers = fri.num_fri_layers(trace_len * options.blowup_factor()) + 1;
    let remainder = fri.remainder_max_degree() + 1;
    2 * q + ext * (2 + q * fri.folding_factor() * layers + remainder)
}
