"""What committed batch totals cost (issue 12): the same W3 ledger proved as format 2 (each
forest's totals public) and as format 4 (hiding commitments and one aggregation proof), side
by side in one run; with ``--margin``, W3 with borrowers as format 3 beside format 5.

    python benches/bench_committed.py                       # N = 2^14 … 2^16
    python benches/bench_committed.py --min-log 20 --max-log 20
    python benches/bench_committed.py --margin --borrowers 0.1

Each row is one ``stark-por prove`` of the ledger CSV in a fresh process, end to end, then
``stark_por.verify`` of the round file in another (median of 5), as ``bench_exchange.py``
measures (its helpers are used): prove seconds are the process's wall time, peak RSS its own.
Format 2 (3) is selected with ``--public-batch-totals``, format 4 (5) is the default; the
verified ``Statement.format_version`` of every round is checked against the one asked for.

The aggregation's share of a format-4 round is read from the prover's JSON log: the seconds
of a step whose label names the aggregation, if the CLI logs one; otherwise the difference
between the two formats' "assembling and verifying the round" steps (the aggregation is
proved, and the round verified, there); otherwise the difference of the whole runs. The
``how`` column says which. The rows of one N run one after the other, so a drift of the
machine's speed hits both alike; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_exchange import events, timed  # noqa: E402

from stark_por.workloads import ledger_file  # noqa: E402

# verify 5 times after a warm-up read; report the median and the format the round has
VERIFY_SNIPPET = """
import json, statistics, sys, time
import stark_por
path = sys.argv[1]
s = stark_por.verify(path)
times = []
for _ in range(5):
    t = time.perf_counter(); stark_por.verify(path); times.append(time.perf_counter() - t)
print(json.dumps({"verify_ms": statistics.median(times) * 1e3,
                  "format_version": getattr(s, "format_version", None),
                  "committed": getattr(s, "committed", None)}))
"""

ASSEMBLE = "assembling and verifying the round"


def step_seconds(log: Path) -> dict[str, float]:
    """Seconds of every finished step and progress bar in a JSON log, by label (summed if a
    label repeats, as a resumed run's would)."""
    out: dict[str, float] = {}
    for e in events(log):
        if e.get("event") in ("step_end", "progress_end") and "seconds" in e:
            out[e["label"]] = out.get(e["label"], 0.0) + float(e["seconds"])
    return out


def run(fmt: int, borrowers: float, n: int, folder: Path, seed: int, workers: int) -> dict:
    ledger = ledger_file("W3", n, folder, seed=seed, borrowers=borrowers)
    out = folder / f"w3-f{fmt}-b{borrowers:g}-{n}.stpor"
    log = folder / f"{out.name}.log"
    # a kept folder: time a fresh run, never the resume of an interrupted one
    shutil.rmtree(out.with_name(out.name + ".work"), ignore_errors=True)
    for old in (out, log):
        old.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "stark_por.cli", "--log-format", "json", "prove", str(ledger),
           "-o", str(out), "--round-id", f"bench-committed-{n}", "--secret-file", str(folder / "secret.key"),
           "--workers", str(workers)]
    if fmt in (3, 5):
        cmd += ["--prices", str(ledger.parent / "margin_prices.csv")]
    if fmt in (2, 3):
        cmd += ["--public-batch-totals"]
    wall, rss, code = timed(cmd, log)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}); see {log}:\n{log.read_text()[-2000:]}")
    v = subprocess.run([sys.executable, "-c", VERIFY_SNIPPET, str(out)], check=True, capture_output=True, text=True)
    verified = json.loads(v.stdout.splitlines()[-1])
    if verified["format_version"] is None:
        raise SystemExit("stark_por.verify returned a Statement without format_version: this stark_por predates "
                         "formats 4 and 5")
    if verified["format_version"] != fmt:
        raise SystemExit(f"asked for format {fmt}, {out} is format {verified['format_version']}: {' '.join(cmd)}")
    return {
        "format": fmt, "borrowers": borrowers, "users": n, "prove_s": wall, "us_per_user": wall / n * 1e6,
        "rss_mib": rss / 2**20, "file_kib": out.stat().st_size / 1024, "verify_ms": verified["verify_ms"],
        "steps": step_seconds(log),
    }


