"""Writes the fuzzers' seed corpora from real files made by this checkout (nothing large is
committed): round files of both kinds, batch jobs and results, forest jobs and results (versions 2
and 3), version-3 (margin) rounds, the spill work folders' layouts and bucket files (all three
statement versions, version 3 with its prices.bin), inclusion proofs, CSV and Parquet ledgers, an
assets file, a reserves file (CSV and JSON) with signed wallets, and the verified statement the
Python targets check against.

    python fuzz/seeds.py [--python-only] [OUT]          # default OUT: fuzz/corpus

Each target gets ``OUT/<target>/``; the Python targets' fixed context is ``OUT/context/``: the
committed single-proof round of ``tests/fixtures/rounds/v1`` and an assets file. The Rust
targets' seeds take about a minute (four version-1, three version-2 and two version-3 rounds are
proved); ``--python-only`` writes the Python targets' seeds alone, in a few seconds, without proving
anything.
"""

from __future__ import annotations

import shutil
import struct
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import stark_por  # noqa: E402
from stark_por import Asset, Ledger, _native  # noqa: E402
from stark_por.inclusion import export, store_path  # noqa: E402
from stark_por.synthetic import write_csv  # noqa: E402

SECRET = b"stark-por fuzzing seeds, public on purpose"
ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6))
EXCHANGE = "Fuzz Exchange"


def ledger(n: int) -> Ledger:
    rows = [((i * 7_919) % 250_000_000 if i % 3 else 0, (i * 31_337 * 10**9) if i % 2 else 0, i % 5) for i in range(n)]
    rows[0] = (2**62 - 1, 1, 10**6)
    return Ledger.from_arrays([f"user-{i:03d}" for i in range(n)], ASSETS, np.array(rows, dtype=np.uint64))


def wide_ledger(n: int) -> Ledger:
    """Amounts over version 2's whole range: dust, 5 ETH, around 2^64, just below 2^112."""
    special = [1, 5 * 10**18, 2**64 - 1, 2**64 + 1, 2**112 - 1]
    ids, indptr, asset_index, amounts = [], [0], [], []
    for i in range(n):
        for k in range(len(ASSETS)):
            if (i + k) % 2:
                asset_index.append(k)
                amounts.append(special[(3 * i + k) % len(special)])
        ids.append(f"user-{i:03d}")
        indptr.append(len(amounts))
    return Ledger.from_entries(ids, ASSETS, indptr, asset_index, amounts, max_bits=112)


def put(out: Path, target: str, name: str, data: bytes) -> None:
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


FIXTURES = HERE.parent / "tests" / "fixtures"
CONTEXT_ROUND = FIXTURES / "rounds" / "v1" / "single-100.stpor"


