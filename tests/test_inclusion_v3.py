"""Inclusion proofs of statement version 3 (margin): each entry an equity or a debt, and the
collateral check the round's proof enforced for the user, recomputed by every verifier from the
round's prices and haircuts. The Rust-made vectors of ``tests/vectors/inclusion_v3.json``
reproduced by the Rust core (through the binding) and by pyverify; rounds built here through the
inclusion store and checked by both against the published summary; every tamper (an amount, a
kind, a price, a haircut, the unit of value, a debt total, the path) refused by each with the
same reason; the CLI and pyverify showing equity, debt and the values in USD. The browser's side
is in ``tests/test_page.py``."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings, strategies as st

from stark_por import Asset, InclusionProof, InvalidInclusionProof, PublishedSummary, verify_inclusion
from stark_por import _native
from stark_por.cli import main as cli
from stark_por.errors import InvalidSummary
from stark_por.inclusion import InclusionStore, Position, export, export_all, load_inclusion
from stark_por.verifiers import pyverify

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "inclusion_v3.json").read_text())
PYVERIFY_FILE = ROOT / "stark_por" / "verifiers" / "pyverify.py"
MAX = 2**112 - 1
KIND = {"equity": 0, "debt": 1}


# -- the vectors: Rust (who wrote them), the Rust core through the binding, pyverify ----------


def test_the_vectors_cover_the_boundaries_and_every_reason():
    elements = {(int(e["amount"]), e["kind"]) for e in VECTORS["entry_elements"]}
    for amount in (2**62, 2**64, MAX):
        assert any(a == amount for a, _ in elements)
    assert {k for _, k in elements} == {"equity", "debt"}
    reasons = {c["reason"] for c in VECTORS["checks"]}
    assert {None, "uncovered", "wrong-user", "wrong-statement", "version-mismatch", "asset-mismatch", "leaf-mismatch",
            "path-mismatch", "malformed"} <= reasons
    included = [c for c in VECTORS["checks"] if c["reason"] is None and c["position"] is not None]
    borrowers = [c for c in included if any(e[3] == "debt" for e in c["proof"]["entries"])]
    debt_free = [c for c in included if all(e[3] == "equity" for e in c["proof"]["entries"])]
    assert borrowers and debt_free
    assert any(c["position"]["collateral_value"] == c["position"]["debt_value"] != "0" for c in borrowers), "equality"
    amounts = {int(e[4]) for c in VECTORS["checks"] for e in c["proof"]["entries"]}
    assert {2**62, 2**64, MAX} <= amounts
    haircuts = {c["haircut"] for c in VECTORS["coefficients"]}
    assert {"0", "1"} <= haircuts and max(len(c["price"]) for c in VECTORS["coefficients"]) >= 19
    summary = VECTORS["checks"][0]["summary"]
    assert any(a["price"] is None for a in summary["assets"]), "an unpriced asset"
    assert all(c["summary"]["statement_version"] == 3 or c["reason"] == "version-mismatch" for c in VECTORS["checks"])


def test_entry_elements_agree():
    for v in VECTORS["entry_elements"]:
        got = pyverify.entry_elements_2(v["asset"], int(v["amount"]), KIND[v["kind"]])
        assert [str(x) for x in got] == v["elements"]
        equity = pyverify.entry_elements_2(v["asset"], int(v["amount"]))
        assert got[0] == equity[0] and got[1] - equity[1] == KIND[v["kind"]]  # the kind is the tag's low bit


def test_leaf_vectors_agree():
    for v in VECTORS["leaves"]:
        salt = bytes.fromhex(v["salt"])
        entries = [(a, int(m)) for a, m, _ in v["entries"]]
        kinds = [KIND[k] for *_, k in v["entries"]]
        assert pyverify.leaf(v["user_id"], salt, [(a, m, k) for (a, m), k in zip(entries, kinds)], version=3).hex() == v["leaf"]
        assert _native.inclusion_leaf(v["user_id"], salt, entries, 3, kinds).hex() == v["leaf"]
        if any(kinds):  # a debt is not an equity: version 2's leaf of the same amounts differs
            ordered = sorted(set(a for a, _ in entries)) == [a for a, _ in entries]
            if ordered:
                assert pyverify.leaf(v["user_id"], salt, entries, version=2).hex() != v["leaf"]
            with pytest.raises(InvalidInclusionProof):
                _native.inclusion_leaf(v["user_id"], salt, entries, 2, kinds)


def exact_coefficients(price: str, haircut: str, decimals: int, unit_exp: int) -> tuple:
    """The coefficients from the documented formulas, with fractions (not pyverify's code)."""
    scale = Fraction(10) ** (unit_exp - decimals)
    collateral = Fraction(price) * (1 - Fraction(haircut)) * scale
    debt = Fraction(price) * scale
    return collateral.numerator // collateral.denominator, -(-debt.numerator // debt.denominator)


def test_coefficient_vectors_agree():
    for v in VECTORS["coefficients"]:
        want = (int(v["collateral"]), int(v["debt"]))
        args = (v["price"], v["haircut"], v["decimals"], v["unit_exp"])
        assert pyverify.fold_price(*args) == want == exact_coefficients(*args), v


def test_fingerprint_vectors_agree():
    for v in VECTORS["fingerprints"]:
        text = json.dumps(v)
        rust = PublishedSummary.from_json(text)
        assert (rust.fingerprint, rust.statement_version) == (v["fingerprint"], 3)
        assert rust.value_unit_exp == v["value_unit_exp"]
        assert rust.debt_totals == {a["asset"]: int(a["debt_units"]) for a in v["assets"]}
        assert rust.prices == {a["asset"]: (a["price"], a["haircut"]) for a in v["assets"] if a["price"] is not None}
        assert pyverify.check_summary(pyverify.Summary.from_json(text)).hex() == v["fingerprint"]
        # the margin is under the fingerprint: the same fields as version 2 give another one
        as_v2 = {**v, "statement_version": 2}
        del as_v2["fingerprint"]
        assert PublishedSummary.from_json(json.dumps(as_v2)).fingerprint != v["fingerprint"]


@pytest.mark.parametrize("case", range(len(VECTORS["bad_summaries"])))
def test_summaries_out_of_version_3_domain_are_refused_by_both(case):
    v = VECTORS["bad_summaries"][case]
    text = json.dumps(v["summary"])
    with pytest.raises(InvalidSummary) as info:
        PublishedSummary.from_json(text)
    assert info.value.reason == v["reason"]
    with pytest.raises(pyverify.Rejected) as rejected:
        pyverify.check_summary(pyverify.Summary.from_json(text))
    assert rejected.value.reason == v["reason"]


def vector_proof(p: dict) -> InclusionProof:
    return InclusionProof(
        version=p["version"], round_id=p["round_id"], user_id=p["user_id"], salt=bytes.fromhex(p["salt"]),
        entries=tuple(pyverify.Entry(a, k, d, int(m), KIND[kind]) for a, k, d, kind, m in p["entries"]),
        leaf_index=p["leaf_index"], num_leaves=p["num_leaves"], leaf=bytes.fromhex(p["leaf"]),
        root=bytes.fromhex(p["root"]), path=tuple(bytes.fromhex(s) for s in p["path"]),
    )


def outcomes(text: str, summary_text: str, user_id: str, fingerprint=None, expect=None) -> list:
    """The verdict of the Rust core, of the Python API's pure path and of pyverify's check: the
    reason, or (for an included proof of version 3) its two values."""
    def verdict(result):
        return (str(result.collateral_value), str(result.debt_value)) if isinstance(result, Position) else None

    out = []
    for pure in (False, True):
        try:
            out.append(verdict(verify_inclusion(text, PublishedSummary.from_json(summary_text), user_id=user_id,
                                                fingerprint=fingerprint, expect=expect, pure=pure)))
        except InvalidInclusionProof as e:
            out.append(e.reason)
        except InvalidSummary as e:
            out.append(e.reason)
    try:
        exp = None if expect is None else {a: Decimal(v) for a, v in expect.items()}
        out.append(verdict(pyverify.check(InclusionProof.from_json(text), pyverify.Summary.from_json(summary_text),
                                          user_id=user_id, expect=exp,
                                          fingerprint=None if fingerprint is None else bytes.fromhex(fingerprint))))
    except pyverify.Rejected as e:
        out.append(e.reason)
    return out


@pytest.mark.parametrize("case", range(len(VECTORS["checks"])))
def test_inclusion_vectors_agree(case):
    v = VECTORS["checks"][case]
    text = vector_proof(v["proof"]).to_json()  # through the JSON format
    doc = json.loads(text)
    assert doc["version"] == v["proof"]["version"]
    if doc["version"] == 3:
        assert [e["kind"] for e in doc["entries"]] == [e[3] for e in v["proof"]["entries"]]
    else:
        assert all("kind" not in e for e in doc["entries"])
    if v["reason"] is not None:
        want = v["reason"]
    elif v["position"] is not None:
        want = (v["position"]["collateral_value"], v["position"]["debt_value"])
    else:
        want = None
    assert outcomes(text, json.dumps(v["summary"]), v["user_id"], v["fingerprint"]) == [want] * 3


def test_a_borrower_sees_equity_debt_and_both_values_in_usd():
    v = next(c for c in VECTORS["checks"] if c["user_id"] == "borrower" and c["reason"] is None)
    text = vector_proof(v["proof"]).to_json()
    summary = PublishedSummary.from_json(json.dumps(v["summary"]))
    for pure in (False, True):
        p = verify_inclusion(text, summary, user_id="borrower", fingerprint=v["fingerprint"], pure=pure)
        assert isinstance(p, Position) and p.covered and p.unit_exp == 27
        assert p.equity == {"BTC": Decimal("0.5"), "USDT": Decimal(1000)}
        assert p.debt == {"ETH": Decimal(5), "USDT": Decimal(20000)}
        # 0.5 BTC at $97,000.5 less 5 % + $1,000; 5 ETH at $3,500.123456789 + $20,000
        assert p.collateral_usd == "47075.2375" and p.debt_usd == "37500.617283945"
        assert Decimal(p.collateral_usd) == Decimal("0.5") * Decimal("97000.5") * Decimal("0.95") + 1000
    # expected balances: an equity under the asset's name, a debt as <asset>.debt
    assert outcomes(text, json.dumps(v["summary"]), "borrower", expect={"BTC": "0.5", "ETH.debt": "5", "ETH": "0"})[0] is not None
    got = outcomes(text, json.dumps(v["summary"]), "borrower", expect={"USDT.debt": "20000.000001"})
    assert got == ["balance-mismatch"] * 3


def test_the_user_at_equality_is_covered_and_one_unit_more_is_not():
    v = next(c for c in VECTORS["checks"] if c["user_id"] == "equal" and c["reason"] is None)
    assert v["position"]["collateral_value"] == v["position"]["debt_value"]
    # the same user with one wei more of debt in a round that holds it: a round of one user
    proof = vector_proof(v["proof"])
    entries = [(e.index, e.units + (e.kind == 1), e.kind) for e in proof.entries]
    r = build_round({"equal": entries}, ASSETS, PRICES, seed=3)
    assert outcomes(r.proofs["equal"], r.summary, "equal") == ["uncovered"] * 3


# -- rounds built here: the store writes version-3 proofs with kinds --------------------------

ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("SHIB", 18), Asset("ILLQ", 0), Asset("XRP", 6))
PRICES = (("97000.5", "0.05"), ("3500.123456789", "0.1"), ("1", "0"), ("0.000022", "0.5"), ("1.5", "1"), None)


