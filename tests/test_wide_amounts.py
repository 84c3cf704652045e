"""Amounts at native decimals up to 2^112 - 1 smallest units, exactly: the ledger readers and
constructors (two uint64 words per amount), the refusals naming row, column and value."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stark_por import Asset, Ledger, LedgerError
from stark_por.ledger import DEFAULT_MAX_BITS, MAX_MAX_BITS, format_amount
from stark_por.stream import iter_ledger_chunks

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

TOP = 2**112 - 1
ASSETS = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6)]

#: Every boundary that matters: dust, each 13-bit limb boundary of the circuit, the version-1
#: bound 2^62, a uint64's 2^64, and the top of the range.
BOUNDARIES = sorted({v for e in list(range(13, 113, 13)) + [62, 64, 112]
                     for v in ((1 << e) - 1, 1 << e, (1 << e) + 1) if 0 < v <= TOP} | {1, 2})
amounts = st.one_of(st.sampled_from(BOUNDARIES), st.integers(1, TOP),
                    st.integers(2**64 - 2**20, 2**64 + 2**20))


def write_csv(path: Path, rows, assets=ASSETS) -> Path:
    lines = ["user_id," + ",".join(a.name for a in assets)]
    for uid, cells in rows:
        lines.append(uid + "," + ",".join(format_amount(v, a.decimals) for v, a in zip(cells, assets)))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_defaults_are_version_2s_bound():
    assert DEFAULT_MAX_BITS == MAX_MAX_BITS == 112


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.one_of(st.just(0), amounts), min_size=3, max_size=3), min_size=1, max_size=6))
def test_csv_and_dense_round_trips_are_exact(tmp_path, table):
    ids = [f"u{i}" for i in range(len(table))]
    path = write_csv(tmp_path / "l.csv", list(zip(ids, table)))
    led = Ledger.from_csv(path, assets=ASSETS)
    dense = Ledger.from_arrays(ids, ASSETS, table)
    assert led == dense
    assert led.to_dense().tolist() == table
    assert led.totals() == [sum(col) for col in zip(*table)]
    for e in range(led.num_entries):
        assert led.amount(e) == int(led.amounts_lo[e]) + (int(led.amounts_hi[e]) << 64)
    assert led.amounts_lo.dtype == led.amounts_hi.dtype == np.uint64
    # the same ledger from its two words
    again = Ledger.from_entries(ids, ASSETS, led.indptr, led.asset_index, led.amounts_lo,
                                amounts_hi=led.amounts_hi)
    assert again == led


def test_csv_columns_out_of_order_and_chunks_keep_the_high_words(tmp_path):
    """Columns in another order than the assets (entries re-sorted per user) and chunked
    reading both carry each amount's high word with it."""
    table = [[2**100 + 1, 5, 0], [0, 2**64, 2**70], [7, 0, TOP], [1, 2, 3], [2**64 - 1, 0, 2**64 + 1]]
    ids = [f"u{i}" for i in range(len(table))]
    order = [2, 0, 1]  # USDT, BTC, ETH
    path = write_csv(tmp_path / "l.csv", [(u, [row[j] for j in order]) for u, row in zip(ids, table)],
                     [ASSETS[j] for j in order])
    expected = Ledger.from_arrays(ids, ASSETS, table)
    assert Ledger.from_csv(path, assets=ASSETS) == expected
    chunks = list(iter_ledger_chunks(path, assets=ASSETS, chunk_users=2))
    assert [c.num_users for c in chunks] == [2, 2, 1]
    assert [x for c in chunks for x in c.amounts_as_ints()] == expected.amounts_as_ints()


def test_totals_beyond_2_to_128_are_exact():
    n = 1 << 17
    led = Ledger.from_entries([f"u{i}" for i in range(n)], ASSETS[:1], np.arange(n + 1),
                              np.zeros(n, np.uint32), np.full(n, 2**64 - 1, np.uint64),
                              amounts_hi=np.full(n, 2**48 - 1, np.uint64))
    assert led.totals() == [n * TOP] and n * TOP > 2**128


