"""Tests of the ledger layer: stark_por.errors, stark_por.ledger, stark_por.synthetic."""

from __future__ import annotations

import pickle
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck, strategies as st

from stark_por.errors import (
    InsufficientSecurity,
    InvalidProof,
    LedgerError,
    ProofFormatError,
    StarkPorError,
)
from stark_por.ledger import Asset, Ledger, format_amount, load_assets, parse_amount
from stark_por import synthetic
from stark_por.synthetic import W1, W2, generate, write_csv

FIXTURES = Path(__file__).parent / "fixtures" / "ledgers"
ASSETS3 = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6)]

# per-test settings (no global profile: other test files are not affected)
FAST = settings(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def write(tmp_path: Path, text: str, name: str = "ledger.csv", *, raw: bytes = None,
          assets=ASSETS3) -> Path:
    """Write a ledger CSV (and its sibling assets file) into tmp_path."""
    p = tmp_path / name
    if raw is not None:
        p.write_bytes(raw)
    else:
        p.write_text(text, encoding="utf-8", newline="")
    if assets is not None:
        body = "asset,decimals\n" + "".join(f"{a.name},{a.decimals}\n" for a in assets)
        (tmp_path / (p.stem + ".assets.csv")).write_text(body)
    return p


def refused(path, **kw) -> LedgerError:
    with pytest.raises(LedgerError) as ei:
        Ledger.from_csv(path, **kw)
    return ei.value


def assert_names(err: LedgerError, line, column, value=None):
    msg = str(err)
    assert err.row == line, msg
    assert err.column == column, msg
    if line is not None:
        assert f"line {line}" in msg, msg
    if column is not None:
        assert f"column {column}" in msg, msg
    if value is not None:
        assert err.value == value, msg
        assert repr(value) in msg, msg


# --------------------------------------------------------------------- errors


def test_error_hierarchy_and_messages():
    e = LedgerError("is negative", path="ledger.csv", row=7, column="BTC", value="-1.5")
    assert str(e) == "ledger.csv line 7, column BTC: '-1.5' is negative"
    assert isinstance(e, StarkPorError) and isinstance(e, ValueError)
    assert (e.row, e.column, e.value, e.reason) == (7, "BTC", "-1.5", "is negative")
    e2 = pickle.loads(pickle.dumps(e))
    assert str(e2) == str(e) and e2.row == 7
    assert str(LedgerError("oops")) == "oops"
    assert str(LedgerError("is negative", index=3, column="ETH", value="-2")) == \
        "row 3, column ETH: '-2' is negative"

    pf = ProofFormatError("truncated", offset=12)
    assert isinstance(pf, InvalidProof) and isinstance(pf, StarkPorError)
    assert pf.offset == 12 and pf.reason == "truncated" and "12" in str(pf)
    ins = InsufficientSecurity(100, 80)
    assert isinstance(ins, InvalidProof)
    assert (ins.required, ins.actual) == (100, 80) and "80" in ins.reason
    assert pickle.loads(pickle.dumps(ins)).required == 100
    assert InvalidProof("bad").reason == "bad"
    import stark_por.errors as errors
    assert set(errors.__all__) >= {
        "StarkPorError", "LedgerError", "InvalidProof", "ProofFormatError",
        "InsufficientSecurity"}
    for name in errors.__all__:  # every exported error is one of ours
        assert issubclass(getattr(errors, name), StarkPorError)


# --------------------------------------------------------------------- assets / amounts


@pytest.mark.parametrize("name", ["", "B TC", "BTC,", "x" * 33, "BTÇ", "A\tB", "€"])
def test_asset_name_refused(name):
    with pytest.raises(LedgerError):
        Asset(name, 8)


@pytest.mark.parametrize("dec", [-1, 31, 2.0, True, "8"])
def test_asset_decimals_refused(dec):
    with pytest.raises(LedgerError):
        Asset("BTC", dec)


def test_asset_parse_and_format():
    btc = Asset("BTC", 8)
    assert btc.parse_amount("0.12345678") == 12345678
    assert btc.parse_amount(" 1 ") == 100_000_000
    assert btc.parse_amount("1.50000000000") == 150_000_000  # trailing zeros OK
    assert btc.parse_amount(".5") == btc.parse_amount("0.5") == btc.parse_amount("0.50")
    assert btc.parse_amount("5.") == 500_000_000
    assert btc.parse_amount("007") == 700_000_000
    assert btc.parse_amount("") == 0 and btc.parse_amount("0.0") == 0
    assert Asset("X", 0).parse_amount("12.000") == 12
    assert btc.format_amount(150_000_000) == "1.5"
    assert btc.format_amount(1) == "0.00000001"
    assert btc.format_amount(0) == ""
    assert Asset("X", 0).format_amount(12) == "12"
    with pytest.raises(LedgerError) as ei:
        btc.parse_amount("0.123456789")
    assert ei.value.column == "BTC" and "8 decimal" in str(ei.value)


@FAST
@given(v=st.integers(min_value=0, max_value=2**63 - 1),
       d=st.integers(min_value=0, max_value=30),
       lead=st.integers(0, 3), trail=st.integers(0, 3))
def test_amount_parser_roundtrip(v, d, lead, trail):
    s = format_amount(v, d)
    assert parse_amount(s, d) == v
    if s:
        padded = "0" * lead + s + (("" if "." in s else ".") + "0" * trail if trail else "")
        assert parse_amount(padded, d) == v
    # the same value written with all d decimals
    if d:
        full = f"{v // 10**d}.{v % 10**d:0{d}d}"
        assert parse_amount(full, d) == v


@FAST
@given(v=st.integers(min_value=0, max_value=10**40 - 1), d=st.integers(0, 30))
def test_amount_parser_matches_decimal(v, d):
    text = format(Decimal((0, tuple(int(c) for c in str(v)), -d)), "f")
    assert parse_amount(text, d) == v


def test_load_assets_errors(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("asset,decimals\nBTC,8\nBTC,6\n")
    e = pytest.raises(LedgerError, load_assets, p).value
    assert e.row == 3 and "line 2" in str(e)
    p.write_text("asset,decimals\nBTC,-8\n")
    e = pytest.raises(LedgerError, load_assets, p).value
    assert e.row == 2 and e.column == "decimals"
    p.write_text("name,dec\nBTC,8\n")
    assert pytest.raises(LedgerError, load_assets, p).value.row == 1
    p.write_text("asset,decimals\n")
    pytest.raises(LedgerError, load_assets, p)
    p.write_text("\ufeffasset,decimals\r\nBTC,8\r\n\r\nETH,18\r\n")
    assert load_assets(p) == (Asset("BTC", 8), Asset("ETH", 18))


# --------------------------------------------------------------------- good input


def test_fixture_good():
    led = Ledger.from_csv(FIXTURES / "good.csv")
    assert [a.name for a in led.assets] == ["BTC", "ETH", "USDT", "DOGE"]
    assert led.user_ids == ["alice", "bob", "carol"]
    assert led.user("alice") == {"BTC": 50_000_000, "USDT": 100_000_000}
    assert led.user("bob") == {"ETH": 10**18 + 1}
    assert led.user("carol") == {"BTC": 150_000_000, "USDT": 1}
    assert led.totals() == [200_000_000, 10**18 + 1, 100_000_001, 0]
    assert led.num_users == len(led) == 3
    assert led.num_assets == 4 and led.num_entries == 5
    assert led.entries(1) == [(1, 10**18 + 1)]
    assert led.entries(-1) == [(0, 150_000_000), (2, 1)]
    dense = led.to_dense()
    assert dense.dtype == np.uint64 and dense.shape == (3, 4)
    assert dense[2].tolist() == [150_000_000, 0, 1, 0]
    assert "num_users=3" in repr(led)
    with pytest.raises(KeyError):
        led.user("mallory")
    with pytest.raises(IndexError):
        led.entries(3)
    assert led.indptr.dtype == np.uint64 and led.asset_index.dtype == np.uint32
    assert led.amounts.dtype == np.uint64
    with pytest.raises(ValueError):
        led.amounts[0] = 1  # read-only


def test_bom_crlf_whitespace_blank_lines(tmp_path):
    raw = ("\ufeffuser_id , BTC,ETH,USDT\r\n alice ,  0.5 ,,\r\n\r\n"
           "bob,, 2 ,\r\n\"c,d\",,,1\r\n").encode("utf-8")
    led = Ledger.from_csv(write(tmp_path, "", raw=raw))
    assert led.user_ids == ["alice", "bob", "c,d"]
    assert led.user("alice") == {"BTC": 50_000_000}
    assert led.user(" bob ") == {"ETH": 2 * 10**18}
    assert led.user("c,d") == {"USDT": 1_000_000}


def test_assets_resolution(tmp_path):
    text = "user_id,USDT,BTC\nu1,1,2\nu2,,3\n"
    p = write(tmp_path, text, assets=None)
    e = refused(p)
    assert "decimals" in str(e) and "assets.csv" in str(e)
    # generic assets.csv in the same folder
    (tmp_path / "assets.csv").write_text("asset,decimals\nBTC,8\nETH,18\nUSDT,6\n")
    led = Ledger.from_csv(p)
    # assets-file order, extra ETH kept with total 0; columns re-sorted per user
    assert [a.name for a in led.assets] == ["BTC", "ETH", "USDT"]
    assert led.entries(0) == [(0, 200_000_000), (2, 1_000_000)]
    assert led.totals() == [500_000_000, 0, 1_000_000]
    # the <stem>.assets.csv sibling wins over assets.csv
    (tmp_path / "ledger.assets.csv").write_text("asset,decimals\nUSDT,2\nBTC,0\n")
    led2 = Ledger.from_csv(p)
    assert [a.name for a in led2.assets] == ["USDT", "BTC"]
    assert led2.totals() == [100, 5]
    # explicit list / explicit path / mapping (header order)
    led3 = Ledger.from_csv(p, assets=[Asset("BTC", 8), Asset("USDT", 6)])
    assert [a.name for a in led3.assets] == ["BTC", "USDT"]
    assert Ledger.from_csv(p, assets=tmp_path / "assets.csv") == led
    led4 = Ledger.from_csv(p, assets={"BTC": 8, "USDT": 6, "ETH": 18})
    assert [a.name for a in led4.assets] == ["USDT", "BTC"]
    e = refused(p, assets={"BTC": 8})
    assert_names(e, 1, "USDT")


def test_user_with_no_holdings_and_zero_cells(tmp_path):
    led = Ledger.from_csv(write(tmp_path, "user_id,BTC,ETH,USDT\na,0,0.000,\nb,,,1\n"))
    assert led.entries(0) == [] and led.num_entries == 1
    assert led.indptr.tolist() == [0, 0, 1]


# --------------------------------------------------------------------- refused input


@pytest.mark.parametrize(
    "fixture,line,column,value,words",
    [
        ("negative.csv", 4, "BTC", "-1.5", "negative"),
        ("too_many_decimals.csv", 3, "BTC", "0.123456789", "decimal places"),
        ("exponent.csv", 3, "ETH", "1e3", "exponent"),
        ("duplicate_user.csv", 5, "user_id", "alice", "line 2"),
        ("unknown_column.csv", 1, "XYZ", "XYZ", "unknown"),
        ("wrong_cell_count.csv", 3, None, None, "expected 4 cells, found 3"),
    ],
)
def test_fixture_refused(fixture, line, column, value, words):
    e = refused(FIXTURES / fixture)
    assert_names(e, line, column, value)
    assert fixture in str(e)
    assert words in str(e)


BAD_AMOUNTS = [
    ("-1", "negative"), ("-0.5", "negative"), ("-0", "negative"),
    ("+1", "sign"), ("0.123456789", "decimal places"),
    ("1e3", "exponent"), ("1E-8", "exponent"), ("inf", "finite"),
    ("nan", "finite"), ("NaN", "finite"), ("0x10", "hex"), ("1_000", "separator"),
    ("1 000", "separator"), ("1,000", "separator"), ("abc", "not a plain"),
    (".", "not a plain"), ("1.2.3", "not a plain"), ("1..2", "not a plain"),
    ("١٢", "ASCII"), ("１", "ASCII"), ("²", "ASCII"), ("0.5-", "not a plain"),
    ("$5", "not a plain"), ("1" + "0" * 60, "too large"),
    (str(2**112 // 10**8 + 1), "range bound"),
    ("51922968585348276285304963.92341504", "range bound"),  # exactly 2**112 satoshi
]


@pytest.mark.parametrize("cell,words", BAD_AMOUNTS)
def test_refused_amount(tmp_path, cell, words):
    quoted = '"' + cell + '"'
    p = write(tmp_path, f"user_id,BTC,ETH,USDT\nalice,1,,\nbob,,,2\ncarol,{quoted},,\n")
    e = refused(p)
    assert_names(e, 4, "BTC", cell)
    assert words in e.reason
    assert str(p) in str(e)


def test_amount_at_bound_accepted(tmp_path):
    top = 2**112 - 1
    p = write(tmp_path, f"user_id,BTC,ETH,USDT\na,{format_amount(top, 8)},,\n")
    assert Ledger.from_csv(p).totals()[0] == top
    e = refused(p, max_bits=40)
    assert_names(e, 2, "BTC")
    assert "2**40" in e.reason
    p = write(tmp_path, "user_id,BTC,ETH,USDT\na,,,\nb,,,4294.967296\n", name="b.csv")
    assert Ledger.from_csv(p, max_bits=33).totals()[2] == 2**32
    assert_names(refused(p, max_bits=32), 3, "USDT")


@pytest.mark.parametrize("max_bits", [31, 113, 62.0, True])
def test_max_bits_range(tmp_path, max_bits):
    p = write(tmp_path, "user_id,BTC,ETH,USDT\na,1,,\n")
    with pytest.raises(LedgerError):
        Ledger.from_csv(p, max_bits=max_bits)


def test_duplicate_user_names_both_lines(tmp_path):
    p = write(tmp_path, "user_id,BTC,ETH,USDT\nx,1,,\nalice,1,,\ny,,,\n alice ,,,2\n")
    e = refused(p)
    assert_names(e, 5, "user_id", " alice ")
    assert "line 3" in str(e)


@pytest.mark.parametrize(
    "uid,words",
    [("", "empty"), ("   ", "empty"), ("a\x01b", "control"), ("a\x7fb", "control"),
     ("x" * 257, "longer"), ("é" * 129, "longer"), ('"a\nb"', "control")],
)
def test_refused_user_id(tmp_path, uid, words):
    p = write(tmp_path, f"user_id,BTC,ETH,USDT\nok,1,,\n{uid},1,,\n")
    e = refused(p)
    assert_names(e, 3 if "\n" not in uid else 4, "user_id")
    assert words in e.reason


def test_accepted_user_ids(tmp_path):
    ids = ["é" * 128, "x" * 256, "名前", 'q"uote', "a b"]
    body = "".join('"' + u.replace('"', '""') + '",1,,\n' for u in ids)
    led = Ledger.from_csv(write(tmp_path, "user_id,BTC,ETH,USDT\n" + body))
    assert led.user_ids == ids


@pytest.mark.parametrize(
    "text,line,column,words",
    [
        ("user_id,BTC,ETH,USDT\nalice,1,,\nbob,1,,,\n", 3, None, "found 5"),
        ("user_id,BTC,ETH,USDT\nalice\n", 2, None, "found 1"),
        ("user_id,BTC,BTC\nalice,1,\n", 1, "BTC", "duplicate column"),
        ("user_id,BTC,user_id\nalice,1,\n", 1, "user_id", "duplicate column"),
        ("BTC,user_id\n1,alice\n", 1, None, "user_id"),
        ("id,BTC\nalice,1\n", 1, None, "user_id"),
        ("user_id,BTC,ETH\n", None, None, "no data rows"),
        ("user_id,BTC,ETH\n\n\n", None, None, "no data rows"),
        ("", None, None, "empty"),
        ("user_id\nalice\n", 1, None, "no asset columns"),
        ("user_id,BTC,\nalice,1,\n", 1, None, "empty"),
        ("user_id,BTC,DOGE\nalice,1,\n", 1, "DOGE", "unknown asset"),
        ('user_id,BTC\nalice,"1"2\n', 2, None, "malformed"),
        ("user_id,BTC\nali\x00ce,1\n", 2, "user_id", "control"),
    ],
)
def test_refused_structure(tmp_path, text, line, column, words):
    e = refused(write(tmp_path, text))
    assert_names(e, line, column)
    assert words in str(e)
    assert "ledger.csv" in str(e)


def test_refused_not_utf8(tmp_path):
    e = refused(write(tmp_path, "", raw=b"user_id,BTC\nal\xffice,1\n"))
    assert "UTF-8" in str(e)


def test_refused_huge_cell(tmp_path):
    e = refused(write(tmp_path, "user_id,BTC\nalice," + "1" * 200_000 + "\n"))
    assert "ledger.csv" in str(e)


def test_missing_file(tmp_path):
    e = refused(tmp_path / "nope.csv", assets=ASSETS3)
    assert "nope.csv" in str(e)


# --------------------------------------------------------------------- totals


def test_totals_exact_beyond_2_64():
    for max_bits in (32, 50, 62, 63):
        top = 2**max_bits - 1
        n = 70_000
        bal = np.zeros((n, 3), dtype=np.uint64)
        bal[:, 0] = top
        bal[::2, 2] = top - 12345
        led = Ledger.from_arrays([f"u{i}" for i in range(n)], ASSETS3, bal,
                                 max_bits=max_bits)
        assert led.totals() == [n * top, 0, ((n + 1) // 2) * (top - 12345)]
    assert n * (2**63 - 1) > 2**64


@FAST
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**32), st.data())
def test_totals_match_python(n, k, seed, data):
    max_bits = data.draw(st.integers(32, 63))
    rng = np.random.default_rng(seed)
    bal = rng.integers(0, 2**max_bits, size=(n, k), dtype=np.uint64)
    bal[rng.random((n, k)) < 0.5] = 0
    assets = [Asset(f"A{j}", j) for j in range(k)]
    led = Ledger.from_arrays([f"u{i}" for i in range(n)], assets, bal, max_bits=max_bits)
    assert led.totals() == [sum(int(x) for x in bal[:, j]) for j in range(k)]
    assert np.array_equal(led.to_dense(), bal)


# --------------------------------------------------------------------- round trips


@settings(FAST, max_examples=40)
@given(n=st.integers(1, 30), k=st.integers(1, 40), seed=st.integers(0, 2**31),
       max_bits=st.integers(32, 63))
def test_generate_write_read_roundtrip(n, k, seed, max_bits):
    led = generate(n, num_assets=k, max_bits=max_bits, seed=seed)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "gen.csv"
        write_csv(led, p)
        back = Ledger.from_csv(p, max_bits=max_bits)
    assert back == led
    assert back.totals() == led.totals()


user_id_st = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12
).map(str.strip).filter(lambda s: s and len(s.encode()) <= 256)


@settings(FAST, max_examples=40)
@given(data=st.data())
def test_random_ledger_roundtrip(data):
    k = data.draw(st.integers(1, 6))
    decs = data.draw(st.lists(st.integers(0, 30), min_size=k, max_size=k))
    assets = [Asset(f"T{j}", d) for j, d in enumerate(decs)]
    ids = data.draw(st.lists(user_id_st, min_size=1, max_size=15, unique=True))
    max_bits = data.draw(st.integers(32, 63))
    n = len(ids)
    vals = data.draw(st.lists(
        st.one_of(st.just(0), st.just(2**max_bits - 1), st.integers(0, 2**max_bits - 1)),
        min_size=n * k, max_size=n * k))
    bal = np.array(vals, dtype=np.uint64).reshape(n, k)
    led = Ledger.from_arrays(ids, assets, bal, max_bits=max_bits)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "rand.csv"
        write_csv(led, p)
        back = Ledger.from_csv(p, max_bits=max_bits)
    assert back == led
    assert np.array_equal(back.to_dense(), bal)


def test_from_arrays_equals_from_csv():
    p = FIXTURES / "good.csv"
    led = Ledger.from_csv(p)
    dense = led.to_dense()
    assets = load_assets(FIXTURES / "assets.csv")
    assert Ledger.from_arrays(led.user_ids, assets, dense) == led
    assert Ledger.from_arrays(led.user_ids, assets, dense.astype(np.int64)) == led
    small = np.array([[1, 0], [0, 2]], dtype=np.int8)
    l2 = Ledger.from_arrays(["a", "b"], ASSETS3[:2], small)
    assert l2.totals() == [1, 2]


def test_from_arrays_refusals():
    ids = ["a", "b", "c"]
    good = np.zeros((3, 3), dtype=np.int64)
    with pytest.raises(LedgerError, match="integer"):
        Ledger.from_arrays(ids, ASSETS3, good.astype(np.float64))
    with pytest.raises(LedgerError, match="integer"):
        Ledger.from_arrays(ids, ASSETS3, good.astype(bool))
    floaty = good.astype(object)
    floaty[1, 2] = 2.0  # integral, still a float: an amount is counted, never measured
    e = pytest.raises(LedgerError, Ledger.from_arrays, ids, ASSETS3, floaty).value
    assert "integer" in e.reason and e.index == 1 and e.column == "USDT" and e.value == "2.0"
    with pytest.raises(LedgerError, match="shape"):
        Ledger.from_arrays(ids, ASSETS3, good[:, :2])
    with pytest.raises(LedgerError, match="shape"):
        Ledger.from_arrays(ids, ASSETS3, good.ravel())
    neg = good.copy()
    neg[2, 1] = -5
    e = pytest.raises(LedgerError, Ledger.from_arrays, ids, ASSETS3, neg).value
    assert e.index == 2 and e.column == "ETH" and "row 2, column ETH" in str(e)
    big = good.astype(np.uint64)
    big[1, 2] = 2**62
    e = pytest.raises(LedgerError, Ledger.from_arrays, ids, ASSETS3, big, max_bits=62).value
    assert e.index == 1 and e.column == "USDT"
    Ledger.from_arrays(ids, ASSETS3, big, max_bits=63)
    e = pytest.raises(LedgerError, Ledger.from_arrays, ["a", "b", "a "], ASSETS3, good).value
    assert e.index == 2 and "duplicate" in str(e)
    with pytest.raises(LedgerError):
        Ledger.from_arrays(["a", "", "c"], ASSETS3, good)
    with pytest.raises(LedgerError):
        Ledger.from_arrays(ids, [Asset("A", 1), Asset("A", 2), Asset("B", 0)], good)


def test_from_entries_validation():
    ids = ["a", "b"]
    ok = dict(indptr=[0, 2, 3], asset_index=[0, 2, 1], amounts=[5, 6, 7])
    led = Ledger.from_entries(ids, ASSETS3, **ok)
    assert led.to_dense().tolist() == [[5, 0, 6], [0, 7, 0]]
    assert Ledger(ids, ASSETS3, **ok) == led

    def bad(match, **kw):
        args = {**ok, **kw}
        with pytest.raises(LedgerError, match=match) as ei:
            Ledger.from_entries(ids, ASSETS3, **args)
        return ei.value

    bad("strictly increasing", asset_index=[2, 0, 1])
    bad("strictly increasing", asset_index=[1, 1, 1])
    e = bad("zero", amounts=[5, 6, 0])
    assert e.index == 1 and e.column == "ETH"
    e = bad("negative", amounts=np.array([5, -6, 7]))
    assert e.index == 0 and e.column == "USDT"
    bad("range bound", amounts=np.array([5, 2**62, 7], dtype=np.uint64), max_bits=62)
    bad("out of range", asset_index=[0, 3, 1])
    bad("negative", asset_index=[0, -1, 1])
    bad("indptr", indptr=[0, 2])
    bad("indptr", indptr=[1, 2, 3])
    bad("indptr", indptr=[0, 2, 4])
    bad("decreases", indptr=[0, 4, 3])
    bad("integer", amounts=[5.0, 6.0, 7.0])
    bad("equal length", amounts=[5, 6])
    # empty users and no entries at all are fine
    empty = Ledger.from_entries(ids, ASSETS3, [0, 0, 0], [], [])
    assert empty.totals() == [0, 0, 0] and empty.num_entries == 0


# --------------------------------------------------------------------- parquet


def _arrow_table(led: Ledger, kind: str):
    import pyarrow as pa

    cols = {"user_id": pa.array(led.user_ids, pa.string())}
    dense = led.to_dense()
    for j, a in enumerate(led.assets):
        vals = [int(v) for v in dense[:, j]]
        if kind == "string":
            arr = pa.array([a.format_amount(v) or None for v in vals], pa.string())
        elif kind == "int":
            arr = pa.array([v or None for v in vals], pa.uint64())
        else:  # decimal with a scale different from the asset's decimals
            scale = a.decimals + 2 if j % 2 else a.decimals
            arr = pa.array(
                [Decimal(v).scaleb(-a.decimals) if v else None for v in vals],
                pa.decimal128(38, scale))
        cols[a.name] = arr
    return pa.table(cols)


@pytest.mark.parametrize("kind", ["string", "int", "decimal"])
def test_from_parquet_equals_from_csv(tmp_path, kind):
    import pyarrow.parquet as pq

    led = generate(3000, num_assets=5, max_bits=50, seed=7)
    csvp = tmp_path / "led.csv"
    write_csv(led, csvp)
    from_csv = Ledger.from_csv(csvp, max_bits=50)
    pqp = tmp_path / "led.parquet"
    pq.write_table(_arrow_table(led, kind), pqp, row_group_size=700)
    back = Ledger.from_parquet(pqp, max_bits=50)  # finds led.assets.csv
    assert back == from_csv == led


def test_parquet_decimal_exactness_and_refusals(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    def run(col, max_bits=62, assets=ASSETS3[:1]):
        t = pa.table({"user_id": pa.array(["a", "b", "c"]), "BTC": col})
        p = tmp_path / "t.parquet"
        pq.write_table(t, p)
        return Ledger.from_parquet(p, assets=assets, max_bits=max_bits)

    d = lambda *xs, s=10: pa.array([None if x is None else Decimal(x) for x in xs],
                                   pa.decimal128(30, s))
    assert run(d("1.5", None, "0.00000001")).totals() == [150_000_001]
    assert run(d("1.5", "2", "3.25", s=2)).totals() == [675_000_000]
    assert run(d("1", "2", "3", s=0)).totals() == [600_000_000]
    e = pytest.raises(LedgerError, run, d("1", "0.000000001", "1")).value
    assert e.index == 1 and e.column == "BTC" and "decimal places" in str(e)
    e = pytest.raises(LedgerError, run, d("1", "2", "-3")).value
    assert e.index == 2 and "negative" in str(e)
    e = pytest.raises(LedgerError, run, d("1", "2", "100000", s=0), max_bits=32).value
    assert e.index == 2 and "range bound" in str(e)
    d256 = pa.array([Decimal("1"), Decimal("2"), Decimal(10**60)], pa.decimal256(70, 0))
    e = pytest.raises(LedgerError, run, d256).value
    assert e.index == 2
    assert run(pa.array([1, None, 3], pa.int8())).totals() == [4]
    e = pytest.raises(LedgerError, run, pa.array([1, -2, 3], pa.int64())).value
    assert e.index == 1 and "negative" in str(e)
    e = pytest.raises(LedgerError, run, pa.array(["1", "2", "-0"])).value
    assert e.index == 2 and e.value == "-0"
    with pytest.raises(LedgerError, match="float"):
        run(pa.array([1.0, 2.0, 3.0]))
    with pytest.raises(LedgerError, match="unknown asset"):
        t = pa.table({"user_id": pa.array(["a"]), "ZZZ": pa.array([1])})
        pq.write_table(t, tmp_path / "u.parquet")
        Ledger.from_parquet(tmp_path / "u.parquet", assets=ASSETS3)
    t = pa.table({"user_id": pa.array(["a", " a"]), "BTC": pa.array([1, 2])})
    pq.write_table(t, tmp_path / "dup.parquet")
    e = pytest.raises(LedgerError, Ledger.from_parquet, tmp_path / "dup.parquet",
                      assets=ASSETS3).value
    assert e.index == 1 and "row 0" in str(e)
    t = pa.table({"user_id": pa.array([], pa.string()), "BTC": pa.array([], pa.int64())})
    pq.write_table(t, tmp_path / "empty.parquet")
    with pytest.raises(LedgerError, match="no data rows"):
        Ledger.from_parquet(tmp_path / "empty.parquet", assets=ASSETS3)
    with pytest.raises(LedgerError, match="decimals are required"):
        Ledger.from_parquet(tmp_path / "empty.parquet")


# --------------------------------------------------------------------- synthetic


def test_synthetic_workloads():
    a = W1(20_000)
    assert a.num_assets == 22 and a.num_users == 20_000
    assert a.assets[0] == Asset("BTC", 8) and a.assets[1] == Asset("ETH", 18)
    assert a.user_ids[0] == "user-0000001"
    held = np.diff(a.indptr)
    assert held.min() >= 1 and held.max() <= 22
    assert abs(held.mean() - 3.0) < 0.05
    counts = np.bincount(a.asset_index, minlength=22)
    assert counts[0] > counts[1] > counts[5] > counts[21]  # popularity
    assert int(a.amounts.min()) >= 1 and int(a.amounts.max()) < 2**50
    assert a == W1(20_000) and a != W1(20_000, seed=1)

    b = W2(5_000)
    assert b.num_assets == 220 and b.assets[22].name == "TKN023"
    held = np.diff(b.indptr)
    assert held.min() >= 1 and held.max() <= 22
    assert abs(held.mean() - 4.0) < 0.1
    # the validated constructor accepts what the generator produced
    Ledger.from_entries(b.user_ids, b.assets, b.indptr, b.asset_index, b.amounts,
                        max_bits=b.max_bits)
    assert generate(3, num_assets=2).num_entries == 6  # mean clipped to 2
    with pytest.raises(ValueError):
        generate(10, num_assets=3, mean_held=4)
    assert synthetic.default_assets(230)[229].name == "TKN230"
