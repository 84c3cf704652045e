"""Tests of stark_por.workloads: the exchange workloads W3/W4, their writers and summary, and
W1/W2 kept exactly as they were."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stark_por import synthetic
from stark_por.errors import LedgerError
from stark_por.ledger import Ledger, format_amount
from stark_por.margin import Prices as MarginPrices
from stark_por.workloads import (
    AMOUNT_BITS, MAX_PORTFOLIO_USD, W3, W3_LISTINGS, W4, ExchangeWorkload, Listing, add_borrowers,
    ledger_file, summarize, usd_value, w4_listings, workload, write_workload,
)

FIXTURE = Path(__file__).parent / "fixtures" / "workloads" / "w1w2_before_w3.json"


# ------------------------------------------------------------------ independent readers


def _units(text: str, decimals: int) -> int:
    """Display-unit text -> smallest units, through Decimal (not the project's parser)."""
    with localcontext() as ctx:
        ctx.prec = 200
        v = Decimal(text).scaleb(decimals)
    assert v == v.to_integral_value(), f"{text} has more than {decimals} decimals"
    return int(v)


def read_csv_entries(path: Path, decimals: dict) -> dict:
    """{(user_id, asset): units} of a ledger CSV, any size."""
    out = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            uid = row.pop("user_id")
            for asset, cell in row.items():
                if cell:
                    out[uid, asset] = _units(cell, decimals[asset])
    return out


def read_parquet_entries(path: Path, decimals: dict) -> dict:
    """{(user_id, asset): units} of a Parquet ledger (decimal or string columns), any size."""
    t = pq.read_table(path)
    uids = t.column("user_id").to_pylist()
    out = {}
    for name in t.column_names:
        if name == "user_id":
            continue
        for uid, v in zip(uids, t.column(name).to_pylist()):
            if v is not None:
                out[uid, name] = _units(str(v), decimals[name])
    return out


def entries_of(w) -> dict:
    out = {}
    for i, uid in enumerate(w.user_ids):
        for j, v in w.entries(i):
            out[uid, w.assets[j].name] = v
    return out


def holdings_usd(w) -> list:
    """Exact USD value of each user's holdings."""
    price = [x.price for x in w.listings]
    dec = [x.decimals for x in w.listings]
    out = []
    for i in range(w.num_users):
        out.append(sum((Fraction(usd_value(v, dec[j], price[j])) for j, v in w.entries(i)), Fraction(0)))
    return out


# ------------------------------------------------------------------ W1/W2 unchanged


@pytest.mark.parametrize("case", json.loads(FIXTURE.read_text())["ledgers"],
                         ids=lambda c: f"{c['function']}-{c['users']}")
def test_w1_w2_unchanged(case, tmp_path):
    led = getattr(synthetic, case["function"])(case["users"], **case["kwargs"])
    h = hashlib.sha256()
    for a in (led.indptr, led.asset_index, led.amounts):
        h.update(a.tobytes())
    h.update("\n".join(led.user_ids).encode())
    h.update(repr(led.assets).encode())
    h.update(str(led.max_bits).encode())
    assert h.hexdigest() == case["arrays_sha256"]
    apath = synthetic.write_csv(led, tmp_path / "l.csv")
    assert hashlib.sha256((tmp_path / "l.csv").read_bytes()).hexdigest() == case["csv_sha256"]
    assert hashlib.sha256(apath.read_bytes()).hexdigest() == case["assets_csv_sha256"]
    if case["function"] != "generate":
        assert workload(case["function"], case["users"], **case["kwargs"]) == led


# ------------------------------------------------------------------ listings


def test_listings():
    names = [x.name for x in W3_LISTINGS]
    assert len(names) == 22 == len(set(names))
    dec = {x.name: x.decimals for x in W3_LISTINGS}
    assert (dec["BTC"], dec["ETH"], dec["USDT"], dec["USDC"], dec["SOL"], dec["SHIB"],
            dec["PEPE"], dec["XLM"], dec["DOT"]) == (8, 18, 6, 6, 9, 18, 18, 7, 10)
    pop = {x.name: x.popularity for x in W3_LISTINGS}
    assert min(pop["USDT"], pop["BTC"], pop["ETH"]) > max(v for k, v in pop.items()
                                                         if k not in ("USDT", "BTC", "ETH", "USDC"))
    w4 = w4_listings()
    assert len(w4) == 220 and w4[:22] == W3_LISTINGS
    assert [x.name for x in w4[22:]] == [f"TKN{i:03d}" for i in range(23, 221)]
    tail_dec = [x.decimals for x in w4[22:]]
    assert set(tail_dec) <= {18, 6, 8, 9} and tail_dec.count(18) > len(tail_dec) / 2
    prices = [x.price for x in w4[22:]]
    assert max(prices) / min(prices) > Decimal(10) ** 8  # many orders of magnitude
    for x in w4:
        assert isinstance(x.price, Decimal) and x.price > 0
        assert (MAX_PORTFOLIO_USD * 10**x.decimals / Fraction(x.price)) < 2**AMOUNT_BITS


def test_listing_refusals():
    with pytest.raises(ValueError, match="2\\*\\*112"):
        Listing("DUST", 18, Decimal("0.0000000000001"), 1.0)  # $1B of it is ~2^119 wei
    with pytest.raises(ValueError, match="Decimal"):
        Listing("BTC", 8, 96250.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        Listing("BTC", 8, Decimal("0"), 1.0)
    with pytest.raises(ValueError, match="popularity"):
        Listing("BTC", 8, Decimal("1"), 0.0)


# ------------------------------------------------------------------ the draw


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1), wide=st.booleans())
def test_deterministic_and_exact(n, seed, wide):
    draw = W4 if wide else W3
    w = draw(n, seed=seed)
    again = draw(n, seed=seed)
    assert w.user_ids == again.user_ids
    for a, b in ((w.indptr, again.indptr), (w.asset_index, again.asset_index), (w.amounts, again.amounts)):
        assert np.array_equal(a, b)
    assert w.num_users == n and w.indptr[0] == 0 and int(w.indptr[-1]) == w.num_entries
    held = np.diff(w.indptr.astype(np.int64))
    assert held.min() >= 1 and held.max() <= 22
    for i in range(n):
        a = w.asset_index[int(w.indptr[i]):int(w.indptr[i + 1])]
        assert (np.diff(a.astype(np.int64)) > 0).all()
    for j, v in zip(w.asset_index.tolist(), w.amounts.tolist()):
        assert type(v) is int and 0 < v < 2**AMOUNT_BITS
        d = w.listings[j].decimals
        text = format_amount(v, d)
        assert len(text.partition(".")[2]) <= d and _units(text, d) == v
    # each user's holdings are worth the drawn value: rounded down to whole smallest units
    # (and micro-dollars), except dust raised to one unit
    unit = [Fraction(x.price) / 10**x.decimals for x in w.listings]
    for i, value in enumerate(holdings_usd(w)):
        js = [j for j, _ in w.entries(i)]
        usd = Fraction(float(w.usd[i]))
        slack = sum(unit[j] for j in js)
        assert usd - slack - Fraction(len(js), 10**6) - usd / 10**12 <= value <= usd + slack + usd / 10**12
        assert value < MAX_PORTFOLIO_USD + 1
    if n >= 2:
        other = draw(n, seed=seed + 1)
        assert not (np.array_equal(w.indptr, other.indptr) and np.array_equal(w.amounts, other.amounts))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ten_thousand_users_look_like_an_exchange(seed):
    w = W3(10_000, seed=seed)
    tot = {a.name: Fraction(t, 10**a.decimals) for a, t in zip(w.assets, w.totals())}
    assert 1 <= tot["BTC"] <= 10_000  # tens of BTC, not billions
    assert 10 <= tot["ETH"] <= 20_000  # thousands of ETH at most
    assert 10_000 <= tot["USDT"] <= 10**9
    held = np.diff(w.indptr.astype(np.int64))
    assert 2.9 <= held.mean() <= 3.1
    value = holdings_usd(w)
    assert max(value) < MAX_PORTFOLIO_USD + 1  # nobody at $1B
    in_body = sum(1 for v in value if 1 <= v <= 10_000)
    assert in_body >= 0.9 * w.num_users  # most accounts hold $1 … $10,000
    whales = sum(1 for v in value if v >= 100_000)
    assert 1 <= whales <= 100  # a few whales
    assert 10**6 <= sum(value) <= 10**9  # a small exchange's liabilities
    counts = np.bincount(w.asset_index, minlength=w.num_assets)
    pos = {x.name: j for j, x in enumerate(w.listings)}
    assert min(counts[pos["USDT"]], counts[pos["BTC"]], counts[pos["ETH"]]) > counts[pos["ATOM"]] * 3
    # 18-decimal holdings are why 2^62 refuses real exchanges
    assert any(v >= 2**64 for v in w.amounts.tolist())