def main(out: Path, python_only: bool) -> None:
    if out.exists():
        shutil.rmtree(out)
    ctx = out / "context"
    ctx.mkdir(parents=True)
    shutil.copy(CONTEXT_ROUND, ctx / "round.stpor")
    shutil.copy(CONTEXT_ROUND.with_name(CONTEXT_ROUND.name + ".json"), ctx / "round.stpor.json")
    work = Path(tempfile.mkdtemp(prefix="stark-por-seeds-"))
    try:
        reserves(out, stark_por.verify(ctx / "round.stpor"), work)
        ledgers(out, work)
        fixture_inclusions(out)
        if not python_only:
            rounds(out, work)
            rounds_v2(out, work)
            streamed(out, work)
            streamed_v2(out, work)
            streamed_v3(out, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for d in sorted(out.iterdir()):
        print(f"{d.name:<16} {len(list(d.iterdir())):>3} files")


def fixture_inclusions(out: Path) -> None:
    for f in sorted(FIXTURES.glob("rounds/*/*.user-*.json")):
        put(out, "inclusion_json", f"fixture-{f.parent.name}-{f.name}", f.read_bytes())
    for f in sorted(FIXTURES.glob("rounds/*/*.stpor.json")):
        put(out, "summary_json", f"fixture-{f.parent.name}-{f.name}", f.read_bytes())
    # statement version 3 (margin): the vectors' proofs of borrowers and their summaries
    import json

    from stark_por.verifiers import pyverify

    vectors = json.loads((FIXTURES.parent / "vectors" / "inclusion_v3.json").read_text())
    for k, c in enumerate(vectors["checks"]):
        p = c["proof"]
        proof = pyverify.InclusionProof(
            version=p["version"], round_id=p["round_id"], user_id=p["user_id"], salt=bytes.fromhex(p["salt"]),
            entries=tuple(pyverify.Entry(a, i, d, int(m), pyverify.KINDS[kind]) for a, i, d, kind, m in p["entries"]),
            leaf_index=p["leaf_index"], num_leaves=p["num_leaves"], leaf=bytes.fromhex(p["leaf"]),
            root=bytes.fromhex(p["root"]), path=tuple(bytes.fromhex(x) for x in p["path"]))
        put(out, "inclusion_json", f"vector-v3-{k}.json", proof.to_json().encode())
        put(out, "summary_json", f"vector-v3-{k}.stpor.json", json.dumps(c["summary"]).encode())


def rounds(out: Path, work: Path) -> None:
    """Round files of both kinds and presets, and the inclusion proofs of their users."""
    for name, users, security, batch in [("single-100", 5, "100", None), ("single-128", 3, "128", None),
                                         ("round-100", 5, "100", 2), ("round-128", 3, "128", 2)]:
        proof = stark_por.prove(ledger(users), secret=SECRET, round_id=f"fuzz-{name}", security=security,
                                batch_size=batch, version=1)  # the version-1 file targets
        path = work / f"{name}.stpor"
        proof.save(path)
        kind = "proof_round" if batch else "proof_single"
        put(out, kind, name, path.read_bytes())
        for uid in ("user-000", "user-001", "user-002"):
            if uid in _users(store_path(path)):
                put(out, "inclusion_json", f"{name}.{uid}.json", export(store_path(path), uid).to_json().encode())
    for f in sorted(FIXTURES.glob("rounds/*/*.stpor")):  # the committed rounds of earlier releases
        kind = "proof_round" if f.name.startswith("batched") else "proof_single"
        put(out, kind, f"fixture-{f.parent.name}-{f.name}", f.read_bytes())


def ledger_v2(users) -> Ledger:
    """Users as lists of (asset index, amount), amounts exact Python ints up to 2**112 - 1."""
    flat = [x for u in users for x in u]
    return Ledger.from_entries([f"user-{i:03d}" for i in range(len(users))], ASSETS,
                               np.cumsum([0] + [len(u) for u in users]).astype(np.uint64),
                               np.array([a for a, _ in flat], dtype=np.uint32),
                               np.array([v for _, v in flat], dtype=object))


def rounds_v2(out: Path, work: Path) -> None:
    """Version-2 round files: a whole tree of whales (ETH at 18 decimals, up to 2**112 - 1) at both
    presets, and a round of 5,000 users that 2**14-row traces cut into two forests; their users'
    inclusion proofs; and the version-1 rounds, whose header the target rewrites to version 2."""
    eth = 10**18
    whales = ledger_v2([[(0, 50_000_000), (1, 3_200_000_000_000_000_000)], [(1, 250_000 * eth), (2, 10**12)],
                        [(0, 1), (1, 1), (2, 1)], [(1, 5 << 62)], [(1, 2**112 - 1)]])  # dust, x0 = 0, the bound
    many = ledger_v2([[(i % 3, 1 + i * 977 * eth)] for i in range(5000)])
    for name, led, security in [("v2-100", whales, "100"), ("v2-128", whales, "128"), ("v2-forests", many, "100")]:
        proof = stark_por.prove(led, secret=SECRET, round_id=f"fuzz-{name}", security=security, version=2,
                                trace_log2=14)
        path = work / f"{name}.stpor"
        proof.save(path)
        put(out, "round_v2", name, path.read_bytes())
        for uid in ("user-000", "user-001", "user-003"):
            put(out, "inclusion_json", f"{name}.{uid}.json", export(store_path(path), uid).to_json().encode())
    for f in sorted(FIXTURES.glob("rounds/*/*.stpor")):
        put(out, "round_v2", f"fixture-{f.parent.name}-{f.name}", f.read_bytes())


def _users(store: Path) -> set:
    from stark_por.inclusion import InclusionStore

    with InclusionStore(store) as st:
        return set(st.user_ids())


def reserves(out: Path, statement, work: Path) -> None:
    from stark_por.reserves import Reserves, Wallet, demo_wallets

    wallets = demo_wallets(statement, EXCHANGE, seed=1)
    wallets.append(Wallet("BTC", "bitcoin", wallets[0].address, Decimal("0.5"), time="2026-11-30T00:00:00Z",
                          signature=wallets[0].signature, message="not the challenge", label="odd one"))
    res = Reserves(tuple(wallets), exchange=EXCHANGE, round_id=statement.round_id)
    for suffix in (".json", ".csv"):
        p = res.save(work / f"reserves{suffix}")
        put(out, "reserves_file", f"reserves{suffix}", p.read_bytes())
    # one wallet per seed for the signature target: chain, address, signature, message lines
    for i, w in enumerate(wallets):
        fields = [w.chain, w.address, w.signature or "", w.message or ""]
        put(out, "signature", f"wallet-{i}", "\n".join(fields).encode())


def streamed(out: Path, work: Path) -> None:
    """A round proved from a file with its work folder kept: batch jobs and results, the spill
    layout and buckets."""
    led = ledger(5)
    csv_path = work / "streamed.csv"
    write_csv(led, csv_path)
    output = work / "streamed.stpor"
    stark_por.prove_file(csv_path, output, secret=SECRET, round_id="fuzz-streamed", version=1, batch_size=2,
                         keep_work=True, assets=list(ASSETS))
    folder = Path(str(output) + ".work")
    spill = folder / "spill"
    assets = [(a.name, a.decimals) for a in ASSETS]
    placement = _native.Placement(spill, SECRET, "fuzz-streamed", assets, 62)
    layout = _native.spill_layout(spill)
    count = layout["num_leaves"] // 2
    for i in range(count):
        job = placement.batch_job("100", 1, i)
        put(out, "batch_job", f"job-{i}", job)
        result = (folder / "batches" / f"batch-{i:06d}.bin").read_bytes()
        assert _native.batch_answers(job, result)
        put(out, "batch_result", f"result-{i}", struct.pack("<BHB", len(ASSETS), 2, count) + result)
    put(out, "spill_layout", "layout.bin", (spill / "layout.bin").read_bytes())
    # every bucket of the round, in order, as one sorted bucket (what spill_bucket feeds in)
    whole = b"".join((spill / f"bucket-{b:03d}.bin").read_bytes() for b in range(_native.SPILL_BUCKETS))
    put(out, "spill_bucket", "all-buckets", bytes([layout["num_users"] - 1]) + whole)
    put(out, "spill_bucket", "one-user", bytes([0]) + (spill / f"bucket-{_first_nonempty(spill):03d}.bin").read_bytes())


def streamed_v2(out: Path, work: Path) -> None:
    """A version-2 round proved from a file with its work folder kept: forest jobs and results
    (amounts up to 2^112), the layout and buckets."""
    led = wide_ledger(40)
    csv_path = work / "streamed-v2.csv"
    write_csv(led, csv_path)
    output = work / "streamed-v2.stpor"
    stark_por.prove_file(csv_path, output, secret=SECRET, round_id="fuzz-streamed-v2", trace_log2=14,
                         keep_work=True, assets=list(ASSETS))
    folder = Path(str(output) + ".work")
    spill = folder / "spill"
    assets = [(a.name, a.decimals) for a in ASSETS]
    placement = _native.Placement(spill, SECRET, "fuzz-streamed-v2", assets, 112)
    layout = _native.spill_layout(spill)
    for i in range(len(placement.forest_plan("100", 14))):
        job = placement.forest_job("100", 14, i)
        put(out, "forest_job", f"job-{i}", job)
        result = (folder / "forests" / f"forest-{i:06d}.bin").read_bytes()
        assert _native.forest_answers(job, result)
        put(out, "forest_result", f"result-{i}", result)
    put(out, "spill_layout", "layout-v2.bin", (spill / "layout.bin").read_bytes())
    whole = b"".join((spill / f"bucket-{b:03d}.bin").read_bytes() for b in range(_native.SPILL_BUCKETS))
    put(out, "spill_bucket_v2", "all-buckets", bytes([layout["num_users"] - 1]) + whole)
    put(out, "spill_bucket_v2", "one-user",
        bytes([0]) + (spill / f"bucket-{_first_nonempty(spill):03d}.bin").read_bytes())


# statement version 3: the prices `fuzz/src/lib.rs` opens version-3 placements with (USDT unpriced)
PRICES_V3 = [("97000.5", "0.05"), ("3500.123456789012345678", "0.1"), None]


def arrays_v3(n: int):
    """A ledger of equity, borrowers (1 BTC against 1 ETH, 0.5 BTC against 3 ETH) and a whale
    borrowing 2**110 satoshi against 2**111 and 2**112 - 1 USDT, as the binding's arrays."""
    users = []
    for u in range(n):
        if u % 7 == 3:
            users.append([(0, 0, 10**8), (1, 1, 10**18)])
        elif u % 7 == 5:
            users.append([(0, 0, 5 * 10**7), (1, 1, 3 * 10**18), (2, 0, 7)])
        elif u == 8:
            users.append([(0, 0, 2**111), (0, 1, 2**110), (2, 0, 2**112 - 1)])
        else:
            users.append([(a, 0, (u + 1) * 10 ** (a + 5)) for a in range(len(ASSETS)) if (u + a) % 3])
    flat = [e for entries in users for e in entries]
    return ([f"user-{u:03d}" for u in range(n)], np.cumsum([0] + [len(x) for x in users]).astype(np.uint64),
            np.array([a for a, _, _ in flat], dtype=np.uint32),
            np.array([x & (2**64 - 1) for _, _, x in flat], dtype=np.uint64),
            np.array([x >> 64 for _, _, x in flat], dtype=np.uint64), np.array([k for _, k, _ in flat], dtype=np.uint8))


def streamed_v3(out: Path, work: Path) -> None:
    """A version-3 round (margin) placed and proved forest by forest through the binding: its forest
    jobs and results (STPRFJB3/STPRFRS3), the layout (STPRLAY3), buckets with prices.bin, and the
    round file of format version 3; and the same ledger proved in memory at the 128-bit preset."""
    ids, indptr, ai, lo, hi, kinds = arrays_v3(40)
    assets = [(a.name, a.decimals) for a in ASSETS]
    spill = work / "spill-v3"
    placing = _native.Spill(spill, SECRET, "fuzz-streamed-v3", assets, 112, 3, prices=PRICES_V3)
    placing.append_wide(ids, indptr, ai, lo, hi, kinds=kinds)
    placing.finish()
    placement = _native.Placement(spill, SECRET, "fuzz-streamed-v3", assets, 112, prices=PRICES_V3)
    layout = _native.spill_layout(spill)
    results = []
    for i in range(len(placement.forest_plan("100", 14))):
        job = placement.forest_job("100", 14, i)
        put(out, "forest_job", f"job-v3-{i}", job)
        result = _native.prove_forest(job)
        assert _native.forest_answers(job, result)
        put(out, "forest_result", f"result-v3-{i}", result)
        results.append(work / f"forest-v3-{i}.bin")
        results[-1].write_bytes(result)
    put(out, "round_v3", "v3-streamed-100", placement.assemble_forests("100", 14, results)["file"])
    in_memory = _native.prove_v2(ids, assets, indptr, ai, lo, hi, 112, SECRET, "fuzz-v3-128", "128", 14,
                                 kinds=kinds, prices=PRICES_V3)
    put(out, "round_v3", "v3-128", in_memory["file"])
    put(out, "spill_layout", "layout-v3.bin", (spill / "layout.bin").read_bytes())
    prices = (spill / "prices.bin").read_bytes()
    head = bytes([layout["num_users"] - 1, len(prices)]) + prices
    whole = b"".join((spill / f"bucket-{b:03d}.bin").read_bytes() for b in range(_native.SPILL_BUCKETS))
    put(out, "spill_bucket_v3", "all-buckets", head + whole)
    put(out, "spill_bucket_v3", "one-user",
        bytes([0, len(prices)]) + prices + (spill / f"bucket-{_first_nonempty(spill):03d}.bin").read_bytes())


def _first_nonempty(spill: Path) -> int:
    return next(b for b in range(_native.SPILL_BUCKETS) if (spill / f"bucket-{b:03d}.bin").stat().st_size)


def ledgers(out: Path, work: Path) -> None:
    """CSV and Parquet ledgers (string, integer and decimal columns; uncompressed, so that
    mutations reach the values), and assets files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    led = ledger(6)
    write_csv(led, work / "ledger.csv")
    csv_text = (work / "ledger.csv").read_bytes()
    put(out, "ledger_csv", "synthetic.csv", csv_text)
    put(out, "ledger_csv", "crlf-bom.csv", b"\xef\xbb\xbf" + csv_text.replace(b"\n", b"\r\n"))
    put(out, "ledger_csv", "quoted.csv", b'user_id,ETH,BTC\n"a,b",1.5,\n" c ",,0.00000001\n')
    for f in sorted((FIXTURES / "ledgers").glob("*.csv")):
        put(out, "assets_csv" if f.name == "assets.csv" else "ledger_csv", f"fixture-{f.name}", f.read_bytes())
    put(out, "assets_csv", "assets.csv", b"asset,decimals\n" + b"".join(f"{a.name},{a.decimals}\n".encode() for a in ASSETS))
    # margin: debt columns beside (or without) their asset's, and a prices file
    put(out, "ledger_csv", "debts.csv", b"user_id,BTC,BTC.debt,USDT,ETH.debt\nalice,1.5,,100,\n"
        b"bob,,2,150000,0.000000000000000001\ncarol,,,,\n")
    put(out, "margin_prices", "prices.csv", b"asset,price,haircut\nBTC,97000.5,0.05\nETH,3600,0.1\nUSDT,1,0\n")
    put(out, "margin_prices", "crlf-bom.csv", b"\xef\xbb\xbfasset,price,haircut\r\nBTC, 097000.50 ,.05\r\n\r\n")

    dense = led.to_dense()
    ids = pa.array(led.user_ids, pa.string())
    tables = {
        "strings": pa.table({"user_id": ids, **{a.name: pa.array([a.format_amount(int(v)) or None for v in dense[:, k]])
                                              for k, a in enumerate(ASSETS)}}),
        "integers": pa.table({"BTC": pa.array(dense[:, 0].astype(np.int64)), "user_id": ids,
                              "USDT": pa.array(dense[:, 2].astype(np.uint32)),
                              "ETH.debt": pa.array(dense[:, 2].astype(np.uint64) * 3)}),
        "decimals": pa.table({"user_id": ids,
                              "BTC": pa.array([Decimal(a) for a in (ASSETS[0].format_amount(int(v)) or "0" for v in dense[:, 0])],
                                              pa.decimal128(20, 8)),
                              "ETH": pa.array([Decimal(a) for a in (ASSETS[1].format_amount(int(v)) or "0" for v in dense[:, 1])],
                                              pa.decimal256(40, 20))}),
    }
    for name, table in tables.items():
        p = work / f"{name}.parquet"
        pq.write_table(table, p, compression="none", use_dictionary=False, write_statistics=False)
        put(out, "ledger_parquet", f"{name}.parquet", p.read_bytes())
    p = work / "dictionary.parquet"
    pq.write_table(tables["strings"], p, compression="snappy", row_group_size=2)
    put(out, "ledger_parquet", "dictionary.parquet", p.read_bytes())
    # the assets file every ledger target reads with
    (out / "context" / "assets.csv").write_bytes((out / "assets_csv" / "assets.csv").read_bytes())


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--python-only"]
    main(Path(args[0]) if args else HERE / "corpus", python_only="--python-only" in sys.argv[1:])