def build_round(users: dict, assets=ASSETS, prices=PRICES, round_id: str = "2026-12", tmp_path: Path = None,
                seed: int = 1, unit_exp: int = 27):
    """A version-3 round over ``users`` (id -> [(1-based asset, amount, kind)], sorted) hashed by
    the Rust core, its inclusion store (kinds recorded), its summary JSON and each user's proof."""
    import tempfile

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
            entries = users[ids[u]]
            tree[n + j] = _native.inclusion_leaf(ids[u], salts[u], [(a, v) for a, v, _ in entries], 3,
                                                 [k for *_, k in entries])
        else:
            tree[n + j] = _native.inclusion_leaf("", rng.randbytes(32), [], 3)
    for i in range(n - 1, 0, -1):
        tree[i] = pyverify.node(tree[2 * i], tree[2 * i + 1])
    flat = [(u, e) for u in ids for e in users[u]]
    indptr = np.cumsum([0] + [len(users[u]) for u in ids]).astype(np.uint64)
    statement = SimpleNamespace(round_id=round_id, root=tree[1].hex(), num_leaves=n, assets=assets, statement_version=3)
    folder = Path(tmp_path or tempfile.mkdtemp())
    store = InclusionStore.write(
        folder / f"{round_id}-{seed}.db", statement=statement, user_ids=ids, positions=np.array(positions, dtype=np.uint64),
        salts=b"".join(salts), tree=b"".join(tree), indptr=indptr,
        asset_index=np.array([a - 1 for _, (a, _, _) in flat], dtype=np.uint32),
        amounts_lo=np.array([v & (2**64 - 1) for _, (_, v, _) in flat], dtype=np.uint64),
        amounts_hi=np.array([v >> 64 for _, (_, v, _) in flat], dtype=np.uint64),
        kinds=np.array([k for _, (_, _, k) in flat], dtype=np.uint8))
    total = lambda k, kind: sum(v for _, (a, v, t) in flat if a == k + 1 and t == kind)  # noqa: E731
    summary = {"statement_version": 3, "round_id": round_id, "range_bits": 112, "num_leaves": n, "root": tree[1].hex(),
               "value_unit_exp": unit_exp,
               "assets": [{"asset": a.name, "decimals": a.decimals, "total_units": str(total(k, 0)),
                           "debt_units": str(total(k, 1)), "price": p and p[0], "haircut": p and p[1]}
                          for k, (a, p) in enumerate(zip(assets, prices))]}
    with InclusionStore(store) as st_:
        proofs = {u: export(st_, u).to_json() for u in ids}
    return SimpleNamespace(store=store, summary=json.dumps(summary), proofs=proofs, users=users, ids=ids,
                           fingerprint=PublishedSummary.from_json(json.dumps(summary)).fingerprint)


