//! `stark_por._native`: converts Python values to core types and core errors to the exceptions
//! declared in `stark_por/errors.py`. No logic lives here.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt};
use stark_por_core::inclusion::{Anchor, Expected, InclusionEntry, InclusionProof};
use stark_por_core::statement::{Margin, PriceTerm, Summary};
use stark_por_core::v2::{self, AnyStatement, AnyVerified, WideLedgerRef};
use stark_por_core::{self as core, Asset, Error, LedgerRef, Security, Statement};

/// Maps the core's one error type to our Python exceptions, in one place.
fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let errors = match PyModule::import(py, "stark_por.errors") {
        Ok(m) => m,
        Err(e) => return e,
    };
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        let (class, message) = match &err {
            Error::Ledger { user, asset, message } => {
                kwargs.set_item("index", *user)?;
                kwargs.set_item("column", asset.clone())?;
                ("LedgerError", message.clone())
            },
            Error::Input(m) => return Ok(PyValueError::new_err(m.clone())),
            Error::Format { offset, message } => {
                kwargs.set_item("offset", *offset)?;
                ("ProofFormatError", format!("byte {offset}: {message}"))
            },
            Error::Invalid(m) => ("InvalidProof", m.clone()),
            Error::InsufficientSecurity { required, actual } => {
                let exc = errors.getattr("InsufficientSecurity")?.call1((*required, *actual))?;
                return Ok(PyErr::from_value(exc));
            },
            Error::Inclusion(e) => {
                kwargs.set_item("reason", e.reason())?;
                ("InvalidInclusionProof", e.to_string())
            },
            Error::Work(m) => ("WorkFolderError", m.clone()),
            Error::Internal(m) => return Ok(pyo3::exceptions::PyRuntimeError::new_err(m.clone())),
        };
        let exc = errors.getattr(class)?.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

fn security(name: &str) -> PyResult<Security> {
    Security::from_name(name).ok_or_else(|| PyValueError::new_err(format!("security must be \"100\" or \"128\", not {name:?}")))
}

/// The fields every statement version has, as a dict; `security` is the proof's (conjectured,
/// proven) bits when known.
#[allow(clippy::too_many_arguments)]
fn statement_fields<'py>(
    py: Python<'py>,
    statement_version: u16,
    round_id: &str,
    assets: &[Asset],
    root: &[u8; 32],
    num_leaves: u64,
    range_bits: u32,
    security: Option<(u32, u32)>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("statement_version", statement_version)?;
    d.set_item("round_id", round_id)?;
    d.set_item("assets", assets.iter().map(|a| (a.name.clone(), a.decimals)).collect::<Vec<_>>())?;
    d.set_item("root", PyBytes::new(py, root))?;
    d.set_item("num_leaves", num_leaves)?;
    d.set_item("range_bits", range_bits)?;
    d.set_item("security_bits", security.map(|s| s.0))?;
    d.set_item("proven_security_bits", security.map(|s| s.1))?;
    Ok(d)
}

/// A version-1 statement as a dict (its totals fit a u128).
fn statement_dict<'py>(py: Python<'py>, s: &Statement, security: Option<(u32, u32)>) -> PyResult<Bound<'py, PyDict>> {
    let d = statement_fields(py, 1, &s.round_id, &s.assets, &s.root, s.num_leaves, s.range_bits, security)?;
    d.set_item("totals", (0..s.assets.len()).map(|k| s.total(k)).collect::<Vec<u128>>())?;
    Ok(d)
}

/// A version-2 or version-3 statement as a dict: totals of any size, from their minimal
/// little-endian bytes to exact Python ints (`int.from_bytes`), never through a fixed-width
/// integer; `margin` None (version 2) or dict(unit_exp, prices=[None | (price, haircut)],
/// debt_totals=[int], coefficients=[(collateral, debt)]); `format_version` (2 to 5) and
/// `committed` (formats 4 and 5: the forests' totals are committed, with an aggregation proof).
fn statement_dict_v2<'py>(py: Python<'py>, s: &v2::Statement, security: Option<(u32, u32)>) -> PyResult<Bound<'py, PyDict>> {
    let d = statement_fields(py, s.statement_version(), &s.round_id, &s.assets, &s.root, s.num_leaves, s.range_bits, security)?;
    d.set_item("format_version", s.format_version())?;
    d.set_item("committed", s.committed)?;
    let from_bytes = py.get_type::<PyInt>().getattr("from_bytes")?;
    let ints = |values: &[Vec<u8>]| values.iter().map(|t| from_bytes.call1((PyBytes::new(py, t), "little"))).collect::<PyResult<Vec<_>>>();
    d.set_item("totals", ints(&s.totals)?)?;
    match &s.margin {
        None => d.set_item("margin", py.None())?,
        Some(m) => {
            let coefficients = m.coefficients(&s.assets).map_err(|e| to_py(py, e))?;
            let margin = PyDict::new(py);
            margin.set_item("unit_exp", m.unit_exp)?;
            margin.set_item("prices", m.prices.iter().map(|p| p.as_ref().map(|t| (t.price.clone(), t.haircut.clone()))).collect::<Vec<_>>())?;
            margin.set_item("debt_totals", ints(&m.debt_totals)?)?;
            margin.set_item("coefficients", coefficients.collateral.into_iter().zip(coefficients.debt).collect::<Vec<(u128, u128)>>())?;
            d.set_item("margin", margin)?;
        },
    }
    Ok(d)
}

/// Prices as Python passes them: one per asset, None or (price, haircut) canonical decimals.
type PricesArg = Vec<Option<(String, String)>>;

fn price_terms(prices: Option<PricesArg>) -> Option<Vec<Option<PriceTerm>>> {
    prices.map(|p| p.into_iter().map(|t| t.map(|(price, haircut)| PriceTerm { price, haircut })).collect())
}

