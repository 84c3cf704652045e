"""prove() / verify() end to end: round trips, exact totals, tampering, malformed files, for both
statement versions (2, the default, and 1). Version 1's statement fields are forged through its
decoder (tests/proofbytes.py); version 2's are in rust/core/src/v2/tests.rs, and every byte of
both kinds of file is flipped here."""

from __future__ import annotations

import json
import struct
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por import (
    Asset,
    InsufficientSecurity,
    InvalidProof,
    Ledger,
    LedgerError,
    Proof,
    ProofFormatError,
    prove,
    verify,
)
from stark_por.synthetic import generate

from proofbytes import decode

SECRET = b"k" * 32
ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6))


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return generate(40, num_assets=6, seed=7)


@pytest.fixture(scope="module")
def proof(ledger) -> Proof:
    """A version-1 proof (its fields are forged through tests/proofbytes.py)."""
    return prove(ledger, secret=SECRET, round_id="2026-11", security="100", version=1)


@pytest.fixture(scope="module")
def proof_v2(ledger) -> Proof:
    return prove(ledger, secret=SECRET, round_id="2026-11", security="100")


@pytest.fixture(params=[1, 2], ids=["v1", "v2"])
def any_proof(request) -> Proof:
    return request.getfixturevalue("proof" if request.param == 1 else "proof_v2")


# -- round trips ----------------------------------------------------------------------------


def test_version_2_is_the_default(proof, proof_v2):
    # statement version 2 with committed forest totals is file format 4
    assert proof_v2.to_bytes()[8:10] == b"\x04\x00" and proof.to_bytes()[8:10] == b"\x01\x00"
    assert (proof_v2.statement.format_version, proof_v2.statement.committed) == (4, True)
    assert (proof_v2.statement.statement_version, proof.statement.statement_version) == (2, 1)
    assert (proof_v2.statement.range_bits, proof.statement.range_bits) == (112, 62)
    # version 2 reports its forests and how many of their rows do work
    assert proof_v2.forests[0][0] == 0 and proof_v2.forests[-1][1] == 64
    used, rows = proof_v2.working_rows
    assert 0 < used <= rows == proof_v2.trace_shape[0] and proof.forests is None


def test_round_trip_totals_are_exact(ledger, any_proof):
    statement = verify(any_proof)
    version = any_proof.statement.statement_version
    assert statement.statement_version == version and statement.verified
    assert statement.totals == {a.name: t for a, t in zip(ledger.assets, ledger.totals())}
    assert statement.round_id == "2026-11"
    assert statement.num_leaves == 64
    assert statement.security_bits >= 100
    assert 0 < statement.proven_security_bits <= statement.security_bits
    assert statement.range_bits == {1: 62, 2: 112}[version]
    assert len(statement.root) == 64 and int(statement.root, 16) >= 0
    for a in ledger.assets:
        assert statement.totals_decimal[a.name] == Decimal(statement.totals[a.name]).scaleb(-a.decimals)


def test_the_two_versions_fingerprint_differently(proof, proof_v2):
    import dataclasses

    s1, s2 = verify(proof), verify(proof_v2)
    assert s1.fingerprint != s2.fingerprint
    # the same fields under the other version give another fingerprint: the version is bound
    narrow = dataclasses.replace(s2, range_bits=62)
    assert dataclasses.replace(narrow, statement_version=1).fingerprint != narrow.fingerprint
    # and each version's domain is its own: 112 bits is no version-1 bound
    with pytest.raises(ValueError, match="range bound"):
        dataclasses.replace(s2, statement_version=1).fingerprint


def test_verify_accepts_bytes_paths_and_proof_objects(any_proof, tmp_path):
    proof = any_proof
    path = proof.save(tmp_path / "r.stpor")
    assert verify(path) == verify(proof.to_bytes()) == verify(proof) == verify(str(path))
    assert Proof.load(path).to_bytes() == proof.to_bytes()
    assert Proof.from_bytes(proof.to_bytes()).statement == proof.statement


def test_save_writes_a_json_summary_beside_the_proof(any_proof, tmp_path):
    proof = any_proof
    path = proof.save(tmp_path / "round.stpor")
    summary = json.loads(path.with_name("round.stpor.json").read_text())
    assert summary["statement_version"] == proof.statement.statement_version
    assert summary["fingerprint"] == proof.statement.fingerprint
    assert summary["root"] == proof.statement.root
    assert summary["num_leaves"] == 64
    assert [a["asset"] for a in summary["assets"]] == [a.name for a in proof.statement.assets]
    assert [int(a["total_units"]) for a in summary["assets"]] == list(proof.statement.totals.values())
    assert not list(tmp_path.glob(".*tmp")), "no temporary file is left behind"


def test_proofs_are_deterministic_for_the_same_secret(ledger, any_proof):
    again = prove(ledger, secret=SECRET, round_id="2026-11", version=any_proof.statement.statement_version)
    assert again.to_bytes() == any_proof.to_bytes()


