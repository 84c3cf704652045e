"""Inclusion-proof benchmark: proof size, verification time (Rust and pure Python), store
writing, single and bulk export.

    python benches/bench_inclusion.py                 # store and export on 2^16 users
    python benches/bench_inclusion.py --log-users 14  # a smaller round, quicker
    python benches/bench_inclusion.py --json results.json

Size and verification use a synthetic proof of a tree of 2^20 leaves (20 siblings; a real
round of that size is not needed: the checks do not depend on the other leaves). Store and
export figures come from a real round of 2^log-users users (workload W1: 22 assets, mean ≈ 3
held), proved once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def timed(f, repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def synthetic_million() -> dict:
    import stark_por
    from stark_por.verifiers import pyverify

    rng = random.Random(1)
    depth = 20
    entries = (
        pyverify.Entry("BTC", 1, 8, 123_456_789_012),
        pyverify.Entry("ETH", 2, 18, 4_567_890_123_456_789_012),
        pyverify.Entry("USDT", 3, 6, 1_234_567_890_123),
    )
    salt = rng.randbytes(32)
    user_id = "user-0000734521"
    leaf = pyverify.leaf(user_id, salt, [(e.index, e.units) for e in entries])
    path = tuple(pyverify.digest_to_bytes([rng.randrange(pyverify.P) for _ in range(4)]) for _ in range(depth))
    index = rng.randrange(1 << depth)
    root = pyverify.walk(leaf, index, path)
    proof = stark_por.InclusionProof(
        round_id="2026-11", user_id=user_id, salt=salt, entries=entries, leaf_index=index,
        num_leaves=1 << depth, leaf=leaf, root=root, path=path,
    )
    text = proof.to_json()
    summary = stark_por.PublishedSummary.from_json(json.dumps({
        "round_id": "2026-11", "range_bits": 62, "num_leaves": 1 << depth, "root": root.hex(),
        "assets": [{"asset": e.asset, "decimals": e.decimals, "total_units": str(e.units)} for e in entries],
    }))
    check = lambda t, pure=False: stark_por.verify_inclusion(t, summary, user_id=user_id, pure=pure)  # noqa: E731
    assert check(text) == check(text, pure=True)
    return {
        "json_bytes_2^20_users_3_assets": len(text.encode()),
        "json_bytes_indented": len(proof.to_json(indent=2).encode()),
        "rust_verify_ms": timed(lambda: check(proof), 200) * 1e3,
        "rust_verify_with_parse_ms": timed(lambda: check(text), 200) * 1e3,
        "pure_verify_ms": timed(lambda: check(text, pure=True), 9) * 1e3,
        "pure_permutation_ms": timed(lambda: pyverify.permute(list(range(12))), 50) * 1e3,
    }


def real_round(log_users: int, folder: Path) -> dict:
    import stark_por
    from stark_por import inclusion, synthetic

    n = 1 << log_users
    ledger = synthetic.W1(n, seed=1)
    t0 = time.perf_counter()
    proof = stark_por.prove(ledger, secret=b"benchmark-secret-0123456789abcdef", round_id=f"bench-{n}")
    prove_s = time.perf_counter() - t0
    path = folder / "round.stpor"
    proof.save(path, inclusion_store=False)
    t0 = time.perf_counter()
    proof.save(path)
    store_s = time.perf_counter() - t0  # includes rewriting the proof and its summary
    db = inclusion.store_path(path)
    users = random.Random(2).sample(ledger.user_ids, min(1000, n))
    with inclusion.InclusionStore(db) as store:
        t0 = time.perf_counter()
        for u in users:
            inclusion.export(store, u)
        export_ms = (time.perf_counter() - t0) / len(users) * 1e3
        t0 = time.perf_counter()
        inclusion.export(db, users[0])  # opening the store included
        export_cold_ms = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        count = inclusion.export_all(store, folder / "all.jsonl")
        export_all_s = time.perf_counter() - t0
        # memory on a second pass (tracing allocations slows Python down several times)
        tracemalloc.start()
        with open(os.devnull, "w") as sink:
            inclusion.export_all(store, sink)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert count == n
    return {
        "users": n,
        "prove_s": prove_s,
        "store_write_s": store_s,
        "store_mib": db.stat().st_size / 2**20,
        "export_ms_per_user": export_ms,
        "export_with_open_ms": export_cold_ms,
        "export_all_s": export_all_s,
        "export_all_users_per_s": n / export_all_s,
        "export_all_peak_python_mib": peak / 2**20,
        "jsonl_mib": (folder / "all.jsonl").stat().st_size / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log-users", type=int, default=16)
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    results = {"machine": f"{platform.machine()} × {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"}
    results["synthetic_2^20"] = synthetic_million()
    for k, v in results["synthetic_2^20"].items():
        print(f"{k:<36} {v:>10.3f}" if isinstance(v, float) else f"{k:<36} {v:>10}")
    with tempfile.TemporaryDirectory() as folder:
        results["round"] = real_round(args.log_users, Path(folder))
    for k, v in results["round"].items():
        print(f"{k:<36} {v:>10.3f}" if isinstance(v, float) else f"{k:<36} {v:>10}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
