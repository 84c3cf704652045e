"""Track record across rounds (issue 13 §3): stark-por history over the JSON reports of several rounds."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stark_por
from stark_por import Asset, HistoryError, Ledger, prove, verify
from stark_por.cli import main
from stark_por.reserves import Reserves
from stark_por.reserves.history import build
from stark_por.reserves.prices import Price, Prices
from stark_por.reserves.report import statement_fingerprint
from test_reserves import _chromium, browser, signed  # noqa: F401  (browser is a fixture)

EXCHANGE = "Example Exchange"  # test_reserves.signed signs for this exchange
ASSETS = (Asset("BTC", 8), Asset("USDT", 6))
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # git-ignored

# Four monthly rounds: covered, covered, USDT short, covered.
ROUNDS = [("2026-08", "12", "3000000"), ("2026-09", "11", "3100000"), ("2026-10", "10.5", "2500000"),
          ("2026-11", "12", "3000001")]


def _report(round_id, btc, usdt, tmp: Path, exchange=EXCHANGE) -> Path:
    balances = np.array([[600_000_000, 1_500_000 * 10**6], [400_000_000, 1_500_000 * 10**6]], dtype=np.uint64)
    ledger = Ledger.from_arrays(["a", "b"], ASSETS, balances)  # liabilities BTC 10, USDT 3,000,000
    path = tmp / f"{round_id}.stpor"
    prove(ledger, secret=b"h" * 32, round_id=round_id).save(path)
    wallets = [signed("BTC", "bitcoin", btc, f"h-btc-{round_id}", kind="p2wpkh", round_id=round_id),
               signed("USDT", "ethereum", usdt, f"h-usdt-{round_id}", round_id=round_id)]
    prices = Prices.of([Price("BTC", Decimal("90000") + int(round_id[-2:]), "test feed", f"{round_id}-28T00:00:00Z"),
                        Price("USDT", Decimal("1"), "test feed", f"{round_id}-28T00:00:00Z")], round_id)
    rep = stark_por.report(verify(path), Reserves(tuple(wallets)), exchange=EXCHANGE, prices=prices)
    rep = rep if exchange == EXCHANGE else type(rep)(**{**rep.__dict__, "exchange": exchange})
    return rep.save(tmp / f"{round_id}-{exchange.split()[0]}.json")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("history")
    return [_report(r, b, u, tmp) for r, b, u in ROUNDS]


def test_the_track_record_over_four_rounds(reports):
    hist = build(reports)
    assert [r.round_id for r in hist.rounds] == [r for r, _, _ in ROUNDS]
    assert [r.passed for r in hist.rounds] == [True, True, False, True]
    assert hist.longest_streak == (2, "2026-08", "2026-09") and hist.current_streak == 1
    ratios = hist.ratios()
    assert ratios["BTC"] == [Decimal("1.2"), Decimal("1.1"), Decimal("1.05"), Decimal("1.2")]
    assert ratios["USDT"][2] < 1 <= ratios["USDT"][3]
    first = hist.rounds[0].usd
    assert first["liabilities"] == 10 * Decimal("90008") + 3_000_000
    assert first["verified_reserves"] == 12 * Decimal("90008") + 3_000_000
    assert [len(r.covered) for r in hist.rounds] == [2, 2, 1, 2]


def test_cli_history_writes_the_page(reports, tmp_path, capsys):
    out = tmp_path / "history.html"
    assert main(["-q", "history", *map(str, reports), "-o", str(out)]) == 0
    page = out.read_text()
    assert "3 of 4 rounds fully covered" in page and 'data-streak="2"' in page
    assert page.count('data-passed="false"') == 1
    assert "longest streak 2 round(s) (2026-08 to 2026-09)" in capsys.readouterr().out


def _edited(src: Path, dst: Path, edit) -> Path:
    doc = json.loads(src.read_text())
    edit(doc)
    dst.write_text(json.dumps(doc))
    return dst


def test_reports_of_another_exchange_or_a_round_twice_are_refused(reports, tmp_path):
    other = _report("2026-12", "12", "3000000", tmp_path, exchange="Other Exchange")
    with pytest.raises(HistoryError, match="is a report of exchange 'Other Exchange'"):
        build(reports + [other])
    with pytest.raises(HistoryError, match="repeats round '2026-09'"):
        build(reports + [reports[1]])
    copy = tmp_path / "copy.json"
    shutil.copy(reports[0], copy)
    with pytest.raises(HistoryError, match=f"{re.escape(str(copy))}: repeats round '2026-08' of"):
        build([reports[0], copy])
    assert main(["-q", "history", str(reports[0]), str(copy), "-o", str(tmp_path / "h.html")]) == 2
    assert not (tmp_path / "h.html").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["assets"][0].update(liabilities_units="900000000"), "fingerprint .* does not match"),
    (lambda d: d["liabilities_proof"].update(root="00" * 32), "fingerprint .* does not match"),
    (lambda d: d.update(round_id="2026-07"), "fingerprint .* does not match"),  # another round's label
    (lambda d: d["liabilities_proof"].update(num_leaves=3), "not a statement's: the tree size 3"),
    # the statement version is under the fingerprint: version 1 has no 112-bit bound, and a
    # report that drops the field claims version 1
    (lambda d: d["liabilities_proof"].update(statement_version=1), "not a statement's: range bound of 112"),
    (lambda d: d["liabilities_proof"].pop("statement_version"), "not a statement's: range bound of 112"),
    # a version-3 statement binds its debts, prices and haircuts: a report without them is refused
    (lambda d: d["liabilities_proof"].update(statement_version=3), "field 'margin' is missing"),
    (lambda d: d["liabilities_proof"].update(statement_version=4), "statement_version 4 is not 1, 2 or 3"),
    (lambda d: d["assets"][1].update(verified_reserves="3500000"), "ratio or pass/fail does not follow"),
    (lambda d: d["assets"][0]["usd"].update(liabilities="1"), "usd liabilities is not amount × price"),
    (lambda d: d["usd"].update(surplus="1"), "USD total surplus is not the sum"),
    (lambda d: d.update(passed=False), "verdict does not follow"),
    (lambda d: d["wallets"][0].update(balance="13"), "not the sum of its counted wallets"),
    (lambda d: d["wallets"][1].update(counted=False), "not the sum of its counted wallets"),
    (lambda d: d["balances"].update(checked_on_chain=2), "count of balances checked on-chain"),
    (lambda d: d["assets"][0].update(percent="150.00%"), "ratio or pass/fail does not follow"),
    (lambda d: d.update(version=1), "version 1"),
    (lambda d: d.update(exchange=None), "names no exchange"),
    (lambda d: d.update(format="something else"), "is not a stark-por reserves report"),
])
def test_an_altered_or_mixed_report_is_refused(reports, tmp_path, edit, message):
    bad = _edited(reports[0], tmp_path / "bad.json", edit)
    with pytest.raises(HistoryError, match=message):
        build([bad] + reports[1:])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["liabilities_units", "verified_reserves", "ratio", "percent", "usd.price", "usd.liabilities",
                        "usd.verified_reserves", "usd.surplus", "decimals"]),
       st.integers(0, 1), st.integers(1, 10**9))
def test_any_changed_amount_is_refused(reports, tmp_path, field, index, delta):
    doc = json.loads(reports[0].read_text())
    target = doc["assets"][index]
    key = field
    if field.startswith("usd."):
        target, key = target["usd"], field[4:]
    if key == "decimals":
        target[key] += 1 + delta % 5
    elif key == "liabilities_units":
        target[key] = str(int(target[key]) + delta)
    else:  # a decimal text (ratio, percent "…%"): a change in its digits
        old = target[key].rstrip("%")
        new = str(Decimal(old.replace(",", "")) + Decimal(delta).scaleb(-6))
        target[key] = new + ("%" if key == "percent" else "")
    (tmp_path / "t.json").write_text(json.dumps(doc))
    with pytest.raises(HistoryError):
        build([tmp_path / "t.json"])


def test_the_report_fingerprint_is_the_statement_fingerprint(reports):
    doc = json.loads(reports[0].read_text())
    p = doc["liabilities_proof"]
    statement = verify(reports[0].with_name("2026-08.stpor"))
    assert p["statement_version"] == statement.statement_version == 2
    assert p["fingerprint"] == statement.fingerprint == statement_fingerprint(
        doc["round_id"], p["range_bits"], p["num_leaves"], p["root"],
        [(a["asset"], a["decimals"], int(a["liabilities_units"])) for a in doc["assets"]], 2)


def test_history_page_renders_in_headless_chromium(browser, reports, tmp_path):  # noqa: F811
    from PIL import Image

    page = build(reports).to_html()
    (tmp_path / "history.html").write_text(page)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "history.png"
    r = _chromium("--window-size=1200,1600", f"--screenshot={shot}", (tmp_path / "history.html").as_uri())
    assert shot.exists(), r.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    assert len(np.unique(img, axis=0)) > 200  # text and two charts, not a blank page
    # Latest round passed: the green banner is at the top.
    green = np.all(np.abs(img.astype(int) - (0x1B, 0x7F, 0x3B)) <= 6, axis=1)
    assert green[: 1200 * 400].mean() > 0.02
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", (tmp_path / "history.html").as_uri()).stdout
    assert dom.count("<img") == 2 and "3 of 4 rounds fully covered" in dom


def test_reports_written_before_margin_still_read(tmp_path):
    """Report version 2 (fixtures written by the release before margin, tests/fixtures/reports/v2)
    reads as before; such a report cannot claim a version-3 statement, whose debts, prices and
    haircuts it does not carry."""
    old = sorted((Path(__file__).parent / "fixtures" / "reports" / "v2").glob("*.json"))
    docs = [json.loads(p.read_text()) for p in old]
    assert [d["version"] for d in docs] == [2, 2] and all("margin" not in d for d in docs)
    hist = build(old)
    assert [(r.round_id, r.passed) for r in hist.rounds] == [("2026-10", True), ("2026-11", False)]
    assert [r.fingerprint for r in hist.rounds] == [d["liabilities_proof"]["fingerprint"] for d in docs]
    (usdt,) = [a for a in hist.rounds[1].assets if a.asset == "USDT"]
    assert not usdt.passed and usdt.verified_units == usdt.liabilities_units - 1  # one micro-USDT short
    docs[0]["liabilities_proof"]["statement_version"] = 3
    (tmp_path / "claims-3.json").write_text(json.dumps(docs[0]))
    with pytest.raises(HistoryError, match="statement_version 3 is not 1 or 2"):
        build([tmp_path / "claims-3.json"])