def test_an_18_decimal_whale_reads_exactly(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("user_id,BTC,ETH,USDT\nwhale,,250000,\nshrimp,,0.000000000000000001,\n")
    led = Ledger.from_csv(path, assets=ASSETS)
    assert led.user("whale") == {"ETH": 250_000 * 10**18} and led.user("shrimp") == {"ETH": 1}
    assert led.totals()[1] == 250_000 * 10**18 + 1 > 2**64


def test_amounts_is_only_for_ledgers_below_2_to_64():
    small = Ledger.from_arrays(["a"], ASSETS, [[1, 2**64 - 1, 3]])
    assert small.amounts.tolist() == [1, 2**64 - 1, 3]
    wide = Ledger.from_arrays(["a", "b"], ASSETS, [[1, 0, 3], [0, 2**64, 0]])
    with pytest.raises(LedgerError, match="amounts_lo") as e:
        wide.amounts
    assert (e.value.index, e.value.column, e.value.value) == (1, "ETH", str(2**64))
    assert wide.to_dense().tolist() == [[1, 0, 3], [0, 2**64, 0]]


@pytest.mark.parametrize("max_bits", [32, 62, 63, 64, 65, 100, 112])
def test_the_bound_is_exact_for_every_input(tmp_path, max_bits):
    """2^max_bits - 1 is accepted and 2^max_bits refused by every reader, naming row, column
    and value."""
    top, over = (1 << max_bits) - 1, 1 << max_bits
    ids = ["a", "b"]
    # dense ints and objects
    assert Ledger.from_arrays(ids, ASSETS, [[0, top, 1], [1, 0, 0]], max_bits=max_bits).totals()[1] == top
    e = pytest.raises(LedgerError, Ledger.from_arrays, ids, ASSETS, [[0, 1, 1], [1, 0, over]],
                      max_bits=max_bits).value
    assert (e.index, e.column, e.value) == (1, "USDT", str(over)) and f"2**{max_bits}" in e.reason
    # sparse, as Python ints and as two words
    for args in ({"amounts": [top, over]},
                 {"amounts": np.array([top & (2**64 - 1), over & (2**64 - 1)], np.uint64),
                  "amounts_hi": np.array([top >> 64, over >> 64], np.uint64)}):
        e = pytest.raises(LedgerError, Ledger.from_entries, ids, ASSETS, [0, 1, 2], [1, 2],
                          max_bits=max_bits, **args).value
        assert (e.index, e.column, e.value) == (1, "USDT", str(over))
    # CSV text
    path = write_csv(tmp_path / "l.csv", [("a", [top, 0, 0]), ("b", [0, 0, over])])
    e = pytest.raises(LedgerError, Ledger.from_csv, path, assets=ASSETS, max_bits=max_bits).value
    assert (e.row, e.column, e.value) == (3, "USDT", format_amount(over, 6))
    # Parquet strings and decimals
    for kind in ("string", "decimal"):
        p = _parquet(tmp_path / f"{kind}.parquet", ["a", "b"], {"BTC": [top, None], "USDT": [None, over]}, kind)
        e = pytest.raises(LedgerError, Ledger.from_parquet, p, assets=ASSETS, max_bits=max_bits).value
        assert (e.index, e.column) == (1, "USDT") and e.value == (format_amount(over, 6) if kind == "string"
                                                                   else str(Decimal(f"{over}E-6")))
        p = _parquet(tmp_path / f"{kind}2.parquet", ["a"], {"BTC": [top], "USDT": [None]}, kind)
        assert Ledger.from_parquet(p, assets=ASSETS, max_bits=max_bits).totals()[0] == top


def _parquet(path, ids, columns, kind, *, scale=None, width=128):
    """A Parquet ledger; ``columns`` maps asset to amounts in smallest units (None: absent)."""
    decimals = {a.name: a.decimals for a in ASSETS}
    arrays = {"user_id": pa.array(ids, pa.string())}
    for name, vals in columns.items():
        d = decimals[name]
        if kind == "string":
            arrays[name] = pa.array([None if v is None else format_amount(v, d) for v in vals], pa.string())
        else:
            s = d if scale is None else scale
            t = (pa.decimal128 if width == 128 else pa.decimal256)(38 if width == 128 else 76, s)
            arrays[name] = pa.array([None if v is None else Decimal(f"{v}E-{d}") for v in vals], t)
    pq.write_table(pa.table(arrays), path)
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vals=st.lists(amounts, min_size=1, max_size=5), kind=st.sampled_from(["string", "decimal"]),
       extra_scale=st.integers(-6, 12), width=st.sampled_from([128, 256]))
