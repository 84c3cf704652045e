"""Proving and verifying liabilities: :func:`prove`, :func:`verify`, :class:`Proof`.

The heavy lifting happens in the Rust core (``stark_por._native``); this module
converts between Python values and the core's, and handles files.

Three statement versions: **version 2** (the default: ``circuits/liabilities``, amounts up to
``2**112 - 1`` smallest units at every asset's native decimals, proved as forests of the round
tree), **version 3** (version 2 with margin: equity and debt per user, the debt covered by the
equity after haircuts at public prices; made when prices are given) and **version 1**
(``circuits/solvency``, amounts below ``2**63``, kept so that old rounds verify forever and for
comparison). :func:`verify` reads all three; the file says which it is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from . import _native
from ._files import atomic_write
from .errors import LedgerError, ProofFormatError
from .ledger import MAX_MAX_BITS, Asset, Ledger, _user_of_entry
from .margin.prices import Prices, price_terms

__all__ = ["Proof", "Statement", "prove", "verify", "SECURITY_PRESETS", "STATEMENT_VERSIONS", "atomic_write"]

PathLike = Union[str, "os.PathLike[str]"]

#: Security presets accepted by :func:`prove`, with the conjectured bits they give.
SECURITY_PRESETS = {"100": 103, "128": 128}

#: Statement versions :func:`prove` makes (and :func:`verify` reads); 2 is the default, 3 (margin)
#: the default with prices.
STATEMENT_VERSIONS = (1, 2, 3)
DEFAULT_STATEMENT_VERSION = 2

#: Default range bound of version 2: every balance is proven below 2**112 (also its widest).
DEFAULT_RANGE_BITS_V2 = MAX_MAX_BITS

#: Default range bound of version 1 (whose widest is 2**63): every balance below 2**62 — which
#: is 4.6 ETH at 18 decimals. :func:`stark_por.prove_file` proves version 1 with it.
DEFAULT_RANGE_BITS = 62

#: Default minimum for :func:`verify`: proofs below it are rejected whatever they claim.
DEFAULT_MIN_SECURITY = 100


#: Marks the statements :func:`verify` returns (a statement built or altered by hand lacks it).
_VERIFIED = object()

#: Version of the statement encoding under :attr:`Statement.fingerprint` when a statement
#: does not say (statements of before version 2).
STATEMENT_VERSION = 1


@dataclass(frozen=True)
class Statement:
    """What a liabilities proof claims, in the clear.

    ``totals`` are exact integers in each asset's smallest unit, of any size;
    ``totals_decimal`` the same in display units. ``statement_version`` is 2 for a round of
    the liabilities circuit (amounts up to ``2**112``), 3 for one with margin (version 2 plus
    debts covered at public prices), 1 for the solvency circuit's; it is under the fingerprint.

    Version 3 (margin): ``totals`` are the users' **equity**, ``debt_totals`` what they owe
    (exact, per asset; zeros in versions 1 and 2) and :attr:`net_totals` the difference, the
    exchange's net liability; ``prices`` maps each priced asset to its ``(price, haircut)``
    (canonical decimal strings: USD per whole token, fraction not counted as collateral; ``{}``
    before version 3), under which every borrower's equity after haircuts was proven to cover
    their debt; ``value_unit_exp`` is the exponent of the USD unit of those values
    (``10**-27`` USD; ``None`` before version 3). ``security_bits`` is the
    conjectured security of the proof it came from, every term counted at its trace
    size (what ``min_security`` is enforced on); ``proven_security_bits`` is
    winterfell's proven estimate for the same proof, capped by the bus term. For a
    batched round both are its weakest batch's. Both are ``None`` when the statement
    was read without verification. :attr:`fingerprint` binds every published field;
    :attr:`verified` says whether :func:`verify` produced this statement.

    ``format_version`` is the file's format: 1 (statement version 1), 2 and 3 (each forest
    publishes its per-asset part sums), 4 and 5 (statement versions 2 and 3 whose forests
    publish only hiding commitments to their totals, summed by one aggregation proof);
    ``committed`` is True for formats 4 and 5. Neither is under the fingerprint: a round claims
    the same root and totals in either format, and the two compare equal.
    """

    round_id: str
    assets: Tuple[Asset, ...]
    totals: Dict[str, int]
    root: str
    num_leaves: int
    range_bits: int
    security_bits: Optional[int] = None
    proven_security_bits: Optional[int] = None
    statement_version: int = STATEMENT_VERSION
    debt_totals: Dict[str, int] = field(default_factory=dict)
    prices: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    value_unit_exp: Optional[int] = None
    # how the round was proved, not what it claims: outside equality, as outside the fingerprint
    format_version: Optional[int] = field(default=None, compare=False)
    committed: bool = field(default=False, compare=False)
    # not an init field: dataclasses.replace() and hand-built statements never carry it
    _verified: Optional[object] = field(default=None, init=False, repr=False, compare=False)

    @property
    def verified(self) -> bool:
        """True only for a statement :func:`verify` returned (not one read, built or replaced)."""
        return self._verified is _VERIFIED

    @property
    def fingerprint(self) -> str:
        """The statement fingerprint (64 hex digits): SHA-256 over every published field
        (round id, range, tree size, root, asset names, decimals and exact totals) under the
        statement version, computed by the Rust core. The exchange publishes it beside the
        round; users compare it."""
        return _native.statement_fingerprint(summary_args(self), self.statement_version).hex()

    @property
    def totals_decimal(self) -> Dict[str, Decimal]:
        # built from the digits, not scaled in a 28-digit context: exact for any total
        return {a.name: Decimal(f"{self.totals[a.name]}E-{a.decimals}") for a in self.assets}

    @property
    def debt_totals_decimal(self) -> Dict[str, Decimal]:
        return {a.name: Decimal(f"{self.debt_totals.get(a.name, 0)}E-{a.decimals}") for a in self.assets}

    @property
    def net_totals(self) -> Dict[str, int]:
        """Equity minus debt per asset: what the exchange owes its users net, the liability its
        reserves must cover (negative when users owe more of an asset than they hold)."""
        return {a.name: self.totals[a.name] - self.debt_totals.get(a.name, 0) for a in self.assets}

    @property
    def net_totals_decimal(self) -> Dict[str, Decimal]:
        net = self.net_totals
        return {a.name: Decimal(f"{net[a.name]}E-{a.decimals}") for a in self.assets}

    @classmethod
    def _from_native(cls, d: dict, *, verified: bool = False) -> "Statement":
        assets = tuple(Asset(name, decimals) for name, decimals in d["assets"])
        statement = cls(
            round_id=d["round_id"],
            assets=assets,
            totals={a.name: int(t) for a, t in zip(assets, d["totals"])},
            root=bytes(d["root"]).hex(),
            num_leaves=int(d["num_leaves"]),
            range_bits=int(d["range_bits"]),
            security_bits=d["security_bits"],
            proven_security_bits=d["proven_security_bits"],
            statement_version=int(d["statement_version"]),
            format_version=int(d.get("format_version", 1)),
            committed=bool(d.get("committed", False)),
            **_margin_fields(assets, d.get("margin")),
        )
        if verified:
            object.__setattr__(statement, "_verified", _VERIFIED)
        return statement

    def summary(self) -> dict:
        """A JSON-ready summary for people and web pages: every field the fingerprint binds
        (``security_bits`` and ``proven_security_bits`` are not bound: they are the verifier's
        figures, not the round's). Version 3 adds ``value_unit_exp`` and, per asset, ``debt``,
        ``debt_units``, ``net``, ``net_units``, ``price`` and ``haircut`` (``null`` for an
        unpriced asset)."""
        out = self._summary_v2()
        if self.statement_version != 3:
            return out
        out["value_unit_exp"] = self.value_unit_exp
        for row, a in zip(out["assets"], self.assets):
            debt, net = self.debt_totals.get(a.name, 0), self.net_totals[a.name]
            price, haircut = self.prices.get(a.name, (None, None))
            row.update(
                debt=a.format_amount(debt) or "0",
                debt_units=str(debt),
                net=_format_signed(a, net),
                net_units=str(net),
                price=price,
                haircut=haircut,
            )
        return out

    def _summary_v2(self) -> dict:
        return {
            "statement_version": self.statement_version,
            "fingerprint": self.fingerprint,
            "round_id": self.round_id,
            "root": self.root,
            "num_leaves": self.num_leaves,
            "range_bits": self.range_bits,
            "security_bits": self.security_bits,
            "proven_security_bits": self.proven_security_bits,
            "assets": [
                {
                    "asset": a.name,
                    "decimals": a.decimals,
                    "total": a.format_amount(self.totals[a.name]) or "0",
                    "total_units": str(self.totals[a.name]),
                }
                for a in self.assets
            ],
        }


@dataclass
class Proof:
    """A liabilities proof file's bytes, with its (unverified) statement."""

    data: bytes
    statement: Statement = field(init=False)
    #: Leaf index of each user (ledger order); only on proofs fresh from :func:`prove`.
    positions: Optional[np.ndarray] = field(default=None, repr=False)
    #: ``(rows, columns)`` of the proven trace (version 2: rows summed over the forests); only on
    #: proofs fresh from :func:`prove`.
    trace_shape: Optional[Tuple[int, int]] = field(default=None, repr=False)
    #: Version 2: each forest's leaf range ``(start, end)``; only on proofs fresh from :func:`prove`.
    forests: Optional[List[Tuple[int, int]]] = field(default=None, repr=False)
    #: Version 2: ``(rows doing work, all trace rows)`` over the forests; fresh proofs only.
    working_rows: Optional[Tuple[int, int]] = field(default=None, repr=False)
    #: What the inclusion store is written from (ledger, salts, tree); only on proofs fresh
    #: from :func:`prove`, dropped by :meth:`forget_inclusion_data`.
    _inclusion_data: Optional[dict] = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, (bytes, bytearray, memoryview)):
            raise TypeError(f"proof data must be bytes, not {type(self.data).__name__}")
        self.data = bytes(self.data)
        self.statement = Statement._from_native(_native.read_statement(self.data))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Proof":
        return cls(data)

    def to_bytes(self) -> bytes:
        return self.data

    @classmethod
    def load(cls, path: PathLike) -> "Proof":
        return cls(Path(path).read_bytes())

    def save(self, path: PathLike, *, summary: bool = True, inclusion_store: bool = True) -> Path:
        """Writes the proof atomically, a JSON summary beside it (``<path>.json``) and, for a
        proof fresh from :func:`prove`, the inclusion store (``<path>.db``, private: every
        user's balances and salts; see :mod:`stark_por.inclusion`)."""
        path = Path(path)
        atomic_write(path, self.data)
        if summary:
            text = json.dumps(self.statement.summary(), indent=2) + "\n"
            atomic_write(summary_path(path), text.encode())
        if inclusion_store and self._inclusion_data is not None:
            from .inclusion import InclusionStore, store_path

            InclusionStore.write(store_path(path), statement=self.statement, **self._inclusion_data)
        return path

    def forget_inclusion_data(self) -> None:
        """Drops the ledger, salts and tree kept for the inclusion store (2·N' × 32 bytes)."""
        self._inclusion_data = None

    def __len__(self) -> int:
        return len(self.data)