def coverage(entries, assets=ASSETS, prices=PRICES, unit_exp: int = 27) -> tuple:
    """(collateral value, debt value) from the documented formulas, independently of pyverify."""
    coef = [(0, 1) if p is None else exact_coefficients(p[0], p[1], a.decimals, unit_exp) for a, p in zip(assets, prices)]
    collateral = sum(coef[a - 1][0] * v for a, v, k in entries if k == 0)
    debt = sum(coef[a - 1][1] * v for a, v, k in entries if k == 1)
    return collateral, debt


USERS = {
    "borrower": [(1, 50_000_000, 0), (2, 5 * 10**18, 1), (3, 10**9, 0), (3, 2 * 10**10, 1)],
    "debt-free": [(1, 2**64, 0), (2, MAX, 0), (6, 2**62, 0)],
    "dummy": [(1, 2 * 10**8, 1), (5, MAX, 0)],  # 2 BTC owed against an illiquid token (haircut 1)
    "nobody": [],
    "shib": [(4, MAX, 0), (4, 2**100, 1)],
}


@pytest.fixture(scope="module")
def round_v3(tmp_path_factory):
    return build_round(USERS, tmp_path=tmp_path_factory.mktemp("v3"))


def test_the_store_exports_version_3_proofs_with_kinds(round_v3):
    with InclusionStore(round_v3.store) as store:
        assert store.statement_version == 3 and len(store) == len(USERS)
        for user, entries in USERS.items():
            proof = export(store, user)
            assert proof.version == 3
            assert [(e.index, e.units, e.kind) for e in proof.entries] == entries
            doc = json.loads(proof.to_json())
            assert [e["kind"] for e in doc["entries"]] == [["equity", "debt"][k] for *_, k in entries]
            collateral, debt = coverage(entries)
            want = [(str(collateral), str(debt))] * 3 if collateral >= debt else ["uncovered"] * 3
            assert outcomes(round_v3.proofs[user], round_v3.summary, user, round_v3.fingerprint) == want, user
    assert outcomes(round_v3.proofs["dummy"], round_v3.summary, "dummy")[0] == "uncovered"