def test_parquet_wide_amounts_are_exact(tmp_path, vals, kind, extra_scale, width):
    """String and decimal columns (decimal128/256, scales below, at and above the asset's
    decimals) give the exact amounts; a scale below the decimals can only hold multiples."""
    d = 18
    scale = d + extra_scale
    if extra_scale < 0:  # the column cannot hold finer digits: round the amounts to what it can
        vals = [max(1, v // 10**-extra_scale) * 10**-extra_scale for v in vals]
        vals = [v for v in vals if v <= TOP] or [10**-extra_scale]
    if width == 128 and len(str(max(vals))) + extra_scale > 38:
        width = 256  # beyond decimal128's 38 digits
    ids = [f"u{i}" for i in range(len(vals))]
    p = _parquet(tmp_path / "w.parquet", ids, {"ETH": vals}, kind, scale=scale, width=width)
    led = Ledger.from_parquet(p, assets=ASSETS)
    assert led.amounts_as_ints() == vals and led.totals()[1] == sum(vals)
    chunks = list(iter_ledger_chunks(p, assets=ASSETS, chunk_users=2))
    assert [x for c in chunks for x in c.amounts_as_ints()] == vals
    assert all(isinstance(c.amounts_hi, np.ndarray) for c in chunks)


def test_parquet_refuses_more_decimals_than_the_asset_has(tmp_path):
    # decimal columns finer than the asset's 18 decimals, with a non-zero digit beyond the 18th:
    # one-word values (divided in uint64, and by 10^22 where only zero divides), a wide one
    for v, scale in ((Decimal("1.0000000000000000001"), 20), (Decimal("1.0000000000000000000001"), 40),
                     (Decimal("5192296858534827628530496.3292341504000000000001"), 22 + 18)):
        p = tmp_path / "d.parquet"
        pq.write_table(pa.table({"user_id": pa.array(["a", "b"]),
                                 "ETH": pa.array([Decimal(1), v], pa.decimal256(76, scale))}), p)
        e = pytest.raises(LedgerError, Ledger.from_parquet, p, assets=ASSETS).value
        assert (e.index, e.column) == (1, "ETH") and "decimal places" in e.reason
        assert Decimal(e.value) == v
    # the same digits in a CSV cell or a string column
    path = tmp_path / "l.csv"
    path.write_text("user_id,BTC,ETH,USDT\na,1,,\nb,,1.0000000000000000001,\n")
    e = pytest.raises(LedgerError, Ledger.from_csv, path, assets=ASSETS).value
    assert (e.row, e.column, e.value) == (3, "ETH", "1.0000000000000000001") and "decimal places" in e.reason
    p = tmp_path / "s.parquet"
    pq.write_table(pa.table({"user_id": ["a"], "ETH": ["0.0000000000000000001"]}), p)
    e = pytest.raises(LedgerError, Ledger.from_parquet, p, assets=ASSETS).value
    assert (e.index, e.column, e.value) == (0, "ETH", "0.0000000000000000001")


def test_a_wide_decimal_above_the_scale_divides_exactly(tmp_path):
    # 2^100 + 1 wei written at scale 22 (four zeros more than the asset's 18): exact
    v = 2**100 + 1
    t = pa.decimal256(76, 22)
    p = tmp_path / "d.parquet"
    pq.write_table(pa.table({"user_id": ["a"], "ETH": pa.array([Decimal(f"{v}E-18")], t)}), p)
    assert Ledger.from_parquet(p, assets=ASSETS).user("a") == {"ETH": v}


def test_parquet_integer_columns_reach_2_to_64_minus_1(tmp_path):
    p = tmp_path / "i.parquet"
    pq.write_table(pa.table({"user_id": ["a", "b"], "ETH": pa.array([2**64 - 1, 5], pa.uint64())}), p)
    assert Ledger.from_parquet(p, assets=ASSETS).amounts_as_ints() == [2**64 - 1, 5]
    e = pytest.raises(LedgerError, Ledger.from_parquet, p, assets=ASSETS, max_bits=62).value
    assert (e.index, e.column, e.value) == (0, "ETH", str(2**64 - 1))
    pq.write_table(pa.table({"user_id": ["a", "b"], "ETH": pa.array([3, -5], pa.int64())}), p)
    e = pytest.raises(LedgerError, Ledger.from_parquet, p, assets=ASSETS).value
    assert (e.index, e.column, e.value, e.reason) == (1, "ETH", "-5", "is negative")


@pytest.mark.parametrize("bad,words", [
    (-1, "negative"), (-(2**100), "negative"), (2.0, "integer"), (1.5, "integer"), (True, "integer"),
    ("5", "integer"), (Decimal(5), "integer"), (2**112, "range bound"), (2**200, "range bound"),
])
def test_in_memory_refusals_name_row_column_value(bad, words):
    table = [[1, 0, 2**100], [0, bad, 3]]
    e = pytest.raises(LedgerError, Ledger.from_arrays, ["a", "b"], ASSETS, table).value
    assert (e.index, e.column, e.value) == (1, "ETH", str(bad)) and words in e.reason
    e = pytest.raises(LedgerError, Ledger.from_entries, ["a", "b"], ASSETS, [0, 2, 4], [0, 2, 1, 2],
                      [1, 2**100, bad, 3]).value
    assert (e.index, e.column, e.value) == (1, "ETH", str(bad)) and words in e.reason


def test_float_arrays_are_refused_naming_a_cell():
    e = pytest.raises(LedgerError, Ledger.from_arrays, ["a", "b"], ASSETS,
                      np.array([[0.0, 0.0, 0.0], [0.0, 2.5, 0.0]])).value
    assert (e.index, e.column, e.value) == (1, "ETH", "2.5") and "integer" in e.reason
    with pytest.raises(LedgerError, match="integer"):
        Ledger.from_entries(["a"], ASSETS, [0, 1], [0], np.array([1.0]))


def test_two_words_are_each_checked():
    with pytest.raises(LedgerError, match="negative"):
        Ledger.from_entries(["a"], ASSETS, [0, 1], [0], [1], amounts_hi=[-1])
    with pytest.raises(LedgerError, match="equal length"):
        Ledger.from_entries(["a"], ASSETS, [0, 1], [0], [1], amounts_hi=[1, 2])
    with pytest.raises(LedgerError, match="zero"):
        Ledger.from_entries(["a"], ASSETS, [0, 1], [0], [0], amounts_hi=[0])
    led = Ledger.from_entries(["a"], ASSETS, [0, 1], [0], [0], amounts_hi=[1])
    assert led.amount(0) == 2**64 and led.user("a") == {"BTC": 2**64}


# -- proving at version 2 (each prove takes seconds: few of them) ----------------------------

from stark_por import InvalidProof, Proof, prove, verify  # noqa: E402
from stark_por.workloads import W3  # noqa: E402
from stark_por.workloads.listings import W3_LISTINGS  # noqa: E402

SECRET = b"wide-amounts-test-secret-0123456789"


def _proved(ledger: Ledger, round_id: str = "wide", **kw):
    proof = prove(ledger, secret=SECRET, round_id=round_id, **kw)
    statement = verify(proof)
    assert statement.statement_version == 2 and statement.verified
    assert statement.totals == {a.name: t for a, t in zip(ledger.assets, ledger.totals())}
    return proof, statement


@settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(st.one_of(st.just(0), amounts), min_size=3, max_size=3), min_size=1, max_size=5))
def test_wide_ledgers_prove_and_verify_with_exact_totals(table):
    ledger = Ledger.from_arrays([f"u{i}" for i in range(len(table))], ASSETS, table)
    _, statement = _proved(ledger)
    assert [statement.totals[a.name] for a in ASSETS] == [sum(col) for col in zip(*table)]