def test_salts_and_root_change_every_round(ledger, any_proof):
    other = prove(ledger, secret=SECRET, round_id="2026-12", version=any_proof.statement.statement_version)
    assert other.statement.root != any_proof.statement.root
    assert other.statement.totals == any_proof.statement.totals


@settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    balances=st.lists(
        st.lists(st.integers(min_value=0, max_value=2**62 - 1), min_size=3, max_size=3),
        min_size=1,
        max_size=9,
    )
)
def test_random_ledgers_round_trip(balances):
    ids = [f"u{i}" for i in range(len(balances))]
    ledger = Ledger.from_arrays(ids, ASSETS, np.array(balances, dtype=np.uint64))
    statement = verify(prove(ledger, secret=SECRET, round_id="r", version=1))
    assert [statement.totals[a.name] for a in ASSETS] == [sum(col) for col in zip(*balances)]


def test_balances_at_the_bound_sum_beyond_2_64():
    n = 20
    balances = np.full((n, 3), 2**62 - 1, dtype=np.uint64)
    ledger = Ledger.from_arrays([f"whale{i}" for i in range(n)], ASSETS, balances)
    statement = verify(prove(ledger, secret=SECRET, round_id="r", version=1))
    assert statement.totals["BTC"] == n * (2**62 - 1) > 2**64


def test_version_1_refuses_what_it_cannot_prove_and_names_it():
    ledger = Ledger.from_arrays(["a", "b"], ASSETS, [[1, 2, 3], [4, 2**62, 6]])
    with pytest.raises(LedgerError, match="version=2") as e:
        prove(ledger, secret=SECRET, round_id="r", version=1)
    assert (e.value.index, e.value.column, e.value.value) == (1, "ETH", str(2**62))
    wide = Ledger.from_arrays(["a"], ASSETS, [[2**100, 0, 0]])
    with pytest.raises(LedgerError, match="version=2") as e:
        prove(wide, secret=SECRET, round_id="r", version=1, range_bits=63)
    assert (e.value.index, e.value.column, e.value.value) == (0, "BTC", str(2**100))
    with pytest.raises(ValueError, match="32 to 63"):
        prove(ledger, secret=SECRET, round_id="r", version=1, range_bits=64)
    for bad in (0, 3, True, "2"):
        with pytest.raises(ValueError, match="version"):
            prove(ledger, secret=SECRET, round_id="r", version=bad)
    with pytest.raises(ValueError, match="batch_size"):
        prove(ledger, secret=SECRET, round_id="r", batch_size=2)
    with pytest.raises(ValueError, match="trace_log2"):
        prove(ledger, secret=SECRET, round_id="r", version=1, trace_log2=16)


# -- public inputs are bound ----------------------------------------------------------------


def forged(proof: Proof, **changes) -> bytes:
    d = decode(proof.to_bytes())
    for k, v in changes.items():
        setattr(d, k, v(getattr(d, k)) if callable(v) else v)
    return d.encode()


def test_decoder_round_trips(proof):
    assert decode(proof.to_bytes()).encode() == proof.to_bytes()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"totals": lambda t: [(t[0][0] + 1, *t[0][1:])] + t[1:]}, id="total+1"),
        pytest.param({"totals": lambda t: [(t[0][0] - 1, *t[0][1:])] + t[1:]}, id="total-1"),
        pytest.param({"totals": lambda t: t[:-1] + [(t[-1][0], t[-1][1], t[-1][2] + 1)]}, id="total-top-part"),
        pytest.param(
            {"totals": lambda t: [(t[0][0] + 2**24, t[0][1] - 1, t[0][2]) if t[0][1] else (t[0][0], t[0][1] + 2**24, t[0][2] - 1)] + t[1:]},
            id="total-moved-between-parts",
        ),
        pytest.param({"root": lambda r: bytes([r[0] ^ 1]) + r[1:]}, id="root"),
        pytest.param({"round_id": "2026-12"}, id="round-id"),
        pytest.param({"assets": lambda a: [("XBT", a[0][1])] + a[1:]}, id="asset-renamed"),
        pytest.param({"assets": lambda a: [(a[0][0], a[0][1] - 1)] + a[1:]}, id="asset-decimals"),
        pytest.param({"assets": lambda a: a[1:2] + a[0:1] + a[2:]}, id="assets-swapped"),
        pytest.param({"num_leaves": lambda n: n * 2}, id="leaf-count"),
        pytest.param({"range_bits": 61}, id="range-bound"),
    ],
)
def test_changed_public_input_is_rejected(proof, change):
    data = forged(proof, **change)
    with pytest.raises(InvalidProof):
        verify(data)


def test_dropping_an_asset_is_rejected(proof):
    data = forged(proof, assets=lambda a: a[:-1], totals=lambda t: t[:-1])
    with pytest.raises(InvalidProof):
        verify(data)


# -- malformed files ----------------------------------------------------------------------


