"""Run one function over many jobs: on local threads, or on a Ray cluster.

A proof round is proved as independent parts (version 2: forests, version 1:
batches); the driver turns each part into a ``bytes`` job and hands
``(key, job)`` pairs to an executor::

    with make_executor("ray", address="ray://head:10001") as ex:
        for key, proof in ex.map_unordered(prove_forest, jobs, max_in_flight=8):
            store(key, proof)

Both executors share one loop (:func:`_run_bounded`):

* results come back as they complete, not in input order;
* at most ``max_in_flight`` tasks are submitted and unfinished, and the next
  job is pulled from ``items`` only when a slot frees, so a generator that
  builds multi-megabyte jobs is never run ahead of the workers;
* the first failing task raises :class:`TaskFailed` naming its key, with the
  task's own exception as ``__cause__``; tasks not yet started are cancelled
  and no further job is pulled.  The same clean-up runs when the consumer
  stops iterating early.

Ray is optional: it is imported only when a :class:`RayExecutor` is made.
Every Ray worker must be able to import the function's module (for
``prove_forest`` and ``prove_batch``: ``stark_por`` of the same version as the
driver).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
from types import TracebackType
from typing import Any, Callable, Hashable, Iterable, Iterator, Optional, Protocol, TypeVar

from .errors import StarkPorError

__all__ = [
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "RayNotInstalledError",
    "TaskFailed",
    "make_executor",
]

K = TypeVar("K")
H = TypeVar("H", bound=Hashable)
Task = Callable[[bytes], bytes]

# A local Ray instance only carries jobs and proofs of the batches in flight
# (a few MB each); Ray's default would reserve 30% of RAM in /dev/shm.
_LOCAL_OBJECT_STORE_BYTES = 512 * 1024 * 1024

_RAY_HINT = "pip install 'stark-por[ray]'"


class TaskFailed(StarkPorError):
    """A task raised; ``key`` names its job, ``__cause__`` is the task's own exception."""

    def __init__(self, key: object, cause: BaseException) -> None:
        super().__init__(f"task for key {key!r} failed: {type(cause).__name__}: {cause}")
        self.key = key


class RayNotInstalledError(StarkPorError, ImportError):
    """A Ray executor was asked for but the ``ray`` package is missing."""


