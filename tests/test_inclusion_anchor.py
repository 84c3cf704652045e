"""What an inclusion check is anchored to (issue 9, §1–2): the round's asset list, the user, the
statement fingerprint. Each finding of the review is reproduced here as the attack an exchange
would run, then refused by every verifier: the Python API (Rust core and pure Python), the CLI
and the standalone pyverify.py, against either anchor (the verified statement, the summary)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import stark_por
from stark_por import (
    Asset,
    InclusionProof,
    InvalidInclusionProof,
    InvalidSummary,
    Ledger,
    PublishedSummary,
    Statement,
    UnverifiedStatementError,
    prove,
    verify,
    verify_inclusion,
)
from stark_por import _native
from stark_por.cli import main as cli
from stark_por.inclusion import export, store_path
from stark_por.proof import summary_args, summary_path
from stark_por.verifiers import pyverify

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "inclusion.json").read_text())
PYVERIFY_FILE = ROOT / "stark_por" / "verifiers" / "pyverify.py"
BOTH = pytest.mark.parametrize("pure", [False, True], ids=["rust", "pure"])
ANCHORS = pytest.mark.parametrize("kind", ["statement", "summary"])

ASSETS = [Asset("BTC", 8), Asset("ETH", 18), Asset("DOGE", 8), Asset("SHIB", 0)]
BTC, DOGE, SHIB = 0, 2, 3  # 0-based ledger columns; DOGE is asset index 3, SHIB index 4


@pytest.fixture(scope="module")
def dishonest(tmp_path_factory):
    """A round in which the exchange entered victim's 5 BTC as 5 DOGE and grace's 1 BTC as
    1 SHIB (0 decimals), so its published BTC liabilities omit both."""
    rows = {
        "alice": [(BTC, 50_000_000), (1, 2 * 10**18)],
        "victim": [(DOGE, 5 * 10**8)],
        "grace": [(SHIB, 1)],
        "bob": [(BTC, 7)],
    }
    indptr, asset_index, amounts = [0], [], []
    for entries in rows.values():
        asset_index += [k for k, _ in entries]
        amounts += [a for _, a in entries]
        indptr.append(len(amounts))
    ledger = Ledger.from_entries(list(rows), ASSETS, np.array(indptr), np.array(asset_index), np.array(amounts))
    folder = tmp_path_factory.mktemp("dishonest")
    path = prove(ledger, secret=b"dishonest-exchange-secret-0123456", round_id="2026-11",
                 version=1).save(folder / "r.stpor")
    return SimpleNamespace(path=path, folder=folder, statement=verify(path),
                           summary=PublishedSummary.load(summary_path(path)))


def relabelled(d, user: str, name: str, decimals: int) -> str:
    """The user's honest inclusion JSON, its only entry relabelled as the exchange hands it out."""
    doc = json.loads(export(store_path(d.path), user).to_json())
    assert len(doc["entries"]) == 1
    doc["entries"][0].update(asset=name, decimals=decimals)
    return json.dumps(doc)


def anchor(d, kind: str):
    return d.statement if kind == "statement" else d.summary


RELABELS = pytest.mark.parametrize(
    "user,shown", [("victim", "BTC 5"), ("grace", "BTC 1")], ids=["5 DOGE as 5 BTC", "1 SHIB (0 decimals) as 1 BTC"]
)


# -- §1: the asset list is bound --------------------------------------------------------------


@BOTH
@ANCHORS
@RELABELS
def test_a_relabelled_entry_is_refused_by_the_api(dishonest, kind, pure, user, shown):
    decimals = 8 if user == "victim" else 0
    text = relabelled(dishonest, user, "BTC", decimals)
    # what the relabelled proof would show: the exchange's word, not the round's
    assert InclusionProof.from_json(text).balances == {"BTC": stark_por.inclusion.Decimal(shown.split()[1])}
    with pytest.raises(InvalidInclusionProof) as info:
        verify_inclusion(text, anchor(dishonest, kind), user_id=user, pure=pure,
                         fingerprint=dishonest.statement.fingerprint)
    assert info.value.reason == "asset-mismatch"
    assert "BTC" in info.value.message and ("DOGE" in info.value.message or "SHIB" in info.value.message)
    # unchanged, the same proof verifies and shows what the round really holds
    honest = export(store_path(dishonest.path), user)
    assert set(verify_inclusion(honest, anchor(dishonest, kind), user_id=user, pure=pure)) == {"DOGE", "SHIB"} - (
        {"SHIB"} if user == "victim" else {"DOGE"})


