"""Streamed, resumable, distributed rounds (issue 4) of statement version 1: `prove_file(version=1)`
and `stark-por prove --statement-version 1` (version 2: tests/test_prove_file_v2.py, which also
proves a round on Ray: the executor ships either version's native prover the same way).

A batch is at least 2^13 trace rows whatever its leaf count, so rounds here have few users
and small batches; the machinery is the one a million users go through."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por import LedgerError, ResumeMismatch, WorkFolderError, prove, prove_file, verify, verify_inclusion
from stark_por.cli import EXIT_INPUT, EXIT_OK, main as cli
from stark_por.inclusion import export, store_path
from stark_por.rounds import choose_batch_log2, work_folder
from stark_por.synthetic import generate, write_csv

SECRET = b"prove-file-secret-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ledger():
    return generate(100, num_assets=3, seed=11)  # N' = 128 leaves: 4 batches of 32


@pytest.fixture(scope="module")
def ledger_csv(ledger, tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "ledger.csv"
    write_csv(ledger, path)
    return path


@pytest.fixture(scope="module")
def in_memory(ledger):
    """The same round proved from the ledger in memory: what every streamed run must equal."""
    return prove(ledger, secret=SECRET, round_id="2026-11", batch_size=32, version=1).data


@pytest.fixture(scope="module")
def streamed(ledger_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("streamed") / "round.stpor"
    statement = prove_file(ledger_csv, out, secret=SECRET, version=1, round_id="2026-11", batch_size=32,
                           chunk_users=40)
    return out, statement


def test_a_streamed_round_is_the_in_memory_round_byte_for_byte(streamed, in_memory):
    out, statement = streamed
    assert out.read_bytes() == in_memory
    assert verify(out) == statement
    assert statement.num_leaves == 128 and statement.security_bits >= 100
    assert not work_folder(out).exists(), "the private work folder is removed once the round is written"
    summary = json.loads(Path(f"{out}.json").read_text())
    assert summary["root"] == statement.root


def test_every_user_is_included_for_both_verifiers(streamed, ledger):
    out, statement = streamed
    assert os.stat(store_path(out)).st_mode & 0o777 == 0o600
    for user in ledger.user_ids:
        proof = export(store_path(out), user)
        expected = verify_inclusion(proof, statement, user_id=user)
        assert verify_inclusion(proof, statement, user_id=user, pure=True) == expected


def test_a_round_of_one_batch_is_a_single_proof(ledger, ledger_csv, tmp_path):
    out = tmp_path / "single.stpor"
    statement = prove_file(ledger_csv, out, secret=SECRET, version=1, round_id="2026-11")
    single = prove(ledger, secret=SECRET, round_id="2026-11", version=1)
    assert verify(out) == verify(single)
    assert statement.root == single.statement.root


def test_an_id_repeated_far_away_is_refused_naming_both_lines(tmp_path):
    path = tmp_path / "dup.csv"
    write_csv(generate(120, num_assets=2, seed=5), path)
    lines = path.read_text().splitlines()
    first_id = lines[2].split(",")[0]
    lines[100] = first_id + "," + lines[100].split(",", 1)[1]  # line 101 repeats line 3's id
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LedgerError) as e:
        prove_file(path, tmp_path / "r.stpor", secret=SECRET, version=1, round_id="r", batch_size=32, chunk_users=16)
    assert e.value.row == 101 and "line 3" in str(e.value)
    assert not (tmp_path / "r.stpor").exists()


def test_a_bad_ledger_is_refused_naming_the_line_and_leaves_no_work_folder(tmp_path):
    path = tmp_path / "bad.csv"
    write_csv(generate(90, num_assets=2, seed=4), path)
    lines = path.read_text().splitlines()
    good = list(lines)
    uid = lines[80].split(",")[0]
    lines[80] = f"{uid},-1," + ",".join(lines[80].split(",")[2:])
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "r.stpor"
    with pytest.raises(LedgerError) as e:
        prove_file(path, out, secret=SECRET, version=1, round_id="r", batch_size=32, chunk_users=16)
    assert e.value.row == 81
    assert not work_folder(out).exists() and not out.exists()
    path.write_text("\n".join(good) + "\n")  # fixed: proving again needs no --resume
    assert prove_file(path, out, secret=SECRET, version=1, round_id="r", batch_size=32).num_leaves == 128


def _write_parquet(ledger, path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    dense = ledger.to_dense()
    cols = {"user_id": pa.array(list(ledger.user_ids), pa.string())}
    for j, a in enumerate(ledger.assets):
        cols[a.name] = pa.array(dense[:, j], pa.uint64())
    pq.write_table(pa.table(cols), path, row_group_size=50)


def test_a_parquet_ledger_streams_to_the_same_round(ledger, ledger_csv, tmp_path, in_memory):
    _write_parquet(ledger, tmp_path / "ledger.parquet")
    shutil.copy(ledger_csv.with_name("ledger.assets.csv"), tmp_path / "ledger.assets.csv")
    out = tmp_path / "pq.stpor"
    prove_file(tmp_path / "ledger.parquet", out, secret=SECRET, version=1, round_id="2026-11", batch_size=32,
               chunk_users=40)
    assert out.read_bytes() == in_memory


def test_a_parquet_id_repeated_far_away_is_refused_naming_both_rows(ledger, ledger_csv, tmp_path):
    from stark_por.ledger import Ledger

    ids = list(ledger.user_ids)
    ids[90] = ids[3]
    twin = Ledger._trusted(ids, ledger.assets, ledger.indptr, ledger.asset_index, ledger.amounts_lo,
                            ledger.amounts_hi, ledger.max_bits)
    _write_parquet(twin, tmp_path / "ledger.parquet")
    shutil.copy(ledger_csv.with_name("ledger.assets.csv"), tmp_path / "ledger.assets.csv")
    with pytest.raises(LedgerError) as e:
        prove_file(tmp_path / "ledger.parquet", tmp_path / "r.stpor", secret=SECRET, version=1, round_id="r",
                   batch_size=32)
    assert e.value.index == 90 and "row 3" in str(e.value)


def test_batch_size_follows_memory():
    assert choose_batch_log2(1 << 20, workers=2, memory=24 << 30) == 14
    assert choose_batch_log2(1 << 20, workers=2, memory=2 << 30) < 14
    assert choose_batch_log2(1 << 8, workers=2, memory=24 << 30) == 8


# -- kill -9 and resume ---------------------------------------------------------------------------


def _prove_cmd(ledger_csv: Path, out: Path, secret_file: Path, *extra: str) -> list:
    return [sys.executable, "-m", "stark_por.cli", "--log-format", "json", "prove", str(ledger_csv), "-o", str(out),
            "--round-id", "2026-11", "--secret-file", str(secret_file), "--statement-version", "1", "--batch-size", "32",
            *extra]


@pytest.fixture(scope="module")
def killed(ledger_csv, tmp_path_factory):
    """A `stark-por prove` killed with SIGKILL once two batches are finished: its work folder."""
    folder = tmp_path_factory.mktemp("killed")
    secret_file = folder / "secret"
    secret_file.write_bytes(SECRET)
    out = folder / "round.stpor"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_prove_cmd(ledger_csv, out, secret_file, "--workers", "1"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    batches = work_folder(out) / "batches"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if batches.is_dir() and len(list(batches.glob("batch-*.bin"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in batches.glob("batch-*.bin")}
    assert 2 <= len(finished) < 4
    assert not out.exists(), "no round file before every batch is proved"
    return out, secret_file, finished


def _copy_work(killed, tmp_path) -> tuple:
    out, secret_file, finished = killed
    mine = tmp_path / out.name
    shutil.copytree(work_folder(out), work_folder(mine))
    return mine, secret_file, finished


def test_a_killed_run_resumes_reusing_its_batches_and_ends_identical(killed, tmp_path, ledger_csv, in_memory):
    out, secret_file, finished = _copy_work(killed, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(_prove_cmd(ledger_csv, out, secret_file, "--resume", "--keep-work"), env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert any(e["event"] == "resume" for e in events)
    assert out.read_bytes() == in_memory, "the resumed round is the uninterrupted one"
    batches = work_folder(out) / "batches"
    for name, mtime in finished.items():
        assert (batches / name).stat().st_mtime_ns == mtime, f"{name} was proved again"


def test_a_damaged_batch_result_is_proved_again_never_used(killed, tmp_path, ledger_csv, in_memory):
    out, secret_file, finished = _copy_work(killed, tmp_path)
    batches = work_folder(out) / "batches"
    victim = batches / sorted(finished)[0]
    victim.write_bytes(victim.read_bytes()[:-100])  # as if a foreign tool had truncated it
    (batches / ".batch-000003.bin.x.tmp").write_bytes(b"half a write")  # a temp file is never a result
    stale_store = out.parent / f".{out.name}.db.x.tmp"
    stale_store.write_bytes(b"half a store")  # killed while writing the inclusion store
    statement = prove_file(ledger_csv, out, secret=SECRET, version=1, round_id="2026-11", batch_size=32, resume=True)
    assert out.read_bytes() == in_memory
    assert statement.num_leaves == 128
    assert not stale_store.exists()


def test_a_placement_cut_short_is_placed_again_and_finished_batches_still_count(killed, tmp_path, ledger_csv, in_memory):
    out, _, finished = _copy_work(killed, tmp_path)
    (work_folder(out) / "spill" / "layout.bin").unlink()  # as if killed while sorting the buckets
    prove_file(ledger_csv, out, secret=SECRET, version=1, round_id="2026-11", batch_size=32, resume=True, keep_work=True)
    assert out.read_bytes() == in_memory
    batches = work_folder(out) / "batches"
    for name, mtime in finished.items():
        assert (batches / name).stat().st_mtime_ns == mtime, f"{name} was proved again"


@pytest.mark.parametrize(
    "change, field",
    [
        (dict(secret=b"another-secret-0123456789abcdef!!"), "secret"),
        (dict(security="128"), "security"),
        (dict(batch_size=64), "batch size"),
        (dict(range_bits=50), "range bound"),
    ],
)
def test_resume_with_other_inputs_is_refused_naming_them(killed, tmp_path, ledger_csv, change, field):
    out, _, _ = _copy_work(killed, tmp_path)
    args = dict(secret=SECRET, version=1, round_id="2026-11", batch_size=32, resume=True) | change
    with pytest.raises(ResumeMismatch) as e:
        prove_file(ledger_csv, out, **args)
    assert e.value.fields == (field,)
    assert not out.exists()
    assert (work_folder(out) / "manifest.json").is_file(), "a refused resume loses nothing"


def test_resume_against_another_ledger_is_refused(killed, tmp_path, ledger_csv):
    out, _, _ = _copy_work(killed, tmp_path)
    other = tmp_path / "ledger.csv"
    shutil.copy(ledger_csv, other)
    shutil.copy(ledger_csv.with_name("ledger.assets.csv"), tmp_path / "ledger.assets.csv")
    with open(other, "a") as fh:
        fh.write("late-user,1,,\n")
    with pytest.raises(ResumeMismatch) as e:
        prove_file(other, out, secret=SECRET, version=1, round_id="2026-11", batch_size=32, resume=True)
    assert e.value.fields == ("ledger",)


def test_an_unfinished_round_is_not_overwritten_without_resume(killed, tmp_path, ledger_csv, capsys):
    out, secret_file, _ = _copy_work(killed, tmp_path)
    with pytest.raises(WorkFolderError, match="--resume"):
        prove_file(ledger_csv, out, secret=SECRET, version=1, round_id="2026-11", batch_size=32)
    code = cli(["prove", str(ledger_csv), "-o", str(out), "--round-id", "2026-12", "--secret-file",
                str(secret_file), "--statement-version", "1", "--batch-size", "32", "--resume"])
    assert code == EXIT_INPUT
    assert "different round id" in capsys.readouterr().err


def test_cli_names_an_unwritable_output_without_a_traceback(ledger_csv, tmp_path, capsys):
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    (tmp_path / "not-a-dir").write_text("a file where a folder should be")
    code = cli(["--quiet", "prove", str(ledger_csv), "-o", str(tmp_path / "not-a-dir" / "r.stpor"),
                "--round-id", "r", "--secret-file", str(secret_file)])
    assert code == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not-a-dir" in err and "Traceback" not in err


def test_cli_prove_streams_and_verifies(ledger_csv, tmp_path, in_memory, capsys):
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    out = tmp_path / "cli.stpor"
    code = cli(["--quiet", "prove", str(ledger_csv), "-o", str(out), "--round-id", "2026-11",
                "--secret-file", str(secret_file), "--statement-version", "1", "--batch-size", "2^5"])
    assert code == EXIT_OK
    assert out.read_bytes() == in_memory
    assert cli(["--quiet", "verify", str(out)]) == EXIT_OK


# -- placement, as a property ------------------------------------------------------------------------


def _placement(ledger, order, chunk, folder: Path) -> dict:
    """Streams the ledger's users in `order`, `chunk` at a time; returns user → (position, salt)."""
    import numpy as np

    from stark_por import _native

    assets = [(a.name, a.decimals) for a in ledger.assets]
    spill = _native.Spill(folder, SECRET, "2026-11", assets, 62)
    for lo in range(0, len(order), chunk):
        part = order[lo:lo + chunk]
        ids, indptr, asset_index, amounts = [], [0], [], []
        for u in part:
            a, b = int(ledger.indptr[u]), int(ledger.indptr[u + 1])
            ids.append(ledger.user_ids[u])
            asset_index.extend(ledger.asset_index[a:b])
            amounts.extend(ledger.amounts[a:b])
            indptr.append(len(amounts))
        spill.append(ids, np.array(indptr, np.uint64), np.array(asset_index, np.uint32), np.array(amounts, np.uint64))
    layout = spill.finish()
    placed = {}
    placement = _native.Placement(folder, SECRET, "2026-11", assets, 62)
    for b in range(_native.SPILL_BUCKETS):
        rows = placement.bucket_users(b)
        for i, user in enumerate(rows["user_ids"]):
            placed[user] = (int(rows["positions"][i]), rows["salts"][32 * i:32 * i + 32])
    assert len(placed) == layout["num_users"] == ledger.num_users
    return placed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 300), chunk=st.integers(1, 64), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_placement_ignores_chunking_and_row_order_and_fills_distinct_leaves(tmp_path, n, chunk, seed, data):
    ledger = generate(n, num_assets=3, seed=seed % 1000)
    order = data.draw(st.permutations(range(n)))
    run = tmp_path / f"run-{seed}-{chunk}"
    a = _placement(ledger, list(range(n)), n, run / "whole")
    b = _placement(ledger, order, chunk, run / "shuffled")
    assert a == b, "a user's leaf and salt depend only on the secret, the round and the id"
    positions = sorted(p for p, _ in a.values())
    leaves = max(2, 1 << (n - 1).bit_length())
    assert len(set(positions)) == n and positions[-1] < leaves
