"""Tests of stark_por.stream: chunked ledger reading with cross-chunk duplicate checks."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por.errors import LedgerError
from stark_por.ledger import Asset, Ledger
from stark_por.stream import iter_ledger_chunks
from stark_por.synthetic import generate, write_csv

FAST = settings(deadline=None, database=None, max_examples=40,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])
ASSETS3 = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6)]


def concat(chunks) -> Ledger:
    """Glue chunks back into one ledger (through the validated constructor)."""
    uids, ai, lo, hi, ip = [], [], [], [], [np.zeros(1, np.uint64)]
    nnz = 0
    for c in chunks:
        assert c.assets == chunks[0].assets and c.max_bits == chunks[0].max_bits
        uids += c.user_ids
        ai.append(c.asset_index)
        lo.append(c.amounts_lo)
        hi.append(c.amounts_hi)
        ip.append(c.indptr[1:] + np.uint64(nnz))
        nnz += c.num_entries
    return Ledger.from_entries(uids, chunks[0].assets, np.concatenate(ip),
                               np.concatenate(ai), np.concatenate(lo),
                               amounts_hi=np.concatenate(hi), max_bits=chunks[0].max_bits)


def write(tmp_path: Path, text: str, name: str = "ledger.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    body = "asset,decimals\n" + "".join(f"{a.name},{a.decimals}\n" for a in ASSETS3)
    (tmp_path / (p.stem + ".assets.csv")).write_text(body)
    return p


@FAST
@given(n=st.integers(1, 30), k=st.integers(1, 5), chunk=st.integers(1, 7),
       seed=st.integers(0, 2**32 - 1), max_bits=st.sampled_from([40, 62]))
def test_chunks_concatenate_to_from_csv(n, k, chunk, seed, max_bits):
    led = generate(n, num_assets=k, max_bits=max_bits, seed=seed)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "led.csv"
        write_csv(led, p)
        whole = Ledger.from_csv(p, max_bits=max_bits)
        chunks = list(iter_ledger_chunks(p, max_bits=max_bits, chunk_users=chunk))
    assert [c.num_users for c in chunks[:-1]] == [chunk] * (len(chunks) - 1)
    assert 1 <= chunks[-1].num_users <= chunk
    assert concat(chunks) == whole == led


def test_unsorted_columns_blank_lines_and_whole_file_chunk(tmp_path):
    # columns out of asset order, an empty line, a user with no holdings
    p = write(tmp_path, "user_id,USDT,BTC\na,1,2\n\nb,,\nc,3,0.5\nd,,1\n")
    whole = Ledger.from_csv(p)
    for chunk in (1, 2, 3, 4, 100):
        chunks = list(iter_ledger_chunks(p, chunk_users=chunk))
        assert concat(chunks) == whole
    assert len(list(iter_ledger_chunks(p))) == 1


def test_duplicate_across_chunks_names_both_lines(tmp_path):
    p = write(tmp_path, "user_id,BTC,ETH,USDT\nx,1,,\nalice,1,,\ny,,,\nz,,,\n alice ,,,2\n")
    it = iter_ledger_chunks(p, chunk_users=2)
    first = next(it)  # lines 2-3, before the duplicate is reached
    assert first.user_ids == ["x", "alice"]
    with pytest.raises(LedgerError) as ei:
        list(it)
    e = ei.value
    assert e.row == 6 and e.column == "user_id" and e.value == " alice "
    assert "line 6" in str(e) and "line 3" in str(e)
    # same error as the whole-file reader
    with pytest.raises(LedgerError) as ew:
        Ledger.from_csv(p)
    assert str(ew.value) == str(e)


def test_duplicate_within_chunk(tmp_path):
    p = write(tmp_path, "user_id,BTC,ETH,USDT\nx,1,,\nx,,,\n")
    with pytest.raises(LedgerError) as ei:
        list(iter_ledger_chunks(p, chunk_users=5))
    assert ei.value.row == 3 and "line 2" in str(ei.value)


def test_bad_cell_in_later_chunk_has_true_line(tmp_path):
    rows = "".join(f"u{i},{i},,\n" for i in range(10))
    p = write(tmp_path, "user_id,BTC,ETH,USDT\n" + rows + "bad,,-1,\n")
    it = iter_ledger_chunks(p, chunk_users=3)
    got = [next(it) for _ in range(3)]
    assert sum(c.num_users for c in got) == 9
    with pytest.raises(LedgerError) as ei:
        list(it)
    e = ei.value
    assert (e.row, e.column, e.value) == (12, "ETH", "-1")
    assert "line 12" in str(e)


def test_bad_user_id_and_short_row_in_later_chunk(tmp_path):
    p = write(tmp_path, "user_id,BTC,ETH,USDT\na,,,\nb,,,\nc,,\n")
    with pytest.raises(LedgerError) as ei:
        list(iter_ledger_chunks(p, chunk_users=1))
    assert ei.value.row == 4


@pytest.mark.parametrize("text", ["", "user_id,BTC,ETH,USDT\n"])
def test_empty_file_raises_like_from_csv(tmp_path, text):
    p = write(tmp_path, text)
    with pytest.raises(LedgerError) as ew:
        Ledger.from_csv(p)
    with pytest.raises(LedgerError) as ei:
        list(iter_ledger_chunks(p, chunk_users=2))
    assert str(ei.value) == str(ew.value)


def test_missing_file_and_bad_chunk_size(tmp_path):
    with pytest.raises(LedgerError):
        list(iter_ledger_chunks(tmp_path / "nope.csv"))
    p = write(tmp_path, "user_id,BTC\na,1\n")
    for bad in (0, -1, True, 1.5):
        with pytest.raises(LedgerError):
            list(iter_ledger_chunks(p, chunk_users=bad))


def _parquet(led: Ledger, path: Path, row_group_size: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    dense = led.to_dense()
    cols = {"user_id": pa.array(led.user_ids, pa.string())}
    for j, a in enumerate(led.assets):
        cols[a.name] = pa.array(dense[:, j], pa.uint64())
    pq.write_table(pa.table(cols), path, row_group_size=row_group_size)


def test_parquet_chunks_equal_from_parquet(tmp_path):
    led = generate(500, num_assets=4, max_bits=50, seed=3)
    write_csv(led, tmp_path / "led.csv")  # writes led.assets.csv
    p = tmp_path / "led.parquet"
    _parquet(led, p, row_group_size=128)
    whole = Ledger.from_parquet(p, max_bits=50)
    chunks = list(iter_ledger_chunks(p, max_bits=50, chunk_users=37))
    assert all(1 <= c.num_users <= 37 for c in chunks)
    assert concat(chunks) == whole == Ledger.from_csv(tmp_path / "led.csv", max_bits=50)


def test_parquet_duplicate_across_chunks_names_both_rows(tmp_path):
    led = generate(20, num_assets=2, max_bits=50, seed=1)
    uids = list(led.user_ids)
    uids[15] = " " + uids[4]
    led2 = Ledger._trusted(uids, led.assets, led.indptr, led.asset_index,
                           led.amounts_lo, led.amounts_hi, 50)
    write_csv(led, tmp_path / "led.csv")
    p = tmp_path / "led.parquet"
    _parquet(led2, p, row_group_size=8)
    with pytest.raises(LedgerError) as ei:
        list(iter_ledger_chunks(p, max_bits=50, chunk_users=5))
    e = ei.value
    assert e.index == 15 and "row 4" in str(e) and "row 15" in str(e)
    with pytest.raises(LedgerError) as ew:
        Ledger.from_parquet(p, max_bits=50)
    assert str(ew.value) == str(e)


def test_estimate_users_is_exact_for_small_files_and_close_for_large(tmp_path):
    from stark_por.stream import estimate_users

    small = tmp_path / "small.csv"
    write_csv(generate(300, num_assets=3, seed=2), small)
    assert estimate_users(small) == 300
    big = tmp_path / "big.csv"
    write_csv(generate(20_000, num_assets=3, seed=2), big)
    estimate = estimate_users(big, sample_bytes=64 << 10)
    assert abs(estimate - 20_000) < 20_000 * 0.1
    p = tmp_path / "led.parquet"
    _parquet(generate(123, num_assets=2, max_bits=50, seed=1), p, row_group_size=50)
    assert estimate_users(p) == 123
    assert estimate_users(tmp_path / "missing.csv") is None
