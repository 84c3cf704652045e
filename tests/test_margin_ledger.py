"""Margin on the Python side: debts in the ledger (``<ASSET>.debt`` columns, ``Ledger.kinds``)
and the prices and haircuts file of statement version 3 (``stark_por.margin.Prices``)."""

from __future__ import annotations

import pickle
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por.errors import LedgerError, MarginError, StarkPorError
from stark_por.ledger import Asset, Ledger
from stark_por.margin import Prices, canonical_decimal
from stark_por.stream import iter_ledger_chunks
from stark_por.workloads.files import write_ledger_csv, write_parquet

ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("DOGE", 0))
TOP = 2**112 - 1
FAST = settings(deadline=None, database=None, max_examples=40,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def write(tmp_path: Path, text: str, name: str = "ledger.csv", assets=ASSETS) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    body = "asset,decimals\n" + "".join(f"{a.name},{a.decimals}\n" for a in assets)
    (tmp_path / (p.stem + ".assets.csv")).write_text(body)
    return p


def concat(chunks) -> Ledger:
    """Chunks glued back into one ledger through the validated constructor."""
    uids, ai, kd, lo, hi, ip = [], [], [], [], [], [np.zeros(1, np.uint64)]
    nnz = 0
    for c in chunks:
        uids += c.user_ids
        ai.append(c.asset_index)
        kd.append(c.kinds)
        lo.append(c.amounts_lo)
        hi.append(c.amounts_hi)
        ip.append(c.indptr[1:] + np.uint64(nnz))
        nnz += c.num_entries
    return Ledger.from_entries(uids, chunks[0].assets, np.concatenate(ip), np.concatenate(ai),
                               np.concatenate(lo), amounts_hi=np.concatenate(hi), kinds=np.concatenate(kd),
                               max_bits=chunks[0].max_bits)


# --------------------------------------------------------------------------- the ledger


def test_csv_debt_columns():
    text = ("user_id,BTC,BTC.debt,ETH,USDT.debt,USDT\n"
            "alice,1.5,,2,,100\n"
            "bob,,2,,,150000\n"                      # owes 2 BTC against 150,000 USDT
            "carol,,0.00000001,0.000000000000000001,1,\n"
            "dave,,,,,\n")
    with tempfile.TemporaryDirectory() as d:
        led = Ledger.from_csv(write(Path(d), text))
    assert led.kinds.dtype == np.uint8 and not led.kinds.flags.writeable
    assert led.has_debt
    btc, eth, usdt = 10**8, 10**18, 10**6
    assert led.entries(0) == [(0, 3 * btc // 2), (1, 2 * eth), (2, 100 * usdt)] and led.debts(0) == []
    assert led.entries(1) == [(2, 150_000 * usdt)] and led.debts(1) == [(0, 2 * btc)]
    assert led.entries(2) == [(1, 1)] and led.debts(2) == [(0, 1), (2, usdt)]
    assert led.entries(3) == led.debts(3) == []
    assert led.totals() == [3 * btc // 2, 2 * eth + 1, 150_100 * usdt, 0]
    assert led.debt_totals() == [2 * btc + 1, 0, usdt, 0]
    # entries strictly increasing by (asset, kind) within each user, whatever the column order
    for i in range(led.num_users):
        lo, hi = int(led.indptr[i]), int(led.indptr[i + 1])
        key = (led.asset_index[lo:hi].astype(np.int64) * 2 + led.kinds[lo:hi]).tolist()
        assert key == sorted(set(key))
    assert led.user("bob") == {"USDT": 150_000 * usdt}
    assert led.to_dense()[1].tolist() == [0, 0, 150_000 * usdt, 0]
    assert led.to_dense(debts=True)[2].tolist() == [1, 0, usdt, 0]
    assert [led.column_of(e) for e in range(int(led.indptr[1]), int(led.indptr[2]))] == ["BTC.debt", "USDT"]
    assert "num_debts=3" in repr(led)


def test_ledger_without_debt_is_unchanged():
    with tempfile.TemporaryDirectory() as d:
        led = Ledger.from_csv(write(Path(d), "user_id,BTC,ETH\na,1,\nb,,2\n"))
    assert not led.has_debt and led.kinds.tolist() == [0, 0]
    assert led.debt_totals() == [0, 0, 0, 0] and led.debts(0) == []
    assert "num_debts" not in repr(led)
    # a ledger built without kinds equals one read from a file without debt columns
    again = Ledger.from_entries(led.user_ids, led.assets, led.indptr, led.asset_index, led.amounts)
    assert again == led


def test_debt_column_alone_and_long_names(tmp_path):
    assets = (Asset("A" * 32, 2), Asset("B", 0))
    led = Ledger.from_csv(write(tmp_path, f"user_id,{'A' * 32}.debt\nu,1.25\n", assets=assets))
    assert led.debts(0) == [(0, 125)] and led.entries(0) == []
    assert led.totals() == [0, 0] and led.debt_totals() == [125, 0]


def test_debt_columns_with_a_mapping_of_decimals(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("user_id,ETH.debt,BTC\nu,1,2\n")
    led = Ledger.from_csv(p, assets={"BTC": 8, "ETH": 18})
    # the statement's assets are the file's, in column order (a debt column names its asset)
    assert [a.name for a in led.assets] == ["ETH", "BTC"]
    assert led.debts(0) == [(0, 10**18)] and led.entries(0) == [(1, 2 * 10**8)]
    with pytest.raises(LedgerError) as e:
        p.write_text("user_id,SOL.debt,BTC\nu,1,2\n")
        Ledger.from_csv(p, assets={"BTC": 8})
    assert e.value.column == "SOL.debt" and "unknown asset" in str(e.value) and "SOL" in e.value.reason


@pytest.mark.parametrize("cell,words", [
    ("-1", "negative"), ("-0", "negative"), ("+1", "sign"), ("1e5", "exponent"), ("nan", "finite"),
    ("inf", "finite"), ("0x10", "hex"), ("1,000", "separators"), ("0.000000001", "more than 8 decimal"),
    ("1.5.1", "plain decimal"),
])
def test_refused_debt_cells(tmp_path, cell, words):
    p = write(tmp_path, f'user_id,BTC,BTC.debt\nu,1,\nv,,"{cell}"\n')
    with pytest.raises(LedgerError) as e:
        Ledger.from_csv(p)
    err = e.value
    assert (err.row, err.column, err.value) == (3, "BTC.debt", cell), str(err)
    assert words in str(err) and "line 3, column BTC.debt" in str(err)


def test_debt_range_bound(tmp_path):
    top_eth = f"{TOP // 10**18}.{TOP % 10**18:018d}"
    over_eth = f"{(TOP + 1) // 10**18}.{(TOP + 1) % 10**18:018d}"
    led = Ledger.from_csv(write(tmp_path, f"user_id,ETH.debt\nu,{top_eth}\n"))
    assert led.debts(0) == [(1, TOP)] and led.debt_totals()[1] == TOP
    with pytest.raises(LedgerError) as e:
        Ledger.from_csv(write(tmp_path, f"user_id,ETH.debt\nu,{over_eth}\n"))
    assert (e.value.row, e.value.column, e.value.value) == (2, "ETH.debt", over_eth)
    assert "2**112" in str(e.value)
    with pytest.raises(LedgerError) as e:
        Ledger.from_csv(write(tmp_path, "user_id,DOGE,DOGE.debt\nu,,4294967296\n"), max_bits=32)
    assert (e.value.column, e.value.value) == ("DOGE.debt", "4294967296") and "2**32" in str(e.value)


@pytest.mark.parametrize("header,column,words", [
    ("user_id,BTC,SOL.debt", "SOL.debt", "debt column for an unknown asset"),
    ("user_id,BTC,.debt", ".debt", "unknown asset"),
    ("user_id,BTC,btc.debt", "btc.debt", "debt column for an unknown asset"),
    ("user_id,BTC,BTC.debt,BTC.debt", "BTC.debt", "duplicate column"),
])
def test_refused_debt_columns(tmp_path, header, column, words):
    n = header.count(",")
    with pytest.raises(LedgerError) as e:
        Ledger.from_csv(write(tmp_path, header + "\nu" + "," * n + "\n"))
    assert e.value.column == column and e.value.row == 1 and words in str(e.value), str(e.value)


def test_ambiguous_debt_column_refused(tmp_path):
    # an asset literally named "X.debt" beside an asset "X": the column could mean either
    assets = (Asset("X", 2), Asset("X.debt", 2))
    with pytest.raises(LedgerError) as e:
        Ledger.from_csv(write(tmp_path, "user_id,X,X.debt\nu,1,1\n", assets=assets))
    assert e.value.column == "X.debt" and "ambiguous" in str(e.value)
    # without "X" among the assets, "X.debt" is that asset's equity, as before margin
    led = Ledger.from_csv(write(tmp_path, "user_id,X.debt\nu,1\n", assets=(Asset("X.debt", 2),)))
    assert not led.has_debt and led.entries(0) == [(0, 100)]


def _parquet(path, columns: dict):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_debt_columns(tmp_path):
    import pyarrow as pa

    p = _parquet(tmp_path / "l.parquet", {
        "user_id": pa.array(["a", "b", "c"]),
        "ETH.debt": pa.array([None, "1.000000000000000001", ""]),          # strings
        "BTC": pa.array([Decimal("0.5"), None, Decimal("2")], pa.decimal128(20, 8)),
        "BTC.debt": pa.array([None, 3, None], pa.uint64()),                # smallest units
        "USDT.debt": pa.array([None, None, Decimal(f"{TOP // 10**6}.{TOP % 10**6:06d}")], pa.decimal128(38, 6)),  # 2^112 - 1 units
    })
    led = Ledger.from_parquet(p, assets=ASSETS)
    assert led.entries(0) == [(0, 50_000_000)] and led.debts(0) == []
    assert led.entries(1) == [] and led.debts(1) == [(0, 3), (1, 10**18 + 1)]
    assert led.entries(2) == [(0, 2 * 10**8)] and led.debts(2) == [(2, TOP)]
    assert led.debt_totals() == [3, 10**18 + 1, TOP, 0]
    chunks = list(iter_ledger_chunks(p, assets=ASSETS, chunk_users=2))
    assert concat(chunks) == led and any(c.has_debt for c in chunks)


@pytest.mark.parametrize("column,value,words", [
    ("BTC.debt", -1, "negative"),
    ("BTC.debt", "-1", "negative"),
    ("BTC.debt", "1e5", "exponent"),
    ("BTC.debt", "0.000000001", "more than 8 decimal"),
    ("SOL.debt", "1", "debt column for an unknown asset"),
])
def test_parquet_refused_debts(tmp_path, column, value, words):
    import pyarrow as pa

    typ = pa.int64() if isinstance(value, int) else pa.string()
    p = _parquet(tmp_path / "l.parquet", {"user_id": pa.array(["a", "b"]), "BTC": pa.array(["1", "2"]),
                                          column: pa.array([None, value], typ)})
    with pytest.raises(LedgerError) as e:
        Ledger.from_parquet(p, assets=ASSETS)
    assert e.value.column == column and words in str(e.value), str(e.value)
    if "unknown" not in words:
        assert e.value.index == 1 and e.value.value == str(value)


def test_parquet_float_debt_refused(tmp_path):
    import pyarrow as pa

    p = _parquet(tmp_path / "l.parquet", {"user_id": pa.array(["a"]), "ETH.debt": pa.array([1.0])})
    with pytest.raises(LedgerError) as e:
        Ledger.from_parquet(p, assets=ASSETS)
    assert e.value.column == "ETH.debt" and "float" in str(e.value)


def test_from_arrays_debts():
    ids = ["a", "b"]
    led = Ledger.from_arrays(ids, ASSETS, [[1, 0, 5, 0], [0, TOP, 0, 0]], debts=[[0, 3, 0, 9], [TOP, 0, 0, 0]])
    assert led.entries(0) == [(0, 1), (2, 5)] and led.debts(0) == [(1, 3), (3, 9)]
    assert led.entries(1) == [(1, TOP)] and led.debts(1) == [(0, TOP)]
    assert led.kinds.tolist() == [0, 1, 0, 1, 1, 0]
    assert led.asset_index.tolist() == [0, 1, 2, 3, 0, 1]
    assert led.to_dense(debts=True).tolist() == [[0, 3, 0, 9], [TOP, 0, 0, 0]]
    # no debts given, or all zero: the same ledger as before margin
    plain = Ledger.from_arrays(ids, ASSETS, [[1, 0, 5, 0], [0, 7, 0, 0]])
    assert Ledger.from_arrays(ids, ASSETS, [[1, 0, 5, 0], [0, 7, 0, 0]], debts=np.zeros((2, 4), np.uint8)) == plain
    assert led != plain


@pytest.mark.parametrize("debts,index,column,words", [
    ([[0, -1, 0, 0], [0, 0, 0, 0]], 0, "ETH.debt", "negative"),
    ([[0, 0, 0, 0], [0, 0, 1.0, 0]], None, None, "float"),
    ([[0, 0, 0, 0], [0, 0, 0, 2**112]], 1, "DOGE.debt", "2**112"),
    ([[0, 0, 0, 0]], None, None, "shape"),
])
def test_from_arrays_refused_debts(debts, index, column, words):
    with pytest.raises(LedgerError) as e:
        Ledger.from_arrays(["a", "b"], ASSETS, [[1, 0, 0, 0], [0, 0, 0, 1]], debts=debts)
    assert words in str(e.value), str(e.value)
    if column is not None:
        assert (e.value.index, e.value.column) == (index, column)


@pytest.mark.parametrize("asset_index,kinds,amounts,column,words", [
    ([0, 0], [1, 0], [1, 1], "BTC", "strictly increasing"),       # debt before the equity
    ([0, 0], [1, 1], [1, 1], "BTC.debt", "strictly increasing"),  # two debts in one asset
    ([1, 0], [0, 1], [1, 1], "BTC.debt", "strictly increasing"),
    ([0, 0], [0, 2], [1, 1], "BTC", "kind must be 0"),
    ([0, 0], [0, -1], [1, 1], "BTC", "kind must be 0"),
    ([0, 0], [0, 1], [1, 0], "BTC.debt", "zero"),
    ([0, 0], [0, 1], [1, -4], "BTC.debt", "negative"),
])
def test_from_entries_refused_kinds(asset_index, kinds, amounts, column, words):
    with pytest.raises(LedgerError) as e:
        Ledger.from_entries(["u"], ASSETS, [0, 2], asset_index, amounts, kinds=kinds)
    assert (e.value.index, e.value.column) == (0, column) and words in str(e.value), str(e.value)


def test_from_entries_kinds_shape_and_type():
    with pytest.raises(LedgerError, match="kinds"):
        Ledger.from_entries(["u"], ASSETS, [0, 2], [0, 0], [1, 1], kinds=[0])
    with pytest.raises(LedgerError, match="kinds must be an integer"):
        Ledger.from_entries(["u"], ASSETS, [0, 2], [0, 0], [1, 1], kinds=[0.0, 1.0])
    led = Ledger.from_entries(["u", "v"], ASSETS, [0, 2, 3], [0, 0, 3], [5, 6, 7], kinds=[0, 1, 1])
    assert led.debts(0) == [(0, 6)] and led.debts(1) == [(3, 7)] and led.debt_totals() == [6, 0, 0, 7]


# amounts at real magnitudes: dust, round numbers, the words' edges, whales and the bound
AMOUNT = st.one_of(st.just(0), st.just(0), st.just(1), st.integers(1, 10**12), st.integers(2**63, 2**65),
                   st.integers(1, TOP), st.just(TOP))


@FAST
@given(data=st.data(), n=st.integers(1, 12))
def test_round_trip_csv_parquet_arrays(data, n):
    k = len(ASSETS)
    eq = [[data.draw(AMOUNT) for _ in range(k)] for _ in range(n)]
    debt = [[data.draw(AMOUNT) for _ in range(k)] for _ in range(n)]
    ids = [f"user-{i}" for i in range(n)]
    led = Ledger.from_arrays(ids, ASSETS, eq, debts=debt)
    assert led.totals() == [sum(col) for col in zip(*eq)]
    assert led.debt_totals() == [sum(col) for col in zip(*debt)]
    for i in range(n):
        assert led.entries(i) == [(j, v) for j, v in enumerate(eq[i]) if v]
        assert led.debts(i) == [(j, v) for j, v in enumerate(debt[i]) if v]
    assert led.to_dense().tolist() == eq and led.to_dense(debts=True).tolist() == debt
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        write_ledger_csv(led, d / "l.csv")
        (d / "assets.csv").write_text("asset,decimals\n" + "".join(f"{a.name},{a.decimals}\n" for a in ASSETS))
        assert Ledger.from_csv(d / "l.csv") == led
        chunk = data.draw(st.integers(1, n))
        assert concat(list(iter_ledger_chunks(d / "l.csv", chunk_users=chunk))) == led
        write_parquet(led, d / "l.parquet", amounts=data.draw(st.sampled_from(["decimal", "string"])),
                      chunk_users=chunk)
        assert Ledger.from_parquet(d / "l.parquet") == led
        assert concat(list(iter_ledger_chunks(d / "l.parquet", chunk_users=chunk))) == led
        # the CSR arrays through the validated constructor give the same ledger back
        again = Ledger.from_entries(led.user_ids, led.assets, led.indptr, led.asset_index, led.amounts_lo,
                                    amounts_hi=led.amounts_hi, kinds=led.kinds)
        assert again == led


def test_csv_column_order_does_not_matter(tmp_path):
    a = Ledger.from_csv(write(tmp_path, "user_id,BTC,BTC.debt,ETH\nu,1,2,3\n", "a.csv"))
    b = Ledger.from_csv(write(tmp_path, "user_id,ETH,BTC.debt,BTC\nu,3,2,1\n", "b.csv"))
    assert a == b and a.kinds.tolist() == [0, 1, 0]


def test_prove_refuses_debts_in_versions_1_and_2():
    import stark_por

    led = Ledger.from_arrays(["a", "b"], ASSETS, [[1, 0, 0, 0], [0, 0, 5, 0]], debts=[[0, 0, 0, 0], [0, 0, 0, 3]])
    for version in (1, 2):
        with pytest.raises(LedgerError) as e:
            stark_por.prove(led, secret=b"k" * 32, round_id="r", version=version)
        assert (e.value.index, e.value.column, e.value.value) == (1, "DOGE.debt", "3")
        assert "'b'" in str(e.value) and "version 3" in str(e.value)


def test_prove_file_refuses_debts_in_version_2(tmp_path):
    import stark_por
    from stark_por.rounds import work_folder

    p = write(tmp_path, "user_id,BTC,BTC.debt\na,1,\nb,,2\n")
    with pytest.raises(LedgerError) as e:
        stark_por.prove_file(p, tmp_path / "r.stpor", secret=b"k" * 32, round_id="r")
    assert (e.value.column, e.value.value, e.value.path) == ("BTC.debt", "200000000", str(p))
    assert "'b'" in str(e.value) and not work_folder(tmp_path / "r.stpor").exists()


# --------------------------------------------------------------------------- prices


def prices_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "prices.csv"
    p.write_text(text, encoding="utf-8", newline="")
    return p


def test_prices_load_canonical(tmp_path):
    p = prices_file(tmp_path, "\ufeffasset,price,haircut\r\n"
                              "BTC, 97000.50 ,0.050\r\n\r\n"
                              "ETH,3600,.1\r\n"
                              "USDT,1.,0\r\n"
                              "DOGE,0000.3,1\r\n")
    prices = Prices.load(p, ASSETS)
    assert dict(prices) == {"BTC": ("97000.5", "0.05"), "ETH": ("3600", "0.1"), "USDT": ("1", "0"),
                            "DOGE": ("0.3", "1")}
    assert prices.price("BTC") == Decimal("97000.5") and prices.haircut("ETH") == Decimal("0.1")
    assert prices.line_of("ETH") == 4 and prices.line_of("SOL") is None
    assert prices.for_assets(ASSETS) == [("97000.5", "0.05"), ("3600", "0.1"), ("1", "0"), ("0.3", "1")]
    # an asset left out is unpriced
    part = Prices.load(prices_file(tmp_path, "asset,price,haircut\nETH,3600,0.1\n"), ASSETS)
    assert part.for_assets(ASSETS) == [None, ("3600", "0.1"), None, None]
    # saved canonical, read back equal; equal prices have equal digests, others not
    prices.save(tmp_path / "again.csv")
    assert Prices.load(tmp_path / "again.csv") == prices
    assert Prices.load(tmp_path / "again.csv").digest() == prices.digest()
    assert part.digest() != prices.digest()
    assert Prices.from_mapping(dict(prices)) == prices


@pytest.mark.parametrize("row,column,value,words", [
    ("BTC,-97000,0.05", "price", "-97000", "negative"),
    ("BTC,97000,-0.05", "haircut", "-0.05", "negative"),
    ("BTC,1e5,0.05", "price", "1e5", "exponent"),
    ("BTC,nan,0.05", "price", "nan", "finite"),
    ("BTC,inf,0.05", "price", "inf", "finite"),
    ("BTC,97000,NaN", "haircut", "NaN", "finite"),
    ("BTC,0x10,0.05", "price", "0x10", "hex"),
    ("BTC,,0.05", "price", "", "empty"),
    ("BTC,97000,", "haircut", "", "empty"),
    ("BTC,97000,1.0001", "haircut", "1.0001", "above 1"),
    ("BTC,0,0.05", "price", "0", "not above 0"),
    ("BTC,0.000,0.05", "price", "0.000", "not above 0"),
    ("BTC,97 000,0.05", "price", "97 000", "separators"),
    ("BTC,٣,0.05", "price", "٣", "ASCII"),
    ("BTC," + "9" * 39 + ",0", "price", "9" * 39, "38 digits"),
    ("BTC,0." + "0" * 37 + "1,0", "price", "0." + "0" * 37 + "1", "38 digits"),
])
def test_prices_refused_values(tmp_path, row, column, value, words):
    p = prices_file(tmp_path, "asset,price,haircut\nETH,3600,0.1\n" + row + "\n")
    with pytest.raises(MarginError) as e:
        Prices.load(p, ASSETS)
    err = e.value
    assert (err.row, err.column, err.value, err.asset) == (3, column, value, "BTC"), str(err)
    assert words in str(err) and f"line 3, column {column}" in str(err) and "(asset BTC)" in str(err)
    assert isinstance(err, LedgerError) and isinstance(err, StarkPorError)
    # the same values given in Python are refused the same way, naming the asset
    with pytest.raises(MarginError) as e:
        price, haircut = row.split(",")[1:]
        Prices.from_mapping({"BTC": (price, haircut)})
    assert (e.value.column, e.value.asset) == (column, "BTC") and words in str(e.value)


@pytest.mark.parametrize("text,row,column,words", [
    ("asset,price,haircut\nSOL,200,0.1\n", 2, "asset", "not an asset of the statement"),
    ("asset,price,haircut\nBTC,97000,0\nETH,1,0\nBTC,97001,0\n", 4, "asset", "priced twice (first on line 2)"),
    ("BTC,97000,0.05\n", 1, None, "header must be"),
    ("asset,usd_price,haircut\nBTC,97000,0\n", 1, None, "header must be"),
    ("asset,price,haircut\nBTC,97000\n", 2, None, "has 2 fields"),
    ("", None, None, "empty"),
    ("asset,price,haircut\n\n", None, None, "lists no prices"),
    ("asset,price,haircut\nB C,1,0\n", 2, "asset", "asset name"),
])
def test_prices_refused_files(tmp_path, text, row, column, words):
    with pytest.raises(MarginError) as e:
        Prices.load(prices_file(tmp_path, text), ASSETS)
    assert (e.value.row, e.value.column) == (row, column) and words in str(e.value), str(e.value)
    assert str(tmp_path / "prices.csv") in str(e.value)


def test_prices_unknown_asset_checked_later(tmp_path):
    # read before the ledger's assets are known (prove_file), checked when they are
    prices = Prices.load(prices_file(tmp_path, "asset,price,haircut\nBTC,1,0\nSOL,200,0.1\n"))
    with pytest.raises(MarginError) as e:
        prices.for_assets(ASSETS)
    assert (e.value.row, e.value.column, e.value.value) == (3, "asset", "SOL")
    with pytest.raises(MarginError) as e:
        Prices.from_mapping({"SOL": ("1", "0")}, ASSETS)
    assert e.value.value == "SOL" and "not an asset of the statement" in str(e.value)


def test_prices_from_mapping_types():
    ok = Prices.from_mapping({"BTC": {"price": Decimal("97000.50"), "haircut": "0.05"}, "USDT": (1, 0),
                              "ETH": ["3600.0", Decimal("0.10")]})
    assert dict(ok) == {"BTC": ("97000.5", "0.05"), "USDT": ("1", "0"), "ETH": ("3600", "0.1")}
    assert dict(Prices.from_mapping({"BTC": (Decimal("1E+5"), "0")})) == {"BTC": ("100000", "0")}
    for bad, column, words in [((97000.5, "0"), "price", "float"), (("1", 0.05), "haircut", "float"),
                               ((Decimal("NaN"), "0"), "price", "finite"), ((Decimal("-1"), "0"), "price", "negative"),
                               ((True, "0"), "price", "bool"), ((None, "0"), "price", "NoneType")]:
        with pytest.raises(MarginError) as e:
            Prices.from_mapping({"BTC": bad})
        assert (e.value.column, e.value.asset) == (column, "BTC") and words in str(e.value), str(e.value)
    with pytest.raises(MarginError, match="pair"):
        Prices.from_mapping({"BTC": ("1", "0", "x")})
    with pytest.raises(MarginError, match="exactly the fields"):
        Prices.from_mapping({"BTC": {"price": "1"}})
    with pytest.raises(MarginError, match="no prices"):
        Prices.from_mapping({})
    with pytest.raises(TypeError):
        Prices.from_mapping([("BTC", ("1", "0"))])


def test_margin_error_pickles_and_reads():
    e = MarginError("is above 1", path="p.csv", row=3, column="haircut", value="1.5", asset="BTC")
    assert str(e) == "p.csv line 3, column haircut: '1.5' is above 1 (asset BTC)"
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is MarginError and str(back) == str(e) and back.asset == "BTC"
    # the asset is not repeated when the value is the asset itself
    assert str(MarginError("is priced twice", column="asset", value="BTC", asset="BTC")) == \
        "column asset: 'BTC' is priced twice"


@FAST
@given(ip=st.integers(0, 10**20), fp=st.text("0123456789", max_size=15), lead=st.integers(0, 3),
       trail=st.integers(0, 3), pad=st.sampled_from(["", " ", "\t"]))
def test_canonical_decimal_matches_decimal(ip, fp, lead, trail, pad):
    text = pad + "0" * lead + str(ip) + ("." + fp + "0" * trail if fp or trail else "") + pad
    out = canonical_decimal(text)
    assert Decimal(out) == Decimal(text.strip())
    # canonical: no leading zero, no trailing fractional zero, no bare point; a fixed point
    assert out == canonical_decimal(out)
    assert out == "0" or not out.startswith("0") or out.startswith("0.")
    assert not out.endswith(".") and (("." not in out) or not out.endswith("0"))