def summary_args(s) -> tuple:
    """A statement (or a :class:`~stark_por.inclusion.PublishedSummary`) as the Rust core takes
    it: ``(round_id, range_bits, num_leaves, root, [(asset, decimals, total as little-endian
    bytes)])``, and for statement version 3 the margin ``(value_unit_exp, [(debt total as
    little-endian bytes, None | (price, haircut)) per asset])``."""
    args = (
        s.round_id,
        s.range_bits,
        s.num_leaves,
        bytes.fromhex(s.root),
        [(a.name, a.decimals, _le_bytes(s.totals[a.name])) for a in s.assets],
    )
    if (getattr(s, "statement_version", None) or 1) < 3:
        return args
    prices = {name: tuple(term) for name, term in s.prices.items()}
    return args + ((s.value_unit_exp, [(_le_bytes(s.debt_totals[a.name]), prices.get(a.name)) for a in s.assets]),)


def _margin_fields(assets: Tuple[Asset, ...], margin: Optional[dict]) -> dict:
    """The :class:`Statement` fields of the binding's ``"margin"`` (``None`` before version 3)."""
    if margin is None:
        return dict(debt_totals={a.name: 0 for a in assets})
    return dict(
        debt_totals={a.name: int(t) for a, t in zip(assets, margin["debt_totals"])},
        prices={a.name: (str(p[0]), str(p[1])) for a, p in zip(assets, margin["prices"]) if p is not None},
        value_unit_exp=int(margin["unit_exp"]),
    )


