"""The `.pyi` stub of the native module matches what the extension exports."""

import subprocess
import sys


def test_native_stub_matches_the_extension(tmp_path):
    # stubtest type-checks the package the stub sits in; only the stub is under test here
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n\n[mypy-stark_por.*]\nignore_errors = True\n\n[mypy-stark_por._native]\nignore_errors = False\n")
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--mypy-config-file", str(config), "stark_por._native"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
