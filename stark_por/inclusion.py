"""Inclusion proofs: every user can check that their balances are inside a round's root.

The exchange side: :func:`stark_por.prove` keeps what inclusion proofs are cut from, and
:meth:`stark_por.Proof.save` writes it beside the proof as an **inclusion store**
(``ROUND.stpor.db``, an SQLite file: no server). From the store, :func:`export` produces one
user's :class:`InclusionProof` and :func:`export_all` every user's, as JSON Lines.

The user side: :func:`verify_inclusion` checks a proof, for the user's own id, against an
anchor that fixes the round's asset list: the :class:`~stark_por.Statement` that
:func:`stark_por.verify` returns, or the round's published summary (:class:`PublishedSummary`,
``ROUND.stpor.json``) whose fingerprint the user compares with the one the exchange published.
A bare root is no anchor: a leaf commits to asset indices, not to the names and decimals a
proof shows. The Rust core checks, or the independent pure-Python verifier
:mod:`stark_por.verifiers.pyverify` (``pure=True``).

An inclusion proof's ``version`` is its round's statement version (the store records it): 2 for
rounds of the liabilities circuit (amounts up to ``2**112 - 1`` smallest units, hashed as
``circuits/liabilities`` hashes a leaf), 1 for the solvency circuit's, 3 for rounds with margin
(each entry an equity or a debt, ``"kind"`` in the JSON, hashed as version 2 with the kind in the
entry's tag). Amounts are exact decimal strings in the JSON and exact ints everywhere else; a
proof is checked only against an anchor of its own version (``version-mismatch`` otherwise).

For version 3, :func:`verify_inclusion` also recomputes the collateral check the round's proof
enforced for the user from the anchor's prices and haircuts, and returns it as a
:class:`Position` (``equity``, ``debt``, ``collateral_value``, ``debt_value``, ``covered``); a proof
whose debts are worth more than its collateral after haircuts is refused (``uncovered``).

The store holds every user's balances and salts: it is the exchange's private data, written
readable by its owner only. Never publish it; publish the proofs' statement and hand each user
their own inclusion proof.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import IO, TYPE_CHECKING, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from .verifiers import pyverify
from ._files import atomic_path
from .errors import InvalidInclusionProof, InvalidSummary, LedgerError, UnverifiedStatementError
from .ledger import Asset
from .verifiers.pyverify import Entry, InclusionProof, Position

if TYPE_CHECKING:
    import numpy as np

    from .proof import Statement

__all__ = ["InclusionProof", "InclusionStore", "Position", "PublishedSummary", "export", "export_all", "verify_inclusion",
           "store_path"]

PathLike = Union[str, "os.PathLike[str]"]

STORE_FORMAT = "stark-por/inclusion-store"
#: Store version 2 adds the round's statement version (version-1 stores are of version-1 rounds);
#: version 3, written for rounds of statement version 3, each entry's kind (0 equity, 1 debt).
STORE_VERSION = 2
STORE_VERSION_MARGIN = 3
STORE_VERSIONS = (1, 2, 3)

_SCHEMA = """
CREATE TABLE meta (
    format TEXT NOT NULL, version INTEGER NOT NULL, round_id TEXT NOT NULL,
    root TEXT NOT NULL, num_leaves INTEGER NOT NULL, assets TEXT NOT NULL,
    statement_version INTEGER NOT NULL
);
CREATE TABLE users (
    user_id TEXT PRIMARY KEY, leaf_index INTEGER NOT NULL, salt BLOB NOT NULL,
    entries TEXT NOT NULL  -- JSON [[asset index (1-based), exact amount in smallest units(, kind)], ...]
) WITHOUT ROWID;
CREATE TABLE nodes (idx INTEGER PRIMARY KEY, digest BLOB NOT NULL);  -- heap-numbered, 1 = root
"""


def store_path(proof_path: PathLike) -> Path:
    """Where :meth:`Proof.save` puts the inclusion store of ``proof_path``."""
    path = Path(proof_path)
    return path.with_name(path.name + ".db")


class InclusionStore:
    """A read-only view of an inclusion store. Opening it reads only its header; each export
    reads one user's row and the ``log2(N')`` sibling digests it needs."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no inclusion store at {self.path}")
        self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = self._db.execute(
                "SELECT format, version, round_id, root, num_leaves, assets FROM meta"
            ).fetchone()
        except sqlite3.DatabaseError:
            row = None
        if row is None or row[0] != STORE_FORMAT:
            self._db.close()
            raise ValueError(f"{self.path} is not a stark-por inclusion store")
        if row[1] not in STORE_VERSIONS:
            self._db.close()
            raise ValueError(f"{self.path}: inclusion store version {row[1]} is not supported")
        _, _, self.round_id, self.root, self.num_leaves, assets = row
        #: The round's statement version, which is the format version of its inclusion proofs.
        self.statement_version: int = 1
        if row[1] >= 2:
            (self.statement_version,) = self._db.execute("SELECT statement_version FROM meta").fetchone()
        #: ``(name, decimals)`` of each asset, in the statement's order.
        self.assets: Tuple[Tuple[str, int], ...] = tuple((a["asset"], a["decimals"]) for a in json.loads(assets))
        self.depth = self.num_leaves.bit_length() - 1

    # -- writing ------------------------------------------------------------------------------

    @classmethod
    def write(
        cls,
        path: PathLike,
        *,
        statement: "Statement",
        user_ids: Sequence[str],
        positions: "np.ndarray",
        salts: bytes,
        tree: bytes,
        indptr: "np.ndarray",
        asset_index: "np.ndarray",
        amounts: Optional["np.ndarray"] = None,
        amounts_lo: Optional["np.ndarray"] = None,
        amounts_hi: Optional["np.ndarray"] = None,
        kinds: Optional["np.ndarray"] = None,
    ) -> Path:
        """Writes a store atomically (readers see the old file or the new one), mode 0600.
        Amounts are ``amounts`` (uint64) or, for amounts of any width up to 2^128,
        ``amounts_lo + 2**64 * amounts_hi`` (two uint64 arrays); ``kinds`` (uint8, parallel to
        ``asset_index``: 0 equity, 1 debt) is what a round of statement version 3 records per
        entry (None: every entry an equity)."""
        import numpy as np

        n_leaves = statement.num_leaves
        if len(tree) != 64 * n_leaves or len(salts) != 32 * len(user_ids):
            raise ValueError("the tree or the salts do not match the statement")
        users = dict(user_ids=user_ids, positions=positions, salts=salts, indptr=indptr,
                     asset_index=asset_index, amounts=amounts, amounts_lo=amounts_lo, amounts_hi=amounts_hi)
        if kinds is not None:
            users["kinds"] = kinds
        nodes = (np.arange(1, 2 * n_leaves, dtype=np.uint64), memoryview(tree)[32:])
        return cls.write_streamed(path, statement=statement, users=[users], nodes=[nodes])

    @classmethod
    def write_streamed(
        cls,
        path: PathLike,
        *,
        statement: "Statement",
        users: Iterable[dict],
        nodes: Iterable[Tuple["np.ndarray", Union[bytes, memoryview]]],
    ) -> Path:
        """:meth:`write` from parts: ``users`` yields dicts of the :meth:`write` user arrays
        (``user_ids``, ``positions``, ``salts``, ``indptr``, ``asset_index``, and ``amounts``
        or ``amounts_lo`` and ``amounts_hi``; ``kinds`` optional), ``nodes`` yields ``(heap
        indices, 32 bytes per digest)``; every node 1 .. 2·N' − 1 once. The store's statement
        version is ``statement.statement_version`` (1 when the statement has none)."""
        path = Path(path)
        n_leaves = statement.num_leaves
        statement_version = _statement_version(statement)
        margin = statement_version >= pyverify.MARGIN_VERSION
        with atomic_path(path) as tmp:
            db = sqlite3.connect(tmp)
            try:
                db.execute("PRAGMA journal_mode = OFF")
                db.execute("PRAGMA synchronous = OFF")
                db.executescript(_SCHEMA)
                assets = json.dumps([{"asset": a.name, "decimals": a.decimals} for a in statement.assets])
                db.execute(
                    "INSERT INTO meta VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (STORE_FORMAT, STORE_VERSION_MARGIN if margin else STORE_VERSION, statement.round_id, statement.root,
                     n_leaves, assets, statement_version),
                )
                for part in users:
                    db.executemany("INSERT INTO users VALUES (?, ?, ?, ?)", _user_rows(**part, margin=margin))
                db.execute("CREATE UNIQUE INDEX users_by_leaf ON users(leaf_index)")
                written = 0
                for indices, digests in nodes:
                    view = memoryview(digests)
                    db.executemany(
                        "INSERT INTO nodes VALUES (?, ?)",
                        ((i, view[32 * j : 32 * j + 32]) for j, i in enumerate(indices.tolist())),
                    )
                    written += len(indices)
                if written != 2 * n_leaves - 1:
                    raise ValueError(f"{written} tree nodes for a tree of {2 * n_leaves - 1}")
                db.commit()
            finally:
                db.close()
            os.chmod(tmp, 0o600)
        return path

    # -- reading ------------------------------------------------------------------------------

    def __enter__(self) -> "InclusionStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM users").fetchone()[0]

    def __contains__(self, user_id: object) -> bool:
        return self._db.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is not None

    def user_ids(self) -> Iterator[str]:
        """Every user id, in id order."""
        for (user_id,) in self._db.execute("SELECT user_id FROM users ORDER BY user_id"):
            yield user_id

    def _nodes(self, indices: Sequence[int]) -> Dict[int, bytes]:
        marks = ",".join("?" * len(indices))
        rows = self._db.execute(f"SELECT idx, digest FROM nodes WHERE idx IN ({marks})", list(indices))
        return {idx: bytes(digest) for idx, digest in rows}

    def _proof(self, user_id: str, leaf_index: int, salt: bytes, entries: str, siblings: List[bytes], leaf: bytes, root: bytes) -> InclusionProof:
        return InclusionProof(
            version=self.statement_version,
            round_id=self.round_id,
            user_id=user_id,
            salt=bytes(salt),
            entries=tuple(
                Entry(self.assets[k - 1][0], k, self.assets[k - 1][1], amount, *kind) for k, amount, *kind in json.loads(entries)
            ),
            leaf_index=leaf_index,
            num_leaves=self.num_leaves,
            leaf=leaf,
            root=root,
            path=tuple(siblings),
        )


