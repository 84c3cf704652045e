"""The synthetic workloads side by side: what W1's log-uniform balances look like beside an
exchange's (W3: 22 real assets at native decimals, W4: 220 assets), N = 2^14 … 2^20.

    python benches/workloads.py                          # W1, W3, W4; N = 2^14 … 2^20 (a few minutes)
    python benches/workloads.py --workload W3 --max-log 16 --format csv
    python benches/workloads.py --summary 10000          # per-asset totals of W1 and W3, 10,000 users

Per (workload, N): entries per user, amounts >= 2^62 (refused by circuit version 1) and >= 2^64
(beyond a uint64), the largest amount's bits, the total USD value (W1 at the reference prices),
seconds to draw, seconds to write and bytes of the CSV and Parquet ledgers. Files go to a
temporary folder (``--keep DIR`` keeps them there).

Proving (W3 against W1) comes with circuit version 2: :func:`ledger_path` is the hook, it
returns the ledger file of a workload and N for ``stark_por.prove_file``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from stark_por.workloads import WORKLOADS, ledger_file, summarize, workload, write_workload


def ledger_path(name: str, n: int, folder: Path, fmt: str = "csv", seed: int = 1) -> Path:
    """The proving hook: the ledger file (with ``assets.csv`` beside it) of workload ``name``
    and ``n`` users, written once under ``folder``. Prove it with
    ``stark_por.prove_file(path, out, secret=..., round_id=...)``."""
    return ledger_file(name, n, folder, fmt=fmt, seed=seed)


def measure(name: str, n: int, folder: Path, formats: list[str], seed: int) -> dict:
    t0 = time.perf_counter()
    w = workload(name, n, seed=seed)
    draw_s = time.perf_counter() - t0
    s = summarize(w, name)
    row = {"workload": name, "users": n, "per_user": s.entries_per_user, "ge62": s.at_least_2_62,
           "ge64": s.at_least_2_64, "bits": s.max_amount_bits, "usd": s.usd, "draw_s": draw_s}
    sub = folder / f"{name.lower()}-{n}"
    for fmt in formats:
        t0 = time.perf_counter()
        path = write_workload(w, sub, (fmt,))[fmt]
        row[f"{fmt}_s"] = time.perf_counter() - t0
        row[f"{fmt}_mb"] = os.path.getsize(path) / 1e6
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=WORKLOADS, action="append")
    p.add_argument("--min-log", type=int, default=14)
    p.add_argument("--max-log", type=int, default=20)
    p.add_argument("--format", choices=["csv", "parquet"], action="append")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--summary", type=int, metavar="N", help="print per-asset totals of W1 and W3 for N users and stop")
    p.add_argument("--keep", type=Path, metavar="DIR", help="write the ledgers here and keep them")
    args = p.parse_args()

    if args.summary:
        for name in args.workload or ["W1", "W3"]:
            print(summarize(workload(name, args.summary, seed=args.seed), name).format(), end="\n\n")
        return

    formats = args.format or ["csv", "parquet"]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="stark-por-workloads-"))
    print(f"# synthetic workloads — {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, seed {args.seed}, files in {folder}")
    cols = "".join(f" {f + ' s':>9} {f + ' MB':>10}" for f in formats)
    print(f"{'work':<4} {'users':>9} {'held':>5} {'>=2^62':>9} {'>=2^64':>9} {'bits':>4} "
          f"{'total USD':>26} {'draw s':>7}{cols}")
    try:
        for name in args.workload or ["W1", "W3", "W4"]:
            for log_n in range(args.min_log, args.max_log + 1):
                r = measure(name, 1 << log_n, folder, formats, args.seed)
                usd = "n/a" if r["usd"] is None else f"{r['usd']:,.0f}"
                cells = "".join(f" {r[f + '_s']:>9.2f} {r[f + '_mb']:>10.1f}" for f in formats)
                print(f"{name:<4} {r['users']:>9,} {r['per_user']:>5.2f} {r['ge62']:>9,} {r['ge64']:>9,} "
                      f"{r['bits']:>4} {usd:>26} {r['draw_s']:>7.2f}{cells}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
