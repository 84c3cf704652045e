"""Inputs the fuzzers of ``fuzz/`` found crashing a parser, each refused now with its specific
error (``bash fuzz/run.sh`` re-runs the fuzzers; see ``fuzz/README.md``)."""

from __future__ import annotations

import pytest

from stark_por import Asset, Ledger
from stark_por.errors import LedgerError
from stark_por.stream import iter_ledger_chunks


def test_a_parquet_page_that_cannot_be_decoded_is_a_ledger_error(tmp_path):
    # ledger_parquet: a damaged page header raised pyarrow's OSError out of the batch loop
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "ledger.parquet"
    pq.write_table(pa.table({"user_id": ["a", "b"], "BTC": ["1", "2"]}), path, compression="none")
    data = bytearray(path.read_bytes())
    data[4:12] = b"\xff" * 8  # the first page header follows the magic "PAR1"
    path.write_bytes(bytes(data))
    assets = [Asset("BTC", 8)]
    with pytest.raises(LedgerError, match="cannot read Parquet file"):
        Ledger.from_parquet(path, assets=assets)
    with pytest.raises(LedgerError, match="cannot read Parquet file"):
        list(iter_ledger_chunks(path, assets=assets))


def test_a_json_wallet_without_a_required_field_is_a_reserves_error(tmp_path):
    # reserves_file: a wallet object without "balance" raised TypeError from Wallet(**fields)
    from stark_por.errors import ReservesError
    from stark_por.reserves import load

    path = tmp_path / "reserves.json"
    path.write_text('{"wallets": [{"asset": "BTC", "chain": "bitcoin", "address": "bc1q", "block": 1}]}')
    with pytest.raises(ReservesError) as e:
        load(path)
    assert (e.value.index, e.value.column, e.value.reason) == (0, "balance", "is missing")


def test_lone_surrogates_in_a_reserves_file_are_reserves_errors(tmp_path):
    # signature: a signed message (or exchange name) with a lone surrogate, which JSON's "\udcf4"
    # escape makes, raised UnicodeEncodeError while hashing the message for the signature check
    import stark_por
    from stark_por.errors import ReservesError
    from stark_por.reserves import load
    from stark_por.reserves.ownership import challenge_message

    wallet = '{"asset": "BTC", "chain": "bitcoin", "address": "bc1q", "balance": "1", "block": 1, %s}'
    path = tmp_path / "reserves.json"
    for field in ("message", "signature", "label", "address"):
        path.write_text('{"wallets": [%s]}' % (wallet.replace('"address": "bc1q", ', "") if field == "address" else wallet)
                        % f'"{field}": "signed \\udcf4"')
        with pytest.raises(ReservesError) as e:
            load(path)
        assert (e.value.index, e.value.column) == (0, field) and "lone surrogate" in e.value.reason
    with pytest.raises(ReservesError, match="lone surrogate"):
        challenge_message("Exchange \udcf4", "2026-11", "bc1q")
    with pytest.raises(ReservesError, match="lone surrogate"):
        stark_por.report(stark_por.verify(_fixture_round()), [], exchange="Exchange \udcf4")


def _fixture_round():
    from pathlib import Path

    return Path(__file__).parent / "fixtures" / "rounds" / "v1" / "single-100.stpor"


@pytest.mark.parametrize("field", ["round_id", "user_id"])
def test_an_inclusion_proof_with_a_lone_surrogate_is_malformed(field):
    # inclusion_json: a "\ud800" escape in the round or user id raised UnicodeEncodeError from both
    # verifiers (hashing the id, handing it to Rust) instead of InvalidInclusionProof
    import json

    import stark_por
    from stark_por.errors import InvalidInclusionProof
    from stark_por.inclusion import PublishedSummary, verify_inclusion
    from stark_por.verifiers import pyverify

    path = _fixture_round().with_name("single-100.user-000.json")
    doc = json.loads(path.read_text())
    doc[field] = "x\ud800"
    text = json.dumps(doc)
    anchors = (stark_por.verify(_fixture_round()), PublishedSummary.load(f"{_fixture_round()}.json"))
    for anchor in anchors:
        for pure in (False, True):
            with pytest.raises(InvalidInclusionProof) as e:
                verify_inclusion(text, anchor, user_id=doc["user_id"], pure=pure)
            assert e.value.reason == "malformed" and field in str(e.value)
    with pytest.raises(pyverify.Rejected, match="lone surrogate"):
        pyverify.InclusionProof.from_json(text)


