"""Statement version 3 (margin) from Python: `prove(..., prices=)`, `prove_file(..., prices=)`,
`stark-por prove --prices`, the statement's debt and net totals and prices, and the refusals:
debts without prices, a debt in an unpriced asset, an uncovered debt (the dummy-user attack), a
resume with other prices. Versions 1 and 2 are unchanged."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import stark_por
from stark_por import Asset, Ledger, LedgerError, MarginError, ResumeMismatch, prove, prove_file, verify
from stark_por.cli import EXIT_INPUT, EXIT_OK, main as cli
from stark_por.margin import Prices
from stark_por.proof import Proof, summary_path
from stark_por.rounds import work_folder
from stark_por.workloads.files import write_assets_csv, write_ledger_csv, write_parquet

SECRET = b"margin-prove-secret-0123456789abcdef"
ROUND = "2026-12 margin"
ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("ILLQ", 0))
PRICES = {"BTC": ("97000.5", "0.05"), "ETH": ("3600", "0.1"), "USDT": ("1", "0"), "ILLQ": ("2", "0.95")}
BTC, ETH, USDT = 10**8, 10**18, 10**6
TOP = 2**112 - 1


def borrowers_ledger(n: int = 60) -> Ledger:
    """``n`` users at real magnitudes; every tenth borrows, covered after haircuts: a BTC loan
    against USDT, a USDT loan against ETH, an ETH loan against BTC. Whales and dust too."""
    eq = np.zeros((n, len(ASSETS)), dtype=object)
    debt = np.zeros((n, len(ASSETS)), dtype=object)
    for i in range(n):
        eq[i, 0] = (i * 7_919_003) % (3 * BTC)
        eq[i, 1] = (i * 31_337 * 10**14) % (40 * ETH)
        eq[i, 2] = (i * 1_000_003) % (20_000 * USDT)
        eq[i, 3] = i % 3
        if i % 10 == 3:
            eq[i, 2] = 150_000 * USDT
            debt[i, 0] = 1 * BTC + i                    # ≈ $97,000 against $150,000 of USDT
        elif i % 10 == 6:
            eq[i, 1] = 10 * ETH
            debt[i, 2] = 30_000 * USDT                  # $30,000 against 10 ETH ($32,400 after haircut)
        elif i % 10 == 9:
            eq[i, 0] = 2 * BTC
            debt[i, 1] = 50 * ETH                      # $180,000 against 2 BTC ($184,300.95 after haircut)
    eq[1, 1] = 250_000 * ETH                            # a whale
    eq[2, :3] = [1, 1, 1]                               # dust
    eq[4, 1] = TOP                                      # the bound, as equity
    return Ledger.from_arrays([f"user-{i:03d}" for i in range(n)], ASSETS, eq, debts=debt)


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return borrowers_ledger()


@pytest.fixture(scope="module")
def proof(ledger) -> Proof:
    return prove(ledger, secret=SECRET, round_id=ROUND, prices=PRICES, trace_log2=14)


def test_prove_and_verify_version_3(proof, ledger, tmp_path):
    s = verify(proof)
    assert s.verified and s.statement_version == 3 and s.prices == proof.statement.prices
    assert [s.totals[a.name] for a in ASSETS] == ledger.totals()
    assert [s.debt_totals[a.name] for a in ASSETS] == ledger.debt_totals()
    assert s.debt_totals["BTC"] > 0 and s.debt_totals["ETH"] > 0 and s.debt_totals["ILLQ"] == 0
    assert s.net_totals == {a.name: t - d for a, t, d in zip(ASSETS, ledger.totals(), ledger.debt_totals())}
    assert s.net_totals_decimal["USDT"] == Decimal(s.net_totals["USDT"]) / 10**6
    assert s.debt_totals_decimal["ETH"] == Decimal(f"{ledger.debt_totals()[1]}E-18")
    assert s.prices == PRICES and s.value_unit_exp == 27
    assert s.fingerprint == proof.statement.fingerprint and len(s.fingerprint) == 64
    # the summary: version 2's fields and, per asset, debt, net, price and haircut
    summary = s.summary()
    assert summary["statement_version"] == 3 and summary["value_unit_exp"] == 27
    for row, a in zip(summary["assets"], ASSETS):
        assert row["asset"] == a.name and row["total_units"] == str(s.totals[a.name])
        assert row["debt_units"] == str(s.debt_totals[a.name])
        assert row["net_units"] == str(s.net_totals[a.name])
        assert Decimal(row["debt"]) == s.debt_totals_decimal[a.name]
        assert Decimal(row["net"]) == s.net_totals_decimal[a.name]
        assert (row["price"], row["haircut"]) == PRICES[a.name]
    proof.save(tmp_path / "r.stpor")
    assert json.loads(summary_path(tmp_path / "r.stpor").read_text()) == proof.statement.summary()
    assert verify(tmp_path / "r.stpor") == s


def test_prices_from_a_file_a_mapping_or_prices_are_one_round(proof, ledger, tmp_path):
    p = tmp_path / "prices.csv"
    p.write_text("asset,price,haircut\nBTC,97000.50,.05\nETH,3600.0,0.10\nUSDT,1,0\nILLQ,2,0.95\n")
    again = prove(ledger, secret=SECRET, round_id=ROUND, prices=p, trace_log2=14)
    assert again.data == proof.data, "canonical prices: the same round whatever their spelling"
    assert prove(ledger, secret=SECRET, round_id=ROUND, prices=Prices.load(p), version=3,
                 trace_log2=14).data == proof.data


def test_unpriced_asset_without_debt_is_fine_and_shown_unpriced(ledger):
    no_illq = {k: v for k, v in PRICES.items() if k != "ILLQ"}
    s = verify(prove(ledger, secret=SECRET, round_id=ROUND, prices=no_illq))
    assert "ILLQ" not in s.prices and s.debt_totals["ILLQ"] == 0
    row = s.summary()["assets"][3]
    assert row["asset"] == "ILLQ" and row["price"] is None and row["haircut"] is None


def test_a_ledger_without_debt_proves_version_3_with_prices():
    led = Ledger.from_arrays(["a", "b"], ASSETS, [[BTC, 0, 0, 0], [0, ETH, 5, 0]])
    s = verify(prove(led, secret=SECRET, round_id=ROUND, prices=PRICES))
    assert s.statement_version == 3 and set(s.debt_totals.values()) == {0} and s.net_totals == s.totals


def test_debts_without_prices_are_refused(ledger):
    for version in (None, 2, 1):
        with pytest.raises(LedgerError) as e:
            prove(ledger, secret=SECRET, round_id=ROUND, version=version)
        assert e.value.index == 3 and e.value.column == "BTC.debt" and e.value.value == str(BTC + 3)
        assert "'user-003'" in str(e.value) and "prices" in str(e.value)
    with pytest.raises(ValueError, match="give the prices"):
        prove(ledger, secret=SECRET, round_id=ROUND, version=3)
    with pytest.raises(ValueError, match="version 2 proves equity only"):
        prove(ledger, secret=SECRET, round_id=ROUND, version=2, prices=PRICES)


def test_the_dummy_user_attack_is_refused():
    """Fake accounts hold an illiquid token as "collateral" against a large BTC debt: net of
    debt they look solvent (1,000,000 ILLQ at $2 is $2,000,000 against $970,005 of BTC), but
    after ILLQ's 95 % haircut their collateral is worth $100,000. The prover refuses them."""
    n = 12
    eq = np.zeros((n, 4), dtype=object)
    debt = np.zeros((n, 4), dtype=object)
    eq[:, 2] = 1_000 * USDT
    eq[7, 3] = 1_000_000
    debt[7, 0] = 10 * BTC
    led = Ledger.from_arrays([f"u{i}" for i in range(n)], ASSETS, eq, debts=debt)
    with pytest.raises(LedgerError) as e:
        prove(led, secret=SECRET, round_id=ROUND, prices=PRICES)
    err = e.value
    # the user, the assets and the values: $970,005 of BTC debt against $101,000 of collateral
    # (1,000 USDT and 1,000,000 ILLQ at $2 less 95 %)
    assert err.index == 7 and '"u7"' in str(err), str(err)
    assert "BTC" in str(err) and "ILLQ" in str(err), str(err)
    assert "970005 USD" in str(err) and "101000 USD" in str(err), str(err)
    # the same user is covered once ILLQ counts for more (a haircut of 0.5: $1,000,000)
    fair = dict(PRICES, ILLQ=("2", "0.5"))
    assert verify(prove(led, secret=SECRET, round_id=ROUND, prices=fair)).debt_totals["BTC"] == 10 * BTC


