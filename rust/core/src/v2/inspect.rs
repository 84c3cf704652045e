//! Exposes the honest trace of one forest of a small version-2 or version-3 round, for the
//! independent Python reference of the liabilities constraints
//! (`circuits/liabilities/reference.py`), and proves given traces. Not used by proving or
//! verification.

use stark_por_liabilities::air::{LiabilitiesAir, CIRCUIT_VERSION};
use stark_por_liabilities::forest::{self, Forest};
use stark_por_liabilities::hash::{leaf_blocks, DEBT};
use stark_por_liabilities::layout::{COEF_DIGITS, MAIN_WIDTH, MAIN_WIDTH_MARGIN, PARTS};
use stark_por_liabilities::margin::{coef_digits, CIRCUIT_VERSION_MARGIN};
use stark_por_liabilities::prover::{build_aux_columns, LiabilitiesTrace};
use stark_por_liabilities::{build_margin_trace, build_trace, MarginInputs, PublicInputs, StatementParams};
pub use stark_por_liabilities::Prices;
use stark_por_solvency::air::Challenges;
use winterfell::math::{fields::f64::BaseElement as Felt, fields::QuadExtension, FieldElement};
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
    dump_forest(ledger, None, secret, round_id, challenges, capacity, index)
}

/// [`trace_dump`] of statement version 3: `kinds[e]` is entry `e`'s kind (0 equity, 1 debt; a
/// user's entries sorted by `(asset, kind)`), `prices` the per-asset coefficients. The circuit
/// checks the leaves and refuses an uncovered borrower; the forests are cut by leaf blocks (any
/// cut is a valid round; the trace grows to hold the margin section).
#[allow(clippy::too_many_arguments)]
pub fn trace_dump_margin(
    ledger: &WideLedgerRef<'_>,
    kinds: &[u8],
    prices: &Prices,
    secret: &[u8],
    round_id: &str,
    challenges: [[u64; 2]; 3],
    capacity: Option<u64>,
    index: usize,
) -> Result<ForestDump> {
    crate::check_users(ledger.user_ids, ledger.indptr, ledger.asset_index.len(), ledger.amounts_lo.len(), 0)?;
    if kinds.len() != ledger.asset_index.len() || ledger.amounts_hi.len() != ledger.amounts_lo.len() {
        return Err(Error::Input(format!(
            "{} kinds and {} high words for {} entries",
            kinds.len(),
            ledger.amounts_hi.len(),
            ledger.asset_index.len()
        )));
    }
    if let Some(e) = kinds.iter().position(|&k| k > 1) {
        return Err(Error::Input(format!("entry {e}: kind {} is neither 0 (equity) nor 1 (debt)", kinds[e])));
    }
    dump_forest(ledger, Some((kinds, prices)), secret, round_id, challenges, capacity, index)
}

fn dump_forest(
    ledger: &WideLedgerRef<'_>,
    margin: Option<(&[u8], &Prices)>,
    secret: &[u8],
    round_id: &str,
    challenges: [[u64; 2]; 3],
    capacity: Option<u64>,
    index: usize,
) -> Result<ForestDump> {
    let stub = Statement {
        round_id: round_id.to_string(),
        assets: ledger.assets.to_vec(),
        range_bits: ledger.range_bits,
        num_leaves: (ledger.user_ids.len() as u64).next_power_of_two().max(2),
        root: [0; 32],
        totals: vec![vec![]; ledger.assets.len()],
        margin: None,
        committed: false,
    };
    stub.validate()?;
    guard("building the trace", || {
        let (mut leaves, positions, _) = build_leaves(ledger, secret, round_id);
        if let Some((kinds, _)) = margin {
            // user s's entries, in ledger order, are those of leaf positions[s]
            for (s, &position) in positions.iter().enumerate() {
                let lo = ledger.indptr[s] as usize;
                for (k, entry) in leaves[position as usize].entries.iter_mut().enumerate() {
                    entry.tag += u32::from(kinds[lo + k]) * DEBT;
                }
            }
        }
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
        let seed = forest_seed(secret, round_id, index as u64, count as u64, &f, chunk, false);
        let circuit = |e: stark_por_liabilities::CircuitError| Error::Input(e.to_string());
        let dump = match margin {
            None => {
                let (trace, pi, _) = build_trace(chunk, f, &params, &options, seed).map_err(circuit)?;
                dump_of(&trace, &pi, &options, challenges, &seed, CIRCUIT_VERSION)
            },
            Some((_, prices)) => {
                let (trace, pi, _) = build_margin_trace(chunk, f, &params, prices, &options, seed).map_err(circuit)?;
                dump_of(&trace, &pi, &options, challenges, &seed, CIRCUIT_VERSION_MARGIN)
            },
        };
        Ok(ForestDump { dump, forest: f, count })
    })?
}