def _statement_version(anchor) -> int:
    """The statement version of a Statement, PublishedSummary or store (1 for those of before
    version 2, which have none)."""
    return int(getattr(anchor, "statement_version", None) or 1)


def _amount_values(amounts=None, amounts_lo=None, amounts_hi=None) -> List[int]:
    """Exact amounts as Python ints, from one uint64 column or the lo/hi pair."""
    if (amounts is None) == (amounts_lo is None or amounts_hi is None):
        raise ValueError("give amounts, or amounts_lo and amounts_hi")
    if amounts is not None:
        return amounts.tolist()
    if len(amounts_lo) != len(amounts_hi):
        raise ValueError("amounts_lo and amounts_hi differ in length")
    return [lo | hi << 64 for lo, hi in zip(amounts_lo.tolist(), amounts_hi.tolist())]


def _user_rows(*, user_ids, positions, salts: bytes, indptr, asset_index, amounts=None, amounts_lo=None,
               amounts_hi=None, kinds=None, margin: bool = False) -> Iterator[tuple]:
    # plain lists: element access on numpy arrays is slow in a Python loop
    ptr, assets, where = indptr.tolist(), asset_index.tolist(), positions.tolist()
    values = _amount_values(amounts, amounts_lo, amounts_hi)
    if kinds is not None and len(kinds) != len(values):
        raise ValueError(f"{len(kinds)} kinds for {len(values)} entries")
    if not margin:
        if kinds is not None and kinds.any():
            raise ValueError("debts are recorded only for rounds of statement version 3")
        for u, user_id in enumerate(user_ids):
            lo, hi = ptr[u], ptr[u + 1]
            entries = json.dumps([[assets[e] + 1, values[e]] for e in range(lo, hi)], separators=(",", ":"))
            yield user_id, where[u], salts[32 * u : 32 * u + 32], entries
        return
    kind = [0] * len(values) if kinds is None else kinds.tolist()
    for u, user_id in enumerate(user_ids):
        lo, hi = ptr[u], ptr[u + 1]
        entries = json.dumps([[assets[e] + 1, values[e], kind[e]] for e in range(lo, hi)], separators=(",", ":"))
        yield user_id, where[u], salts[32 * u : 32 * u + 32], entries