def test_to_ledger(tmp_path):
    w = W3(500, seed=4)
    with pytest.raises(LedgerError, match="range bound 2\\*\\*62") as e:
        w.to_ledger(62)
    pos = next(p for p, v in enumerate(w.amounts.tolist()) if v >= 2**62)
    user = int(np.searchsorted(w.indptr, np.uint64(pos), side="right")) - 1
    assert e.value.index == user and e.value.column == w.listings[int(w.asset_index[pos])].name
    small = ExchangeWorkload("tiny", W3_LISTINGS[:2], ["a", "b"], np.array([0, 1, 3], np.uint64),
                             np.array([1, 0, 1], np.uint32), np.array([5, 2**62 - 1, 7], object),
                             np.array([1.0, 2.0]))
    led = small.to_ledger(62)
    assert led == Ledger.from_entries(["a", "b"], small.assets, [0, 1, 3], [1, 0, 1], [5, 2**62 - 1, 7],
                                      max_bits=62)
    # at version 2's bound every W3 holding fits, exactly
    wide = w.to_ledger(112)
    assert wide.amounts_as_ints() == w.amounts.tolist() and wide.totals() == w.totals()


# ------------------------------------------------------------------ files


def _decimals(w) -> dict:
    return {a.name: a.decimals for a in w.assets}


