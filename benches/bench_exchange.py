"""An exchange's ledger on statement version 2 beside W1 on version 1, end to end, one run.

    python benches/bench_exchange.py                        # N = 2^14 … 2^18, W3/v2 beside W1/v1
    python benches/bench_exchange.py --min-log 20 --max-log 20 --pair W3:2
    python benches/bench_exchange.py --pair W3:2 --pair W4:2 --pair W1:1 --pair W1:2

Each (workload, version, N) is one ``stark-por prove`` of the ledger CSV (streamed: placement,
forests or batches side by side on every core, assembly, the round verified, the summary and
the inclusion store written) in a fresh process: prove seconds are that process's wall time,
peak RSS its own (``wait4``). Then ``stark_por.verify`` of the round file is timed in a fresh
process (median of 5, after one warm-up read). The ledgers are written once per N and seed
(``stark_por.workloads.ledger_file``) before anything is timed.

Per row: users/s, µs per user, the round file's bytes, verify ms, and the fraction of trace
rows doing work (permutation rows of leaf blocks and nodes over all trace rows, from the
prover's ``working_rows`` event; version 1 does not report it). Pairs run in turn
for each N, so a drift of the machine's speed hits both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stark_por.workloads import ledger_file

VERIFY_SNIPPET = """
import json, statistics, sys, time
import stark_por
path = sys.argv[1]
stark_por.verify(path)
times = []
for _ in range(5):
    t = time.perf_counter(); stark_por.verify(path); times.append(time.perf_counter() - t)
print(json.dumps({"verify_ms": statistics.median(times) * 1e3}))
"""


def timed(cmd: list[str], log: Path) -> tuple[float, int, int]:
    """Runs ``cmd`` with stderr to ``log``: (wall seconds, peak RSS bytes, exit status)."""
    with open(log, "wb") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, proc.returncode


def events(log: Path) -> list[dict]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def run(workload: str, version: int, n: int, folder: Path, seed: int, workers: int) -> dict:
    ledger = ledger_file(workload, n, folder, seed=seed)
    out = folder / f"{workload.lower()}-v{version}-{n}.stpor"
    secret = folder / "secret.key"
    log = folder / f"{out.name}.log"
    cmd = [sys.executable, "-m", "stark_por.cli", "--log-format", "json", "prove", str(ledger),
           "-o", str(out), "--round-id", f"bench-{workload}-{n}", "--secret-file", str(secret),
           "--statement-version", str(version), "--workers", str(workers)]
    wall, rss, code = timed(cmd, log)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}); see {log}:\n{log.read_text()[-2000:]}")
    work = next((e for e in events(log) if e.get("event") == "working_rows"), {})
    used, total = work.get("used"), work.get("total")
    v = subprocess.run([sys.executable, "-c", VERIFY_SNIPPET, str(out)], check=True, capture_output=True, text=True)
    verify_ms = json.loads(v.stdout.splitlines()[-1])["verify_ms"]
    return {
        "workload": workload, "version": version, "users": n, "prove_s": wall, "users_per_s": n / wall,
        "us_per_user": wall / n * 1e6, "rss_mib": rss / 2**20, "file_kib": out.stat().st_size / 1024,
        "verify_ms": verify_ms, "working": None if not total else used / total,
    }


def fmt(r: dict) -> str:
    working = "n/a" if r["working"] is None else f"{100 * r['working']:.1f} %"
    return (f"| {r['workload']} | {r['version']} | {r['users']:,} | {r['prove_s']:.1f} | {r['users_per_s']:,.0f} "
            f"| {r['us_per_user']:,.0f} | {r['rss_mib']:,.0f} | {r['file_kib']:,.0f} | {r['verify_ms']:.0f} | {working} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--min-log", type=int, default=14)
    p.add_argument("--max-log", type=int, default=18)
    p.add_argument("--pair", action="append", metavar="WORKLOAD:VERSION",
                   help="what to run for each N (default W3:2 and W1:1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--keep", type=Path, metavar="DIR", help="ledgers and rounds here (reused), not in a temp folder")
    p.add_argument("--json", type=Path, help="also write every row here (JSON Lines)")
    args = p.parse_args()
    pairs = [(w.upper(), int(v)) for w, v in (x.split(":") for x in (args.pair or ["W3:2", "W1:1"]))]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="stark-por-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "secret.key"
    if not secret.exists():
        secret.write_bytes(b"bench-exchange-secret-0123456789")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.workers} workers, preset 100, seed {args.seed}, files in {folder}")
    print("| workload | version | users | prove s | users/s | µs/user | peak RSS MiB | round KiB | verify ms | working rows |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for log_n in range(args.min_log, args.max_log + 1):
        n = 1 << log_n
        for w, _ in pairs:  # every ledger on disk before the clock starts
            ledger_file(w, n, folder, seed=args.seed)
        rows = [run(w, v, n, folder, args.seed, args.workers) for w, v in pairs]
        for r in rows:
            print(fmt(r), flush=True)
            if args.json:
                with open(args.json, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
        if len(rows) > 1:
            base = rows[-1]
            for r in rows[:-1]:
                print(f"|   | {r['workload']}/v{r['version']} ÷ {base['workload']}/v{base['version']} per user: "
                      f"{r['us_per_user'] / base['us_per_user']:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
