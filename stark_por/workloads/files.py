"""Writing a workload as the files an exchange would hand to ``stark-por prove``.

A folder holds ``ledger.csv`` and/or ``ledger.parquet``, ``assets.csv`` (``asset,decimals``:
the file the ledger readers look for beside a ledger) and, for priced workloads,
``prices.csv`` (``asset,usd_price,source,timestamp``: the reserves report's USD prices) and
``margin_prices.csv`` (``asset,price,haircut``: the round's prices and haircuts, for
``stark-por prove --prices``). Every file is written atomically.

Amounts are written exactly, whatever their size:

* CSV: display units, shortest exact decimal (``format_amount``), blank for 0.
* Debts (a ``Ledger`` with ``kinds``): a ``<ASSET>.debt`` column right after each asset that
  anyone owes, in both formats; none when nobody owes anything.
* Parquet, ``amounts="decimal"`` (default): one ``decimal128(38, decimals)`` column per asset,
  null where the user holds none: the unscaled value *is* the amount in smallest units, exact
  up to 10^38 - 1 (> 2^126). ``amounts="string"``: the CSV's decimal text.

The readers (``Ledger.from_csv``/``from_parquet``, ``stark_por.stream``) read all of these back
exactly up to the range bound ``2**max_bits`` (at most 2^112), into two uint64 words per amount;
Parquet integer columns stop at uint64, so wider amounts come as decimals or strings.
"""

from __future__ import annotations

import csv
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterable, Iterator, Mapping, Sequence, Tuple, Union

import numpy as np

from .._files import atomic_path
from ..ledger import DEBT_SUFFIX, Asset, format_amount
from .listings import PRICES_AS_OF, Listing

__all__ = ["write_ledger_csv", "write_assets_csv", "write_prices_csv", "write_margin_prices_csv",
           "write_parquet", "write_workload", "ledger_file", "PARQUET_AMOUNT_TYPES"]

PathLike = Union[str, "os.PathLike[str]"]
PARQUET_AMOUNT_TYPES = ("decimal", "string")
_DECIMAL128_MAX = 10**38 - 1
_LOW64 = (1 << 64) - 1


@contextmanager
def _published(path: PathLike) -> Iterator[Path]:
    """An atomic write that ends with the usual umask permissions (0600 while written)."""
    with atomic_path(path) as tmp:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)


def write_assets_csv(assets: Iterable[Asset], path: PathLike) -> Path:
    """``asset,decimals``, one row per asset in statement order (read by ``load_assets``)."""
    with _published(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["asset", "decimals"])
        for a in assets:
            w.writerow([a.name, a.decimals])
    return Path(path)


def write_prices_csv(listings: Iterable[Listing], path: PathLike, *, as_of: str = PRICES_AS_OF) -> Path:
    """``asset,usd_price,source,timestamp``: the exact decimal price of one whole token."""
    with _published(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["asset", "usd_price", "source", "timestamp"])
        for x in listings:
            w.writerow([x.name, format(x.price, "f"), "synthetic", as_of])
    return Path(path)


def _columns(ledger) -> list:
    """``(asset position, kind)`` of each column after ``user_id``: every asset's equity, and its
    debt (``<ASSET>.debt``) right after it when anyone owes that asset."""
    kinds = getattr(ledger, "kinds", None)
    owed = set()
    if kinds is not None and kinds.any():
        owed = set(np.unique(ledger.asset_index[kinds == 1]).tolist())
    return [(j, kind) for j in range(len(ledger.assets)) for kind in ((0, 1) if j in owed else (0,))]


def _codes(ledger, lo: int, hi: int) -> np.ndarray:
    """Entries ``lo:hi`` as ``2·asset + kind`` (int64)."""
    code = ledger.asset_index[lo:hi].astype(np.int64) * 2
    kinds = getattr(ledger, "kinds", None)
    return code if kinds is None else code + kinds[lo:hi]


def _column_name(ledger, j: int, kind: int) -> str:
    return ledger.assets[j].name + (DEBT_SUFFIX if kind else "")


def write_margin_prices_csv(prices: Mapping[str, Tuple[str, str]], path: PathLike) -> Path:
    """``asset,price,haircut``: each priced asset's USD price of one whole token and its haircut
    (a fraction, ``0.05`` = 5 %), exact decimals — the round's prices file (INTERFACE §3)."""
    with _published(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["asset", "price", "haircut"])
        for name, (price, haircut) in prices.items():
            w.writerow([name, price, haircut])
    return Path(path)


def write_ledger_csv(ledger, path: PathLike) -> Path:
    """``user_id,<ASSET>,…`` rows of ``ledger`` (a ``Ledger`` or an ``ExchangeWorkload``),
    amounts in display units, exact; a ``<ASSET>.debt`` column beside an asset anyone owes."""
    decs = [a.decimals for a in ledger.assets]
    columns = _columns(ledger)
    where = {2 * j + kind: c for c, (j, kind) in enumerate(columns)}
    indptr = ledger.indptr.tolist()
    codes = _codes(ledger, 0, ledger.num_entries).tolist()
    am = ledger.amounts_as_ints()
    with _published(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["user_id"] + [_column_name(ledger, j, kind) for j, kind in columns])
        blank = [""] * len(columns)
        for i, uid in enumerate(ledger.user_ids):
            row = blank.copy()
            for p in range(indptr[i], indptr[i + 1]):
                code = codes[p]
                row[where[code]] = format_amount(am[p], decs[code >> 1])
            w.writerow([uid] + row)
    return Path(path)


