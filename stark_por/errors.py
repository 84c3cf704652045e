"""Exception hierarchy for stark-por.

Everything the library raises on purpose derives from :class:`StarkPorError`,
so callers (the CLI in particular) can catch one class and print ``str(exc)``.

* :class:`LedgerError` -- the liabilities ledger (CSV / Parquet / arrays) is
  malformed.  It is also a :class:`ValueError`.

  * :class:`MarginError` -- the prices and haircuts of a margin round
    (statement version 3) are malformed; names the row, column, value and asset.
* :class:`InvalidProof` -- a proof does not verify.

  * :class:`ProofFormatError` -- the proof file cannot even be decoded.
  * :class:`InsufficientSecurity` -- the proof is well formed but its
    claimed security level is below what the verifier requires.

* :class:`InvalidInclusionProof` -- a user's inclusion proof does not show
  them inside the expected root; ``reason`` is a stable code.

* :class:`ReservesError` -- a reserves file is malformed (a
  :class:`LedgerError`, so input errors are caught together).
* :class:`UnverifiedStatementError` -- a reserves report was asked for a
  liabilities statement that did not come from :func:`stark_por.verify`.
* :class:`ChainError` -- a blockchain node could not give a wallet's balance at
  its snapshot block (unreachable, too slow, another block, a malformed answer);
  names the node and the wallet.
* :class:`HistoryError` -- reserves reports that cannot form one track record
  (another exchange, a round twice, a report altered since it was written).
"""

from __future__ import annotations

import os
from typing import Optional, Union

__all__ = [
    "StarkPorError",
    "LedgerError",
    "InvalidProof",
    "ProofFormatError",
    "InsufficientSecurity",
    "InvalidInclusionProof",
    "ReservesError",
    "UnverifiedStatementError",
    "PricesError",
    "MarginError",
    "ChainError",
    "HistoryError",
]

# Raw cell values quoted in messages are cut to this many characters so that a
# multi-megabyte garbage cell does not produce a multi-megabyte message.  The
# ``value`` attribute always keeps the full text.
_MAX_VALUE_IN_MESSAGE = 80


class StarkPorError(Exception):
    """Base class of every error raised by stark-por."""


class LedgerError(StarkPorError, ValueError):
    """Bad ledger input.

    Attributes
    ----------
    reason:
        Human readable explanation, e.g. ``"is negative"``.
    row:
        1-based line number in the source file, the header being line 1;
        ``None`` when not applicable (in-memory arrays, Parquet, whole-file
        problems).
    column:
        Column name (asset name or ``"user_id"``) or ``None``.
    value:
        The offending raw text (or ``None``).
    path:
        Path of the file being read, as a string, or ``None``.
    index:
        0-based row index for sources that have no line numbers
        (``Ledger.from_arrays``, ``Ledger.from_entries``,
        ``Ledger.from_parquet``); ``None`` otherwise.

    ``str(err)`` reads like
    ``ledger.csv line 7, column BTC: '-1.5' is negative``.
    """

    _index_word = "row"  # how ``index`` is named in messages

    def __init__(
        self,
        reason: str,
        *,
        row: Optional[int] = None,
        column: Optional[str] = None,
        value: Optional[str] = None,
        path: Union[str, os.PathLike, None] = None,
        index: Optional[int] = None,
    ) -> None:
        self.reason = reason
        self.row = row
        self.column = column
        self.value = value
        self.path = None if path is None else os.fspath(path)
        self.index = index
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.index is not None:
            where.append(f"{self._index_word} {self.index}")
        loc = " ".join(where)
        if self.column is not None:
            loc = f"{loc}, column {self.column}" if loc else f"column {self.column}"
        if self.value is not None:
            shown = self.value
            if len(shown) > _MAX_VALUE_IN_MESSAGE:
                shown = shown[:_MAX_VALUE_IN_MESSAGE] + "..."
            msg = f"{shown!r} {self.reason}"
        else:
            msg = self.reason
        return f"{loc}: {msg}" if loc else msg

    def __str__(self) -> str:  # keep in sync if attributes are edited later
        return self._format()

    def __reduce__(self):  # picklable despite keyword-only arguments
        return (
            _rebuild_ledger_error,
            (self.reason, self.row, self.column, self.value, self.path, self.index),
        )


def _rebuild_ledger_error(reason, row, column, value, path, index):
    return LedgerError(
        reason, row=row, column=column, value=value, path=path, index=index
    )