/// The main trace, its auxiliary columns for the challenges and what the verifier's side of the
/// buses expects, of either statement version.
fn dump_of<P: stark_por_liabilities::Statement>(
    trace: &LiabilitiesTrace,
    pi: &P,
    options: &winterfell::ProofOptions,
    challenges: [[u64; 2]; 3],
    seed: &[u8; 32],
    circuit_version: u64,
) -> TraceDump {
    let rand: Vec<Quad> = challenges.iter().map(|c| Quad::new(Felt::new(c[0]), Felt::new(c[1]))).collect();
    let rand = AuxRandElements::new(rand);
    let aux = build_aux_columns(trace, pi, options, &rand, seed);
    let (n, main_width, aux_width) = (trace.length(), trace.main_segment().num_cols(), aux.num_cols());
    let air = LiabilitiesAir::new(trace.info().clone(), pi.clone(), options.clone());
    let mut main = Vec::with_capacity(n * main_width);
    for row in 0..n {
        main.extend((0..main_width).map(|c| trace.get(c, row).as_int()));
    }
    let mut aux_out = Vec::with_capacity(n * aux_width * 2);
    for row in 0..n {
        for c in 0..aux_width {
            aux_out.extend(Quad::slice_as_base_elements(&[aux.get(c, row)]).iter().map(|x| x.as_int()));
        }
    }
    let expected = air.expected_sum(&Challenges::from_rand(rand.rand_elements()));
    let expected: Vec<u64> = Quad::slice_as_base_elements(&[expected]).iter().map(|x| x.as_int()).collect();
    TraceDump {
        main,
        aux: aux_out,
        rows: n,
        main_width,
        aux_width,
        last_real_row: air.last_real_row(),
        public_elements: pi.to_elements().iter().map(|x| x.as_int()).collect(),
        expected_sum: [expected[0], expected[1]],
        circuit_version,
    }
}

/// Proves a given main trace (row-major, `MAIN_WIDTH` wide, for instance a dump changed by a
/// test the way a cheating prover would) against the public inputs given as field elements
/// (`PublicInputs::to_elements` layout), then verifies the proof: `Ok(Ok(bits))` when the verifier
/// accepts, `Ok(Err(reason))` when it refuses. Lets the reference's dishonest traces be checked
/// against the real verifier; never used by proving or verification.
pub fn prove_trace(main: &[u64], public_elements: &[u64], security: Security) -> Result<std::result::Result<u32, String>> {
    let (pi, rest) = base_inputs(public_elements, CIRCUIT_VERSION)?;
    if !rest.is_empty() {
        return Err(Error::Input(format!("{} public elements left over after version 2's", rest.len())));
    }
    let columns = columns_of(main, MAIN_WIDTH)?;
    guard("proving a given trace", || {
        let prover = stark_por_liabilities::LiabilitiesProver::new(security.options(), pi.clone(), [7; 32]);
        Ok(prove_then_verify(prover, columns, |proof| stark_por_liabilities::verify(proof, pi, 0)))
    })?
}

