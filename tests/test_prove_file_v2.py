"""Streamed, resumable, distributed rounds of statement version 2 (issue 10): `prove_file` and
`stark-por prove` prove forests of the round tree, amounts up to 2^112.

Forests fill traces of at least 2^14 rows (about 5,000 W3 leaves), so the rounds here have
12,000 W3 users (4 forests of 2^14 rows): the machinery a million users go through, at the
smallest trace size."""

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

from stark_por import Ledger, LedgerError, ResumeMismatch, WorkFolderError, prove, prove_file, verify, verify_inclusion
from stark_por.cli import EXIT_INPUT, EXIT_OK, main as cli
from stark_por.inclusion import export, store_path
from stark_por.ledger import Asset
from stark_por.rounds import choose_trace_log2, work_folder
from stark_por.synthetic import write_csv
from stark_por.workloads import W3, write_workload

SECRET = b"prove-file-v2-secret-0123456789abcdef"
ROUND = "2026-12"
ROOT = Path(__file__).resolve().parents[1]
USERS = 12_000


@pytest.fixture(scope="module")
def workload():
    return W3(USERS, seed=7)


@pytest.fixture(scope="module")
def ledger_csv(workload, tmp_path_factory):
    return write_workload(workload, tmp_path_factory.mktemp("w3"), ("csv",))["csv"]


@pytest.fixture(scope="module")
def in_memory_proof(workload):
    """The same round proved from the ledger in memory: what every streamed run must equal."""
    proof = prove(workload.to_ledger(112), secret=SECRET, round_id=ROUND, trace_log2=14)
    assert len(proof.forests) >= 3, proof.forests
    return proof


@pytest.fixture(scope="module")
def in_memory(in_memory_proof):
    return in_memory_proof.data


