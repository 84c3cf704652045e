#!/usr/bin/env bash
# Installs everything stark-por needs, then runs the whole test suite: Rust, then Python.
# Used as-is by CI (.ci/run) on a fresh machine, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "error: cargo (Rust >= 1.87) is required" >&2; exit 2; }
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
PY=${PYTHON:-python3}

# No incremental caches: a fresh machine never reuses them.
export CARGO_INCREMENTAL=0

echo "== installing stark-por (maturin build of the Rust extension) and test dependencies"
"$PY" -m pip install --quiet "maturin>=1.7,<2"
"$PY" -m pip install --quiet -e ".[test]"

# Headless Chromium renders the HTML reserves report (tests/test_reserves.py) and runs the
# inclusion page under Selenium through Debian's chromedriver (tests/test_page.py).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "== installing chromium and chromium-driver (browser tests of the report and the inclusion page)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver fonts-dejavu-core; } >/dev/null 2>&1 \
        || echo "WARNING: could not install chromium/chromium-driver; the browser tests will be SKIPPED" >&2
fi

echo "== installed at ${SECONDS} s"
echo "== Rust tests"
# The binding crate links against Python only when loaded by it, so it is built by maturin
# above and not as a test binary.
# Unit and integration tests only: the examples are measurement tools (benches/README.md), and
# each would link its own optimised copy of the prover.
cargo test --workspace --exclude stark-por-python --lib --tests
echo "== Rust tests done at ${SECONDS} s"

echo "== Python tests"
# One worker per core, whole files per worker: a module's fixtures (proved rounds, a Ray
# cluster) are made once, and the many single-threaded tests (the pure-Python reference
# traces, the browser) no longer leave a core idle.
"$PY" -m pytest -n auto --dist loadfile tests "$@"

# A few seconds of coverage-guided fuzzing per Python parser (atheris); the Rust targets need
# cargo-fuzz and a 3-minute build, so they run only by hand: bash fuzz/run.sh (fuzz/README.md).
echo "== Python tests done at ${SECONDS} s"
echo "== fuzz smoke run (Python parsers, 3 s per target)"
if "$PY" -m pip install --quiet "atheris>=2.3"; then
    PYTHON="$PY" bash fuzz/run.sh --python-only --seconds 3
else
    echo "WARNING: atheris did not install; the fuzz smoke run is SKIPPED" >&2
fi
