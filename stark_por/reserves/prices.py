"""USD prices of a round's assets, read from a prices file.

CSV, a header then one asset per line::

    asset,usd_price,source,timestamp
    BTC,97250.12,CoinGecko daily close,2026-11-30T00:00:00Z
    USDT,0.9998,CoinGecko daily close,2026-11-30T00:00:00Z

(the columns of the ``prices.csv`` that :mod:`stark_por.workloads` writes), or JSON
``{"round_id": "2026-11", "prices": [{"asset": …, "usd_price": "97250.12",
"source": …, "timestamp": …}, …]}`` (``round_id`` optional; prices as strings or
JSON numbers, read from their literal text).  Every field is required: a price
without its source and time cannot be checked by the reader.  Prices are
exact decimals (never floats); an asset listed twice is refused.

The report values liabilities, reserves and surplus at these prices; an asset
with liabilities and no price is refused there (:func:`require`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Dict, Iterable, Iterator, Optional, Sequence, Union

from ..errors import PricesError as ReservesError
from .wallets import _Number

__all__ = ["Price", "Prices", "load"]

PathLike = Union[str, "os.PathLike[str]"]
FIELDS = ("asset", "usd_price", "source", "timestamp")
_MAX_FIELD = 1024


@dataclass(frozen=True)
class Price:
    """One asset's price: ``usd_price`` dollars per whole unit (exact), its source and timestamp."""

    asset: str
    usd_price: Decimal
    source: str
    timestamp: str

    def __post_init__(self) -> None:
        for name in ("asset", "source", "timestamp"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ReservesError("is missing", column=name)
            if len(value) > _MAX_FIELD:
                raise ReservesError(f"is longer than {_MAX_FIELD} characters", column=name, value=value)
            object.__setattr__(self, name, value.strip())
        object.__setattr__(self, "usd_price", _usd(self.usd_price))
        try:
            datetime.fromisoformat(self.timestamp)
        except ValueError:
            raise ReservesError("is not an ISO 8601 time (e.g. 2026-11-30T00:00:00Z)", column="timestamp",
                                value=self.timestamp) from None

    def to_dict(self) -> dict:
        return {"asset": self.asset, "usd_price": format(self.usd_price, "f"), "source": self.source,
                "timestamp": self.timestamp}


def _usd(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ReservesError(f"must be a decimal number as text, not {type(value).__name__}", column="usd_price",
                            value=str(value))
    text = str(value).strip()
    # Plain decimals only: no sign, exponent, separators, NaN or infinity.
    if not text or not all(c.isdigit() or c == "." for c in text) or text.count(".") > 1 or text in (".",):
        raise ReservesError("is not a plain decimal number (e.g. 97250.12)", column="usd_price", value=text)
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ReservesError("is not a plain decimal number (e.g. 97250.12)", column="usd_price", value=text) from None
    if d == 0:
        raise ReservesError("is zero: an asset without a price is left out, not priced at 0", column="usd_price",
                            value=text)
    return d


@dataclass(frozen=True)
class Prices:
    """The prices of one round, by asset; ``round_id`` is the file's (if it names one)."""

    prices: Dict[str, Price]
    round_id: Optional[str] = None
    path: Optional[str] = None

    @classmethod
    def of(cls, prices: Iterable[Price], round_id: Optional[str] = None) -> "Prices":
        table: Dict[str, Price] = {}
        for p in prices:
            if not isinstance(p, Price):
                raise TypeError(f"prices hold Price objects, not {type(p).__name__}")
            if p.asset in table:
                raise ReservesError("is priced twice", column="asset", value=p.asset)
            table[p.asset] = p
        return cls(table, round_id)

    def __iter__(self) -> Iterator[Price]:
        return iter(self.prices.values())

    def __len__(self) -> int:
        return len(self.prices)

    def get(self, asset: str) -> Optional[Price]:
        return self.prices.get(asset)

    @property
    def sources(self) -> Sequence[str]:
        """The distinct sources, in file order."""
        return tuple(dict.fromkeys(p.source for p in self))

    def save(self, path: PathLike) -> Path:
        """Writes JSON (``.json``) or CSV (any other suffix), atomically."""
        from .._files import atomic_write

        path = Path(path)
        if path.suffix.lower() == ".json":
            doc: dict = {} if self.round_id is None else {"round_id": self.round_id}
            doc["prices"] = [p.to_dict() for p in self]
            data = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        else:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(FIELDS)
            for p in self:
                d = p.to_dict()
                writer.writerow([d[f] for f in FIELDS])
            data = buf.getvalue()
        atomic_write(path, data.encode("utf-8"))
        return path


def load(path: PathLike) -> Prices:
    """Reads a prices file, CSV or JSON (by suffix, else by its first character).

    Raises :class:`ReservesError` naming the file, line (CSV) or price index (JSON) and field.
    """
    spath = os.fspath(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise ReservesError(f"cannot read prices file: {e.strerror}", path=spath) from None
    except UnicodeDecodeError as e:
        raise ReservesError(f"is not UTF-8 text (byte {e.start})", path=spath) from None
    is_json = spath.lower().endswith(".json") or (
        not spath.lower().endswith(".csv") and text.lstrip()[:1] in ("{", "["))
    rows, round_id = _rows_json(text, spath) if is_json else _rows_csv(text, spath)
    prices = []
    seen: Dict[str, str] = {}
    for where, values in rows:
        try:
            p = Price(**values)
        except ReservesError as e:
            raise ReservesError(e.reason, path=spath, column=e.column, value=e.value, **where) from None
        except TypeError:
            raise ReservesError(f"needs exactly the fields {', '.join(FIELDS)}", path=spath, **where) from None
        if p.asset in seen:
            raise ReservesError(f"is priced twice (first at {seen[p.asset]})", path=spath, column="asset",
                                value=p.asset, **where)
        seen[p.asset] = f"line {where['row']}" if "row" in where else f"price {where['index']}"
        prices.append(p)
    if not prices:
        raise ReservesError("lists no prices", path=spath)
    out = Prices.of(prices, round_id)
    return Prices(out.prices, round_id, spath)


def _rows_csv(text: str, path: str):
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = None
    rows = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().lower() for c in cells]
                if sorted(header) != sorted(FIELDS):
                    raise ReservesError(f"header must name exactly the columns {', '.join(FIELDS)}",
                                        path=path, row=reader.line_num, value=",".join(cells))
                continue
            if len(cells) != len(header):
                raise ReservesError(f"has {len(cells)} fields, the header has {len(header)}", path=path,
                                    row=reader.line_num)
            rows.append(({"row": reader.line_num}, dict(zip(header, cells))))
    except csv.Error as e:
        raise ReservesError(f"is not valid CSV: {e}", path=path, row=reader.line_num) from None
    if header is None:
        raise ReservesError("is empty", path=path)
    return rows, None


def _rows_json(text: str, path: str):
    try:
        doc = json.loads(text, parse_float=_Number, parse_int=_Number, parse_constant=_Number)
    except json.JSONDecodeError as e:
        raise ReservesError(f"is not valid JSON: {e.msg}", path=path, row=e.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("prices"), list):
        raise ReservesError('must be an object with a "prices" list', path=path)
    unknown = sorted(set(doc) - {"round_id", "prices"})
    if unknown:
        raise ReservesError("has unknown top-level keys (keys: round_id, prices)", path=path,
                            value=", ".join(unknown))
    round_id = doc.get("round_id")
    if round_id is not None and (not isinstance(round_id, str) or isinstance(round_id, _Number)):
        raise ReservesError('"round_id" must be a string', path=path, value=str(round_id))
    rows = []
    for i, item in enumerate(doc["prices"]):
        if not isinstance(item, dict) or set(item) != set(FIELDS):
            raise ReservesError(f"must be an object with exactly the keys {', '.join(FIELDS)}", path=path,
                                index=i)
        values = {k: (str(v) if isinstance(v, _Number) and k == "usd_price" else v) for k, v in item.items()}
        for k, v in values.items():
            if k != "usd_price" and isinstance(v, _Number):
                raise ReservesError("must be text, not a number", path=path, index=i, column=k, value=str(v))
        rows.append(({"index": i}, values))
    return rows, round_id