@pytest.fixture(scope="module")
def streamed(ledger_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("streamed") / "round.stpor"
    statement = prove_file(ledger_csv, out, secret=SECRET, round_id=ROUND, trace_log2=14, chunk_users=2500)
    return out, statement


def test_a_streamed_round_is_the_in_memory_round_byte_for_byte(streamed, in_memory, workload):
    out, statement = streamed
    assert out.read_bytes() == in_memory
    assert verify(out) == statement
    assert statement.statement_version == 2 and statement.range_bits == 112
    assert statement.num_leaves == 16384 and statement.security_bits >= 100
    assert [statement.totals[a.name] for a in workload.assets] == workload.totals()
    assert not work_folder(out).exists(), "the private work folder is removed once the round is written"
    summary = json.loads(Path(f"{out}.json").read_text())
    assert summary["root"] == statement.root and summary["statement_version"] == 2


def test_users_are_included_for_both_verifiers(streamed, workload):
    out, statement = streamed
    assert os.stat(store_path(out)).st_mode & 0o777 == 0o600
    richest = sorted(range(USERS), key=lambda u: -float(workload.usd[u]))[:20]
    for u in richest + list(range(0, USERS, 997)):
        user = workload.user_ids[u]
        proof = export(store_path(out), user)
        assert proof.version == 2
        assert [(e.index - 1, e.units) for e in proof.entries] == workload.entries(u)
        expected = verify_inclusion(proof, statement, user_id=user)
        assert verify_inclusion(proof, statement, user_id=user, pure=True) == expected


def test_trace_size_follows_memory():
    assert choose_trace_log2(workers=2, memory=24 << 30) == 16
    assert choose_trace_log2(workers=2, memory=4 << 30) < 16
    assert choose_trace_log2(workers=8, memory=1 << 30) == 14, "never below 2^14 rows"


def test_sizes_of_the_other_version_are_refused(ledger_csv, tmp_path):
    with pytest.raises(ValueError, match="batch_size is version 1's"):
        prove_file(ledger_csv, tmp_path / "r.stpor", secret=SECRET, round_id=ROUND, batch_size=1024)
    with pytest.raises(ValueError, match="trace_log2 is version 2's"):
        prove_file(ledger_csv, tmp_path / "r.stpor", secret=SECRET, round_id=ROUND, version=1, trace_log2=14)
    with pytest.raises(ValueError, match="trace_log2 must be 14 to 28"):
        prove_file(ledger_csv, tmp_path / "r.stpor", secret=SECRET, round_id=ROUND, trace_log2=13)
    assert not work_folder(tmp_path / "r.stpor").exists()


# -- wide amounts through the CLI ------------------------------------------------------------------

MAX = 2**112 - 1


@pytest.fixture(scope="module")
def whales(tmp_path_factory):
    """A ledger of 18-decimal whales and dust: 5 ETH (refused by version 1), amounts just below
    the bound, a user holding every asset at the maximum, one wei."""
    assets = [Asset("BTC", 8), Asset("ETH", 18), Asset("SHIB", 18), Asset("USDT", 6)]
    special = [1, 5 * 10**18, 2**62, 2**64 + 1, 10**30 + 7, MAX - 1, MAX]
    ids, indptr, asset_index, amounts = [], [0], [], []
    for u in range(60):
        held = range(4) if u == 13 else [k for k in range(4) if (u + k) % 3]
        for k in held:
            asset_index.append(k)
            amounts.append(MAX if u == 13 else special[(u + k) % len(special)])
        ids.append(f"whale-{u:03d}")
        indptr.append(len(amounts))
    ledger = Ledger.from_entries(ids, assets, indptr, asset_index, amounts, max_bits=112)
    path = tmp_path_factory.mktemp("whales") / "ledger.csv"
    write_csv(ledger, path)
    return ledger, path


def test_whales_prove_and_verify_with_exact_totals_through_the_cli(whales, tmp_path, capsys):
    ledger, path = whales
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    out = tmp_path / "whales.stpor"
    code = cli(["--quiet", "prove", str(path), "-o", str(out), "--round-id", ROUND, "--secret-file", str(secret_file)])
    assert code == EXIT_OK, capsys.readouterr().err
    assert cli(["--quiet", "verify", str(out)]) == EXIT_OK
    statement = verify(out)
    assert statement.statement_version == 2
    assert [statement.totals[a.name] for a in ledger.assets] == ledger.totals()
    assert max(ledger.totals()) > 2**113, "the totals exceed the bound of a single amount"
    assert out.read_bytes() == prove(ledger, secret=SECRET, round_id=ROUND).data
    for u in (13, 5, 6):
        user = ledger.user_ids[u]
        proof = export(store_path(out), user)
        held = range(ledger.indptr[u], ledger.indptr[u + 1])
        assert [e.units for e in proof.entries] == [ledger.amount(e) for e in held]
        verify_inclusion(proof, statement, user_id=user)
        verify_inclusion(proof, statement, user_id=user, pure=True)


def test_version_1_refuses_the_whales_naming_line_and_column(whales, tmp_path, capsys):
    _, path = whales
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    out = tmp_path / "v1.stpor"
    code = cli(["--quiet", "prove", str(path), "-o", str(out), "--round-id", ROUND, "--secret-file", str(secret_file),
                "--statement-version", "1"])
    assert code == EXIT_INPUT
    err = capsys.readouterr().err
    assert "line 2" in err and "ETH" in err, err  # whale-000 holds 5 ETH: not below 2^62 wei
    assert not out.exists() and not work_folder(out).exists()


def test_the_cli_refuses_sizes_of_the_other_version(whales, tmp_path, capsys):
    _, path = whales
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    base = ["--quiet", "prove", str(path), "-o", str(tmp_path / "r.stpor"), "--round-id", ROUND,
            "--secret-file", str(secret_file)]
    assert cli(base + ["--batch-size", "2^10"]) == EXIT_INPUT
    assert "--statement-version 1" in capsys.readouterr().err
    assert cli(base + ["--statement-version", "1", "--trace-size", "2^16"]) == EXIT_INPUT
    assert "--statement-version 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(base + ["--trace-size", "2^13"])


# -- kill -9 and resume ---------------------------------------------------------------------------


def _prove_cmd(ledger_csv: Path, out: Path, secret_file: Path, *extra: str) -> list:
    return [sys.executable, "-m", "stark_por.cli", "--log-format", "json", "prove", str(ledger_csv), "-o", str(out),
            "--round-id", ROUND, "--secret-file", str(secret_file), "--trace-size", "2^14", *extra]


@pytest.fixture(scope="module")
def killed(ledger_csv, tmp_path_factory):
    """A `stark-por prove` killed with SIGKILL once a forest is finished: its work folder."""
    folder = tmp_path_factory.mktemp("killed")
    secret_file = folder / "secret"
    secret_file.write_bytes(SECRET)
    out = folder / "round.stpor"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_prove_cmd(ledger_csv, out, secret_file, "--workers", "1"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    forests = work_folder(out) / "forests"
    deadline = time.monotonic() + 300
    modes = {}
    while time.monotonic() < deadline and proc.poll() is None:
        if forests.is_dir() and any(forests.glob("forest-*.bin")):
            # private while it runs: the folder holds ids and balances
            modes = {p.name: p.stat().st_mode & 0o777 for p in (work_folder(out), work_folder(out) / "spill", forests)}
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert modes and set(modes.values()) == {0o700}, modes
    finished = {p.name: p.stat().st_mtime_ns for p in forests.glob("forest-*.bin")}
    assert 1 <= len(finished) < 4
    assert not out.exists(), "no round file before every forest is proved"
    return out, secret_file, finished


def _copy_work(killed, tmp_path) -> tuple:
    out, secret_file, finished = killed
    mine = tmp_path / out.name
    shutil.copytree(work_folder(out), work_folder(mine))
    return mine, secret_file, finished


def test_a_killed_run_resumes_reusing_its_forests_and_ends_identical(killed, tmp_path, ledger_csv, in_memory,
                                                                    in_memory_proof):
    out, secret_file, finished = _copy_work(killed, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(_prove_cmd(ledger_csv, out, secret_file, "--resume", "--keep-work"), env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert any(e["event"] == "resume" for e in events)
    working = [e for e in events if e["event"] == "working_rows"]
    assert [(e["used"], e["total"]) for e in working] == [in_memory_proof.working_rows]
    assert out.read_bytes() == in_memory, "the resumed round is the uninterrupted one"
    forests = work_folder(out) / "forests"
    for name, mtime in finished.items():
        assert (forests / name).stat().st_mtime_ns == mtime, f"{name} was proved again"


def test_a_damaged_forest_result_is_proved_again_never_used(killed, tmp_path, ledger_csv, in_memory):
    out, _, finished = _copy_work(killed, tmp_path)
    forests = work_folder(out) / "forests"
    victim = forests / sorted(finished)[0]
    victim.write_bytes(victim.read_bytes()[:-100])  # as if a foreign tool had truncated it
    (forests / ".forest-000002.bin.x.tmp").write_bytes(b"half a write")  # a temp file is never a result
    stale_store = out.parent / f".{out.name}.db.x.tmp"
    stale_store.write_bytes(b"half a store")  # killed while writing the inclusion store
    statement = prove_file(ledger_csv, out, secret=SECRET, round_id=ROUND, trace_log2=14, resume=True)
    assert out.read_bytes() == in_memory
    assert statement.num_leaves == 16384
    assert not stale_store.exists()


def test_a_placement_cut_short_is_placed_again_and_finished_forests_still_count(killed, tmp_path, ledger_csv,
                                                                                in_memory):
    out, _, finished = _copy_work(killed, tmp_path)
    (work_folder(out) / "spill" / "layout.bin").unlink()  # as if killed while sorting the buckets
    prove_file(ledger_csv, out, secret=SECRET, round_id=ROUND, trace_log2=14, resume=True, keep_work=True)
    assert out.read_bytes() == in_memory
    forests = work_folder(out) / "forests"
    for name, mtime in finished.items():
        assert (forests / name).stat().st_mtime_ns == mtime, f"{name} was proved again"


def test_a_placement_made_again_keeps_the_trace_size_chosen_before(killed, tmp_path, ledger_csv, in_memory):
    out, _, finished = _copy_work(killed, tmp_path)
    folder = work_folder(out)
    # as if the killed run had chosen 2^14 itself (no size asked), then been killed while sorting
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["inputs"]["trace_size"] = None
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "spill" / "layout.bin").unlink()
    prove_file(ledger_csv, out, secret=SECRET, round_id=ROUND, resume=True, keep_work=True)
    assert out.read_bytes() == in_memory, "the resumed round keeps 2^14-row forests"
    for name, mtime in finished.items():
        assert (folder / "forests" / name).stat().st_mtime_ns == mtime, f"{name} was proved again"


@pytest.mark.parametrize(
    "change, field",
    [
        (dict(secret=b"another-secret-0123456789abcdef!!"), "secret"),
        (dict(security="128"), "security"),
        (dict(trace_log2=15), "trace size"),
        (dict(range_bits=100), "range bound"),
        (dict(version=1, trace_log2=None), "statement version"),
    ],
)
def test_resume_with_other_inputs_is_refused_naming_them(killed, tmp_path, ledger_csv, change, field):
    out, _, _ = _copy_work(killed, tmp_path)
    args = dict(secret=SECRET, round_id=ROUND, trace_log2=14, resume=True) | change
    with pytest.raises(ResumeMismatch) as e:
        prove_file(ledger_csv, out, **args)
    assert field in e.value.fields
    assert e.value.fields == (field,) or field == "statement version"
    assert not out.exists()
    assert (work_folder(out) / "manifest.json").is_file(), "a refused resume loses nothing"


def test_resume_against_another_ledger_is_refused(killed, tmp_path, ledger_csv):
    out, _, _ = _copy_work(killed, tmp_path)
    other = tmp_path / "ledger.csv"
    shutil.copy(ledger_csv, other)
    shutil.copy(ledger_csv.with_name("assets.csv"), tmp_path / "assets.csv")
    with open(other, "a") as fh:
        fh.write("late-user,1" + "," * (other.read_text().splitlines()[0].count(",") - 1) + "\n")
    with pytest.raises(ResumeMismatch) as e:
        prove_file(other, out, secret=SECRET, round_id=ROUND, trace_log2=14, resume=True)
    assert e.value.fields == ("ledger",)


def test_an_unfinished_round_is_not_overwritten_without_resume(killed, tmp_path, ledger_csv, capsys):
    out, secret_file, _ = _copy_work(killed, tmp_path)
    with pytest.raises(WorkFolderError, match="--resume"):
        prove_file(ledger_csv, out, secret=SECRET, round_id=ROUND, trace_log2=14)
    code = cli(["prove", str(ledger_csv), "-o", str(out), "--round-id", "2027-01", "--secret-file",
                str(secret_file), "--trace-size", "2^14", "--resume"])
    assert code == EXIT_INPUT
    assert "different round id" in capsys.readouterr().err


# -- Ray --------------------------------------------------------------------------------------------


def test_a_round_proved_on_ray_is_the_local_round(ledger_csv, tmp_path, in_memory):
    pytest.importorskip("ray")
    out = tmp_path / "ray.stpor"
    prove_file(ledger_csv, out, secret=SECRET, round_id=ROUND, trace_log2=14, executor="ray", workers=2)
    assert out.read_bytes() == in_memory


def test_a_bad_wide_amount_is_refused_naming_the_line_and_leaves_no_work_folder(whales, tmp_path):
    ledger, path = whales
    lines = path.read_text().splitlines()
    good = list(lines)
    cells = lines[31].split(",")
    cells[2] = str(2**112 // 10**18 + 1)  # ETH: 2^112 wei or more
    lines[31] = ",".join(cells)
    bad = tmp_path / "ledger.csv"
    bad.write_text("\n".join(lines) + "\n")
    shutil.copy(path.with_name("ledger.assets.csv"), tmp_path / "ledger.assets.csv")
    out = tmp_path / "r.stpor"
    with pytest.raises(LedgerError) as e:
        prove_file(bad, out, secret=SECRET, round_id=ROUND, chunk_users=16)
    assert e.value.row == 32 and e.value.column == "ETH"
    assert not work_folder(out).exists() and not out.exists()
    bad.write_text("\n".join(good) + "\n")  # fixed: proving again needs no --resume
    assert prove_file(bad, out, secret=SECRET, round_id=ROUND).num_leaves == 64


# -- placement of wide amounts, as a property --------------------------------------------------------

AMOUNTS = st.one_of(
    st.integers(1, 2**112 - 1),
    st.sampled_from([1, 2**62 - 1, 2**62, 2**64 - 1, 2**64, 2**64 + 1, 5 * 10**18, 2**112 - 2, 2**112 - 1]),
)


@st.composite
def wide_ledgers(draw):
    n = draw(st.integers(1, 120))
    users = []
    for u in range(n):
        held = draw(st.lists(st.integers(0, 2), unique=True, max_size=3))
        users.append((f"u{u}", sorted((k, draw(AMOUNTS)) for k in held)))
    return users


def _place_wide(users, order, chunk, folder: Path) -> dict:
    """Streams `users` in `order`, `chunk` at a time; returns user → (position, salt, balances)."""
    import numpy as np

    from stark_por import _native

    assets = [("BTC", 8), ("ETH", 18), ("SHIB", 18)]
    spill = _native.Spill(folder, SECRET, ROUND, assets, 112, 2)
    for lo in range(0, len(order), chunk):
        part = [users[u] for u in order[lo:lo + chunk]]
        indptr = np.cumsum([0] + [len(held) for _, held in part]).astype(np.uint64)
        entries = [e for _, held in part for e in held]
        spill.append_wide([uid for uid, _ in part], indptr, np.array([k for k, _ in entries], np.uint32),
                          np.array([x & (2**64 - 1) for _, x in entries], np.uint64),
                          np.array([x >> 64 for _, x in entries], np.uint64))
    layout = spill.finish()
    assert layout["statement_version"] == 2 and _native.spill_layout(folder) == layout
    placement = _native.Placement(folder, SECRET, ROUND, assets, 112)
    placed = {}
    for b in range(_native.SPILL_BUCKETS):
        rows = placement.bucket_users(b)
        ptr, ai = rows["indptr"].tolist(), rows["asset_index"].tolist()
        amounts = [lo | hi << 64 for lo, hi in zip(rows["amounts_lo"].tolist(), rows["amounts_hi"].tolist())]
        for i, user in enumerate(rows["user_ids"]):
            held = [(ai[e], amounts[e]) for e in range(ptr[i], ptr[i + 1])]
            placed[user] = (int(rows["positions"][i]), rows["salts"][32 * i:32 * i + 32], held)
    assert len(placed) == layout["num_users"] == len(users)
    return placed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(users=wide_ledgers(), chunk=st.integers(1, 50), data=st.data())
def test_wide_placement_ignores_chunking_and_row_order_and_keeps_amounts_exact(tmp_path_factory, users, chunk, data):
    order = data.draw(st.permutations(range(len(users))))
    run = tmp_path_factory.mktemp("wide")
    a = _place_wide(users, list(range(len(users))), len(users), run / "whole")
    b = _place_wide(users, order, chunk, run / "shuffled")
    assert a == b, "a user's leaf and salt depend only on the secret, the round and the id"
    assert {uid: held for uid, (_, _, held) in a.items()} == dict(users), "every amount comes back exact"
    positions = sorted(p for p, _, _ in a.values())
    leaves = max(2, 1 << (len(users) - 1).bit_length())
    assert len(set(positions)) == len(users) and positions[-1] < leaves