/// A ledger copied out of Python, so the heavy work can run without the GIL. `amounts` are the
/// low words of the amounts; `amounts_hi` their high words (version 2), empty for version 1;
/// `kinds` empty (all equity) or one per entry (0 equity, 1 debt).
struct OwnedLedger {
    user_ids: Vec<String>,
    assets: Vec<Asset>,
    indptr: Vec<u64>,
    asset_index: Vec<u32>,
    amounts: Vec<u64>,
    amounts_hi: Vec<u64>,
    kinds: Vec<u8>,
    range_bits: u32,
}

impl OwnedLedger {
    fn new(
        user_ids: Vec<String>,
        assets: Vec<(String, u8)>,
        indptr: PyReadonlyArray1<'_, u64>,
        asset_index: PyReadonlyArray1<'_, u32>,
        amounts: PyReadonlyArray1<'_, u64>,
        range_bits: u32,
    ) -> PyResult<Self> {
        Ok(Self {
            user_ids,
            assets: assets.into_iter().map(|(name, decimals)| Asset { name, decimals }).collect(),
            indptr: indptr.to_vec()?,
            asset_index: asset_index.to_vec()?,
            amounts: amounts.to_vec()?,
            amounts_hi: Vec::new(),
            kinds: Vec::new(),
            range_bits,
        })
    }

    /// The same ledger with the high words of version-2 amounts.
    fn with_high_words(mut self, amounts_hi: PyReadonlyArray1<'_, u64>) -> PyResult<Self> {
        self.amounts_hi = amounts_hi.to_vec()?;
        Ok(self)
    }

    /// The same ledger with each entry's kind (None: all equity).
    fn with_kinds(mut self, kinds: Option<PyReadonlyArray1<'_, u8>>) -> PyResult<Self> {
        self.kinds = kinds.map(|k| k.to_vec()).transpose()?.unwrap_or_default();
        Ok(self)
    }

    fn wide(&self) -> WideLedgerRef<'_> {
        WideLedgerRef {
            user_ids: &self.user_ids,
            assets: &self.assets,
            indptr: &self.indptr,
            asset_index: &self.asset_index,
            amounts_lo: &self.amounts,
            amounts_hi: &self.amounts_hi,
            kinds: &self.kinds,
            range_bits: self.range_bits,
        }
    }

    fn view(&self) -> LedgerRef<'_> {
        LedgerRef {
            user_ids: &self.user_ids,
            assets: &self.assets,
            indptr: &self.indptr,
            asset_index: &self.asset_index,
            amounts: &self.amounts,
            range_bits: self.range_bits,
        }
    }
}

/// prove(user_ids, assets, indptr, asset_index, amounts, range_bits, secret, round_id, security,
/// batch_log2=None) -> dict(file=bytes, statement=dict, positions=list, trace_rows=int,
///         trace_columns=int, salts=bytes (32 per user), tree=bytes (32 per heap node, 2·N' nodes))
/// With `batch_log2 = k`, a round of more than 2^k leaves is proved in batches of 2^k (kind 2).
#[pyfunction]
#[pyo3(signature = (user_ids, assets, indptr, asset_index, amounts, range_bits, secret, round_id, security_name, batch_log2=None))]
#[allow(clippy::too_many_arguments)]
fn prove<'py>(
    py: Python<'py>,
    user_ids: Vec<String>,
    assets: Vec<(String, u8)>,
    indptr: PyReadonlyArray1<'py, u64>,
    asset_index: PyReadonlyArray1<'py, u32>,
    amounts: PyReadonlyArray1<'py, u64>,
    range_bits: u32,
    secret: &[u8],
    round_id: &str,
    security_name: &str,
    batch_log2: Option<u32>,
) -> PyResult<Bound<'py, PyDict>> {
    let security = security(security_name)?;
    let ledger = OwnedLedger::new(user_ids, assets, indptr, asset_index, amounts, range_bits)?;
    let (secret, round_id) = (secret.to_vec(), round_id.to_string());
    let out = py
        .detach(|| match batch_log2 {
            None => core::prove(&ledger.view(), &secret, &round_id, security),
            Some(k) => core::prove_round(&ledger.view(), &secret, &round_id, security, k, 0),
        })
        .map_err(|e| to_py(py, e))?;
    let d = PyDict::new(py);
    d.set_item("file", PyBytes::new(py, &out.file))?;
    d.set_item("statement", statement_dict(py, &out.statement, Some((out.security_bits, out.proven_security_bits)))?)?;
    d.set_item("positions", out.positions)?;
    d.set_item("trace_rows", out.trace_rows)?;
    d.set_item("trace_columns", out.trace_columns)?;
    d.set_item("salts", PyBytes::new(py, out.salts.as_flattened()))?;
    d.set_item("tree", PyBytes::new(py, out.tree.as_flattened()))?;
    Ok(d)
}