def _decimal_column(t, rows: np.ndarray, vals: Sequence[int], length: int):
    import pyarrow as pa

    data = np.zeros((length, 2), dtype=np.uint64)  # little-endian 128-bit two's complement
    data[rows, 0] = np.array([v & _LOW64 for v in vals], dtype=np.uint64)
    data[rows, 1] = np.array([v >> 64 for v in vals], dtype=np.uint64)
    valid = np.zeros(length, dtype=bool)
    valid[rows] = True
    bits = np.packbits(valid, bitorder="little")
    return pa.Array.from_buffers(t, length, [pa.py_buffer(bits), pa.py_buffer(data)],
                                 null_count=length - int(rows.size))


def write_parquet(ledger, path: PathLike, *, amounts: str = "decimal", chunk_users: int | None = None) -> Path:
    """One row per user, column ``user_id`` then one column per asset, and a ``<ASSET>.debt``
    column beside an asset anyone owes (see the module docstring for ``amounts``); a row group
    per ``chunk_users`` users."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if amounts not in PARQUET_AMOUNT_TYPES:
        raise ValueError(f"amounts must be one of {PARQUET_AMOUNT_TYPES}, not {amounts!r}")
    assets = ledger.assets
    k = len(assets)
    columns = _columns(ledger)
    if amounts == "decimal":
        types = [pa.decimal128(38, assets[j].decimals) for j, _ in columns]
        if ledger.num_entries and max(ledger.amounts_as_ints()) > _DECIMAL128_MAX:
            raise ValueError("an amount has more than 38 digits: write amounts='string'")
    else:
        types = [pa.string()] * len(columns)
    schema = pa.schema([pa.field("user_id", pa.string(), nullable=False)]
                       + [pa.field(_column_name(ledger, j, kind), t) for (j, kind), t in zip(columns, types)])
    n = ledger.num_users
    step = chunk_users or max(1024, (1 << 21) // k)
    ip = ledger.indptr.astype(np.int64)
    with _published(path) as tmp, pq.ParquetWriter(tmp, schema) as w:
        for s in range(0, n, step):
            e = min(n, s + step)
            lo, hi = int(ip[s]), int(ip[e])
            row = np.repeat(np.arange(e - s, dtype=np.int64), np.diff(ip[s:e + 1]))
            col = _codes(ledger, lo, hi)
            order = np.argsort(col, kind="stable")
            row, col = row[order], col[order]
            vals = np.array(ledger.amounts_as_ints(lo, hi), dtype=object)[order].tolist()
            cut = np.searchsorted(col, np.arange(2 * k + 1))
            arrays = [pa.array(ledger.user_ids[s:e], pa.string())]
            for c, (j, kind) in enumerate(columns):
                code = 2 * j + kind
                r, v = row[cut[code]:cut[code + 1]], vals[cut[code]:cut[code + 1]]
                if amounts == "decimal":
                    arrays.append(_decimal_column(types[c], r, v, e - s))
                else:
                    cells: list[str | None] = [None] * (e - s)
                    for i, x in zip(r.tolist(), v):
                        cells[i] = format_amount(x, assets[j].decimals)
                    arrays.append(pa.array(cells, pa.string()))
            w.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return Path(path)


def write_workload(ledger, folder: PathLike, formats: Sequence[str] = ("csv",), *,
                   parquet_amounts: str = "decimal") -> Dict[str, Path]:
    """Write ``ledger`` (a ``Ledger`` or an ``ExchangeWorkload``) into ``folder``:
    ``ledger.csv`` and/or ``ledger.parquet`` (``formats``), ``assets.csv``, and ``prices.csv``
    and ``margin_prices.csv`` when it has listings. Returns
    ``{"csv"|"parquet"|"assets"|"prices"|"margin_prices": path}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bad = set(formats) - {"csv", "parquet"}
    if bad:
        raise ValueError(f"unknown ledger format(s) {sorted(bad)}: use 'csv' and/or 'parquet'")
    out = {"assets": write_assets_csv(ledger.assets, folder / "assets.csv")}
    if getattr(ledger, "listings", None):
        out["prices"] = write_prices_csv(ledger.listings, folder / "prices.csv")
        out["margin_prices"] = write_margin_prices_csv(ledger.margin_prices, folder / "margin_prices.csv")
    if "csv" in formats:
        out["csv"] = write_ledger_csv(ledger, folder / "ledger.csv")
    if "parquet" in formats:
        out["parquet"] = write_parquet(ledger, folder / "ledger.parquet", amounts=parquet_amounts)
    return out


def ledger_file(name: str, n: int, folder: PathLike, *, fmt: str = "csv", seed: int = 1,
                borrowers: float = 0.0) -> Path:
    """The ledger file of workload ``name`` (W1…W4) with ``n`` users (``borrowers``: the
    fraction with debt, W3/W4), written under ``folder``
    (``<folder>/<name>-<n>-seed<seed>[-b<borrowers>]/ledger.<fmt>`` beside its ``assets.csv``
    and prices files) unless already there. The benchmarks' hook: prove what it returns with
    ``stark_por.prove_file`` (with ``prices=`` its ``margin_prices.csv`` for version 3)."""
    from . import workload

    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    tail = f"-b{borrowers:g}" if borrowers else ""
    sub = Path(folder) / f"{name.lower()}-{n}-seed{seed}{tail}"
    path = sub / f"ledger.{fmt}"
    if not path.is_file():  # written last and atomically: if it is there, so are the others
        write_workload(workload(name, n, seed=seed, borrowers=borrowers), sub, (fmt,))
    return path
