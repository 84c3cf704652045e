"""The inclusion page (``stark_por.page`` + ``stark_por/verifiers/browser.js``) in a real browser.

Headless Debian ``chromium`` driven by Selenium through Debian's ``chromedriver``: the vectors of
``tests/vectors/`` computed in the page, every user of real rounds shown INCLUDED with their exact
balances, every tamper refused with the reason the Rust core and pyverify give, random rounds on
which the three implementations agree, no network request (read from the browser's own Network
events), the Content-Security-Policy enforced, the layout on a phone and the keyboard path.
Screenshots go to ``artifacts/page/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import random
import shutil
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from stark_por import Asset, InvalidInclusionProof, Ledger, Proof, prove, verify, verify_inclusion
from stark_por.cli import main as cli
from stark_por.errors import UnverifiedStatementError
from stark_por.inclusion import InclusionStore, export, store_path
from stark_por.page import render_page, write_page
from stark_por.verifiers import pyverify

ROOT = Path(__file__).resolve().parent.parent
VECTORS = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "tests" / "vectors").glob("*.json"))}
FIXTURE_ROUNDS = ROOT / "tests" / "fixtures" / "rounds"
ARTIFACTS = ROOT / "artifacts" / "page"
SECRET = b"page-test-secret-0123456789abcdef"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

ASSETS = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("XRP", 0)]
USERS = {  # user id -> {asset index: units}
    "alice": {0: 50_000_000, 1: 2 * 10**18 + 1},
    "bob": {},
    "émile 名前": {2: 123_456_789_012, 3: 7},
    "whale": {0: 2**62 - 1, 1: 1, 2: 10**6, 3: 2**62 - 1},
    "carol": {3: 1},
}


def ledger(users: dict, assets=ASSETS) -> Ledger:
    indptr, asset_index, amounts = [0], [], []
    for entries in users.values():
        for k, units in sorted(entries.items()):
            asset_index.append(k)
            amounts.append(units)
        indptr.append(len(amounts))
    return Ledger.from_entries(list(users), list(assets), np.array(indptr), np.array(asset_index, dtype=np.uint32),
                               amounts)  # Python ints: exact at any width


def proofs_of(path: Path) -> dict:
    """Every user's inclusion proof (JSON text) from the store beside ``path``."""
    with InclusionStore(store_path(path)) as store:
        return {u: export(store, u).to_json() for u in store.user_ids()}


# -------------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def driver():
    if CHROMIUM is None or CHROMEDRIVER is None:
        msg = ("!!! chromium or chromedriver is not installed: the browser tests of the inclusion page are "
               "SKIPPED (scripts/test.sh installs Debian's chromium and chromium-driver) !!!")
        print(msg, file=sys.stderr)
        pytest.skip(msg)
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--window-size=1000,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    d = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield d
    d.quit()


class Page:
    """One inclusion page open in the browser, driven through its form."""

    def __init__(self, driver, where):
        self.d = driver
        self.url = where.as_uri() if isinstance(where, Path) else where
        self.d.get(self.url)

    def verdict(self) -> dict:
        return self.d.execute_script("""
            const v = document.getElementById('verdict');
            const rows = [...v.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent));
            return {state: v.dataset.state, reason: v.dataset.reason,
                    title: document.getElementById('verdict-title').textContent,
                    line: document.getElementById('verdict-line').textContent,
                    detail: document.getElementById('verdict-detail').textContent, rows};""")

    def check(self, user_id: str, text: str, published: str = "") -> dict:
        """Pastes ``text``, enters ``user_id`` (and the ``published`` fingerprint) and presses
        Check (the handler runs synchronously)."""
        self.d.execute_script("""
            const [user, text, published] = arguments;
            document.getElementById('user-id').value = user;
            document.getElementById('published').value = published;
            const t = document.getElementById('proof-text');
            t.value = text;
            t.dispatchEvent(new Event('input'));
            document.getElementById('check').click();""", user_id, text, published)
        return self.verdict()

    def check_file(self, user_id: str, file: Path) -> dict:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        box = self.d.find_element(By.ID, "user-id")
        box.clear()
        box.send_keys(user_id)
        self.d.find_element(By.ID, "proof-file").send_keys(str(file))
        WebDriverWait(self.d, 10).until(lambda d: file.name in d.find_element(By.ID, "file-status").text)
        self.d.find_element(By.ID, "check").click()
        return self.verdict()

    def js(self, script: str, *args):
        return self.d.execute_script(script, *args)


def included_rows(proof_text: str) -> list:
    """What the page must show for an included proof: pyverify's names, exact amounts, decimals
    (from version 3, one row per asset with its equity and its debt, "0" where there is none)."""
    proof = pyverify.InclusionProof.from_json(proof_text)
    if proof.version < 3:
        return [[e.asset, e.amount_text, str(e.decimals)] for e in proof.entries]
    rows = {}
    for e in proof.entries:
        row = rows.setdefault(e.index, [e.asset, "0", "0", str(e.decimals)])
        row[2 if e.kind_name == "debt" else 1] = e.amount_text
    return [rows[i] for i in sorted(rows)]


def reference_reason(text, statement, pure: bool, user_id: str) -> str:
    try:
        verify_inclusion(text, statement, user_id=user_id, pure=pure)
    except InvalidInclusionProof as e:
        return e.reason
    return "included"


# --------------------------------------------------------------------------------- the rounds


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    """Round a (the main one), b (same ledger, another round id), c (same round id, N' and
    assets as a but other balances: another root); each verified, with its page."""
    folder = tmp_path_factory.mktemp("page")
    other = dict(USERS, carol={3: 2})
    out = {}
    for name, users, round_id in [("a", USERS, "2026-11"), ("b", USERS, "2026-12"), ("c", other, "2026-11")]:
        path = prove(ledger(users), secret=SECRET, round_id=round_id, version=1).save(folder / f"{name}.stpor")
        statement = verify(path)
        out[name] = dict(path=path, statement=statement, proofs=proofs_of(path),
                         page=write_page(statement, folder / f"{name}.html"))
    return out


@pytest.fixture
def page_a(driver, rounds):
    return Page(driver, rounds["a"]["page"])


# ------------------------------------------------------------------------- vectors and hashes


