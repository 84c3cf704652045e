"""Inclusion proofs of statement version 2 (amounts up to 2^112 − 1 at native decimals): the
Rust-made vectors of ``tests/vectors/inclusion_v2.json`` reproduced by the Rust core (through the
binding) and by pyverify; rounds built here through the inclusion store and checked by both
against both anchors; every tamper refused by each with the same reason; the CLI showing exact
amounts. The browser's side is in ``tests/test_page.py``."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por import Asset, InclusionProof, InvalidInclusionProof, PublishedSummary, verify_inclusion
from stark_por import _native
from stark_por.cli import main as cli
from stark_por.inclusion import InclusionStore, export, export_all, load_inclusion
from stark_por.verifiers import pyverify

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "inclusion_v2.json").read_text())
PYVERIFY_FILE = ROOT / "stark_por" / "verifiers" / "pyverify.py"
MAX = 2**112 - 1
WHALE = 250_000 * 10**18  # 250,000 ETH in wei
ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("SHIB", 18), Asset("XRP", 0))


# -- the vectors: Rust (who wrote them), the Rust core through the binding, pyverify ----------


def test_the_vectors_cover_the_boundaries_and_every_reason():
    amounts = {int(e["amount"]) for e in VECTORS["entry_elements"]}
    assert {1, 2**62 - 1, 2**62, 2**62 + 1, 2**64 - 1, 2**64, 2**64 + 1, WHALE, MAX} <= amounts
    reasons = {c["reason"] for c in VECTORS["checks"]}
    assert {None, "wrong-user", "wrong-statement", "version-mismatch", "wrong-round", "root-mismatch",
            "asset-mismatch", "leaf-mismatch", "path-mismatch", "malformed"} <= reasons
    assert any(int(a["total_units"]) >= 2**128 for s in VECTORS["fingerprints"] for a in s["assets"])


def test_entry_elements_agree():
    for v in VECTORS["entry_elements"]:
        got = pyverify.entry_elements_2(v["asset"], int(v["amount"]))
        assert [str(x) for x in got] == v["elements"]
        assert all(0 <= x < 2**63 for x in got)


def test_leaf_vectors_agree():
    for v in VECTORS["leaves"]:
        salt = bytes.fromhex(v["salt"])
        entries = [(a, int(m)) for a, m in v["entries"]]
        assert pyverify.id_commitment(salt, v["user_id"]).hex() == v["idc"]
        assert pyverify.leaf(v["user_id"], salt, entries, version=2).hex() == v["leaf"]
        assert _native.inclusion_leaf(v["user_id"], salt, entries, 2).hex() == v["leaf"]
        # the same balances give another leaf in version 1 (when version 1 can hold them at all)
        if all(m < 2**63 for _, m in entries):
            assert pyverify.leaf(v["user_id"], salt, entries, version=1).hex() != v["leaf"]


def test_fingerprint_vectors_agree():
    by_version = {}
    for v in VECTORS["fingerprints"]:
        text = json.dumps(v)
        rust = PublishedSummary.from_json(text)
        assert (rust.fingerprint, rust.statement_version) == (v["fingerprint"], v["statement_version"])
        assert pyverify.check_summary(pyverify.Summary.from_json(text)).hex() == v["fingerprint"]
        if v["round_id"] == "both-versions":
            by_version[v["statement_version"]] = v["fingerprint"]
    assert len(by_version) == 2 and by_version[1] != by_version[2], "the version is under the fingerprint"


def vector_proof(p: dict) -> InclusionProof:
    return InclusionProof(
        version=p["version"], round_id=p["round_id"], user_id=p["user_id"], salt=bytes.fromhex(p["salt"]),
        entries=tuple(pyverify.Entry(a, k, d, int(m)) for a, k, d, m in p["entries"]), leaf_index=p["leaf_index"],
        num_leaves=p["num_leaves"], leaf=bytes.fromhex(p["leaf"]), root=bytes.fromhex(p["root"]),
        path=tuple(bytes.fromhex(s) for s in p["path"]),
    )


def outcomes(text: str, summary_text: str, user_id: str, fingerprint) -> list:
    """The verdict of the Rust core, of the Python API's pure path and of pyverify's check."""
    out = []
    for pure in (False, True):
        try:
            verify_inclusion(text, PublishedSummary.from_json(summary_text), user_id=user_id,
                             fingerprint=fingerprint, pure=pure)
            out.append(None)
        except InvalidInclusionProof as e:
            out.append(e.reason)
    try:
        pyverify.check(InclusionProof.from_json(text), pyverify.Summary.from_json(summary_text), user_id=user_id,
                       fingerprint=None if fingerprint is None else bytes.fromhex(fingerprint))
        out.append(None)
    except pyverify.Rejected as e:
        out.append(e.reason)
    return out


@pytest.mark.parametrize("case", range(len(VECTORS["checks"])))
def test_inclusion_vectors_agree(case):
    v = VECTORS["checks"][case]
    text = vector_proof(v["proof"]).to_json()  # through the JSON format
    assert json.loads(text)["version"] == v["proof"]["version"]
    assert outcomes(text, json.dumps(v["summary"]), v["user_id"], v["fingerprint"]) == [v["reason"]] * 3


def test_the_whale_sees_the_exact_amounts():
    v = next(c for c in VECTORS["checks"] if c["user_id"] == "whale" and c["reason"] is None)
    text = vector_proof(v["proof"]).to_json()
    assert json.loads(text)["entries"][1]["amount"] == "250000"
    for pure in (False, True):
        balances = verify_inclusion(text, PublishedSummary.from_json(json.dumps(v["summary"])), user_id="whale",
                                    pure=pure)
        assert balances == {"BTC": Decimal("123.45678901"), "ETH": Decimal(250000),
                            "USDT": Decimal("18446744073709.551617")}
    shib = next(c for c in VECTORS["checks"] if c["user_id"] == "shib-max" and c["reason"] is None)
    proof = vector_proof(shib["proof"])
    assert proof.entries[0].amount_text == "5192296858534827.628530496329220095"  # (2^112 − 1) / 10^18
    assert proof.entries[0].units == MAX


# -- rounds built here: the store writes version-2 proofs of wide amounts ---------------------


def build_round(users: dict, assets=ASSETS, round_id: str = "2026-12", tmp_path: Path = None, seed: int = 1):
    """A version-2 round over ``users`` (id -> {0-based asset: amount}) hashed by pyverify, its
    inclusion store written from lo/hi amount columns, its summary JSON (statement version 2)."""
    import random

    rng = random.Random(seed)
    ids = list(users)
    n = max(2, 1 << (len(ids) - 1).bit_length())
    order = list(range(n))
    rng.shuffle(order)  # leaf j holds user order[j] (or padding)
    salts = [rng.randbytes(32) for _ in ids]
    tree = [b"\0" * 32] * (2 * n)
    positions = [0] * len(ids)
    for j, u in enumerate(order):
        if u < len(ids):
            positions[u] = j
            entries = [(k + 1, v) for k, v in sorted(users[ids[u]].items())]
            tree[n + j] = pyverify.leaf(ids[u], salts[u], entries, version=2)
        else:
            tree[n + j] = pyverify.leaf("", rng.randbytes(32), [], version=2)
    for i in range(n - 1, 0, -1):
        tree[i] = pyverify.node(tree[2 * i], tree[2 * i + 1])
    indptr, asset_index, amounts = [0], [], []
    for u in ids:
        for k, v in sorted(users[u].items()):
            asset_index.append(k)
            amounts.append(v)
        indptr.append(len(amounts))
    statement = SimpleNamespace(round_id=round_id, root=tree[1].hex(), num_leaves=n, assets=assets,
                                statement_version=2)
    store = InclusionStore.write(
        tmp_path / f"{round_id}.db", statement=statement, user_ids=ids, positions=np.array(positions, dtype=np.uint64),
        salts=b"".join(salts), tree=b"".join(tree), indptr=np.array(indptr, dtype=np.uint64),
        asset_index=np.array(asset_index, dtype=np.uint32),
        amounts_lo=np.array([v & (2**64 - 1) for v in amounts], dtype=np.uint64),
        amounts_hi=np.array([v >> 64 for v in amounts], dtype=np.uint64))
    totals = [sum(users[u].get(k, 0) for u in ids) for k in range(len(assets))]
    summary = {"statement_version": 2, "round_id": round_id, "range_bits": 112, "num_leaves": n, "root": tree[1].hex(),
               "assets": [{"asset": a.name, "decimals": a.decimals, "total_units": str(t)} for a, t in zip(assets, totals)]}
    return SimpleNamespace(store=store, summary=json.dumps(summary), users=users, ids=ids)


USERS = {
    "whale": {0: 2_100_000_000_000, 1: WHALE, 2: 2**64 + 1},
    "shib-max": {3: MAX, 4: 2**62},
    "dust": {1: 1, 2: 2**62 - 1, 4: 2**64 - 1},
    "nobody": {},
    "émile 名前": {0: 1, 1: 2**62 + 1, 2: 2**64, 3: MAX - 1, 4: 7},
}


@pytest.fixture(scope="module")
def round_v2(tmp_path_factory):
    return build_round(USERS, tmp_path=tmp_path_factory.mktemp("v2"))


def test_the_store_exports_version_2_proofs_every_verifier_accepts(round_v2):
    with InclusionStore(round_v2.store) as store:
        assert store.statement_version == 2 and len(store) == len(USERS)
        for user in USERS:
            proof = export(store, user)
            assert proof.version == 2
            text = proof.to_json()
            assert json.loads(text)["version"] == 2
            assert outcomes(text, round_v2.summary, user, None) == [None] * 3
            shown = {e.asset: e.units for e in load_inclusion(text).entries}
            assert shown == {ASSETS[k].name: v for k, v in USERS[user].items()}


def test_export_all_writes_version_2_lines(round_v2, tmp_path):
    out = tmp_path / "all.jsonl"
    assert export_all(round_v2.store, out) == len(USERS)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {d["version"] for d in lines} == {2}
    whale = next(d for d in lines if d["user_id"] == "whale")
    assert [e["amount"] for e in whale["entries"]] == ["21000", "250000", "18446744073709.551617"]


def test_an_old_store_without_a_statement_version_reads_as_version_1(round_v2, tmp_path):
    import shutil
    import sqlite3

    old = tmp_path / "old.db"
    shutil.copy(round_v2.store, old)
    db = sqlite3.connect(old)
    db.execute("UPDATE meta SET version = 1")
    db.commit()
    db.close()
    with InclusionStore(old) as store:
        assert store.statement_version == 1
        assert export(store, "dust").version == 1


# -- every tamper, refused by every verifier with the same reason -----------------------------

amounts = st.one_of(
    st.sampled_from([1, 2**62 - 1, 2**62, 2**62 + 1, 2**64 - 1, 2**64, 2**64 + 1, WHALE, MAX - 1, MAX]),
    st.integers(1, MAX),
    st.integers(1, 10**6),
)
balances = st.dictionaries(st.integers(0, len(ASSETS) - 1), amounts, max_size=len(ASSETS))


@st.composite
def rounds(draw):
    users = {"me": draw(balances.filter(bool))}
    for k in range(draw(st.integers(0, 2))):
        users[f"other-{k}"] = draw(balances)
    return users


TAMPERS = ["amount", "asset", "user id", "salt", "path byte", "version 1", "version 3", "leaf byte"]


def tampered(doc: dict, field: str, data) -> tuple:
    """Changes ``field`` of an honest proof's JSON; returns (JSON, the id checking it, reason)."""
    entries = doc["entries"]
    k = data.draw(st.integers(0, len(entries) - 1))
    user = doc["user_id"]
    e = entries[k]
    parsed = load_inclusion(json.dumps(doc)).entries
    units = parsed[k].units
    if field == "amount":
        new = data.draw(amounts.filter(lambda v: v != units))
        e["amount"] = pyverify.Entry(e["asset"], e["index"], e["decimals"], new).amount_text
        reason = "leaf-mismatch"
    elif field == "asset":  # another asset of the round, labelled as the round labels it
        held = {x["index"] for x in entries}
        free = [i for i in range(1, len(ASSETS) + 1) if i not in held]
        lo = entries[k - 1]["index"] if k > 0 else 0
        hi = entries[k + 1]["index"] if k + 1 < len(entries) else len(ASSETS) + 1
        choices = [i for i in free if lo < i < hi]
        if not choices:
            return None
        i = data.draw(st.sampled_from(choices))
        a = ASSETS[i - 1]
        e.update(index=i, asset=a.name, decimals=a.decimals,
                 amount=pyverify.Entry(a.name, i, a.decimals, units).amount_text)
        reason = "leaf-mismatch"
    elif field == "user id":
        user = doc["user_id"] = data.draw(st.text(min_size=1, max_size=20).filter(
            lambda s: s != doc["user_id"] and "\x00" not in s and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)
            and not any(pyverify._is_control(c) for c in s)))
        reason = "leaf-mismatch"
    elif field == "salt":
        import base64

        salt = bytearray(base64.b64decode(doc["salt"]))
        salt[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
        doc["salt"] = base64.b64encode(bytes(salt)).decode()
        reason = "leaf-mismatch"
    elif field in ("path byte", "leaf byte"):
        import base64

        key = "path" if field == "path byte" else "leaf"
        level = data.draw(st.integers(0, len(doc["path"]) - 1)) if key == "path" else None
        raw = bytearray(base64.b64decode(doc["path"][level] if key == "path" else doc["leaf"]))
        raw[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
        text = base64.b64encode(bytes(raw)).decode()
        if key == "path":
            doc["path"][level] = text
        else:
            doc["leaf"] = text
        canonical = pyverify.digest_from_bytes(bytes(raw)) is not None
        reason = ("path-mismatch" if key == "path" else "leaf-mismatch") if canonical else "malformed"
    elif field == "version 1":
        doc["version"] = 1
        # version 1's amounts stop below 2^63: a larger one is out of its domain
        reason = "version-mismatch" if all(x.units < 2**63 for x in parsed) else "malformed"
    else:
        doc["version"] = 4
        reason = "unknown-version"
    return json.dumps(doc), user, reason


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(users=rounds(), field=st.sampled_from(TAMPERS), data=st.data())
def test_any_tamper_is_refused_by_every_verifier_with_its_reason(tmp_path, users, field, data):
    folder = tmp_path / secrets.token_hex(4)
    folder.mkdir()
    r = build_round(users, tmp_path=folder, seed=len(users))
    honest = export(r.store, "me").to_json()
    assert outcomes(honest, r.summary, "me", None) == [None] * 3
    changed = tampered(json.loads(honest), field, data)
    if changed is None:
        return
    text, user, reason = changed
    assert outcomes(text, r.summary, user, None) == [reason] * 3, field


def test_a_summary_out_of_version_2_domain_is_refused(round_v2):
    doc = json.loads(round_v2.summary)
    for bad, want in [(dict(range_bits=113), "malformed"), (dict(range_bits=31), "malformed"),
                      (dict(statement_version=4), "unknown-version")]:
        text = json.dumps({**doc, **bad})
        with pytest.raises(InvalidInclusionProof) as info:
            PublishedSummary.from_json(text)
        assert info.value.reason == want
        with pytest.raises(pyverify.Rejected) as rejected:
            pyverify.check_summary(pyverify.Summary.from_json(text))
        assert rejected.value.reason == want
    # a bound of 112 bits is version 2's: read as version 1 it is out of domain
    with pytest.raises(InvalidInclusionProof):
        PublishedSummary.from_json(json.dumps({**doc, "statement_version": 1}))


names = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_$"), min_size=1, max_size=32)
canonical_roots = st.lists(st.integers(0, pyverify.P - 1), min_size=4, max_size=4).map(
    lambda d: pyverify.digest_to_bytes(d).hex())


@st.composite
def summaries_v2(draw) -> dict:
    asset_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    return {
        "statement_version": 2,
        "round_id": draw(st.text(min_size=1, max_size=40).filter(
            lambda r: not any(pyverify._is_control(c) or 0xD800 <= ord(c) <= 0xDFFF for c in r))),
        "range_bits": draw(st.integers(32, 112)),
        "num_leaves": 2 ** draw(st.integers(1, 40)),
        "root": draw(canonical_roots),
        "assets": [{"asset": n, "decimals": draw(st.integers(0, 30)),
                    "total_units": str(draw(st.one_of(st.integers(0, 2**112), st.integers(0, 2**160))))}
                   for n in asset_names],
    }


@settings(max_examples=60, deadline=None)
@given(doc=summaries_v2(), data=st.data())
def test_rust_and_pyverify_fingerprints_of_version_2_agree_and_bind_the_version(doc, data):
    text = json.dumps(doc)
    rust = PublishedSummary.from_json(text)
    assert rust.statement_version == 2
    assert rust.fingerprint == pyverify.check_summary(pyverify.Summary.from_json(text)).hex()
    assert PublishedSummary.from_json(json.dumps({**doc, "fingerprint": rust.fingerprint})).fingerprint == rust.fingerprint
    if doc["range_bits"] <= 63:  # the same fields are a valid version-1 summary, of another fingerprint
        v1 = PublishedSummary.from_json(json.dumps({**doc, "statement_version": 1}))
        assert v1.fingerprint != rust.fingerprint
        with pytest.raises(InvalidInclusionProof) as info:  # a version-1 fingerprint field on version 2
            PublishedSummary.from_json(json.dumps({**doc, "fingerprint": v1.fingerprint}))
        assert info.value.reason == "malformed"


# -- the CLI and the standalone pyverify.py print the exact amounts ---------------------------


@pytest.mark.parametrize("pure", [False, True], ids=["rust", "pure"])
def test_the_cli_prints_exact_amounts(round_v2, tmp_path, capsys, pure):
    proof = tmp_path / "whale.json"
    export(round_v2.store, "shib-max").save(proof)
    summary = tmp_path / "round.stpor.json"
    summary.write_text(round_v2.summary)
    args = ["inclusion", "verify", str(proof), "--summary", str(summary), "--user", "shib-max",
            "--expect", "SHIB=5192296858534827.628530496329220095,XRP=4611686018427387904"] + (["--pure"] if pure else [])
    assert cli(args) == 0
    out = capsys.readouterr().out
    assert "INCLUDED" in out and "5,192,296,858,534,827.628530496329220095" in out
    assert "4,611,686,018,427,387,904" in out
    # one wei less expected is a balance mismatch
    args[args.index("--expect") + 1] = "SHIB=5192296858534827.628530496329220094"
    assert cli(args) == 1
    assert "balance-mismatch" in capsys.readouterr().out


def test_standalone_pyverify_checks_a_version_2_proof(round_v2, tmp_path):
    proof = tmp_path / "whale.json"
    export(round_v2.store, "whale").save(proof)
    summary = tmp_path / "round.stpor.json"
    summary.write_text(round_v2.summary)
    run = subprocess.run([sys.executable, str(PYVERIFY_FILE), str(proof), "--summary", str(summary), "--user", "whale",
                          "--expect", "ETH=250000"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "250000" in run.stdout and "18446744073709.551617" in run.stdout


# -- end to end: a W3 round proved with version 2, each user's proof from the store ------------


@pytest.fixture(scope="module")
def proved_w3(tmp_path_factory):
    """A small W3 ledger (22 assets at native decimals) with a 250,000 ETH whale, SHIB at
    2^112 − 1 and amounts around 2^62 and 2^64 added, proved with statement version 2."""
    from stark_por import Ledger, prove, verify
    from stark_por.proof import summary_path
    from stark_por.workloads import W3

    w = W3(20, seed=11)
    names = [a.name for a in w.assets]
    users = {uid: dict(w.entries(i)) for i, uid in enumerate(w.user_ids)}
    users["whale-250k-eth"] = {names.index("ETH"): WHALE, names.index("BTC"): 1_000 * 10**8}
    users["shib-max"] = {names.index("SHIB"): MAX, names.index("PEPE"): MAX - 1}
    users["around-2^62"] = {names.index("USDT"): 2**62 - 1, names.index("USDC"): 2**62, names.index("XRP"): 2**62 + 1}
    users["around-2^64"] = {names.index("LINK"): 2**64 - 1, names.index("UNI"): 2**64, names.index("BNB"): 2**64 + 1}
    ids = list(users)
    indptr, asset_index, amounts = [0], [], []
    for u in ids:
        for k, v in sorted(users[u].items()):
            asset_index.append(k)
            amounts.append(v)
        indptr.append(len(amounts))
    ledger = Ledger.from_entries(ids, list(w.assets), np.array(indptr, dtype=np.uint64),
                                 np.array(asset_index, dtype=np.uint32), amounts)
    folder = tmp_path_factory.mktemp("w3")
    proof = prove(ledger, secret=b"w3-inclusion-secret-0123456789", round_id="w3-2026-12")
    path = proof.save(folder / "w3.stpor")
    statement = verify(path)
    return SimpleNamespace(path=path, folder=folder, statement=statement, assets=w.assets, users=users,
                           summary=PublishedSummary.load(summary_path(path)))


def test_a_proved_version_2_round_gives_every_user_their_exact_balances(proved_w3):
    from stark_por.inclusion import store_path

    s = proved_w3.statement
    assert s.statement_version == 2 and proved_w3.summary.statement_version == 2
    assert proved_w3.summary.fingerprint == s.fingerprint
    with InclusionStore(store_path(proved_w3.path)) as store:
        assert store.statement_version == 2
        for user, held in proved_w3.users.items():
            proof = export(store, user)
            assert proof.version == 2
            want = {proved_w3.assets[k].name: Decimal(f"{v}E-{proved_w3.assets[k].decimals}") for k, v in held.items()}
            for anchor in (s, proved_w3.summary):
                for pure in (False, True):
                    got = verify_inclusion(proof.to_json(), anchor, user_id=user, fingerprint=s.fingerprint, pure=pure)
                    assert got == want, (user, pure)
            assert {e.asset: e.units for e in proof.entries} == {proved_w3.assets[k].name: v for k, v in held.items()}


def test_the_cli_checks_a_version_2_round_and_prints_exact_amounts(proved_w3, tmp_path, capsys):
    out = tmp_path / "whale.json"
    assert cli(["inclusion", "export", str(proved_w3.path), "--user", "whale-250k-eth", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["version"] == 2
    capsys.readouterr()
    for anchor in (["--proof", str(proved_w3.path)], ["--summary", str(proved_w3.path) + ".json"]):
        for pure in ([], ["--pure"]):
            assert cli(["inclusion", "verify", str(out), "--user", "whale-250k-eth", "--expect", "ETH=250000,BTC=1000",
                        "--fingerprint", proved_w3.statement.fingerprint] + anchor + pure) == 0
            text = capsys.readouterr().out
            assert "INCLUDED" in text and "250,000.000000000000000000" in text, text


def test_a_version_1_proof_is_refused_against_a_version_2_round_and_back(proved_w3, tmp_path):
    from stark_por import Ledger, prove, verify
    from stark_por.inclusion import store_path

    # the same round id and users, amounts that version 1 can hold, proved with version 1
    small = {u: {k: 1 + v % 2**40 for k, v in held.items()} for u, held in proved_w3.users.items()}
    ids = list(small)
    indptr, asset_index, amounts = [0], [], []
    for u in ids:
        for k, v in sorted(small[u].items()):
            asset_index.append(k)
            amounts.append(v)
        indptr.append(len(amounts))
    ledger = Ledger.from_entries(ids, list(proved_w3.assets), np.array(indptr, dtype=np.uint64),
                                 np.array(asset_index, dtype=np.uint32), np.array(amounts, dtype=np.uint64), max_bits=62)
    v1_path = prove(ledger, secret=b"w3-inclusion-secret-0123456789", round_id="w3-2026-12", version=1).save(
        tmp_path / "v1.stpor")
    v1_statement = verify(v1_path)
    assert v1_statement.statement_version == 1
    v1_proof = export(store_path(v1_path), "dust" if "dust" in small else ids[0]).to_json()
    v2_proof = export(store_path(proved_w3.path), ids[0]).to_json()
    user_v1 = json.loads(v1_proof)["user_id"]
    for pure in (False, True):
        with pytest.raises(InvalidInclusionProof) as info:
            verify_inclusion(v1_proof, proved_w3.statement, user_id=user_v1, pure=pure)
        assert info.value.reason == "version-mismatch"
        with pytest.raises(InvalidInclusionProof) as info:
            verify_inclusion(v2_proof, v1_statement, user_id=ids[0], pure=pure)
        assert info.value.reason == "version-mismatch"
        verify_inclusion(v1_proof, v1_statement, user_id=user_v1, pure=pure)