def test_every_boundary_proves_in_one_round():
    """Every boundary amount, each held by its own user in every asset, in one round."""
    table = [[v, TOP - v + 1, v] for v in BOUNDARIES]
    _, statement = _proved(Ledger.from_arrays([f"b{i}" for i in range(len(table))], ASSETS, table))
    assert statement.totals["ETH"] == sum(TOP - v + 1 for v in BOUNDARIES) > 2**112


def test_an_18_decimal_whale_proves_to_the_last_wei(tmp_path):
    path = tmp_path / "whales.csv"
    path.write_text("user_id,BTC,ETH,USDT\nwhale,21000,250000,1000000000\n"
                    "dust,0.00000001,0.000000000000000001,0.000001\nalice,0.5,5.000000000000000001,\n")
    ledger = Ledger.from_csv(path, assets=ASSETS)
    proof, statement = _proved(ledger)
    assert statement.totals["ETH"] == 250_005 * 10**18 + 2 and statement.totals["ETH"] > 2**64
    assert statement.totals_decimal["ETH"] == Decimal("250005.000000000000000002")
    assert statement.range_bits == 112
    summary = json.loads(proof.save(tmp_path / "r.stpor").with_name("r.stpor.json").read_text())
    eth = next(a for a in summary["assets"] if a["asset"] == "ETH")
    assert (eth["total"], eth["total_units"]) == ("250005.000000000000000002", str(250_005 * 10**18 + 2))
    assert summary["statement_version"] == 2
    from stark_por import PublishedSummary

    published = PublishedSummary.load(tmp_path / "r.stpor.json")
    assert published.statement_version == 2 and published.fingerprint == statement.fingerprint
    assert published.totals == statement.totals