def test_every_vector_is_reproduced_in_the_page(page_a):
    vectors = VECTORS["inclusion"]
    # a new kind of inclusion vector needs its check here (and in the page, if it is new work)
    assert set(vectors) == {"about", "permutations", "id_commitments", "leaves", "nodes", "paths", "fingerprints", "checks"}
    as_text = lambda xs: [str(x) for x in xs]  # noqa: E731  (exact: JSON numbers above 2^53 as text)
    for p in vectors["permutations"]:
        assert page_a.js("return StarkPor.permute(arguments[0]).map(String)", as_text(p["input"])) == as_text(p["output"])
    got = page_a.js("""
        const S = StarkPor, h = S.hexBytes, v = arguments[0];
        return {
          ids: v.id_commitments.map((c) => S.toHex(S.idCommitment(h(c.salt), c.user_id))),
          idcs: v.leaves.map((l) => S.toHex(S.idCommitment(h(l.salt), l.user_id))),
          leaves: v.leaves.map((l) => S.toHex(S.leafOf(h(l.idc), l.entries))),
          nodes: v.nodes.map((n) => S.toHex(S.node(h(n.left), h(n.right)))),
          roots: v.paths.map((p) => S.toHex(S.walk(h(p.leaf), p.leaf_index, p.path.map(h)))),
        };""", {**vectors, "leaves": [dict(leaf, entries=[as_text(e) for e in leaf["entries"]]) for leaf in vectors["leaves"]]})
    assert got["ids"] == [c["digest"] for c in vectors["id_commitments"]]
    assert got["idcs"] == [leaf["idc"] for leaf in vectors["leaves"]]
    assert got["leaves"] == [leaf["leaf"] for leaf in vectors["leaves"]]
    assert got["nodes"] == [n["digest"] for n in vectors["nodes"]]
    assert got["roots"] == [p["root"] for p in vectors["paths"]]


def test_fingerprint_and_whole_check_vectors_in_the_page(page_a):
    """The Rust-made fingerprints of tests/vectors/, and its whole checks (summary, user id,
    published fingerprint, proof) giving INCLUDED or the recorded reason."""
    vectors = VECTORS["inclusion"]
    got = page_a.js("return arguments[0].map((t) => StarkPor.loadSummary(t).fingerprint)",
                    [json.dumps(v) for v in vectors["fingerprints"]])
    assert got == [v["fingerprint"] for v in vectors["fingerprints"]]
    cases = []
    for v in vectors["checks"]:
        p = v["proof"]
        proof = pyverify.InclusionProof(
            round_id=p["round_id"], user_id=p["user_id"], salt=bytes.fromhex(p["salt"]),
            entries=tuple(pyverify.Entry(*e) for e in p["entries"]), leaf_index=p["leaf_index"],
            num_leaves=p["num_leaves"], leaf=bytes.fromhex(p["leaf"]), root=bytes.fromhex(p["root"]),
            path=tuple(bytes.fromhex(s) for s in p["path"]))
        cases.append([proof.to_json(), v["user_id"], json.dumps(v["summary"]), v["fingerprint"]])
    got = page_a.js("""return arguments[0].map(([text, user, summary, published]) => {
        try {
          const r = StarkPor.verify(text, user, StarkPor.loadSummary(summary), published);
          return r.included ? null : r.reason;
        } catch (e) { return e instanceof StarkPor.Rejected ? e.reason : String(e); }
      });""", cases)
    assert got == [v["reason"] for v in vectors["checks"]]


def test_version_2_vectors_in_the_page(page_a):
    """tests/vectors/inclusion_v2.json: each balance's two elements, version-2 leaves of amounts up
    to 2^112 − 1 (BigInt, exact), fingerprints of statement version 2, and the whole checks."""
    vectors = VECTORS["inclusion_v2"]
    assert set(vectors) == {"about", "entry_elements", "leaves", "fingerprints", "checks"}
    got = page_a.js("""
        const S = StarkPor, h = S.hexBytes, v = arguments[0];
        return {
          elements: v.entry_elements.map((e) => S.entryElements2(e.asset, e.amount).map(String)),
          leaves: v.leaves.map((l) => S.toHex(S.leafOf(h(l.idc), l.entries, 2))),
          fingerprints: v.fingerprints.map((f) => S.loadSummary(JSON.stringify(f)).fingerprint),
        };""", vectors)
    assert got["elements"] == [e["elements"] for e in vectors["entry_elements"]]
    assert got["leaves"] == [leaf["leaf"] for leaf in vectors["leaves"]]
    assert got["fingerprints"] == [f["fingerprint"] for f in vectors["fingerprints"]]
    cases = []
    for v in vectors["checks"]:
        p = v["proof"]
        proof = pyverify.InclusionProof(
            version=p["version"], round_id=p["round_id"], user_id=p["user_id"], salt=bytes.fromhex(p["salt"]),
            entries=tuple(pyverify.Entry(a, k, d, int(m)) for a, k, d, m in p["entries"]), leaf_index=p["leaf_index"],
            num_leaves=p["num_leaves"], leaf=bytes.fromhex(p["leaf"]), root=bytes.fromhex(p["root"]),
            path=tuple(bytes.fromhex(s) for s in p["path"]))
        cases.append([proof.to_json(), v["user_id"], json.dumps(v["summary"]), v["fingerprint"]])
    got = page_a.js("""return arguments[0].map(([text, user, summary, published]) => {
        try {
          const r = StarkPor.verify(text, user, StarkPor.loadSummary(summary), published);
          return r.included ? r.entries.map((e) => e.amount) : r.reason;
        } catch (e) { return e instanceof StarkPor.Rejected ? e.reason : String(e); }
      });""", cases)
    for v, g, (text, *_) in zip(vectors["checks"], got, cases):
        if v["reason"] is None:
            assert g == [e.amount_text for e in pyverify.InclusionProof.from_json(text).entries], v["user_id"]
        else:
            assert g == v["reason"], v["user_id"]