def test_a_debt_in_an_unpriced_asset_is_refused(ledger):
    no_btc = {k: v for k, v in PRICES.items() if k != "BTC"}
    with pytest.raises(LedgerError) as e:
        prove(ledger, secret=SECRET, round_id=ROUND, prices=no_btc)
    assert e.value.index == 3 and "BTC" in str(e.value) and str(BTC + 3) in str(e.value), str(e.value)


def test_a_price_out_of_the_circuit_range_is_refused_naming_asset_and_line(ledger, tmp_path):
    # a 0-decimal asset above about $2.47: one unit's debt value does not fit 2^91 units of 10^-27 USD
    p = tmp_path / "prices.csv"
    p.write_text("asset,price,haircut\nBTC,97000.5,0.05\nILLQ,2.5,0.95\n")
    with pytest.raises(MarginError) as e:
        prove(ledger, secret=SECRET, round_id=ROUND, prices=p)
    err = e.value
    assert (err.row, err.column, err.value, err.asset, err.path) == (3, "price", "2.5", "ILLQ", str(p)), str(err)
    with pytest.raises(MarginError) as e:
        prove(ledger, secret=SECRET, round_id=ROUND, prices=dict(PRICES, SOL=("200", "0.1")))
    assert e.value.value == "SOL" and "not an asset of the statement" in str(e.value)


