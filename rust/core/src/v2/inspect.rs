//! Exposes the honest trace of one forest of a small version-2 round, for the independent
//! Python reference of the liabilities constraints (`circuits/liabilities/reference.py`). Not
//! used by proving or verification.

use stark_por_liabilities::air::{LiabilitiesAir, CIRCUIT_VERSION};
use stark_por_liabilities::forest::{self, Forest};
use stark_por_liabilities::hash::leaf_blocks;
use stark_por_liabilities::layout::{AUX_WIDTH, MAIN_WIDTH};
use stark_por_liabilities::prover::build_aux_columns;
use stark_por_liabilities::{build_trace, StatementParams};
use stark_por_solvency::air::Challenges;
use winterfell::math::{fields::f64::BaseElement as Felt, fields::QuadExtension, FieldElement, ToElements};
use winterfell::{Air, AuxRandElements, Trace};

use super::{build_leaves, forest_digest, forest_seed, Statement, WideLedgerRef};
use crate::error::{Error, Result};
use crate::inspect::TraceDump;
use crate::{guard, statement, Security};

type Quad = QuadExtension<Felt>;

/// One forest's honest trace, and where the forest sits in its round.
pub struct ForestDump {
    pub dump: TraceDump,
    pub forest: Forest,
    /// How many forests the round was cut into.
    pub count: usize,
}

/// Builds the trace `prove_round` would build (default security) for forest `index` of the round
/// of `ledger` cut into forests of at most `capacity` permutation rows (`None`: the whole tree
/// as one forest), and its auxiliary columns for the challenges `(α, β, δ)`, each a
/// quadratic-extension pair (the constraints hold over any extension).
pub fn trace_dump(
    ledger: &WideLedgerRef<'_>,
    secret: &[u8],
    round_id: &str,
    challenges: [[u64; 2]; 3],
    capacity: Option<u64>,
    index: usize,
) -> Result<ForestDump> {
    ledger.check()?;
    let stub = Statement {
        round_id: round_id.to_string(),
        assets: ledger.assets.to_vec(),
        range_bits: ledger.range_bits,
        num_leaves: (ledger.user_ids.len() as u64).next_power_of_two().max(2),
        root: [0; 32],
        totals: vec![vec![]; ledger.assets.len()],
    };
    stub.validate()?;
    guard("building the trace", || {
        let (leaves, _, _) = build_leaves(ledger, secret, round_id);
        let blocks: Vec<u16> = leaves.iter().map(|l| leaf_blocks(l.entries.len()) as u16).collect();
        let forests = forest::plan(&blocks, &[capacity.unwrap_or(u64::MAX)]).map_err(|e| Error::Input(e.to_string()))?;
        let count = forests.len();
        let f = *forests
            .get(index)
            .ok_or_else(|| Error::Input(format!("forest {index} of a round of {count} forests")))?;
        let chunk = &leaves[f.start as usize..f.end as usize];
        let params = StatementParams {
            num_assets: stub.assets.len(),
            range_bits: stub.range_bits,
            assets_digest: statement::assets_digest(&stub.assets),
            round_digest: forest_digest(round_id, index as u64, count as u64),
        };
        let options = Security::Bits100.options();
        let seed = forest_seed(secret, round_id, index as u64, count as u64, &f, chunk);
        let (trace, pi, _) = build_trace(chunk, f, &params, &options, seed).map_err(|e| Error::Input(e.to_string()))?;
        let rand: Vec<Quad> = challenges.iter().map(|c| Quad::new(Felt::new(c[0]), Felt::new(c[1]))).collect();
        let rand = AuxRandElements::new(rand);
        let aux = build_aux_columns(&trace, &pi, &options, &rand, &seed);
        let n = trace.length();
        let air = LiabilitiesAir::new(trace.info().clone(), pi.clone(), options);
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
        let expected = air.expected_sum(&Challenges::from_rand(rand.rand_elements()));
        let expected: Vec<u64> = Quad::slice_as_base_elements(&[expected]).iter().map(|x| x.as_int()).collect();
        let dump = TraceDump {
            main,
            aux: aux_out,
            rows: n,
            main_width: MAIN_WIDTH,
            aux_width: AUX_WIDTH,
            last_real_row: air.last_real_row(),
            public_elements: pi.to_elements().iter().map(|x| x.as_int()).collect(),
            expected_sum: [expected[0], expected[1]],
            circuit_version: CIRCUIT_VERSION,
        };
        Ok(ForestDump { dump, forest: f, count })
    })?
}

/// Proves a given main trace (row-major, `MAIN_WIDTH` wide, for instance a dump changed by a
/// test the way a cheating prover would) against the public inputs given as field elements
/// (`PublicInputs::to_elements` layout), then verifies the proof: `Ok(Ok(bits))` when the verifier
/// accepts, `Ok(Err(reason))` when it refuses. Lets the reference's dishonest traces be checked
/// against the real verifier; never used by proving or verification.
pub fn prove_trace(main: &[u64], public_elements: &[u64], security: Security) -> Result<std::result::Result<u32, String>> {
    use stark_por_liabilities::layout::PARTS;
    use stark_por_liabilities::{LiabilitiesProver, PublicInputs};
    use stark_por_liabilities::prover::LiabilitiesTrace;
    use winterfell::Prover;

    let bad = |m: String| Error::Input(m);
    if main.is_empty() || main.len() % MAIN_WIDTH != 0 || !(main.len() / MAIN_WIDTH).is_power_of_two() {
        return Err(bad(format!("{} values are not a power-of-two number of rows of {MAIN_WIDTH}", main.len())));
    }
    let e = public_elements;
    let header = |i: usize| e.get(i).copied().ok_or_else(|| bad(format!("only {} public elements", e.len())));
    let (k, n_roots) = (header(5)? as usize, header(6)? as usize);
    if e.len() != 15 + 4 * n_roots + PARTS * k || header(0)? != CIRCUIT_VERSION {
        return Err(bad(format!("{} public elements do not fit version 2 with {k} assets and {n_roots} roots", e.len())));
    }
    let forest = Forest::new(e[1], e[2], e[3]).map_err(|x| bad(x.to_string()))?;
    let felts = |s: &[u64]| -> [Felt; 4] { core::array::from_fn(|i| Felt::new(s[i])) };
    let roots_at = 15;
    let totals_at = roots_at + 4 * n_roots;
    let pi = PublicInputs {
        forest,
        range_bits: e[4] as u32,
        assets_digest: felts(&e[7..11]),
        round_digest: felts(&e[11..15]),
        roots: (0..n_roots).map(|i| felts(&e[roots_at + 4 * i..])).collect(),
        totals: (0..k).map(|a| core::array::from_fn(|p| Felt::new(e[totals_at + PARTS * a + p]))).collect(),
    };
    let rows = main.len() / MAIN_WIDTH;
    let columns: Vec<Vec<Felt>> =
        (0..MAIN_WIDTH).map(|c| (0..rows).map(|r| Felt::new(main[r * MAIN_WIDTH + c])).collect()).collect();
    guard("proving a given trace", || {
        let prover = LiabilitiesProver::new(security.options(), pi.clone(), [7; 32]);
        let proof = match prover.prove(LiabilitiesTrace::new(columns)) {
            Ok(p) => p,
            Err(x) => return Ok(Err(format!("the prover refused: {x}"))),
        };
        Ok(stark_por_liabilities::verify(proof, pi, 0).map(|f| f.conjectured).map_err(|x| x.to_string()))
    })?
}
