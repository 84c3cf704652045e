//! Proof options presets and the number of blinding rows they call for.

use winterfell::{BatchingMethod, FieldExtension, ProofOptions};

/// The security presets a proof can be made with. The verifier accepts no other options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// ≥ 100 bits conjectured: quadratic extension (128-bit field), blowup 8, 28 queries,
    /// 20 bits of grinding → 103 bits.
    Bits100,
    /// 128 bits conjectured: cubic extension (192-bit field), blowup 16, 28 queries,
    /// 20 bits of grinding → min(131, 128 for the 256-bit commitment hash) = 128 bits.
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

    pub fn options(self) -> ProofOptions {
        // (queries, blowup, grinding, extension, FRI folding, FRI remainder max degree)
        let (q, blowup, grinding, ext) = match self {
            Security::Bits100 => (28, 8, 20, FieldExtension::Quadratic),
            Security::Bits128 => (28, 16, 20, FieldExtension::Cubic),
        };
        ProofOptions::new(q, blowup, grinding, ext, 8, 127, BatchingMethod::Linear, BatchingMethod::Linear)
    }

    /// The preset whose options these are, if any.
    pub fn of(options: &ProofOptions) -> Option<Self> {
        Self::ALL.into_iter().find(|s| &s.options() == options)
    }
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
