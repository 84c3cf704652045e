"""Prices and haircuts of a margin round (statement version 3).

A round whose ledger has debts (``BTC.debt`` columns) proves, for every user who owes
anything, that their collateral covers their debt at public prices:
``Σ price·(1 − haircut)·equity ≥ Σ price·debt`` over the assets. The prices file gives those
numbers, one CSV per round::

    asset,price,haircut
    BTC,97000.5,0.05
    ETH,3600,0.1
    USDT,1,0

``price`` is USD per whole token (``1 BTC``, not one satoshi), ``haircut`` the fraction of an
equity's value that does not count as collateral (``0.05`` = 5 %), from 0 to 1. Both are exact
decimals: digits and at most one ``.``, no sign, exponent, separator, ``nan``/``inf`` or hex;
surrounding spaces are ignored. A price must be above 0. An asset may be left out: it is
*unpriced*, counts nothing as collateral, and no user may owe it.

The statement publishes each price and haircut in a canonical form (the shortest exact decimal:
``97000.50`` is ``97000.5``, ``.5`` is ``0.5``; at most 38 digits) so that its encoding is
unique; :class:`Prices` holds them so. The prover folds them into integer coefficients per
smallest unit (``circuits/liabilities``, README §4) and refuses, naming the asset, a price whose
debt coefficient does not fit the circuit (at most ``2**91`` per smallest unit, e.g. a 0-decimal
asset above about $2.47).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .._files import atomic_write
from ..errors import MarginError
from ..ledger import Asset, _amount_reason, _asset_name_problem

__all__ = ["Prices", "canonical_decimal", "price_terms", "FIELDS", "MAX_DECIMAL_DIGITS", "VALUE_UNIT_EXP"]

PathLike = Union[str, "os.PathLike[str]"]
FIELDS = ("asset", "price", "haircut")
#: Most digits of a canonical price or haircut: its digits read as one integer below 10**38 < 2**128
#: (the core's arithmetic is sized for it; every verifier refuses longer ones).
MAX_DECIMAL_DIGITS = 38
#: Rounds made now express values in units of ``10**-27`` USD (``rust/core`` ``VALUE_UNIT_EXP``;
#: a statement stores its own, and verifiers read it from there).
VALUE_UNIT_EXP = 27


class _Refused(ValueError):
    """Internal: why a price or haircut is refused (no location)."""


def canonical_decimal(text: str) -> str:
    """The canonical form of an exact non-negative decimal: ``" 097000.50 "`` → ``"97000.5"``,
    ``".5"`` → ``"0.5"``, ``"2."`` → ``"2"``. Raises :class:`ValueError` (its ``str`` a reason
    such as ``"is negative ..."``) for anything else."""
    s = text.strip()
    if not s:
        raise _Refused("is empty")
    ip, _, fp = s.partition(".")
    if not (s.isascii() and (ip.isdigit() or ip == "") and (fp.isdigit() or fp == "") and (ip or fp)):
        raise _Refused(_amount_reason(s))
    ip, fp = ip.lstrip("0") or "0", fp.rstrip("0")
    out = f"{ip}.{fp}" if fp else ip
    if len(ip) + len(fp) > MAX_DECIMAL_DIGITS:
        raise _Refused(f"has more than {MAX_DECIMAL_DIGITS} digits in its shortest exact form")
    return out


def _field_text(value, field: str) -> str:
    """A price or haircut given in Python: text, an int or a Decimal (never a float: its binary
    value is not the decimal the user wrote)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise _Refused(f"is a {type(value).__name__}; give the exact decimal as text, e.g. '97000.5'")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Refused("is not a finite decimal number")
        if value.is_signed() and value != 0:
            raise _Refused("is negative (a sign is never allowed)")
        return format(abs(value), "f")
    raise _Refused(f"must be a decimal number as text, not {type(value).__name__}")


def _term(price, haircut) -> Tuple[str, str]:
    """``(price, haircut)`` validated and canonical; ``_Refused`` carries the field at fault."""
    out = []
    for field, value in (("price", price), ("haircut", haircut)):
        try:
            out.append(canonical_decimal(_field_text(value, field)))
        except _Refused as e:
            e.field = field  # type: ignore[attr-defined]
            raise
    p, h = out
    if p == "0":
        e = _Refused("is not above 0 (an asset without a price is left out of the file, not priced at 0)")
        e.field = "price"  # type: ignore[attr-defined]
        raise e
    if Decimal(h) > 1:
        e = _Refused("is above 1 (a haircut is the fraction of a value not counted as collateral, "
                     "from 0 to 1: 0.05 is 5 %)")
        e.field = "haircut"  # type: ignore[attr-defined]
        raise e
    return p, h


