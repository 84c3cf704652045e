"""Threads inside a batch, or batches side by side? The measurement behind the round prover's choice.

    python benches/bench_split.py                   # batches of 2^13 and 2^14 leaves, W1
    python benches/bench_split.py --log-batch 12 13 14 15

For each batch size, the same `cores` batch jobs of a W1 round are proved
  (a) one after another, each on all cores (`prove_batch(job, threads=cores)`), and
  (b) side by side, one per core, each on one thread (what `prove_file` does).
Prints leaves per second for both. (b) is also the only deterministic way: on one thread the
grinding nonce search is sequential, so a batch's bytes do not depend on timing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SECRET = b"split-benchmark-secret-0123456789abc"


def jobs_for(log_batch: int, cores: int, folder: Path) -> list[bytes]:
    from stark_por import _native, synthetic
    from stark_por.stream import iter_ledger_chunks

    n = cores << log_batch
    csv = folder / f"w1-{n}.csv"
    synthetic.write_csv(synthetic.W1(n, seed=2), csv)
    spill_dir = folder / f"spill-{n}"
    spill = None
    for chunk in iter_ledger_chunks(csv):
        assets = [(a.name, a.decimals) for a in chunk.assets]
        spill = spill or _native.Spill(spill_dir, SECRET, "split", assets, 62)
        spill.append(list(chunk.user_ids), chunk.indptr, chunk.asset_index, chunk.amounts)
    spill.finish()
    placement = _native.Placement(spill_dir, SECRET, "split", assets, 62)
    return [placement.batch_job("100", log_batch, i) for i in range(cores)]


def main() -> None:
    from stark_por import _native

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log-batch", type=int, nargs="+", default=[13, 14])
    p.add_argument("--cores", type=int, default=os.cpu_count())
    args = p.parse_args()
    print(f"{args.cores} cores; W1; default security")
    print("| batch | one after another, all threads: leaves/s | side by side, 1 thread each: leaves/s |")
    print("|---|---|---|")
    for k in args.log_batch:
        with tempfile.TemporaryDirectory() as tmp:
            jobs = jobs_for(k, args.cores, Path(tmp))
            t0 = time.perf_counter()
            for job in jobs:
                _native.prove_batch(job, args.cores)
            sequential = time.perf_counter() - t0
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.cores) as pool:
                list(pool.map(_native.prove_batch, jobs))
            side_by_side = time.perf_counter() - t0
        leaves = args.cores << k
        print(f"| 2^{k} | {leaves / sequential:,.0f} | {leaves / side_by_side:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
