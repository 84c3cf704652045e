"""The `.pyi` stub of the native module matches what the extension exports."""

import subprocess
import sys


def test_native_stub_matches_the_extension():
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "stark_por._native"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