def test_export_all_writes_version_3_lines(round_v3, tmp_path):
    out = tmp_path / "all.jsonl"
    assert export_all(round_v3.store, out) == len(USERS)
    lines = {d["user_id"]: d for d in map(json.loads, out.read_text().splitlines())}
    assert {d["version"] for d in lines.values()} == {3}
    assert [(e["asset"], e["kind"], e["amount"]) for e in lines["borrower"]["entries"]] == [
        ("BTC", "equity", "0.5"), ("ETH", "debt", "5"), ("USDT", "equity", "1000"), ("USDT", "debt", "20000")]


def test_a_store_of_version_2_stays_as_it_was(tmp_path):
    """A round of statement version 2 writes a store of version 2 (pairs, no kind), and a debt
    is refused there."""
    import sqlite3

    statement = SimpleNamespace(round_id="v2", root="00" * 32, num_leaves=2, assets=ASSETS[:1], statement_version=2)
    args = dict(statement=statement, user_ids=["a"], positions=np.array([0], dtype=np.uint64), salts=b"\1" * 32,
                tree=b"\0" * 128, indptr=np.array([0, 1], dtype=np.uint64), asset_index=np.array([0], dtype=np.uint32),
                amounts=np.array([5], dtype=np.uint64))
    path = InclusionStore.write(tmp_path / "v2.db", **args, kinds=np.array([0], dtype=np.uint8))
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM meta").fetchone() == (2,)
    assert db.execute("SELECT entries FROM users").fetchone() == ("[[1,5]]",)
    db.close()
    with pytest.raises(ValueError, match="statement version 3"):
        InclusionStore.write(tmp_path / "v2-debt.db", **args, kinds=np.array([1], dtype=np.uint8))


# -- every tamper, refused by every verifier with the same reason -----------------------------

