"""Read a ledger in chunks of users, never holding the whole file.

:func:`iter_ledger_chunks` yields consecutive :class:`~stark_por.ledger.Ledger`
objects of at most ``chunk_users`` users each, in file order.  Every chunk
is parsed by the same code as :meth:`Ledger.from_csv` /
:meth:`Ledger.from_parquet` (same syntax, same errors, same line numbers),
so concatenating the chunks gives exactly the whole-file ledger.

User ids must be unique across the whole file, not just inside a chunk.
Chunks are checked against one another with a set of 16-byte BLAKE2b
digests of the (stripped, UTF-8) user ids: about 100 bytes per user read so
far in CPython (a 49-byte ``bytes`` object plus its hash-set slot), i.e.
~100 MB per million users, whatever the id length.  No line number is
stored per user; when a digest repeats, the file is scanned again up to the
offending row to find the first occurrence, so the error names both lines
(CSV, 1-based) or both rows (Parquet, 0-based), exactly as the whole-file
readers do.  Should two different ids ever share a digest, the rescan finds
no earlier occurrence and reading goes on: a collision can never cause a
false refusal.

Everything else held at a time is one chunk: its ids, its CSR arrays and,
for CSV, one 8-byte line number per user; for Parquet one record batch of
``chunk_users`` rows, decoded as a dense ``chunk_users x K`` uint64 block
while its cells are checked.
"""

from __future__ import annotations

import csv
import hashlib
import os
from typing import Iterator, Optional

import numpy as np

from .errors import LedgerError
from .ledger import (
    DEFAULT_MAX_BITS,
    Ledger,
    _USER_ID_COLUMN,
    _check_max_bits,
    _open_text,
)

__all__ = ["iter_ledger_chunks", "locate_user", "estimate_users", "DEFAULT_CHUNK_USERS"]

DEFAULT_CHUNK_USERS = 65536


def _digest(uid: str) -> bytes:
    return hashlib.blake2b(uid.encode("utf-8", "surrogatepass"),
                           digest_size=16).digest()


def _first_csv_line(path: str, uid: str, before: int) -> Optional[int]:
    """Line of the first data row with id ``uid`` strictly before line ``before``."""
    with _open_text(path) as fh:
        reader = csv.reader(fh, strict=True)
        next(reader, None)  # header
        for row in reader:
            if reader.line_num >= before:
                return None
            if row and row[0].strip() == uid:
                return reader.line_num
    return None


