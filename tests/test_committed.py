"""Rounds with committed forest totals (file formats 4 and 5, issue 12).

Every forest of such a round publishes a hiding commitment to its per-asset part sums instead of
the sums, and one aggregation proof shows that the committed sums add up to the statement's
totals. The statement, its fingerprint and every user's inclusion are those of the format-2 (or
3) round of the same ledger; the file must hold no forest's totals in any form, and verification
must refuse every tamper. Streaming, resume and Ray are covered by ``test_prove_file_v2.py``,
whose rounds are format 4 by default.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import stark_por
from stark_por.errors import InvalidProof
from stark_por.inclusion import export, store_path, verify_inclusion
from stark_por.workloads import W3, margin_prices

SECRET = b"committed totals test secret, 32b"
ROUND = "2026-12-committed"
OFFSETS = (0, 24, 48, 72, 96)  # each part's weight 2^offset (circuits/liabilities/src/layout.rs)


# ------------------------------------------------------------------ an independent reading of the layout


def _forest_records(data: bytes, committed: bool, debts: bool) -> tuple[list[dict], int]:
    """The forest records of a format 2–5 file (rust/core/src/v2/mod.rs), and where they end."""
    assert data[:8] == b"STARKPOR"
    (st_len,) = struct.unpack_from("<I", data, 11)
    k = _num_assets(data[15:15 + st_len])
    pos = 15 + st_len
    (count,) = struct.unpack_from("<I", data, pos)
    pos += 4
    records = []
    for _ in range(count):
        start, end, nroots = struct.unpack_from("<QQH", data, pos)
        pos += 18 + 32 * nroots
        rec: dict = {"start": start, "end": end}
        if committed:
            rec["commitment"] = data[pos:pos + 32]
            pos += 32
        else:
            rows = 2 * k if debts else k
            sums = struct.unpack_from(f"<{5 * rows}Q", data, pos)
            rec["parts"] = [sums[5 * r:5 * r + 5] for r in range(rows)]
            pos += 40 * rows
        (plen,) = struct.unpack_from("<I", data, pos)
        pos += 4 + plen
        records.append(rec)
    return records, pos


def _num_assets(statement: bytes) -> int:
    (rid_len,) = struct.unpack_from("<H", statement, 0)
    (k,) = struct.unpack_from("<I", statement, 2 + rid_len + 1 + 8 + 32)
    return k


def _aggregation_block(data: bytes, debts: bool) -> tuple[int, int]:
    """(offset, length) of the aggregation proof that ends a format 4/5 file."""
    _, pos = _forest_records(data, committed=True, debts=debts)
    (length,) = struct.unpack_from("<I", data, pos)
    assert pos + 4 + length == len(data), "the aggregation proof ends the file"
    return pos + 4, length


# ------------------------------------------------------------------ rounds


@pytest.fixture(scope="module")
def workload():
    return W3(6000, seed=11)


@pytest.fixture(scope="module")
def rounds(workload, tmp_path_factory):
    """The same ledger as format 4 (default) and format 2, multi-forest (traces of 2^14 rows)."""
    led = workload.to_ledger(112)
    d = tmp_path_factory.mktemp("rounds")
    out = {}
    for name, committed in (("committed", None), ("public", False)):
        kw = {} if committed is None else {"committed": committed}
        proof = stark_por.prove(led, secret=SECRET, round_id=ROUND, trace_log2=14, **kw)
        path = d / f"{name}.stpor"
        proof.save(path)
        out[name] = path
    return out


@pytest.fixture(scope="module")
def margin_rounds(tmp_path_factory):
    w = W3(5000, seed=12, borrowers=0.1)
    led, prices = w.to_ledger(112), margin_prices(w.listings)
    d = tmp_path_factory.mktemp("margin")
    out = {}
    for name, committed in (("committed", True), ("public", False)):
        proof = stark_por.prove(led, secret=SECRET, round_id=ROUND, trace_log2=14, prices=prices,
                                committed=committed)
        path = d / f"{name}.stpor"
        proof.save(path)
        out[name] = path
    return w, out


def test_a_committed_round_verifies_to_the_statement_of_the_public_round(rounds, workload):
    c, p = stark_por.verify(rounds["committed"]), stark_por.verify(rounds["public"])
    assert (c.format_version, c.committed, p.format_version, p.committed) == (4, True, 2, False)
    assert c.statement_version == p.statement_version == 2
    assert c == p and c.fingerprint == p.fingerprint, "same ledger, secret and round: the same statement"
    assert [c.totals[a.name] for a in workload.assets] == workload.totals()
    assert c.security_bits >= 100
    records, _ = _forest_records(rounds["committed"].read_bytes(), committed=True, debts=False)
    assert len(records) >= 2, "a round of several forests"
    assert len({r["commitment"] for r in records}) == len(records)
    summary = json.loads(Path(f"{rounds['committed']}.json").read_text())
    assert summary["root"] == c.root


def test_no_forest_total_is_in_the_file_in_any_form(rounds):
    """Each forest's totals as the old format wrote them (five 8-byte part sums per asset), each
    large part sum alone, and each forest's combined total as minimal bytes: none is in the file."""
    public, _ = _forest_records(rounds["public"].read_bytes(), committed=False, debts=False)
    data = rounds["committed"].read_bytes()
    probes = 0
    for rec in public:
        for parts in rec["parts"]:
            if not any(parts):
                continue
            assert struct.pack("<5Q", *parts) not in data
            for x in parts:
                if x >= 2**32:  # shorter values occur by chance in 200 KB of hashes
                    assert struct.pack("<Q", x) not in data
                    probes += 1
            total = sum(x << o for x, o in zip(parts, OFFSETS))
            if total >= 2**40:
                assert total.to_bytes((total.bit_length() + 7) // 8, "little") not in data
                probes += 1
    assert probes > 50, "the search looked at real totals"
    # and the search finds them where they are: in the public-totals file
    pub = rounds["public"].read_bytes()
    assert all(struct.pack("<5Q", *parts) in pub for rec in public for parts in rec["parts"] if any(parts))


def test_inclusion_is_the_same_in_both_formats(rounds, workload):
    uid = workload.user_ids[7]
    seen = []
    for path in rounds.values():
        st = stark_por.verify(path)
        for pure in (False, True):
            seen.append(verify_inclusion(export(store_path(path), uid).to_json(), st, user_id=uid,
                                         fingerprint=st.fingerprint, pure=pure))
    assert seen[0] and all(b == seen[0] for b in seen)


def test_a_margin_round_commits_equity_and_debt(margin_rounds):
    w, paths = margin_rounds
    c, p = stark_por.verify(paths["committed"]), stark_por.verify(paths["public"])
    assert (c.format_version, c.committed, p.format_version) == (5, True, 3)
    assert c == p and c.fingerprint == p.fingerprint and c.statement_version == 3
    assert any(c.debt_totals.values())
    public, _ = _forest_records(paths["public"].read_bytes(), committed=False, debts=True)
    assert len(public) >= 2, "a round of several forests"
    data = paths["committed"].read_bytes()
    for rec in public:
        for parts in rec["parts"]:
            if any(parts):
                assert struct.pack("<5Q", *parts) not in data


def test_a_round_without_its_aggregation_proof_is_refused(rounds):
    data = rounds["committed"].read_bytes()
    start, length = _aggregation_block(data, debts=False)
    with pytest.raises(InvalidProof):
        stark_por.verify(data[:start - 4])
    with pytest.raises(InvalidProof):  # or cut short
        stark_por.verify(data[:start + length // 2])


def test_an_aggregation_proof_from_another_round_is_refused(workload, rounds):
    theirs = stark_por.prove(workload.to_ledger(112), secret=SECRET, round_id=ROUND + "-other",
                             trace_log2=14).to_bytes()
    ours = rounds["committed"].read_bytes()
    a, _ = _aggregation_block(ours, debts=False)
    b, _ = _aggregation_block(theirs, debts=False)
    with pytest.raises(InvalidProof, match="aggregation"):
        stark_por.verify(ours[:a - 4] + theirs[b - 4:])


def test_commitments_swapped_between_forests_are_refused(rounds):
    data = bytearray(rounds["committed"].read_bytes())
    records, _ = _forest_records(bytes(data), committed=True, debts=False)
    first, second = (data.find(r["commitment"]) for r in records[:2])
    data[first:first + 32], data[second:second + 32] = records[1]["commitment"], records[0]["commitment"]
    with pytest.raises(InvalidProof):
        stark_por.verify(bytes(data))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(rounds, where, bit):
    data = bytearray(rounds["committed"].read_bytes())
    i = int(where * len(data))
    data[i] ^= 1 << bit
    with pytest.raises(InvalidProof):
        stark_por.verify(bytes(data))


def test_the_cli_writes_format_4_by_default_and_format_2_on_request(workload, tmp_path):
    from stark_por.workloads import ledger_file

    ledger = ledger_file("W3", 300, tmp_path)
    secret = tmp_path / "master.key"
    secret.write_bytes(SECRET)
    for flags, fmt in (((), 4), (("--public-batch-totals",), 2)):
        out = tmp_path / f"f{fmt}.stpor"
        run = subprocess.run([sys.executable, "-m", "stark_por.cli", "prove", str(ledger), "-o", str(out),
                              "--round-id", ROUND, "--secret-file", str(secret), *flags],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        assert f"format {fmt}" in run.stdout
        assert stark_por.verify(out).format_version == fmt
        check = subprocess.run([sys.executable, "-m", "stark_por.cli", "verify", str(out)],
                               capture_output=True, text=True, timeout=600)
        assert check.returncode == 0 and "VALID" in check.stdout and f"format {fmt}" in check.stdout
    bad = subprocess.run([sys.executable, "-m", "stark_por.cli", "prove", str(ledger), "-o", str(tmp_path / "x"),
                          "--round-id", ROUND, "--secret-file", str(secret), "--statement-version", "1",
                          "--public-batch-totals"], capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "--public-batch-totals applies to statement versions 2 and 3" in bad.stderr
