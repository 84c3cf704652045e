"""Proving a ledger file of any size: streamed, in parts, resumable, local or on Ray.

:func:`prove_file` reads the ledger in chunks and never holds it whole. Users are placed in
the round's secret leaf order through private bucket files (``stark_por._native.Spill``) and
the leaves are cut into parts, each proved on its own — side by side, one per core, or on a
Ray cluster:

* **statement version 2** (default; amounts up to ``2**112``): *forests* of the round tree,
  planned from every leaf's size so that each fills a trace of ``2**trace_log2`` rows
  (``rust/core/src/v2/stream.rs``);
* **statement version 3** (``prices=``: margin): version 2's forests, with debts and every
  borrower's collateral check at the prices given;
* **statement version 1** (``version=1``; amounts below ``2**62``): *batches* of ``2**k``
  leaves (``rust/core/src/round.rs``).

The result is one round file that :func:`stark_por.verify` checks as a whole — byte for byte
the file :func:`stark_por.prove` writes for the same ledger held in memory — plus the usual
summary and inclusion store.

Everything in between lives in a private work folder (``<output>.work``, mode 0700: it holds
ids and balances) that is removed once the round is written:

``manifest.json``
    what the round is made from — SHA-256 of the ledger and assets files (and of the prices,
    version 3), round id, options, and an HMAC tag of the secret — and, once placed, the
    round's shape.
``spill/``
    the bucket files and their layout (``layout.bin``, written last).
``forests/forest-NNNNNN.bin`` (versions 2 and 3), ``batches/batch-NNNNNN.bin`` (version 1)
    each proved part, written atomically and tagged with the digest of the job it answers.

An interrupted run (kill -9 included) resumes with ``resume=True``: the manifest must match
what is asked now (another ledger, secret or option is refused, naming it); placement is reused
once finished; a part's result is reused only if it answers exactly the job the placement gives
for that part today. Proofs of parts are deterministic (``_native.prove_forest``,
``_native.prove_batch``: one thread each), so a resumed round — or one proved on Ray — is byte
for byte the round an uninterrupted local run writes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._files import atomic_path, atomic_write
from .errors import LedgerError, WorkFolderError
from .ledger import Asset, _find_assets_file
from .progress import Reporter
from .margin.prices import Prices, price_terms
from .proof import (DEFAULT_RANGE_BITS, DEFAULT_RANGE_BITS_V2, Statement, check_prove_args, refuse_debts,
                    committed_for, statement_version_for, summary_path)
from .stream import DEFAULT_CHUNK_USERS, estimate_users, iter_ledger_chunks, locate_user

__all__ = [
    "prove_file",
    "ResumeMismatch",
    "work_folder",
    "DEFAULT_BATCH_LOG2",
    "choose_batch_log2",
    "DEFAULT_TRACE_LOG2",
    "choose_trace_log2",
]

PathLike = Union[str, "os.PathLike[str]"]

MANIFEST_FORMAT = "stark-por/work-folder"
MANIFEST_VERSION = 1

#: Largest default batch: 2^14 leaves prove fastest per user on the machines we measured
#: (benches/README.md); bigger batches only cost memory.
DEFAULT_BATCH_LOG2 = 14
#: Peak memory of proving one batch, per leaf (measured: 1.2 GiB for 2^14 leaves).
BYTES_PER_BATCH_LEAF = 80 * 1024

#: Version 2's forests fill traces of 2^16 rows (``rust/core/src/v2``): the size measured to keep
#: every row working at the lowest cost per user; smaller traces cost more rows above the forests.
DEFAULT_TRACE_LOG2 = 16
MIN_TRACE_LOG2, MAX_TRACE_LOG2 = 14, 28
#: Peak memory of proving one forest, per trace row (measured: 1.32 GiB for a 2^16-row trace).
BYTES_PER_TRACE_ROW = 22 * 1024


class ResumeMismatch(WorkFolderError):
    """``resume`` found a work folder made from another ledger, secret or options."""

    def __init__(self, folder: Path, fields: Sequence[str]) -> None:
        self.folder = folder
        self.fields = tuple(fields)
        super().__init__(
            f"{folder} holds a round made from a different {', '.join(fields)}: nothing was reused; "
            "prove with the original inputs, or remove the folder to start over"
        )

    def __reduce__(self):
        return (type(self), (self.folder, self.fields))


def work_folder(output: PathLike) -> Path:
    """Where :func:`prove_file` keeps its working state for ``output``."""
    path = Path(output)
    return path.with_name(path.name + ".work")


def _available_memory() -> Optional[int]:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def choose_batch_log2(num_leaves: int, workers: int, memory: Optional[int] = None) -> int:
    """The batch size for a round of ``num_leaves``: the fastest measured size (2^14), smaller when
    ``workers`` batches side by side would not fit in half of the available ``memory``."""
    memory = _available_memory() if memory is None else memory
    k = DEFAULT_BATCH_LOG2
    if memory is not None:
        while k > 10 and workers * BYTES_PER_BATCH_LEAF << k > memory // 2:
            k -= 1
    return max(1, min(k, num_leaves.bit_length() - 1))


def choose_trace_log2(workers: int, memory: Optional[int] = None) -> int:
    """The forest trace size of a version-2 round: 2^16 rows, smaller (down to 2^14) when
    ``workers`` forests side by side would not fit in half of the available ``memory``."""
    memory = _available_memory() if memory is None else memory
    k = DEFAULT_TRACE_LOG2
    if memory is not None:
        while k > MIN_TRACE_LOG2 and workers * BYTES_PER_TRACE_ROW << k > memory // 2:
            k -= 1
    return k


def _check_trace_log2(trace_log2) -> Optional[int]:
    if trace_log2 is None:
        return None
    if isinstance(trace_log2, bool) or not isinstance(trace_log2, (int, np.integer)):
        raise TypeError("trace_log2 must be an integer or None")
    if not MIN_TRACE_LOG2 <= trace_log2 <= MAX_TRACE_LOG2:
        raise ValueError(f"trace_log2 must be {MIN_TRACE_LOG2} to {MAX_TRACE_LOG2} (traces of 2**{MIN_TRACE_LOG2} "
                         f"to 2**{MAX_TRACE_LOG2} rows), not {trace_log2}")
    return int(trace_log2)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _assets_fingerprint(ledger: Path, assets: Any) -> str:
    """What the asset list is read from, as a digest: a resume must see the same source."""
    if assets is None:
        found = _find_assets_file(ledger)
        return _file_sha256(found) if found else "header"
    if isinstance(assets, (str, os.PathLike)):
        return _file_sha256(Path(assets))
    if isinstance(assets, dict):
        canon = sorted((str(k), int(v)) for k, v in assets.items())
    else:
        canon = [(a.name, a.decimals) for a in assets]
    return hashlib.sha256(json.dumps(canon).encode()).hexdigest()


def _secret_tag(secret: bytes) -> str:
    # tells the secret apart without writing it (or anything the proof uses) to disk
    return hmac.new(secret, b"stark-por/v1/work-folder", hashlib.sha256).hexdigest()


def _write_json(path: Path, value: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2) + "\n")


class _Round:
    """One round's work folder and the inputs it was made from."""

    def __init__(self, folder: Path, ledger: Path, secret: bytes, round_id: str, security: str,
                 range_bits: int, version: int, size: Optional[int], assets: Any, con: Reporter,
                 prices: Optional[Prices] = None, committed: bool = False) -> None:
        self.folder, self.ledger, self.secret, self.round_id = folder, ledger, secret, round_id
        self.security, self.range_bits, self.assets_arg, self.con = security, range_bits, assets, con
        self.version, self.prices = version, prices
        #: Formats 4 and 5: forests commit to their totals. Not in the manifest: the placement
        #: serves both modes, and a result of the other mode answers no job of this one (the
        #: jobs differ), so a resume in the other mode proves every forest again.
        self.committed = committed
        self.spill_dir = folder / "spill"
        #: Versions 2 and 3 prove forests, version 1 batches: each in its own folder and file names.
        self.forests = version != 1
        self.part = "forest" if self.forests else "batch"
        self.part_dir = folder / ("forests" if self.forests else "batches")
        self.inputs = {
            "ledger_sha256": _file_sha256(ledger),
            "assets_sha256": _assets_fingerprint(ledger, assets),
            "secret_tag": _secret_tag(secret),
            "round_id": round_id,
            "security": security,
            "range_bits": range_bits,
            "statement_version": version,
            "batch_size": size if version == 1 else None,
            "trace_size": size if self.forests else None,
            "prices_sha256": prices.digest() if prices is not None else None,
        }
        self.manifest: Dict[str, Any] = {}
        #: The finished placement, set by :meth:`place`.
        self.placement: _native.Placement

    # -- manifest -------------------------------------------------------------------------------

    _NAMES = {
        "ledger_sha256": "ledger",
        "assets_sha256": "assets file",
        "secret_tag": "secret",
        "round_id": "round id",
        "security": "security",
        "range_bits": "range bound",
        "statement_version": "statement version",
        "batch_size": "batch size",
        "trace_size": "trace size",
        "prices_sha256": "prices file",
    }
    #: What a manifest written before a field existed meant by its absence.
    _ABSENT = {"statement_version": 1, "prices_sha256": None}

    def open(self, resume: bool) -> None:
        path = self.folder / "manifest.json"
        if path.is_file():
            if not resume:
                raise WorkFolderError(
                    f"{self.folder} holds an unfinished round: resume it (--resume, resume=True) "
                    "or remove the folder to start over"
                )
            try:
                old = json.loads(path.read_text())
                ok = old.get("format") == MANIFEST_FORMAT and old.get("version") == MANIFEST_VERSION
            except (OSError, ValueError):
                ok = False
            if not ok:
                raise WorkFolderError(f"{path} is not a stark-por work-folder manifest")
            differ = [name for key, name in self._NAMES.items()
                      if old["inputs"].get(key, self._ABSENT.get(key)) != self.inputs[key]]
            if differ:
                raise ResumeMismatch(self.folder, differ)
            self.manifest = old
            self.con.info(f"resuming the round in {self.folder}", event="resume", folder=str(self.folder))
            return
        if self.folder.exists() and any(self.folder.iterdir()):
            raise WorkFolderError(f"{self.folder} exists and is not a stark-por work folder; remove it or pick another output")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        self.manifest = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "inputs": self.inputs}
        _write_json(path, self.manifest)

    def save(self) -> None:
        _write_json(self.folder / "manifest.json", self.manifest)

    # -- placement ------------------------------------------------------------------------------

    def place(self, chunk_users: int) -> dict:
        placed = self.manifest.get("placement")
        layout = _native.spill_layout(self.spill_dir) if placed else None
        if layout is not None and layout["statement_version"] == self.version:
            self.con.info(f"placement reused: {placed['num_users']:,} users", event="placement_reused")
            self._open_placement(placed)
            return placed
        spill = None
        assets: Optional[List[Tuple[str, int]]] = None
        estimate = estimate_users(self.ledger)
        with self.con.bar(f"reading {self.ledger.name}", total=estimate, unit="users") as bar:
            for chunk in iter_ledger_chunks(self.ledger, assets=self.assets_arg, max_bits=self.range_bits,
                                            chunk_users=chunk_users, check_duplicates=False):
                if self.version != 3:
                    refuse_debts(chunk, str(self.ledger))
                if spill is None:
                    assets = [(a.name, a.decimals) for a in chunk.assets]
                    spill = self._spill(chunk.assets)
                users, indptr = list(chunk.user_ids), np.ascontiguousarray(chunk.indptr, dtype=np.uint64)
                asset_index = np.ascontiguousarray(chunk.asset_index, dtype=np.uint32)
                if self.version == 3:
                    spill.append_wide(users, indptr, asset_index,
                                      np.ascontiguousarray(chunk.amounts_lo, dtype=np.uint64),
                                      np.ascontiguousarray(chunk.amounts_hi, dtype=np.uint64),
                                      np.ascontiguousarray(chunk.kinds, dtype=np.uint8))
                elif self.version == 2:
                    spill.append_wide(users, indptr, asset_index,
                                      np.ascontiguousarray(chunk.amounts_lo, dtype=np.uint64),
                                      np.ascontiguousarray(chunk.amounts_hi, dtype=np.uint64))
                else:
                    spill.append(users, indptr, asset_index, np.ascontiguousarray(chunk.amounts, dtype=np.uint64))
                if estimate is not None and bar.done + chunk.num_users > estimate:
                    estimate = None  # the estimate fell short: show the count and rate only
                    bar.set_total(None)
                bar.advance(chunk.num_users)
            bar.set_total(bar.done)
        assert spill is not None and assets is not None  # the stream refuses a ledger without rows
        with self.con.step("placing users and padding in the secret leaf order"):
            try:
                layout = spill.finish()
            except LedgerError as e:
                raise self._duplicate_error(e) from None
        # a placement made again (cut short by a kill) keeps the part size chosen before it, so
        # that finished parts still answer their jobs
        sizes = {k: v for k, v in (self.manifest.get("placement") or {}).items() if k in ("trace_log2", "batch_log2")}
        placed = {"assets": assets, **layout, **sizes}
        self.manifest["placement"] = placed
        self.save()
        self._open_placement(placed)
        return placed

    def _spill(self, assets) -> "_native.Spill":
        pairs = [(a.name, a.decimals) for a in assets]
        if self.version != 3:
            return _native.Spill(self.spill_dir, self.secret, self.round_id, pairs, self.range_bits, self.version)
        assert self.prices is not None
        return _native.Spill(self.spill_dir, self.secret, self.round_id, pairs, self.range_bits, self.version,
                             prices=price_terms(self.prices, assets))

    def _open_placement(self, placed: dict) -> None:
        assets = [tuple(a) for a in placed["assets"]]
        if self.version == 3:
            assert self.prices is not None
            terms = price_terms(self.prices, [Asset(name, decimals) for name, decimals in assets])
            self.placement = _native.Placement(self.spill_dir, self.secret, self.round_id, assets, self.range_bits,
                                               prices=terms)
        else:
            self.placement = _native.Placement(self.spill_dir, self.secret, self.round_id, assets, self.range_bits)

    def _duplicate_error(self, e: LedgerError) -> LedgerError:
        """The core names duplicates by user number; find their lines in the file for people."""
        if e.index is None:
            return e
        where = locate_user(self.ledger, e.index, assets=self.assets_arg, max_bits=self.range_bits)
        return where or e

    # -- parts: forests (version 2) or batches (version 1) -----------------------------------------

    def part_path(self, i: int) -> Path:
        return self.part_dir / f"{self.part}-{i:06d}.bin"

    def job(self, log2: int, i: int) -> bytes:
        """The job of part ``i``; ``log2`` is the forests' trace size or the batch size."""
        if self.forests:
            return self.placement.forest_job(self.security, log2, i, committed=self.committed)
        return self.placement.batch_job(self.security, log2, i)

    def prove_parts(self, log2: int, count: int, executor: str, workers: int,
                    ray_address: Optional[str]) -> List[Path]:
        """Proves every part without a valid result on disk; returns the results' paths."""
        from .executors import make_executor

        answers = _native.forest_answers if self.forests else _native.batch_answers
        self.part_dir.mkdir(mode=0o700, exist_ok=True)
        with self.con.bar("proving", total=count, unit="forests" if self.forests else "batches") as bar:
            pending = []
            for i in range(count):
                path = self.part_path(i)
                if path.is_file():
                    if answers(self.job(log2, i), path.read_bytes()):
                        bar.advance()
                        continue
                    self.con.warn(f"{self.part} {i}: the result on disk answers another job; proving it again",
                                  event=f"{self.part}_stale", **{self.part: i})
                pending.append(i)

            def jobs() -> Iterator[Tuple[int, bytes]]:
                for i in pending:
                    yield i, self.job(log2, i)

            def done(i: int, result: bytes) -> None:
                with atomic_path(self.part_path(i)) as tmp:
                    tmp.write_bytes(result)
                bar.advance()

            # every part on one thread, even a lone one: its bytes never depend on timing.
            # A Ray cluster decides its own size; one job waits ready beside each running one
            prove_part = _native.prove_forest if self.forests else _native.prove_batch
            size = None if executor == "ray" and ray_address else workers
            with make_executor(executor, workers=size, address=ray_address) as pool:
                for i, result in pool.map_unordered(prove_part, jobs(), max_in_flight=pool.slots + 1):
                    done(i, result)
        return [self.part_path(i) for i in range(count)]


