"""The liabilities ledger: who is owed how much of which asset.

A :class:`Ledger` holds N users and K assets.  Balances are stored sparsely in
CSR form (most users hold only a handful of the K assets, and zero balances
are not stored):

* ``indptr``      uint64, shape (N+1,): user ``i`` owns entries
  ``indptr[i]:indptr[i+1]``;
* ``asset_index`` uint32, shape (nnz,): asset of each entry;
* ``kinds`` uint8, shape (nnz,): 0 for equity (what the exchange owes the
  user), 1 for debt (what the user owes the exchange: margin, loans); all zeros
  for a ledger without debts.  Within a user, entries are strictly increasing
  by ``(asset_index, kind)``: at most one equity and one debt per asset, the
  equity first;
* ``amounts_lo``, ``amounts_hi`` uint64, shape (nnz,): balance in the asset's
  smallest unit, ``amount = amounts_lo + 2**64 * amounts_hi``,
  ``0 < amount < 2**max_bits`` (``max_bits`` up to 112: version 2's bound).

Text sources give a debt in a column ``<ASSET>.debt`` beside ``<ASSET>`` (either
may be absent), with the same syntax and bound as balances.  A debt is proved
only by statement version 3, which needs a prices file
(:mod:`stark_por.margin`).

Amounts are always exact integers in smallest units (satoshi, wei, ...) at the
asset's native decimals: 2**112 - 1 wei is about 5.2e15 ETH.  Decimal text is
converted exactly, never through ``float``.  Two uint64 columns keep 16 bytes
per entry and vectorized sums; :meth:`Ledger.amount` gives one amount as an int.

Amount syntax accepted in text sources (CSV cells, Parquet string columns)
--------------------------------------------------------------------------
* surrounding whitespace is ignored; an empty/blank cell means 0;
* ASCII digits with at most one ``.``: ``"12"``, ``"0.5"``, ``".5"``,
  ``"5."``, ``"007"`` (leading zeros are harmless);
* no sign at all: ``"-1"``, ``"-0"`` and ``"+1"`` are refused;
* no exponent (``"1e3"``), no ``inf``/``nan``, no hex, no digit separators
  (``"1_000"``, ``"1,000"``, ``"1 000"``), no non-ASCII digits;
* fractional digits beyond the asset's ``decimals`` are accepted only if
  they are all zeros (``"1.50000000000"`` for an 8-decimal asset is exactly
  150000000 units); a non-zero digit there is refused because the amount
  cannot be represented exactly;
* the value in smallest units must be ``< 2**max_bits``.
"""

from __future__ import annotations

import array
import csv
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import LedgerError

__all__ = [
    "Asset",
    "Ledger",
    "load_assets",
    "parse_amount",
    "format_amount",
    "MIN_MAX_BITS",
    "MAX_MAX_BITS",
    "DEFAULT_MAX_BITS",
    "MAX_DECIMALS",
    "MAX_USER_ID_BYTES",
    "MAX_ASSET_NAME_LEN",
]

PathLike = Union[str, os.PathLike]
AssetsArg = Union[None, PathLike, Sequence["Asset"], Mapping]

MIN_MAX_BITS = 32
#: Widest range bound: statement version 2 proves amounts below 2**112.
MAX_MAX_BITS = 112
DEFAULT_MAX_BITS = 112
MAX_DECIMALS = 30
MAX_USER_ID_BYTES = 256
MAX_ASSET_NAME_LEN = 32

_USER_ID_COLUMN = "user_id"


# --------------------------------------------------------------------------
# amounts
# --------------------------------------------------------------------------


class _AmountError(ValueError):
    """Internal: reason why an amount string is refused (no location)."""


def _amount_reason(text: str) -> str:
    """Explain why ``text`` (already stripped, non-empty) is not a plain decimal."""
    c = text[0]
    if c == "-":
        return "is negative (a sign is never allowed)"
    if c == "+":
        return "has a sign (a sign is never allowed)"
    low = text.lower()
    if low in ("inf", "infinity", "nan") or low.lstrip("+-") in ("inf", "nan"):
        return "is not a finite decimal number"
    if low.startswith(("0x", "0o", "0b")):
        return "is not a plain decimal number (no hex/octal/binary)"
    if "e" in low and any(ch.isdigit() for ch in low):
        return "uses exponent notation; write the plain decimal"
    if "_" in text or "," in text or " " in text or "'" in text:
        return "contains digit separators or internal spaces"
    if not text.isascii():
        return "is not a plain ASCII decimal number"
    return "is not a plain decimal number"


def parse_amount(text: str, decimals: int) -> int:
    """Convert an exact decimal string to an integer number of smallest units.

    ``parse_amount("0.12345678", 8) == 12345678``.  Blank text is 0.
    Raises :class:`ValueError` (an internal subclass whose ``str`` is a
    reason such as ``"is negative ..."``) when the text is refused.  No range
    check against ``max_bits`` is made here.
    """
    s = text.strip()
    if not s:
        return 0
    if not s.isascii():
        raise _AmountError(_amount_reason(s))
    ip, dot, fp = s.partition(".")
    if not ((ip.isdigit() or ip == "") and (fp.isdigit() or fp == "") and (ip or fp)):
        raise _AmountError(_amount_reason(s))
    if len(fp) > decimals:
        extra = fp[decimals:]
        if extra.strip("0"):
            raise _AmountError(
                f"has more than {decimals} decimal places "
                f"(the asset has {decimals} decimals)"
            )
        fp = fp[:decimals]
    ip = ip.lstrip("0")
    if len(ip) > 40:  # > 10**40 display units: out of any range, keep int() cheap
        raise _AmountError("is too large")
    digits = ip + fp.ljust(decimals, "0")
    return int(digits) if digits else 0


def format_amount(units: int, decimals: int) -> str:
    """Exact decimal text for ``units`` smallest units; ``""`` for 0.

    Trailing fractional zeros and a bare trailing ``.`` are omitted, so the
    output is the shortest exact form and parses back with
    :func:`parse_amount`.
    """
    units = int(units)
    if units == 0:
        return ""
    if units < 0:
        raise ValueError("amounts are never negative")
    if decimals == 0:
        return str(units)
    s = str(units).rjust(decimals + 1, "0")
    ip, fp = s[:-decimals], s[-decimals:].rstrip("0")
    return f"{ip}.{fp}" if fp else ip


# --------------------------------------------------------------------------
# assets
# --------------------------------------------------------------------------


def _asset_name_problem(name) -> Optional[str]:
    if not isinstance(name, str):
        return "asset name must be a string"
    if not name:
        return "asset name is empty"
    if len(name) > MAX_ASSET_NAME_LEN:
        return f"asset name is longer than {MAX_ASSET_NAME_LEN} characters"
    for ch in name:
        o = ord(ch)
        if o <= 0x20 or o >= 0x7F or ch == ",":
            return (
                "asset name must be printable ASCII without commas or whitespace"
            )
    return None


@dataclass(frozen=True)
class Asset:
    """An asset of the statement: its ticker and number of decimals.

    ``decimals`` is the number of fractional digits of the display unit:
    ``Asset("BTC", 8)`` means 1 BTC = 10**8 smallest units.
    """

    name: str
    decimals: int

    def __post_init__(self) -> None:
        problem = _asset_name_problem(self.name)
        if problem is not None:
            raise LedgerError(problem, value=str(self.name))
        d = self.decimals
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise LedgerError(
                f"decimals must be an integer, got {type(d).__name__}",
                column=self.name,
            )
        if not 0 <= int(d) <= MAX_DECIMALS:
            raise LedgerError(
                f"decimals must be between 0 and {MAX_DECIMALS}",
                column=self.name,
                value=str(d),
            )
        object.__setattr__(self, "decimals", int(d))

    def parse_amount(self, text: str) -> int:
        """Exact decimal display-unit text -> smallest units (see module doc).

        Raises :class:`LedgerError` (column = this asset) on refused text.
        """
        try:
            return parse_amount(text, self.decimals)
        except _AmountError as e:
            raise LedgerError(str(e), column=self.name, value=text) from None

    def format_amount(self, units: int) -> str:
        """Smallest units -> shortest exact decimal text (``""`` for 0)."""
        return format_amount(units, self.decimals)