def _format_signed(asset: Asset, units: int) -> str:
    return ("-" if units < 0 else "") + (asset.format_amount(abs(units)) or "0")


def _le_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "little")


def summary_path(path: PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def check_prove_args(secret, round_id, security, batch_size) -> Optional[int]:
    """Checks the arguments :func:`prove` and :func:`stark_por.prove_file` share; returns
    ``log2(batch_size)``, or ``None`` when no batch size is given."""
    if not isinstance(secret, (bytes, bytearray)):
        raise TypeError("secret must be bytes")
    if not isinstance(round_id, str):
        raise TypeError("round_id must be a string")
    if str(security) not in SECURITY_PRESETS:
        raise ValueError(f"security must be one of {sorted(SECURITY_PRESETS)}, not {security!r}")
    batch_log2 = None
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError("batch_size must be an integer or None")
        batch_size = int(batch_size)
        if batch_size < 2 or batch_size & (batch_size - 1) or batch_size > 2**39:
            raise ValueError(f"batch_size must be a power of two from 2 to 2**39, not {batch_size}")
        batch_log2 = batch_size.bit_length() - 1
    return batch_log2


def prove(
    ledger: Ledger,
    *,
    secret: bytes,
    round_id: str,
    security: str = "100",
    version: Optional[int] = None,
    prices=None,
    range_bits: Optional[int] = None,
    batch_size: Optional[int] = None,
    trace_log2: Optional[int] = None,
    committed: Optional[bool] = None,
) -> Proof:
    """Proves that ``ledger``'s per-asset totals are the exact sums of balances in
    ``[0, 2**range_bits)`` committed in one Merkle root.

    ``secret`` (≥ 16 bytes) derives every user's salt and the proof's blinding: keep it to
    regenerate inclusion proofs, and keep it secret. ``security`` is ``"100"`` (default) or
    ``"128"``.

    ``version`` 2 (default) proves amounts up to ``2**112 - 1`` smallest units exactly
    (``range_bits`` 32 to 112, default 112), the round cut into forests that fill traces of
    ``2**trace_log2`` rows (default 2**16; the last few smaller) proved side by side. ``version=1`` proves with the
    previous circuit: ``range_bits`` 32 to 63 (default 62) and every amount below
    ``2**range_bits``; ``batch_size`` (a power of two ≥ 2, or ``None`` for one proof) proves a
    round larger than it in batches of that many leaves. Both give one round file that
    :func:`verify` checks whole, and the same inclusion proofs.

    ``prices`` (a prices file ``asset,price,haircut``, a :class:`stark_por.margin.Prices` or a
    mapping ``asset → (price, haircut)``) makes statement version 3, the default with prices:
    version 2 plus the ledger's debts, their exact totals, and for every user who owes anything
    a proof that their equity after haircuts covers their debt at those prices. A ledger with
    debts is refused without prices, and so is a user whose debt is not covered, or who owes an
    asset without a price (naming the user, asset and amounts).

    ``committed`` (versions 2 and 3; default True) makes each forest publish only a hiding
    commitment to its totals, with one aggregation proof that they sum to the round's totals
    (file formats 4 and 5): no forest's totals appear in the file. ``committed=False`` writes
    formats 2 and 3, where each forest publishes its per-asset part sums. The statement, its
    fingerprint and every inclusion proof are the same either way.
    """
    if not isinstance(ledger, Ledger):
        raise TypeError(f"prove() takes a Ledger, not {type(ledger).__name__}")
    version = statement_version_for(version, prices)
    committed = committed_for(version, committed)
    terms = None
    if version == 3:
        terms = price_terms(Prices.of(prices), ledger.assets)
    else:
        refuse_debts(ledger)
    batch_log2 = check_prove_args(secret, round_id, security, batch_size)
    if range_bits is None:
        range_bits = DEFAULT_RANGE_BITS_V2 if version != 1 else DEFAULT_RANGE_BITS
    if isinstance(range_bits, bool) or not isinstance(range_bits, (int, np.integer)):
        raise TypeError("range_bits must be an integer")
    range_bits = int(range_bits)
    common = (
        list(ledger.user_ids),
        [(a.name, a.decimals) for a in ledger.assets],
        np.ascontiguousarray(ledger.indptr, dtype=np.uint64),
        np.ascontiguousarray(ledger.asset_index, dtype=np.uint32),
    )
    if version != 1:
        if batch_size is not None:
            raise ValueError(f"batch_size is version 1's: version {version} cuts the round into forests "
                             "that fill traces of up to 2**trace_log2 rows")
        if trace_log2 is not None and (isinstance(trace_log2, bool) or not isinstance(trace_log2, (int, np.integer))):
            raise TypeError("trace_log2 must be an integer or None")
        margin = {} if terms is None else dict(kinds=np.ascontiguousarray(ledger.kinds, dtype=np.uint8), prices=terms)
        out = _native.prove_v2(
            *common,
            np.ascontiguousarray(ledger.amounts_lo, dtype=np.uint64),
            np.ascontiguousarray(ledger.amounts_hi, dtype=np.uint64),
            range_bits, bytes(secret), round_id, str(security),
            None if trace_log2 is None else int(trace_log2),
            **margin,
            committed=committed,
        )
        trace_rows = sum(int(r) for r in out["trace_rows"])
    else:
        if trace_log2 is not None:
            raise ValueError("trace_log2 is version 2's: version 1 takes batch_size")
        _check_version_1_amounts(ledger, range_bits)
        out = _native.prove(
            *common,
            np.ascontiguousarray(ledger.amounts_lo, dtype=np.uint64),
            range_bits, bytes(secret), round_id, str(security), batch_log2,
        )
        trace_rows = int(out["trace_rows"])
    proof = Proof(out["file"])
    proof.positions = np.asarray(out["positions"], dtype=np.uint64)
    proof.trace_shape = (trace_rows, int(out["trace_columns"]))
    if version != 1:
        proof.forests = [(int(a), int(b)) for a, b in out["forests"]]
        proof.working_rows = (int(out["working_rows"][0]), int(out["working_rows"][1]))
    proof._inclusion_data = dict(
        user_ids=ledger.user_ids,
        positions=proof.positions,
        salts=out["salts"],
        tree=out["tree"],
        indptr=ledger.indptr,
        asset_index=ledger.asset_index,
        amounts_lo=ledger.amounts_lo,
        amounts_hi=ledger.amounts_hi,
        kinds=ledger.kinds,
    )
    return proof


def statement_version_for(version: Optional[int], prices) -> int:
    """The statement version :func:`prove` and :func:`stark_por.prove_file` make: ``version``,
    by default 3 with prices and 2 without; prices go with version 3 only."""
    if version is None:
        return 3 if prices is not None else DEFAULT_STATEMENT_VERSION
    if isinstance(version, bool) or version not in STATEMENT_VERSIONS:
        raise ValueError(f"version must be 1, 2 or 3, not {version!r}")
    if version == 3 and prices is None:
        raise ValueError("statement version 3 proves debts covered at public prices: give the prices "
                         "(prices=…, stark-por prove --prices FILE)")
    if version != 3 and prices is not None:
        raise ValueError(f"prices are statement version 3's (margin): version {version} proves equity only")
    return version


def committed_for(version: int, committed: Optional[bool]) -> bool:
    """Whether a round of statement ``version`` commits to its forests' totals (formats 4 and 5):
    ``committed``, by default True from version 2 on; version 1 has no such format."""
    if committed is not None and not isinstance(committed, bool):
        raise TypeError("committed must be True, False or None")
    if version == 1:
        if committed:
            raise ValueError("committed totals are statement versions 2 and 3's (formats 4 and 5): "
                             "version 1 publishes each batch's totals")
        return False
    return True if committed is None else committed


def refuse_debts(ledger: Ledger, path: Optional[str] = None) -> None:
    """Statement versions 1 and 2 prove equity only: a ledger with a debt is refused, naming the
    first: its user (by id, and by index for a ledger in memory), column and amount. ``path``:
    the file ``ledger`` is a chunk of."""
    if not ledger.has_debt:
        return
    pos = int(np.flatnonzero(ledger.kinds)[0])
    user = _user_of_entry(ledger.indptr, pos)
    raise LedgerError(
        f"is a debt of user {ledger.user_ids[user]!r}: debts are proved by statement version 3, with "
        "the prices and haircuts of the round (prices=…, stark-por prove --prices FILE)",
        path=path, index=None if path else user, column=ledger.column_of(pos), value=str(ledger.amount(pos)),
    )


def _check_version_1_amounts(ledger: Ledger, range_bits: int) -> None:
    """Version 1 proves amounts below ``2**range_bits`` (at most 2**63): names the first that is
    not, with the way out."""
    if not 32 <= range_bits <= 63:
        raise ValueError(f"version 1 proves range bounds of 32 to 63 bits, not {range_bits}: "
                         "use version=2 (up to 112)")
    over = (ledger.amounts_hi != 0) | (ledger.amounts_lo >= np.uint64(1 << range_bits))
    if over.any():
        pos = int(np.flatnonzero(over)[0])
        raise LedgerError(
            f"is not below version 1's range bound 2**{range_bits} smallest units: prove with "
            "version=2 (amounts up to 2**112 - 1)",
            index=_user_of_entry(ledger.indptr, pos), column=ledger.column_of(pos),
            value=str(ledger.amount(pos)),
        )


def verify(proof: Union[Proof, bytes, PathLike], *, min_security: int = DEFAULT_MIN_SECURITY) -> Statement:
    """Verifies a liabilities proof of either statement version and returns its statement
    (``statement_version`` says which).

    Raises :class:`InvalidProof` (or its subclasses :class:`ProofFormatError` and
    :class:`InsufficientSecurity`) for any proof that does not verify.
    ``min_security`` is the verifier's own bar; the proof cannot lower it below 100.
    """
    if isinstance(proof, Proof):
        data = proof.data
    elif isinstance(proof, (bytes, bytearray, memoryview)):
        data = bytes(proof)
    elif isinstance(proof, (str, os.PathLike)):
        try:
            data = Path(proof).read_bytes()
        except OSError as e:
            raise ProofFormatError(f"cannot read proof file {proof}: {e.strerror}") from e
    else:
        raise TypeError(f"verify() takes a Proof, bytes or a path, not {type(proof).__name__}")
    if not isinstance(min_security, int) or min_security < DEFAULT_MIN_SECURITY:
        raise ValueError(f"min_security must be an integer ≥ {DEFAULT_MIN_SECURITY}")
    return Statement._from_native(_native.verify(data, min_security), verified=True)
