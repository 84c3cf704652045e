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
    from stark_por.inclusion import verify_inclusion
    from stark_por.verifiers import pyverify

    path = _fixture_round().with_name("single-100.user-000.json")
    doc = json.loads(path.read_text())
    doc[field] = "x\ud800"
    text = json.dumps(doc)
    statement = stark_por.verify(_fixture_round())
    for anchor in (statement, statement.root):
        for pure in (False, True):
            with pytest.raises(InvalidInclusionProof) as e:
                verify_inclusion(text, anchor, pure=pure)
            assert e.value.reason == "malformed" and field in str(e.value)
    with pytest.raises(pyverify.Rejected, match="lone surrogate"):
        pyverify.verify(text, statement.root)