def _check_assets(assets: Iterable, path=None) -> Tuple[Asset, ...]:
    out = tuple(assets)
    if not out:
        raise LedgerError("the statement needs at least one asset", path=path)
    seen = set()
    for a in out:
        if not isinstance(a, Asset):
            raise LedgerError(
                f"expected Asset instances, got {type(a).__name__}", path=path
            )
        if a.name in seen:
            raise LedgerError("duplicate asset", column=a.name, path=path)
        seen.add(a.name)
    return out


def _open_text(path: PathLike):
    # utf-8-sig: a leading BOM is tolerated and dropped.  newline="" is what
    # the csv module wants (it handles CRLF / quoted newlines itself).
    try:
        return open(path, "r", encoding="utf-8-sig", newline="")
    except OSError as e:
        raise LedgerError(f"cannot open file: {e.strerror or e}", path=path) from None


def load_assets(path: PathLike) -> Tuple[Asset, ...]:
    """Read an assets file: CSV with header ``asset,decimals``.

    Returns the assets in file order.  Blank lines are skipped.
    """
    with _open_text(path) as fh:
        reader = csv.reader(fh, strict=True)
        try:
            header = next(reader, None)
            while header is not None and not header:
                header = next(reader, None)
            if header is None:
                raise LedgerError("assets file is empty", path=path)
            if [h.strip() for h in header] != ["asset", "decimals"]:
                raise LedgerError(
                    "assets file header must be 'asset,decimals'",
                    path=path,
                    row=reader.line_num,
                    value=",".join(header),
                )
            out: List[Asset] = []
            lines = {}
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                if len(row) != 2:
                    raise LedgerError(
                        f"expected 2 cells, found {len(row)}", path=path, row=line
                    )
                name, dec = row[0].strip(), row[1].strip()
                problem = _asset_name_problem(name)
                if problem is not None:
                    raise LedgerError(problem, path=path, row=line,
                                      column="asset", value=row[0])
                if not (dec.isascii() and dec.isdigit()) or len(dec) > 3:
                    raise LedgerError(
                        "decimals must be a non-negative integer",
                        path=path, row=line, column="decimals", value=row[1],
                    )
                if int(dec) > MAX_DECIMALS:
                    raise LedgerError(
                        f"decimals must be at most {MAX_DECIMALS}",
                        path=path, row=line, column="decimals", value=row[1],
                    )
                if name in lines:
                    raise LedgerError(
                        f"duplicate asset (first listed on line {lines[name]})",
                        path=path, row=line, column="asset", value=row[0],
                    )
                lines[name] = line
                out.append(Asset(name, int(dec)))
        except csv.Error as e:
            raise LedgerError(f"malformed CSV: {e}", path=path,
                              row=reader.line_num) from None
        except UnicodeDecodeError as e:
            raise LedgerError(f"file is not valid UTF-8 ({e.reason})",
                              path=path) from None
    if not out:
        raise LedgerError("assets file lists no assets", path=path)
    return tuple(out)


def _find_assets_file(path: PathLike) -> Optional[Path]:
    p = Path(path)
    for cand in (p.with_name(p.stem + ".assets.csv"), p.with_name("assets.csv")):
        if cand.is_file():
            return cand
    return None


def _resolve_assets(
    assets: AssetsArg, path: PathLike, header: Sequence[str]
) -> Tuple[Asset, ...]:
    """Asset list of the statement for a file whose asset columns are ``header``.

    * ``None``: sibling ``<stem>.assets.csv`` then ``assets.csv``;
    * a path: an assets file;
    * a sequence of :class:`Asset`: used as is;
    * a mapping name -> decimals: a lookup table only; the statement's
      assets are then exactly the file's columns, in column order.

    For the first three, the statement's assets (and their order) are those
    of the assets source; it may list assets the ledger has no column for.
    """
    if assets is None:
        found = _find_assets_file(path)
        if found is None:
            p = Path(path)
            raise LedgerError(
                "asset decimals are required: pass assets=..., or put "
                f"'{p.stem}.assets.csv' or 'assets.csv' (header 'asset,decimals') "
                "next to the ledger",
                path=path,
            )
        return load_assets(found)
    if isinstance(assets, (str, os.PathLike)):
        return load_assets(assets)
    if isinstance(assets, Mapping):
        out = []
        for name in header:
            if name not in assets:
                raise LedgerError(
                    "asset has no decimals in the given mapping",
                    path=path, row=1, column=name,
                )
            out.append(Asset(name, assets[name]))
        return _check_assets(out, path)
    return _check_assets(assets, path)


#: Suffix of a debt column: ``BTC.debt`` holds what each user owes in BTC.
DEBT_SUFFIX = ".debt"


def _debt_base(name: str) -> Optional[str]:
    """``"BTC"`` for a column named ``"BTC.debt"``, else ``None``."""
    if name.endswith(DEBT_SUFFIX) and len(name) > len(DEBT_SUFFIX):
        return name[: -len(DEBT_SUFFIX)]
    return None


def _column_name_problem(name: str) -> Optional[str]:
    """Why a ledger column cannot name an asset (or an asset's debt), or None."""
    problem = _asset_name_problem(name)
    base = _debt_base(name)
    if problem is not None and base is not None and _asset_name_problem(base) is None:
        return None  # a name of 32 characters plus ".debt"
    return problem


def _column_roles(names: Sequence[str], assets_arg: AssetsArg, path, row: Optional[int]):
    """The statement's assets and, per ledger column ``names`` (``user_id`` left out), its
    ``(asset position, kind)``: a column named after an asset holds its equity (kind 0), one
    named ``<ASSET>.debt`` that asset's debt (kind 1). ``row`` is the header's line (CSV) or
    None (Parquet). A debt column whose asset is not in the statement, or a name that could be
    both an asset and another asset's debt, is refused naming the column."""
    mapping = isinstance(assets_arg, Mapping)

    def role(name, known):
        base = _debt_base(name)
        if name in known:
            if base is not None and base in known:
                raise LedgerError(
                    f"is ambiguous: both the asset {name} and the debt of the asset {base}; "
                    "rename one of them",
                    path=path, row=row, column=name, value=name,
                )
            return name, 0
        if base is not None and base in known:
            return base, 1
        if base is not None:
            raise LedgerError(
                f"is a debt column for an unknown asset: {base} is not "
                + ("in the given mapping" if mapping else "listed in the assets file"),
                path=path, row=row, column=name, value=name,
            )
        if mapping:
            raise LedgerError("asset has no decimals in the given mapping",
                              path=path, row=1, column=name)
        raise LedgerError("unknown asset: not listed in the assets file", path=path,
                          row=row, column=name, value=name)

    if mapping:
        named = [role(name, assets_arg) for name in names]
        header = list(dict.fromkeys(asset for asset, _ in named))
        assets_t = _resolve_assets(assets_arg, path, header)
    else:
        assets_t = _resolve_assets(assets_arg, path, names)
        named = [role(name, {a.name for a in assets_t}) for name in names]
    pos_of = {a.name: i for i, a in enumerate(assets_t)}
    return assets_t, [(pos_of[asset], kind) for asset, kind in named]


