"""Rounds proved in batches (issue 4, first part): one round file that verifies as one
statement, whose root is the Merkle root of all leaves, so inclusion proofs and both
verifiers work unchanged. Each batch proof is at least 2^13 rows: rounds here are small."""

from __future__ import annotations

import json
import struct

import pytest

from stark_por import InvalidProof, PublishedSummary, prove, verify, verify_inclusion
from stark_por.proof import summary_path
from stark_por.cli import EXIT_INVALID, EXIT_OK, main as cli
from stark_por.errors import ProofFormatError
from stark_por.inclusion import export, store_path
from stark_por.synthetic import generate, write_csv

SECRET = b"rounds-test-secret-0123456789abc"
KIND_OFFSET = 10  # magic (8) + version (2)


@pytest.fixture(scope="module")
def ledger():
    return generate(40, num_assets=4, seed=3)  # N' = 64 leaves


@pytest.fixture(scope="module")
def rounds(ledger, tmp_path_factory):
    """The ledger proved in 4 batches of 16 leaves, and as one proof; both saved with stores."""
    folder = tmp_path_factory.mktemp("rounds")
    batched = prove(ledger, secret=SECRET, round_id="2026-11", batch_size=16, version=1)
    single = prove(ledger, secret=SECRET, round_id="2026-11", version=1)
    return (
        batched.save(folder / "batched.stpor"),
        single.save(folder / "single.stpor"),
        batched,
        single,
    )


def test_batched_round_is_one_file_and_one_statement(rounds, ledger):
    path, _, batched, single = rounds
    data = path.read_bytes()
    assert data[KIND_OFFSET] == 2 and single.data[KIND_OFFSET] == 1
    st = verify(path)
    assert st.num_leaves == 64
    assert st.security_bits >= 100
    # same leaves, same order: the round root and totals are the single proof's
    single_st = verify(single)
    assert (st.root, st.totals, st.num_leaves) == (single_st.root, single_st.totals, single_st.num_leaves)
    for k, a in enumerate(ledger.assets):
        assert st.totals[a.name] == sum(int(x) for x in ledger.amounts[ledger.asset_index == k])
    # the unverified statement read from the file is the verified one (bar the security)
    assert batched.statement.root == st.root and batched.statement.totals == st.totals


def test_inclusion_through_the_batch_root_both_verifiers(rounds, ledger):
    path, _, _, _ = rounds
    st = verify(path)
    for user in list(ledger.user_ids)[::7]:
        proof = export(store_path(path), user)
        assert len(json.loads(proof.to_json())["path"]) == 6  # 4 inside the batch, 2 in the top tree
        summary = PublishedSummary.load(summary_path(path))
        for pure in (False, True):
            verify_inclusion(proof, st, user_id=user, pure=pure)
            verify_inclusion(proof, summary, user_id=user, fingerprint=st.fingerprint, pure=pure)


def test_inclusion_proofs_equal_the_single_proofs(rounds, ledger):
    batched_path, single_path, _, _ = rounds
    user = ledger.user_ids[5]
    assert export(store_path(batched_path), user).to_json() == export(store_path(single_path), user).to_json()


def test_tampered_round_files_are_rejected(rounds):
    path, _, _, _ = rounds
    data = bytearray(path.read_bytes())
    # the round root sits after the header, statement length, round id, range bound and N'
    (rid_len,) = struct.unpack_from("<H", data, 15)
    root_at = 15 + 2 + rid_len + 1 + 8
    bad = bytearray(data)
    bad[root_at] ^= 1
    with pytest.raises(InvalidProof):
        verify(bytes(bad))
    with pytest.raises(ProofFormatError):
        verify(bytes(data[:-1]))
    with pytest.raises(ProofFormatError):
        verify(bytes(data) + b"\0")
    bad = bytearray(data)
    bad[-100] ^= 0xFF  # inside the last batch's proof
    with pytest.raises(InvalidProof):
        verify(bytes(bad))


