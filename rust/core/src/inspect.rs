//! Exposes the honest trace of a small ledger, for the independent Python reference of the
//! constraints (`circuits/solvency/reference.py`). Not used by proving or verification.

use stark_por_solvency::air::{SolvencyAir, CIRCUIT_VERSION};
use stark_por_solvency::layout::{AUX_WIDTH, MAIN_WIDTH};
use stark_por_solvency::prover::build_aux_columns;
use stark_por_solvency::{build_trace, StatementParams};
use winterfell::math::{fields::f64::BaseElement as Felt, fields::QuadExtension, FieldElement};
use winterfell::{Air, AuxRandElements, Trace};

use crate::error::{Error, Result};
use crate::{build_leaves, check_ledger, guard, kdf, witness_digest, LedgerRef, Security, Statement};

type Quad = QuadExtension<Felt>;

/// An honest trace with its public inputs.
pub struct TraceDump {
    /// Row-major `n × MAIN_WIDTH` canonical values.
    pub main: Vec<u64>,
    /// Row-major `n × AUX_WIDTH × 2` (quadratic extension coordinates).
    pub aux: Vec<u64>,
    pub rows: usize,
    pub main_width: usize,
    pub aux_width: usize,
    pub last_real_row: usize,
    /// The circuit's public inputs as field elements (what Fiat–Shamir absorbs).
    pub public_elements: Vec<u64>,
    /// The value the running sum must reach, for these challenges.
    pub expected_sum: [u64; 2],
    pub circuit_version: u64,
}

/// Builds the trace `prove` would build (default security), and its auxiliary columns for the
/// given challenges `(α, β, δ)`, each a quadratic-extension pair.
pub fn trace_dump(ledger: &LedgerRef<'_>, secret: &[u8], round_id: &str, challenges: [[u64; 2]; 3]) -> Result<TraceDump> {
    check_ledger(ledger, 0)?;
    guard("building the trace", || {
        let (leaves, _) = build_leaves(ledger, secret, round_id);
        let stub = Statement {
            round_id: round_id.into(),
            assets: ledger.assets.to_vec(),
            range_bits: ledger.range_bits,
            num_leaves: 0,
            root: [0; 32],
            totals: vec![],
        };
        let params = StatementParams {
            num_assets: ledger.assets.len(),
            range_bits: ledger.range_bits,
            assets_digest: stub.assets_digest(),
            round_digest: stub.round_digest(),
        };
        let options = Security::Bits100.options();
        let seed = kdf::blinding_seed(secret, round_id, &witness_digest(&leaves));
        let (trace, pi) = build_trace(&leaves, &params, &options, seed).map_err(Error::from)?;
        let rand: Vec<Quad> = challenges
            .iter()
            .map(|c| Quad::new(Felt::new(c[0]), Felt::new(c[1])))
            .collect();
        let rand = AuxRandElements::new(rand);
        let aux = build_aux_columns(&trace, &pi, &options, &rand, &seed);
        let n = trace.length();
        let air = SolvencyAir::new(trace.info().clone(), pi.clone(), options);
        let mut main = Vec::with_capacity(n * MAIN_WIDTH);
        for row in 0..n {
            main.extend((0..MAIN_WIDTH).map(|c| trace.get(c, row).as_int()));
        }
        let mut aux_out = Vec::with_capacity(n * AUX_WIDTH * 2);
        for row in 0..n {
            for c in 0..AUX_WIDTH {
                aux_out.extend(Quad::slice_as_base_elements(&[aux.get(c, row)]).iter().map(|x| x.as_int()));
            }
        }
        let ch = stark_por_solvency::air::Challenges::from_rand(rand.rand_elements());
        let expected = air.expected_sum(&ch);
        let expected: Vec<u64> = Quad::slice_as_base_elements(&[expected]).iter().map(|x| x.as_int()).collect();
        use winterfell::math::ToElements;
        Ok(TraceDump {
            main,
            aux: aux_out,
            rows: n,
            main_width: MAIN_WIDTH,
            aux_width: AUX_WIDTH,
            last_real_row: air.last_real_row(),
            public_elements: pi.to_elements().iter().map(|x| x.as_int()).collect(),
            expected_sum: [expected[0], expected[1]],
            circuit_version: CIRCUIT_VERSION,
        })
    })?
}