class InvalidProof(StarkPorError):
    """A proof that does not verify, for whatever reason.

    Attribute ``reason`` holds the explanation.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

    def __reduce__(self):
        return (type(self), (self.reason,))


class ProofFormatError(InvalidProof):
    """Malformed, truncated or unknown-version proof file.

    ``offset`` is the byte offset where decoding failed, or ``None``.
    """

    def __init__(self, reason: str, offset: Optional[int] = None) -> None:
        self.offset = offset
        super().__init__(reason)

    def __str__(self) -> str:
        if self.offset is None:
            return self.reason
        return f"byte {self.offset}: {self.reason}"

    def __reduce__(self):
        return (type(self), (self.reason, self.offset))


class InsufficientSecurity(InvalidProof):
    """The proof's security level is below the verifier's minimum.

    ``required`` and ``actual`` are the two security levels (bits).
    """

    def __init__(self, required, actual, reason: Optional[str] = None) -> None:
        self.required = required
        self.actual = actual
        if reason is None:
            reason = (
                f"proof offers {actual} bits of security, "
                f"verifier requires at least {required}"
            )
        super().__init__(reason)

    def __reduce__(self):
        return (type(self), (self.required, self.actual, self.reason))


class ReservesError(LedgerError):
    """Bad reserves input (file, field or value); same attributes as :class:`LedgerError`,
    with ``column`` naming the field, e.g. ``reserves.csv line 4, column balance: '-2' is negative``;
    ``index`` is the 0-based wallet of a JSON file (``reserves.json wallet 3, column …``)."""

    _index_word = "wallet"

    def __reduce__(self):
        return (
            _rebuild_reserves_error,
            (self.reason, self.row, self.column, self.value, self.path, self.index),
        )


class PricesError(ReservesError):
    """Bad prices file; ``index`` is the 0-based price of a JSON file (``prices.json price 2, …``)."""

    _index_word = "price"

    def __reduce__(self):
        return (_rebuild_prices_error, (self.reason, self.row, self.column, self.value, self.path, self.index))


def _rebuild_prices_error(reason, row, column, value, path, index):
    return PricesError(reason, row=row, column=column, value=value, path=path, index=index)


def _rebuild_reserves_error(reason, row, column, value, path, index):
    return ReservesError(reason, row=row, column=column, value=value, path=path, index=index)


class MarginError(LedgerError):
    """Bad prices or haircuts of a margin round (statement version 3; :mod:`stark_por.margin`).

    The :class:`LedgerError` attributes, ``column`` being the field (``asset``, ``price`` or
    ``haircut``), plus ``asset``: the asset whose price is at fault (``None`` when unknown),
    e.g. ``prices.csv line 3, column haircut: '1.5' is above 1 (asset BTC)``. (Not the reserves
    report's USD prices: those are :class:`PricesError`.)
    """

    def __init__(self, reason: str, *, asset: Optional[str] = None, **where) -> None:
        self.asset = asset
        super().__init__(reason, **where)

    def _format(self) -> str:
        text = super()._format()
        if self.asset is not None and not (self.column == "asset" and self.value == self.asset):
            text += f" (asset {self.asset})"
        return text

    def __reduce__(self):
        return (_rebuild_margin_error,
                (self.reason, self.row, self.column, self.value, self.path, self.index, self.asset))


def _rebuild_margin_error(reason, row, column, value, path, index, asset):
    return MarginError(reason, row=row, column=column, value=value, path=path, index=index, asset=asset)


class WorkFolderError(StarkPorError):
    """The work folder of a streamed round cannot be used: it belongs to something else, was
    made from other inputs (:class:`stark_por.rounds.ResumeMismatch`) or is damaged."""


class UnverifiedStatementError(StarkPorError, TypeError):
    """A report needs the statement returned by :func:`stark_por.verify`, not one read
    without verification (``Proof.load(path).statement``) or built by hand."""


class ChainError(StarkPorError):
    """A node did not give a wallet's balance at its snapshot block.

    ``node`` is ``"CHAIN node URL"``, ``wallet`` says which wallet (asset,
    address, where in the reserves file) and ``reason`` what went wrong, e.g.
    ``ethereum node http://127.0.0.1:8545, wallet USDT 0x5aAe… (reserves.csv
    line 4): answered block 21000001 when asked for block 21000000``.
    """

    def __init__(self, reason: str, *, node: str, wallet: Optional[str] = None) -> None:
        self.reason = reason
        self.node = node
        self.wallet = wallet
        super().__init__(f"{node}" + (f", wallet {wallet}" if wallet else "") + f": {reason}")

    def __reduce__(self):
        return (_rebuild_chain_error, (self.reason, self.node, self.wallet))


def _rebuild_chain_error(reason, node, wallet):
    return ChainError(reason, node=node, wallet=wallet)


class HistoryError(StarkPorError, ValueError):
    """Reports that cannot be one exchange's track record; names the file at fault."""


class InvalidInclusionProof(StarkPorError):
    """An inclusion proof that does not show the user inside the expected root.

    ``reason`` is one of :data:`INCLUSION_REASONS`: ``"malformed"`` (not JSON, a field
    missing or out of its domain, in the proof or the round's summary), ``"unknown-version"``,
    ``"wrong-user"`` (the proof is another user's), ``"wrong-statement"`` (the statement's
    fingerprint is not the one the user was given), ``"version-mismatch"`` (a proof of another
    statement version than the round's: version-1 proofs for version-1 rounds, version-2
    proofs for version-2 rounds), ``"wrong-round"`` (another round than the
    statement's), ``"asset-mismatch"`` (an asset labelled otherwise than in the statement),
    ``"leaf-mismatch"`` (the id, salt and balances do not hash to the proof's leaf),
    ``"path-mismatch"`` (the path does not lead from that leaf to the proof's root),
    ``"root-mismatch"`` (a consistent proof of another tree) or ``"balance-mismatch"`` (the
    proven balances are not the ones the user expects). ``message`` says more.
    """

    def __init__(self, message: str, reason: str = "malformed") -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (self.message, self.reason))


#: The ``reason`` codes of :class:`InvalidInclusionProof`.
INCLUSION_REASONS = (
    "malformed",
    "unknown-version",
    "wrong-user",
    "wrong-statement",
    "version-mismatch",
    "wrong-round",
    "asset-mismatch",
    "leaf-mismatch",
    "path-mismatch",
    "root-mismatch",
    "balance-mismatch",
)


class InvalidSummary(InvalidInclusionProof):
    """A round's published summary (``ROUND.stpor.json``) that cannot anchor an inclusion
    check: not a summary, a field out of its domain, or a ``fingerprint`` field its other
    fields do not give (``reason`` ``"malformed"``), or a statement version this code does not
    read (``"unknown-version"``)."""