/// [`prove_trace`] of statement version 3 (`MAIN_WIDTH_MARGIN` wide; public elements in
/// `MarginInputs::to_elements` layout: version 2's with 3 first, the debt totals' parts, per
/// asset the digits of its collateral and debt coefficients).
pub fn prove_trace_margin(main: &[u64], public_elements: &[u64], security: Security) -> Result<std::result::Result<u32, String>> {
    let (base, rest) = base_inputs(public_elements, CIRCUIT_VERSION_MARGIN)?;
    let k = base.totals.len();
    if rest.len() != k * (PARTS + 2 * COEF_DIGITS) {
        return Err(Error::Input(format!("{} margin elements do not fit {k} assets", rest.len())));
    }
    let (debts, digits) = rest.split_at(k * PARTS);
    let debt_totals = debts.chunks(PARTS).map(|c| core::array::from_fn(|p| Felt::new(c[p]))).collect();
    let coefficient = |d: &[u64]| -> Result<u128> {
        let c = d.iter().rev().fold(0u128, |acc, &x| (acc << 13) + x as u128);
        // the prover re-derives the digits from the coefficient: they must be its own
        match coef_digits(c).as_slice() == d {
            true => Ok(c),
            false => Err(Error::Input(format!("coefficient digits {d:?} are not 13-bit digits"))),
        }
    };
    let mut prices = Prices { collateral: vec![], debt: vec![] };
    for a in digits.chunks(2 * COEF_DIGITS) {
        prices.collateral.push(coefficient(&a[..COEF_DIGITS])?);
        prices.debt.push(coefficient(&a[COEF_DIGITS..])?);
    }
    let pi = MarginInputs { base, debt_totals, prices };
    let columns = columns_of(main, MAIN_WIDTH_MARGIN)?;
    guard("proving a given trace", || {
        let prover = stark_por_liabilities::LiabilitiesProver::new(security.options(), pi.clone(), [7; 32]);
        Ok(prove_then_verify(prover, columns, |proof| stark_por_liabilities::verify_margin(proof, pi, 0)))
    })?
}

/// Version 2's public inputs from the head of `e` (whose first element must be `version`), and
/// the elements after them.
fn base_inputs(e: &[u64], version: u64) -> Result<(PublicInputs, &[u64])> {
    let bad = |m: String| Error::Input(m);
    let header = |i: usize| e.get(i).copied().ok_or_else(|| bad(format!("only {} public elements", e.len())));
    let (k, n_roots) = (header(5)? as usize, header(6)? as usize);
    let roots_at = 15;
    let totals_at = roots_at + 4 * n_roots;
    let end = totals_at + PARTS * k;
    if e.len() < end || header(0)? != version {
        return Err(bad(format!("{} public elements do not fit version {version} with {k} assets and {n_roots} roots", e.len())));
    }
    let forest = Forest::new(e[1], e[2], e[3]).map_err(|x| bad(x.to_string()))?;
    let felts = |s: &[u64]| -> [Felt; 4] { core::array::from_fn(|i| Felt::new(s[i])) };
    let pi = PublicInputs {
        forest,
        range_bits: e[4] as u32,
        assets_digest: felts(&e[7..11]),
        round_digest: felts(&e[11..15]),
        roots: (0..n_roots).map(|i| felts(&e[roots_at + 4 * i..])).collect(),
        totals: (0..k).map(|a| core::array::from_fn(|p| Felt::new(e[totals_at + PARTS * a + p]))).collect(),
    };
    Ok((pi, &e[end..]))
}

fn columns_of(main: &[u64], width: usize) -> Result<Vec<Vec<Felt>>> {
    if main.is_empty() || !main.len().is_multiple_of(width) || !(main.len() / width).is_power_of_two() {
        return Err(Error::Input(format!("{} values are not a power-of-two number of rows of {width}", main.len())));
    }
    let rows = main.len() / width;
    Ok((0..width).map(|c| (0..rows).map(|r| Felt::new(main[r * width + c])).collect()).collect())
}

fn prove_then_verify<P: stark_por_liabilities::Statement>(
    prover: stark_por_liabilities::LiabilitiesProver<P>,
    columns: Vec<Vec<Felt>>,
    verify: impl FnOnce(winterfell::Proof) -> std::result::Result<stark_por_liabilities::Estimate, stark_por_liabilities::CircuitError>,
) -> std::result::Result<u32, String> {
    use winterfell::Prover;
    match prover.prove(LiabilitiesTrace::new(columns)) {
        Ok(proof) => verify(proof).map(|f| f.conjectured).map_err(|x| x.to_string()),
        Err(x) => Err(format!("the prover refused: {x}")),
    }
}