def test_a_user_holding_every_w3_asset_at_the_maximum():
    assets = [x.asset for x in W3_LISTINGS]
    k = len(assets)
    table = [[TOP] * k, [TOP] * k, [1] * k]
    ledger = Ledger.from_arrays(["max-1", "max-2", "dust"], assets, table)
    _, statement = _proved(ledger)
    assert all(statement.totals[a.name] == 2 * TOP + 1 == 2**113 - 1 for a in assets)


def test_a_realistic_w3_round_proves_exactly():
    w = W3(300, seed=5)
    ledger = w.to_ledger(112)
    assert any(v >= 2**64 for v in ledger.amounts_as_ints())
    proof, statement = _proved(ledger, round_id="w3")
    assert statement.totals == dict(zip([a.name for a in w.assets], w.totals()))
    used, rows = proof.working_rows
    assert 0 < used <= rows == proof.trace_shape[0]


def test_the_range_bound_is_proven_and_refused_beyond(tmp_path):
    ledger = Ledger.from_arrays(["a", "b"], ASSETS, [[2**64 - 1, 0, 1], [0, 2**64, 0]])
    _, statement = _proved(ledger, range_bits=65)
    assert statement.range_bits == 65
    with pytest.raises(LedgerError) as e:
        prove(ledger, secret=SECRET, round_id="r", range_bits=64)
    assert (e.value.index, e.value.column) == (1, "ETH")
    for bad in (31, 113):
        with pytest.raises(ValueError, match="range bound"):
            prove(ledger, secret=SECRET, round_id="r", range_bits=bad)


def _statement_span(data: bytes):
    """(start, end) of the statement in a file of format 2 or 4 (the same statement layout)."""
    import struct

    assert data[8:10] in (b"\x02\x00", b"\x04\x00")
    (length,) = struct.unpack_from("<I", data, 11)
    return 15, 15 + length


def _with_totals(data: bytes, totals) -> bytes:
    """The format-2 or -4 file ``data`` with its statement's totals replaced (re-encoded minimal)."""
    import struct

    start, end = _statement_span(data)
    s = data[start:end]
    (n,) = struct.unpack_from("<H", s, 0)
    at = 2 + n + 1 + 8 + 32
    (k,) = struct.unpack_from("<I", s, at)
    at += 4
    out = bytearray(s[:at])
    for i in range(k):
        name_len = s[at]
        out += s[at:at + 1 + name_len + 1]
        at += 1 + name_len + 1
        (t_len,) = struct.unpack_from("<H", s, at)
        at += 2 + t_len
        t = totals[i].to_bytes((totals[i].bit_length() + 7) // 8, "little")
        out += struct.pack("<H", len(t)) + t
    assert at == len(s)
    return data[:11] + struct.pack("<I", len(out)) + bytes(out) + data[end:]


@pytest.mark.parametrize(
    "committed, refusal",
    [(False, "exact sums"), (True, "aggregation proof")],
    ids=["public-forest-totals", "committed-forest-totals"],
)
def test_totals_beyond_2_to_128_reach_python_exactly_and_are_checked(committed, refusal):
    """The binding turns the file's totals into Python ints of any size (never a u128): a
    statement claiming 2^200 reads back as exactly 2^200, and verify refuses it: with public
    forest totals because their part sums do not add up to it, with committed ones because the
    aggregation proof was made for other public totals. (An honest round's totals beyond 2^128
    are summed in rust/core/src/v2/tests.rs: totals_are_exact_beyond_2_to_128.)"""
    ledger = Ledger.from_arrays(["a", "b"], ASSETS, [[TOP, 1, 0], [TOP, 0, 7]])
    proof, statement = _proved(ledger, committed=committed)
    honest = [statement.totals[a.name] for a in ASSETS]
    assert _with_totals(proof.to_bytes(), honest) == proof.to_bytes()  # the re-encoder is exact
    for claimed in (2**200, 2**128 + 1, honest[0] + 1, honest[0] - 1):
        forged = _with_totals(proof.to_bytes(), [claimed] + honest[1:])
        assert Proof.from_bytes(forged).statement.totals["BTC"] == claimed
        with pytest.raises(InvalidProof, match=refusal):
            verify(forged)