def _open(store: Union[InclusionStore, PathLike]) -> Tuple[InclusionStore, bool]:
    if isinstance(store, InclusionStore):
        return store, False
    return InclusionStore(store), True


def export(store: Union[InclusionStore, PathLike], user_id: str) -> InclusionProof:
    """The inclusion proof of ``user_id``. Raises :class:`KeyError` for an unknown user."""
    st, owned = _open(store)
    try:
        row = st._db.execute("SELECT leaf_index, salt, entries FROM users WHERE user_id = ?", (user_id,)).fetchone()
        if row is None:
            raise KeyError(user_id)
        leaf_index, salt, entries = row
        heap = st.num_leaves + leaf_index
        siblings = [(heap >> level) ^ 1 for level in range(st.depth)]
        nodes = st._nodes([1, heap] + siblings)
        return st._proof(user_id, leaf_index, salt, entries, [nodes[i] for i in siblings], nodes[heap], nodes[1])
    finally:
        if owned:
            st.close()


def export_all(store: Union[InclusionStore, PathLike], out: Union[PathLike, IO[str]]) -> int:
    """Writes every user's inclusion proof as JSON Lines (one compact proof per line), in leaf
    order, to a path (atomically) or an open text file. Memory stays bounded: users stream from
    the store, and only the current path (one digest per level) is held. Returns the count."""
    st, owned = _open(store)
    try:
        if isinstance(out, (str, os.PathLike)):
            with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
                return _write_all(st, f)
        return _write_all(st, out)
    finally:
        if owned:
            st.close()


