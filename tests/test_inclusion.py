"""Inclusion proofs end to end: store, export, both verifiers, both anchors (the verified
statement and the published summary), every tamper, the CLI, and the pure-Python verifier
against the Rust core (random inputs and the committed vectors)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import stark_por
from stark_por import (
    Asset,
    InclusionProof,
    InclusionStore,
    InvalidInclusionProof,
    InvalidSummary,
    Ledger,
    PublishedSummary,
    prove,
    verify,
    verify_inclusion,
)
from stark_por import _native
from stark_por.verifiers import pyverify
from stark_por.cli import main as cli
from stark_por.errors import INCLUSION_REASONS
from stark_por.inclusion import export, export_all, store_path
from stark_por.proof import summary_path
from stark_por.synthetic import generate

SECRET = b"inclusion-test-secret-0123456789"
ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "inclusion.json").read_text())
PYVERIFY_FILE = ROOT / "stark_por" / "verifiers" / "pyverify.py"
BOTH = pytest.mark.parametrize("pure", [False, True], ids=["rust", "pure"])


def special_ledger() -> Ledger:
    """Edge cases: no balances, one asset, 25 assets, the largest amount, a non-ASCII id."""
    assets = [Asset(f"A{k:02d}", k % 19) for k in range(30)]
    rows = {
        "nobody": [],
        "single": [(3, 5)],
        "many": [(k, 10**k % (2**61) + k + 1) for k in range(25)],
        "whale": [(0, 2**62 - 1), (29, 1)],
        "émile 名前": [(1, 7), (2, 8), (4, 9)],
    }
    indptr, asset_index, amounts = [0], [], []
    for entries in rows.values():
        asset_index += [k for k, _ in entries]
        amounts += [a for _, a in entries]
        indptr.append(len(amounts))
    return Ledger.from_entries(list(rows), assets, np.array(indptr), np.array(asset_index), np.array(amounts))


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    """Two rounds of a random ledger and one round of the edge cases, saved with their stores."""
    folder = tmp_path_factory.mktemp("inclusion")
    ledger = generate(37, num_assets=5, seed=11)
    out = {}
    for name, led, round_id in [("a", ledger, "2026-11"), ("b", ledger, "2026-12"), ("special", special_ledger(), "2026-11")]:
        path = prove(led, secret=SECRET, round_id=round_id, version=1).save(folder / f"{name}.stpor")
        out[name] = (led, path, verify(path))
    return out


@pytest.fixture(scope="module")
def sample(rounds):
    """(JSON document of one user's proof in round a, round a's statement, round b's proof of the user)."""
    led, path, statement = rounds["a"]
    user = led.user_ids[3]
    doc = json.loads(export(store_path(path), user).to_json())
    other = json.loads(export(store_path(rounds["b"][1]), user).to_json())
    return doc, statement, other


@pytest.fixture(scope="module")
def summary_a(rounds):
    """Round a's published summary, as a user loads it."""
    return PublishedSummary.load(summary_path(rounds["a"][1]))


ANCHORS = pytest.mark.parametrize("anchor_kind", ["statement", "summary"])


def anchor_of(kind: str, statement, summary):
    return statement if kind == "statement" else summary


def expected_balances(led: Ledger, u: int) -> dict:
    lo, hi = int(led.indptr[u]), int(led.indptr[u + 1])
    out = {}
    for e in range(lo, hi):
        a = led.assets[int(led.asset_index[e])]
        out[a.name] = Decimal(int(led.amounts[e])).scaleb(-a.decimals)
    return out


def reason_of(inclusion, anchor, pure: bool, user: str = None, **kw) -> str:
    """The reason ``inclusion`` is refused when checked by ``user`` (default: the sample's)."""
    with pytest.raises(InvalidInclusionProof) as info:
        verify_inclusion(inclusion, anchor, user_id=user or SAMPLE_USER, pure=pure, **kw)
    assert info.value.reason in INCLUSION_REASONS
    return info.value.reason


SAMPLE_USER = generate(37, num_assets=5, seed=11).user_ids[3]


# -- the happy path ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "special"])
def test_every_user_verifies_both_ways(rounds, name):
    led, path, statement = rounds[name]
    summary = PublishedSummary.load(summary_path(path))
    assert summary.fingerprint == statement.fingerprint
    with InclusionStore(store_path(path)) as store:
        assert len(store) == led.num_users and store.root == statement.root
        for u, user in enumerate(led.user_ids):
            proof = export(store, user)
            text = proof.to_json()
            want = expected_balances(led, u)
            assert verify_inclusion(proof, statement, user_id=user) == want
            assert verify_inclusion(text, statement, user_id=user, pure=True) == want
            assert verify_inclusion(text.encode(), summary, user_id=user, fingerprint=statement.fingerprint) == want
            assert verify_inclusion(text, summary, user_id=user, fingerprint=statement.fingerprint.upper(), pure=True) == want
            expect = {a: f"{v:f}" for a, v in want.items()}
            assert verify_inclusion(text, summary, user_id=user, expect=expect) == want
            assert verify_inclusion(text, statement, user_id=user, expect=expect, pure=True) == want
            assert InclusionProof.from_json(text) == proof


def test_the_store_is_private_and_matches_the_proof(rounds, tmp_path):
    led, path, statement = rounds["a"]
    db = store_path(path)
    assert db.name == "a.stpor.db" and db.stat().st_mode & 0o777 == 0o600
    with InclusionStore(db) as store:
        assert (store.round_id, store.num_leaves) == (statement.round_id, statement.num_leaves)
        assert store.assets == tuple((a.name, a.decimals) for a in statement.assets)
        assert sorted(store.user_ids()) == sorted(led.user_ids)
        assert led.user_ids[0] in store and "nobody-here" not in store
        with pytest.raises(KeyError):
            export(store, "nobody-here")
    # a proof read back from disk has no ledger: saving it writes no store
    stark_por.Proof.load(path).save(tmp_path / "copy.stpor")
    assert not store_path(tmp_path / "copy.stpor").exists()
    with pytest.raises(ValueError, match="not a stark-por inclusion store"):
        InclusionStore(path)  # the proof file itself


def test_export_all_streams_every_users_proof(rounds, tmp_path):
    led, path, statement = rounds["a"]
    count = export_all(store_path(path), tmp_path / "all.jsonl")
    lines = (tmp_path / "all.jsonl").read_text().splitlines()
    assert count == len(lines) == led.num_users
    indices = [json.loads(line)["leaf_index"] for line in lines]
    assert indices == sorted(indices)
    for line in lines:
        proof = InclusionProof.from_json(line)
        assert proof == export(store_path(path), proof.user_id)
        verify_inclusion(line, statement, user_id=proof.user_id)


def test_inclusion_json_is_small_for_a_million_users():
    """2^20 leaves × 3 assets: 20 siblings, realistic ids and amounts."""
    sibling = bytes(range(32))
    proof = InclusionProof(
        round_id="2026-11",
        user_id="user-0001048575",
        salt=bytes(32),
        entries=(
            pyverify.Entry("BTC", 1, 8, 123_456_789_012),
            pyverify.Entry("ETH", 2, 18, 98_765_432_109_876_543_210 % 2**62),
            pyverify.Entry("USDT", 3, 6, 1_234_567_890_123),
        ),
        leaf_index=2**20 - 1,
        num_leaves=2**20,
        leaf=sibling,
        root=sibling,
        path=(sibling,) * 20,
    )
    assert len(proof.to_json().encode()) <= 1500


# -- tampering --------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[0] ^= 1
    return _b64(bytes(raw))


def _bump_amount(doc):
    doc["entries"][0]["amount"] = str(Decimal(doc["entries"][0]["amount"]) + 1)


def _recompute_leaf_after_bump(doc):
    _bump_amount(doc)
    proof = InclusionProof.from_json(json.dumps(doc))
    leaf = pyverify.leaf(proof.user_id, proof.salt, [(e.index, e.units) for e in proof.entries])
    doc["leaf"] = _b64(leaf)


def _shorten_consistently(doc):
    doc["path"].pop()
    doc["num_leaves"] //= 2
    doc["leaf_index"] %= doc["num_leaves"]


TAMPERS = {
    "changed balance": (_bump_amount, "leaf-mismatch"),
    "dropped balance": (lambda d: d["entries"].pop(), "leaf-mismatch"),
    "wrong salt": (lambda d: d.update(salt=_flip(d["salt"])), "leaf-mismatch"),
    "another user's id": (lambda d: d.update(user_id=d["user_id"] + "x"), "wrong-user"),
    "changed balance, leaf recomputed": (_recompute_leaf_after_bump, "path-mismatch"),
    "swapped path": (lambda d: d["path"].__setitem__(slice(0, 2), d["path"][1::-1]), "path-mismatch"),
    "changed sibling": (lambda d: d["path"].__setitem__(2, _flip(d["path"][2])), "path-mismatch"),
    "shortened path": (lambda d: d["path"].pop(), "path-mismatch"),
    "shortened path and tree": (_shorten_consistently, "path-mismatch"),
    "wrong index": (lambda d: d.update(leaf_index=d["leaf_index"] ^ 1), "path-mismatch"),
    "claimed root changed": (lambda d: d.update(root="00" * 32), "path-mismatch"),
    "relabelled asset": (lambda d: d["entries"][0].update(asset="DOGE"), "asset-mismatch"),
    "other decimals": (lambda d: d["entries"][0].update(decimals=d["entries"][0]["decimals"] + 1), "asset-mismatch"),
    "unknown version": (lambda d: d.update(version=4), "unknown-version"),
    "the other version": (lambda d: d.update(version=3 - d["version"]), "version-mismatch"),
    "missing field": (lambda d: d.pop("salt"), "malformed"),
    "extra field": (lambda d: d.update(note="hi"), "malformed"),
    "not the format": (lambda d: d.update(format="other"), "malformed"),
    "salt too short": (lambda d: d.update(salt=_b64(bytes(31))), "malformed"),
    "salt not base64": (lambda d: d.update(salt="*" * 44), "malformed"),
    "non-canonical sibling": (lambda d: d["path"].__setitem__(0, _b64(b"\xff" * 32)), "malformed"),
    "root not hex": (lambda d: d.update(root="zz" * 32), "malformed"),
    "amount with exponent": (lambda d: d["entries"][0].update(amount="1e3"), "malformed"),
    "amount negative": (lambda d: d["entries"][0].update(amount="-1"), "malformed"),
    "amount zero": (lambda d: d["entries"][0].update(amount="0"), "malformed"),
    "amount as a number": (lambda d: d["entries"][0].update(amount=1), "malformed"),
    "too many decimals": (lambda d: d["entries"][0].update(amount="1." + "1" * 31), "malformed"),
    "entries unsorted": (lambda d: d["entries"].reverse(), "malformed"),
    "index as bool": (lambda d: d.update(leaf_index=True), "malformed"),
    "index outside the tree": (lambda d: d.update(leaf_index=d["num_leaves"]), "malformed"),
    "tree size not a power of two": (lambda d: d.update(num_leaves=d["num_leaves"] - 1), "malformed"),
    "huge index": (lambda d: d.update(leaf_index=2**70), "malformed"),
    "empty user id": (lambda d: d.update(user_id=""), "malformed"),
}


@BOTH
@ANCHORS
@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_each_tamper_is_refused_with_its_reason(sample, summary_a, name, pure, anchor_kind):
    doc, statement, _ = sample
    assert len(doc["entries"]) >= 2 and len(doc["path"]) >= 3 and doc["user_id"] == SAMPLE_USER
    tamper, want = TAMPERS[name]
    doc = json.loads(json.dumps(doc))
    tamper(doc)
    assert reason_of(json.dumps(doc), anchor_of(anchor_kind, statement, summary_a), pure) == want


@BOTH
def test_a_changed_id_checked_by_that_id_is_a_leaf_mismatch(sample, pure):
    doc, statement, _ = sample
    doc = dict(doc, user_id=doc["user_id"] + "x")
    assert reason_of(json.dumps(doc), statement, pure, user=doc["user_id"]) == "leaf-mismatch"


@BOTH
@ANCHORS
def test_another_rounds_proof_or_statement_is_refused(sample, rounds, summary_a, pure, anchor_kind):
    doc, statement, other = sample
    text, other_text = json.dumps(doc), json.dumps(other)
    assert reason_of(other_text, anchor_of(anchor_kind, statement, summary_a), pure) == "wrong-round"
    b_summary = PublishedSummary.load(summary_path(rounds["b"][1]))
    other_anchor = anchor_of(anchor_kind, rounds["b"][2], b_summary)
    assert reason_of(text, other_anchor, pure) == "wrong-round"
    # a summary of round a with round b's root: a consistent proof of another tree
    forged = json.loads(summary_path(rounds["a"][1]).read_text())
    forged["root"] = rounds["b"][2].root
    del forged["fingerprint"]
    assert reason_of(text, PublishedSummary.from_json(json.dumps(forged)), pure) == "root-mismatch"
    # ... and it cannot carry round a's published fingerprint
    assert reason_of(text, PublishedSummary.from_json(json.dumps(forged)), pure,
                     fingerprint=statement.fingerprint) == "wrong-statement"


@BOTH
@pytest.mark.parametrize(
    "text",
    [b"", b"{", b"not json", b"\xff\xfe{}", b"[]", b"null", b'{"format": "stark-por/inclusion"}', b"1" * 3000],
    ids=["empty", "brace", "words", "not-utf8", "array", "null", "no-version", "number"],
)
def test_garbage_is_malformed(sample, text, pure):
    _, statement, _ = sample
    assert reason_of(text, statement, pure) == "malformed"


@BOTH
def test_truncated_files_are_malformed(sample, tmp_path, pure):
    doc, statement, _ = sample
    data = json.dumps(doc).encode()
    for cut in (1, len(data) // 3, len(data) // 2, len(data) - 1):
        (tmp_path / "cut.json").write_bytes(data[:cut])
        assert reason_of(tmp_path / "cut.json", statement, pure) == "malformed"


def test_a_bad_anchor_is_a_usage_error(sample):
    doc, statement, _ = sample
    with pytest.raises(TypeError):
        verify_inclusion(json.dumps(doc), 42, user_id=SAMPLE_USER)
    with pytest.raises(TypeError):
        verify_inclusion(json.dumps(doc), statement)  # user_id is required
    with pytest.raises(TypeError):
        verify_inclusion(json.dumps(doc), statement, user_id=7)
    with pytest.raises(ValueError, match="64 hex digits"):
        verify_inclusion(json.dumps(doc), statement, user_id=SAMPLE_USER, fingerprint="abc")
    for bad in ({"BTC": 0.5}, {"BTC": "-1"}, {"BTC": "1e3"}, {"BTC": "NaN"}, {"B TC": "1"}):
        with pytest.raises((TypeError, ValueError)):
            verify_inclusion(json.dumps(doc), statement, user_id=SAMPLE_USER, expect=bad)


# -- Rust and pure Python agree ---------------------------------------------------------------


def test_both_implementations_reproduce_the_vectors():
    for p in VECTORS["permutations"]:
        assert pyverify.permute(p["input"]) == p["output"]
    for c in VECTORS["id_commitments"]:
        salt = bytes.fromhex(c["salt"])
        assert pyverify.id_commitment(salt, c["user_id"]).hex() == c["digest"]
        assert _native.id_commitment(salt, c["user_id"]).hex() == c["digest"]
    counts = []
    for leaf in VECTORS["leaves"]:
        salt, entries = bytes.fromhex(leaf["salt"]), [tuple(e) for e in leaf["entries"]]
        counts.append(len(entries))
        assert pyverify.id_commitment(salt, leaf["user_id"]).hex() == leaf["idc"]
        assert pyverify.leaf_of(bytes.fromhex(leaf["idc"]), entries).hex() == leaf["leaf"]
        assert pyverify.leaf(leaf["user_id"], salt, entries).hex() == leaf["leaf"]
        assert _native.inclusion_leaf(leaf["user_id"], salt, entries).hex() == leaf["leaf"]
    assert {0, 1, 22}.issubset(counts) and max(counts) > 22
    for n in VECTORS["nodes"]:
        left, right = bytes.fromhex(n["left"]), bytes.fromhex(n["right"])
        assert pyverify.node(left, right).hex() == n["digest"]
        assert _native.walk_path(left, 0, right).hex() == n["digest"]
    for p in VECTORS["paths"]:
        leaf, path = bytes.fromhex(p["leaf"]), [bytes.fromhex(s) for s in p["path"]]
        assert pyverify.walk(leaf, p["leaf_index"], path).hex() == p["root"]
        assert _native.walk_path(leaf, p["leaf_index"], b"".join(path)).hex() == p["root"]


user_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).filter(lambda s: len(s.encode()) <= 256)
entry_lists = st.lists(
    st.tuples(st.integers(1, 2**32 - 1), st.integers(1, 2**63 - 1)), max_size=26, unique_by=lambda e: e[0]
).map(sorted)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user_id=user_ids, salt=st.binary(min_size=32, max_size=32), entries=entry_lists)
def test_leaves_agree_on_random_inputs(user_id, salt, entries):
    assert pyverify.leaf(user_id, salt, entries) == _native.inclusion_leaf(user_id, salt, entries)
    assert pyverify.id_commitment(salt, user_id) == _native.id_commitment(salt, user_id)