def test_versions_1_and_2_are_unchanged():
    led = Ledger.from_arrays(["a", "b", "c"], ASSETS[:3], [[BTC, 0, 0], [0, ETH, 5], [1, 0, 0]])
    for version in (1, 2):
        s = verify(prove(led, secret=SECRET, round_id=ROUND, version=version))
        assert s.statement_version == version
        assert s.debt_totals == {a.name: 0 for a in ASSETS[:3]} and s.prices == {} and s.value_unit_exp is None
        assert s.net_totals == s.totals
        summary = s.summary()
        assert set(summary) == {"statement_version", "fingerprint", "round_id", "root", "num_leaves", "range_bits",
                                "security_bits", "proven_security_bits", "assets"}
        assert all(set(row) == {"asset", "decimals", "total", "total_units"} for row in summary["assets"])
    # version 2 is still the default without prices
    assert verify(prove(led, secret=SECRET, round_id=ROUND)).statement_version == 2


# -- streamed rounds ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(ledger, tmp_path_factory):
    d = tmp_path_factory.mktemp("margin")
    write_assets_csv(ASSETS, d / "assets.csv")
    write_ledger_csv(ledger, d / "ledger.csv")
    write_parquet(ledger, d / "ledger.parquet")
    Prices.from_mapping(PRICES).save(d / "prices.csv")
    return d


@pytest.mark.parametrize("name", ["ledger.csv", "ledger.parquet"])
def test_streamed_equals_in_memory(files, proof, name, tmp_path):
    out = tmp_path / "r.stpor"
    s = prove_file(files / name, out, secret=SECRET, round_id=ROUND, prices=files / "prices.csv", chunk_users=7,
                   trace_log2=14)
    assert out.read_bytes() == proof.data, "a streamed version-3 round is the in-memory round byte for byte"
    assert s == verify(out) and s.statement_version == 3 and s.prices == PRICES
    assert json.loads(summary_path(out).read_text()) == s.summary()


def test_prove_file_refuses_debts_without_prices(files, tmp_path):
    out = tmp_path / "r.stpor"
    with pytest.raises(LedgerError) as e:
        prove_file(files / "ledger.csv", out, secret=SECRET, round_id=ROUND)
    assert e.value.column == "BTC.debt" and "'user-003'" in str(e.value) and "prices" in str(e.value)
    assert not work_folder(out).exists()


def test_resume_with_other_prices_is_refused_naming_them(files, tmp_path):
    out = tmp_path / "r.stpor"
    prove_file(files / "ledger.csv", out, secret=SECRET, round_id=ROUND, prices=files / "prices.csv", keep_work=True)
    other = tmp_path / "other.csv"
    Prices.from_mapping(dict(PRICES, BTC=("97000", "0.05"))).save(other)
    with pytest.raises(ResumeMismatch) as e:
        prove_file(files / "ledger.csv", out, secret=SECRET, round_id=ROUND, prices=other, resume=True)
    assert e.value.fields == ("prices file",)
    with pytest.raises(ResumeMismatch) as e:  # and without prices: another statement version too
        prove_file(files / "ledger.csv", out, secret=SECRET, round_id=ROUND, resume=True)
    assert set(e.value.fields) == {"statement version", "prices file"}
    # the same prices spelt otherwise are the same prices
    same = tmp_path / "same.csv"
    same.write_text("asset,price,haircut\nILLQ,2,0.950\nUSDT,1.0,0\nETH,3600,.1\nBTC,097000.5,0.05\n")
    prove_file(files / "ledger.csv", out, secret=SECRET, round_id=ROUND, prices=same, resume=True)
    assert verify(out).prices == PRICES


def test_cli_prove_and_verify_margin(files, proof, tmp_path, capsys):
    secret = tmp_path / "secret.key"
    secret.write_bytes(SECRET)
    out = tmp_path / "r.stpor"
    code = cli(["--quiet", "prove", str(files / "ledger.csv"), "-o", str(out), "--round-id", ROUND,
                "--secret-file", str(secret), "--prices", str(files / "prices.csv"), "--trace-size", "2^14"])
    assert code == EXIT_OK and out.read_bytes() == proof.data
    capsys.readouterr()
    assert cli(["verify", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "VALID" in text and "version 3" in text and "haircut 0.05" in text and "97000.5" in text
    s = proof.statement
    btc_line = next(line for line in text.splitlines() if line.strip().startswith("BTC") and "." in line)
    for value in (s.totals_decimal["BTC"], s.debt_totals_decimal["BTC"], s.net_totals_decimal["BTC"]):
        assert f"{value:,f}" in btc_line, btc_line
    # debts without --prices, or --prices with another version: refused as bad input
    assert cli(["--quiet", "prove", str(files / "ledger.csv"), "-o", str(tmp_path / "x.stpor"), "--round-id", ROUND,
                "--secret-file", str(secret)]) == EXIT_INPUT
    assert "BTC.debt" in capsys.readouterr().err
    assert cli(["--quiet", "prove", str(files / "ledger.csv"), "-o", str(tmp_path / "y.stpor"), "--round-id", ROUND,
                "--secret-file", str(secret), "--prices", str(files / "prices.csv"),
                "--statement-version", "2"]) == EXIT_INPUT
    assert "--prices" in capsys.readouterr().err