amounts = st.one_of(
    st.sampled_from([1, 2**62 - 1, 2**62, 2**62 + 1, 2**64 - 1, 2**64, 2**64 + 1, 250_000 * 10**18, MAX - 1, MAX]),
    st.integers(1, MAX),
    st.integers(1, 10**9),
)
def decimal_text(whole: int, frac: int, zeros: int) -> str:
    """A canonical decimal: ``whole``, then (when ``frac`` > 0) a fraction of ``zeros`` zeros and
    ``frac``'s digits without trailing zeros."""
    digits = str(frac).rstrip("0")
    return f"{whole}.{'0' * zeros}{digits}" if frac else str(whole)


def decimals_below(whole_max: int):
    return st.builds(decimal_text, st.integers(0, whole_max), st.integers(0, 10**12), st.integers(0, 8))


canonical = decimals_below(100_000).map(lambda s: "0.5" if s == "0" else s)
haircuts = st.one_of(st.sampled_from(["0", "1", "0.05", "0.5"]), decimals_below(0))
#: per asset (ASSETS' decimals), prices whose debt coefficient stays below 2^91
PRICE_RANGE = (1_000_000, 1_000_000_000, 10**9, 10**9, 1, 10**9)


@st.composite
def margin_rounds(draw):
    """Users with equity and debt in 6 assets (XRP unpriced: nobody owes it), prices drawn; the
    user "me" holds or owes something."""
    prices = [draw(st.tuples(decimals_below(PRICE_RANGE[k]).map(lambda s: "0.5" if s == "0" else s), haircuts)) if k < 5 else None
              for k in range(6)]

    def user():
        held = draw(st.dictionaries(st.integers(1, 6), amounts, max_size=6))
        owed = draw(st.dictionaries(st.integers(1, 5), amounts, max_size=3))
        return sorted([(a, v, 0) for a, v in held.items()] + [(a, v, 1) for a, v in owed.items()], key=lambda e: (e[0], e[2]))

    users = {"me": user()}
    assume(users["me"])
    for k in range(draw(st.integers(0, 2))):
        users[f"other-{k}"] = user()
    return users, tuple(prices)


def _valid(prices) -> bool:
    try:
        pyverify.coefficients(pyverify.Summary("r", 112, 2, b"\0" * 32, tuple((a.name, a.decimals) for a in ASSETS),
                                               (0,) * 6, None, 3, 27, (0,) * 6, prices))
        return True
    except pyverify.Rejected:
        return False


TAMPERS = ["amount", "kind", "price", "haircut", "unit_exp", "debt total", "path"]