/// prove_v2(user_ids, assets, indptr, asset_index, amounts_lo, amounts_hi, range_bits, secret,
/// round_id, security, trace_log2=None, kinds=None, prices=None, committed=False) -> dict(file=bytes,
///         statement=dict, positions=list, salts=bytes (32 per user), tree=bytes (32 per heap
///         node, 2·N' nodes), trace_rows=list (per forest), trace_columns=int,
///         forests=[(start, end)], working_rows=(used, total))
/// A version-2 round: amount e is `amounts_lo[e] + 2^64 · amounts_hi[e]`, below `2^range_bits`;
/// forests fill traces of `2^trace_log2` rows (default 2^16) and are proved side by side.
/// With `prices` (one per asset: None or (price, haircut) canonical decimals) a version-3
/// round: `kinds` (uint8 parallel to `asset_index`, 1 = debt) may then hold debts. With
/// `committed` the forests commit to their totals and the file ends with the aggregation proof
/// (format 4, or 5 with prices) instead of publishing them (formats 2 and 3).
#[pyfunction]
#[pyo3(signature = (user_ids, assets, indptr, asset_index, amounts_lo, amounts_hi, range_bits, secret, round_id, security_name, trace_log2=None, kinds=None, prices=None, committed=false))]
#[allow(clippy::too_many_arguments)]
fn prove_v2<'py>(
    py: Python<'py>,
    user_ids: Vec<String>,
    assets: Vec<(String, u8)>,
    indptr: PyReadonlyArray1<'py, u64>,
    asset_index: PyReadonlyArray1<'py, u32>,
    amounts_lo: PyReadonlyArray1<'py, u64>,
    amounts_hi: PyReadonlyArray1<'py, u64>,
    range_bits: u32,
    secret: &[u8],
    round_id: &str,
    security_name: &str,
    trace_log2: Option<u32>,
    kinds: Option<PyReadonlyArray1<'py, u8>>,
    prices: Option<PricesArg>,
    committed: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let security = security(security_name)?;
    let ledger = OwnedLedger::new(user_ids, assets, indptr, asset_index, amounts_lo, range_bits)?
        .with_high_words(amounts_hi)?
        .with_kinds(kinds)?;
    let (secret, round_id) = (secret.to_vec(), round_id.to_string());
    let trace_log2 = trace_log2.unwrap_or(v2::DEFAULT_TRACE_LOG2);
    let prices = price_terms(prices);
    let out = py
        .detach(|| v2::prove_round(&ledger.wide(), &secret, &round_id, security, trace_log2, 0, prices.as_deref(), committed))
        .map_err(|e| to_py(py, e))?;
    let d = PyDict::new(py);
    d.set_item("file", PyBytes::new(py, &out.file))?;
    d.set_item("statement", statement_dict_v2(py, &out.statement, Some((out.security_bits, out.proven_security_bits)))?)?;
    d.set_item("positions", out.positions)?;
    d.set_item("salts", PyBytes::new(py, out.salts.as_flattened()))?;
    d.set_item("tree", PyBytes::new(py, out.tree.as_flattened()))?;
    d.set_item("trace_rows", out.trace_rows)?;
    d.set_item("trace_columns", out.trace_columns)?;
    d.set_item("forests", out.forests.iter().map(|f| (f.start, f.end)).collect::<Vec<_>>())?;
    d.set_item("working_rows", out.working_rows)?;
    Ok(d)
}

/// trace_dump(user_ids, assets, indptr, asset_index, amounts, range_bits, secret, round_id,
/// challenges) -> dict(main=(n, 120) uint64, aux=(n, 5, 2) uint64, ...), for the reference.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn trace_dump<'py>(
    py: Python<'py>,
    user_ids: Vec<String>,
    assets: Vec<(String, u8)>,
    indptr: PyReadonlyArray1<'py, u64>,
    asset_index: PyReadonlyArray1<'py, u32>,
    amounts: PyReadonlyArray1<'py, u64>,
    range_bits: u32,
    secret: &[u8],
    round_id: &str,
    challenges: [[u64; 2]; 3],
) -> PyResult<Bound<'py, PyDict>> {
    let ledger = OwnedLedger::new(user_ids, assets, indptr, asset_index, amounts, range_bits)?;
    let (secret, round_id) = (secret.to_vec(), round_id.to_string());
    let dump = py
        .detach(|| core::inspect::trace_dump(&ledger.view(), &secret, &round_id, challenges))
        .map_err(|e| to_py(py, e))?;
    let n = dump.rows;
    let d = PyDict::new(py);
    d.set_item("main", PyArray1::from_vec(py, dump.main).reshape([n, dump.main_width])?)?;
    d.set_item("aux", PyArray1::from_vec(py, dump.aux).reshape([n, dump.aux_width, 2])?)?;
    d.set_item("last_real_row", dump.last_real_row)?;
    d.set_item("public_elements", dump.public_elements)?;
    d.set_item("expected_sum", dump.expected_sum)?;
    d.set_item("circuit_version", dump.circuit_version)?;
    Ok(d)
}

/// trace_dump_v2(user_ids, assets, indptr, asset_index, amounts_lo, amounts_hi, range_bits,
/// secret, round_id, challenges, capacity=None, forest=0) -> dict(main=(n, 142) uint64,
/// aux=(n, 10, 2) uint64, ..., num_leaves, start, end, forests): forest `forest` of the round cut
/// into forests of at most `capacity` permutation rows (None: one forest), for the reference.
#[pyfunction]
#[pyo3(signature = (user_ids, assets, indptr, asset_index, amounts_lo, amounts_hi, range_bits, secret, round_id, challenges, capacity=None, forest=0))]
#[allow(clippy::too_many_arguments)]
fn trace_dump_v2<'py>(
    py: Python<'py>,
    user_ids: Vec<String>,
    assets: Vec<(String, u8)>,
    indptr: PyReadonlyArray1<'py, u64>,
    asset_index: PyReadonlyArray1<'py, u32>,
    amounts_lo: PyReadonlyArray1<'py, u64>,
    amounts_hi: PyReadonlyArray1<'py, u64>,
    range_bits: u32,
    secret: &[u8],
    round_id: &str,
    challenges: [[u64; 2]; 3],
    capacity: Option<u64>,
    forest: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let assets: Vec<Asset> = assets.into_iter().map(|(name, decimals)| Asset { name, decimals }).collect();
    let (indptr, asset_index) = (indptr.to_vec()?, asset_index.to_vec()?);
    let (amounts_lo, amounts_hi) = (amounts_lo.to_vec()?, amounts_hi.to_vec()?);
    let (secret, round_id) = (secret.to_vec(), round_id.to_string());
    let out = py
        .detach(|| {
            let ledger = core::v2::WideLedgerRef {
                user_ids: &user_ids,
                assets: &assets,
                indptr: &indptr,
                asset_index: &asset_index,
                amounts_lo: &amounts_lo,
                amounts_hi: &amounts_hi,
                kinds: &[],
                range_bits,
            };
            core::v2::inspect::trace_dump(&ledger, &secret, &round_id, challenges, capacity, forest)
        })
        .map_err(|e| to_py(py, e))?;
    forest_dump_dict(py, out)
}

