"""What margin (statement version 3) costs: W3 on version 2, the same W3 on version 3 without
borrowers, and W3 with 10 % borrowers on version 3, side by side in one run.

    python benches/bench_margin.py                         # N = 2^14 … 2^16
    python benches/bench_margin.py --min-log 20 --max-log 20
    python benches/bench_margin.py --min-log 14 --max-log 14 --borrowers 0.1

Issue 11's targets, per user: W3 on version 3 without debt ≤ 1.1× W3 on version 2, and W3 with
10 % borrowers ≤ 1.2×. The three ledgers hold the same users and the same holdings (the
borrowers' debts come from their own seed, see ``stark_por.workloads.borrowers``); the
version-3 rounds are proved with the workload's ``margin_prices.csv`` (``--prices``).

Each row is one ``stark-por prove`` of the ledger CSV in a fresh process, end to end, then
``stark_por.verify`` of the round file in another (median of 5), exactly as
``bench_exchange.py`` measures (its helpers are used). The three rows of one N run one after
the other, so a drift of the machine's speed hits each alike; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_exchange import VERIFY_SNIPPET, events, timed  # noqa: E402

from stark_por.workloads import ledger_file  # noqa: E402

CASES = (  # (label, borrowers, statement version)
    ("W3 v2", 0.0, 2),
    ("W3 v3, no borrowers", 0.0, 3),
    ("W3 v3, {pct} borrowers", None, 3),
)


def run(label: str, borrowers: float, version: int, n: int, folder: Path, seed: int, workers: int) -> dict:
    ledger = ledger_file("W3", n, folder, seed=seed, borrowers=borrowers)
    out = folder / f"w3-v{version}-b{borrowers:g}-{n}.stpor"
    log = folder / f"{out.name}.log"
    cmd = [sys.executable, "-m", "stark_por.cli", "--log-format", "json", "prove", str(ledger),
           "-o", str(out), "--round-id", f"bench-margin-{n}", "--secret-file", str(folder / "secret.key"),
           "--workers", str(workers)]
    if version == 3:
        cmd += ["--prices", str(ledger.parent / "margin_prices.csv")]
    else:
        cmd += ["--statement-version", str(version)]
    wall, rss, code = timed(cmd, log)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}); see {log}:\n{log.read_text()[-2000:]}")
    work = next((e for e in events(log) if e.get("event") == "working_rows"), {})
    used, total = work.get("used"), work.get("total")
    v = subprocess.run([sys.executable, "-c", VERIFY_SNIPPET, str(out)], check=True, capture_output=True, text=True)
    return {
        "case": label, "borrowers": borrowers, "version": version, "users": n, "prove_s": wall,
        "users_per_s": n / wall, "us_per_user": wall / n * 1e6, "rss_mib": rss / 2**20,
        "file_kib": out.stat().st_size / 1024, "verify_ms": json.loads(v.stdout.splitlines()[-1])["verify_ms"],
        "working": None if not total else used / total,
    }


def fmt(r: dict, base: dict) -> str:
    working = "n/a" if r["working"] is None else f"{100 * r['working']:.1f} %"
    return (f"| {r['case']} | {r['users']:,} | {r['prove_s']:.1f} | {r['users_per_s']:,.0f} | {r['us_per_user']:,.0f} "
            f"| {r['us_per_user'] / base['us_per_user']:.2f}× | {r['rss_mib']:,.0f} | {r['file_kib']:,.0f} "
            f"| {r['verify_ms']:.0f} | {working} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--min-log", type=int, default=14)
    p.add_argument("--max-log", type=int, default=16)
    p.add_argument("--borrowers", type=float, default=0.1, help="fraction of users with debt in the third case")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--keep", type=Path, metavar="DIR", help="ledgers and rounds here (reused), not in a temp folder")
    p.add_argument("--json", type=Path, help="also write every row here (JSON Lines)")
    args = p.parse_args()
    if not 0 < args.borrowers <= 1:
        raise SystemExit("--borrowers must be in (0, 1]")
    cases = [(label.format(pct=f"{args.borrowers:.0%}"), args.borrowers if b is None else b, v) for label, b, v in CASES]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="stark-por-bench-margin-"))
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "secret.key"
    if not secret.exists():
        secret.write_bytes(b"bench-margin-secret-0123456789ab")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.workers} workers, preset 100, seed {args.seed}, files in {folder}")
    print("| case | users | prove s | users/s | µs/user | per user ÷ W3 v2 | peak RSS MiB | round KiB | verify ms "
          "| working rows |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for log_n in range(args.min_log, args.max_log + 1):
        n = 1 << log_n
        for _, b, _ in cases:  # every ledger on disk before the clock starts
            ledger_file("W3", n, folder, seed=args.seed, borrowers=b)
        rows = [run(label, b, v, n, folder, args.seed, args.workers) for label, b, v in cases]
        for r in rows:
            print(fmt(r, rows[0]), flush=True)
            if args.json:
                with open(args.json, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
        print(f"|   | targets (issue 11): no borrowers ≤ 1.10× (measured {rows[1]['us_per_user'] / rows[0]['us_per_user']:.2f}×), "
              f"{cases[2][1]:.0%} borrowers ≤ 1.20× (measured {rows[2]['us_per_user'] / rows[0]['us_per_user']:.2f}×) |",
              flush=True)


if __name__ == "__main__":
    main()