def _write_all(st: InclusionStore, f: IO[str]) -> int:
    root = st._nodes([1])[1]
    node_at = st._db.cursor()
    # path[level] holds (node index, digest) of the current sibling at that level; in leaf
    # order a sibling at level k changes only every 2^k leaves, so most lookups are cached
    path: List[Tuple[int, bytes]] = [(0, b"")] * st.depth
    count = 0
    rows = st._db.execute("SELECT user_id, leaf_index, salt, entries FROM users ORDER BY leaf_index")
    for user_id, leaf_index, salt, entries in rows:
        heap = st.num_leaves + leaf_index
        for level in range(st.depth):
            idx = (heap >> level) ^ 1
            if path[level][0] != idx:
                path[level] = (idx, bytes(node_at.execute("SELECT digest FROM nodes WHERE idx = ?", (idx,)).fetchone()[0]))
        leaf = bytes(node_at.execute("SELECT digest FROM nodes WHERE idx = ?", (heap,)).fetchone()[0])
        proof = st._proof(user_id, leaf_index, salt, entries, [d for _, d in path], leaf, root)
        f.write(proof.to_json())
        f.write("\n")
        count += 1
    return count


def load_inclusion(source: Union[InclusionProof, str, bytes, "os.PathLike[str]"]) -> InclusionProof:
    """An :class:`InclusionProof` from itself, JSON text (``str`` or ``bytes``) or a file path
    (``pathlib.Path``). Raises :class:`InvalidInclusionProof` (``malformed`` or
    ``unknown-version``) for text that is not an inclusion proof of version 1, 2 or 3."""
    if isinstance(source, InclusionProof):
        return source
    if isinstance(source, os.PathLike):
        with open(source, "rb") as f:
            source = f.read(pyverify.MAX_PROOF_BYTES + 1)
    try:
        return InclusionProof.from_json(source)
    except pyverify.Rejected as e:
        raise InvalidInclusionProof(e.message, reason=e.reason) from None