def _summary_change(summary: dict, field: str, data) -> bool:
    """Changes one margin field of a summary in its domain; False when it cannot."""
    assets = summary["assets"]
    priced = [a for a in assets if a["price"] is not None]
    if field == "unit_exp":
        summary["value_unit_exp"] = data.draw(st.sampled_from([26, 28, 0]))
    elif field == "debt total":
        a = data.draw(st.sampled_from([a for a in assets if a["price"] is not None]))
        a["debt_units"] = str(int(a["debt_units"]) + data.draw(st.sampled_from([1, -1]))) if a["debt_units"] != "0" else "1"
    elif field in ("price", "haircut"):
        if not priced:
            return False
        a = data.draw(st.sampled_from(priced))
        a[field] = data.draw((canonical if field == "price" else haircuts).filter(lambda x: x != a[field]))
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(drawn=margin_rounds(), field=st.sampled_from(TAMPERS), data=st.data())
def test_any_tamper_is_refused_by_every_verifier_with_its_reason(tmp_path, drawn, field, data):
    users, prices = drawn
    assume(_valid(prices))
    # no one owes an unpriced asset: drop such debts, as the prover refuses them
    users = {u: [e for e in es if not (e[2] == 1 and prices[e[0] - 1] is None)] for u, es in users.items()}
    r = build_round(users, prices=prices, tmp_path=tmp_path, seed=data.draw(st.integers(0, 99)))
    honest = r.proofs["me"]
    collateral, debt = coverage(users["me"], prices=prices)
    want = (str(collateral), str(debt)) if collateral >= debt else "uncovered"
    event("honest: " + ("uncovered" if want == "uncovered" else "borrower" if debt else "no debt"))
    assert outcomes(honest, r.summary, "me", r.fingerprint) == [want] * 3
    doc = json.loads(honest)
    if field in ("amount", "kind", "path"):
        entries = doc["entries"]
        if field == "path":
            level = data.draw(st.integers(0, len(doc["path"]) - 1))
            raw = bytearray(base64.b64decode(doc["path"][level]))
            raw[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
            doc["path"][level] = base64.b64encode(bytes(raw)).decode()
            reason = "path-mismatch" if pyverify.digest_from_bytes(bytes(raw)) is not None else "malformed"
        elif not entries:
            return
        else:
            k = data.draw(st.integers(0, len(entries) - 1))
            e = entries[k]
            if field == "amount":
                units = load_inclusion(honest).entries[k].units
                new = data.draw(amounts.filter(lambda v: v != units))
                e["amount"] = pyverify.Entry(e["asset"], e["index"], e["decimals"], new).amount_text
                reason = "leaf-mismatch"
            else:
                e["kind"] = "equity" if e["kind"] == "debt" else "debt"
                keys = [(x["index"], x["kind"]) for x in entries]
                # an equity and a debt of one asset flipped: out of order (or twice the same)
                reason = "leaf-mismatch" if keys == sorted(set(keys), key=lambda t: (t[0], KIND[t[1]])) else "malformed"
        event(f"{field}: {reason}")
        assert outcomes(json.dumps(doc), r.summary, "me", r.fingerprint) == [reason] * 3, field
        return
    summary = json.loads(r.summary)
    if not _summary_change(summary, field, data):
        return
    # a summary changed under its published fingerprint: wrong-statement for the user who holds
    # it, malformed when the summary still states the old one (or leaves its domain)
    try:
        pyverify.check_summary(pyverify.Summary.from_json(json.dumps(summary)))
        in_domain = True
    except pyverify.Rejected:
        in_domain = False
    want = "wrong-statement" if in_domain else "malformed"
    event(f"{field}: {want}")
    assert outcomes(honest, json.dumps(summary), "me", r.fingerprint) == [want] * 3, field
    stated = {**summary, "fingerprint": r.fingerprint}
    assert outcomes(honest, json.dumps(stated), "me") == ["malformed"] * 3, field


@settings(max_examples=40, deadline=None)
@given(drawn=margin_rounds())
def test_version_3_proofs_round_trip_through_json(drawn):
    users, _ = drawn
    entries = tuple(pyverify.Entry(ASSETS[a - 1].name, a, ASSETS[a - 1].decimals, v, k) for a, v, k in users["me"])
    proof = InclusionProof(round_id="r", user_id="me", salt=b"\1" * 32, entries=entries, leaf_index=0, num_leaves=2,
                           leaf=b"\0" * 32, root=b"\0" * 32, path=(b"\0" * 32,), version=3)
    assert InclusionProof.from_json(proof.to_json()) == proof
    assert InclusionProof.from_json(proof.to_json(indent=2)) == proof


def test_kinds_outside_version_3_and_odd_kinds_are_malformed(round_v3):
    text = round_v3.proofs["borrower"]
    doc = json.loads(text)
    for change in (lambda d: d["entries"][1].update(kind="Debt"), lambda d: d["entries"][1].update(kind=1),
                   lambda d: d["entries"][1].pop("kind"), lambda d: d["entries"][1].update(kind=None)):
        bad = json.loads(text)
        change(bad)
        assert outcomes(json.dumps(bad), round_v3.summary, "borrower") == ["malformed"] * 3
    # a version-2 proof cannot carry a kind, nor a debt
    v2 = {**doc, "version": 2}
    assert outcomes(json.dumps(v2), round_v3.summary, "borrower") == ["malformed"] * 3
    v2["entries"] = [{k: v for k, v in e.items() if k != "kind"} for e in v2["entries"] if e["kind"] == "equity"]
    assert outcomes(json.dumps(v2), round_v3.summary, "borrower") == ["version-mismatch"] * 3


# -- what the user reads --------------------------------------------------------------------


def test_pyverify_shows_equity_debt_and_the_values_in_usd(round_v3, tmp_path):
    proof, summary = tmp_path / "me.json", tmp_path / "round.json"
    proof.write_text(round_v3.proofs["borrower"])
    summary.write_text(round_v3.summary)
    out = subprocess.run([sys.executable, str(PYVERIFY_FILE), str(proof), "--user", "borrower", "--summary", str(summary),
                          "--fingerprint", round_v3.fingerprint], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("INCLUDED: user 'borrower'")
    assert lines[1].split() == ["asset", "equity", "debt"]
    assert [line.split() for line in lines[2:5]] == [["BTC", "0.5", "0"], ["ETH", "0", "5"], ["USDT", "1000", "20000"]]
    assert "collateral after haircuts 47075.2375 USD >= debt 37500.617283945 USD: covered" in lines[5]
    proof.write_text(round_v3.proofs["dummy"])
    out = subprocess.run([sys.executable, str(PYVERIFY_FILE), str(proof), "--user", "dummy", "--summary", str(summary)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and out.stdout.startswith("NOT INCLUDED (uncovered)")
    assert "debts worth 194001 USD against collateral worth 0 USD" in out.stdout


def test_the_cli_shows_equity_debt_and_the_values_in_usd(round_v3, tmp_path, capsys):
    proof, summary = tmp_path / "me.json", tmp_path / "round.json"
    proof.write_text(round_v3.proofs["borrower"])
    summary.write_text(round_v3.summary)
    for pure in ([], ["--pure"]):
        code = cli(["inclusion", "verify", str(proof), "--user", "borrower", "--summary", str(summary),
                    "--expect", "BTC=0.5,ETH.debt=5", *pure])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "USDT" in out and "20000" in out and "47075.2375 USD" in out and "37500.617283945 USD" in out
        assert "your expected balances match (BTC, ETH.debt)" in out
    proof.write_text(round_v3.proofs["shib"])
    assert cli(["inclusion", "verify", str(proof), "--user", "shib", "--summary", str(summary), "--expect", "SHIB.debt=1"]) == 1
    assert "NOT INCLUDED (balance-mismatch)" in capsys.readouterr().out


# -- a round the core proved: every user's proof from the store, checked by every verifier ---

SECRET = b"inclusion-v3-test-secret-0123456789"


@pytest.fixture(scope="module")
def proved_v3(tmp_path_factory):
    """A version-3 round proved by the Rust core (``prove_v2`` with kinds and prices), its
    inclusion store written from the prover's salts, positions and tree, and its summary."""
    eq = next(c for c in VECTORS["checks"] if c["user_id"] == "equal" and c["reason"] is None)
    equal = [(k, int(m), KIND[kind]) for _, k, _, kind, m in eq["proof"]["entries"]]
    users = {**USERS, "equal": equal, "max": [(2, MAX, 0), (4, MAX, 0), (4, MAX // 3, 1)]}
    del users["dummy"]  # the prover refuses an uncovered borrower
    ids = list(users)
    flat = [e for u in ids for e in users[u]]
    indptr = np.cumsum([0] + [len(users[u]) for u in ids]).astype(np.uint64)
    asset_index = np.array([a - 1 for a, _, _ in flat], dtype=np.uint32)
    kinds = np.array([k for _, _, k in flat], dtype=np.uint8)
    out = _native.prove_v2(ids, [(a.name, a.decimals) for a in ASSETS], indptr, asset_index,
                           np.array([v & (2**64 - 1) for _, v, _ in flat], dtype=np.uint64),
                           np.array([v >> 64 for _, v, _ in flat], dtype=np.uint64), 112, SECRET, "2026-12 margin", "100",
                           14, kinds=kinds, prices=list(PRICES))
    d = out["statement"]
    assert d["statement_version"] == 3
    statement = SimpleNamespace(round_id=d["round_id"], root=bytes(d["root"]).hex(), num_leaves=d["num_leaves"],
                                assets=ASSETS, statement_version=3)
    store = InclusionStore.write(tmp_path_factory.mktemp("proved-v3") / "round.db", statement=statement, user_ids=ids,
                                 positions=np.array(out["positions"], dtype=np.uint64), salts=out["salts"], tree=out["tree"],
                                 indptr=indptr, asset_index=asset_index,
                                 amounts_lo=np.array([v & (2**64 - 1) for _, v, _ in flat], dtype=np.uint64),
                                 amounts_hi=np.array([v >> 64 for _, v, _ in flat], dtype=np.uint64), kinds=kinds)
    m = d["margin"]
    summary = {"statement_version": 3, "round_id": d["round_id"], "range_bits": d["range_bits"], "num_leaves": d["num_leaves"],
               "root": statement.root, "value_unit_exp": m["unit_exp"],
               "assets": [{"asset": a.name, "decimals": a.decimals, "total_units": str(t), "debt_units": str(debt),
                           "price": p and p[0], "haircut": p and p[1]}
                          for a, t, debt, p in zip(ASSETS, d["totals"], m["debt_totals"], m["prices"])]}
    with InclusionStore(store) as st_:
        proofs = {u: export(st_, u).to_json() for u in ids}
    return SimpleNamespace(users=users, proofs=proofs, summary=json.dumps(summary), margin=m,
                           fingerprint=PublishedSummary.from_json(json.dumps(summary)).fingerprint)


def test_a_round_the_core_proved_shows_every_user_their_collateral_check(proved_v3):
    # the core's coefficients are the ones every verifier folds from the published prices
    folded = pyverify.coefficients(pyverify.Summary.from_json(proved_v3.summary))
    assert [tuple(c) for c in proved_v3.margin["coefficients"]] == folded
    assert folded == [(0, 1) if p is None else exact_coefficients(p[0], p[1], a.decimals, 27) for a, p in zip(ASSETS, PRICES)]
    for user, entries in proved_v3.users.items():
        collateral, debt = coverage(entries)
        assert collateral >= debt, user  # the prover proved it for every borrower
        got = outcomes(proved_v3.proofs[user], proved_v3.summary, user, proved_v3.fingerprint)
        assert got == [(str(collateral), str(debt))] * 3, user
    eq = outcomes(proved_v3.proofs["equal"], proved_v3.summary, "equal")[0]
    assert eq[0] == eq[1] != "0", "a borrower exactly at equality"


# -- a round proved from Python with prices: the store, the statement, the summary, the page --


@pytest.fixture(scope="module")
def round_from_python(tmp_path_factory):
    """A round of borrowers and debt-free users proved by ``stark_por.prove(..., prices=)``,
    saved (proof, summary, inclusion store), verified, with every user's proof and its page."""
    from stark_por import Ledger, prove, verify
    from stark_por.inclusion import store_path
    from stark_por.page import write_page
    from stark_por.proof import summary_path

    users = {u: e for u, e in USERS.items() if u != "dummy"}  # the prover refuses an uncovered borrower
    users["max"] = [(2, MAX, 0), (4, MAX, 0), (4, MAX // 3, 1)]
    eq = np.zeros((len(users), len(ASSETS)), dtype=object)
    debt = np.zeros((len(users), len(ASSETS)), dtype=object)
    for i, entries in enumerate(users.values()):
        for a, v, k in entries:
            (debt if k else eq)[i, a - 1] = v
    ledger = Ledger.from_arrays(list(users), ASSETS, eq, debts=debt)
    prices = {a.name: p for a, p in zip(ASSETS, PRICES) if p is not None}
    folder = tmp_path_factory.mktemp("python-v3")
    path = prove(ledger, secret=SECRET, round_id="2026-12 py", prices=prices, trace_log2=14).save(folder / "r.stpor")
    statement = verify(path)
    assert statement.statement_version == 3
    with InclusionStore(store_path(path)) as store:
        proofs = {u: export(store, u).to_json() for u in store.user_ids()}
    return SimpleNamespace(users=users, statement=statement, summary=PublishedSummary.load(summary_path(path)),
                           summary_text=summary_path(path).read_text(), proofs=proofs,
                           page=write_page(statement, folder / "r.html"))


def test_a_round_proved_from_python_shows_every_user_their_collateral_check(round_from_python):
    r = round_from_python
    assert r.summary.fingerprint == r.statement.fingerprint
    assert (r.summary.debt_totals, r.summary.prices, r.summary.value_unit_exp) == (
        r.statement.debt_totals, r.statement.prices, r.statement.value_unit_exp)
    for user, entries in r.users.items():
        collateral, debt = coverage(entries)
        for anchor in (r.statement, r.summary):
            for pure in (False, True):
                p = verify_inclusion(r.proofs[user], anchor, user_id=user, fingerprint=r.statement.fingerprint, pure=pure)
                assert isinstance(p, Position) and (p.collateral_value, p.debt_value) == (collateral, debt), (user, pure)
        assert outcomes(r.proofs[user], r.summary_text, user, r.statement.fingerprint) == [(str(collateral), str(debt))] * 3


def test_a_streamed_round_writes_the_same_inclusion_proofs(round_from_python, tmp_path):
    """``prove_file(..., prices=)``: the store written from the placement's buckets (kinds
    included) exports every user's proof byte for byte as the in-memory round's store."""
    from stark_por import prove_file
    from stark_por.inclusion import store_path
    from stark_por.margin import Prices
    from stark_por.workloads.files import write_assets_csv, write_ledger_csv

    r = round_from_python
    eq = np.zeros((len(r.users), len(ASSETS)), dtype=object)
    debt = np.zeros((len(r.users), len(ASSETS)), dtype=object)
    for i, entries in enumerate(r.users.values()):
        for a, v, k in entries:
            (debt if k else eq)[i, a - 1] = v
    from stark_por import Ledger

    write_assets_csv(ASSETS, tmp_path / "assets.csv")
    write_ledger_csv(Ledger.from_arrays(list(r.users), ASSETS, eq, debts=debt), tmp_path / "ledger.csv")
    Prices.from_mapping({a.name: p for a, p in zip(ASSETS, PRICES) if p is not None}).save(tmp_path / "prices.csv")
    out = tmp_path / "r.stpor"
    prove_file(tmp_path / "ledger.csv", out, secret=SECRET, round_id="2026-12 py", prices=tmp_path / "prices.csv",
               chunk_users=2, trace_log2=14)
    with InclusionStore(store_path(out)) as store:
        assert store.statement_version == 3
        assert {u: export(store, u).to_json() for u in store.user_ids()} == r.proofs
