"""Tests of stark_por.executors: bounded, unordered map on threads and on a local Ray instance."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
import zlib
from typing import Iterator

import pytest

from stark_por.executors import (
    LocalExecutor,
    RayExecutor,
    RayNotInstalledError,
    TaskFailed,
    make_executor,
)


def payloads(n: int) -> list[tuple[int, bytes]]:
    return [(i, (b"batch-%d-" % i) * (i + 1)) for i in range(n)]


class Source:
    """Yields items and checks, at every pull, that the executor has a free slot.

    When item number ``pulled`` is requested, the executor holds ``pulled -
    consumed`` jobs it has not handed back yet, one of which may be the result
    it is about to yield; so ``pulled - consumed <= max_in_flight`` must hold.
    An executor that pulls ahead of completions breaks it whatever the timing.
    """

    def __init__(self, items: Iterator[tuple[int, bytes]] | list[tuple[int, bytes]],
                 max_in_flight: int) -> None:
        self.items = items
        self.max_in_flight = max_in_flight
        self.pulled = 0
        self.consumed = 0
        self.worst = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for item in self.items:
            ahead = self.pulled - self.consumed
            self.worst = max(self.worst, ahead)
            assert ahead <= self.max_in_flight, f"pulled {self.pulled}, consumed {self.consumed}"
            self.pulled += 1
            yield item


def reverse(payload: bytes) -> bytes:
    time.sleep(0.001 * (payload[-2] % 5))  # finish out of order
    return payload[::-1]


# --- local ----------------------------------------------------------------


def test_local_results_and_bound() -> None:
    items = payloads(60)
    src = Source(items, max_in_flight=3)
    out = {}
    with LocalExecutor(workers=2) as ex:
        for key, result in ex.map_unordered(reverse, src, max_in_flight=3):
            src.consumed += 1
            assert key not in out
            out[key] = result
    assert out == {k: p[::-1] for k, p in items}
    assert src.worst == 3  # the bound was reached, not just respected


def test_local_unfinished_tasks_never_exceed_bound() -> None:
    # Count from the tasks' side: pulled minus tasks that have returned.
    lock = threading.Lock()
    finished = 0

    def task(payload: bytes) -> bytes:
        nonlocal finished
        time.sleep(0.002)
        with lock:
            finished += 1
        return payload

    pulled = 0
    worst = 0

    def gen() -> Iterator[tuple[int, bytes]]:
        nonlocal pulled, worst
        for key, payload in payloads(40):
            with lock:
                worst = max(worst, pulled - finished)
            pulled += 1
            yield key, payload

    with LocalExecutor(workers=4) as ex:
        results = list(ex.map_unordered(task, gen(), max_in_flight=5))
    assert len(results) == 40
    assert worst <= 5


def test_local_consumer_stopping_early_stops_pulling() -> None:
    def endless() -> Iterator[tuple[int, bytes]]:
        i = 0
        while True:
            yield i, b"x%d" % i
            i += 1

    src = Source(endless(), max_in_flight=4)
    with LocalExecutor(workers=2) as ex:
        it = ex.map_unordered(reverse, src, max_in_flight=4)
        for _ in range(5):
            next(it)
            src.consumed += 1
        it.close()  # type: ignore[attr-defined]
    assert src.pulled <= 5 + 4


def test_local_error_names_key_and_stops_the_rest() -> None:
    calls = []

    def task(payload: bytes) -> bytes:
        calls.append(payload)
        if payload == b"7":
            raise ValueError("bad batch")
        time.sleep(0.005)
        return payload

    src = Source([(i, b"%d" % i) for i in range(200)], max_in_flight=3)
    with LocalExecutor(workers=2) as ex:
        with pytest.raises(TaskFailed, match=r"key 'batch-7' failed: ValueError: bad batch") as info:
            for _ in ex.map_unordered(task, ((f"batch-{k}", p) for k, p in src),
                                      max_in_flight=3):
                src.consumed += 1
    assert info.value.key == "batch-7"
    assert isinstance(info.value.__cause__, ValueError)
    # Nothing pulled past the failure's window, queued tasks cancelled.
    assert src.pulled <= 7 + 1 + 3
    assert len(calls) <= src.pulled


def test_bad_arguments_fail_at_the_call() -> None:
    with LocalExecutor(workers=1) as ex:
        with pytest.raises(ValueError, match="max_in_flight"):
            ex.map_unordered(reverse, [], max_in_flight=0)
    with pytest.raises(ValueError, match="workers"):
        LocalExecutor(workers=0)
    with pytest.raises(ValueError, match="unknown executor kind"):
        make_executor("dask")
    with pytest.raises(ValueError, match="workers applies to a local Ray"):
        make_executor("ray", address="auto", workers=2)


def test_make_local_defaults_to_cpu_count() -> None:
    import os

    with make_executor() as ex:
        assert isinstance(ex, LocalExecutor) and ex.workers == os.cpu_count()


def test_missing_ray_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'stark-por\[ray\]'") as info:
        RayExecutor()
    assert isinstance(info.value, RayNotInstalledError)


def test_importing_stark_por_does_not_import_ray() -> None:
    code = "import sys, stark_por, stark_por.executors; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- Ray ------------------------------------------------------------------
# The functions shipped are stdlib ones (zlib.compress is builtin, like the
# native prove_batch; base64.b64encode is plain Python): a worker imports
# them by name, while this test module is not importable from a worker.


@pytest.fixture(scope="module")
def ray_ex() -> Iterator[RayExecutor]:
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    t0 = time.perf_counter()
    ex = RayExecutor(num_cpus=2)
    assert list(ex.map_unordered(zlib.compress, [(0, b"warm")], max_in_flight=1)) == \
        [(0, zlib.compress(b"warm"))]
    print(f"\nray.init + first task: {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    yield ex
    ex.close()
    assert not ray.is_initialized()


@pytest.mark.parametrize("fn", [zlib.compress, base64.b64encode])
def test_ray_matches_local(ray_ex: RayExecutor, fn) -> None:
    items = payloads(30)
    src = Source(items, max_in_flight=4)
    got = {}
    for key, result in ray_ex.map_unordered(fn, src, max_in_flight=4):
        src.consumed += 1
        got[key] = result
    with LocalExecutor(workers=2) as local:
        want = dict(local.map_unordered(fn, items, max_in_flight=4))
    assert got == want and len(got) == 30
    assert src.worst == 4


def test_ray_error_is_unwrapped_and_names_key(ray_ex: RayExecutor) -> None:
    items = [(f"b{i}", zlib.compress(b"%d" % i)) for i in range(20)]
    items[5] = ("b5", b"not zlib data")
    src = Source(items, max_in_flight=2)
    with pytest.raises(TaskFailed, match=r"key 'b5' failed: error: Error -3") as info:
        for _ in ray_ex.map_unordered(zlib.decompress, src, max_in_flight=2):
            src.consumed += 1
    assert type(info.value.__cause__) is zlib.error  # the task's own type, not RayTaskError
    # No pull after the failure beyond the free slots: results of items after b5 may finish
    # before b5's error is reported (completion order is Ray's), but never more than the window.
    assert 6 <= src.pulled <= src.consumed + 2
    # The executor is still usable after a failed map.
    assert dict(ray_ex.map_unordered(zlib.decompress, items[:3], max_in_flight=2)) == \
        {"b0": b"0", "b1": b"1", "b2": b"2"}


def test_ray_second_executor_borrows_and_leaves_ray_running(ray_ex: RayExecutor) -> None:
    import ray

    with RayExecutor() as borrowed:
        assert dict(borrowed.map_unordered(zlib.compress, [(1, b"a")], max_in_flight=1)) == \
            {1: zlib.compress(b"a")}
    assert ray.is_initialized()
    with pytest.raises(RuntimeError, match="already initialised"):
        RayExecutor("auto")
