"""Reserves: the wallets an exchange says it holds, read from CSV or JSON.

A reserves file lists one wallet per row: which asset, on which chain, at which
address, how much (an exact decimal in the asset's display units, never a
float), at which snapshot (block height and/or time), and optionally the
signature by the address's key over :func:`challenge_message` that proves the
exchange controls it.  :func:`stark_por.report` turns a verified liabilities
statement plus these wallets into a verdict.

CSV
---
A header, then one wallet per line (UTF-8, an optional BOM; blank lines are
skipped; a ``message`` cell with line breaks must be quoted)::

    asset,chain,address,balance,block,time,signature,message,label
    BTC,bitcoin,bc1q…,1250.5,870000,,H4c…=,,cold wallet 1
    USDT,ethereum,0x5aAe…,3000000,21000000,,0x8f1e…1b,,

``token`` names the ERC-20 contract of an asset that is not the chain's own
coin (USDT on ethereum: ``0xdAC17F958D2ee523a2206206994597C13D831ec7``): it is
needed to read the balance on-chain, and must be the same for every wallet of
that asset on that chain.
``asset``, ``chain``, ``address`` and ``balance`` are required; ``block``
(a non-negative integer) and ``time`` (ISO 8601, e.g. ``2026-11-30T00:00:00Z``)
are each optional but every wallet needs at least one of them; ``signature``,
``message`` (the text that was signed, used only to explain a failure) and
``label`` are optional. Column names are case-insensitive; unknown columns are
refused, so a misspelt ``signatrue`` column is not silently ignored.

JSON
----
``{"exchange": "…", "round_id": "…", "wallets": [{"asset": …, …}, …]}`` with
the same fields per wallet (``exchange`` and ``round_id`` optional), or just
the list of wallets.  Balances may be strings or JSON numbers: a number is read
from its literal text, exactly.

What loading checks and what the report checks
-----------------------------------------------
:func:`load` refuses a file that cannot be read as reserves (missing fields,
balances that are not plain non-negative decimals, bad block heights or times,
no snapshot) with a :class:`ReservesError` naming the line and field.  Whatever
depends on the liabilities statement or on cryptography -- unknown assets,
unknown chains, bad addresses, too many decimals, duplicate wallets, signatures
-- is judged by :func:`stark_por.report`, which names each problem.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

import coincurve

from ..errors import ReservesError
from ..ledger import _AmountError, format_amount, parse_amount
from .ownership import CHAINS, address_of_key, challenge_message, sign_message

__all__ = ["Wallet", "Reserves", "load", "challenge_message", "demo_wallets", "FIELDS", "CHAINS"]

PathLike = Union[str, "os.PathLike[str]"]

#: Every field of a wallet, in file order.
FIELDS = ("asset", "chain", "address", "token", "balance", "block", "time", "signature", "message", "label")
_REQUIRED = ("asset", "chain", "address", "balance")
_MAX_FIELD = 4096


def _text(name: str, value, *, required: bool) -> Optional[str]:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ReservesError("is missing", column=name)
        return None
    if not isinstance(value, str):
        raise ReservesError(f"must be text, not {type(value).__name__}", column=name, value=str(value))
    if len(value) > _MAX_FIELD:
        raise ReservesError(f"is longer than {_MAX_FIELD} characters", column=name, value=value)
    if not value.isascii():
        try:  # JSON's "\ud800" escapes make strings that no UTF-8 message or name can hold
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ReservesError(f"is not valid Unicode (a lone surrogate at character {e.start})",
                                column=name, value=value) from None
    return value if name == "message" else value.strip()


def _balance(value) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ReservesError("is not a finite number", column="balance", value=str(value))
        if value.is_signed():
            raise ReservesError("is negative", column="balance", value=str(value))
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ReservesError("is negative", column="balance", value=str(value))
        return Decimal(value)
    text = _text("balance", value, required=True)
    try:
        # The ledger's exact decimal syntax: no sign, exponent or separators.
        parse_amount(text, len(text.partition(".")[2]))
    except _AmountError as e:
        raise ReservesError(str(e), column="balance", value=text) from None
    return Decimal(text)


def _block(value) -> Optional[int]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ReservesError("must be a block height (a whole number)", column="block", value=str(value))
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise ReservesError("is not a block height (a whole number ≥ 0)", column="block", value=text)
    return int(text)


def _time(value) -> Optional[str]:
    text = _text("time", value, required=False)
    if text is None:
        return None
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ReservesError("is not an ISO 8601 time (e.g. 2026-11-30T00:00:00Z)", column="time",
                            value=text) from None
    return text


@dataclass(frozen=True)
class Wallet:
    """One reserves wallet, validated (see the module docstring for the fields).

    ``chain`` is stored in lower case; ``balance`` is an exact :class:`Decimal`;
    ``source`` says where the wallet was read (``"reserves.csv line 4"``), for
    messages.
    """

    asset: str
    chain: str
    address: str
    balance: Decimal
    block: Optional[int] = None
    time: Optional[str] = None
    signature: Optional[str] = None
    message: Optional[str] = None
    label: Optional[str] = None
    token: Optional[str] = None
    source: Optional[str] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "asset", _text("asset", self.asset, required=True))
        set_(self, "chain", _text("chain", self.chain, required=True).lower())
        set_(self, "address", _text("address", self.address, required=True))
        set_(self, "balance", _balance(self.balance))
        set_(self, "block", _block(self.block))
        set_(self, "time", _time(self.time))
        for name in ("signature", "message", "label", "token"):
            set_(self, name, _text(name, getattr(self, name), required=False))
        if self.block is None and self.time is None:
            raise ReservesError("has no snapshot: give its block height, its time, or both", column="block")

    @property
    def balance_text(self) -> str:
        """The balance as plain decimal text (as written, trailing zeros kept)."""
        return format(self.balance, "f")

    def units(self, decimals: int) -> int:
        """The balance in smallest units of an asset with ``decimals`` decimals.

        Raises :class:`ValueError` when it has more (non-zero) decimal places.
        """
        return parse_amount(self.balance_text, decimals)

    @property
    def snapshot(self) -> str:
        """``"block 870000"``, ``"2026-11-30T00:00:00Z"`` or both."""
        parts = []
        if self.block is not None:
            parts.append(f"block {self.block}")
        if self.time is not None:
            parts.append(self.time)
        return ", ".join(parts)

    def to_dict(self) -> dict:
        d = {name: getattr(self, name) for name in FIELDS}
        d["balance"] = self.balance_text
        return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class Reserves:
    """The wallets of a reserves file, with the exchange and round it names (if it does)."""

    wallets: Tuple[Wallet, ...]
    exchange: Optional[str] = None
    round_id: Optional[str] = None
    path: Optional[str] = None

    def __post_init__(self) -> None:
        wallets = tuple(self.wallets)
        for w in wallets:
            if not isinstance(w, Wallet):
                raise TypeError(f"reserves hold Wallet objects, not {type(w).__name__}")
        object.__setattr__(self, "wallets", wallets)

    def __iter__(self) -> Iterator[Wallet]:
        return iter(self.wallets)

    def __len__(self) -> int:
        return len(self.wallets)

    def save(self, path: PathLike) -> Path:
        """Writes the wallets as JSON (``.json``) or CSV (any other suffix); JSON keeps
        the exchange and round."""
        from .._files import atomic_write

        path = Path(path)
        if path.suffix.lower() == ".json":
            doc = {}
            if self.exchange is not None:
                doc["exchange"] = self.exchange
            if self.round_id is not None:
                doc["round_id"] = self.round_id
            doc["wallets"] = [w.to_dict() for w in self.wallets]
            data = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        else:
            used = [f for f in FIELDS if f in _REQUIRED or any(getattr(w, f) is not None for w in self.wallets)]
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(used)
            for w in self.wallets:
                d = w.to_dict()
                writer.writerow([d.get(f, "") for f in used])
            data = buf.getvalue()
        atomic_write(path, data.encode("utf-8"))
        return path


def load(path: PathLike) -> Reserves:
    """Reads a reserves file, CSV or JSON (by suffix, else by its first character).

    Raises :class:`ReservesError` naming the file, line (CSV) or wallet index
    (JSON) and field of the first problem.
    """
    spath = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ReservesError(f"cannot read reserves file: {e.strerror}", path=spath) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ReservesError(f"is not UTF-8 text (byte {e.start})", path=spath) from None
    is_json = spath.lower().endswith(".json") or (
        not spath.lower().endswith(".csv") and text.lstrip()[:1] in ("{", "[")
    )
    reserves = _load_json(text, spath) if is_json else _load_csv(text, spath)
    if not reserves.wallets:
        raise ReservesError("lists no wallets", path=spath)
    return reserves


def _wallet_at(values: dict, *, path: str, row: Optional[int] = None, index: Optional[int] = None) -> Wallet:
    where = f"{path} line {row}" if row is not None else f"{path} wallet {index}"
    try:
        return Wallet(**values, source=where)
    except ReservesError as e:
        raise ReservesError(e.reason, path=path, row=row, index=index, column=e.column, value=e.value) from None


def _load_csv(text: str, path: str) -> Reserves:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    wallets: List[Wallet] = []
    header: Optional[List[str]] = None
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().lower() for c in cells]
                _check_header(header, path)
                continue
            if len(cells) != len(header):
                raise ReservesError(f"has {len(cells)} fields, the header has {len(header)}", path=path, row=line)
            values = {name: (cell if cell.strip() else None) for name, cell in zip(header, cells)}
            wallets.append(_wallet_at(values, path=path, row=line))
    except csv.Error as e:
        raise ReservesError(f"is not valid CSV: {e}", path=path, row=reader.line_num) from None
    if header is None:
        raise ReservesError("is empty", path=path)
    return Reserves(tuple(wallets), path=path)


def _check_header(header: List[str], path: str) -> None:
    for name in header:
        if name not in FIELDS:
            raise ReservesError(f"is not a reserves column (columns: {', '.join(FIELDS)})",
                                path=path, row=1, value=name)
        if header.count(name) > 1:
            raise ReservesError("appears twice in the header", path=path, row=1, value=name)
    missing = [n for n in _REQUIRED if n not in header]
    if missing:
        raise ReservesError(f"header lacks column(s) {', '.join(missing)}", path=path, row=1)
    if "block" not in header and "time" not in header:
        raise ReservesError("header needs a block or a time column (the snapshot)", path=path, row=1)


class _Number(str):
    """A JSON number, kept as its literal text so that no float ever holds money."""


def _load_json(text: str, path: str) -> Reserves:
    try:
        doc = json.loads(text, parse_float=_Number, parse_int=_Number,
                         parse_constant=lambda c: _Number(c))
    except json.JSONDecodeError as e:
        raise ReservesError(f"is not valid JSON: {e.msg}", path=path, row=e.lineno) from None
    exchange = round_id = None
    if isinstance(doc, dict):
        unknown = sorted(set(doc) - {"exchange", "round_id", "wallets"})
        if unknown:
            raise ReservesError("has unknown top-level keys (keys: exchange, round_id, wallets)",
                                path=path, value=", ".join(unknown))
        exchange = _top_text(doc, "exchange", path)
        round_id = _top_text(doc, "round_id", path)
        items = doc.get("wallets")
        if not isinstance(items, list):
            raise ReservesError("needs a \"wallets\" list", path=path)
    elif isinstance(doc, list):
        items = doc
    else:
        raise ReservesError("must be an object with a \"wallets\" list, or a list of wallets", path=path)
    wallets = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReservesError("is not an object", path=path, index=i)
        unknown = sorted(set(item) - set(FIELDS))
        if unknown:
            raise ReservesError(f"has unknown keys (keys: {', '.join(FIELDS)})", path=path, index=i,
                                value=", ".join(unknown))
        values = dict.fromkeys(_REQUIRED)  # a missing field is refused by name, as in CSV
        for name, value in item.items():
            if isinstance(value, _Number):
                if name not in ("balance", "block"):
                    raise ReservesError("must be text, not a number", path=path, index=i, column=name,
                                        value=str(value))
                value = str(value)
            elif name in ("balance", "block") and isinstance(value, (bool, list, dict)):
                raise ReservesError("must be a number or a string", path=path, index=i, column=name,
                                    value=json.dumps(value))
            values[name] = value
        wallets.append(_wallet_at(values, path=path, index=i))
    return Reserves(tuple(wallets), exchange=exchange, round_id=round_id, path=path)


def _top_text(doc: dict, key: str, path: str) -> Optional[str]:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or isinstance(value, _Number) or not value.strip():
        raise ReservesError(f"\"{key}\" must be a non-empty string", path=path, value=str(value))
    return value.strip()


# --------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------

# Made-up snapshot heights for the demo (one block per chain, as a real snapshot would be).
_DEMO_BLOCKS = {"bitcoin": 870_000, "ethereum": 21_000_000, "bsc": 44_000_000,
                "polygon": 64_000_000, "arbitrum": 280_000_000}
_DEMO_EVM = ("ethereum", "bsc", "polygon", "arbitrum")
_DEMO_BTC_KINDS = ("p2wpkh", "p2pkh", "p2sh")


def demo_wallets(statement, exchange: str, *, seed: Optional[int] = None) -> List[Wallet]:
    """Wallets that cover each asset of ``statement`` 105–130%, each signed for real.

    For the demo and tests only: the keys are generated here and thrown away,
    and the balances are invented (nothing is read from a chain).  BTC sits in
    bitcoin wallets of all three address kinds; every other asset in wallets on
    EVM chains.  Assets with no liabilities get no wallet; for a version-3 statement the
    liabilities are the net ones (held − owed, :func:`~stark_por.reserves.report.liabilities_of`).
    """
    from .report import liabilities_of

    rng = random.Random(seed)
    wallets: List[Wallet] = []
    evm_turn = 0
    liabilities = liabilities_of(statement)
    for asset in statement.assets:
        owed = liabilities[asset.name]
        if owed <= 0:
            continue
        percent = rng.randint(105, 130)
        total = -(-owed * percent // 100)  # ceil: never below the chosen ratio
        weights = [rng.randint(1, 10) for _ in range(rng.randint(1, 3) if total >= 10 else 1)]
        parts = [total * w // sum(weights) for w in weights[:-1]]
        parts.append(total - sum(parts))  # every part ≥ total // 10 ≥ 1
        for i, units in enumerate(parts):
            if asset.name == "BTC":
                chain, kind = "bitcoin", _DEMO_BTC_KINDS[i % len(_DEMO_BTC_KINDS)]
            else:
                chain, kind = _DEMO_EVM[evm_turn % len(_DEMO_EVM)], "evm"
                evm_turn += 1
            secret = coincurve.PrivateKey().secret
            address = address_of_key(chain, secret, kind)
            message = challenge_message(exchange, statement.round_id, address)
            wallets.append(Wallet(
                asset=asset.name,
                chain=chain,
                address=address,
                balance=Decimal(format_amount(units, asset.decimals)),
                block=_DEMO_BLOCKS[chain],
                signature=sign_message(chain, secret, message, kind),
                label=f"{'cold' if i == 0 else 'hot'} wallet {i + 1}",
            ))
    return wallets