def test_fingerprints_of_random_statements_agree_with_rust(page_a):
    from stark_por import _native

    rng = random.Random(7)
    summaries = []
    for k in range(40):
        names = rng.sample(["BTC", "ETH", "USDT", "DOGE", "A-1", "x.y", "$Z", "~"], rng.randint(1, 5))
        version = 1 + k % 2  # statement versions 1 and 2 (range bounds up to 112 bits)
        summaries.append({
            "statement_version": version,
            "round_id": rng.choice(["r", "2026-11", "é名前 round", "x" * 256]),
            "range_bits": rng.randint(32, 63 if version == 1 else 112), "num_leaves": 2 ** rng.randint(1, 40),
            "root": pyverify.digest_to_bytes([rng.randrange(pyverify.P) for _ in range(4)]).hex(),
            "assets": [{"asset": n, "decimals": rng.randint(0, 30),
                        "total_units": str(rng.choice([0, 1, 2**64, rng.randrange(10**rng.randint(1, 300))]))}
                       for n in names],
        })
    rust = [_native.statement_fingerprint((s["round_id"], s["range_bits"], s["num_leaves"], bytes.fromhex(s["root"]),
            [(a["asset"], a["decimals"], int(a["total_units"]).to_bytes((int(a["total_units"]).bit_length() + 7) // 8, "little"))
             for a in s["assets"]]), s["statement_version"]).hex() for s in summaries]
    got = page_a.js("return arguments[0].map((t) => StarkPor.loadSummary(t).fingerprint)", [json.dumps(s) for s in summaries])
    assert got == rust


def test_field_multiplication_agrees_with_python(page_a):
    """Every branch of the page's reduction mod p: operands at and around 0, 2^32 and p."""
    p = pyverify.P
    rng = random.Random(3)
    edges = [0, 1, 2, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**63, p - 2**32, p - 2, p - 1]
    values = edges + [rng.randrange(p) for _ in range(40)] + [p - 1 - rng.randrange(2**32) for _ in range(10)]
    pairs = [(a, b) for a in edges for b in edges] + [(rng.choice(values), rng.choice(values)) for _ in range(300)]
    got = page_a.js("const S = StarkPor; return arguments[0].map(([a, b]) => "
                    "[S.fieldAdd(a, b), S.fieldMul(a, b), S.fieldSqr(a)].map(String))", [[str(a), str(b)] for a, b in pairs])
    assert got == [[str((a + b) % p), str(a * b % p), str(a * a % p)] for a, b in pairs]


def test_sha256_agrees_with_hashlib(page_a):
    rng = random.Random(5)
    lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000] + [rng.randrange(300) for _ in range(20)]
    messages = [rng.randbytes(n) for n in lengths]
    got = page_a.js("return arguments[0].map((m) => StarkPor.toHex(StarkPor.sha256(StarkPor.hexBytes(m))))",
                    [m.hex() for m in messages])
    assert got == [hashlib.sha256(m).hexdigest() for m in messages]


def test_the_page_shows_the_fingerprint_of_the_verified_statement(page_a, rounds):
    statement = rounds["a"]["statement"]
    shown = page_a.js("return document.getElementById('fingerprint').textContent")
    assert shown.replace(" ", "") == statement.fingerprint
    assert page_a.js("return document.getElementById('root').textContent") == statement.root
    facts = page_a.js("return ['num-leaves', 'range-bits', 'security-bits'].map((id) => document.getElementById(id).textContent)")
    assert facts[0] == f"{statement.num_leaves:,}" and f"2^{statement.range_bits})" in facts[1]
    assert facts[2].startswith(f"{statement.security_bits} bits") and "not covered by the fingerprint" in facts[2]
    totals = page_a.js("return [...document.querySelectorAll('#totals tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent))")
    assert totals == [[a.name, a.format_amount(statement.totals[a.name]) or "0", str(a.decimals)] for a in statement.assets]


# ------------------------------------------------------------------------------ every verdict


def test_every_user_is_included_with_exact_balances(page_a, rounds):
    for user, text in rounds["a"]["proofs"].items():
        v = page_a.check(user, text)
        assert (v["state"], v["title"]) == ("included", "✓ INCLUDED"), (user, v)
        assert v["rows"] == included_rows(text)
    whale = page_a.check("whale", rounds["a"]["proofs"]["whale"])["rows"]
    assert whale == [["BTC", "46116860184.27387903", "8"], ["ETH", "0.000000000000000001", "18"],
                     ["USDT", "1", "6"], ["XRP", "4611686018427387903", "0"]]


def test_old_rounds_verify_in_their_pages(driver, tmp_path):
    """The rounds written by earlier releases (tests/fixtures/rounds/): each user's proof is
    INCLUDED in the page of the verified round, with pyverify's balances."""
    for folder in sorted(p for p in FIXTURE_ROUNDS.iterdir() if p.is_dir()):
        for name in json.loads((folder / "expected.json").read_text()):
            statement = verify(folder / f"{name}.stpor")
            page = Page(driver, write_page(statement, tmp_path / f"{folder.name}-{name}.html"))
            users = sorted(folder.glob(f"{name}.user-*.json"))
            assert users
            for proof_file in users:
                text = proof_file.read_text()
                user = pyverify.InclusionProof.from_json(text).user_id
                v = page.check(user, text)
                assert v["state"] == "included", (proof_file.name, v)
                assert v["rows"] == included_rows(text)


def _tamper(text: str, change) -> str:
    doc = json.loads(text)
    change(doc)
    return text if json.dumps(doc) == json.dumps(json.loads(text)) else json.dumps(doc)


def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[0] ^= 1  # element 0 stays canonical: its high bytes are untouched
    return base64.b64encode(bytes(raw)).decode()


def _bump_amount(doc):
    e = doc["entries"][0]
    proof_entry = pyverify._entry(e, 0, doc["version"])
    e["amount"] = pyverify.Entry(e["asset"], e["index"], e["decimals"], proof_entry.units + 1).amount_text


TAMPERS = {  # name: (change to the proof's JSON, or a text transform; the reason every verifier gives)
    "amount": (_bump_amount, "leaf-mismatch"),
    "asset label": (lambda d: d["entries"][0].update(asset="BTX"), "asset-mismatch"),
    "decimals": (lambda d: d["entries"][0].update(decimals=d["entries"][0]["decimals"] + 1), "asset-mismatch"),
    "asset index": (lambda d: d["entries"][-1].update(index=d["entries"][-1]["index"] + 1), "asset-mismatch"),
    "unknown asset index": (lambda d: d["entries"][-1].update(index=99), "asset-mismatch"),
    "sibling": (lambda d: d["path"].__setitem__(1, _flip(d["path"][1])), "path-mismatch"),
    "leaf index": (lambda d: d.update(leaf_index=d["leaf_index"] ^ 1), "path-mismatch"),
    "path cut": (lambda d: d["path"].pop(), "path-mismatch"),
    "tree size": (lambda d: d.update(num_leaves=2 * d["num_leaves"], path=d["path"] + [d["path"][0]]), "path-mismatch"),
    "claimed root": (lambda d: d.update(root=("0" if d["root"][0] != "0" else "1") + d["root"][1:]), "path-mismatch"),
    "claimed leaf": (lambda d: d.update(leaf=_flip(d["leaf"])), "leaf-mismatch"),
    "salt": (lambda d: d.update(salt=_flip(d["salt"])), "leaf-mismatch"),
    "round": (lambda d: d.update(round_id="2026-10"), "wrong-round"),
    "version": (lambda d: d.update(version=4), "unknown-version"),
    "other version": (lambda d: d.update(version=3 - d["version"]), "version-mismatch"),
    "extra field": (lambda d: d.update(note="hi"), "malformed"),
    "non-canonical digest": (lambda d: d["path"].__setitem__(0, base64.b64encode(b"\xff" * 32).decode()), "malformed"),
    "float index": (lambda d: d.update(leaf_index=float(d["leaf_index"])), "malformed"),
    "zero amount": (lambda d: d["entries"][0].update(amount="0"), "malformed"),
    "unsorted entries": (lambda d: d["entries"].reverse(), "malformed"),
    "amount beyond its decimals": (lambda d: d["entries"][0].update(amount="1." + "1" * 19), "malformed"),
    "bad base64": (lambda d: d.update(salt=d["salt"][:-2] + "=="), "malformed"),
}
TEXT_TAMPERS = {
    "truncated": (lambda t: t[: len(t) // 2], "malformed"),
    "not JSON": (lambda t: "this is not JSON", "malformed"),
    "duplicate key": (lambda t: t.replace('{"format"', '{"version":1,"format"', 1), "malformed"),
    "trailing data": (lambda t: t + "{}", "malformed"),
    "a JSON list": (lambda t: "[" + t + "]", "malformed"),
}


def tampered_proofs(text: str):
    for name, (change, reason) in TAMPERS.items():
        try:
            yield name, _tamper(text, change), reason
        except IndexError:  # no entry (or no second sibling) to change in this proof
            continue
    for name, (change, reason) in TEXT_TAMPERS.items():
        yield name, change(text), reason


def test_every_tamper_is_refused_with_the_reason_of_the_other_verifiers(page_a, rounds):
    statement, text = rounds["a"]["statement"], rounds["a"]["proofs"]["alice"]
    for name, bad, reason in tampered_proofs(text):
        v = page_a.check("alice", bad)
        assert (v["state"], v["reason"]) == ("refused", reason), (name, v)
        assert v["title"] == "✗ NOT VERIFIED" and v["line"] and reason in v["detail"]
        assert reference_reason(bad, statement, True, "alice") == reason, name
        assert reference_reason(bad, statement, False, "alice") == reason, name


def test_proofs_of_another_round_or_tree_are_refused(page_a, rounds):
    statement = rounds["a"]["statement"]
    for other, reason in (("b", "wrong-round"), ("c", "root-mismatch")):
        text = rounds[other]["proofs"]["carol"]
        assert page_a.check("carol", text)["reason"] == reason
        assert reference_reason(text, statement, True, "carol") == reason
        assert reference_reason(text, statement, False, "carol") == reason


def test_a_proof_is_refused_for_another_user_id(page_a, rounds):
    alice = rounds["a"]["proofs"]["alice"]
    statement = rounds["a"]["statement"]
    for typed in ("bob", "Alice", "alice ", "émile 名前"):
        v = page_a.check(typed, alice)
        assert (v["state"], v["reason"]) == ("refused", "wrong-user"), typed
        assert reference_reason(alice, statement, True, typed) == reference_reason(alice, statement, False, typed) == "wrong-user"
    renamed = _tamper(alice, lambda d: d.update(user_id="bob"))  # the file names bob: bob's id checked,
    assert page_a.check("alice", renamed)["reason"] == "wrong-user"
    assert page_a.check("bob", renamed)["reason"] == "leaf-mismatch"  # then alice's leaf does not fit bob
    assert page_a.check("", alice)["state"] == "idle"  # no id typed: a request for it, not a verdict


def test_the_published_fingerprint_is_compared_when_given(page_a, rounds):
    statement, alice = rounds["a"]["statement"], rounds["a"]["proofs"]["alice"]
    shown = page_a.js("return document.getElementById('fingerprint').textContent")  # as grouped on the page
    assert page_a.check("alice", alice, shown)["state"] == "included"
    assert page_a.check("alice", alice, statement.fingerprint.upper())["state"] == "included"
    other = rounds["b"]["statement"].fingerprint
    assert page_a.check("alice", alice, other)["reason"] == "wrong-statement"
    assert verify_inclusion(alice, statement, user_id="alice", fingerprint=statement.fingerprint)
    with pytest.raises(InvalidInclusionProof, match="fingerprint") as info:
        verify_inclusion(alice, statement, user_id="alice", fingerprint=other, pure=True)
    assert info.value.reason == "wrong-statement"
    assert page_a.check("alice", alice, "abc")["state"] == "idle"  # not a fingerprint: asked again


def test_a_lone_surrogate_is_malformed(page_a, rounds):
    """JSON can escape half a UTF-16 pair; such a string is not Unicode text (it has no UTF-8)."""
    alice = rounds["a"]["proofs"]["alice"]
    for bad in (alice.replace('"user_id":"alice"', '"user_id":"alice\\ud800"'),
                alice.replace('"round_id":"2026-11"', '"round_id":"\\udc00"')):
        assert bad != alice
        v = page_a.check("alice", bad)
        assert (v["reason"], "Unicode" in v["detail"]) == ("malformed", True)


def test_files_are_picked_through_the_file_input(driver, rounds, tmp_path):
    page = Page(driver, rounds["a"]["page"])
    good = tmp_path / "alice.json"
    good.write_text(rounds["a"]["proofs"]["alice"] + "\n")
    assert page.check_file("alice", good)["state"] == "included"
    cut = tmp_path / "cut.json"
    cut.write_bytes(good.read_bytes()[:100])
    assert page.check_file("alice", cut)["reason"] == "malformed"
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert page.check_file("alice", empty)["reason"] == "malformed"
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe" + good.read_bytes())
    v = page.check_file("alice", binary)
    assert (v["reason"], "UTF-8" in v["detail"]) == ("malformed", True)
    assert reference_reason(binary.read_bytes(), rounds["a"]["statement"], True, "alice") == "malformed"


# -------------------------------------------------------------- three implementations agree

@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("seed", range(3))
def test_fresh_rust_proofs_agree_between_rust_pyverify_and_the_page(driver, tmp_path, seed, version):
    """Random small rounds proved here with either statement version: every user INCLUDED by
    all three, and every tamper of every proof given the same reason by all three."""
    rng = random.Random(seed)
    assets = [Asset(f"T{k}", rng.choice([0, 2, 6, 8, 18, 30])) for k in range(rng.randint(1, 4))]
    bits = 62 if version == 1 else 112
    special = [1, 2**62 - 1] + ([] if version == 1 else [2**62, 2**64 - 1, 2**64, 250_000 * 10**18, 2**112 - 1])
    users = {
        f"u{i}-{rng.randrange(10**6)}": {k: rng.choice(special + [rng.randrange(1, 2**bits)])
                                         for k in range(len(assets)) if rng.random() < 0.7}
        for i in range(rng.randint(1, 6))
    }
    path = prove(ledger(users, assets), secret=SECRET, round_id=f"r{seed}", version=version).save(tmp_path / "r.stpor")
    statement = verify(path)
    assert statement.statement_version == version
    page = Page(driver, write_page(statement, tmp_path / "r.html"))
    for user, text in proofs_of(path).items():
        assert json.loads(text)["version"] == version
        v = page.check(user, text)
        assert v["state"] == "included" and v["rows"] == included_rows(text)
        assert reference_reason(text, statement, False, user) == reference_reason(text, statement, True, user) == "included"
        for name, bad, _ in tampered_proofs(text):
            if bad == text:
                continue
            got = page.check(user, bad)["reason"]
            assert got == reference_reason(bad, statement, True, user) == reference_reason(bad, statement, False, user), name


# -------------------------------------------------------------- statement version 2


@pytest.fixture(scope="module")
def round_v2(tmp_path_factory):
    """A round of whales and dust (``tests/test_inclusion_v2.py``: 250,000 ETH, SHIB at 2^112 − 1,
    amounts around 2^62 and 2^64) proved with statement version 2, verified, with its page."""
    from stark_por.inclusion import PublishedSummary
    from stark_por.proof import summary_path
    from test_inclusion_v2 import ASSETS as ASSETS_V2, USERS as USERS_V2

    folder = tmp_path_factory.mktemp("page-v2")
    ids = list(USERS_V2)
    indptr, asset_index, amounts = [0], [], []
    for u in ids:
        for k, v in sorted(USERS_V2[u].items()):
            asset_index.append(k)
            amounts.append(v)
        indptr.append(len(amounts))
    round_ledger = Ledger.from_entries(ids, list(ASSETS_V2), np.array(indptr, dtype=np.uint64),
                                       np.array(asset_index, dtype=np.uint32), amounts)
    path = prove(round_ledger, secret=SECRET, round_id="2026-12").save(folder / "v2.stpor")
    statement = verify(path)
    assert statement.statement_version == 2
    return SimpleNamespace(page=write_page(statement, folder / "v2.html"), statement=statement,
                           anchor=PublishedSummary.load(summary_path(path)), proofs=proofs_of(path))


def test_a_version_2_round_shows_every_user_the_exact_amounts(driver, round_v2):
    page = Page(driver, round_v2.page)
    assert round_v2.anchor.fingerprint == round_v2.statement.fingerprint
    assert page.js("return document.getElementById('fingerprint').textContent").replace(" ", "") == round_v2.anchor.fingerprint
    totals = page.js("return [...document.querySelectorAll('#totals tbody tr')].map((tr) => tr.children[1].textContent)")
    assert totals == [a.format_amount(round_v2.anchor.totals[a.name]) or "0" for a in round_v2.anchor.assets]
    for user, text in round_v2.proofs.items():
        v = page.check(user, text, round_v2.anchor.fingerprint)
        assert (v["state"], v["rows"]) == ("included", included_rows(text)), user
    assert page.check("whale", round_v2.proofs["whale"])["rows"] == [
        ["BTC", "21000", "8"], ["ETH", "250000", "18"], ["USDT", "18446744073709.551617", "6"]]
    assert page.check("shib-max", round_v2.proofs["shib-max"])["rows"] == [
        ["SHIB", "5192296858534827.628530496329220095", "18"], ["XRP", "4611686018427387904", "0"]]


def test_every_tamper_of_a_version_2_proof_gets_the_reason_of_the_other_verifiers(driver, round_v2):
    page = Page(driver, round_v2.page)
    for user in ("whale", "shib-max", "dust", "émile 名前"):
        text = round_v2.proofs[user]
        for name, bad, reason in tampered_proofs(text):
            if bad == text:
                continue
            got = page.check(user, bad)
            assert got["state"] == "refused", (user, name)
            rust = reference_reason(bad, round_v2.anchor, False, user)
            assert got["reason"] == rust == reference_reason(bad, round_v2.anchor, True, user), (user, name)
            assert reference_reason(bad, round_v2.statement, False, user) == rust, (user, name)
            # the listed reason where no amount leaves its version's domain (the whale's ETH read
            # as version 1, or the largest SHIB amounts moved past 2^112, are malformed)
            exact = name not in ("unknown asset index", "asset index", "other version") and user in ("whale", "dust")
            if name in TAMPERS and exact:
                assert got["reason"] == TAMPERS[name][1], (user, name)
        # one wei more for the 18-decimal whale, and a SHIB amount at the bound 2^112
        for change, reason in ((lambda d: d["entries"][1].update(amount="250000.000000000000000001"), "leaf-mismatch"),
                               (lambda d: d["entries"][0].update(amount="5192296858534827.628530496329220096"), "malformed")):
            if user not in ("whale", "shib-max") or (user == "whale") != (reason == "leaf-mismatch"):
                continue
            bad = _tamper(text, change)
            assert page.check(user, bad)["reason"] == reason == reference_reason(bad, round_v2.anchor, False, user)


def test_a_version_1_page_refuses_a_version_2_proof(page_a, round_v2, rounds):
    text = round_v2.proofs["dust"]
    v = page_a.check("dust", text)
    assert (v["state"], v["reason"]) == ("refused", "version-mismatch")
    assert reference_reason(text, rounds["a"]["statement"], True, "dust") == "version-mismatch"
    assert reference_reason(text, rounds["a"]["statement"], False, "dust") == "version-mismatch"
    v1 = rounds["a"]["proofs"]["alice"]
    assert Page(page_a.d, round_v2.page).check("alice", v1)["reason"] == "version-mismatch"


# -------------------------------------------------------------- statement version 3 (margin)

KIND = {"equity": 0, "debt": 1}


def _v3_proof_text(p: dict) -> str:
    return pyverify.InclusionProof(
        version=p["version"], round_id=p["round_id"], user_id=p["user_id"], salt=bytes.fromhex(p["salt"]),
        entries=tuple(pyverify.Entry(a, k, d, int(m), KIND[kind]) for a, k, d, kind, m in p["entries"]),
        leaf_index=p["leaf_index"], num_leaves=p["num_leaves"], leaf=bytes.fromhex(p["leaf"]),
        root=bytes.fromhex(p["root"]), path=tuple(bytes.fromhex(s) for s in p["path"])).to_json()


def test_version_3_vectors_in_the_page(page_a):
    """tests/vectors/inclusion_v3.json in the page: entries of both kinds, leaves of borrowers,
    coefficients folded from prices (BigInt, exact), fingerprints of statement version 3,
    summaries out of its domain, and whole checks with each included user's two values."""
    vectors = VECTORS["inclusion_v3"]
    assert set(vectors) == {"about", "entry_elements", "leaves", "coefficients", "fingerprints", "bad_summaries", "checks"}
    got = page_a.js("""
        const S = StarkPor, h = S.hexBytes, v = arguments[0], kind = (k) => (k === "debt" ? 1n : 0n);
        const refused = (text) => { try { S.loadSummary(text); return null; } catch (e) { return e.reason; } };
        return {
          elements: v.entry_elements.map((e) => S.entryElements2(e.asset, e.amount, kind(e.kind)).map(String)),
          leaves: v.leaves.map((l) => S.toHex(S.leafOf(h(l.idc), l.entries.map(([a, m, k]) => [a, m, kind(k)]), 3))),
          coefficients: v.coefficients.map((c) => S.foldPrice(c.price, c.haircut, c.decimals, c.unit_exp).map(String)),
          fingerprints: v.fingerprints.map((f) => S.loadSummary(JSON.stringify(f)).fingerprint),
          bad: v.bad_summaries.map((b) => refused(JSON.stringify(b.summary))),
        };""", vectors)
    assert got["elements"] == [e["elements"] for e in vectors["entry_elements"]]
    assert got["leaves"] == [leaf["leaf"] for leaf in vectors["leaves"]]
    assert got["coefficients"] == [[c["collateral"], c["debt"]] for c in vectors["coefficients"]]
    assert got["fingerprints"] == [f["fingerprint"] for f in vectors["fingerprints"]]
    assert got["bad"] == [b["reason"] for b in vectors["bad_summaries"]]
    cases = [[_v3_proof_text(v["proof"]), v["user_id"], json.dumps(v["summary"]), v["fingerprint"]] for v in vectors["checks"]]
    got = page_a.js("""return arguments[0].map(([text, user, summary, published]) => {
        try {
          const r = StarkPor.verify(text, user, StarkPor.loadSummary(summary), published);
          if (!r.included) return r.reason;
          return r.position ? [String(r.position.collateral_value), String(r.position.debt_value)] : null;
        } catch (e) { return e instanceof StarkPor.Rejected ? e.reason : String(e); }
      });""", cases)
    for v, g in zip(vectors["checks"], got):
        if v["reason"] is not None:
            assert g == v["reason"], v["user_id"]
        else:
            assert g == (None if v["position"] is None else [v["position"]["collateral_value"], v["position"]["debt_value"]]), v["user_id"]


@pytest.fixture(scope="module")
def page_v3(rounds, tmp_path_factory):
    """A page carrying the version-3 summary of the vectors' round: a page as the exchange writes
    it (the summary is data, not script, so the policy lets it be swapped for this test)."""
    check = next(c for c in VECTORS["inclusion_v3"]["checks"] if c["user_id"] == "borrower" and c["reason"] is None)
    html = rounds["a"]["page"].read_text()
    start = html.index('<script type="application/json" id="stark-por-summary">') + len('<script type="application/json" id="stark-por-summary">')
    end = html.index("</script>", start)
    path = tmp_path_factory.mktemp("page-v3") / "v3.html"
    path.write_text(html[:start] + json.dumps(check["summary"], ensure_ascii=True) + html[end:])
    return SimpleNamespace(path=path, summary=check["summary"],
                           proofs={c["user_id"]: _v3_proof_text(c["proof"]) for c in VECTORS["inclusion_v3"]["checks"]
                                   if c["reason"] is None and c["summary"] == check["summary"]})


def test_a_version_3_page_shows_equity_debt_and_the_collateral_check(driver, page_v3):
    page = Page(driver, page_v3.path)
    assert page.verdict()["state"] == "idle"
    assert page.js("return document.getElementById('fingerprint').textContent").replace(" ", "") == page_v3.summary["fingerprint"]
    head = page.js("return [...document.querySelectorAll('#totals thead th')].map((c) => c.textContent)")
    assert head == ["Asset", "Equity", "Debt", "Net", "Price (USD)", "Haircut", "Decimals"]
    totals = page.js("return [...document.querySelectorAll('#totals tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent))")
    text = lambda units, a: pyverify.Entry(a["asset"], 1, a["decimals"], units).amount_text  # noqa: E731
    want = []
    for a in page_v3.summary["assets"]:
        equity, debt = int(a["total_units"]), int(a["debt_units"])
        net = ("-" if debt > equity else "") + text(abs(equity - debt), a)
        priced = a["price"] is not None
        want.append([a["asset"], text(equity, a), text(debt, a), net, a["price"] if priced else "none (no debt allowed)",
                     a["haircut"] if priced else "", str(a["decimals"])])
    assert totals == want
    assert any(row[3].startswith("-") for row in totals), "a net liability below zero (more owed than held)"
    v = page.check("borrower", page_v3.proofs["borrower"], page_v3.summary["fingerprint"])
    assert (v["state"], v["title"]) == ("included", "✓ INCLUDED")
    assert v["rows"] == [["BTC", "0.5", "0", "8"], ["ETH", "0", "5", "18"], ["USDT", "1000", "20000", "6"]]
    line = page.js("return document.getElementById('verdict-collateral').textContent")
    assert "47075.2375 USD" in line and "37500.617283945 USD" in line and "covered" in line
    v = page.check("no-debt", page_v3.proofs["no-debt"])
    assert v["state"] == "included" and v["rows"] == [["ILLQ", "7", "0", "0"], ["XRP", "4611686018427.387903", "0", "6"]]
    assert "You owe nothing" in page.js("return document.getElementById('verdict-collateral').textContent")
    # the user whose debt is not covered: refused, in words a person reads
    dummy = next(c for c in VECTORS["inclusion_v3"]["checks"] if c["user_id"] == "dummy")
    v = page.check("dummy", _v3_proof_text(dummy["proof"]))
    assert (v["state"], v["reason"]) == ("refused", "uncovered")
    assert "collateral after haircuts" in v["line"] and "194001 USD" in v["detail"]
    # a version-2 proof on a version-3 page
    v2 = next(c for c in VECTORS["inclusion_v2"]["checks"] if c["reason"] is None)
    p = v2["proof"]
    text = pyverify.InclusionProof(
        version=2, round_id=p["round_id"], user_id=p["user_id"], salt=bytes.fromhex(p["salt"]),
        entries=tuple(pyverify.Entry(a, k, d, int(m)) for a, k, d, m in p["entries"]), leaf_index=p["leaf_index"],
        num_leaves=p["num_leaves"], leaf=bytes.fromhex(p["leaf"]), root=bytes.fromhex(p["root"]),
        path=tuple(bytes.fromhex(s) for s in p["path"])).to_json()
    assert page.check(v2["user_id"], text)["reason"] == "version-mismatch"


def test_every_tamper_of_a_version_3_proof_gets_the_reason_of_the_other_verifiers(driver, page_v3):
    from stark_por.inclusion import PublishedSummary

    page = Page(driver, page_v3.path)
    anchor = PublishedSummary.from_json(json.dumps(page_v3.summary))
    for user in ("borrower", "equal", "shib-max"):
        text = page_v3.proofs[user]
        flips = [(f"kind {k}", lambda d, k=k: d["entries"][k].update(kind="equity" if d["entries"][k]["kind"] == "debt" else "debt"))
                 for k in range(len(json.loads(text)["entries"]))]
        for name, bad, _ in [*tampered_proofs(text), *((n, _tamper(text, f), None) for n, f in flips)]:
            if bad == text:
                continue
            got = page.check(user, bad)
            assert got["state"] == "refused", (user, name)
            rust = reference_reason(bad, anchor, False, user)
            assert got["reason"] == rust == reference_reason(bad, anchor, True, user), (user, name)
    # one wei more debt for the user at equality: the leaf changes (leaf-mismatch)
    bad = _tamper(page_v3.proofs["equal"], lambda d: d["entries"][1].update(amount=d["entries"][1]["amount"] + "1"))
    assert page.check("equal", bad)["reason"] == reference_reason(bad, anchor, False, "equal") == "leaf-mismatch"


# ------------------------------------------------------------------- no request, strict CSP


def _requests(driver) -> list:
    """URLs of every request the browser started since the last call (its Network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over ``tmp_path``; ``hits`` lists every path it was asked for."""
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp_path), **k)

        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()


def test_the_page_makes_no_network_request(driver, rounds, tmp_path, server):
    base, hits = server
    # the detector sees requests: a control page without the policy loads an image
    (tmp_path / "dot.png").write_bytes(b"not really a png")
    (tmp_path / "control.html").write_text(f'<!DOCTYPE html><img src="{base}/dot.png">')
    _requests(driver)
    driver.get((tmp_path / "control.html").as_uri())
    assert f"{base}/dot.png" in _requests(driver) and "/dot.png" in hits
    hits.clear()

    shutil.copy(rounds["a"]["page"], tmp_path / "verify.html")
    for url in ((tmp_path / "verify.html").as_uri(), f"{base}/verify.html"):  # opened from disk, or hosted
        page = Page(driver, url)
        assert page.check("alice", rounds["a"]["proofs"]["alice"])["state"] == "included"
        assert page.check("alice", "not json")["state"] == "refused"
        assert _requests(driver) == [url], url
    assert hits == ["/verify.html"]


def test_the_policy_blocks_anything_injected_into_the_page(driver, rounds, tmp_path, server):
    base, hits = server
    html = rounds["a"]["page"].read_text()
    csp = html.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert csp.startswith("default-src 'none'; script-src 'sha256-") and "unsafe" not in csp
    injected = (f'<img src="{base}/img"><link rel="stylesheet" href="{base}/css">'
                f'<script src="{base}/js"></script><script>document.title = "ran"</script>')
    (tmp_path / "injected.html").write_text(html.replace("<main>", "<main>" + injected, 1))
    page = Page(driver, tmp_path / "injected.html")
    assert page.check("alice", rounds["a"]["proofs"]["alice"])["state"] == "included"
    assert hits == [] and driver.title != "ran"
    # the page's own script runs only as written: one changed character and the policy stops it
    (tmp_path / "edited.html").write_text(html.replace("NOT VERIFIED", "NOT VERIFIED!", 1))
    page = Page(driver, tmp_path / "edited.html")
    assert page.verdict()["title"] == "Not started"


def test_a_page_whose_summary_was_edited_says_it_is_damaged(driver, rounds, tmp_path):
    statement = rounds["a"]["statement"]
    html = rounds["a"]["page"].read_text()
    btc = str(statement.totals["BTC"])
    edits = {  # a field the fingerprint binds; a total (caught first by its display text)
        "range": (html.replace('"range_bits":62', '"range_bits":61', 1), "fingerprint field says"),
        "total": (html.replace(f'"total_units":"{btc}"', f'"total_units":"{int(btc) - 1}"', 1), "is not total_units"),
    }
    for name, (edited, why) in edits.items():
        assert edited != html
        (tmp_path / f"{name}.html").write_text(edited)
        page = Page(driver, tmp_path / f"{name}.html")
        v = page.verdict()
        assert (v["state"], v["reason"], why in v["detail"]) == ("damaged", "malformed", True), name
        assert page.js("return document.getElementById('check').disabled") is True


# ------------------------------------------------------------ phone, keyboard, screenshots


def test_phone_layout_keyboard_and_screenshots(driver, rounds):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(390, 844)
    try:
        page = Page(driver, rounds["a"]["page"])
        # every control has a label; the verdict is announced and comes first
        labelled = page.js("return ['user-id', 'proof-file', 'proof-text', 'published'].map((id) => "
                           "document.querySelector(`label[for=\"${id}\"]`) !== null)")
        assert labelled == [True, True, True, True]
        assert page.js("const v = document.getElementById('verdict'); return [v.getAttribute('aria-live'), v.getAttribute('role')]") == ["polite", "status"]
        # keyboard only: Tab from the top of the fresh page reaches the id, the file, the text, the button
        order = []
        for _ in range(5):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            order.append(driver.switch_to.active_element.get_attribute("id"))
        assert order == ["user-id", "proof-file", "proof-text", "published", "check"]
        box = driver.find_element(By.ID, "proof-text")
        page.js("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", box, rounds["a"]["proofs"]["whale"])
        user = driver.find_element(By.ID, "user-id")
        user.send_keys("whale")
        user.send_keys(Keys.ENTER)  # Enter in the id field checks
        v = page.verdict()
        assert v["state"] == "included"
        top, height = page.js("return [document.getElementById('verdict').getBoundingClientRect().top, innerHeight]")
        assert 0 <= top < height / 3  # the verdict is the first thing on the screen
        assert page.js("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        driver.save_screenshot(str(ARTIFACTS / "included-phone.png"))
        page.check("whale", rounds["a"]["proofs"]["alice"])
        driver.execute_script("window.scrollTo(0, 0)")
        assert page.verdict()["reason"] == "wrong-user"
        driver.save_screenshot(str(ARTIFACTS / "refused-phone.png"))
    finally:
        driver.set_window_size(1000, 1000)
    page = Page(driver, rounds["a"]["page"])
    page.check("carol", rounds["c"]["proofs"]["carol"])
    driver.save_screenshot(str(ARTIFACTS / "refused-root-mismatch.png"))
    assert (ARTIFACTS / "included-phone.png").stat().st_size > 10_000


# ------------------------------------------------------------------------- API and CLI


def test_only_a_verified_statement_gets_a_page(rounds, tmp_path):
    path = rounds["a"]["path"]
    with pytest.raises(UnverifiedStatementError, match="verify"):
        write_page(Proof.load(path).statement, tmp_path / "x.html")
    with pytest.raises(UnverifiedStatementError):
        render_page(rounds["a"]["statement"].summary())
    import dataclasses

    changed = dataclasses.replace(rounds["a"]["statement"], totals={**rounds["a"]["statement"].totals, "BTC": 1})
    with pytest.raises(UnverifiedStatementError, match="verify"):
        write_page(changed, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_the_page_embeds_the_summary_safely(rounds):
    html = render_page(rounds["a"]["statement"])
    summary = html.split('<script type="application/json" id="stark-por-summary">', 1)[1].split("</script>", 1)[0]
    assert json.loads(summary) == rounds["a"]["statement"].summary()
    assert "<" not in summary and html.count("<script") == 2


def test_cli_writes_the_page_of_a_verified_round(rounds, tmp_path, capsys):
    out = tmp_path / "verify.html"
    assert cli(["-q", "page", str(rounds["a"]["path"]), "-o", str(out)]) == 0
    assert out.read_text() == render_page(rounds["a"]["statement"])
    assert rounds["a"]["statement"].fingerprint in capsys.readouterr().out
    bad = tmp_path / "bad.stpor"
    data = bytearray(rounds["a"]["path"].read_bytes())
    data[len(data) // 2] ^= 1
    bad.write_bytes(bytes(data))
    assert cli(["-q", "page", str(bad), "-o", str(tmp_path / "no.html")]) == 1
    assert not (tmp_path / "no.html").exists()



def test_the_reserves_report_links_to_the_page(rounds, tmp_path):
    import dataclasses

    from stark_por.reserves.report import write_demo_report

    _, rep = write_demo_report(rounds["a"]["statement"], tmp_path)
    assert "inclusion-page" not in rep.to_html()
    linked = dataclasses.replace(rep, inclusion_page="https://example.com/por/verify.html?round=2026-11&v=1")
    assert '<a id="inclusion-page" href="https://example.com/por/verify.html?round=2026-11&amp;v=1">' in linked.to_html()
    assert "[the inclusion page](https://example.com/por/verify.html?round=2026-11&v=1)" in linked.to_markdown()
    assert dataclasses.replace(rep, inclusion_page="verify.html").inclusion_page == "verify.html"
    for bad in ("javascript:alert(1)", "data:text/html,x", " verify.html", "", "a b.html", "x.html)", 'x"y', "<x>"):
        with pytest.raises(ValueError, match="inclusion_page"):
            dataclasses.replace(rep, inclusion_page=bad)


def test_the_demo_writes_a_page_on_which_its_user_is_included(driver, tmp_path, capsys):
    assert cli(["-q", "demo", "--users", "20", "--out", str(tmp_path)]) == 0
    assert "inclusion page:" in capsys.readouterr().out
    proof = pyverify.InclusionProof.load(tmp_path / "inclusion.json")
    v = Page(driver, tmp_path / "verify.html").check_file(proof.user_id, tmp_path / "inclusion.json")
    assert v["state"] == "included" and v["rows"] == included_rows((tmp_path / "inclusion.json").read_text())


def test_a_version_3_round_proved_from_python_in_its_page(driver, tmp_path):
    """A round with borrowers proved by ``prove(..., prices=)``: every user's proof INCLUDED in
    the round's page with their equity, debt and the values of the Rust core's check."""
    from stark_por.inclusion import PublishedSummary, Position
    from test_inclusion_v3 import ASSETS as ASSETS_V3, PRICES as PRICES_V3, USERS as USERS_V3

    users = {u: e for u, e in USERS_V3.items() if u != "dummy"}
    eq = np.zeros((len(users), len(ASSETS_V3)), dtype=object)
    debt = np.zeros((len(users), len(ASSETS_V3)), dtype=object)
    for i, entries in enumerate(users.values()):
        for a, v, k in entries:
            (debt if k else eq)[i, a - 1] = v
    prices = {a.name: p for a, p in zip(ASSETS_V3, PRICES_V3) if p is not None}
    path = prove(Ledger.from_arrays(list(users), ASSETS_V3, eq, debts=debt), secret=SECRET, round_id="2026-12 page",
                 prices=prices, trace_log2=14).save(tmp_path / "r.stpor")
    statement = verify(path)
    page = Page(driver, write_page(statement, tmp_path / "r.html"))
    assert page.js("return document.getElementById('fingerprint').textContent").replace(" ", "") == statement.fingerprint
    for user, text in proofs_of(path).items():
        v = page.check(user, text, statement.fingerprint)
        assert v["state"] == "included", (user, v)
        rust = verify_inclusion(text, statement, user_id=user)
        assert isinstance(rust, Position)
        line = page.js("return document.getElementById('verdict-collateral').textContent")
        assert f"{rust.collateral_usd} USD" in line and (f"{rust.debt_usd} USD" in line or not rust.debt), user
    v = page.check("borrower", proofs_of(path)["borrower"])
    assert v["rows"] == [["BTC", "0.5", "0", "8"], ["ETH", "0", "5", "18"], ["USDT", "1000", "20000", "6"]]
