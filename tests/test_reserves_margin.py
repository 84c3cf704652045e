"""The reserves report of a margin round (statement version 3, issue 11): reserves against the
net customer liability per asset (held − owed), a negative net needing no reserves, the
statement's totals, prices and haircuts shown and explained in HTML, Markdown and JSON, and the
track record reading version-3 reports beside the version-2 reports of earlier rounds."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import stark_por
from stark_por import Asset, HistoryError, Ledger, prove, verify
from stark_por.reserves import Reserves
from stark_por.reserves.history import build
from stark_por.reserves.report import (MARGIN_MEANING, REPORT_VERSION, liabilities_of, margin_terms,
                                       statement_fingerprint)
from test_reserves import EXCHANGE, signed

ROUND = "2026-12"
ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("DOGE", 8))
PRICES = {"BTC": ("96250", "0.05"), "ETH": ("3425.5", "0.08"), "USDT": ("1", "0.01")}  # DOGE unpriced
E18 = 10**18
# alice holds; bob owes USDT against ETH; carol owes BTC against USDT; dave owes 20 ETH against
# BTC, more ETH than all customers hold: ETH's net is −8.5 ETH.
HELD = [
    [4 * 10**8, 0, 1_000_000 * 10**6, 500 * 10**8],
    [0, 10 * E18, 0, 0],
    [0, 0, 500_000 * 10**6, 0],
    [2 * 10**8, 3 * E18 // 2, 0, 0],
]
OWED = [
    [0, 0, 0, 0],
    [0, 0, 20_000 * 10**6, 0],
    [2 * 10**8, 0, 0, 0],
    [0, 20 * E18, 0, 0],
]
NET = {"BTC": 4 * 10**8, "ETH": -(17 * E18) // 2, "USDT": 1_480_000 * 10**6, "DOGE": 500 * 10**8}


def ledger() -> Ledger:
    return Ledger.from_arrays(["alice", "bob", "carol", "dave"], ASSETS, np.array(HELD, dtype=object),
                              debts=np.array(OWED, dtype=object))


@pytest.fixture(scope="module")
def proof_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("margin-round") / f"{ROUND}.stpor"
    prove(ledger(), secret=b"m" * 32, round_id=ROUND, prices=PRICES).save(path)
    return path


@pytest.fixture(scope="module")
def statement(proof_path):
    s = verify(proof_path)
    assert s.statement_version == 3
    return s


def covering(net_btc="4", usdt="1480000", doge="500", extra=()) -> list:
    """Signed wallets holding ``net_btc`` BTC, ``usdt`` USDT and ``doge`` DOGE (and no ETH: none is needed)."""
    return [signed("BTC", "bitcoin", net_btc, f"m-btc-{net_btc}", kind="p2wpkh", round_id=ROUND),
            signed("USDT", "ethereum", usdt, f"m-usdt-{usdt}", round_id=ROUND),
            signed("DOGE", "polygon", doge, f"m-doge-{doge}", round_id=ROUND), *extra]


def rep_for(statement, wallets, **kw):
    return stark_por.report(statement, Reserves(tuple(wallets)), exchange=EXCHANGE, **kw)


def only(rep, asset):
    (a,) = [a for a in rep.assets if a.asset == asset]
    return a


# ------------------------------------------------------------------------ net liabilities


def test_liabilities_are_net_and_may_be_negative(statement):
    assert liabilities_of(statement) == NET
    assert statement.debt_totals == {"BTC": 2 * 10**8, "ETH": 20 * E18, "USDT": 20_000 * 10**6, "DOGE": 0}
    terms = margin_terms(statement)
    assert terms["ETH"].net_units == NET["ETH"] and terms["ETH"].required_units == 0
    assert (terms["BTC"].price, terms["BTC"].haircut) == PRICES["BTC"]
    assert terms["DOGE"].price is None and terms["DOGE"].haircut is None


def test_reserves_are_compared_with_the_net(statement):
    rep = rep_for(statement, covering())
    assert rep.passed, rep.verdict
    btc, eth, usdt = only(rep, "BTC"), only(rep, "ETH"), only(rep, "USDT")
    # 4 BTC of reserves cover a net of 4 BTC, though customers hold 6 BTC
    assert (btc.liabilities_units, btc.verified_units, btc.ratio) == (4 * 10**8, 4 * 10**8, Decimal(1))
    assert usdt.liabilities_units == 1_480_000 * 10**6
    # ETH: customers owe more than they hold: no reserves needed, and none listed is not a problem
    assert eth.liabilities_units == 0 and eth.passed and eth.ratio is None and eth.percent == "n/a"
    assert not [f for f in rep.flags if f.subject == "ETH"]
    assert rep.verdict.startswith("PASS: all 3 assets with liabilities")
    # one unit short of the net: FAIL, naming the asset
    short = rep_for(statement, covering(net_btc="3.99999999"))
    assert not short.passed and [a.asset for a in short.uncovered] == ["BTC"]
    assert "BTC (99.99%)" in short.verdict
    # what customers owe in ETH is no reserve of anything: ETH wallets count for ETH only
    eth_wallet = signed("ETH", "ethereum", "100", "m-eth", round_id=ROUND)
    with_eth = rep_for(statement, covering(net_btc="3.99999999", extra=(eth_wallet,)))
    assert not with_eth.passed and only(with_eth, "ETH").verified_units == 100 * E18


def test_version_2_statements_are_unchanged():
    led = Ledger.from_arrays(["a", "b"], ASSETS, np.array(HELD[:2], dtype=object))
    s = verify(prove(led, secret=b"v" * 32, round_id=ROUND).to_bytes())
    assert s.statement_version == 2 and margin_terms(s) is None
    assert liabilities_of(s) == {a.name: t for a, t in zip(ASSETS, led.totals())}
    rep = rep_for(s, [])
    d = rep.to_dict()
    assert d["margin"] is None and all(a["margin"] is None for a in d["assets"])
    assert 'id="margin"' not in rep.to_html() and "Held, owed and net" not in rep.to_markdown()


# ------------------------------------------------------------------------ outputs


def test_json_shows_held_owed_net_prices_and_haircuts(statement):
    rep = rep_for(statement, covering())
    d = json.loads(rep.to_json())
    assert d["version"] == REPORT_VERSION == 3
    assert d["liabilities_proof"]["statement_version"] == 3
    assert d["margin"]["value_unit_exp"] == 27 and d["margin"]["meaning"] == MARGIN_MEANING
    by = {a["asset"]: a for a in d["assets"]}
    eth = by["ETH"]["margin"]
    assert (eth["equity"], eth["debt"], eth["net"]) == ("11.5", "20", "-8.5")
    assert (eth["equity_units"], eth["debt_units"], eth["net_units"]) == (
        str(23 * E18 // 2), str(20 * E18), str(-(17 * E18) // 2))
    assert by["ETH"]["liabilities_units"] == "0" and by["ETH"]["liabilities"] == "0"
    assert (eth["price"], eth["haircut"]) == ("3425.5", "0.08")
    assert Decimal(eth["usd"]["net"]) == Decimal("-8.5") * Decimal("3425.5")  # exact
    assert by["DOGE"]["margin"]["price"] is None and by["DOGE"]["margin"]["usd"] is None
    assert by["DOGE"]["liabilities_units"] == str(500 * 10**8)
    held = sum(Fraction(Decimal(PRICES[k][0])) * Fraction(sum(r[j] for r in HELD), 10**a.decimals)
               for j, (k, a) in enumerate(zip(NET, ASSETS)) if k in PRICES)
    owed = sum(Fraction(Decimal(PRICES[k][0])) * Fraction(sum(r[j] for r in OWED), 10**a.decimals)
               for j, (k, a) in enumerate(zip(NET, ASSETS)) if k in PRICES)
    usd = d["margin"]["usd"]
    assert (Fraction(Decimal(usd["equity"])), Fraction(Decimal(usd["debt"])), Fraction(Decimal(usd["net"]))) == \
        (held, owed, held - owed)


def test_html_and_markdown_explain_the_margin(statement):
    rep = rep_for(statement, covering())
    page = rep.to_html()
    section = re.search(r'<section id="margin".*?</section>', page, re.S).group(0)
    assert "Held, owed and net" in section and "haircut" in section.lower()
    assert "no reserves of it are needed" in section  # the negative net, in words
    assert 'data-asset="ETH" data-net="-8500000000000000000"' in section
    eth_row = re.search(r'<tr data-asset="ETH".*?</tr>', section).group(0)
    assert "−8.5" in eth_row and "(owed to the exchange)" in eth_row and "8%" in eth_row and "$3,425.5" in eth_row
    assert "unpriced" in re.search(r'<tr data-asset="DOGE".*?</tr>', section).group(0)
    assert "Net liabilities" in page and "what customers hold minus what they owe" in page
    md = rep.to_markdown()
    assert "## Held, owed and net (statement version 3)" in md
    assert "| ETH | 11.5 | 20 | −8.5 | 0 | $3,425.5 | 8% |" in md
    assert "| BTC | 6 | 2 | 4 | 4 | $96,250 | 5% |" in md


# ------------------------------------------------------------------------ track record


def test_history_reads_version_3_reports_and_binds_them(statement, tmp_path):
    path = rep_for(statement, covering()).save(tmp_path / "v3.json")
    (r,) = build([path]).rounds
    assert r.fingerprint == statement.fingerprint and r.passed
    assert [a.liabilities_units for a in r.assets] == [max(v, 0) for v in NET.values()]
    doc = json.loads(path.read_text())
    p = doc["liabilities_proof"]
    margin = (27, [(int(a["margin"]["debt_units"]), None if a["margin"]["price"] is None else
                    (a["margin"]["price"], a["margin"]["haircut"])) for a in doc["assets"]])
    assert statement_fingerprint(doc["round_id"], p["range_bits"], p["num_leaves"], p["root"],
                                 [(a["asset"], a["decimals"], int(a["margin"]["equity_units"])) for a in doc["assets"]],
                                 3, margin) == statement.fingerprint


def _edit(doc, path):
    keys = path.split(".")
    target = doc
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    return target, keys[-1]


@pytest.mark.parametrize("field, value, message", [
    ("assets.1.margin.debt_units", str(19 * E18), "fingerprint .* does not match"),
    ("assets.1.margin.equity_units", str(12 * E18), "fingerprint .* does not match"),
    ("assets.0.margin.haircut", "0.5", "fingerprint .* does not match"),
    ("assets.0.margin.price", "96251", "fingerprint .* does not match"),
    ("margin.value_unit_exp", 26, "fingerprint .* does not match"),
    ("assets.1.margin.net_units", "0", "not max\\(equity − debt, 0\\)"),
    ("assets.1.liabilities_units", "1", "not max\\(equity − debt, 0\\)"),
    ("assets.0.margin.usd.net", "1", "margin usd net is not amount × price"),
    ("margin.usd.debt", "1", "margin USD total debt is not the sum"),
    ("margin", None, "field 'margin' is missing"),
    ("assets.3.margin.price", "0.2", "price and haircut must both be"),
])
def test_an_altered_version_3_report_is_refused(statement, tmp_path, field, value, message):
    doc = json.loads(rep_for(statement, covering()).to_json())
    target, key = _edit(doc, field)
    target[key] = value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(HistoryError, match=message):
        build([bad])


def test_version_2_reports_of_earlier_rounds_still_read(statement, tmp_path):
    """Reports written before margin (report version 2, fixtures written by that code) read as
    before, and a track record runs on from them into a version-3 round."""
    old = sorted((Path(__file__).parent / "fixtures" / "reports" / "v2").glob("*.json"))
    assert len(old) == 2 and all(json.loads(p.read_text())["version"] == 2 for p in old)
    new = rep_for(statement, covering()).save(tmp_path / "2026-12.json")
    hist = build(old + [new])
    assert [r.round_id for r in hist.rounds] == ["2026-10", "2026-11", ROUND]
    assert [r.passed for r in hist.rounds] == [True, False, True]
    # a version-2 report cannot claim a version-3 statement
    doc = json.loads(old[0].read_text())
    doc["liabilities_proof"]["statement_version"] = 3
    (tmp_path / "v2-claims-3.json").write_text(json.dumps(doc))
    with pytest.raises(HistoryError, match="statement_version 3 is not 1 or 2"):
        build([tmp_path / "v2-claims-3.json"])


# ------------------------------------------------------------------------ stark-por demo --margin


def test_cli_demo_margin(tmp_path, capsys):
    from stark_por.cli import main
    from stark_por.workloads import W3

    assert main(["-q", "demo", "--margin", "--users", "400", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    drawn = W3(400, seed=0, borrowers=0.1)
    assert f"40 of 400 users borrow ({int(drawn.kinds.sum())} debts" in out
    assert "statement    version 3" in out and "in USD at the statement's prices:" in out
    assert "totals (held and owed) match the ledger exactly, to the smallest unit: yes" in out
    assert "proof of reserves (demo wallets, real signatures): PASS" in out
    # the largest borrower's inclusion, checked by both verifiers with the collateral check
    assert out.count("INCLUDED (") == 2 and out.count(": covered") == 2 and "NOT INCLUDED" not in out
    largest = max(drawn.borrowers.tolist(), key=lambda i: sum(
        Fraction(drawn.margin_prices[drawn.assets[j].name][0]) * Fraction(v, 10**drawn.assets[j].decimals)
        for j, v in drawn.debts(i)))
    assert f"inclusion proof of user {drawn.user_ids[largest]!r}" in out
    statement = verify(tmp_path / "demo-round.stpor")
    assert statement.statement_version == 3 and statement.debt_totals == dict(zip(statement.totals, drawn.debt_totals()))
    assert statement.prices == drawn.margin_prices
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["version"] == 3 and doc["margin"]["value_unit_exp"] == 27 and doc["passed"]
    assert [int(a["liabilities_units"]) for a in doc["assets"]] == \
        [max(n, 0) for n in liabilities_of(statement).values()]
    assert build([tmp_path / "report.json"]).rounds[0].fingerprint == statement.fingerprint
    # --margin needs prices; --borrowers is a fraction
    assert main(["-q", "demo", "--margin", "--workload", "W1", "--users", "20", "--out", str(tmp_path / "w1")]) == 2
    assert main(["-q", "demo", "--margin", "--borrowers", "1.5", "--users", "20", "--out", str(tmp_path / "x")]) == 2