/// The dict of a forest's trace dump (either statement version), for the reference.
fn forest_dump_dict(py: Python<'_>, out: core::v2::inspect::ForestDump) -> PyResult<Bound<'_, PyDict>> {
    let (n, dump) = (out.dump.rows, out.dump);
    let d = PyDict::new(py);
    d.set_item("main", PyArray1::from_vec(py, dump.main).reshape([n, dump.main_width])?)?;
    d.set_item("aux", PyArray1::from_vec(py, dump.aux).reshape([n, dump.aux_width, 2])?)?;
    d.set_item("last_real_row", dump.last_real_row)?;
    d.set_item("public_elements", dump.public_elements)?;
    d.set_item("expected_sum", dump.expected_sum)?;
    d.set_item("circuit_version", dump.circuit_version)?;
    d.set_item("num_leaves", out.forest.num_leaves)?;
    d.set_item("start", out.forest.start)?;
    d.set_item("end", out.forest.end)?;
    d.set_item("forests", out.count)?;
    Ok(d)
}

/// prove_trace_v2(main, public_elements, security="100") -> (accepted, bits or reason): proves a
/// given version-2 main trace (flat, row-major, 142 wide) and verifies the proof, for the
/// reference's dishonest traces.
#[pyfunction]
#[pyo3(signature = (main, public_elements, security_name="100"))]
fn prove_trace_v2<'py>(
    py: Python<'py>,
    main: PyReadonlyArray1<'py, u64>,
    public_elements: Vec<u64>,
    security_name: &str,
) -> PyResult<(bool, String)> {
    let security = security(security_name)?;
    let main = main.to_vec()?;
    let out = py
        .detach(|| core::v2::inspect::prove_trace(&main, &public_elements, security))
        .map_err(|e| to_py(py, e))?;
    Ok(match out {
        Ok(bits) => (true, bits.to_string()),
        Err(reason) => (false, reason),
    })
}

/// verify(data, min_security) -> statement dict of either format version (its
/// `statement_version` says which); raises InvalidProof and its subclasses.
#[pyfunction]
fn verify<'py>(py: Python<'py>, data: &[u8], min_security: u32) -> PyResult<Bound<'py, PyDict>> {
    let data = data.to_vec();
    match py.detach(|| v2::verify_any(&data, min_security)).map_err(|e| to_py(py, e))? {
        AnyVerified::V1(v) => statement_dict(py, &v.statement, Some((v.security_bits, v.proven_security_bits))),
        AnyVerified::V2(v) => statement_dict_v2(py, &v.statement, Some((v.security_bits, v.proven_security_bits))),
    }
}

/// read_statement(data) -> statement dict of either format version, unverified.
#[pyfunction]
fn read_statement<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    match v2::read_statement_any(data).map_err(|e| to_py(py, e))? {
        AnyStatement::V1(s) => statement_dict(py, &s, None),
        AnyStatement::V2(s) => statement_dict_v2(py, &s, None),
    }
}

fn digest32(bytes: &[u8], what: &str) -> PyResult<[u8; 32]> {
    bytes.try_into().map_err(|_| PyValueError::new_err(format!("{what} must be 32 bytes, not {}", bytes.len())))
}

fn digests(bytes: &[u8], what: &str) -> PyResult<Vec<[u8; 32]>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(PyValueError::new_err(format!("{what} must be a multiple of 32 bytes, not {}", bytes.len())));
    }
    Ok(bytes.chunks_exact(32).map(|c| c.try_into().expect("chunks_exact gives 32 bytes")).collect())
}

/// A published statement as Python passes it: (round_id, range_bits, num_leaves, root,
/// [(asset, decimals, exact total as little-endian bytes)]), and for version 3 a sixth element,
/// the margin: (unit_exp, [(debt total as little-endian bytes, None | (price, haircut))] per asset).
#[derive(FromPyObject)]
enum SummaryArgs {
    Plain(String, u32, u64, Vec<u8>, Vec<(String, u8, Vec<u8>)>),
    Margin(String, u32, u64, Vec<u8>, Vec<(String, u8, Vec<u8>)>, MarginArgs),
}

/// (unit_exp, [(debt total as little-endian bytes, None | (price, haircut))] per asset)
type MarginArgs = (u8, Vec<(Vec<u8>, Option<(String, String)>)>);

/// A summary checked against the domain of `statement_version` (1, 2 or 3).
fn summary_as(args: SummaryArgs, statement_version: u16) -> PyResult<Summary> {
    let (round_id, range_bits, num_leaves, root, assets, margin) = match args {
        SummaryArgs::Plain(r, b, n, root, assets) => (r, b, n, root, assets, None),
        SummaryArgs::Margin(r, b, n, root, assets, margin) => (r, b, n, root, assets, Some(margin)),
    };
    let (assets, totals) = assets.into_iter().map(|(name, decimals, total)| (Asset { name, decimals }, total)).unzip();
    let margin = margin.map(|(unit_exp, per_asset)| {
        let (debt_totals, prices) = per_asset
            .into_iter()
            .map(|(debt, price)| (debt, price.map(|(price, haircut)| PriceTerm { price, haircut })))
            .unzip();
        Margin { unit_exp, prices, debt_totals }
    });
    let summary = Summary { round_id, range_bits, num_leaves, root: digest32(&root, "root")?, assets, totals, margin };
    summary.validate_as(statement_version).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(summary)
}

