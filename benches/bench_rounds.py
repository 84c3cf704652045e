"""Batched rounds against a single proof, on workload W1 (see ``stark_por.synthetic``).

    python benches/bench_rounds.py                         # N = 2^14, single vs batches of 2^12
    python benches/bench_rounds.py --log-n 17 --batch-log 12 13

Each run is a fresh process, so peak RSS is its own. Figures: prove seconds (ledger already
in memory), peak RSS, round-file bytes, verify seconds, and the round root (equal for every
batch size: the root is the Merkle root of all leaves either way).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def run_one(log_n: int, batch_log: int) -> dict:
    from stark_por import prove, verify
    from stark_por.synthetic import W1

    ledger = W1(2**log_n)
    batch = None if batch_log < 0 else 2**batch_log
    t = time.perf_counter()
    proof = prove(ledger, secret=b"bench-rounds-secret-0123", round_id="bench", batch_size=batch, version=1)
    prove_s = time.perf_counter() - t
    t = time.perf_counter()
    st = verify(proof.data)
    verify_s = time.perf_counter() - t
    return {
        "users": 2**log_n,
        "batch": batch,
        "prove_s": round(prove_s, 2),
        "verify_s": round(verify_s, 3),
        "file_bytes": len(proof.data),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "root": st.root,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--log-n", type=int, default=14)
    ap.add_argument("--batch-log", type=int, nargs="*", default=[12], help="batch sizes as log2 (a single proof always runs)")
    ap.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return
    print("| users | batch | prove s | peak RSS MiB | file KiB | verify s |")
    print("|---|---|---|---|---|---|")
    roots = set()
    for b in [-1, *args.batch_log]:
        out = subprocess.run([sys.executable, __file__, "--child", str(args.log_n), str(b)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.splitlines()[-1])
        roots.add(r["root"])
        batch = "single" if r["batch"] is None else f"2^{b}"
        print(f"| 2^{args.log_n} | {batch} | {r['prove_s']} | {r['peak_rss_mib']} | {r['file_bytes'] // 1024} | {r['verify_s']} |",
              flush=True)
    assert len(roots) == 1, "batched and single rounds must share the root"


if __name__ == "__main__":
    main()