def _check_max_bits(max_bits) -> int:
    if isinstance(max_bits, bool) or not isinstance(max_bits, (int, np.integer)):
        raise LedgerError("max_bits must be an integer")
    if not MIN_MAX_BITS <= int(max_bits) <= MAX_MAX_BITS:
        raise LedgerError(
            f"max_bits must be between {MIN_MAX_BITS} and {MAX_MAX_BITS}",
            value=str(max_bits),
        )
    return int(max_bits)


# --------------------------------------------------------------------------
# user ids
# --------------------------------------------------------------------------


def _user_id_problem(uid: str) -> Optional[str]:
    """``uid`` already stripped.  Returns a reason or None."""
    if not uid:
        return "user id is empty"
    if uid.isascii() and uid.isprintable():  # fast path
        if len(uid) > MAX_USER_ID_BYTES:
            return f"user id is longer than {MAX_USER_ID_BYTES} bytes"
        return None
    for ch in uid:
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return "user id contains a control character"
    try:
        n = len(uid.encode("utf-8"))
    except UnicodeEncodeError:
        return "user id is not valid Unicode"
    if n > MAX_USER_ID_BYTES:
        return f"user id is longer than {MAX_USER_ID_BYTES} bytes in UTF-8"
    return None


def _clean_user_ids(user_ids, *, path=None) -> List[str]:
    """Validate in-memory user ids (0-based ``row i`` in errors); O(N)."""
    out: List[str] = []
    first = {}
    for i, uid in enumerate(user_ids):
        if not isinstance(uid, str):
            raise LedgerError(
                f"user id must be a string, got {type(uid).__name__}",
                index=i, column=_USER_ID_COLUMN, path=path,
            )
        s = uid.strip()
        problem = _user_id_problem(s)
        if problem is not None:
            raise LedgerError(problem, index=i, column=_USER_ID_COLUMN,
                              value=uid, path=path)
        j = first.setdefault(s, i)
        if j != i:
            raise LedgerError(
                f"duplicate user id (also row {j})",
                index=i, column=_USER_ID_COLUMN, value=uid, path=path,
            )
        out.append(s)
    return out


# --------------------------------------------------------------------------
# the ledger
# --------------------------------------------------------------------------


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _column_of(assets_t, pos: int, kind: int) -> str:
    """The ledger column of an entry: ``BTC`` for equity, ``BTC.debt`` for debt."""
    return assets_t[pos].name + (DEBT_SUFFIX if kind else "")


def _user_of_entry(indptr: np.ndarray, pos: int) -> int:
    return int(np.searchsorted(indptr, np.uint64(pos), side="right")) - 1


def _integer_array(name, a) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        if arr.size == 0 and arr.dtype == np.float64:
            # np.asarray([]) is float64; an empty list is fine.
            return arr.astype(np.uint64)
        raise LedgerError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr


_M64 = (1 << 64) - 1


def _amount_array(a) -> np.ndarray:
    """``a`` as an ndarray without losing a digit: a list mixing ints beyond int64 with
    negatives would become float64 under ``np.asarray``, so sequences go through ``object``."""
    if isinstance(a, np.ndarray):
        return a
    try:
        arr = np.asarray(a)
    except (ValueError, OverflowError):
        arr = None
    if arr is None or arr.dtype.kind not in "iu":
        if arr is not None and arr.size == 0:
            return arr.astype(np.uint64)
        try:
            arr = np.array(a, dtype=object)
        except ValueError as e:  # ragged nested lists
            raise LedgerError(f"amounts do not form a regular array ({e})") from None
    return arr


def _split_amounts(arr: np.ndarray, max_bits: int, where) -> Tuple[np.ndarray, np.ndarray]:
    """Checked amounts -> ``(lo, hi)`` uint64 arrays of ``arr``'s shape (``amount = lo + 2**64
    hi``). ``arr`` holds integers of any numpy dtype, or Python ints in an ``object`` array;
    ``where(flat_position)`` gives the ``(index, column)`` an error names. Refused: bool and
    float (even integral ones: an amount is counted, never measured), negatives, amounts of
    ``2**max_bits`` or more."""
    limit = 1 << max_bits

    def fail(pos, reason, value):
        index, column = where(pos)
        raise LedgerError(reason, index=index, column=column, value=str(value))

    flat = arr.reshape(-1)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "i":
            neg = flat < 0
            if neg.any():
                pos = int(np.flatnonzero(neg)[0])
                fail(pos, "is negative", flat[pos])
        lo = arr.astype(np.uint64)
        if max_bits < 64:
            over = lo.reshape(-1) >= np.uint64(limit)
            if over.any():
                pos = int(np.flatnonzero(over)[0])
                fail(pos, f"is not below the range bound 2**{max_bits}", flat[pos])
        return lo, np.zeros(arr.shape, dtype=np.uint64)
    if arr.dtype != object:
        pos = int(np.flatnonzero(flat)[0]) if flat.size and flat.any() else 0
        value = flat[pos] if flat.size else ""
        index, column = where(pos) if flat.size else (None, None)
        raise LedgerError(f"amounts must be integers in smallest units, got dtype {arr.dtype}",
                          index=index, column=column, value=str(value))
    # Python ints (or numpy integers) of any size, one at a time
    for pos, v in enumerate(flat.tolist()):
        if type(v) is not int:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                fail(pos, f"is not an integer ({type(v).__name__}); amounts are integers in "
                          "smallest units", v)
        if v < 0:
            fail(pos, "is negative", v)
        if v >= limit:
            fail(pos, f"is not below the range bound 2**{max_bits}", v)
    vals = [int(v) for v in flat.tolist()]
    lo = np.fromiter((v & _M64 for v in vals), np.uint64, len(vals)).reshape(arr.shape)
    hi = np.fromiter((v >> 64 for v in vals), np.uint64, len(vals)).reshape(arr.shape)
    return lo, hi


