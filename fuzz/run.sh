#!/usr/bin/env bash
# Runs every fuzz target for a fixed budget, one at a time (-jobs=1), and prints per target the
# executions, libFuzzer's coverage figures (cov: edges/PCs reached, ft: features) and crashes.
#
#   bash fuzz/run.sh [--seconds 60] [--rust-only | --python-only] [--seeds] [TARGET ...]
#
# Rust targets (cargo-fuzz, stable Rust with RUSTC_BOOTSTRAP=1 for this crate only) and Python
# targets (atheris) share libFuzzer, its -rss_limit_mb and -timeout. Corpora live in
# fuzz/corpus/<target> (made by fuzz/seeds.py on first use, or again with --seeds), crashes in
# fuzz/artifacts/<target>, logs in fuzz/logs. Exit status 1 when a target crashed.
set -euo pipefail
cd "$(dirname "$0")"

SECONDS_PER_TARGET=60
RUN_RUST=1
RUN_PYTHON=1
RESEED=0
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
        --rust-only) RUN_PYTHON=0; shift ;;
        --python-only) RUN_RUST=0; shift ;;
        --seeds) RESEED=1; shift ;;
        -h|--help) sed -n 2,10p "$0"; exit 0 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done

RUST_TARGETS=(proof_single proof_round round_v2 round_v3 batch_job batch_result forest_job forest_result inclusion spill_layout
              spill_bucket spill_bucket_v2 spill_bucket_v3)
PY_TARGETS=$(${PYTHON:-python3} py_targets.py --list)
PY=${PYTHON:-python3}
LIMITS=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

dict_for() {  # libFuzzer dictionaries of the text formats
    case "$1" in
        inclusion_json|summary_json|reserves_file) echo "-dict=dicts/json.dict" ;;
        ledger_csv|assets_csv) echo "-dict=dicts/csv.dict" ;;
    esac
}
wanted() { [ ${#TARGETS[@]} -eq 0 ] && return 0; local t; for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

if [ "$RESEED" = 1 ] || [ ! -f corpus/context/round.stpor.json ] || { [ "$RUN_RUST" = 1 ] && [ ! -d corpus/round_v3 ]; }; then
    echo "== writing seed corpora (fuzz/seeds.py)"
    "$PY" seeds.py $([ "$RUN_RUST" = 1 ] || echo --python-only) corpus
fi
mkdir -p logs artifacts

if [ "$RUN_RUST" = 1 ]; then
    command -v cargo-fuzz >/dev/null || { echo "error: cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }
    echo "== building the Rust targets (cargo fuzz build, no sanitizer, debug assertions on)"
    RUSTC_BOOTSTRAP=1 cargo fuzz build --sanitizer none --target-dir "$CARGO_TARGET_DIR" >logs/build.log 2>&1 \
        || { tail -30 logs/build.log; exit 2; }
fi

printf '%-16s %10s %8s %8s %8s %8s  %s\n' target execs exec/s cov ft corpus crashes
status=0
report() {  # target, log: the final line and statistics libFuzzer prints
    local t=$1 log=$2 execs cov ft corp rate crashes
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    crashes=$(grep -oE 'Test unit written to .*' "$log" | sed 's/Test unit written to //' || true)
    if [ -z "$execs" ]; then  # the target did not even run: say so, never pass silently
        crashes="did not run, see fuzz/logs/$t.log"
    fi
    printf '%-16s %10s %8s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${crashes:-0}"
    [ -z "$crashes" ] || status=1
}

if [ "$RUN_RUST" = 1 ]; then
    for t in "${RUST_TARGETS[@]}"; do
        wanted "$t" || continue
        mkdir -p "corpus/$t" "artifacts/$t"
        "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$t" "${LIMITS[@]}" -max_total_time="$SECONDS_PER_TARGET" \
            -artifact_prefix="artifacts/$t/" "corpus/$t" >"logs/$t.log" 2>&1 || true
        report "$t" "logs/$t.log"
    done
fi

if [ "$RUN_PYTHON" = 1 ]; then
    for t in $PY_TARGETS; do
        wanted "$t" || continue
        mkdir -p "corpus/$t" "artifacts/$t"
        "$PY" py_targets.py "$t" "${LIMITS[@]}" $(dict_for "$t") -max_total_time="$SECONDS_PER_TARGET" \
            -artifact_prefix="artifacts/$t/" "corpus/$t" >"logs/$t.log" 2>&1 || true
        report "$t" "logs/$t.log"
    done
fi
exit $status
