"""atheris (libFuzzer for Python) targets for every stark-por parser that reads outside bytes.

    python fuzz/py_targets.py TARGET [libFuzzer options] [CORPUS ...]   # fuzz one target
    python fuzz/py_targets.py --replay TARGET FILE ...                  # run inputs once
    python fuzz/py_targets.py --list

A crash is any exception other than the documented ones a target lists (LedgerError,
ReservesError, InvalidInclusionProof, ...) and any hang (libFuzzer's -timeout). The targets read
their fixed context (a verified round, the assets file) from fuzz/corpus/context, written by
fuzz/seeds.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TARGETS = {}


def target(fn):
    TARGETS[fn.__name__] = fn
    return fn


def _scratch(name: str) -> Path:
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(os.environ.get("TMPDIR", "/tmp"))
    d = base / f"stark-por-pyfuzz-{os.getpid()}"
    d.mkdir(exist_ok=True)
    return d / name


def _write(name: str, data: bytes) -> Path:
    path = _scratch(name)
    path.write_bytes(data)
    return path


def _import_all():
    """Imports (instrumented by atheris when fuzzing) and the context every target uses."""
    global stark_por, inclusion, pyverify, ledger, stream, reserves, ownership, report, errors
    global STATEMENT, SUMMARY, SUMMARY_V3, ASSETS_CSV
    import stark_por
    from stark_por import errors, inclusion, ledger, stream
    from stark_por import reserves
    from stark_por.reserves import ownership, report
    from stark_por.verifiers import pyverify

    ctx = HERE / "corpus" / "context"
    STATEMENT = stark_por.verify(ctx / "round.stpor")
    SUMMARY = inclusion.PublishedSummary.load(ctx / "round.stpor.json")
    # a round of statement version 3 (margin): the summary of the vectors' round of borrowers
    import json

    vectors = json.loads((HERE.parent / "tests" / "vectors" / "inclusion_v3.json").read_text())
    SUMMARY_V3 = inclusion.PublishedSummary.from_json(json.dumps(vectors["checks"][0]["summary"]))
    ASSETS_CSV = ctx / "assets.csv"


# ---------------------------------------------------------------------------------- targets


@target
def inclusion_json(data: bytes) -> None:
    """A user's inclusion proof (JSON) through the Rust and the pure-Python verifier, against the
    verified statement and against the published summary: both must refuse for the same reason."""
    try:
        proof = inclusion.load_inclusion(data)
    except errors.InvalidInclusionProof:
        return
    for anchor in (STATEMENT, SUMMARY, SUMMARY_V3):
        outcomes = []
        for pure in (False, True):
            try:
                result = inclusion.verify_inclusion(proof, anchor, user_id=proof.user_id, pure=pure)
                # version 3: the same values of the collateral check, both covered
                outcomes.append(("included", result) if isinstance(result, inclusion.Position) else "included")
            except errors.InvalidInclusionProof as e:
                outcomes.append(e.reason)
        assert outcomes[0] == outcomes[1], f"Rust says {outcomes[0]}, pure Python says {outcomes[1]}"


@target
def summary_json(data: bytes) -> None:
    """A round's published summary (ROUND.stpor.json), the user's anchor: InvalidSummary or a
    summary whose fingerprint the Rust core recomputed."""
    try:
        inclusion.PublishedSummary.from_json(data)
    except errors.InvalidSummary:
        pass


def _ledger_file(path: Path) -> None:
    try:
        whole = ledger.Ledger.from_csv(path, assets=ASSETS_CSV) if path.suffix == ".csv" \
            else ledger.Ledger.from_parquet(path, assets=ASSETS_CSV)
    except errors.LedgerError:
        whole = None
    try:
        chunks = list(stream.iter_ledger_chunks(path, assets=ASSETS_CSV, chunk_users=2))
    except errors.LedgerError:
        assert whole is None, "the streamed reader refuses a ledger the whole-file reader accepts"
        return
    assert whole is not None, "the streamed reader accepts a ledger the whole-file reader refuses"
    assert sum(c.num_users for c in chunks) == whole.num_users
    assert [sum(t) for t in zip(*(c.debt_totals() for c in chunks))] == whole.debt_totals()


@target
def ledger_csv(data: bytes) -> None:
    """A CSV ledger, whole and streamed in chunks of two users: LedgerError or the same users."""
    _ledger_file(_write("ledger.csv", data))


@target
def ledger_parquet(data: bytes) -> None:
    """A Parquet ledger, whole and streamed: LedgerError or the same users."""
    _ledger_file(_write("ledger.parquet", data))


@target
def assets_csv(data: bytes) -> None:
    """An assets file (asset,decimals)."""
    try:
        ledger.load_assets(_write("assets.csv", data))
    except errors.LedgerError:
        pass


@target
def margin_prices(data: bytes) -> None:
    """A margin round's prices file (asset,price,haircut): MarginError, or canonical prices that
    read back equal once saved."""
    from stark_por.margin import Prices

    try:
        prices = Prices.load(_write("prices.csv", data), ledger.load_assets(ASSETS_CSV))
    except errors.MarginError:
        return
    again = Prices.load(prices.save(_scratch("again.csv")))
    assert again == prices and again.digest() == prices.digest()


@target
def reserves_file(data: bytes) -> None:
    """A reserves file (no suffix: JSON or CSV by its first character), then the report against
    the verified statement, signatures checked, rendered as JSON and Markdown."""
    try:
        res = reserves.load(_write("reserves", data))
        rep = report.report(STATEMENT, res, exchange=None if res.exchange else "Fuzz Exchange")
    except errors.ReservesError:
        return
    rep.to_json()
    rep.to_markdown()


@target
def signature(data: bytes) -> None:
    """A wallet's chain, address, signature and signed message (one per line; invalid UTF-8
    becomes lone surrogates, as JSON escapes can), validated as a reserves file's wallet and
    judged as the report judges it: ReservesError or AddressError, never anything else."""
    chain, address, sig, message = (data.decode("utf-8", "surrogateescape").split("\n", 3) + ["", "", ""])[:4]
    try:
        w = reserves.Wallet(asset="BTC", chain=chain, address=address, balance="1", block=1,
                            signature=sig or None, message=message or None)
        addr = ownership.parse_address(w.chain, w.address)
    except (errors.ReservesError, ownership.AddressError):
        return
    ownership.check_signature(addr, w.signature, exchange="Fuzz Exchange", round_id=STATEMENT.round_id,
                              message=w.message)


# ------------------------------------------------------------ structure-aware JSON mutation

# Values that JSON decoders hand over and parsers trip on: lone surrogates, control characters,
# huge and negative numbers, floats, wrong types, deep nesting.
_PALETTE = ["", "x\ud800", "\udfff", "\x00", "a\nb", " padded ", "é" * 40, "x" * 5000, "0", "-1", "1e3",
            "1.5", "0." + "0" * 40 + "1", 0, -1, 1, 2**63, 2**64, 10**400, 1.5, float("inf"), None, True, [], {},
            [[[[[[[[]]]]]]]], "bitcoin", "ethereum", "BTC", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]


def _leaves(doc, path=()):
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaves(v, path + (i,))


def _json_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Half the time libFuzzer's byte mutation; else one JSON value replaced, copied or removed,
    which byte flips almost never produce from valid documents."""
    import json
    import random

    import atheris

    rnd = random.Random(seed)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        doc = None
    if doc is None or rnd.random() < 0.5:
        return atheris.Mutate(data, max_size)
    paths = list(_leaves(doc))
    path = rnd.choice(paths)
    if rnd.random() < 0.9:
        value = rnd.choice(_PALETTE)
    else:  # a copy of another part of the document
        value = json.loads(json.dumps(_get(doc, rnd.choice(paths))))
    if not path:
        doc = value
    else:
        parent = _get(doc, path[:-1])
        if rnd.random() < 0.1:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    text = json.dumps(doc, ensure_ascii=rnd.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")[:max_size]


def _get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


MUTATORS = {"inclusion_json": _json_mutator, "summary_json": _json_mutator, "reserves_file": _json_mutator}


# ------------------------------------------------------------------------------------- main


def main(argv) -> int:
    if argv[1:2] == ["--list"]:
        print(" ".join(TARGETS))
        return 0
    if argv[1:2] == ["--replay"]:
        _import_all()
        fn = TARGETS[argv[2]]
        for f in argv[3:]:
            fn(Path(f).read_bytes())
            print(f"{f}: ok")
        return 0
    if len(argv) < 2 or argv[1] not in TARGETS:
        print(f"usage: {argv[0]} TARGET [libFuzzer options] [CORPUS ...]; targets: {' '.join(TARGETS)}",
              file=sys.stderr)
        return 2
    import atheris

    with atheris.instrument_imports(include=["stark_por"]):
        _import_all()
    fn = TARGETS[argv[1]]
    atheris.Setup([argv[0]] + argv[2:], fn, custom_mutator=MUTATORS.get(argv[1]))
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