def aggregation_share(committed: dict, public: dict) -> tuple[Optional[float], str]:
    """Seconds the aggregation takes in the committed round, and how they were found."""
    named = [s for label, s in committed["steps"].items() if "aggregat" in label.lower()]
    if named:
        return sum(named), "logged step"
    if ASSEMBLE in committed["steps"] and ASSEMBLE in public["steps"]:
        return committed["steps"][ASSEMBLE] - public["steps"][ASSEMBLE], "Δ assembling step"
    return committed["prove_s"] - public["prove_s"], "Δ whole run"


def fmt_row(r: dict, agg: Optional[tuple[Optional[float], str]]) -> str:
    if agg is None:
        share = "| – | – | – "
    else:
        seconds, how = agg
        share = f"| {seconds:.1f} | {100 * seconds / r['prove_s']:.1f} % | {how} "
    return (f"| {r['format']} | {r['users']:,} | {r['prove_s']:.1f} | {r['us_per_user']:,.0f} | {r['rss_mib']:,.0f} "
            f"| {r['file_kib']:,.0f} | {r['verify_ms']:.0f} {share}|")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--min-log", type=int, default=14)
    p.add_argument("--max-log", type=int, default=16)
    p.add_argument("--margin", action="store_true", help="W3 with borrowers, formats 3 and 5 (with --prices)")
    p.add_argument("--borrowers", type=float, default=0.1, help="with --margin: the fraction of users with debt")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--keep", type=Path, metavar="DIR", help="ledgers and rounds here (ledgers reused), not in a temp folder")
    p.add_argument("--json", type=Path, help="also write every row here (JSON Lines)")
    args = p.parse_args()
    if args.min_log > args.max_log:
        raise SystemExit("--min-log is above --max-log")
    if args.margin and not 0 < args.borrowers <= 1:
        raise SystemExit("--borrowers must be in (0, 1]")
    borrowers = args.borrowers if args.margin else 0.0
    public, committed = (3, 5) if args.margin else (2, 4)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="stark-por-bench-committed-"))
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "secret.key"
    if not secret.exists():
        secret.write_bytes(b"bench-committed-secret-0123456789")
    what = f"W3 with {borrowers:.0%} borrowers" if args.margin else "W3"
    print(f"# {what}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.workers} workers, preset 100, seed {args.seed}, files in {folder}")
    print("| format | users | prove s | µs/user | peak RSS MiB | round KiB | verify ms | aggregation s "
          "| aggregation share | how |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for log_n in range(args.min_log, args.max_log + 1):
        n = 1 << log_n
        ledger_file("W3", n, folder, seed=args.seed, borrowers=borrowers)  # on disk before the clock starts
        rows = [run(f, borrowers, n, folder, args.seed, args.workers) for f in (public, committed)]
        agg = aggregation_share(rows[1], rows[0])
        print(fmt_row(rows[0], None), flush=True)
        print(fmt_row(rows[1], agg), flush=True)
        base, new = rows
        print(f"|   | format {committed} ÷ format {public}: prove {new['prove_s'] / base['prove_s']:.2f}×, "
              f"round bytes {new['file_kib'] / base['file_kib']:.2f}×, verify {new['verify_ms'] / base['verify_ms']:.2f}× |",
              flush=True)
        labels = [label for label in base["steps"] if label in new["steps"]]
        if labels:
            steps = ", ".join(f"{label} {base['steps'][label]:.1f} → {new['steps'][label]:.1f} s" for label in labels)
            print(f"|   | steps (format {public} → {committed}): {steps} |", flush=True)
        if args.json:
            with open(args.json, "a") as fh:
                for r in rows:
                    extra = {"aggregation_s": agg[0], "aggregation_how": agg[1]} if r is new else {}
                    fh.write(json.dumps({**r, **extra}) + "\n")


if __name__ == "__main__":
    main()