def _parquet(path, ids, amounts):
    """A ledger whose cells are written as given bytes: Parquet does not check UTF-8."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    col = lambda cells: pa.array(cells, pa.binary()).view(pa.string())  # noqa: E731
    pq.write_table(pa.table({"user_id": col(ids), "BTC": col(amounts)}), path, compression="none")
    return path


@pytest.mark.parametrize("column", ["user_id", "BTC"])
def test_parquet_strings_that_are_not_utf8_are_ledger_errors_naming_the_row(tmp_path, column):
    # ledger_parquet: pyarrow's to_pylist raised UnicodeDecodeError for such a cell
    ids, amounts = [b"u0", b"u1", b"u2", b"u3"], [b"1", b"2", b"3", b"4"]
    (ids if column == "user_id" else amounts)[2] = b"\xff\xfe"
    path = _parquet(tmp_path / "ledger.parquet", ids, amounts)
    assets = [Asset("BTC", 8)]
    for read in (lambda: Ledger.from_parquet(path, assets=assets),
                 lambda: list(iter_ledger_chunks(path, assets=assets, chunk_users=1))):
        with pytest.raises(LedgerError) as e:
            read()
        assert (e.value.index, e.value.column, e.value.reason) == (2, column, "is not UTF-8 text (byte 0)")


def test_a_duplicate_id_is_named_even_when_a_later_cell_is_not_utf8(tmp_path):
    # ledger_parquet: the rescan for a repeated id decoded the whole batch, past the repeat
    path = _parquet(tmp_path / "ledger.parquet", [b"u0", b"u1", b"u0", b"\xff"], [b"1", b"2", b"3", b"4"])
    with pytest.raises(LedgerError) as e:
        list(iter_ledger_chunks(path, assets=[Asset("BTC", 8)], chunk_users=1))
    assert (e.value.index, e.value.reason) == (2, "duplicates the user id in row 0")


def test_a_parquet_column_name_that_is_not_utf8_is_a_ledger_error(tmp_path):
    # ledger_parquet (CI's smoke run): pyarrow raised UnicodeDecodeError while opening the file
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "ledger.parquet"
    pq.write_table(pa.table({"user_id": ["a"], "BTC": ["1"]}), path, compression="none", store_schema=False)
    path.write_bytes(path.read_bytes().replace(b"BTC", b"\xffTC"))  # in the schema and the chunk's path
    for read in (lambda: Ledger.from_parquet(path, assets=[Asset("BTC", 8)]),
                 lambda: list(iter_ledger_chunks(path, assets=[Asset("BTC", 8)]))):
        with pytest.raises(LedgerError, match="a column name is not UTF-8"):
            read()


def test_a_parquet_file_whose_column_ends_early_is_refused_streamed_too(tmp_path):
    # ledger_parquet (whole and streamed readers compared): a damaged column chunk holding fewer
    # values than its 6 rows made the whole-file reader refuse, while the streamed reader (what
    # `stark-por prove` uses) stopped after 4 users and proved a shorter ledger
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "fuzz" / "ledger-short-column.parquet"  # the fuzzer's input
    assets = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6)]
    with pytest.raises(LedgerError, match="cannot read Parquet file"):
        Ledger.from_parquet(path, assets=assets)
    with pytest.raises(LedgerError, match="cannot read Parquet file: 4 rows read, its metadata says 6"):
        list(iter_ledger_chunks(path, assets=assets, chunk_users=2))


def test_version_3_summaries_with_fields_too_wide_for_the_core_are_invalid_summaries():
    # summary_json: a version-3 summary whose tree size is beyond 2^64, or whose price holds a
    # lone surrogate, raised the binding's TypeError (its summary tuple of two shapes)
    import json
    from pathlib import Path

    from stark_por.errors import InvalidSummary
    from stark_por.inclusion import PublishedSummary
    from stark_por.verifiers import pyverify

    vectors = Path(__file__).resolve().parent / "vectors" / "inclusion_v3.json"
    summary = json.loads(vectors.read_text())["checks"][0]["summary"]
    wide = {**summary, "num_leaves": 10**400}
    surrogate = json.loads(json.dumps(summary))
    surrogate["assets"][0]["price"] = "\udfff"
    for doc, what in ((wide, "num_leaves"), (surrogate, "price"), ({**summary, "value_unit_exp": 256}, "value_unit_exp")):
        text = json.dumps(doc)
        with pytest.raises(InvalidSummary, match=what) as e:
            PublishedSummary.from_json(text)
        assert e.value.reason == "malformed"
        with pytest.raises(pyverify.Rejected) as rejected:
            pyverify.check_summary(pyverify.Summary.from_json(text))
        assert rejected.value.reason == "malformed"