@dataclass(frozen=True)
class PublishedSummary:
    """A round's published summary (``ROUND.stpor.json``), decoded and checked: every field in
    its domain and its ``fingerprint`` field (when it has one) the one the Rust core computes
    from its fields. It is an anchor for :func:`verify_inclusion` when the user does not verify
    the STARK proof: what it vouches for holds only if :attr:`fingerprint` is the fingerprint
    the exchange published (pass that as ``fingerprint=`` to have it checked)."""

    round_id: str
    range_bits: int
    num_leaves: int
    root: str
    assets: Tuple[Asset, ...]
    totals: Dict[str, int]
    #: 64 hex digits, recomputed from the fields above by the Rust core.
    fingerprint: str
    #: 1, or 2 for a round of the liabilities circuit (amounts up to 2^112), 3 with margin; under
    #: the fingerprint.
    statement_version: int = 1
    #: Version 3: exact debt total per asset (zeros for versions 1 and 2).
    debt_totals: Dict[str, int] = field(default_factory=dict)
    #: Version 3: ``(price, haircut)`` of each priced asset, canonical decimal text ({} before).
    prices: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    #: Version 3: collateral checks are in units of ``10**-value_unit_exp`` USD (None before).
    value_unit_exp: Optional[int] = None

    @classmethod
    def load(cls, path: PathLike) -> "PublishedSummary":
        """Reads and checks a summary file; :class:`InvalidSummary` (``malformed`` or
        ``unknown-version``) names what is wrong."""
        with open(path, "rb") as f:
            return cls.from_json(f.read(pyverify.MAX_SUMMARY_BYTES + 1))

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "PublishedSummary":
        from . import _native
        from .proof import summary_args

        try:
            s = pyverify.Summary.from_json(text)  # the JSON format, shared with the pure verifier
            assets = tuple(Asset(name, decimals) for name, decimals in s.assets)
        except pyverify.Rejected as e:
            raise InvalidSummary(e.message, reason=e.reason) from None
        except LedgerError as e:
            raise InvalidSummary(f"summary: {e}") from None
        for what, value, bits in (("num_leaves", s.num_leaves, 64), ("range_bits", s.range_bits, 32),
                                  ("value_unit_exp", s.unit_exp, 8)):
            if value is not None and not 0 <= value < 2**bits:  # wider than the Rust core's field
                raise InvalidSummary(f"summary: {what} {value} is out of range")
        margin = s.statement_version >= pyverify.MARGIN_VERSION
        fields = dict(round_id=s.round_id, range_bits=s.range_bits, num_leaves=s.num_leaves, root=s.root.hex(),
                      assets=assets, totals={a.name: t for a, t in zip(assets, s.totals)},
                      statement_version=s.statement_version,
                      debt_totals={a.name: d for a, d in zip(assets, s.debt_totals)} if margin else {a.name: 0 for a in assets},
                      prices={a.name: p for a, p in zip(assets, s.prices) if p is not None},
                      value_unit_exp=s.unit_exp)
        try:  # the Rust core checks every field's domain (an asset twice, a non-canonical root…)
            args = summary_args(SimpleNamespace(**fields))
            fingerprint = _native.statement_fingerprint(args, s.statement_version).hex()
        except (ValueError, OverflowError, TypeError) as e:
            raise InvalidSummary(f"summary: {e}") from None
        if s.stated_fingerprint is not None and s.stated_fingerprint.hex() != fingerprint:
            raise InvalidSummary(f"summary: its fingerprint field says {s.stated_fingerprint.hex()}, its fields give "
                                 f"{fingerprint} (a field was changed)")
        return cls(**fields, fingerprint=fingerprint)


BARE_ROOT = pyverify.BARE_ROOT


