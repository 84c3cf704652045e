"""Scaling benchmark: W1 ledgers of N = 2^14 … 2^20 users proved end to end from a CSV file.

    python benches/scale.py                         # N = 2^14 … 2^20 (about 25 minutes on 2 cores)
    python benches/scale.py --min-log 14 --max-log 16 --no-readme
    python benches/scale.py --workers 1 --batch-log 13

Each N runs in a fresh process (so peak RSS is that run's own) exactly as `stark-por prove`
does: stream the CSV, place the users, prove the batches side by side, assemble and verify the
round, write the round file, summary and inclusion store. Measured per N: end-to-end seconds,
users per second, peak RSS, round-file bytes, inclusion-store bytes, and the seconds a verifier
takes for the whole round (`stark_por.verify`, fresh process, median of 3).

Writes `benches/scale.json`, the plot `benches/scale.png` (time and memory against N) and,
unless `--no-readme`, the table between the `scale` markers of `benches/README.md`. Ledger
generation is not timed; generated CSVs are cached in `--ledgers` (default /tmp/stark-por-scale).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET = b"scale-benchmark-secret-0123456789abcdef"

# OKX's published figures (their documentation, multi-core Arm desktop, 2024; see
# ../shared/ANCHORS.md): one aggregate USD value per user is range-checked, not each asset.
OKX = {
    "1M accounts end to end": "28 min (16 min batch proving)",
    "global verification": "3 min (32 GB RAM) to 30 min (8 GB RAM)",
}


def ledger_csv(cache: Path, n: int) -> Path:
    from stark_por import synthetic

    path = cache / f"w1-{n}.csv"
    if not path.is_file():
        synthetic.write_csv(synthetic.W1(n, seed=1), path)
    return path


def run_one(csv: str, out: str, workers: int, batch_log: int | None) -> dict:
    """One end-to-end run in this process; prints its figures as JSON."""
    import stark_por
    from stark_por.inclusion import store_path

    t0 = time.perf_counter()
    statement = stark_por.prove_file(
        csv, out, secret=SECRET, round_id="scale", workers=workers, version=1,  # W1's figures: version 1
        batch_size=None if batch_log is None else 1 << batch_log,
    )
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "round_bytes": os.path.getsize(out),
        "store_bytes": os.path.getsize(store_path(out)),
        "num_leaves": statement.num_leaves,
        "security_bits": statement.security_bits,
    }


def verify_seconds(out: str) -> float:
    code = "import sys,time,stark_por; t=time.perf_counter(); stark_por.verify(sys.argv[1]); print(time.perf_counter()-t)"
    times = []
    for _ in range(3):
        run = subprocess.run([sys.executable, "-c", code, out], capture_output=True, text=True, check=True)
        times.append(float(run.stdout))
    return statistics.median(times)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 2**20
    except (OSError, AttributeError):
        mem = float("nan")
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def table(rows: list[dict]) -> str:
    lines = [
        "| users | leaves | batches | end-to-end s | users/s | peak RSS MiB | round file KB | store MB | verify round ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['users']:,} | {r['num_leaves']:,} | {r['batches']} | {r['seconds']:.1f} | {r['users'] / r['seconds']:,.0f} "
            f"| {r['peak_rss_mib']:,.0f} | {r['round_bytes'] / 1e3:,.0f} | {r['store_bytes'] / 1e6:,.1f} | {r['verify_s'] * 1e3:,.1f} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users = [r["users"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot(users, [r["seconds"] / 60 for r in rows], "o-", color="tab:blue", label="end-to-end time")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("users (W1)")
    ax.set_ylabel("minutes", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(users, [r["peak_rss_mib"] / 1024 for r in rows], "s--", color="tab:red", label="peak RSS")
    ax2.set_ylabel("peak RSS (GiB)", color="tab:red")
    ax2.set_ylim(0, max(8, max(r["peak_rss_mib"] for r in rows) / 1024 * 1.2))
    ax.set_title("stark-por: streamed rounds, prove + store, 2-core machine")
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
    fig.tight_layout()
    fig.savefig(path)


def update_readme(text: str) -> None:
    readme = HERE / "README.md"
    body = readme.read_text()
    begin, end = "<!-- scale:begin -->", "<!-- scale:end -->"
    block = f"{begin}\n{text}\n{end}"
    if begin in body:
        body = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, body, flags=re.S)
    else:
        body = body.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(body)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--min-log", type=int, default=14)
    p.add_argument("--max-log", type=int, default=20)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--batch-log", type=int, help="batch size 2^k (default: the library's choice)")
    p.add_argument("--ledgers", default="/tmp/stark-por-scale", help="cache of generated ledgers")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite benches/README.md")
    p.add_argument("--one", nargs=2, metavar=("CSV", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.workers, args.batch_log)))
        return

    cache = Path(args.ledgers)
    cache.mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"machine: {machine()}", flush=True)
    for log_n in range(args.min_log, args.max_log + 1):
        n = 1 << log_n
        csv = ledger_csv(cache, n)
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "round.stpor")
            cmd = [sys.executable, __file__, "--one", str(csv), out, "--workers", str(args.workers)]
            if args.batch_log:
                cmd += ["--batch-log", str(args.batch_log)]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"N = 2^{log_n} failed:\n{run.stderr}")
            row = json.loads(run.stdout.strip().splitlines()[-1])
            row["verify_s"] = verify_seconds(out)
        from stark_por.rounds import choose_batch_log2

        k = args.batch_log or choose_batch_log2(row["num_leaves"], args.workers)
        row.update(users=n, batches=max(1, row["num_leaves"] >> k), workers=args.workers)
        rows.append(row)
        print(
            f"2^{log_n}: {row['seconds']:.1f} s, {n / row['seconds']:,.0f} users/s, "
            f"{row['peak_rss_mib']:,.0f} MiB, round {row['round_bytes']:,} B, verify {row['verify_s']:.2f} s",
            flush=True,
        )

    (HERE / "scale.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")
    plot(rows, HERE / "scale.png")
    text = (
        f"### Scale (`python benches/scale.py`, {time.strftime('%Y-%m-%d')})\n\n"
        f"Machine: {machine()}. W1 ledgers streamed from CSV, default security (103 bits), "
        f"{args.workers} batches side by side, each on one thread. End to end = read, place, prove, "
        "assemble + verify, write round file, summary and inclusion store.\n\n"
        f"{table(rows)}\n\n![time and memory against N](scale.png)\n\n"
        "Beside OKX's published figures (multi-core Arm desktop, one aggregate value per user range-checked, "
        f"not each asset): 1M accounts end to end {OKX['1M accounts end to end']}; "
        f"global verification {OKX['global verification']}."
    )
    print("\n" + text)
    if not args.no_readme:
        update_readme(text)


if __name__ == "__main__":
    main()