class Ledger:
    """Sparse N users x K assets table of balances in smallest units.

    Build it with :meth:`from_csv`, :meth:`from_parquet`, :meth:`from_arrays`
    or :meth:`from_entries` (the constructor is the same validated path as
    :meth:`from_entries`).  A ledger is immutable: its numpy arrays are
    read-only.  Amounts are ``amounts_lo + 2**64 * amounts_hi`` (two uint64
    columns); :meth:`amount`, :meth:`entries` and :meth:`totals` give exact
    Python ints.  ``kinds`` tells equity (0) from debt (1) per entry;
    :meth:`totals`, :meth:`entries`, :meth:`user` and :meth:`to_dense` are
    about equity, :meth:`debt_totals` and :meth:`debts` about debt.
    """

    __slots__ = (
        "user_ids", "assets", "indptr", "asset_index", "kinds", "amounts_lo", "amounts_hi",
        "max_bits", "_index_of",
    )

    def __init__(
        self,
        user_ids: Sequence[str],
        assets: Sequence[Asset],
        indptr,
        asset_index,
        amounts,
        *,
        amounts_hi=None,
        kinds=None,
        max_bits: int = DEFAULT_MAX_BITS,
    ) -> None:
        max_bits = _check_max_bits(max_bits)
        assets_t = _check_assets(assets)
        uids = _clean_user_ids(user_ids)
        n, k = len(uids), len(assets_t)

        ip = _integer_array("indptr", indptr)
        ai = _integer_array("asset_index", asset_index)
        am = _amount_array(amounts)
        if ip.ndim != 1 or ip.shape[0] != n + 1:
            raise LedgerError(f"indptr must have shape ({n + 1},), got {ip.shape}")
        if ai.ndim != 1 or am.ndim != 1 or ai.shape != am.shape:
            raise LedgerError(
                "asset_index and amounts must be 1-D arrays of equal length"
            )
        if amounts_hi is not None:
            hi_in = _integer_array("amounts_hi", amounts_hi)
            if hi_in.shape != am.shape:
                raise LedgerError("amounts and amounts_hi must be 1-D arrays of equal length")
            if am.dtype.kind not in "iu":
                raise LedgerError("with amounts_hi, amounts must be an integer array (the low 64 bits)")
        kd = None
        if kinds is not None:
            kd = _integer_array("kinds", kinds)
            if kd.shape != ai.shape:
                raise LedgerError("kinds must be a 1-D array as long as asset_index")
        nnz = ai.shape[0]
        if ip.dtype.kind == "i" and (ip < 0).any():
            raise LedgerError("indptr has negative entries")
        ip = ip.astype(np.uint64)
        if ip[0] != 0 or int(ip[-1]) != nnz:
            raise LedgerError(
                f"indptr must start at 0 and end at len(amounts) = {nnz}"
            )
        if n and (ip[1:] < ip[:-1]).any():
            i = int(np.flatnonzero(ip[1:] < ip[:-1])[0])
            raise LedgerError("indptr decreases", index=i)

        if nnz:
            if ai.dtype.kind == "i" and (ai < 0).any():
                pos = int(np.flatnonzero(ai < 0)[0])
                raise LedgerError("asset index is negative",
                                  index=_user_of_entry(ip, pos), value=str(ai[pos]))
            if (ai.astype(np.uint64) >= np.uint64(k)).any():
                pos = int(np.flatnonzero(ai.astype(np.uint64) >= np.uint64(k))[0])
                raise LedgerError(f"asset index out of range 0..{k - 1}",
                                  index=_user_of_entry(ip, pos), value=str(ai[pos]))
            ai = ai.astype(np.uint32)
            if kd is not None:
                odd = (kd < 0) | (kd > 1)
                if odd.any():
                    pos = int(np.flatnonzero(odd)[0])
                    raise LedgerError("kind must be 0 (equity) or 1 (debt)",
                                      index=_user_of_entry(ip, pos),
                                      column=assets_t[int(ai[pos])].name, value=str(kd[pos]))
                kd = kd.astype(np.uint8)
            # strictly increasing by (asset, kind) within each user
            if nnz > 1:
                key = ai if kd is None else ai.astype(np.uint64) * np.uint64(2) + kd
                bad = key[1:] <= key[:-1]
                starts = ip[1:-1]
                starts = starts[(starts > 0) & (starts < nnz)].astype(np.int64)
                bad[starts - 1] = False  # a new user starts at `starts`
                if bad.any():
                    pos = int(np.flatnonzero(bad)[0]) + 1
                    raise LedgerError(
                        "asset indices must be strictly increasing within a user"
                        + ("" if kd is None else
                           " (by asset, then kind: one equity then one debt per asset)"),
                        index=_user_of_entry(ip, pos),
                        column=_column_of(assets_t, int(ai[pos]), 0 if kd is None else int(kd[pos])),
                    )

            def where(pos):
                kind = 0 if kd is None else int(kd[pos])
                return _user_of_entry(ip, pos), _column_of(assets_t, int(ai[pos]), kind)

            if amounts_hi is None:
                lo, hi = _split_amounts(am, max_bits, where)
            else:
                # two words: each checked as a uint64, then the amount they make
                lo, _ = _split_amounts(am, 64, where)
                hi, _ = _split_amounts(hi_in, 64, where)
                if max_bits >= 64:
                    over = (hi >> np.uint64(max_bits - 64)) != 0
                else:
                    over = (hi != 0) | (lo >= np.uint64(1 << max_bits))
                if over.any():
                    pos = int(np.flatnonzero(over)[0])
                    raise LedgerError(
                        f"is not below the range bound 2**{max_bits}", index=where(pos)[0],
                        column=where(pos)[1], value=str(int(lo[pos]) | int(hi[pos]) << 64),
                    )
            zero = (lo == 0) & (hi == 0)
            if zero.any():
                pos = int(np.flatnonzero(zero)[0])
                index, column = where(pos)
                raise LedgerError("zero balances must not be stored", index=index,
                                  column=column, value="0")
        else:
            ai = ai.astype(np.uint32)
            lo = hi = np.zeros(0, dtype=np.uint64)
        kd = np.zeros(ai.shape, dtype=np.uint8) if kd is None else kd.astype(np.uint8)
        self._set(uids, assets_t, np.array(ip), np.array(ai), np.array(kd), np.array(lo), np.array(hi),
                  max_bits)

    def _set(self, uids, assets_t, ip, ai, kd, lo, hi, max_bits) -> None:
        self.user_ids: List[str] = uids
        self.assets: Tuple[Asset, ...] = assets_t
        self.indptr: np.ndarray = _frozen(ip)
        self.asset_index: np.ndarray = _frozen(ai)
        self.kinds: np.ndarray = _frozen(kd)
        self.amounts_lo: np.ndarray = _frozen(lo)
        self.amounts_hi: np.ndarray = _frozen(hi)
        self.max_bits: int = max_bits
        self._index_of = None

    @classmethod
    def _trusted(cls, uids, assets_t, ip, ai, lo, hi, max_bits, kinds=None) -> "Ledger":
        """Internal: wrap arrays already known to be valid (no checks); ``hi`` may be ``None``
        (every amount below 2**64), ``kinds`` ``None`` (no debt)."""
        self = cls.__new__(cls)
        lo = np.ascontiguousarray(lo, dtype=np.uint64)
        hi = np.zeros_like(lo) if hi is None else np.ascontiguousarray(hi, dtype=np.uint64)
        kd = np.zeros(lo.shape, dtype=np.uint8) if kinds is None else np.ascontiguousarray(kinds, dtype=np.uint8)
        self._set(
            list(uids), tuple(assets_t),
            np.ascontiguousarray(ip, dtype=np.uint64),
            np.ascontiguousarray(ai, dtype=np.uint32),
            kd, lo, hi, max_bits,
        )
        return self

    # ---------------------------------------------------------------- builders

    @classmethod
    def from_entries(
        cls,
        user_ids: Sequence[str],
        assets: Sequence[Asset],
        indptr,
        asset_index,
        amounts,
        *,
        amounts_hi=None,
        kinds=None,
        max_bits: int = DEFAULT_MAX_BITS,
    ) -> "Ledger":
        """Validated constructor from CSR arrays (see the module docstring).

        ``amounts`` is an integer array (any numpy dtype), or a sequence or
        ``object`` array of Python ints of any size; or, with ``amounts_hi``,
        the low 64 bits of each amount (``amount = amounts + 2**64 *
        amounts_hi``).  Floats, bools, negatives, zeros and amounts of
        ``2**max_bits`` or more are refused.  ``kinds`` (0 equity, 1 debt;
        ``None``: all equity) runs beside ``asset_index``; a user's entries
        must be strictly increasing by ``(asset_index, kind)``.  User ids are
        stripped of surrounding whitespace and must be unique; errors name the
        0-based user index as ``row i``, the column (``BTC``, or ``BTC.debt``
        for a debt) and the value.
        """
        return cls(user_ids, assets, indptr, asset_index, amounts, amounts_hi=amounts_hi,
                   kinds=kinds, max_bits=max_bits)

    @classmethod
    def from_arrays(
        cls,
        user_ids: Sequence[str],
        assets: Sequence[Asset],
        balances,
        *,
        debts=None,
        max_bits: int = DEFAULT_MAX_BITS,
    ) -> "Ledger":
        """Build from a dense (N, K) array of smallest units.

        ``balances`` is an integer array of any numpy dtype (uint64 included),
        or an ``object`` array or nested lists of Python ints of any size below
        ``2**max_bits``.  Negatives, floats (even integral ones) and bools are
        refused.  ``debts`` (optional) is what each user owes, in the same form
        and shape.  Errors name ``row i`` (0-based), the column (``BTC``, or
        ``BTC.debt`` in ``debts``) and the value.
        """
        max_bits = _check_max_bits(max_bits)
        assets_t = _check_assets(assets)
        uids = _clean_user_ids(user_ids)
        n, k = len(uids), len(assets_t)

        def dense(values, what, kind):
            b = _amount_array(values)
            if b.ndim != 2 or b.shape != (n, k):
                if b.size == 0 and n * k == 0:
                    b = np.zeros((n, k), dtype=np.uint64)
                else:
                    raise LedgerError(
                        f"{what} must have shape (num_users, num_assets) = ({n}, {k}), "
                        f"got {b.shape}"
                    )
            return _split_amounts(b, max_bits, lambda pos: (pos // k, _column_of(assets_t, pos % k, kind)))

        lo, hi = dense(balances, "balances", 0)
        if debts is None:
            ip, ai, am_lo, am_hi = _dense_to_csr(lo, hi)
            return cls._trusted(uids, assets_t, ip, ai, am_lo, am_hi, max_bits)
        d_lo, d_hi = dense(debts, "debts", 1)
        # columns (equity 0, debt 0, equity 1, ...): a column's number is 2·asset + kind
        ip, tag, am_lo, am_hi = _dense_to_csr(np.stack([lo, d_lo], axis=2).reshape(n, 2 * k),
                                              np.stack([hi, d_hi], axis=2).reshape(n, 2 * k))
        return cls._trusted(uids, assets_t, ip, tag >> 1, am_lo, am_hi, max_bits,
                            kinds=(tag & 1).astype(np.uint8))

    @classmethod
    def from_csv(
        cls,
        path: PathLike,
        *,
        assets: AssetsArg = None,
        max_bits: int = DEFAULT_MAX_BITS,
    ) -> "Ledger":
        """Read a CSV ledger: header ``user_id,<ASSET>,<ASSET>,...``.

        Cells are exact decimal strings in display units (see the module
        docstring for the accepted syntax), blank meaning 0.  ``assets`` is a
        list of :class:`Asset`, a path to an ``asset,decimals`` CSV, a
        mapping name -> decimals, or ``None`` to use the sibling
        ``<stem>.assets.csv`` or ``assets.csv``.

        Rows are streamed; a UTF-8 BOM and CRLF line ends are tolerated;
        completely empty lines are skipped.  Every refused input raises
        :class:`LedgerError` naming path, line, column and raw value.
        """
        max_bits = _check_max_bits(max_bits)
        gen = cls._csv_file_chunks(path, assets, max_bits, None, None)
        try:
            for led, _lines in gen:
                return led
        finally:
            gen.close()
        raise LedgerError("ledger has no data rows", path=os.fspath(path))

    @classmethod
    def _csv_file_chunks(cls, path, assets, max_bits, chunk_users, check_uid):
        """Open ``path`` and run :meth:`_csv_chunks` on it, wrapping CSV and
        UTF-8 errors in :class:`LedgerError` (``max_bits`` already checked)."""
        limit = 1 << max_bits
        spath = os.fspath(path)
        with _open_text(path) as fh:
            reader = csv.reader(fh, strict=True)
            try:
                yield from cls._csv_chunks(reader, spath, assets, max_bits, limit,
                                           chunk_users, check_uid)
            except csv.Error as e:
                raise LedgerError(f"malformed CSV: {e}", path=spath,
                                  row=reader.line_num) from None
            except UnicodeDecodeError as e:
                raise LedgerError(
                    f"file is not valid UTF-8 ({e.reason}) after line "
                    f"{reader.line_num}", path=spath,
                ) from None

    @classmethod
    def _csv_chunks(cls, reader, path, assets_arg, max_bits, limit,
                    chunk_users=None, check_uid=None):
        """Generator behind :meth:`from_csv` and ``stark_por.stream``.

        Yields ``(ledger, lines)`` for consecutive runs of at most
        ``chunk_users`` data rows (all rows when ``None``), ``lines`` being
        the 1-based line number of each user.  Duplicate ids are refused
        within a chunk; ``check_uid(uid, line, raw)``, if given, is called
        for every other row before its cells are parsed.  Yields nothing
        for a file with a header and no data rows.
        """
        header = next(reader, None)
        if header is None:
            raise LedgerError("file is empty (no header)", path=path)
        hdr = [h.strip() for h in header]
        if not hdr or hdr[0] != _USER_ID_COLUMN:
            raise LedgerError(
                f"first header column must be '{_USER_ID_COLUMN}'",
                path=path, row=1, column=None, value=header[0] if header else "",
            )
        names = hdr[1:]
        if not names:
            raise LedgerError("header has no asset columns", path=path, row=1)
        seen = set()
        for name in names:
            if name == _USER_ID_COLUMN or name in seen:
                raise LedgerError("duplicate column name", path=path, row=1,
                                  column=name, value=name)
            seen.add(name)
            problem = _column_name_problem(name)
            if problem is not None:
                raise LedgerError(problem, path=path, row=1, value=name)
        assets_t, roles = _column_roles(names, assets_arg, path, 1)
        # with a debt column, an entry is stored as its tag 2·asset + kind until the chunk ends
        with_debt = any(kind for _, kind in roles)
        col_code = [2 * p + kind if with_debt else p for p, kind in roles]
        monotonic = all(a < b for a, b in zip(col_code, col_code[1:]))
        ncols = len(header)
        # per column j (1..ncols-1): entry code, decimals, name
        col_pos = [0] + col_code
        col_dec = [0] + [assets_t[p].decimals for p, _ in roles]
        col_name = [_USER_ID_COLUMN] + names
        colrange = range(1, ncols)

        user_ids: List[str] = []
        lines = array.array("Q")
        indptr = array.array("Q", [0])
        aidx = array.array("I")
        amts = array.array("Q")
        # amounts of 2**64 and more are rare: their entry and high word go aside, so the
        # common cell costs one comparison and one append
        wide_at, wide_hi = array.array("Q"), array.array("Q")
        seen_ids = set()
        # bound methods hoisted out of the hot loop
        uid_append, line_append = user_ids.append, lines.append
        ip_append, ai_append, am_append = indptr.append, aidx.append, amts.append
        wide_at_append, wide_hi_append = wide_at.append, wide_hi.append
        m64, two64 = _M64, 1 << 64
        seen_add = seen_ids.add
        nnz = 0

        def finish() -> "Ledger":
            ip = np.frombuffer(indptr, dtype=np.uint64).copy()
            ai = np.frombuffer(aidx, dtype=np.uint32).copy() if nnz else np.zeros(0, np.uint32)
            am = np.frombuffer(amts, dtype=np.uint64).copy() if nnz else np.zeros(0, np.uint64)
            hi = np.zeros(nnz, dtype=np.uint64)
            if wide_at:
                hi[np.frombuffer(wide_at, dtype=np.uint64)] = np.frombuffer(wide_hi, dtype=np.uint64)
            if not monotonic and nnz:
                owner = np.repeat(np.arange(len(user_ids), dtype=np.int64),
                                  np.diff(ip).astype(np.int64))
                order = np.lexsort((ai, owner))
                ai, am, hi = ai[order], am[order], hi[order]
            kinds = None
            if with_debt:
                ai, kinds = ai >> np.uint32(1), (ai & np.uint32(1)).astype(np.uint8)
            return cls._trusted(user_ids, assets_t, ip, ai, am, hi, max_bits, kinds=kinds)

        for row in reader:
            if len(row) != ncols:
                if not row:
                    continue  # completely empty line
                raise LedgerError(
                    f"expected {ncols} cells, found {len(row)}",
                    path=path, row=reader.line_num,
                )
            uid = row[0].strip()
            if not (uid and uid.isascii() and uid.isprintable()
                    and len(uid) <= MAX_USER_ID_BYTES):
                problem = _user_id_problem(uid)
                if problem is not None:
                    raise LedgerError(problem, path=path, row=reader.line_num,
                                      column=_USER_ID_COLUMN, value=row[0])
            if uid in seen_ids:
                first = lines[user_ids.index(uid)]
                raise LedgerError(
                    f"duplicates the user id on line {first}",
                    path=path, row=reader.line_num, column=_USER_ID_COLUMN,
                    value=row[0],
                )
            if check_uid is not None:
                check_uid(uid, reader.line_num, row[0])
            seen_add(uid)
            uid_append(uid)
            line_append(reader.line_num)
            # fast path: only non-empty cells are visited
            for j in compress(colrange, row[1:]):
                cell = row[j]
                try:
                    v = parse_amount(cell, col_dec[j])
                except _AmountError as e:
                    raise LedgerError(str(e), path=path, row=reader.line_num,
                                      column=col_name[j], value=cell) from None
                if v:
                    if v >= limit:
                        raise LedgerError(
                            f"is not below the range bound 2**{max_bits} "
                            f"smallest units ({v})",
                            path=path, row=reader.line_num, column=col_name[j],
                            value=cell,
                        )
                    ai_append(col_pos[j])
                    if v < two64:
                        am_append(v)
                    else:
                        am_append(v & m64)
                        wide_at_append(nnz)
                        wide_hi_append(v >> 64)
                    nnz += 1
            ip_append(nnz)
            if chunk_users is not None and len(user_ids) >= chunk_users:
                yield finish(), lines
                user_ids, lines = [], array.array("Q")
                indptr, aidx, amts = array.array("Q", [0]), array.array("I"), array.array("Q")
                wide_at, wide_hi = array.array("Q"), array.array("Q")
                seen_ids = set()
                uid_append, line_append = user_ids.append, lines.append
                ip_append, ai_append, am_append = indptr.append, aidx.append, amts.append
                wide_at_append, wide_hi_append = wide_at.append, wide_hi.append
                seen_add = seen_ids.add
                nnz = 0

        if user_ids:
            yield finish(), lines

    @classmethod
    def from_parquet(
        cls,
        path: PathLike,
        *,
        assets: AssetsArg = None,
        max_bits: int = DEFAULT_MAX_BITS,
    ) -> "Ledger":
        """Read a Parquet ledger (same layout as the CSV).

        Column ``user_id`` (string) may be anywhere; every other column is an
        asset.  Asset column types:

        * string: decimal text in display units, parsed exactly like a CSV
          cell (null or blank = 0);
        * integer (any width, signed or not): **smallest units** (null = 0,
          negatives refused);
        * decimal (decimal32/64/128/256): display units, converted exactly
          (a non-zero digit beyond the asset's decimals is refused);
        * anything else (float in particular) is refused.

        ``assets`` is resolved as for :meth:`from_csv`.  Data are read in
        record batches.  Parquet has no line numbers: errors name the 0-based
        data row as ``row i``.
        """
        max_bits = _check_max_bits(max_bits)
        first_row = {}

        def check_uid(uid, idx, raw):
            j = first_row.setdefault(uid, idx)
            if j != idx:
                raise LedgerError(
                    f"duplicates the user id in row {j}", path=os.fspath(path),
                    index=idx, column=_USER_ID_COLUMN, value=raw,
                )

        user_ids: List[str] = []
        ip_chunks, ai_chunks, lo_chunks, hi_chunks, kind_chunks = [], [], [], [], []
        nnz = 0
        assets_t = None
        for _base, uids, assets_t, ip, ai, lo, hi, kinds in cls._parquet_chunks(
                path, assets, max_bits, None, check_uid):
            user_ids.extend(uids)
            ip_chunks.append(ip[1:] + np.uint64(nnz))
            ai_chunks.append(ai)
            lo_chunks.append(lo)
            hi_chunks.append(hi)
            if kinds is not None:
                kind_chunks.append(kinds)
            nnz += int(ip[-1])
        if not user_ids:
            raise LedgerError("ledger has no data rows", path=os.fspath(path))
        ip = np.concatenate([np.zeros(1, np.uint64)] + ip_chunks)
        ai = np.concatenate(ai_chunks)
        # every batch has the same columns: all carry kinds or none does
        kinds = np.concatenate(kind_chunks) if kind_chunks else None
        return cls._trusted(user_ids, assets_t, ip, ai, np.concatenate(lo_chunks),
                            np.concatenate(hi_chunks), max_bits, kinds=kinds)

    @classmethod
    def _parquet_chunks(cls, path, assets, max_bits, batch_rows, check_uid):
        """Generator behind :meth:`from_parquet` and ``stark_por.stream``.

        Yields ``(base, user_ids, assets, indptr, asset_index, amounts_lo,
        amounts_hi, kinds)`` (``kinds`` ``None`` when the file has no debt column) per
        record batch of at most ``batch_rows`` rows (default: about 2**21
        cells), ``base`` being the 0-based index of the batch's first row.
        ``check_uid(uid, index, raw)`` is called for every valid user id
        before the batch's cells are parsed (duplicate checks live there).
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        max_bits = _check_max_bits(max_bits)
        spath = os.fspath(path)
        try:
            pf = pq.ParquetFile(spath)
            schema = pf.schema_arrow
            names = list(schema.names)
        except (OSError, pa.ArrowException) as e:
            raise LedgerError(f"cannot read Parquet file: {e}", path=spath) from None
        except UnicodeDecodeError as e:  # Parquet does not check that column names are UTF-8
            raise LedgerError(f"cannot read Parquet file: a column name is not UTF-8 (byte {e.start})",
                              path=spath) from None
        if _USER_ID_COLUMN not in names:
            raise LedgerError(f"no '{_USER_ID_COLUMN}' column", path=spath)
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise LedgerError("duplicate column name", path=spath, column=dup,
                              value=dup)
        uid_pos = names.index(_USER_ID_COLUMN)
        if not _is_arrow_string(schema.field(uid_pos).type):
            raise LedgerError(
                f"column must hold strings, not {schema.field(uid_pos).type}",
                path=spath, column=_USER_ID_COLUMN,
            )
        cols = [(i, n) for i, n in enumerate(names) if i != uid_pos]
        if not cols:
            raise LedgerError("no asset columns", path=spath)
        for _, name in cols:
            problem = _column_name_problem(name)
            if problem is not None:
                raise LedgerError(problem, path=spath, value=name)
        assets_t, roles = _column_roles([n for _, n in cols], assets, spath, None)
        # with a debt column, batches are decoded as N x 2K blocks: column 2·asset + kind
        with_debt = any(kind for _, kind in roles)
        plan = []
        for (i, name), (pos, kind) in zip(cols, roles):
            t = schema.field(i).type
            if pa.types.is_dictionary(t):
                t = t.value_type
            if not (_is_arrow_string(t) or pa.types.is_integer(t)
                    or pa.types.is_decimal(t)):
                raise LedgerError(
                    f"unsupported column type {t} (use decimal strings, integer "
                    "smallest units or decimals; floats are never accepted)",
                    path=spath, column=name,
                )
            plan.append((i, 2 * pos + kind if with_debt else pos, name, assets_t[pos]))

        k = len(assets_t)
        width = 2 * k if with_debt else k
        if batch_rows is None:
            batch_rows = max(1024, (1 << 21) // k)
        base = 0  # rows read so far
        try:
            batches = pf.iter_batches(batch_size=batch_rows)
            for batch in batches:
                b = batch.num_rows
                if b == 0:
                    continue
                ucol = batch.column(uid_pos)
                if pa.types.is_dictionary(ucol.type):
                    ucol = ucol.dictionary_decode()
                user_ids: List[str] = []
                for r, raw in enumerate(_arrow_strings(ucol, spath, base, _USER_ID_COLUMN)):
                    idx = base + r
                    if raw is None:
                        raise LedgerError("user id is missing (null)", path=spath,
                                          index=idx, column=_USER_ID_COLUMN)
                    uid = raw.strip()
                    problem = _user_id_problem(uid)
                    if problem is not None:
                        raise LedgerError(problem, path=spath, index=idx,
                                          column=_USER_ID_COLUMN, value=raw)
                    check_uid(uid, idx, raw)
                    user_ids.append(uid)
                dense = np.zeros((b, width), dtype=np.uint64)
                dense_hi = None  # only when some amount reaches 2**64
                for ci, ak, name, asset in plan:
                    lo, hi = _arrow_column_units(
                        batch.column(ci), asset, max_bits, spath, base, name
                    )
                    dense[:, ak] = lo
                    if hi is not None:
                        if dense_hi is None:
                            dense_hi = np.zeros((b, width), dtype=np.uint64)
                        dense_hi[:, ak] = hi
                ip, ai, lo, hi = _dense_to_csr(dense, dense_hi)
                del dense, dense_hi
                kinds = None
                if with_debt:
                    ai, kinds = ai >> np.uint32(1), (ai & np.uint32(1)).astype(np.uint8)
                yield base, user_ids, assets_t, ip, ai, lo, hi, kinds
                base += b
        except (OSError, pa.ArrowException) as e:  # pyarrow reports a damaged page as OSError
            raise LedgerError(f"cannot read Parquet file: {e}", path=spath) from None
        if base != pf.metadata.num_rows:  # small batches can end early in a damaged column
            raise LedgerError(f"cannot read Parquet file: {base} rows read, its metadata says "
                              f"{pf.metadata.num_rows}", path=spath)

    # ---------------------------------------------------------------- queries

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_assets(self) -> int:
        return len(self.assets)

    @property
    def num_entries(self) -> int:
        return int(self.amounts_lo.shape[0])

    def amount(self, e: int) -> int:
        """Entry ``e``'s amount in smallest units, exact."""
        return int(self.amounts_lo[e]) | int(self.amounts_hi[e]) << 64

    def amounts_as_ints(self, start: int = 0, stop: Optional[int] = None) -> List[int]:
        """The amounts of entries ``start:stop`` as exact Python ints (for writers and
        tests: a Python int per entry)."""
        lo = self.amounts_lo[start:stop].tolist()
        hi = self.amounts_hi[start:stop]
        if not hi.any():
            return lo
        return [a | b << 64 for a, b in zip(lo, hi.tolist())]

    @property
    def amounts(self) -> np.ndarray:
        """The amounts as one uint64 array, for ledgers whose amounts are all below 2**64
        (LedgerError naming the first that is not); wide amounts are ``amounts_lo`` and
        ``amounts_hi``."""
        wide = self.amounts_hi != 0
        if wide.any():
            pos = int(np.flatnonzero(wide)[0])
            raise LedgerError(
                "is 2**64 or more: read amounts_lo and amounts_hi (or amount(e)) instead of amounts",
                index=_user_of_entry(self.indptr, pos), column=self.column_of(pos),
                value=str(self.amount(pos)),
            )
        return self.amounts_lo

    def __len__(self) -> int:
        return len(self.user_ids)

    def __repr__(self) -> str:
        names = ",".join(a.name for a in self.assets[:5])
        if len(self.assets) > 5:
            names += ",..."
        debts = f", num_debts={int(np.count_nonzero(self.kinds))}" if self.has_debt else ""
        return (
            f"Ledger(num_users={self.num_users}, num_assets={self.num_assets} "
            f"[{names}], num_entries={self.num_entries}{debts}, max_bits={self.max_bits})"
        )

    def __eq__(self, other) -> bool:
        if not isinstance(other, Ledger):
            return NotImplemented
        return (
            self.max_bits == other.max_bits
            and self.assets == other.assets
            and self.user_ids == other.user_ids
            and np.array_equal(self.indptr, other.indptr)
            and np.array_equal(self.asset_index, other.asset_index)
            and np.array_equal(self.kinds, other.kinds)
            and np.array_equal(self.amounts_lo, other.amounts_lo)
            and np.array_equal(self.amounts_hi, other.amounts_hi)
        )

    __hash__ = None  # mutable-looking container semantics; not hashable

    @property
    def has_debt(self) -> bool:
        """Whether any user owes anything (such a ledger is proved by statement version 3)."""
        return bool(self.kinds.any())

    def column_of(self, e: int) -> str:
        """The ledger column of entry ``e``: ``BTC`` for an equity, ``BTC.debt`` for a debt."""
        return _column_of(self.assets, int(self.asset_index[e]), int(self.kinds[e]))

    def _user_entries(self, i: int, kind: int) -> List[Tuple[int, int]]:
        n = len(self.user_ids)
        if not -n <= i < n:
            raise IndexError(f"user index {i} out of range for {n} users")
        i %= n
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        pairs = zip(self.asset_index[lo:hi].tolist(), self.amounts_as_ints(lo, hi))
        return [p for p, k in zip(pairs, self.kinds[lo:hi].tolist()) if k == kind]

    def entries(self, i: int) -> List[Tuple[int, int]]:
        """``[(asset_index, amount), ...]``: user ``i``'s equity (0-based; debts: :meth:`debts`)."""
        return self._user_entries(i, 0)

    def debts(self, i: int) -> List[Tuple[int, int]]:
        """``[(asset_index, amount), ...]``: what user ``i`` (0-based) owes, per asset."""
        return self._user_entries(i, 1)

    def index_of(self, user_id: str) -> int:
        """0-based index of ``user_id`` (surrounding whitespace ignored)."""
        if self._index_of is None:
            self._index_of = {u: i for i, u in enumerate(self.user_ids)}
        try:
            return self._index_of[user_id.strip()]
        except KeyError:
            raise KeyError(user_id) from None

    def user(self, user_id: str) -> dict:
        """``{asset name: amount}`` for the assets ``user_id`` holds.

        Only non-zero balances are listed (absent asset = 0).  Raises
        ``KeyError`` for an unknown user.
        """
        i = self.index_of(user_id)
        return {self.assets[a].name: v for a, v in self.entries(i)}

    def totals(self) -> List[int]:
        """Exact per-asset sums of equity, as Python ints (may exceed 2**128)."""
        return self._sums(0)

    def debt_totals(self) -> List[int]:
        """Exact per-asset sums of debt, as Python ints (all 0 for a ledger without debt)."""
        return self._sums(1)

    def _sums(self, kind: int) -> List[int]:
        k = len(self.assets)
        total = [0] * k
        if kind and not self.has_debt:
            return total
        # Four 32-bit quarters of each amount (< 2**112, so the top one < 2**48): summing at
        # most 2**31 quarters per chunk cannot overflow uint64.
        chunk = 1 << 31
        mask = np.uint64(0xFFFFFFFF)
        mixed = self.has_debt
        for s in range(0, self.num_entries, chunk):
            idx = self.asset_index[s:s + chunk]
            words = self.amounts_lo[s:s + chunk], self.amounts_hi[s:s + chunk]
            if mixed:  # only this kind's entries
                keep = self.kinds[s:s + chunk] == kind
                idx, words = idx[keep], (words[0][keep], words[1][keep])
            for word, shift in zip(words, (0, 64)):
                if shift and not word.any():
                    continue
                for half, sh in ((word & mask, 0), (word >> np.uint64(32), 32)):
                    acc = np.zeros(k, dtype=np.uint64)
                    np.add.at(acc, idx, half)
                    for j in range(k):
                        total[j] += int(acc[j]) << (shift + sh)
        return total

    def to_dense(self, *, debts: bool = False) -> np.ndarray:
        """Dense (N, K) copy of the equity (of the debts with ``debts=True``): uint64 when every
        amount is below 2**64, else an ``object`` array of Python ints."""
        n, k = self.num_users, self.num_assets
        rows = np.repeat(np.arange(n, dtype=np.int64),
                         np.diff(self.indptr).astype(np.int64))
        cols = self.asset_index.astype(np.int64)
        lo, hi = self.amounts_lo, self.amounts_hi
        if self.has_debt or debts:
            keep = self.kinds == (1 if debts else 0)
            rows, cols, lo, hi = rows[keep], cols[keep], lo[keep], hi[keep]
        if not hi.any():
            out = np.zeros((n, k), dtype=np.uint64)
            out[rows, cols] = lo
            return out
        out = np.zeros((n, k), dtype=object)
        out[rows, cols] = np.array([a | b << 64 for a, b in zip(lo.tolist(), hi.tolist())], dtype=object)
        return out


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _dense_to_csr(lo: np.ndarray, hi: Optional[np.ndarray] = None):
    """Dense (N, K) uint64 words (``hi`` may be ``None``: all zero) -> (indptr, asset_index,
    amounts_lo, amounts_hi)."""
    mask = lo != 0 if hi is None else (lo != 0) | (hi != 0)
    counts = np.count_nonzero(mask, axis=1)
    ip = np.zeros(lo.shape[0] + 1, dtype=np.uint64)
    np.cumsum(counts, out=ip[1:])
    _, cols = np.nonzero(mask)  # row-major: columns increase within a row
    am_lo = lo[mask].astype(np.uint64)
    am_hi = np.zeros_like(am_lo) if hi is None else hi[mask].astype(np.uint64)
    return ip, cols.astype(np.uint32), am_lo, am_hi


def _is_arrow_string(t) -> bool:
    import pyarrow as pa

    return (pa.types.is_string(t) or pa.types.is_large_string(t)
            or getattr(pa.types, "is_string_view", lambda _t: False)(t))


def _arrow_strings(col, path: str, base: int, column: str) -> list:
    """The cells of an Arrow string column, refusing bytes that are not UTF-8 (a Parquet reader
    does not check them) with the row at fault."""
    try:
        return col.to_pylist()
    except UnicodeDecodeError:
        for r in range(len(col)):
            try:
                col[r].as_py()
            except UnicodeDecodeError as e:
                raise LedgerError(f"is not UTF-8 text (byte {e.start})", path=path, index=base + r,
                                  column=column) from None
        raise


def _arrow_column_units(col, asset: Asset, max_bits: int, path: str, base: int,
                        column: Optional[str] = None):
    """One Parquet column chunk -> ``(lo, hi)`` uint64 smallest units, checked; ``hi`` is
    ``None`` when every amount is below 2**64. Errors name ``column`` (default: the asset)."""
    import pyarrow as pa

    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    limit = 1 << max_bits
    name = asset.name if column is None else column
    over_bound = f"is not below the range bound 2**{max_bits} smallest units"

    def fail(r, reason, value):
        raise LedgerError(reason, path=path, index=base + r, column=name,
                          value=value)

    if _is_arrow_string(t):
        lo = np.zeros(n, dtype=np.uint64)
        hi = None
        for r, cell in enumerate(_arrow_strings(col, path, base, name)):
            if not cell:
                continue
            try:
                v = parse_amount(cell, asset.decimals)
            except _AmountError as e:
                fail(r, str(e), cell)
            if v >= limit:
                fail(r, over_bound, cell)
            lo[r] = v & _M64
            if v >> 64:
                if hi is None:
                    hi = np.zeros(n, dtype=np.uint64)
                hi[r] = v >> 64
        return lo, hi

    if pa.types.is_integer(t):  # at most 64 bits: wider amounts come as decimals or strings
        vals = col.fill_null(0).to_numpy(zero_copy_only=False)
        if vals.dtype.kind == "i":
            neg = vals < 0
            if neg.any():
                r = int(np.flatnonzero(neg)[0])
                fail(r, "is negative", str(vals[r]))
        vals = vals.astype(np.uint64)
        if max_bits < 64:
            over = vals >= np.uint64(limit)
            if over.any():
                r = int(np.flatnonzero(over)[0])
                fail(r, over_bound, str(vals[r]))
        return vals, None

    # decimal: fixed-width two's-complement unscaled integers, as little-endian 64-bit words
    bw = t.byte_width
    scale = t.scale
    buf = col.buffers()[1]
    valid = ~col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
    if bw <= 8:
        raw = np.frombuffer(buf, dtype=f"<i{bw}")[col.offset:col.offset + n]
        raw = raw.astype(np.int64)
        if valid is not None:
            raw = np.where(valid, raw, 0)
        neg = raw < 0
        words = raw.astype(np.uint64)[:, None]
    else:
        words = np.frombuffer(buf, dtype="<u8").reshape(-1, bw // 8)
        words = words[col.offset:col.offset + n]
        if valid is not None:
            words = np.where(valid[:, None], words, np.uint64(0))
        neg = words[:, -1].view(np.int64) < 0
    if neg.any():
        r = int(np.flatnonzero(neg)[0])
        fail(r, "is negative", str(col[r].as_py()))
    d = asset.decimals
    decimals_reason = f"has more than {d} decimal places (the asset has {d} decimals)"
    lo = words[:, 0].copy()
    hi = words[:, 1].copy() if words.shape[1] > 1 else np.zeros(n, dtype=np.uint64)
    # rows the vectorized uint64 arithmetic cannot convert exactly: their scale change is
    # done on Python ints below (wide unscaled values, or a product beyond 64 bits)
    slow = (words[:, 1:] != 0).any(axis=1) if words.shape[1] > 1 else np.zeros(n, dtype=bool)
    if scale != d:
        if scale > d:
            shift = scale - d
            if shift >= 20:  # 10**20 > 2**64: only zero divides a one-word value exactly
                bad = (lo != 0) & ~slow
                div = None
            else:
                div = np.uint64(10 ** shift)
                bad = ((lo % div) != 0) & ~slow
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                fail(r, decimals_reason, str(col[r].as_py()))
            if div is not None:
                lo = lo // div
        else:
            mul = 10 ** (d - scale)
            cap = _M64 // mul  # largest one-word value whose product still fits a word
            slow |= lo > np.uint64(cap)
            lo = np.where(slow, np.uint64(0), lo * np.uint64(mul if cap else 1))
        for r in np.flatnonzero(slow).tolist():
            v = sum(int(w) << (64 * i) for i, w in enumerate(words[r].tolist()))
            if scale > d:
                v, rem = divmod(v, 10 ** (scale - d))
                if rem:
                    fail(r, decimals_reason, str(col[r].as_py()))
            else:
                v *= 10 ** (d - scale)
            if v >= limit:
                fail(r, over_bound, str(col[r].as_py()))
            lo[r], hi[r] = v & _M64, v >> 64
    elif words.shape[1] > 2:
        big = (words[:, 2:] != 0).any(axis=1)
        if big.any():
            r = int(np.flatnonzero(big)[0])
            fail(r, over_bound, str(col[r].as_py()))
    if max_bits >= 64:
        over = (hi >> np.uint64(max_bits - 64)) != 0
    else:
        over = (hi != 0) | (lo >= np.uint64(limit))
    if over.any():
        r = int(np.flatnonzero(over)[0])
        fail(r, over_bound, str(col[r].as_py()))
    return lo, (hi if hi.any() else None)
