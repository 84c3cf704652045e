"""Proving benchmark of the core solvency circuit.

    python benches/bench_prove.py                      # W1 and W2, N = 2^12 … 2^16
    python benches/bench_prove.py --workload W1 --min-log 12 --max-log 14
    python benches/bench_prove.py --json results.json

Workloads (see ``stark_por.synthetic``):
  W1 — 22 assets, each user holds 1 to 22 (mean ≈ 3), balances log-uniform below 2^50;
  W2 — 220 assets, each user holds 1 to 22 (mean ≈ 4).

Each (workload, N) runs in a fresh process so that peak RSS is that run's own. Figures:
prove seconds (ledger already in memory), users per second, peak RSS, proof bytes, verify
milliseconds (median of 5), trace rows × columns, and trace cells per user.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time


def run_one(workload: str, log_n: int, security: str) -> dict:
    import stark_por
    from stark_por import synthetic

    n = 1 << log_n
    ledger = getattr(synthetic, workload)(n, seed=1)
    secret = b"benchmark-secret-0123456789abcdef"
    t0 = time.perf_counter()
    # version 1's single proof, the figures recorded so far (version 2 proves forests)
    proof = stark_por.prove(ledger, secret=secret, round_id=f"bench-{workload}-{n}", security=security, version=1)
    prove_s = time.perf_counter() - t0
    verify_ms = []
    for _ in range(5):
        t0 = time.perf_counter()
        stark_por.verify(proof.to_bytes())
        verify_ms.append((time.perf_counter() - t0) * 1e3)
    rows, cols = proof.trace_shape
    return {
        "workload": workload,
        "users": n,
        "assets": ledger.num_assets,
        "mean_held": ledger.num_entries / n,
        "security": security,
        "prove_s": prove_s,
        "users_per_s": n / prove_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "proof_bytes": len(proof),
        "verify_ms": statistics.median(verify_ms),
        "trace_rows": rows,
        "trace_cols": cols,
        "cells_per_user": rows * cols / n,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=["W1", "W2"], action="append")
    p.add_argument("--min-log", type=int, default=12)
    p.add_argument("--max-log", type=int, default=16)
    p.add_argument("--security", default="100", choices=["100", "128"])
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--one", nargs=2, metavar=("WORKLOAD", "LOG_N"), help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.security)))
        return

    print(f"# stark-por prove benchmark — {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, security {args.security}")
    header = (f"{'work':<4} {'users':>8} {'held':>5} {'prove s':>8} {'users/s':>8} {'RSS MiB':>8} "
              f"{'proof KB':>9} {'verify ms':>9} {'trace rows×cols':>17} {'cells/user':>10}")
    print(header)
    results = []
    for workload in args.workload or ["W1", "W2"]:
        for log_n in range(args.min_log, args.max_log + 1):
            out = subprocess.run(
                [sys.executable, __file__, "--one", workload, str(log_n), "--security", args.security],
                check=True, capture_output=True, text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"{r['workload']:<4} {r['users']:>8} {r['mean_held']:>5.2f} {r['prove_s']:>8.2f} "
                  f"{r['users_per_s']:>8.0f} {r['peak_rss_mib']:>8.0f} {r['proof_bytes'] / 1e3:>9.1f} "
                  f"{r['verify_ms']:>9.2f} {r['trace_rows']:>9}×{r['trace_cols']:<7} {r['cells_per_user']:>10.0f}",
                  flush=True)
    by = {(r["workload"], r["users"]): r for r in results}
    for (w, n), r in sorted(by.items()):
        if w == "W2" and ("W1", n) in by:
            ratio = r["prove_s"] / by[("W1", n)]["prove_s"]
            print(f"W2/W1 prove-time ratio at {n} users: {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