class Executor(Protocol):
    @property
    def slots(self) -> int:
        """Tasks that can run at once."""
        ...

    def map_unordered(self, fn: Task, items: Iterable[tuple[K, bytes]], *,
                      max_in_flight: int) -> Iterator[tuple[K, bytes]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, et: Optional[type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None: ...


def _run_bounded(
    items: Iterable[tuple[K, bytes]],
    max_in_flight: int,
    submit: Callable[[bytes], H],
    wait_any: Callable[[list[H]], Iterable[H]],
    collect: Callable[[H], bytes],
    cancel: Callable[[list[H]], None],
) -> Iterator[tuple[K, bytes]]:
    """The loop both executors share; ``H`` is a future or an object ref.

    ``collect`` returns the task's result or raises the task's own exception.
    """
    # Checked here, not inside the generator, so a bad value fails at the call.
    if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1:
        raise ValueError(f"max_in_flight must be a positive int, got {max_in_flight!r}")
    return _bounded(iter(items), max_in_flight, submit, wait_any, collect, cancel)


def _bounded(
    source: Iterator[tuple[K, bytes]],
    max_in_flight: int,
    submit: Callable[[bytes], H],
    wait_any: Callable[[list[H]], Iterable[H]],
    collect: Callable[[H], bytes],
    cancel: Callable[[list[H]], None],
) -> Iterator[tuple[K, bytes]]:
    pending: dict[H, K] = {}
    exhausted = False

    def refill() -> None:
        nonlocal exhausted
        while not exhausted and len(pending) < max_in_flight:
            try:
                key, payload = next(source)
            except StopIteration:
                exhausted = True
                return
            pending[submit(payload)] = key

    try:
        refill()
        while pending:
            for handle in wait_any(list(pending)):
                key = pending.pop(handle)
                try:
                    result = collect(handle)
                except Exception as exc:
                    raise TaskFailed(key, exc) from exc
                # Refill before yielding: workers stay busy while the consumer
                # stores this result, and the slot is already free.
                refill()
                yield key, result
    finally:
        # Error, early exit of the consumer, or generator closed: stop the rest.
        if pending:
            cancel(list(pending))


class LocalExecutor:
    """Runs tasks on ``workers`` threads of this process.

    Threads suffice because the native prover releases the GIL.  A task that
    has started cannot be interrupted: on failure only queued tasks are
    cancelled, and :meth:`close` waits for the running ones.
    """

    def __init__(self, workers: int) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive int, got {workers!r}")
        self.workers = self.slots = workers
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="stark-por-task")

    def map_unordered(self, fn: Task, items: Iterable[tuple[K, bytes]], *,
                      max_in_flight: int) -> Iterator[tuple[K, bytes]]:
        pool = self._pool

        def submit(payload: bytes) -> concurrent.futures.Future[bytes]:
            return pool.submit(fn, payload)

        def wait_any(futs: list[concurrent.futures.Future[bytes]]
                     ) -> Iterable[concurrent.futures.Future[bytes]]:
            done, _ = concurrent.futures.wait(futs, return_when=concurrent.futures.FIRST_COMPLETED)
            return done

        def collect(fut: concurrent.futures.Future[bytes]) -> bytes:
            return fut.result()

        def cancel(futs: list[concurrent.futures.Future[bytes]]) -> None:
            for fut in futs:
                fut.cancel()

        return _run_bounded(items, max_in_flight, submit, wait_any, collect, cancel)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, et: Optional[type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayNotInstalledError(f"the Ray executor needs Ray: {_RAY_HINT}") from exc
    return ray


def _apply(fn: Task, payload: bytes) -> bytes:
    # Runs on the Ray worker.  ray.remote() accepts only Python functions, and
    # prove_forest / prove_batch are native (builtin) functions, so every fn travels as an
    # argument, pickled by reference to its module, through this trampoline.
    return fn(payload)


class RayExecutor:
    """Runs tasks as Ray tasks, each reserving ``num_cpus_per_task`` CPUs.

    ``address=None`` starts a private local Ray instance (``num_cpus`` CPUs,
    default all; no dashboard; worker logs not forwarded), or uses the one this
    process has already set up.  Any other address (``"auto"``,
    ``"host:6379"``, ``"ray://host:10001"``) connects to that cluster.
    :meth:`close` shuts down only what this executor started or connected.
    """

    def __init__(self, address: Optional[str] = None, *, num_cpus_per_task: int = 1,
                 num_cpus: Optional[int] = None) -> None:
        if not isinstance(num_cpus_per_task, int) or num_cpus_per_task < 1:
            raise ValueError(f"num_cpus_per_task must be a positive int, got {num_cpus_per_task!r}")
        if address is not None and num_cpus is not None:
            raise ValueError("num_cpus applies to a local Ray instance only; a cluster has its own")
        ray = _import_ray()
        self._ray = ray
        self.num_cpus_per_task = num_cpus_per_task
        self._owns = False
        if ray.is_initialized():
            if address is not None:
                # We cannot tell which cluster that connection is to.
                raise RuntimeError(
                    f"Ray is already initialised in this process; cannot also connect to {address!r}"
                    " (pass address=None to use the existing connection)")
            return
        if address is None:
            # A solvency prover has no business reporting usage; the user's
            # own setting wins.
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            # "local" ignores RAY_ADDRESS, so None always means a private instance.
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.ERROR,
                     object_store_memory=_LOCAL_OBJECT_STORE_BYTES)
        else:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        self._owns = True

    def map_unordered(self, fn: Task, items: Iterable[tuple[K, bytes]], *,
                      max_in_flight: int) -> Iterator[tuple[K, bytes]]:
        ray = self._ray
        if not ray.is_initialized():
            raise RuntimeError("this RayExecutor is closed")
        remote = ray.remote(num_cpus=self.num_cpus_per_task)(_apply).options(
            name=getattr(fn, "__qualname__", "task"))
        # Put fn once, not once per task.
        fn_ref = ray.put(fn)

        def submit(payload: bytes) -> Any:
            return remote.remote(fn_ref, payload)

        def wait_any(refs: list[Any]) -> Iterable[Any]:
            ready: list[Any] = ray.wait(refs, num_returns=1)[0]
            return ready

        def collect(ref: Any) -> bytes:
            try:
                result: bytes = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                # Re-raise what the task raised (e.g. the prover's own error),
                # not Ray's wrapper; keep the wrapper if the cause did not survive.
                cause = getattr(exc, "cause", None)
                if isinstance(cause, Exception):
                    raise cause from exc
                raise
            return result

        def cancel(refs: list[Any]) -> None:
            # Queued tasks are dropped; a running native call finishes first
            # (force=True would kill and restart the worker processes).
            for ref in refs:
                ray.cancel(ref)

        return _run_bounded(items, max_in_flight, submit, wait_any, collect, cancel)

    @property
    def slots(self) -> int:
        """Tasks the cluster can run at once (its CPUs over each task's share)."""
        cpus = int(self._ray.cluster_resources().get("CPU", 1))
        return max(1, cpus // self.num_cpus_per_task)

    def close(self) -> None:
        if self._owns:
            self._owns = False
            self._ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, et: Optional[type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()


def make_executor(kind: str = "local", *, workers: Optional[int] = None,
                  address: Optional[str] = None) -> Executor:
    """``"local"``: ``workers`` threads (default ``os.cpu_count()``).

    ``"ray"``: a cluster at ``address``, or with ``address=None`` a local Ray
    instance of ``workers`` CPUs (default all).  ``workers`` is refused with
    an address: the cluster decides its size.
    """
    if kind == "local":
        if address is not None:
            raise ValueError("address applies to kind='ray' only")
        return LocalExecutor(workers if workers is not None else (os.cpu_count() or 1))
    if kind == "ray":
        if address is not None and workers is not None:
            raise ValueError("workers applies to a local Ray instance only (address=None)")
        return RayExecutor(address, num_cpus=workers)
    raise ValueError(f"unknown executor kind {kind!r}: expected 'local' or 'ray'")