/// statement_fingerprint(summary, statement_version=1) -> the 32-byte fingerprint of a published
/// statement (see `SummaryArgs`; version 3 with its margin); ValueError naming the field out of
/// its version's domain.
#[pyfunction]
#[pyo3(signature = (summary, statement_version=1))]
fn statement_fingerprint(py: Python<'_>, summary: SummaryArgs, statement_version: u16) -> PyResult<Bound<'_, PyBytes>> {
    let summary = summary_as(summary, statement_version)?;
    Ok(PyBytes::new(py, &summary.fingerprint_as(statement_version)))
}

/// verify_inclusion(version, round_id, user_id, salt, entries [(asset, index, decimals, amount
/// below 2^128, kind 0 equity | 1 debt)], leaf_index, num_leaves, leaf, root, path (32 bytes per
/// sibling), anchor (see `SummaryArgs`), anchor_version (its statement version), expected_user,
/// expected_fingerprint) -> None, or for version 3 (collateral value, debt value) as 32
/// little-endian bytes each (units of 10^-unit_exp USD); raises InvalidInclusionProof.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn verify_inclusion<'py>(
    py: Python<'py>,
    version: u64,
    round_id: String,
    user_id: String,
    salt: &[u8],
    entries: Vec<(String, u32, u8, u128, u32)>,
    leaf_index: u64,
    num_leaves: u64,
    leaf: &[u8],
    root: &[u8],
    path: &[u8],
    anchor: SummaryArgs,
    anchor_version: u16,
    expected_user: &str,
    expected_fingerprint: Option<Vec<u8>>,
) -> PyResult<Option<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
    let proof = InclusionProof {
        version,
        round_id,
        user_id,
        salt: digest32(salt, "salt")?,
        entries: entries
            .into_iter()
            .map(|(asset, index, decimals, amount, kind)| InclusionEntry { asset, index, decimals, amount, kind })
            .collect(),
        leaf_index,
        num_leaves,
        leaf: digest32(leaf, "leaf")?,
        root: digest32(root, "root")?,
        path: digests(path, "path")?,
    };
    let summary = summary_as(anchor, anchor_version)?;
    let expected = Expected {
        user_id: expected_user,
        fingerprint: expected_fingerprint.map(|f| digest32(&f, "expected fingerprint")).transpose()?,
    };
    let anchor = Anchor::summary_as(&summary, anchor_version);
    let position = core::inclusion::verify_inclusion(&proof, &anchor, &expected).map_err(|e| to_py(py, e.into()))?;
    Ok(position.map(|p| (PyBytes::new(py, &p.collateral_value.to_le_bytes()), PyBytes::new(py, &p.debt_value.to_le_bytes()))))
}

/// inclusion_leaf(user_id, salt, entries [(index, amount)], version=1, kinds=None) -> the user's
/// leaf digest (32 bytes) in a round whose inclusion proofs are of `version`, `kinds` (0 equity,
/// 1 debt; version 3) parallel to `entries`; InvalidInclusionProof (`malformed`) for an amount,
/// index or kind out of that version's domain.
#[pyfunction]
#[pyo3(signature = (user_id, salt, entries, version=1, kinds=None))]
fn inclusion_leaf<'py>(
    py: Python<'py>,
    user_id: &str,
    salt: &[u8],
    entries: Vec<(u32, u128)>,
    version: u64,
    kinds: Option<Vec<u32>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let kinds = kinds.unwrap_or_else(|| vec![0; entries.len()]);
    if kinds.len() != entries.len() {
        return Err(PyValueError::new_err(format!("{} kinds for {} entries", kinds.len(), entries.len())));
    }
    let entries: Vec<(u32, u128, u32)> = entries.iter().zip(kinds).map(|(&(index, amount), kind)| (index, amount, kind)).collect();
    let leaf = core::inclusion::versioned_leaf_kinds(version, user_id, &digest32(salt, "salt")?, &entries).map_err(|e| to_py(py, e.into()))?;
    Ok(PyBytes::new(py, &leaf))
}

/// id_commitment(salt, user_id) -> H_id(salt ‖ user_id) (32 bytes).
#[pyfunction]
fn id_commitment<'py>(py: Python<'py>, salt: &[u8], user_id: &str) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &core::inclusion::id_commitment(&digest32(salt, "salt")?, user_id)))
}

/// walk_path(leaf, leaf_index, path (32 bytes per sibling)) -> the node reached (32 bytes).
#[pyfunction]
fn walk_path<'py>(py: Python<'py>, leaf: &[u8], leaf_index: u64, path: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let reached = core::inclusion::walk_path_bytes(&digest32(leaf, "leaf")?, leaf_index, &digests(path, "path")?)
        .map_err(|e| to_py(py, e.into()))?;
    Ok(PyBytes::new(py, &reached))
}

fn assets_of(assets: Vec<(String, u8)>) -> Vec<Asset> {
    assets.into_iter().map(|(name, decimals)| Asset { name, decimals }).collect()
}

/// Spill(dir, secret, round_id, assets, range_bits, statement_version=1, prices=None): places a
/// ledger streamed in chunks, for statement version 1 (`append`), 2 or 3 (`append_wide`);
/// version 3 is made with the round's prices (one per asset: None or (price, haircut)).
#[pyclass(module = "stark_por._native")]
struct Spill {
    inner: Option<core::spill::Spill>,
}

impl Spill {
    fn open(&mut self) -> PyResult<&mut core::spill::Spill> {
        self.inner.as_mut().ok_or_else(|| PyValueError::new_err("this spill is finished"))
    }
}