def test_batch_size_arguments(ledger):
    for bad in (0, 1, 3, 24, 2**40):
        with pytest.raises(ValueError):
            prove(ledger, secret=SECRET, round_id="r", batch_size=bad)
    for bad in (16.0, "16", True):
        with pytest.raises(TypeError):
            prove(ledger, secret=SECRET, round_id="r", batch_size=bad)


def test_a_round_that_fits_one_batch_is_a_single_proof(ledger):
    proof = prove(ledger, secret=SECRET, round_id="2026-11", batch_size=64, version=1)
    assert proof.data[KIND_OFFSET] == 1
    assert verify(proof).num_leaves == 64


def test_cli_prove_in_batches(tmp_path, capsys):
    led = generate(20, num_assets=2, seed=9)  # N' = 32: two batches of 16
    write_csv(led, tmp_path / "ledger.csv")
    (tmp_path / "master.key").write_bytes(b"k" * 32)
    base = ["-q", "prove", str(tmp_path / "ledger.csv"), "-o", str(tmp_path / "r.stpor"), "--round-id", "2026-11",
            "--secret-file", str(tmp_path / "master.key"), "--statement-version", "1"]
    for bad in ("3", "2^0", "3^4", "x", "2^99"):
        with pytest.raises(SystemExit) as e:
            cli([*base, "--batch-size", bad])
        assert e.value.code == 2
    assert not (tmp_path / "r.stpor").exists()
    assert cli([*base, "--batch-size", "2^4"]) == EXIT_OK
    assert (tmp_path / "r.stpor").read_bytes()[KIND_OFFSET] == 2
    assert cli(["verify", str(tmp_path / "r.stpor")]) == EXIT_OK
    assert "VALID" in capsys.readouterr().out
    bad = bytearray((tmp_path / "r.stpor").read_bytes())
    bad[-50] ^= 0xFF
    (tmp_path / "bad.stpor").write_bytes(bytes(bad))
    assert cli(["verify", str(tmp_path / "bad.stpor")]) == EXIT_INVALID


def split_round(data: bytes, num_assets: int):
    """(prefix up to the batch count, batch_log2, [batch bytes]) of a round file (kind 2), read
    independently from the layout documented in rust/core/src/round.rs."""
    (st_len,) = struct.unpack_from("<I", data, 11)
    at = 15 + st_len
    batch_log2, count = struct.unpack_from("<BI", data, at)
    prefix, at = data[:at], at + 5
    batches = []
    for _ in range(count):
        (proof_len,) = struct.unpack_from("<I", data, at + 32 + 24 * num_assets)
        end = at + 32 + 24 * num_assets + 4 + proof_len
        batches.append(data[at:end])
        at = end
    assert at == len(data)
    return prefix, batch_log2, batches


def join_round(prefix: bytes, batch_log2: int, batches) -> bytes:
    return prefix + struct.pack("<BI", batch_log2, len(batches)) + b"".join(batches)


def test_batches_missing_duplicated_or_swapped_are_rejected(rounds, ledger):
    path, _, _, _ = rounds
    data = path.read_bytes()
    prefix, k, batches = split_round(data, ledger.num_assets)
    assert (k, len(batches)) == (4, 4)
    assert join_round(prefix, k, batches) == data
    verify(join_round(prefix, k, batches))
    for forged in (
        [batches[0], batches[2], batches[1], batches[3]],  # swapped
        [batches[0], batches[0], batches[2], batches[3]],  # duplicated
        [batches[1], batches[0], batches[3], batches[2]],  # pairs swapped
    ):
        with pytest.raises(InvalidProof):
            verify(join_round(prefix, k, forged))
    with pytest.raises(ProofFormatError):  # missing: 3 batches cannot make 64 leaves
        verify(join_round(prefix, k, batches[:3]))
    # missing two, with N' lowered to match: the round root and the batch binding disagree
    (rid_len,) = struct.unpack_from("<H", prefix, 15)
    n_at = 15 + 2 + rid_len + 1
    shorter = bytearray(prefix)
    struct.pack_into("<Q", shorter, n_at, 32)
    with pytest.raises(InvalidProof):
        verify(join_round(bytes(shorter), k, batches[:2]))
