"""The binding's statement version 3 (margin): `prove_v2(kinds=, prices=)`, statement dicts with
their margin, `statement_fingerprint` of version 3, and version-3 placements (`Spill` with
prices, `append_wide(kinds=)`, `Placement` reopened only with the same prices) streaming to the
in-memory round byte for byte. Only conversions are tested here: the checks are the core's
(`rust/core/src/v2/margin_tests.rs`)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por import _native
from stark_por.errors import InvalidProof, LedgerError, ProofFormatError

SECRET = b"native-margin-test-secret-0123456789"
ASSETS = [("BTC", 8), ("ETH", 18), ("SHIB", 18), ("USDT", 6)]
PRICES = [("97000.5", "0.05"), ("3500.123456789012345678", "0.1"), None, ("1", "0")]


def arrays(users):
    """users: lists of (asset index, kind, amount) sorted by (asset, kind)."""
    indptr, asset_index, kinds, amounts = [0], [], [], []
    for entries in users:
        for a, k, x in entries:
            asset_index.append(a)
            kinds.append(k)
            amounts.append(x)
        indptr.append(len(asset_index))
    return (
        [f"user-{u}" for u in range(len(users))],
        np.array(indptr, dtype=np.uint64),
        np.array(asset_index, dtype=np.uint32),
        np.array([x & (2**64 - 1) for x in amounts], dtype=np.uint64),
        np.array([x >> 64 for x in amounts], dtype=np.uint64),
        np.array(kinds, dtype=np.uint8),
    )


def users(n):
    out = []
    for u in range(n):
        if u % 10 == 3:
            # 1 BTC of collateral against 50,000 USDT and 1 ETH
            out.append([(0, 0, 10**8), (1, 1, 10**18), (3, 1, 50_000 * 10**6 + u)])
        elif u == 5:
            out.append([(0, 0, 2**111), (0, 1, 2**110), (2, 0, 2**112 - 1)])
        else:
            out.append([(a, 0, (u + 1) * 10 ** (a + 5)) for a in range(4) if (u + a) % 3])
    return out


def prove(users_, prices=PRICES, round_id="m-native"):
    ids, indptr, ai, lo, hi, kinds = arrays(users_)
    return _native.prove_v2(ids, ASSETS, indptr, ai, lo, hi, 112, SECRET, round_id, "100", 14, kinds=kinds, prices=prices)


@pytest.fixture(scope="module")
def round_v3():
    return prove(users(40))


def le(x: int) -> bytes:
    return x.to_bytes((x.bit_length() + 7) // 8, "little")


def summary_args(d):
    m = d["margin"]
    plain = (d["round_id"], d["range_bits"], d["num_leaves"], bytes(d["root"]),
             [(a, dec, le(t)) for (a, dec), t in zip(d["assets"], d["totals"])])
    if m is None:
        return plain
    return plain + ((m["unit_exp"], [(le(t), p) for t, p in zip(m["debt_totals"], m["prices"])]),)


def test_a_round_with_prices_is_statement_version_3_with_its_margin(round_v3):
    d = round_v3["statement"]
    assert d["statement_version"] == 3
    m = d["margin"]
    assert m["unit_exp"] == 27
    assert m["prices"] == PRICES
    debts = [0] * 4
    for u in users(40):
        for a, k, x in u:
            debts[a] += x * k
    assert m["debt_totals"] == debts
    # BTC: 97,000.5 USD a coin, 5 % haircut, in 10^-27 USD a satoshi
    assert m["coefficients"][0] == (92_150_475 * 10**16, 970_005 * 10**18)
    assert m["coefficients"][2] == (0, 1)
    verified = _native.verify(round_v3["file"], 100)
    assert {k: verified[k] for k in ("statement_version", "totals", "margin", "root")} == {
        k: d[k] for k in ("statement_version", "totals", "margin", "root")
    }
    assert _native.read_statement(round_v3["file"])["margin"] == m


def test_the_version_3_fingerprint_is_the_documented_sha256(round_v3):
    d = round_v3["statement"]
    args = summary_args(d)
    enc = b"stark-por/statement\0" + (3).to_bytes(2, "little")
    enc += len(d["round_id"]).to_bytes(2, "little") + d["round_id"].encode() + bytes([d["range_bits"]])
    enc += d["num_leaves"].to_bytes(8, "little") + bytes(d["root"]) + len(d["assets"]).to_bytes(4, "little")
    for (a, dec), t in zip(d["assets"], d["totals"]):
        enc += bytes([len(a)]) + a.encode() + bytes([dec]) + len(le(t)).to_bytes(2, "little") + le(t)
    enc += bytes([27])
    for t, p in zip(d["margin"]["debt_totals"], d["margin"]["prices"]):
        enc += len(le(t)).to_bytes(2, "little") + le(t)
        enc += b"\0" if p is None else b"\1" + b"".join(bytes([len(s)]) + s.encode() for s in p)
    assert _native.statement_fingerprint(args, 3) == hashlib.sha256(enc).digest()
    with pytest.raises(ValueError, match="version 3"):
        _native.statement_fingerprint(args[:5], 3)
    with pytest.raises(ValueError):
        _native.statement_fingerprint(args, 2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(asset=st.integers(0, 3), field=st.sampled_from(["price", "haircut", "flag"]), digit=st.integers(1, 9))
def test_a_changed_price_haircut_or_flag_is_refused(round_v3, asset, field, digit):
    # the statement block of the file is rewritten by the reader's own layout: parse, change, re-encode
    d = _native.read_statement(round_v3["file"])
    prices = list(d["margin"]["prices"])
    old = prices[asset]
    if field == "flag":
        prices[asset] = None if old is not None else ("1", "0")
    elif old is None:
        return
    elif field == "price":
        prices[asset] = (old[0] + str(digit), old[1])
    else:
        prices[asset] = (old[0], "0.5" + str(digit) if old[1] != "0.5" + str(digit) else "0.4")
    data = round_v3["file"]
    needle = margin_block(d["margin"]["unit_exp"], d["margin"]["debt_totals"], d["margin"]["prices"])
    changed = margin_block(d["margin"]["unit_exp"], d["margin"]["debt_totals"], prices)
    at = data.index(needle)
    length_at = 11  # magic, format version, kind: then the statement length
    new_len = int.from_bytes(data[length_at : length_at + 4], "little") + len(changed) - len(needle)
    tampered = data[:length_at] + new_len.to_bytes(4, "little") + data[length_at + 4 : at] + changed + data[at + len(needle) :]
    with pytest.raises((InvalidProof, ProofFormatError)):
        _native.verify(tampered, 100)


def margin_block(unit_exp, debt_totals, prices):
    out = bytes([unit_exp])
    for t, p in zip(debt_totals, prices):
        out += len(le(t)).to_bytes(2, "little") + le(t)
        out += b"\0" if p is None else b"\1" + b"".join(bytes([len(s)]) + s.encode() for s in p)
    return out


def test_debts_without_prices_and_the_dummy_user_are_ledger_errors_naming_the_user():
    us = users(12)
    with pytest.raises(LedgerError, match="needs prices") as e:
        prove(us, prices=None)
    assert e.value.index == 3
    dummy = us[:7] + [[(0, 1, 2 * 10**8), (2, 0, 10**6)]] + us[8:]
    with pytest.raises(LedgerError, match="without a price|not covered") as e:
        prove(dummy)
    assert e.value.index == 7
    priced = PRICES[:2] + [("0.00002", "1")] + PRICES[3:]
    with pytest.raises(LedgerError, match=r"user 7 .*BTC worth 194001 USD .*SHIB worth 0 USD") as e:
        prove(dummy, prices=priced)
    with pytest.raises(ValueError, match="canonical"):
        prove(us, prices=PRICES[:1] + [("3500.10", "0.1")] + PRICES[2:])


def test_a_streamed_round_with_prices_is_the_in_memory_round(tmp_path, round_v3):
    ids, indptr, ai, lo, hi, kinds = arrays(users(40))
    spill = _native.Spill(tmp_path / "w", SECRET, "m-native", ASSETS, 112, 3, prices=PRICES)
    for a, b in ((0, 15), (15, 40)):
        s, e = int(indptr[a]), int(indptr[b])
        spill.append_wide(ids[a:b], indptr[a : b + 1] - indptr[a], ai[s:e], lo[s:e], hi[s:e], kinds=kinds[s:e])
    assert spill.finish()["statement_version"] == 3
    with pytest.raises(ValueError, match="other prices"):
        _native.Placement(tmp_path / "w", SECRET, "m-native", ASSETS, 112, prices=PRICES[:3] + [("1", "0.01")])
    with pytest.raises(ValueError, match="give its prices"):
        _native.Placement(tmp_path / "w", SECRET, "m-native", ASSETS, 112)
    placement = _native.Placement(tmp_path / "w", SECRET, "m-native", ASSETS, 112, prices=PRICES)
    plan = placement.forest_plan("100", 14)
    paths = []
    for i in range(len(plan)):
        job = placement.forest_job("100", 14, i)
        result = _native.prove_forest(job)
        assert _native.forest_answers(job, result)
        paths.append(tmp_path / f"f{i}.bin")
        paths[-1].write_bytes(result)
    assert placement.assemble_forests("100", 14, paths)["file"] == round_v3["file"]
    seen = {}
    for b in range(_native.SPILL_BUCKETS):
        rows = placement.bucket_users(b)
        for j, user in enumerate(rows["user_ids"]):
            s, e = int(rows["indptr"][j]), int(rows["indptr"][j + 1])
            seen[user] = [(int(rows["asset_index"][x]), int(rows["kinds"][x]),
                           int(rows["amounts_lo"][x]) + (int(rows["amounts_hi"][x]) << 64)) for x in range(s, e)]
    assert seen == {f"user-{u}": entries for u, entries in enumerate(users(40))}


def test_version_2_rounds_keep_their_dicts_and_bytes():
    ids, indptr, ai, lo, hi, _ = arrays([[(0, 0, 5)], [(1, 0, 7), (3, 0, 9)]])
    a = _native.prove_v2(ids, ASSETS, indptr, ai, lo, hi, 112, SECRET, "v2", "100", 14)
    b = _native.prove_v2(ids, ASSETS, indptr, ai, lo, hi, 112, SECRET, "v2", "100", 14, kinds=np.zeros(3, np.uint8))
    assert a["file"] == b["file"]
    assert a["statement"]["statement_version"] == 2 and a["statement"]["margin"] is None
    assert a["file"][8:10] == (2).to_bytes(2, "little")
    # version 3's traces have the margin section's four more main columns
    c = _native.prove_v2(ids, ASSETS, indptr, ai, lo, hi, 112, SECRET, "v2", "100", 14, prices=PRICES)
    assert c["trace_columns"] == a["trace_columns"] + 4