#[pymethods]
impl Spill {
    #[new]
    #[pyo3(signature = (dir, secret, round_id, assets, range_bits, statement_version=1, prices=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        dir: std::path::PathBuf,
        secret: &[u8],
        round_id: &str,
        assets: Vec<(String, u8)>,
        range_bits: u32,
        statement_version: u16,
        prices: Option<PricesArg>,
    ) -> PyResult<Self> {
        let version = core::spill::Version::of(statement_version).map_err(|e| to_py(py, e))?;
        let (assets, prices) = (assets_of(assets), price_terms(prices));
        let spill = match (version, prices) {
            (core::spill::Version::V3, Some(p)) => core::spill::Spill::create_priced(&dir, secret, round_id, &assets, range_bits, &p),
            (v, None) => core::spill::Spill::create_for(v, &dir, secret, round_id, &assets, range_bits),
            (_, Some(_)) => return Err(PyValueError::new_err("prices are given for statement version 3 only")),
        }
        .map_err(|e| to_py(py, e))?;
        Ok(Spill { inner: Some(spill) })
    }

    /// append(user_ids, indptr, asset_index, amounts): the next chunk of users.
    fn append(
        &mut self,
        py: Python<'_>,
        user_ids: Vec<String>,
        indptr: PyReadonlyArray1<'_, u64>,
        asset_index: PyReadonlyArray1<'_, u32>,
        amounts: PyReadonlyArray1<'_, u64>,
    ) -> PyResult<()> {
        let spill = self.open()?;
        let (indptr, asset_index, amounts) = (indptr.to_vec()?, asset_index.to_vec()?, amounts.to_vec()?);
        let result = py.detach(|| spill.append_parts(&user_ids, &indptr, &asset_index, &amounts));
        result.map_err(|e| to_py(py, e))
    }

    /// append_wide(user_ids, indptr, asset_index, amounts_lo, amounts_hi, kinds=None): the
    /// next chunk of users of a version-2 or version-3 placement (amount = lo + 2^64·hi; kinds
    /// uint8, 1 = debt, version 3 only).
    #[pyo3(signature = (user_ids, indptr, asset_index, amounts_lo, amounts_hi, kinds=None))]
    #[allow(clippy::too_many_arguments)]
    fn append_wide(
        &mut self,
        py: Python<'_>,
        user_ids: Vec<String>,
        indptr: PyReadonlyArray1<'_, u64>,
        asset_index: PyReadonlyArray1<'_, u32>,
        amounts_lo: PyReadonlyArray1<'_, u64>,
        amounts_hi: PyReadonlyArray1<'_, u64>,
        kinds: Option<PyReadonlyArray1<'_, u8>>,
    ) -> PyResult<()> {
        let spill = self.open()?;
        let (indptr, asset_index) = (indptr.to_vec()?, asset_index.to_vec()?);
        let (lo, hi) = (amounts_lo.to_vec()?, amounts_hi.to_vec()?);
        let kinds = kinds.map(|k| k.to_vec()).transpose()?.unwrap_or_default();
        let result = py.detach(|| spill.append_wide_parts(&user_ids, &indptr, &asset_index, &lo, &hi, &kinds));
        result.map_err(|e| to_py(py, e))
    }

    #[getter]
    fn num_users(&self) -> u64 {
        self.inner.as_ref().map_or(0, |s| s.num_users())
    }

    /// finish() -> dict(num_users, num_leaves): pads, sorts and writes the layout.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let spill = self.inner.take().ok_or_else(|| PyValueError::new_err("this spill is finished"))?;
        let layout = py.detach(|| spill.finish(&|| ())).map_err(|e| to_py(py, e))?;
        layout_dict(py, &layout)
    }
}

fn layout_dict<'py>(py: Python<'py>, layout: &core::spill::Layout) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("num_users", layout.num_users)?;
    d.set_item("num_leaves", layout.num_leaves)?;
    d.set_item("statement_version", layout.version.number())?;
    Ok(d)
}

/// spill_layout(dir) -> dict(num_users, num_leaves, statement_version), or None when no
/// placement finished there.
#[pyfunction]
fn spill_layout<'py>(py: Python<'py>, dir: std::path::PathBuf) -> PyResult<Option<Bound<'py, PyDict>>> {
    match core::spill::Layout::load(&dir).map_err(|e| to_py(py, e))? {
        Some(layout) => Ok(Some(layout_dict(py, &layout)?)),
        None => Ok(None),
    }
}

/// prove_batch(job, threads=1) -> result bytes. On one thread it is deterministic: the same job
/// gives the same bytes anywhere.
#[pyfunction]
#[pyo3(signature = (job, threads=1))]
fn prove_batch<'py>(py: Python<'py>, job: &[u8], threads: usize) -> PyResult<Bound<'py, PyBytes>> {
    let job = job.to_vec();
    let out = py.detach(|| core::batch::prove_encoded(&job, threads)).map_err(|e| to_py(py, e))?;
    Ok(PyBytes::new(py, &out))
}

/// batch_answers(job, result) -> whether `result` was proved from exactly `job`.
#[pyfunction]
fn batch_answers(job: &[u8], result: &[u8]) -> bool {
    core::batch::answers(job, result)
}

/// batch_nodes(result, num_assets, batch_leaves, count) -> (heap indices uint64, digests bytes).
#[pyfunction]
fn batch_nodes<'py>(
    py: Python<'py>,
    result: &[u8],
    num_assets: usize,
    batch_leaves: usize,
    count: u64,
) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyBytes>)> {
    let nodes = core::batch::round_nodes(result, num_assets, batch_leaves, count).map_err(|e| to_py(py, e))?;
    let (index, digest): (Vec<u64>, Vec<[u8; 32]>) = nodes.into_iter().unzip();
    Ok((PyArray1::from_vec(py, index), PyBytes::new(py, digest.as_flattened())))
}

/// prove_forest(job, threads=1) -> result bytes of a version-2 forest job; deterministic on one
/// thread.
#[pyfunction]
#[pyo3(signature = (job, threads=1))]
fn prove_forest<'py>(py: Python<'py>, job: &[u8], threads: usize) -> PyResult<Bound<'py, PyBytes>> {
    let job = job.to_vec();
    let out = py.detach(|| core::v2::job::prove_encoded(&job, threads)).map_err(|e| to_py(py, e))?;
    Ok(PyBytes::new(py, &out))
}

/// forest_answers(job, result) -> whether `result` was proved from exactly `job`.
#[pyfunction]
fn forest_answers(py: Python<'_>, job: &[u8], result: &[u8]) -> bool {
    let (job, result) = (job.to_vec(), result.to_vec());
    py.detach(|| core::v2::job::answers(&job, &result))
}

/// forest_nodes(result) -> (heap indices uint64, digests bytes): every digest a forest holds.
#[pyfunction]
fn forest_nodes<'py>(py: Python<'py>, result: &[u8]) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyBytes>)> {
    let out = core::v2::job::ForestOutput::from_bytes(result).map_err(|e| to_py(py, e))?;
    let (index, digest): (Vec<u64>, Vec<[u8; 32]>) = out.nodes().unzip();
    Ok((PyArray1::from_vec(py, index), PyBytes::new(py, digest.as_flattened())))
}

