//! `stark_por._native`: converts Python values to core types and core errors to the exceptions
//! declared in `stark_por/errors.py`. No logic lives here.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
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

fn statement_dict<'py>(py: Python<'py>, s: &Statement, security_bits: Option<u32>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("round_id", &s.round_id)?;
    d.set_item("assets", s.assets.iter().map(|a| (a.name.clone(), a.decimals)).collect::<Vec<_>>())?;
    d.set_item("totals", (0..s.assets.len()).map(|k| s.total(k)).collect::<Vec<u128>>())?;
    d.set_item("root", PyBytes::new(py, &s.root))?;
    d.set_item("num_leaves", s.num_leaves)?;
    d.set_item("range_bits", s.range_bits)?;
    d.set_item("security_bits", security_bits)?;
    Ok(d)
}

/// A ledger copied out of Python, so the heavy work can run without the GIL.
struct OwnedLedger {
    user_ids: Vec<String>,
    assets: Vec<Asset>,
    indptr: Vec<u64>,
    asset_index: Vec<u32>,
    amounts: Vec<u64>,
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
            range_bits,
        })
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

/// prove(user_ids, assets, indptr, asset_index, amounts, range_bits, secret, round_id, security)
/// -> dict(file=bytes, statement=dict, positions=list, trace_rows=int, trace_columns=int)
#[pyfunction]
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
) -> PyResult<Bound<'py, PyDict>> {
    let security = security(security_name)?;
    let ledger = OwnedLedger::new(user_ids, assets, indptr, asset_index, amounts, range_bits)?;
    let (secret, round_id) = (secret.to_vec(), round_id.to_string());
    let out = py.detach(|| core::prove(&ledger.view(), &secret, &round_id, security)).map_err(|e| to_py(py, e))?;
    let d = PyDict::new(py);
    d.set_item("file", PyBytes::new(py, &out.file))?;
    d.set_item("statement", statement_dict(py, &out.statement, Some(out.security_bits))?)?;
    d.set_item("positions", out.positions)?;
    d.set_item("trace_rows", out.trace_rows)?;
    d.set_item("trace_columns", out.trace_columns)?;
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

/// verify(data, min_security) -> statement dict; raises InvalidProof and its subclasses.
#[pyfunction]
fn verify<'py>(py: Python<'py>, data: &[u8], min_security: u32) -> PyResult<Bound<'py, PyDict>> {
    let data = data.to_vec();
    let verified = py.detach(|| core::verify(&data, min_security)).map_err(|e| to_py(py, e))?;
    statement_dict(py, &verified.statement, Some(verified.security_bits))
}

/// read_statement(data) -> statement dict, unverified.
#[pyfunction]
fn read_statement<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let statement = core::read_statement(data).map_err(|e| to_py(py, e))?;
    statement_dict(py, &statement, None)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(prove, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(read_statement, m)?)?;
    m.add_function(wrap_pyfunction!(trace_dump, m)?)?;
    Ok(())
}