class Prices(Mapping):
    """A round's prices and haircuts: a read-only mapping ``asset name → (price, haircut)``,
    both canonical decimal strings (see the module docstring), in file order.

    Build one with :meth:`load` (a CSV file) or :meth:`from_mapping`; :meth:`check` refuses an
    asset the round's statement does not have. Errors are :class:`~stark_por.errors.MarginError`
    naming the file, line, column, value and asset.
    """

    __slots__ = ("_terms", "path", "_rows")

    def __init__(self, terms: Dict[str, Tuple[str, str]], *, path: Optional[str] = None,
                 rows: Optional[Dict[str, int]] = None) -> None:
        # internal: use load() or from_mapping(), which validate
        self._terms = dict(terms)
        self.path = path
        self._rows = dict(rows or {})

    # -- builders -----------------------------------------------------------------------------

    @classmethod
    def load(cls, path: PathLike, assets: Optional[Sequence] = None) -> "Prices":
        """Reads a prices file (CSV, header ``asset,price,haircut``; a UTF-8 BOM, CRLF line ends and
        blank lines are tolerated). With ``assets`` (the statement's :class:`~stark_por.Asset`
        list, or names), an asset not among them is refused (:meth:`check`)."""
        spath = os.fspath(path)
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except OSError as e:
            raise MarginError(f"cannot read prices file: {e.strerror or e}", path=spath) from None
        except UnicodeDecodeError as e:
            raise MarginError(f"is not UTF-8 text (byte {e.start})", path=spath) from None
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        terms: Dict[str, Tuple[str, str]] = {}
        rows: Dict[str, int] = {}
        header = None
        try:
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if header is None:
                    header = [c.strip() for c in cells]
                    if header != list(FIELDS):
                        raise MarginError(f"the header must be '{','.join(FIELDS)}'", path=spath, row=line,
                                          value=",".join(cells))
                    continue
                if len(cells) != len(FIELDS):
                    raise MarginError(f"has {len(cells)} fields, the header has {len(FIELDS)}", path=spath,
                                      row=line)
                name, price, haircut = cells
                asset = name.strip()
                problem = _asset_problem(asset)
                if problem is not None:
                    raise MarginError(problem, path=spath, row=line, column="asset", value=name)
                if asset in rows:
                    raise MarginError(f"is priced twice (first on line {rows[asset]})", path=spath, row=line,
                                      column="asset", value=name, asset=asset)
                try:
                    terms[asset] = _term(price, haircut)
                except _Refused as e:
                    field = e.field  # type: ignore[attr-defined]
                    raise MarginError(str(e), path=spath, row=line, column=field,
                                      value=price if field == "price" else haircut, asset=asset) from None
                rows[asset] = line
        except csv.Error as e:
            raise MarginError(f"is not valid CSV: {e}", path=spath, row=reader.line_num) from None
        if header is None:
            raise MarginError("prices file is empty (expected the header "
                              f"'{','.join(FIELDS)}')", path=spath)
        if not terms:
            raise MarginError("prices file lists no prices", path=spath)
        out = cls(terms, path=spath, rows=rows)
        if assets is not None:
            out.check(assets)
        return out

    @classmethod
    def from_mapping(cls, mapping: Mapping, assets: Optional[Sequence] = None) -> "Prices":
        """``{"BTC": ("97000.5", "0.05"), "ETH": {"price": "3600", "haircut": "0.1"}, …}``:
        prices and haircuts as text, ints or :class:`~decimal.Decimal` (floats are refused: they
        are not the decimal written). ``assets`` as for :meth:`load`."""
        if isinstance(mapping, Prices):
            mapping = dict(mapping)
        if not isinstance(mapping, Mapping):
            raise TypeError(f"prices must be a mapping of asset → (price, haircut), not {type(mapping).__name__}")
        terms: Dict[str, Tuple[str, str]] = {}
        for name, value in mapping.items():
            problem = _asset_problem(name)
            if problem is not None:
                raise MarginError(problem, column="asset", value=str(name))
            if isinstance(value, Mapping):
                if set(value) != {"price", "haircut"}:
                    raise MarginError("needs exactly the fields price and haircut", column="asset", value=name,
                                      asset=name)
                price, haircut = value["price"], value["haircut"]
            elif isinstance(value, (tuple, list)) and len(value) == 2:
                price, haircut = value
            else:
                raise MarginError("needs a (price, haircut) pair", column="asset", value=name, asset=name)
            try:
                terms[name] = _term(price, haircut)
            except _Refused as e:
                field = e.field  # type: ignore[attr-defined]
                raise MarginError(str(e), column=field, value=str(price if field == "price" else haircut),
                                  asset=name) from None
        if not terms:
            raise MarginError("no prices given")
        out = cls(terms)
        if assets is not None:
            out.check(assets)
        return out

    @classmethod
    def of(cls, prices: Union["Prices", Mapping, PathLike], assets: Optional[Sequence] = None) -> "Prices":
        """``prices`` as :class:`Prices`: itself, a mapping (:meth:`from_mapping`) or a file path
        (:meth:`load`); checked against ``assets`` when given."""
        if isinstance(prices, Prices):
            if assets is not None:
                prices.check(assets)
            return prices
        if isinstance(prices, Mapping):
            return cls.from_mapping(prices, assets)
        if isinstance(prices, (str, os.PathLike)):
            return cls.load(prices, assets)
        raise TypeError(f"prices must be a Prices, a mapping or a path, not {type(prices).__name__}")

    # -- the statement ------------------------------------------------------------------------

    def check(self, assets: Sequence) -> None:
        """Refuses an asset the statement does not have (``assets``: :class:`~stark_por.Asset`
        objects or names), naming its line."""
        names = {a.name if isinstance(a, Asset) else str(a) for a in assets}
        for asset in self._terms:
            if asset not in names:
                raise MarginError("is not an asset of the statement (not in the ledger's assets)",
                                  path=self.path, row=self._rows.get(asset), column="asset", value=asset,
                                  asset=asset)

    def for_assets(self, assets: Sequence) -> List[Optional[Tuple[str, str]]]:
        """One entry per asset of the statement, in its order: ``(price, haircut)`` or ``None``
        (unpriced), as the core takes them. Checks ``assets`` first."""
        self.check(assets)
        return [self._terms.get(a.name if isinstance(a, Asset) else str(a)) for a in assets]

    def line_of(self, asset: str) -> Optional[int]:
        """The file line that priced ``asset`` (``None`` for a mapping or an unpriced asset)."""
        return self._rows.get(asset)

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical prices: equal exactly when the prices are."""
        body = "".join(f"{a},{p},{h}\n" for a, (p, h) in sorted(self._terms.items()))
        return hashlib.sha256(body.encode()).hexdigest()

    def price(self, asset: str) -> Decimal:
        return Decimal(self._terms[asset][0])

    def haircut(self, asset: str) -> Decimal:
        return Decimal(self._terms[asset][1])

    def save(self, path: PathLike) -> Path:
        """Writes the canonical CSV (``asset,price,haircut``), atomically."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(FIELDS)
        for a, (p, h) in self._terms.items():
            w.writerow([a, p, h])
        atomic_write(path, buf.getvalue().encode())
        return Path(path)

    # -- mapping ------------------------------------------------------------------------------

    def __getitem__(self, asset: str) -> Tuple[str, str]:
        return self._terms[asset]

    def __iter__(self) -> Iterator[str]:
        return iter(self._terms)

    def __len__(self) -> int:
        return len(self._terms)

    def __eq__(self, other) -> bool:
        if isinstance(other, Prices):
            return self._terms == other._terms
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        body = ", ".join(f"{a}: {p} (haircut {h})" for a, (p, h) in self._terms.items())
        return f"Prices({body})"