def test_files_round_trip_beyond_2_64(tmp_path):
    w = W3(2_000, seed=5)
    assert sum(v >= 2**64 for v in w.amounts.tolist()) > 100
    files = write_workload(w, tmp_path, ("csv", "parquet"))
    want = entries_of(w)
    assert read_csv_entries(files["csv"], _decimals(w)) == want
    assert read_parquet_entries(files["parquet"], _decimals(w)) == want
    write_workload(w, tmp_path / "s", ("parquet",), parquet_amounts="string")
    assert read_parquet_entries(tmp_path / "s" / "ledger.parquet", _decimals(w)) == want
    with open(files["assets"], newline="") as fh:
        assert [tuple(r) for r in csv.reader(fh)] == [("asset", "decimals")] + \
            [(x.name, str(x.decimals)) for x in w.listings]
    with open(files["prices"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["asset"] for r in rows] == [x.name for x in w.listings]
    assert all(Decimal(r["usd_price"]) == x.price and r["source"] == "synthetic" and r["timestamp"]
               for r, x in zip(rows, w.listings))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_amount_round_trips(tmp_path_factory, data):
    listings = W3_LISTINGS[:4]
    n = data.draw(st.integers(1, 12))
    edges = st.sampled_from([1, 2**62 - 1, 2**62, 2**64 - 1, 2**64, 2**112 - 1])
    amount = st.one_of(st.integers(1, 2**112 - 1), edges)
    held = [data.draw(st.sets(st.integers(0, 3), min_size=1)) for _ in range(n)]
    ip = np.cumsum([0] + [len(h) for h in held]).astype(np.uint64)
    ai = np.array([j for h in held for j in sorted(h)], np.uint32)
    am = np.array([data.draw(amount) for _ in range(ai.size)] or [], object)
    w = ExchangeWorkload("h", listings, [f"u{i}" for i in range(n)], ip, ai, am, np.ones(n))
    folder = tmp_path_factory.mktemp("rt")
    files = write_workload(w, folder, ("csv", "parquet"))
    want = entries_of(w)
    assert read_csv_entries(files["csv"], _decimals(w)) == want
    assert read_parquet_entries(files["parquet"], _decimals(w)) == want


def test_w1_files_read_by_todays_readers(tmp_path):
    led = synthetic.W1(1_000, seed=3)
    files = write_workload(led, tmp_path, ("csv", "parquet"))
    assert "prices" not in files
    assert Ledger.from_csv(files["csv"], max_bits=led.max_bits) == led
    assert Ledger.from_parquet(files["parquet"], max_bits=led.max_bits) == led


def test_ledger_file_hook(tmp_path):
    path = ledger_file("W1", 300, tmp_path, seed=2)
    assert Ledger.from_csv(path, max_bits=50) == synthetic.W1(300, seed=2)
    before = path.stat().st_mtime_ns
    assert ledger_file("w1", 300, tmp_path, seed=2) == path and path.stat().st_mtime_ns == before
    p3 = ledger_file("W3", 300, tmp_path, fmt="parquet", seed=2)
    assert p3.suffix == ".parquet" and (p3.parent / "prices.csv").is_file()
    assert read_parquet_entries(p3, _decimals(W3(1))) == entries_of(W3(300, seed=2))
    with pytest.raises(ValueError, match="unknown workload"):
        workload("W9", 10)


# ------------------------------------------------------------------ summary


def test_summary():
    w = W3(3_000, seed=6)
    s = summarize(w)
    am = w.amounts.tolist()
    assert (s.users, s.entries) == (3_000, len(am))
    assert s.at_least_2_62 == sum(v >= 2**62 for v in am) > s.at_least_2_64 == sum(v >= 2**64 for v in am) > 0
    assert s.max_amount_bits == max(am).bit_length()
    for a, total in zip(s.assets, w.totals()):
        x = next(x for x in w.listings if x.name == a.name)
        assert a.units == total and _units(a.display, a.decimals) == total
        assert Fraction(a.usd) == Fraction(total, 10**a.decimals) * Fraction(x.price)  # exact
    assert Fraction(s.usd) == sum(Fraction(a.usd) for a in s.assets)
    text = s.format()
    assert "W3: 3,000 users" in text and all(x.name in text for x in w.listings)
    # W1 is priced at the reference prices, so its absurd totals show in dollars
    w1 = summarize(synthetic.W1(2_000))
    btc = next(a for a in w1.assets if a.name == "BTC")
    assert btc.usd is not None and btc.usd > 10**9 and w1.at_least_2_62 == 0
    assert summarize(synthetic.W2(100)).usd is None  # unpriced long-tail tokens


def test_writer_refusals_and_types(tmp_path):
    w = W3(50, seed=8)
    with pytest.raises(ValueError, match="amounts must be one of"):
        write_workload(w, tmp_path, ("parquet",), parquet_amounts="float")
    with pytest.raises(ValueError, match="unknown ledger format"):
        write_workload(w, tmp_path, ("xlsx",))
    files = write_workload(w, tmp_path, ("parquet",))
    schema = pq.read_schema(files["parquet"])
    assert [str(schema.field(x.name).type) for x in w.listings] == \
        [f"decimal128(38, {x.decimals})" for x in w.listings]
    huge = ExchangeWorkload("h", W3_LISTINGS[:1], ["a"], np.array([0, 1], np.uint64),
                            np.array([0], np.uint32), np.array([10**38], object), np.ones(1))
    with pytest.raises(ValueError, match="38 digits"):
        write_workload(huge, tmp_path / "h", ("parquet",))
    files = write_workload(huge, tmp_path / "h", ("csv", "parquet"), parquet_amounts="string")
    want = {("a", "BTC"): 10**38}
    assert read_csv_entries(files["csv"], {"BTC": 8}) == want == read_parquet_entries(files["parquet"], {"BTC": 8})


# ------------------------------------------------------------------ borrowers (issue 11)

MARGIN_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")  # INTERFACE §1's canonical decimal


def read_margin_prices(path: Path) -> dict:
    """{asset: (price, haircut)} as Fractions, read with the csv module and checked canonical."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["asset", "price", "haircut"]
    out = {}
    for asset, price, haircut in rows[1:]:
        assert MARGIN_DECIMAL.fullmatch(price) and MARGIN_DECIMAL.fullmatch(haircut), (asset, price, haircut)
        out[asset] = (Fraction(price), Fraction(haircut))
    assert len(out) == len(rows) - 1
    return out


def read_csv_debts(path: Path, decimals: dict) -> tuple:
    """({(user, asset): equity}, {(user, asset): debt}) of a ledger CSV with ``<ASSET>.debt`` columns."""
    equity, debt = {}, {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for name in reader.fieldnames[1:]:
            base = name.removesuffix(".debt")
            assert base in decimals, name
        for row in reader:
            uid = row.pop("user_id")
            for col, cell in row.items():
                if cell:
                    base = col.removesuffix(".debt")
                    (debt if col.endswith(".debt") else equity)[uid, base] = _units(cell, decimals[base])
    return equity, debt


def debts_of(w) -> dict:
    return {(uid, w.assets[j].name): v for i, uid in enumerate(w.user_ids) for j, v in w.debts(i)}


def values(w, prices: dict, i: int) -> tuple:
    """(collateral after haircuts, debt) of user ``i`` in USD, exact Fractions."""
    dec = {x.name: x.decimals for x in w.listings}
    name = [x.name for x in w.listings]
    coll = sum((prices[name[j]][0] * (1 - prices[name[j]][1]) * Fraction(v, 10**dec[name[j]])
                for j, v in w.entries(i)), Fraction(0))
    owed = sum((prices[name[j]][0] * Fraction(v, 10**dec[name[j]]) for j, v in w.debts(i)), Fraction(0))
    return coll, owed


@pytest.fixture(scope="module")
def margin_w3(tmp_path_factory):
    w = W3(20_000, seed=11, borrowers=0.1)
    folder = tmp_path_factory.mktemp("margin")
    return w, write_workload(w, folder, ("csv", "parquet"))


def test_borrowers_are_a_tenth_and_all_covered_exactly(margin_w3):
    w, files = margin_w3
    prices = read_margin_prices(files["margin_prices"])
    assert list(prices) == [x.name for x in w.listings]
    borrowers = w.borrowers.tolist()
    assert len(borrowers) == 2_000  # round(0.1 · N): everyone eligible here has $10 of collateral
    for i in borrowers:
        coll, owed = values(w, prices, i)
        assert owed > 0 and owed <= coll * Fraction(7, 10)  # at most 70 % of the collateral
        # at least ~10 %: rounded down to whole smallest units of each debt
        slack = sum(prices[w.assets[j].name][0] / 10**w.assets[j].decimals for j, _ in w.debts(i))
        assert owed + slack >= coll / 10
        # and covered with the circuit's own rounding: ⌊c⌋ per unit of equity, ⌈d⌉ per unit of debt
        unit = Fraction(10) ** 27
        c = {j: math.floor(prices[a.name][0] * (1 - prices[a.name][1]) * unit / 10**a.decimals)
             for j, a in enumerate(w.assets)}
        d = {j: math.ceil(prices[a.name][0] * unit / 10**a.decimals) for j, a in enumerate(w.assets)}
        assert sum(c[j] * v for j, v in w.entries(i)) >= sum(d[j] * v for j, v in w.debts(i))
    others = set(range(w.num_users)) - set(borrowers)
    assert all(not w.debts(i) for i in others)
    # nobody borrows without collateral worth $10 after haircuts
    assert min(values(w, prices, i)[0] for i in borrowers) >= 10


def test_debts_look_like_an_exchange(margin_w3):
    w, _ = margin_w3
    owed_in = [w.assets[j].name for i in w.borrowers.tolist() for j, _ in w.debts(i)]
    share = sum(a in ("USDT", "USDC", "BTC", "ETH") for a in owed_in) / len(owed_in)
    assert 0.8 <= share < 1  # mostly stablecoins, BTC and ETH; a few others
    two = sum(len(w.debts(i)) == 2 for i in w.borrowers.tolist())
    assert 0.1 * 2_000 <= two <= 0.3 * 2_000
    # whales borrow too; dust is kept and never borrows
    plain = W3(20_000, seed=11)
    usd = holdings_usd(plain)
    borrowers = set(w.borrowers.tolist())
    assert any(usd[i] >= 100_000 for i in borrowers)
    dust = [i for i, v in enumerate(usd) if v < 1]
    assert dust and not borrowers & set(dust)
    assert any(v == 1 for v in w.amounts.tolist())  # a one-unit holding: dust is still owed
    # debts at native decimals reach beyond 2^64 (18-decimal ETH) and stay below 2^112
    debt_amounts = [v for i in borrowers for _, v in w.debts(i)]
    assert max(debt_amounts) >= 2**64 and max(debt_amounts) < 2**AMOUNT_BITS
    s = summarize(w)
    assert (s.borrowers, s.debts) == (2_000, len(debt_amounts))
    assert [a.debt_units for a in s.assets] == w.debt_totals()
    assert "borrowers: 2,000" in s.format()


def test_borrowers_leave_the_holdings_as_they_were(margin_w3):
    w, _ = margin_w3
    plain = W3(20_000, seed=11)
    assert entries_of(w) == entries_of(plain) and w.totals() == plain.totals()
    assert np.array_equal(w.usd, plain.usd) and not plain.has_debt and w.has_debt
    # entries per user strictly increasing by (asset, kind)
    tag = 2 * w.asset_index.astype(np.int64) + w.kinds
    for i in range(0, w.num_users, 97):
        t = tag[int(w.indptr[i]):int(w.indptr[i + 1])]
        assert (np.diff(t) > 0).all()
    assert w.kinds.dtype == np.uint8 and set(np.unique(w.kinds).tolist()) == {0, 1}
    assert not w.kinds.flags.writeable and not w.indptr.flags.writeable


def test_borrowers_files_round_trip(margin_w3):
    w, files = margin_w3
    dec = _decimals(w)
    equity, debt = read_csv_debts(files["csv"], dec)
    assert equity == entries_of(w) and debt == debts_of(w)
    with open(files["csv"], newline="") as fh:
        header = next(csv.reader(fh))
    owed = {w.assets[j].name for j in set(w.asset_index[w.kinds == 1].tolist())}
    assert [c for c in header if c.endswith(".debt")] == [f"{x.name}.debt" for x in w.listings if x.name in owed]
    for name in owed:  # each debt column right after its asset's
        assert header.index(f"{name}.debt") == header.index(name) + 1
    t = pq.read_table(files["parquet"])
    assert t.column_names == header
    pq_debt = {}
    for name in t.column_names:
        if name.endswith(".debt"):
            for uid, v in zip(t.column("user_id").to_pylist(), t.column(name).to_pylist()):
                if v is not None:
                    pq_debt[uid, name.removesuffix(".debt")] = _units(str(v), dec[name.removesuffix(".debt")])
    assert pq_debt == debt
    # and the project's readers give the workload's own ledger back, debts and all
    led = w.to_ledger(112)
    assert led.has_debt and np.array_equal(led.kinds, w.kinds)
    assert led.debt_totals() == w.debt_totals() and led.totals() == w.totals()
    assert Ledger.from_csv(files["csv"]) == led == Ledger.from_parquet(files["parquet"])


def test_margin_prices_by_liquidity_tier(tmp_path):
    files = write_workload(W3(50, seed=1), tmp_path, ("csv",))
    prices = read_margin_prices(files["margin_prices"])
    assert dict(MarginPrices.load(files["margin_prices"], W3(1).assets)) == W3(1).margin_prices  # as the prover reads it
    price = {x.name: Fraction(x.price) for x in W3_LISTINGS}
    assert {a: p for a, (p, _) in prices.items()} == price  # the workload's own USD prices
    cut = {a: h for a, (_, h) in prices.items()}
    assert all(cut[a] <= Fraction(2, 100) for a in ("USDT", "USDC"))
    assert all(Fraction(5, 100) <= cut[a] <= Fraction(10, 100) for a in ("BTC", "ETH"))
    assert all(Fraction(2, 10) <= cut[a] <= Fraction(3, 10)
               for a in ("SOL", "XRP", "BNB", "DOGE", "ADA", "LINK", "TON", "AVAX", "DOT", "LTC"))
    assert all(cut[a] >= Fraction(1, 2) for a in ("SHIB", "PEPE"))
    # W4's long tail: illiquid, 50 % for the most popular token to 100 % (worth nothing) for the least
    tail = {a: h for a, (_, h) in W4(5, seed=1).margin_prices.items() if a.startswith("TKN")}
    assert len(tail) == 198 and min(map(Fraction, tail.values())) == Fraction(1, 2)
    assert max(map(Fraction, tail.values())) == 1 and tail["TKN023"] == "0.5" and tail["TKN220"] == "1"


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), fraction=st.floats(0.0, 1.0))
def test_any_fraction_is_deterministic_and_covered(n, seed, fraction):
    w = W3(n, seed=seed, borrowers=fraction)
    again = W3(n, seed=seed, borrowers=fraction)
    for a, b in ((w.indptr, again.indptr), (w.asset_index, again.asset_index), (w.amounts, again.amounts),
                 (w.kinds, again.kinds)):
        assert np.array_equal(a, b)
    prices = {a: (Fraction(p), Fraction(h)) for a, (p, h) in w.margin_prices.items()}
    eligible = [i for i in range(n) if values(w, prices, i)[0] >= 10]
    assert len(w.borrowers) == min(round(fraction * n), len(eligible))
    assert set(w.borrowers.tolist()) <= set(eligible)
    for i in w.borrowers.tolist():
        coll, owed = values(w, prices, i)
        assert 0 < owed <= coll * Fraction(7, 10)
    for v in w.amounts.tolist():
        assert type(v) is int and 0 < v < 2**AMOUNT_BITS


def test_borrowers_refusals():
    with pytest.raises(ValueError, match="no prices"):
        workload("W1", 10, borrowers=0.1)
    with pytest.raises(ValueError, match="invalid borrow model"):
        W3(10, borrowers=1.5)
    with pytest.raises(ValueError, match="already has debts"):
        add_borrowers(W3(50, borrowers=0.5), 0.1)
    assert workload("w3", 200, seed=3, borrowers=0.1).borrowers.size == 20