/// Placement(dir, secret, round_id, assets, range_bits, prices=None): a round placed by `Spill`,
/// read back (batches for statement version 1, forests for versions 2 and 3); a version-3
/// placement opens only with the prices it was made with.
#[pyclass(module = "stark_por._native", frozen)]
struct Placement {
    inner: core::spill::Placement,
}

#[pymethods]
impl Placement {
    #[new]
    #[pyo3(signature = (dir, secret, round_id, assets, range_bits, prices=None))]
    fn new(
        py: Python<'_>,
        dir: std::path::PathBuf,
        secret: &[u8],
        round_id: &str,
        assets: Vec<(String, u8)>,
        range_bits: u32,
        prices: Option<PricesArg>,
    ) -> PyResult<Self> {
        let prices = price_terms(prices);
        let inner = core::spill::Placement::open_priced(&dir, secret, round_id, &assets_of(assets), range_bits, prices.as_deref())
            .map_err(|e| to_py(py, e))?;
        Ok(Placement { inner })
    }

    /// batch_job(security, batch_log2, index) -> the encoded job of batch `index`.
    fn batch_job<'py>(&self, py: Python<'py>, security_name: &str, batch_log2: u32, index: u64) -> PyResult<Bound<'py, PyBytes>> {
        let security = security(security_name)?;
        let job = py.detach(|| self.inner.batch_job(security, batch_log2, index)).map_err(|e| to_py(py, e))?;
        Ok(PyBytes::new(py, &job.to_bytes()))
    }

    /// assemble(batch_log2, result paths) -> dict(file=bytes, statement=dict, top=bytes (32 per
    /// node above the batches, heap order from 0)).
    fn assemble<'py>(&self, py: Python<'py>, batch_log2: u32, results: Vec<std::path::PathBuf>) -> PyResult<Bound<'py, PyDict>> {
        let (file, statement, top) = py.detach(|| self.inner.assemble(batch_log2, &results)).map_err(|e| to_py(py, e))?;
        let d = PyDict::new(py);
        d.set_item("file", PyBytes::new(py, &file))?;
        d.set_item("statement", statement_dict(py, &statement, None)?)?;
        d.set_item("top", PyBytes::new(py, top.as_flattened()))?;
        Ok(d)
    }

    /// forest_plan(security, trace_log2, committed=False) -> [(start, end)]: a version-2
    /// round's forests (committed: each trace leaves its totals chain room).
    #[pyo3(signature = (security_name, trace_log2, committed=false))]
    fn forest_plan(&self, py: Python<'_>, security_name: &str, trace_log2: u32, committed: bool) -> PyResult<Vec<(u64, u64)>> {
        let security = security(security_name)?;
        let plan = py.detach(|| self.inner.forest_plan(security, trace_log2, committed)).map_err(|e| to_py(py, e))?;
        Ok(plan.iter().map(|f| (f.start, f.end)).collect())
    }

    /// forest_job(security, trace_log2, index, committed=False) -> the encoded job of forest
    /// `index` (committed: it proves a commitment to the forest's totals).
    #[pyo3(signature = (security_name, trace_log2, index, committed=false))]
    fn forest_job<'py>(
        &self,
        py: Python<'py>,
        security_name: &str,
        trace_log2: u32,
        index: u64,
        committed: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let security = security(security_name)?;
        let job = py
            .detach(|| self.inner.forest_job(security, &self.inner.forest_plan(security, trace_log2, committed)?, index, committed))
            .map_err(|e| to_py(py, e))?;
        Ok(PyBytes::new(py, &job.to_bytes()))
    }

    /// assemble_forests(security, trace_log2, result paths, committed=False) -> dict(file=bytes,
    /// top_index=uint64 array, top=bytes (32 per node above the forests' roots),
    /// trace_rows=[int], working_rows=(used, total), security_bits=int). Committed: the round's
    /// aggregation proof is made here.
    #[pyo3(signature = (security_name, trace_log2, results, committed=false))]
    fn assemble_forests<'py>(
        &self,
        py: Python<'py>,
        security_name: &str,
        trace_log2: u32,
        results: Vec<std::path::PathBuf>,
        committed: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let security = security(security_name)?;
        let a = py
            .detach(|| {
                let plan = self.inner.forest_plan(security, trace_log2, committed)?;
                self.inner.assemble_forests(security, &plan, &results, committed)
            })
            .map_err(|e| to_py(py, e))?;
        let (index, top): (Vec<u64>, Vec<[u8; 32]>) = a.top.into_iter().unzip();
        let d = PyDict::new(py);
        d.set_item("file", PyBytes::new(py, &a.file))?;
        d.set_item("top_index", PyArray1::from_vec(py, index))?;
        d.set_item("top", PyBytes::new(py, top.as_flattened()))?;
        d.set_item("trace_rows", a.trace_rows)?;
        d.set_item("working_rows", a.working_rows)?;
        d.set_item("security_bits", a.security_bits)?;
        Ok(d)
    }

    /// bucket_users(bucket) -> dict(user_ids, positions, salts (32 bytes each), indptr,
    /// asset_index (0-based), amounts_lo, amounts_hi (amount = lo + 2^64·hi), kinds (uint8,
    /// 1 = debt; all 0 below version 3)): one bucket's users, in leaf order.
    fn bucket_users<'py>(&self, py: Python<'py>, bucket: usize) -> PyResult<Bound<'py, PyDict>> {
        let rows = py.detach(|| self.inner.users_in_bucket(bucket)).map_err(|e| to_py(py, e))?;
        let tagged = self.inner.layout().version == core::spill::Version::V3;
        let (mut indptr, mut asset_index, mut lo, mut hi, mut kinds) = (vec![0u64], vec![], vec![], vec![], vec![]);
        let (mut ids, mut positions, mut salts) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()), Vec::new());
        for row in rows {
            for (asset, amount) in row.entries {
                // a version-3 record holds the tag 2·asset + kind (assets from 1)
                let (asset, kind) = if tagged { (asset / 2, (asset % 2) as u8) } else { (asset, 0) };
                asset_index.push(asset - 1);
                kinds.push(kind);
                lo.push(amount as u64);
                hi.push((amount >> 64) as u64);
            }
            indptr.push(lo.len() as u64);
            ids.push(row.user_id);
            positions.push(row.position);
            salts.extend_from_slice(&row.salt);
        }
        let d = PyDict::new(py);
        d.set_item("user_ids", ids)?;
        d.set_item("positions", PyArray1::from_vec(py, positions))?;
        d.set_item("salts", PyBytes::new(py, &salts))?;
        d.set_item("indptr", PyArray1::from_vec(py, indptr))?;
        d.set_item("asset_index", PyArray1::from_vec(py, asset_index))?;
        d.set_item("amounts_lo", PyArray1::from_vec(py, lo))?;
        d.set_item("amounts_hi", PyArray1::from_vec(py, hi))?;
        d.set_item("kinds", PyArray1::from_vec(py, kinds))?;
        Ok(d)
    }
}