def _first_parquet_row(path: str, uid: str, before: int) -> Optional[int]:
    """Index of the first row with id ``uid`` strictly before row ``before``."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    base = 0
    for batch in pq.ParquetFile(path).iter_batches(
            batch_size=65536, columns=[_USER_ID_COLUMN]):
        col = batch.column(0)
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        # only rows before `before`, all read once already (a later one may not even be UTF-8)
        for r, raw in enumerate(col.slice(0, max(0, before - base)).to_pylist()):
            if raw is not None and raw.strip() == uid:
                return base + r
        base += batch.num_rows
        if base >= before:
            return None
    return None


def iter_ledger_chunks(
    path,
    *,
    assets=None,
    max_bits: int = DEFAULT_MAX_BITS,
    chunk_users: int = DEFAULT_CHUNK_USERS,
    check_duplicates: bool = True,
) -> Iterator[Ledger]:
    """Yield the ledger at ``path`` as consecutive chunks of users.

    ``path`` is a CSV ledger, or a Parquet one when it ends with
    ``.parquet``; ``assets`` and ``max_bits`` are as for
    :meth:`Ledger.from_csv` / :meth:`Ledger.from_parquet`.  Each chunk is a
    :class:`Ledger` of 1 to ``chunk_users`` users (CSV chunks are exactly
    ``chunk_users`` except the last; Parquet chunks also end at row-group
    boundaries), all with the same assets and ``max_bits``.

    Raises :class:`LedgerError` as the whole-file readers do (an empty file,
    a file with no data rows, a bad cell with its true line or row), and for
    a user id repeated anywhere in the file, naming both lines (CSV) or both
    0-based rows (Parquet).  Errors are raised when the chunk holding the
    offending row is read; earlier chunks have already been yielded.

    ``check_duplicates=False`` skips the cross-chunk check (and its ~100 bytes
    per user) for callers that catch repeated ids themselves, as the round
    prover does when it sorts users by their keyed hash; :func:`locate_user`
    then names the lines.
    """
    if isinstance(chunk_users, bool) or not isinstance(chunk_users, (int, np.integer)) \
            or chunk_users < 1:
        raise LedgerError("chunk_users must be a positive integer",
                          value=str(chunk_users))
    chunk_users = int(chunk_users)
    max_bits = _check_max_bits(max_bits)
    spath = os.fspath(path)
    seen: set[bytes] = set()
    seen_add = seen.add

    if spath.endswith(".parquet"):
        def check_parquet(uid, idx, raw):
            d = _digest(uid)
            if d in seen:
                j = _first_parquet_row(spath, uid, idx)
                if j is not None:
                    raise LedgerError(
                        f"duplicates the user id in row {j}", path=spath,
                        index=idx, column=_USER_ID_COLUMN, value=raw,
                    )
            seen_add(d)

        n = 0
        for _base, uids, assets_t, ip, ai, lo, hi, kinds in Ledger._parquet_chunks(
                spath, assets, max_bits, chunk_users, check_parquet):
            n += len(uids)
            yield Ledger._trusted(uids, assets_t, ip, ai, lo, hi, max_bits, kinds=kinds)
        if n == 0:
            raise LedgerError("ledger has no data rows", path=spath)
        return

    def check_csv(uid, line, raw):
        if not check_duplicates:
            return
        d = _digest(uid)
        if d in seen:
            first = _first_csv_line(spath, uid, line)
            if first is not None:
                raise LedgerError(
                    f"duplicates the user id on line {first}", path=spath,
                    row=line, column=_USER_ID_COLUMN, value=raw,
                )
        seen_add(d)

    n = 0
    for led, _lines in Ledger._csv_file_chunks(spath, assets, max_bits,
                                               chunk_users, check_csv):
        n += led.num_users
        yield led
    if n == 0:
        raise LedgerError("ledger has no data rows", path=spath)


def locate_user(path, ordinal: int, *, assets=None, max_bits: int = DEFAULT_MAX_BITS) -> Optional[LedgerError]:
    """The error the whole-file readers give for user number ``ordinal`` (0-based, file order)
    repeating an earlier id: the core reports duplicates by user number, people need lines."""
    spath = os.fspath(path)
    seen = 0
    if spath.endswith(".parquet"):
        for led in iter_ledger_chunks(spath, assets=assets, max_bits=max_bits, check_duplicates=False):
            if ordinal < seen + led.num_users:
                uid = led.user_ids[ordinal - seen]
                first = _first_parquet_row(spath, uid, ordinal)
                if first is None:
                    return None
                return LedgerError(f"duplicates the user id in row {first}", path=spath,
                                   index=ordinal, column=_USER_ID_COLUMN, value=uid)
            seen += led.num_users
        return None
    for led, lines in Ledger._csv_file_chunks(spath, assets, max_bits, DEFAULT_CHUNK_USERS, None):
        if ordinal < seen + led.num_users:
            uid, line = led.user_ids[ordinal - seen], int(lines[ordinal - seen])
            first = _first_csv_line(spath, uid, line)
            if first is None:
                return None
            return LedgerError(f"duplicates the user id on line {first}", path=spath,
                               row=line, column=_USER_ID_COLUMN, value=uid)
        seen += led.num_users
    return None


def estimate_users(path, sample_bytes: int = 1 << 20) -> Optional[int]:
    """About how many users the ledger at ``path`` holds, without reading it: exact for Parquet
    (its metadata), from the mean line length of the first ``sample_bytes`` for CSV. For
    progress bars only."""
    spath = os.fspath(path)
    try:
        if spath.endswith(".parquet"):
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(spath).metadata.num_rows)
        size = os.path.getsize(spath)
        with open(spath, "rb") as fh:
            sample = fh.read(sample_bytes)
    except (OSError, ImportError, ValueError):
        return None
    lines = sample.count(b"\n") + (0 if sample.endswith(b"\n") or not sample else 1)
    if len(sample) == size or lines < 2:
        return max(lines - 1, 0)
    header = sample.index(b"\n") + 1
    per_line = (len(sample) - header) / (lines - 1)
    return max(1, round((size - header) / per_line))
