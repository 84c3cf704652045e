"""The `stark-por prove` and `stark-por verify` commands: files, exit codes, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stark_por.cli import EXIT_INPUT, EXIT_INVALID, EXIT_OK, main

LEDGER = "user_id,BTC,ETH\nalice,0.5,1.25\nbob,,3\ncarol,2.00000001,\n"
ASSETS = "asset,decimals\nBTC,8\nETH,18\n"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "ledger.csv").write_text(LEDGER)
    (tmp_path / "ledger.assets.csv").write_text(ASSETS)
    (tmp_path / "master.key").write_bytes(b"s" * 32)
    return tmp_path


def prove_args(d: Path, ledger: str = "ledger.csv") -> list:
    return ["-q", "prove", str(d / ledger), "-o", str(d / "r.stpor"), "--round-id", "2026-11",
            "--secret-file", str(d / "master.key")]


def test_prove_then_verify(workdir, capsys):
    assert main(prove_args(workdir)) == EXIT_OK
    summary = json.loads((workdir / "r.stpor.json").read_text())
    assert {a["asset"]: a["total"] for a in summary["assets"]} == {"BTC": "2.50000001", "ETH": "4.25"}
    assert main(["verify", str(workdir / "r.stpor")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "VALID" in out and "statement    version 2 (amounts up to 2^112" in out
    assert summary["statement_version"] == 2


def test_verify_exit_code_is_1_for_a_bad_proof(workdir, capsys):
    assert main(prove_args(workdir)) == EXIT_OK
    data = bytearray((workdir / "r.stpor").read_bytes())
    data[-10] ^= 0xFF
    (workdir / "bad.stpor").write_bytes(bytes(data))
    assert main(["verify", str(workdir / "bad.stpor")]) == EXIT_INVALID
    assert "INVALID" in capsys.readouterr().err
    assert main(["verify", str(workdir / "missing.stpor")]) == EXIT_INVALID
    assert main(["verify", str(workdir / "r.stpor"), "--min-security", "120"]) == EXIT_INVALID


@pytest.mark.parametrize(
    "row, message",
    [
        ("dave,-1,\n", "negative"),
        ("dave,1e3,\n", "exponent"),
        ("alice,1,\n", "duplicate"),
        ("dave,0.123456789,\n", "decimals"),
    ],
)
def test_bad_ledger_exits_2_and_writes_nothing(workdir, capsys, row, message):
    (workdir / "bad.csv").write_text(LEDGER + row)
    (workdir / "bad.assets.csv").write_text(ASSETS)
    assert main(prove_args(workdir, "bad.csv")) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "line 5" in err and message in err.lower()
    assert not (workdir / "r.stpor").exists() and not (workdir / "r.stpor.json").exists()


def test_short_secret_exits_2(workdir, capsys):
    (workdir / "master.key").write_bytes(b"short")
    assert main(prove_args(workdir)) == EXIT_INPUT
    assert "secret" in capsys.readouterr().err
    assert not (workdir / "r.stpor").exists()


def test_console_script_runs(workdir):
    """The installed entry point (as a user runs it) proves and verifies."""
    out = subprocess.run([sys.executable, "-m", "stark_por.cli", *prove_args(workdir)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-m", "stark_por.cli", "verify", str(workdir / "r.stpor")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("VALID")