def test_truncated_file_is_rejected_at_every_length(any_proof):
    data = any_proof.to_bytes()
    for cut in list(range(0, 64)) + list(range(64, len(data), max(1, len(data) // 200))):
        with pytest.raises(ProofFormatError):
            verify(data[:cut])


def test_trailing_bytes_are_rejected(any_proof):
    with pytest.raises(ProofFormatError, match="trailing"):
        verify(any_proof.to_bytes() + b"\0")


def test_unknown_version_is_rejected(any_proof):
    # format versions 1 to 5 exist (3 and 5 margin, 4 and 5 committed totals): 6 does not
    data = bytearray(any_proof.to_bytes())
    data[8:10] = struct.pack("<H", 6)
    for read in (verify, Proof.from_bytes):
        with pytest.raises(ProofFormatError, match="version") as e:
            read(bytes(data))
        assert e.value.offset == 8


def test_a_file_of_one_version_is_not_read_as_the_other(proof, proof_v2):
    for p, other in ((proof, 2), (proof_v2, 1)):
        data = bytearray(p.to_bytes())
        data[8:10] = struct.pack("<H", other)
        with pytest.raises(ProofFormatError):
            verify(bytes(data))


def test_not_a_proof_file(tmp_path):
    with pytest.raises(ProofFormatError, match="magic"):
        verify(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(ProofFormatError):
        verify(tmp_path / "missing.stpor")
    with pytest.raises(ProofFormatError):
        Proof.from_bytes(b"")


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_flipped_byte_is_rejected(any_proof, data):
    raw = bytearray(any_proof.to_bytes())
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="position")
    bit = data.draw(st.integers(min_value=0, max_value=7), label="bit")
    raw[position] ^= 1 << bit
    with pytest.raises(InvalidProof):
        verify(bytes(raw))


def test_flips_in_every_region_are_rejected(any_proof):
    """Deterministic companion of the property test: header, statement and proof regions."""
    raw = any_proof.to_bytes()
    step = max(1, len(raw) // 400)
    for position in list(range(0, 200)) + list(range(200, len(raw), step)):
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        with pytest.raises(InvalidProof):
            verify(bytes(flipped))


# -- the verifier's own bar ---------------------------------------------------------------


def test_verifier_minimum_is_its_own(any_proof):
    proof = any_proof
    with pytest.raises(InsufficientSecurity) as e:
        verify(proof, min_security=120)
    assert e.value.required == 120 and e.value.actual < 120
    with pytest.raises(ValueError):
        verify(proof, min_security=80)


@pytest.mark.parametrize("version", [1, 2])
def test_128_preset_meets_128_bits(version):
    ledger = Ledger.from_arrays(["a", "b"], ASSETS, np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint64))
    p = prove(ledger, secret=SECRET, round_id="r", security="128", version=version)
    assert verify(p, min_security=128).security_bits >= 128


# -- inputs refused before proving --------------------------------------------------------


def test_short_secret_is_refused(ledger):
    with pytest.raises(ValueError, match="secret"):
        prove(ledger, secret=b"short", round_id="r")


@pytest.mark.parametrize("round_id", ["", "a\nb", "x" * 300])
def test_bad_round_id_is_refused(ledger, round_id):
    with pytest.raises(ValueError, match="round id"):
        prove(ledger, secret=SECRET, round_id=round_id)


def test_unknown_security_preset_is_refused(ledger):
    with pytest.raises(ValueError, match="security"):
        prove(ledger, secret=SECRET, round_id="r", security="80")


def test_balance_beyond_the_bound_is_refused_naming_the_row():
    balances = [[1, 2, 3], [4, 2**112, 6]]
    with pytest.raises(LedgerError) as e:
        Ledger.from_arrays(["a", "b"], ASSETS, balances)
    assert e.value.index == 1 and e.value.column == "ETH" and e.value.value == str(2**112)


def test_no_panic_reaches_python(proof):
    """Garbage in every field of the winterfell proof region gives InvalidProof, nothing else."""
    d = decode(proof.to_bytes())
    rng = np.random.default_rng(1)
    for _ in range(30):
        junk = bytearray(d.proof)
        idx = rng.integers(0, len(junk), size=8)
        for i in idx:
            junk[i] = int(rng.integers(0, 256))
        d2 = decode(proof.to_bytes())
        d2.proof = bytes(junk)
        try:
            verify(d2.encode())
        except InvalidProof:
            pass
        else:  # pragma: no cover - would be a soundness bug
            pytest.fail("a corrupted proof verified")


def test_totals_decimal_is_exact_for_any_total():
    from stark_por import Statement

    total = 2**95 + 12345  # 29 digits: more than Decimal's default 28-digit context
    s = Statement(round_id="r", assets=(Asset("SHIB", 18),), totals={"SHIB": total}, root="00" * 32,
                  num_leaves=2, range_bits=62)
    sign, digits, exponent = s.totals_decimal["SHIB"].as_tuple()
    assert (sign, exponent) == (0, -18)
    assert int("".join(map(str, digits))) == total


def test_saved_files_are_readable_by_others(proof, tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = proof.save(tmp_path / "public.stpor")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