/// trace_dump_v3(user_ids, assets, indptr, asset_index, kinds, amounts_lo, amounts_hi, prices,
/// range_bits, secret, round_id, challenges, capacity=None, forest=0) -> the dict of
/// trace_dump_v2 (main (n, 146), aux (n, 10, 2)) of statement version 3: `kinds` uint8 parallel
/// to `asset_index` (0 equity, 1 debt), `prices` per asset its (collateral, debt) coefficients.
#[pyfunction]
#[pyo3(signature = (user_ids, assets, indptr, asset_index, kinds, amounts_lo, amounts_hi, prices, range_bits, secret, round_id, challenges, capacity=None, forest=0))]
#[allow(clippy::too_many_arguments)]
fn trace_dump_v3<'py>(
    py: Python<'py>,
    user_ids: Vec<String>,
    assets: Vec<(String, u8)>,
    indptr: PyReadonlyArray1<'py, u64>,
    asset_index: PyReadonlyArray1<'py, u32>,
    kinds: PyReadonlyArray1<'py, u8>,
    amounts_lo: PyReadonlyArray1<'py, u64>,
    amounts_hi: PyReadonlyArray1<'py, u64>,
    prices: Vec<(u128, u128)>,
    range_bits: u32,
    secret: &[u8],
    round_id: &str,
    challenges: [[u64; 2]; 3],
    capacity: Option<u64>,
    forest: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let assets = assets_of(assets);
    let (indptr, asset_index, kinds) = (indptr.to_vec()?, asset_index.to_vec()?, kinds.to_vec()?);
    let (amounts_lo, amounts_hi) = (amounts_lo.to_vec()?, amounts_hi.to_vec()?);
    let prices = stark_por_core::v2::inspect::Prices {
        collateral: prices.iter().map(|p| p.0).collect(),
        debt: prices.iter().map(|p| p.1).collect(),
    };
    let (secret, round_id) = (secret.to_vec(), round_id.to_string());
    let out = py
        .detach(|| {
            let ledger = core::v2::WideLedgerRef {
                user_ids: &user_ids,
                assets: &assets,
                indptr: &indptr,
                asset_index: &asset_index,
                amounts_lo: &amounts_lo,
                amounts_hi: &amounts_hi,
                // the kinds go to `trace_dump_margin` itself
                kinds: &[],
                range_bits,
            };
            core::v2::inspect::trace_dump_margin(&ledger, &kinds, &prices, &secret, &round_id, challenges, capacity, forest)
        })
        .map_err(|e| to_py(py, e))?;
    forest_dump_dict(py, out)
}

/// prove_trace_v3(main, public_elements, security="100") -> (accepted, bits or reason):
/// prove_trace_v2 for a version-3 main trace (146 wide) and its public elements.
#[pyfunction]
#[pyo3(signature = (main, public_elements, security_name="100"))]
fn prove_trace_v3<'py>(
    py: Python<'py>,
    main: PyReadonlyArray1<'py, u64>,
    public_elements: Vec<u64>,
    security_name: &str,
) -> PyResult<(bool, String)> {
    let security = security(security_name)?;
    let main = main.to_vec()?;
    let out = py
        .detach(|| core::v2::inspect::prove_trace_margin(&main, &public_elements, security))
        .map_err(|e| to_py(py, e))?;
    Ok(match out {
        Ok(bits) => (true, bits.to_string()),
        Err(reason) => (false, reason),
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(prove, m)?)?;
    m.add_function(wrap_pyfunction!(prove_v2, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(read_statement, m)?)?;
    m.add_function(wrap_pyfunction!(trace_dump, m)?)?;
    m.add_function(wrap_pyfunction!(trace_dump_v2, m)?)?;
    m.add_function(wrap_pyfunction!(prove_trace_v2, m)?)?;
    m.add_function(wrap_pyfunction!(verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(statement_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(inclusion_leaf, m)?)?;
    m.add_function(wrap_pyfunction!(id_commitment, m)?)?;
    m.add_function(wrap_pyfunction!(walk_path, m)?)?;
    m.add("SPILL_BUCKETS", core::spill::BUCKETS)?;
    m.add_class::<Spill>()?;
    m.add_function(wrap_pyfunction!(spill_layout, m)?)?;
    m.add_function(wrap_pyfunction!(prove_batch, m)?)?;
    m.add_function(wrap_pyfunction!(batch_answers, m)?)?;
    m.add_function(wrap_pyfunction!(batch_nodes, m)?)?;
    m.add_function(wrap_pyfunction!(prove_forest, m)?)?;
    m.add_function(wrap_pyfunction!(forest_answers, m)?)?;
    m.add_function(wrap_pyfunction!(forest_nodes, m)?)?;
    m.add_class::<Placement>()?;
    m.add_function(wrap_pyfunction!(trace_dump_v3, m)?)?;
    m.add_function(wrap_pyfunction!(prove_trace_v3, m)?)?;
    Ok(())
}