def verify_inclusion(
    inclusion: Union[InclusionProof, str, bytes, "os.PathLike[str]"],
    anchor: Union["Statement", PublishedSummary],
    *,
    user_id: str,
    expect: Optional[Mapping[str, Union[str, int, Decimal]]] = None,
    fingerprint: Optional[str] = None,
    pure: bool = False,
) -> Dict[str, Decimal]:
    """Checks that ``inclusion`` shows ``user_id`` inside the round ``anchor`` describes and
    returns their balances.

    ``anchor`` is the :class:`~stark_por.Statement` :func:`stark_por.verify` returned, or the
    round's :class:`PublishedSummary`; either fixes the round id, tree size, root and asset list
    (names and decimals), all checked. ``user_id`` is the id of the user checking: without it an
    exchange could hand two users with the same balances one shared leaf. ``fingerprint`` (64
    hex digits), the one the exchange published, is compared with the anchor's
    (``wrong-statement``). ``expect`` maps asset names to the balances the user expects, as
    exact decimal strings in display units (an asset the proof lacks counts as 0;
    ``balance-mismatch``; for version 3, ``"<asset>.debt"`` names a debt). ``pure=True`` uses the
    pure-Python verifier instead of the Rust core. Raises :class:`InvalidInclusionProof`, whose
    ``reason`` names the first check that failed.

    Returns, for versions 1 and 2, the user's balances ``{asset: Decimal}``; for version 3 their
    :class:`Position`: ``equity`` and ``debt`` (``{asset: Decimal}`` each, display units) and the
    collateral check the round's proof enforced for them, recomputed from the anchor's prices
    and haircuts: ``collateral_value`` (Σ c·equity) and ``debt_value`` (Σ d·debt), exact ints in
    units of ``10**-unit_exp`` USD (``collateral_usd``, ``debt_usd``: exact decimal text in USD),
    and ``covered`` (always true for a proof that verifies: an uncovered one is refused with
    ``uncovered``).
    """
    from .proof import Statement, summary_args

    if isinstance(anchor, str):
        raise ValueError(f"verify_inclusion() no longer takes a bare root: {BARE_ROOT}")
    if isinstance(anchor, Statement):
        if not anchor.verified:
            raise UnverifiedStatementError(
                "verify_inclusion() needs the Statement returned by stark_por.verify() (this one was read, built "
                "or changed without verification), or the round's PublishedSummary"
            )
    elif not isinstance(anchor, PublishedSummary):
        raise TypeError(f"verify_inclusion() checks against a verified Statement or a PublishedSummary, "
                        f"not {type(anchor).__name__}")
    if not isinstance(user_id, str):
        raise TypeError(f"user_id must be a string, not {type(user_id).__name__}")
    expected_fp = None if fingerprint is None else pyverify.parse_fingerprint(fingerprint, "fingerprint")
    expected = None if expect is None else _expected_balances(expect)
    proof = load_inclusion(inclusion)
    statement_version = _statement_version(anchor)
    margin = statement_version >= pyverify.MARGIN_VERSION
    if pure:
        summary = pyverify.Summary(anchor.round_id, anchor.range_bits, anchor.num_leaves, bytes.fromhex(anchor.root),
                                   tuple((a.name, a.decimals) for a in anchor.assets),
                                   tuple(anchor.totals[a.name] for a in anchor.assets),
                                   statement_version=statement_version,
                                   **(_pyverify_margin(anchor) if margin else {}))
        try:
            return pyverify.check(proof, summary, user_id=user_id, expect=expected, fingerprint=expected_fp)
        except pyverify.Rejected as e:
            raise InvalidInclusionProof(e.message, reason=e.reason) from None
    from . import _native

    if proof.version not in pyverify.VERSIONS:
        raise InvalidInclusionProof(f"format version {proof.version}", reason="unknown-version")
    if any(not 0 <= x < 2**64 for x in (proof.leaf_index, proof.num_leaves)) or any(
        not 0 <= e.index < 2**32 or not 0 <= e.units < 2**128 for e in proof.entries
    ):
        raise InvalidInclusionProof("an index, a tree size or an amount is out of range", reason="malformed")
    values = _native.verify_inclusion(
        proof.version,
        proof.round_id,
        proof.user_id,
        proof.salt,
        [(e.asset, e.index, e.decimals, e.units, e.kind) for e in proof.entries],
        proof.leaf_index,
        proof.num_leaves,
        proof.leaf,
        proof.root,
        b"".join(proof.path),
        summary_args(anchor),
        statement_version,
        user_id,
        expected_fp,
    )
    if expected is not None:
        try:
            pyverify.check_expected(proof.balances, expected)
        except pyverify.Rejected as e:
            raise InvalidInclusionProof(e.message, reason=e.reason) from None
    if values is None:
        return proof.balances
    collateral, debt = (int.from_bytes(v, "little") for v in values)
    return Position(proof.equity, proof.debt, collateral, debt, anchor.value_unit_exp)


def _pyverify_margin(anchor) -> dict:
    """A version-3 anchor's margin fields as :class:`pyverify.Summary` takes them."""
    return dict(unit_exp=anchor.value_unit_exp,
                debt_totals=tuple(anchor.debt_totals[a.name] for a in anchor.assets),
                prices=tuple(anchor.prices.get(a.name) for a in anchor.assets))


def _expected_balances(expect: Mapping[str, Union[str, int, Decimal]]) -> Dict[str, Decimal]:
    """Exact expected balances; floats are refused (0.1 is not the decimal amount 0.1)."""
    out: Dict[str, Decimal] = {}
    for asset, amount in expect.items():
        if isinstance(amount, bool) or not isinstance(amount, (str, int, Decimal)):
            raise TypeError(f"expected {asset}: give an exact decimal string, not {type(amount).__name__}")
        text = amount if isinstance(amount, str) else f"{amount:f}"
        out[asset] = pyverify.parse_expected_amount(asset, text)
    return out