def prove_file(
    ledger: PathLike,
    output: PathLike,
    *,
    secret: bytes,
    round_id: str,
    assets: Any = None,
    security: str = "100",
    version: Optional[int] = None,
    prices: Any = None,
    range_bits: Optional[int] = None,
    trace_log2: Optional[int] = None,
    batch_size: Optional[int] = None,
    workers: Optional[int] = None,
    executor: str = "local",
    ray_address: Optional[str] = None,
    resume: bool = False,
    chunk_users: int = DEFAULT_CHUNK_USERS,
    inclusion_store: bool = True,
    keep_work: bool = False,
    reporter: Optional[Reporter] = None,
    committed: Optional[bool] = None,
) -> Statement:
    """Proves the ledger file ``ledger`` (CSV, or Parquet ending in ``.parquet``) into the round
    file ``output``, with its summary (``<output>.json``) and inclusion store (``<output>.db``).
    Returns the verified statement.

    ``version`` is the statement version: 2 (default) proves amounts below ``2**range_bits``
    (default and at most 112) as forests filling traces of ``2**trace_log2`` rows (default
    :func:`choose_trace_log2`: 2^16, less if memory is short); 1 proves amounts below 2^62 (at
    most 2^63) with the version-1 circuit, in batches of ``batch_size`` leaves (default
    :func:`choose_batch_log2`). With ``prices`` (a prices file, a
    :class:`stark_por.margin.Prices` or a mapping; ``version`` then defaults to 3) the round is
    statement version 3: version 2's forests, with the ledger's debts (``<ASSET>.debt``
    columns) and every borrower's collateral covering their debt at those prices; a ledger with
    debts and no prices is refused. Either way the file is byte for byte what
    :func:`stark_por.prove` writes for the same ledger, secret, round id, prices and sizes.

    The ledger streams in chunks of ``chunk_users``; memory is bounded by a chunk and by
    ``workers`` forests (or batches) in flight, never by the number of users. ``executor`` is
    ``"local"`` (``workers`` side by side, default one per core) or ``"ray"`` (a Ray cluster at
    ``ray_address``, or a local Ray instance). ``resume=True`` continues an interrupted run from
    its work folder (``<output>.work``). ``assets``, ``secret``, ``round_id`` and ``security``
    are as for :func:`stark_por.prove` and :meth:`stark_por.Ledger.from_csv`. ``committed``
    (default True from version 2 on) is as for :func:`stark_por.prove`: formats 4 and 5, each
    forest's totals committed and summed by one aggregation proof made when the round is
    assembled; ``committed=False`` gives formats 2 and 3.
    """
    from .inclusion import InclusionStore, store_path

    con = reporter or Reporter(quiet=True)
    version = statement_version_for(version, prices)
    committed = committed_for(version, committed)
    forests = version != 1
    batch_log2 = check_prove_args(secret, round_id, security, batch_size)
    trace_log2 = _check_trace_log2(trace_log2)
    if forests and batch_log2 is not None:
        raise ValueError(f"batch_size is version 1's: version {version} cuts the round into forests that fill "
                         "traces of up to 2**trace_log2 rows")
    if version == 1 and trace_log2 is not None:
        raise ValueError("trace_log2 is version 2's: version 1 takes batch_size")
    if range_bits is None:
        range_bits = DEFAULT_RANGE_BITS_V2 if forests else DEFAULT_RANGE_BITS
    if isinstance(range_bits, bool) or not isinstance(range_bits, (int, np.integer)):
        raise TypeError("range_bits must be an integer")
    widest = DEFAULT_RANGE_BITS_V2 if forests else 63
    if not 32 <= range_bits <= widest:
        raise ValueError(f"version {version} proves range bounds of 32 to {widest} bits, not {range_bits}"
                         + (": use version=2 (up to 112)" if version == 1 and range_bits > 63 else ""))
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', not {executor!r}")
    workers = int(workers or os.cpu_count() or 1)
    ledger, output = Path(ledger), Path(output)
    if not ledger.is_file():
        raise LedgerError("no such ledger file", path=str(ledger))
    # read (and checked as text) before anything is written; checked against the assets when known
    price_table = Prices.of(prices) if prices is not None else None
    folder = work_folder(output)
    log2 = trace_log2 if forests else batch_log2
    size = None if log2 is None else 1 << log2  # a plain int for the manifest
    rnd = _Round(folder, ledger, bytes(secret), round_id, str(security), int(range_bits), version, size, assets, con,
                 price_table, committed)
    rnd.open(resume)
    if resume:
        # temp files of writes a kill interrupted (atomic_path names them ".<name>.*.tmp")
        for name in (output.name, summary_path(output).name, store_path(output).name):
            for stale in output.parent.glob(f".{name}.*.tmp"):
                stale.unlink(missing_ok=True)

    try:
        placed = rnd.place(chunk_users)
    except LedgerError:
        # a ledger that cannot be proved leaves nothing worth resuming: the user fixes it and
        # proves again, without a folder of half-placed balances in the way
        if not any(rnd.part_dir.glob(f"{rnd.part}-*.bin")):
            shutil.rmtree(folder, ignore_errors=True)
        raise
    num_leaves = placed["num_leaves"]
    if forests:
        if "trace_log2" not in placed:
            placed["trace_log2"] = trace_log2 if trace_log2 is not None else choose_trace_log2(workers)
            rnd.save()
        log2 = placed["trace_log2"]
        plan = rnd.placement.forest_plan(rnd.security, log2, committed=committed)
        count = len(plan)
        shape = f"{count} forest{'s' if count > 1 else ''} in traces of up to 2^{log2} rows"
    else:
        if "batch_log2" not in placed:
            placed["batch_log2"] = batch_log2 if batch_log2 is not None else choose_batch_log2(num_leaves, workers)
            rnd.save()
        log2 = min(placed["batch_log2"], num_leaves.bit_length() - 1)
        count = num_leaves >> log2
        shape = f"{count} batch{'es' if count > 1 else ''} of 2^{log2}"
    con.info(
        f"  {placed['num_users']:,} users in {num_leaves:,} leaves: {shape}", event="plan", users=placed["num_users"],
        leaves=num_leaves, statement_version=version, parts=count, log2=log2, executor=executor, workers=workers,
    )

    results = rnd.prove_parts(log2, count, executor, workers, ray_address)

    with con.step("assembling and verifying the round"):
        if forests:
            out = rnd.placement.assemble_forests(rnd.security, log2, results, committed=committed)
        else:
            out = rnd.placement.assemble(log2, results)
        # the round is checked as any verifier will check it before it is published
        statement = Statement._from_native(_native.verify(out["file"], 100), verified=True)
        atomic_write(output, out["file"])
        atomic_write(summary_path(output), (json.dumps(statement.summary(), indent=2) + "\n").encode())
    if forests:
        used, total = out["working_rows"]
        con.info(f"  {used / total:.1%} of the forests' trace rows do work ({used:,} of {total:,})",
                 event="working_rows", used=used, total=total)

    if inclusion_store:
        if forests:
            nodes = _forest_nodes(out["top_index"], out["top"], results)
        else:
            nodes = _store_nodes(out["top"], results, len(placed["assets"]), log2, count)
        with con.bar("writing the inclusion store", total=placed["num_users"], unit="users") as bar:
            InclusionStore.write_streamed(store_path(output), statement=statement,
                                          users=_store_users(rnd.placement, bar), nodes=nodes)
    if not keep_work:
        shutil.rmtree(folder, ignore_errors=True)
    con.info(f"  round {len(out['file']):,} bytes → {output}", event="written", path=str(output), bytes=len(out["file"]))
    return statement


def _store_users(placement: "_native.Placement", bar) -> Iterator[dict]:
    for b in range(_native.SPILL_BUCKETS):
        users = placement.bucket_users(b)
        yield users
        bar.advance(len(users["user_ids"]))


def _store_nodes(top: bytes, results: List[Path], num_assets: int, batch_log2: int,
                 count: int) -> Iterator[Tuple[np.ndarray, bytes]]:
    if count > 1:
        yield np.arange(1, count, dtype=np.uint64), top[32:]
    for path in results:
        yield _native.batch_nodes(path.read_bytes(), num_assets, 1 << batch_log2, count)


def _forest_nodes(top_index: np.ndarray, top: bytes, results: List[Path]) -> Iterator[Tuple[np.ndarray, bytes]]:
    """Every node of a version-2 round's tree once: those above the forests' roots, then each
    forest's own."""
    yield top_index, top
    for path in results:
        yield _native.forest_nodes(path.read_bytes())
