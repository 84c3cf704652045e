"""Rounds verify forever: round files written by earlier releases verify with today's code.

Each folder under ``tests/fixtures/rounds/`` holds rounds written once by the release named in
its ``make.py`` (never regenerated) and, in ``expected.json``, the statement a verifier must
recover from each and every exported user's balances. A change of circuit or file format adds
a folder beside these; it never replaces one.
"""

from __future__ import annotations

import json
from decimal import Context
from pathlib import Path

import pytest

import stark_por
from stark_por.errors import InvalidProof, ProofFormatError
from stark_por.inclusion import load_inclusion, verify_inclusion

ROOT = Path(__file__).parent / "fixtures" / "rounds"
CASES = [
    (version.name, name, case)
    for version in sorted(p for p in ROOT.iterdir() if p.is_dir())
    for name, case in json.loads((version / "expected.json").read_text()).items()
]


# a balance below 2^112 has up to 34 digits: Decimal's default 28-digit context would round it
EXACT = Context(prec=100)


def _id(case) -> str:
    return f"{case[0]}-{case[1]}"


@pytest.mark.parametrize("version,name,case", CASES, ids=[_id(c) for c in CASES])
def test_an_old_round_verifies_to_its_recorded_statement(version, name, case):
    st = stark_por.verify(ROOT / version / f"{name}.stpor")
    assert st.round_id == case["round_id"]
    assert st.root == case["root"]
    assert st.num_leaves == case["num_leaves"]
    assert st.range_bits == case["range_bits"]
    assert [[a.name, a.decimals] for a in st.assets] == case["assets"]
    assert {k: str(v) for k, v in st.totals.items()} == case["totals"]
    assert st.statement_version == case.get("statement_version", 1)
    # formats 1 to 3 are their statement's version; 4 and 5 (committed totals) say so
    assert st.format_version == case.get("format_version", st.statement_version)
    assert st.committed == (st.format_version >= 4)
    if "fingerprint" in case:  # recorded from version 2 on
        assert st.fingerprint == case["fingerprint"]
    # the summary published beside the round states the same
    summary = json.loads((ROOT / version / f"{name}.stpor.json").read_text())
    assert summary["root"] == st.root and summary["round_id"] == st.round_id
    assert {a["asset"]: a["total_units"] for a in summary["assets"]} == case["totals"]
    if case.get("statement_version", 1) >= 3:  # margin, from version 3 on
        assert {k: str(v) for k, v in st.debt_totals.items()} == case["debt_totals"]
        assert {k: list(v) for k, v in st.prices.items()} == case["prices"]
        assert st.value_unit_exp == case["value_unit_exp"]
        assert {a["asset"]: a["debt_units"] for a in summary["assets"]} == case["debt_totals"]


@pytest.mark.parametrize("version,name,case", CASES, ids=[_id(c) for c in CASES])
def test_an_old_rounds_inclusion_proofs_still_show_each_user(version, name, case):
    st = stark_por.verify(ROOT / version / f"{name}.stpor")
    # the summary published beside the round anchors them too (written before it had a fingerprint)
    summary = stark_por.PublishedSummary.load(ROOT / version / f"{name}.stpor.json")
    assert summary.fingerprint == st.fingerprint
    decimals = dict(case["assets"])
    for uid, units in case["users"].items():
        inc = load_inclusion(ROOT / version / f"{name}.{uid}.json")
        for anchor in (st, summary):
            for pure in (False, True):
                shown = verify_inclusion(inc, anchor, user_id=uid, fingerprint=st.fingerprint, pure=pure)
                if "equity" in units:  # version 3: equity and debt, and the collateral check
                    assert shown.covered and shown.collateral_value >= shown.debt_value, (uid, pure)
                    assert {"equity": _units(shown.equity, decimals), "debt": _units(shown.debt, decimals)} == units
                else:
                    assert _units(shown, decimals) == units, (uid, pure)


def _units(balances, decimals) -> dict:
    return {k: str(int(v.scaleb(decimals[k], context=EXACT))) for k, v in balances.items() if v}


@pytest.mark.parametrize("version,name,case", CASES[:1], ids=[_id(c) for c in CASES[:1]])
def test_an_old_round_with_one_byte_changed_is_refused(version, name, case, tmp_path):
    data = bytearray((ROOT / version / f"{name}.stpor").read_bytes())
    data[len(data) // 2] ^= 1
    with pytest.raises((InvalidProof, ProofFormatError)):
        stark_por.verify(bytes(data))