canonical_digests = st.lists(st.integers(0, pyverify.P - 1), min_size=4, max_size=4).map(pyverify.digest_to_bytes)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaf=canonical_digests, path=st.lists(canonical_digests, min_size=1, max_size=8), data=st.data())
def test_paths_agree_on_random_inputs(leaf, path, data):
    index = data.draw(st.integers(0, 2 ** len(path) - 1))
    assert pyverify.walk(leaf, index, path) == _native.walk_path(leaf, index, b"".join(path))


# -- the pure-Python verifier on its own -------------------------------------------------------


def test_pure_verifier_runs_with_the_native_module_blocked(sample, rounds, tmp_path):
    doc, statement, _ = sample
    (tmp_path / "me.json").write_text(json.dumps(doc))
    script = f"""
import importlib.util, json, sys
sys.modules["stark_por._native"] = None  # any import of the extension now fails
spec = importlib.util.spec_from_file_location("pyverify", {str(PYVERIFY_FILE)!r})
pv = importlib.util.module_from_spec(spec)
sys.modules["pyverify"] = pv
spec.loader.exec_module(pv)
proof = pv.InclusionProof.from_json(open({str(tmp_path / "me.json")!r}).read())
summary = pv.Summary.load({str(summary_path(rounds["a"][1]))!r})
balances = pv.check(proof, summary, user_id={SAMPLE_USER!r}, fingerprint=bytes.fromhex({statement.fingerprint!r}))
vectors = json.load(open({str(ROOT / "tests" / "vectors" / "inclusion.json")!r}))
for leaf in vectors["leaves"]:
    assert pv.leaf(leaf["user_id"], bytes.fromhex(leaf["salt"]), leaf["entries"]).hex() == leaf["leaf"]
try:
    import stark_por  # needs the extension
    raise SystemExit("the native module was not blocked")
except ImportError:
    pass
assert not any(m.startswith("stark_por") for m in sys.modules if m != "stark_por._native")
print(json.dumps({{k: str(v) for k, v in balances.items()}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    want = verify_inclusion(json.dumps(doc), statement, user_id=SAMPLE_USER)
    assert json.loads(out.stdout) == {k: str(v) for k, v in want.items()}


def test_pyverify_is_a_standalone_script(sample, rounds, tmp_path):
    doc, statement, _ = sample
    doc = json.loads(json.dumps(doc))
    copy = tmp_path / "pyverify.py"
    copy.write_text(PYVERIFY_FILE.read_text())
    (tmp_path / "me.json").write_text(json.dumps(doc))
    (tmp_path / "round.stpor.json").write_text(summary_path(rounds["a"][1]).read_text())
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-I", str(copy), "me.json", *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    anchor = ["--summary", "round.stpor.json", "--user", SAMPLE_USER]
    ok = run(*anchor)
    assert ok.returncode == 0 and ok.stdout.startswith("INCLUDED"), ok.stdout + ok.stderr
    assert f"statement fingerprint {statement.fingerprint}" in ok.stdout and "compare it" in ok.stdout
    ok = run(*anchor, "--fingerprint", statement.fingerprint)
    assert ok.returncode == 0 and "equal to the fingerprint you gave" in ok.stdout, ok.stdout + ok.stderr
    first = doc["entries"][0]
    ok = run(*anchor, "--expect", f"{first['asset']}={first['amount']},NOPE=0")
    assert ok.returncode == 0 and "expected balances match" in ok.stdout, ok.stdout + ok.stderr
    bad = run(*anchor, "--expect", f"{first['asset']}={Decimal(first['amount']) + 1}")
    assert bad.returncode == 1 and "NOT INCLUDED (balance-mismatch)" in bad.stdout
    bad = run(*anchor, "--fingerprint", "00" * 32)
    assert bad.returncode == 1 and "NOT INCLUDED (wrong-statement)" in bad.stdout
    bad = run("--summary", "round.stpor.json", "--user", SAMPLE_USER + "x")
    assert bad.returncode == 1 and "NOT INCLUDED (wrong-user)" in bad.stdout
    for usage in (["--root", statement.root, "--user", SAMPLE_USER], anchor + ["--root", statement.root],
                  ["--summary", "round.stpor.json"], anchor + ["--fingerprint", "xyz"], anchor + ["--expect", "BTC"]):
        out = run(*usage)
        assert out.returncode == 2 and not out.stdout, (usage, out.stdout)
    assert "a root alone cannot vouch for the asset names" in run("--root", statement.root, "--user", "u").stderr
    doc["entries"][0]["amount"] = str(Decimal(doc["entries"][0]["amount"]) * 2)
    (tmp_path / "me.json").write_text(json.dumps(doc))
    bad = run(*anchor)
    assert bad.returncode == 1 and "NOT INCLUDED (leaf-mismatch)" in bad.stdout


# -- the command line -------------------------------------------------------------------------


def test_cli_export_and_verify(rounds, tmp_path, capsys):
    led, path, statement = rounds["a"]
    user = led.user_ids[5]
    me = tmp_path / "me.json"
    summary = str(summary_path(path))
    assert cli(["-q", "inclusion", "export", str(path), "--user", user, "-o", str(me)]) == 0
    for extra in ([], ["--pure"]):
        capsys.readouterr()
        assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--proof", str(path), *extra]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"INCLUDED: user {user!r}") and f"statement fingerprint {statement.fingerprint}" in out
        for asset, amount in expected_balances(led, 5).items():
            assert f"{asset}" in out and f"{amount:,f}" in out
        assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--summary", summary, *extra]) == 0
        out = capsys.readouterr().out
        assert f"statement fingerprint {statement.fingerprint}" in out and "compare it with the fingerprint" in out
        expect = ",".join(f"{a}={v:f}" for a, v in expected_balances(led, 5).items())
        assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--summary", summary,
                    "--fingerprint", statement.fingerprint, "--expect", expect, *extra]) == 0
        out = capsys.readouterr().out
        assert "equal to the fingerprint you gave" in out and "expected balances match" in out
        assert cli(["-q", "inclusion", "verify", str(me), "--user", user + "-not", "--summary", summary, *extra]) == 1
        assert "NOT INCLUDED (wrong-user)" in capsys.readouterr().out
        assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--summary", summary,
                    "--fingerprint", "ab" * 32, *extra]) == 1
        assert "NOT INCLUDED (wrong-statement)" in capsys.readouterr().out
        assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--proof", str(path),
                    "--expect", "NOPE=1", *extra]) == 1
        assert "NOT INCLUDED (balance-mismatch): NOPE: you expect 1, the proof shows 0" in capsys.readouterr().out

    doc = json.loads(me.read_text())
    doc["entries"][0]["amount"] = "123"
    me.write_text(json.dumps(doc))
    for extra in ([], ["--pure"]):
        assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--proof", str(path), *extra]) == 1
        assert "NOT INCLUDED (leaf-mismatch)" in capsys.readouterr().out
    me.write_bytes(b"\x00garbage")
    assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--summary", summary]) == 1
    assert "NOT INCLUDED (malformed)" in capsys.readouterr().out
    capsys.readouterr()
    # a bare root is refused, saying why and what to pass instead
    assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--root", statement.root]) == 2
    err = capsys.readouterr().err
    assert "cannot vouch for the asset names" in err and "--summary" in err and "--proof" in err
    assert cli(["-q", "inclusion", "verify", str(me), "--user", user]) == 2
    assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--summary", summary, "--fingerprint", "x"]) == 2
    assert cli(["-q", "inclusion", "verify", str(me), "--user", user, "--summary", summary, "--expect", "BTC=x"]) == 2
    assert cli(["-q", "inclusion", "verify", str(tmp_path / "absent.json"), "--user", user, "--summary", summary]) == 2
    with pytest.raises(SystemExit):  # argparse: --user is required
        cli(["-q", "inclusion", "verify", str(me), "--summary", summary])
    capsys.readouterr()

    assert cli(["-q", "inclusion", "export", str(path), "--all", "-o", str(tmp_path / "all.jsonl")]) == 0
    assert len((tmp_path / "all.jsonl").read_text().splitlines()) == led.num_users
    assert cli(["-q", "inclusion", "export", str(path), "--user", "nobody-here", "-o", str(me)]) == 2
    assert "is not in round" in capsys.readouterr().err
    other = rounds["b"][1]
    store = str(store_path(other))
    assert cli(["-q", "inclusion", "export", str(path), "--store", store, "--user", user, "-o", str(me)]) == 2
    assert "store of another proof" in capsys.readouterr().err
    assert cli(["-q", "inclusion", "export", str(tmp_path / "none.stpor"), "--user", user, "-o", str(me)]) == 2