def _asset_problem(name) -> Optional[str]:
    if not isinstance(name, str):
        return f"asset name must be a string, not {type(name).__name__}"
    return _asset_name_problem(name)


def price_terms(prices: Prices, assets: Sequence[Asset]) -> List[Optional[Tuple[str, str]]]:
    """``prices`` as the core takes them for a round of ``assets``: per asset, in statement order,
    ``(price, haircut)`` or ``None`` (unpriced). An asset not in the statement is refused, and so
    is a price the circuit cannot carry (its debt value per smallest unit must stay below
    ``2**91`` units of value): the Rust core judges that, here asset by asset, so that the error
    names the asset and the prices file's line."""
    from .. import _native

    terms = prices.for_assets(assets)
    for a, term in zip(assets, terms):
        if term is None:
            continue
        # a one-asset statement holding only this price: the core checks its domain (coefficients
        # included) before it encodes it
        args = ("prices", 112, 2, bytes(32), [(a.name, a.decimals, b"")], (VALUE_UNIT_EXP, [(b"", term)]))
        try:
            _native.statement_fingerprint(args, 3)
        except ValueError as e:
            raise MarginError(f"cannot be proved for {a.name} ({a.decimals} decimals): {e}", path=prices.path,
                              row=prices.line_of(a.name), column="price", value=term[0], asset=a.name) from None
    return terms
