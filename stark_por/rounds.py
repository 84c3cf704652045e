"""Proving a ledger file of any size: streamed, in batches, resumable, local or on Ray.

:func:`prove_file` reads the ledger in chunks and never holds it whole. Users are placed in
the round's secret leaf order through private bucket files (``stark_por._native.Spill``), the
leaves are cut into batches of ``2**k`` and every batch is proved on its own — side by side,
one per core, or on a Ray cluster. The result is one round file (see ``rust/core/src/round.rs``)
that :func:`stark_por.verify` checks as a whole, plus the usual summary and inclusion store.

Everything in between lives in a private work folder (``<output>.work``, mode 0700: it holds
ids and balances) that is removed once the round is written:

``manifest.json``
    what the round is made from — SHA-256 of the ledger and assets files, round id, options,
    and an HMAC tag of the secret — and, once placed, the round's shape.
``spill/``
    the bucket files and their layout (``layout.bin``, written last).
``batches/batch-NNNNNN.bin``
    each proved batch, written atomically and tagged with the digest of the job it answers.

An interrupted run (kill -9 included) resumes with ``resume=True``: the manifest must match
what is asked now (another ledger, secret or option is refused, naming it); placement is reused
once finished; a batch result is reused only if it answers exactly the job the placement gives
for that batch today. Batch proofs are deterministic (``_native.prove_batch``), so a resumed
round — or one proved on Ray — is byte for byte the round an uninterrupted local run writes.
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
from .ledger import _find_assets_file
from .progress import Reporter
from .proof import DEFAULT_RANGE_BITS, Statement, check_prove_args, summary_path
from .stream import DEFAULT_CHUNK_USERS, estimate_users, iter_ledger_chunks, locate_user

__all__ = ["prove_file", "ResumeMismatch", "work_folder", "DEFAULT_BATCH_LOG2", "choose_batch_log2"]

PathLike = Union[str, "os.PathLike[str]"]

MANIFEST_FORMAT = "stark-por/work-folder"
MANIFEST_VERSION = 1

#: Largest default batch: 2^14 leaves prove fastest per user on the machines we measured
#: (benches/README.md); bigger batches only cost memory.
DEFAULT_BATCH_LOG2 = 14
#: Peak memory of proving one batch, per leaf (measured: 1.2 GiB for 2^14 leaves).
BYTES_PER_BATCH_LEAF = 80 * 1024


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
                 range_bits: int, batch_size: Optional[int], assets: Any, con: Reporter) -> None:
        self.folder, self.ledger, self.secret, self.round_id = folder, ledger, secret, round_id
        self.security, self.range_bits, self.assets_arg, self.con = security, range_bits, assets, con
        self.spill_dir = folder / "spill"
        self.batch_dir = folder / "batches"
        self.inputs = {
            "ledger_sha256": _file_sha256(ledger),
            "assets_sha256": _assets_fingerprint(ledger, assets),
            "secret_tag": _secret_tag(secret),
            "round_id": round_id,
            "security": security,
            "range_bits": range_bits,
            "batch_size": batch_size,
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
        "batch_size": "batch size",
    }

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
            differ = [name for key, name in self._NAMES.items() if old["inputs"].get(key) != self.inputs[key]]
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
        if placed and _native.spill_layout(self.spill_dir) is not None:
            self.con.info(f"placement reused: {placed['num_users']:,} users", event="placement_reused")
            self._open_placement(placed)
            return placed
        spill = None
        assets: Optional[List[Tuple[str, int]]] = None
        estimate = estimate_users(self.ledger)
        with self.con.bar(f"reading {self.ledger.name}", total=estimate, unit="users") as bar:
            for chunk in iter_ledger_chunks(self.ledger, assets=self.assets_arg, max_bits=self.range_bits,
                                            chunk_users=chunk_users, check_duplicates=False):
                if spill is None:
                    assets = [(a.name, a.decimals) for a in chunk.assets]
                    spill = _native.Spill(self.spill_dir, self.secret, self.round_id, assets, self.range_bits)
                spill.append(
                    list(chunk.user_ids),
                    np.ascontiguousarray(chunk.indptr, dtype=np.uint64),
                    np.ascontiguousarray(chunk.asset_index, dtype=np.uint32),
                    np.ascontiguousarray(chunk.amounts, dtype=np.uint64),
                )
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
        placed = {"assets": assets, **layout}
        self.manifest["placement"] = placed
        self.save()
        self._open_placement(placed)
        return placed

    def _open_placement(self, placed: dict) -> None:
        assets = [tuple(a) for a in placed["assets"]]
        self.placement = _native.Placement(self.spill_dir, self.secret, self.round_id, assets, self.range_bits)

    def _duplicate_error(self, e: LedgerError) -> LedgerError:
        """The core names duplicates by user number; find their lines in the file for people."""
        if e.index is None:
            return e
        where = locate_user(self.ledger, e.index, assets=self.assets_arg, max_bits=self.range_bits)
        return where or e

    # -- batches --------------------------------------------------------------------------------

    def batch_path(self, i: int) -> Path:
        return self.batch_dir / f"batch-{i:06d}.bin"

    def job(self, batch_log2: int, i: int) -> bytes:
        return self.placement.batch_job(self.security, batch_log2, i)

    def prove_batches(self, batch_log2: int, count: int, executor: str, workers: int,
                      ray_address: Optional[str]) -> List[Path]:
        """Proves every batch without a valid result on disk; returns the results' paths."""
        from .executors import make_executor

        self.batch_dir.mkdir(mode=0o700, exist_ok=True)
        with self.con.bar("proving", total=count, unit="batches") as bar:
            pending = []
            for i in range(count):
                path = self.batch_path(i)
                if path.is_file():
                    if _native.batch_answers(self.job(batch_log2, i), path.read_bytes()):
                        bar.advance()
                        continue
                    self.con.warn(f"batch {i}: the result on disk answers another job; proving it again",
                                  event="batch_stale", batch=i)
                pending.append(i)

            def jobs() -> Iterator[Tuple[int, bytes]]:
                for i in pending:
                    yield i, self.job(batch_log2, i)

            def done(i: int, result: bytes) -> None:
                with atomic_path(self.batch_path(i)) as tmp:
                    tmp.write_bytes(result)
                bar.advance()

            if count == 1:
                # a lone batch (an ordinary single proof) gets every core; it has nothing to resume
                for i, job in jobs():
                    done(i, _native.prove_batch(job, workers))
            else:
                # a Ray cluster decides its own size; one job waits ready beside each running one
                size = None if executor == "ray" and ray_address else workers
                with make_executor(executor, workers=size, address=ray_address) as pool:
                    for i, result in pool.map_unordered(_native.prove_batch, jobs(), max_in_flight=pool.slots + 1):
                        done(i, result)
        return [self.batch_path(i) for i in range(count)]