@pytest.mark.parametrize("extra", [[], ["--pure"]], ids=["rust", "pure"])
@pytest.mark.parametrize("kind", ["--proof", "--summary"])
@RELABELS
def test_a_relabelled_entry_is_refused_by_the_cli(dishonest, tmp_path, capsys, kind, extra, user, shown):
    (tmp_path / "me.json").write_text(relabelled(dishonest, user, "BTC", 8 if user == "victim" else 0))
    where = str(dishonest.path if kind == "--proof" else summary_path(dishonest.path))
    capsys.readouterr()
    assert cli(["-q", "inclusion", "verify", str(tmp_path / "me.json"), "--user", user, kind, where, *extra]) == 1
    out = capsys.readouterr().out
    assert out.startswith("NOT INCLUDED (asset-mismatch)") and "INCLUDED:" not in out


@RELABELS
def test_a_relabelled_entry_is_refused_by_pyverify(dishonest, tmp_path, user, shown):
    (tmp_path / "me.json").write_text(relabelled(dishonest, user, "BTC", 8 if user == "victim" else 0))
    out = subprocess.run(
        [sys.executable, "-I", str(PYVERIFY_FILE), str(tmp_path / "me.json"), "--user", user,
         "--summary", str(summary_path(dishonest.path)), "--fingerprint", dishonest.statement.fingerprint],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 1 and out.stdout.startswith("NOT INCLUDED (asset-mismatch)"), out.stdout + out.stderr


def test_a_bare_root_is_refused_by_every_verifier(dishonest, tmp_path, capsys):
    text = relabelled(dishonest, "victim", "BTC", 8)
    root = dishonest.statement.root
    for pure in (False, True):
        with pytest.raises(ValueError, match="cannot vouch for the asset names"):
            verify_inclusion(text, root, user_id="victim", pure=pure)
    with pytest.raises(TypeError, match="cannot vouch for the asset names"):
        pyverify.check(InclusionProof.from_json(text), bytes.fromhex(root), user_id="victim")
    (tmp_path / "me.json").write_text(text)
    assert cli(["-q", "inclusion", "verify", str(tmp_path / "me.json"), "--user", "victim", "--root", root]) == 2
    assert "cannot vouch for the asset names" in capsys.readouterr().err
    out = subprocess.run([sys.executable, "-I", str(PYVERIFY_FILE), str(tmp_path / "me.json"), "--user", "victim",
                          "--root", root], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "cannot vouch for the asset names" in out.stderr and not out.stdout


# -- §2: the user is bound --------------------------------------------------------------------


@BOTH
@ANCHORS
def test_a_proof_of_one_user_checked_as_another_is_wrong_user(dishonest, kind, pure):
    alice = export(store_path(dishonest.path), "alice")
    for other in ("bob", "victim", "Alice", "alice "):
        with pytest.raises(InvalidInclusionProof) as info:
            verify_inclusion(alice, anchor(dishonest, kind), user_id=other, pure=pure)
        assert info.value.reason == "wrong-user" and repr(other) in info.value.message.replace('"', "'")


@BOTH
def test_expected_balances_are_compared_exactly(dishonest, pure):
    alice = export(store_path(dishonest.path), "alice")
    ok = dict(user_id="alice", pure=pure)
    verify_inclusion(alice, dishonest.summary, expect={"BTC": "0.5", "ETH": "2.000", "DOGE": "0"}, **ok)
    verify_inclusion(alice, dishonest.summary, expect={"ETH": 2, "XRP": "0"}, **ok)
    for expect, named in [({"BTC": "0.50000001"}, "BTC"), ({"DOGE": "1"}, "DOGE"), ({"XRP": "1"}, "XRP")]:
        with pytest.raises(InvalidInclusionProof) as info:
            verify_inclusion(alice, dishonest.summary, expect=expect, **ok)
        assert info.value.reason == "balance-mismatch" and info.value.message.startswith(f"{named}: you expect")


# -- the summary and its fingerprint ----------------------------------------------------------


def summary_doc(d) -> dict:
    return json.loads(summary_path(d.path).read_text())


def test_the_summary_carries_every_fingerprinted_field(dishonest):
    doc = summary_doc(dishonest)
    assert doc["statement_version"] == 1 and doc["fingerprint"] == dishonest.statement.fingerprint
    assert dishonest.summary.fingerprint == dishonest.statement.fingerprint
    assert pyverify.Summary.from_json(json.dumps(doc)).fingerprint().hex() == dishonest.statement.fingerprint
    for field in ("round_id", "range_bits", "num_leaves", "root"):
        assert getattr(dishonest.summary, field) == getattr(dishonest.statement, field)
    assert dishonest.summary.totals == dishonest.statement.totals
    assert dishonest.summary.assets == dishonest.statement.assets


@pytest.mark.parametrize("fingerprint_field", ["kept", "recomputed"])
def test_a_summary_with_one_total_changed_fails_its_fingerprint(dishonest, tmp_path, capsys, fingerprint_field):
    """The exchange lowers its published BTC total. Kept, the summary's own fingerprint field
    disagrees (malformed); recomputed to match, it is not the fingerprint it published."""
    doc = summary_doc(dishonest)
    btc = doc["assets"][0]
    btc["total_units"] = str(int(btc["total_units"]) - 7)
    btc["total"] = str(stark_por.inclusion.Decimal(btc["total_units"]).scaleb(-8))
    if fingerprint_field == "recomputed":
        doc["fingerprint"] = pyverify.Summary.from_json(json.dumps(doc)).fingerprint().hex()
    want = "malformed" if fingerprint_field == "kept" else "wrong-statement"
    published = dishonest.statement.fingerprint
    (tmp_path / "r.stpor.json").write_text(json.dumps(doc))
    bob = export(store_path(dishonest.path), "bob")
    bob.save(tmp_path / "bob.json")

    def api(pure):
        if fingerprint_field == "kept":
            with pytest.raises(InvalidSummary) as info:
                PublishedSummary.load(tmp_path / "r.stpor.json")
            return info.value.reason
        with pytest.raises(InvalidInclusionProof) as info:
            verify_inclusion(bob, PublishedSummary.load(tmp_path / "r.stpor.json"), user_id="bob",
                             fingerprint=published, pure=pure)
        return info.value.reason

    assert api(False) == api(True) == want
    for extra in ([], ["--pure"]):
        capsys.readouterr()
        assert cli(["-q", "inclusion", "verify", str(tmp_path / "bob.json"), "--user", "bob",
                    "--summary", str(tmp_path / "r.stpor.json"), "--fingerprint", published, *extra]) == 1
        assert capsys.readouterr().out.startswith(f"NOT INCLUDED ({want})")
    out = subprocess.run([sys.executable, "-I", str(PYVERIFY_FILE), str(tmp_path / "bob.json"), "--user", "bob",
                          "--summary", str(tmp_path / "r.stpor.json"), "--fingerprint", published],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stdout.startswith(f"NOT INCLUDED ({want})"), out.stdout + out.stderr


SUMMARY_TAMPERS = {
    "not JSON": (lambda d: "{", "malformed"),
    "a list": (lambda d: [], "malformed"),
    "statement version 4": (lambda d: d.update(statement_version=4), "unknown-version"),
    # the version is under the fingerprint: the same fields read as version 2 give another one
    "statement version 2": (lambda d: d.update(statement_version=2), "malformed"),
    "no root": (lambda d: d.pop("root"), "malformed"),
    "root not canonical": (lambda d: d.update(root="ff" * 32), "malformed"),
    "tree size not a power of two": (lambda d: d.update(num_leaves=6), "malformed"),
    "range bound 64": (lambda d: d.update(range_bits=64), "malformed"),
    "round id empty": (lambda d: d.update(round_id=""), "malformed"),
    "asset listed twice": (lambda d: d["assets"].append(dict(d["assets"][0])), "malformed"),
    "asset name with a comma": (lambda d: d["assets"][0].update(asset="B,TC"), "malformed"),
    "31 decimals": (lambda d: d["assets"][0].update(decimals=31), "malformed"),
    "total negative": (lambda d: d["assets"][0].update(total_units="-1"), "malformed"),
    "total with a leading zero": (lambda d: d["assets"][0].update(total_units="01"), "malformed"),
    "total as a number": (lambda d: d["assets"][0].update(total_units=5), "malformed"),
    "display total disagrees": (lambda d: d["assets"][0].update(total="1"), "malformed"),
    "fingerprint not hex": (lambda d: d.update(fingerprint="xyz"), "malformed"),
    "fingerprint of another statement": (lambda d: d.update(fingerprint="00" * 32), "malformed"),
    "no assets": (lambda d: d.update(assets=[]), "malformed"),
}


@pytest.mark.parametrize("name", sorted(SUMMARY_TAMPERS))
def test_a_bad_summary_is_refused_by_both_loaders(dishonest, name):
    tamper, want = SUMMARY_TAMPERS[name]
    doc = summary_doc(dishonest)
    changed = tamper(doc)
    text = json.dumps(doc if changed is None else changed) if not isinstance(changed, str) else changed
    with pytest.raises(InvalidSummary) as info:
        PublishedSummary.from_json(text)
    assert info.value.reason == want, info.value.message
    with pytest.raises(pyverify.Rejected) as rejected:
        pyverify.check_summary(pyverify.Summary.from_json(text))
    assert rejected.value.reason == want


def test_old_summaries_without_a_fingerprint_still_anchor(dishonest):
    """Summaries written before this release lack statement_version and fingerprint: the
    fingerprint is computed, and shown for the user to compare."""
    doc = summary_doc(dishonest)
    del doc["statement_version"], doc["fingerprint"]
    old = PublishedSummary.from_json(json.dumps(doc))
    assert old.fingerprint == dishonest.statement.fingerprint
    bob = export(store_path(dishonest.path), "bob")
    for pure in (False, True):
        verify_inclusion(bob, old, user_id="bob", fingerprint=dishonest.statement.fingerprint, pure=pure)


# -- a Statement that did not come from a verification ----------------------------------------


@BOTH
def test_a_statement_not_from_a_verification_is_refused(dishonest, pure):
    bob = export(store_path(dishonest.path), "bob")
    s = dishonest.statement
    assert s.verified
    by_hand = Statement(round_id=s.round_id, assets=s.assets, totals=dict(s.totals), root=s.root,
                        num_leaves=s.num_leaves, range_bits=s.range_bits, security_bits=128)
    changed = dataclasses.replace(s, totals={**s.totals, "BTC": 0})
    read = stark_por.Proof.load(dishonest.path).statement
    for unverified in (by_hand, changed, read):
        assert not unverified.verified
        with pytest.raises(UnverifiedStatementError, match="stark_por.verify"):
            verify_inclusion(bob, unverified, user_id="bob", pure=pure)
    assert by_hand.fingerprint == s.fingerprint and changed.fingerprint != s.fingerprint
    verify_inclusion(bob, s, user_id="bob", pure=pure)


# -- the vectors: Rust (who wrote them), the Python API and pyverify agree --------------------


def test_fingerprint_vectors_agree():
    shapes = VECTORS["fingerprints"]
    assert len(shapes) >= 4 and any(len(v["assets"]) == 1 for v in shapes)
    assert any(int(a["total_units"]) >= 2**64 for v in shapes for a in v["assets"])
    assert any(len(v["round_id"].encode()) == 256 for v in shapes)
    for v in shapes:
        text = json.dumps(v)
        assert PublishedSummary.from_json(text).fingerprint == v["fingerprint"]
        s = pyverify.Summary.from_json(text)
        assert pyverify.check_summary(s).hex() == v["fingerprint"]


@pytest.mark.parametrize("case", range(len(VECTORS["checks"])))
def test_inclusion_vectors_agree(case):
    v = VECTORS["checks"][case]
    p = v["proof"]
    proof = InclusionProof(
        round_id=p["round_id"], user_id=p["user_id"], salt=bytes.fromhex(p["salt"]),
        entries=tuple(pyverify.Entry(*e) for e in p["entries"]), leaf_index=p["leaf_index"],
        num_leaves=p["num_leaves"], leaf=bytes.fromhex(p["leaf"]), root=bytes.fromhex(p["root"]),
        path=tuple(bytes.fromhex(s) for s in p["path"]),
    )
    proof = InclusionProof.from_json(proof.to_json())  # through the JSON format
    text = json.dumps(v["summary"])
    outcomes = []
    for pure in (False, True):
        try:
            verify_inclusion(proof, PublishedSummary.from_json(text), user_id=v["user_id"],
                             fingerprint=v["fingerprint"], pure=pure)
            outcomes.append(None)
        except InvalidInclusionProof as e:
            outcomes.append(e.reason)
    try:
        pyverify.check(proof, pyverify.Summary.from_json(text), user_id=v["user_id"],
                       fingerprint=None if v["fingerprint"] is None else bytes.fromhex(v["fingerprint"]))
        outcomes.append(None)
    except pyverify.Rejected as e:
        outcomes.append(e.reason)
    assert outcomes == [v["reason"]] * 3


def test_the_inclusion_vectors_cover_every_anchor_reason():
    reasons = {v["reason"] for v in VECTORS["checks"]}
    assert {None, "wrong-user", "wrong-statement", "asset-mismatch", "wrong-round", "root-mismatch"} <= reasons
    assert all(v["user_id"] for v in VECTORS["checks"])


# -- hypothesis: the fingerprint binds every field, Rust and pyverify agree -------------------

names = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_$"), min_size=1, max_size=32)
round_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=80).filter(
    lambda s: len(s.encode()) <= 256)
totals = st.one_of(st.integers(0, 2**64), st.integers(0, 2**128), st.integers(0, 10**4096 - 1))
canonical_roots = st.lists(st.integers(0, pyverify.P - 1), min_size=4, max_size=4).map(
    lambda d: pyverify.digest_to_bytes(d).hex())


@st.composite
def summaries(draw) -> dict:
    asset_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    return {
        "round_id": draw(round_ids),
        "range_bits": draw(st.integers(32, 63)),
        "num_leaves": 2 ** draw(st.integers(1, 40)),
        "root": draw(canonical_roots),
        "assets": [{"asset": n, "decimals": draw(st.integers(0, 30)), "total_units": str(draw(totals))}
                   for n in asset_names],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=summaries())
def test_rust_and_pyverify_fingerprints_agree(doc):
    text = json.dumps(doc)
    rust = PublishedSummary.from_json(text)
    assert rust.fingerprint == pyverify.check_summary(pyverify.Summary.from_json(text)).hex()
    # the fingerprint field, once written, is checked by both
    with_field = json.dumps({**doc, "fingerprint": rust.fingerprint, "statement_version": 1})
    assert PublishedSummary.from_json(with_field).fingerprint == rust.fingerprint


def _tamper(doc: dict, field: str, data) -> None:
    k = data.draw(st.integers(0, len(doc["assets"]) - 1))
    a = doc["assets"][k]
    if field == "round_id":
        doc["round_id"] = data.draw(round_ids.filter(lambda r: r != doc["round_id"]))
    elif field == "range_bits":
        doc["range_bits"] = data.draw(st.integers(32, 63).filter(lambda b: b != doc["range_bits"]))
    elif field == "num_leaves":
        doc["num_leaves"] = 2 ** data.draw(st.integers(1, 40).filter(lambda e: 2**e != doc["num_leaves"]))
    elif field == "root":
        doc["root"] = data.draw(canonical_roots.filter(lambda r: r != doc["root"]))
    elif field == "asset":
        taken = {x["asset"] for x in doc["assets"]}
        a["asset"] = data.draw(names.filter(lambda n: n not in taken))
    elif field == "decimals":
        a["decimals"] = data.draw(st.integers(0, 30).filter(lambda d: d != a["decimals"]))
    elif field == "total_units":
        a["total_units"] = str(data.draw(totals.filter(lambda t: str(t) != a["total_units"])))
    elif field == "order":
        doc["assets"].append(doc["assets"].pop(0))
    elif field == "dropped asset":
        doc["assets"].pop(k)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=summaries(), field=st.sampled_from(["round_id", "range_bits", "num_leaves", "root", "asset", "decimals",
                                               "total_units", "order", "dropped asset"]), data=st.data())
def test_tampering_any_summary_field_changes_the_fingerprint(doc, field, data):
    before = PublishedSummary.from_json(json.dumps(doc)).fingerprint
    changed = json.loads(json.dumps(doc))
    if field in ("order", "dropped asset"):
        data.draw(st.just(None))
        if len(doc["assets"]) < 2:
            return
    _tamper(changed, field, data)
    if changed == doc:  # an order change of identical assets cannot happen: names are unique
        return
    after = PublishedSummary.from_json(json.dumps(changed)).fingerprint
    assert after != before
    assert pyverify.Summary.from_json(json.dumps(changed)).fingerprint().hex() == after
    # the summary with its old fingerprint field is refused
    with pytest.raises(InvalidSummary) as info:
        PublishedSummary.from_json(json.dumps({**changed, "fingerprint": before}))
    assert info.value.reason == "malformed"


def test_the_native_fingerprint_refuses_out_of_domain_statements():
    good = SimpleNamespace(round_id="r", range_bits=62, num_leaves=2, root="00" * 32,
                           assets=(Asset("BTC", 8),), totals={"BTC": 1})
    assert len(_native.statement_fingerprint(summary_args(good))) == 32
    for bad in (dict(round_id=""), dict(range_bits=31), dict(num_leaves=3), dict(root="ff" * 32)):
        with pytest.raises(ValueError):
            _native.statement_fingerprint(summary_args(SimpleNamespace(**{**vars(good), **bad})))