def prove_file(
    ledger: PathLike,
    output: PathLike,
    *,
    secret: bytes,
    round_id: str,
    assets: Any = None,
    security: str = "100",
    range_bits: int = DEFAULT_RANGE_BITS,
    batch_size: Optional[int] = None,
    workers: Optional[int] = None,
    executor: str = "local",
    ray_address: Optional[str] = None,
    resume: bool = False,
    chunk_users: int = DEFAULT_CHUNK_USERS,
    inclusion_store: bool = True,
    keep_work: bool = False,
    reporter: Optional[Reporter] = None,
) -> Statement:
    """Proves the ledger file ``ledger`` (CSV, or Parquet ending in ``.parquet``) into the round
    file ``output``, with its summary (``<output>.json``) and inclusion store (``<output>.db``).
    Returns the verified statement.

    The ledger streams in chunks of ``chunk_users``; memory is bounded by a chunk and by
    ``workers`` batches of ``batch_size`` leaves (default: :func:`choose_batch_log2`), never by
    the number of users. ``executor`` is ``"local"`` (``workers`` batches side by side, default
    one per core) or ``"ray"`` (a Ray cluster at ``ray_address``, or a local Ray instance).
    ``resume=True`` continues an interrupted run from its work folder (``<output>.work``).
    ``assets``, ``secret``, ``round_id``, ``security`` and ``range_bits`` are as for
    :func:`stark_por.prove` and :meth:`stark_por.Ledger.from_csv`.
    """
    from .inclusion import InclusionStore, store_path

    con = reporter or Reporter(quiet=True)
    batch_log2 = check_prove_args(secret, round_id, security, batch_size)
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', not {executor!r}")
    workers = int(workers or os.cpu_count() or 1)
    ledger, output = Path(ledger), Path(output)
    if not ledger.is_file():
        raise LedgerError("no such ledger file", path=str(ledger))
    folder = work_folder(output)
    batch_size = None if batch_log2 is None else 1 << batch_log2  # a plain int for the manifest
    rnd = _Round(folder, ledger, bytes(secret), round_id, str(security), int(range_bits), batch_size, assets, con)
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
        if not any(rnd.batch_dir.glob("batch-*.bin")):
            shutil.rmtree(folder, ignore_errors=True)
        raise
    num_leaves = placed["num_leaves"]
    if "batch_log2" not in placed:
        placed["batch_log2"] = batch_log2 if batch_log2 is not None else choose_batch_log2(num_leaves, workers)
        rnd.save()
    batch_log2 = min(placed["batch_log2"], num_leaves.bit_length() - 1)
    count = num_leaves >> batch_log2
    con.info(
        f"  {placed['num_users']:,} users in {num_leaves:,} leaves: {count} batch{'es' if count > 1 else ''} "
        f"of 2^{batch_log2}", event="plan", users=placed["num_users"], leaves=num_leaves,
        batches=count, batch_log2=batch_log2, executor=executor, workers=workers,
    )

    results = rnd.prove_batches(batch_log2, count, executor, workers, ray_address)

    with con.step("assembling and verifying the round"):
        out = rnd.placement.assemble(batch_log2, results)
        # the round is checked as any verifier will check it before it is published
        statement = Statement._from_native(_native.verify(out["file"], 100), verified=True)
        atomic_write(output, out["file"])
        atomic_write(summary_path(output), (json.dumps(statement.summary(), indent=2) + "\n").encode())

    if inclusion_store:
        with con.bar("writing the inclusion store", total=placed["num_users"], unit="users") as bar:
            InclusionStore.write_streamed(
                store_path(output),
                statement=statement,
                users=_store_users(rnd.placement, bar),
                nodes=_store_nodes(out["top"], results, len(placed["assets"]), batch_log2, count),
            )
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
