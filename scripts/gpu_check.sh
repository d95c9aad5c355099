#!/usr/bin/env bash
# The GPU check: hpsearch's CUDA path, run for real on a GPU machine, in at most 8 minutes.
#
# Usage:
#   python3 scripts/device_bundle.py                 # once, where hpsearch is installed: .device/
#   bash scripts/gpu_check.sh OUTDIR                 # on the GPU machine, .device/ copied along
#   bash scripts/gpu_check.sh OUTDIR --cpu           # the same steps, tiny and on CPU
#   bash scripts/gpu_check.sh OUTDIR --budget 300    # another wall-clock budget (s)
#
# The check needs no network: a GPU machine with Python 3.12, torch and transformers
# (scripts/gpu/device_packages.txt) may lack optuna, pydantic, datasets and the minilm
# package, and the bundle brings them (scripts/device_bundle.py). This script installs the
# bundle's wheels into a temporary folder, puts it, the bundle's stand-in model package and
# the repository on PYTHONPATH, points the tests and benchmarks at the bundle's data, then
# runs, in order of importance, each step under its own time limit, cut to what is left
# of the budget (default 470 s on the GPU), so that one hung step cannot eat the rest:
#
#   install        the bundle's wheels (pip, no index)
#   preflight      versions, the GPU, and that the bundle works (env.json)
#   pytest         the CUDA tests (dense M-FAC steps under set_sync_debug_mode("error"),
#                  one sync in a row-sparse step, bf16/fp16 training), the M-FAC and
#                  trainer tests (pytest.xml)
#   bench-mfac     M-FAC steps at m = 256 and 1024, dense and row-sparse, against two
#                  reads of the buffer at the measured bandwidth; peak memory
#   bench-trainer  hpsearch's trainer against Hugging Face Trainer, bf16 autocast
#   study-adam, study-mfac, report-1, report-N
#                  AdamW against M-FAC at num_grads = 1024 on Quora: two studies
#                  (scripts/gpu/studies.py) and `hpsearch report` of their best configs,
#                  first over 1 seed (a report even if time runs out), then over 3
#
# and ends with a markdown table of every figure against its target (summary.md), printed
# last. Everything lands in OUTDIR, 8 files: check.log (every step's output), steps.tsv,
# env.json, pytest.xml, bench_mfac.json, bench_trainer.json, report.json, summary.md.
# --cpu runs the same steps at tiny sizes on CPU (the CUDA tests skip), so the whole check
# is tested before any GPU time is spent. Exit code: 0 when every step exited 0.
set -uo pipefail # no -e: a failed step is recorded and the next one runs

usage() {
    sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
OUTDIR="" MODE=gpu BUDGET=""
while (($#)); do
    case $1 in
    --cpu) MODE=cpu ;;
    --budget)
        BUDGET=${2:-}
        shift
        ;;
    -h | --help) usage ;;
    -*)
        echo "gpu_check: unknown option $1" >&2
        usage
        ;;
    *) OUTDIR=$1 ;;
    esac
    shift
done
[[ -n $OUTDIR ]] || usage

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE=$REPO/.device
if [[ ! -d $BUNDLE/wheels ]]; then
    echo "gpu_check: no bundle in $BUNDLE; run python3 scripts/device_bundle.py first" >&2
    exit 2
fi
mkdir -p "$OUTDIR" && OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG=$OUTDIR/check.log
STEPS=$OUTDIR/steps.tsv
: >"$LOG"
: >"$STEPS"
cd "$REPO" || exit 2

# Sizes. GPU: what fits in the budget on an H200 (README, "On a GPU"); CPU: tiny.
if [[ $MODE == gpu ]]; then
    DEVICE=cuda SCALE=1 SEEDS=3
    BUDGET=${BUDGET:-470}
    TESTS=(tests/optim/test_mfac_cuda.py tests/train/test_trainer_cuda.py
        tests/optim/test_mfac_row_sparse.py tests/optim/test_mfac.py tests/train/test_trainer.py)
    MFAC=(--m 256 1024 --steps 10 --warmup 2 --no-adamw)
    TRAINER=(--train-samples 12000 --eval-samples 1000 --runs 2 --runners hpsearch Trainer-dynamic
        Trainer-dynamic-hpsearch-model)
    STUDY_SIZE=()
else
    # Limits ten times the GPU's: the same steps, tiny, on a slow and shared CPU.
    DEVICE=cpu SCALE=10 SEEDS=2
    BUDGET=${BUDGET:-7200}
    TESTS=(tests/optim/test_mfac_cuda.py tests/train/test_trainer_cuda.py
        tests/optim/test_mfac_row_sparse.py tests/optim/test_mfac.py)
    MFAC=(--m 4 --steps 2 --warmup 1 --no-adamw --bw-bytes 67108864 --bw-repeats 2)
    TRAINER=(--train-samples 64 --eval-samples 32 --runners hpsearch Trainer-dynamic
        Trainer-dynamic-hpsearch-model)
    STUDY_SIZE=(--cpu)
fi
DEADLINE=$((SECONDS + BUDGET))
RESERVE=20 # seconds kept for the summary

say() { echo "$(date +%T) $*" | tee -a "$LOG"; }

limit_for() { # limit_for CAP: seconds a step with this cap may take now
    local cap=$(($1 * SCALE)) left=$((DEADLINE - SECONDS - RESERVE))
    echo $((cap < left ? cap : left))
}

FAILED=0
step() { # step NAME CAP COMMAND...: COMMAND, output to the log, killed after its limit
    local name=$1 limit start rc
    limit=$(limit_for "$2")
    shift 2
    local shown=${*//$REPO\//}
    if ((limit < 5)); then
        printf '%s\tskipped\t0\t0\t%s\n' "$name" "$shown" >>"$STEPS"
        say "-- $name: skipped, the budget is spent"
        FAILED=1
        return 1
    fi
    say "-- $name (at most $limit s): $shown"
    start=$SECONDS
    # timeout signals the command's whole process group (benchmark workers included).
    timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
    rc=$?
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" "$limit" "$shown" >>"$STEPS"
    say "   $name: exit $rc after $((SECONDS - start)) s"
    ((rc == 0)) || FAILED=1
    return $rc
}

say "gpu_check: $MODE mode, budget $BUDGET s, repository $REPO, output $OUTDIR"
if [[ $MODE == gpu ]]; then
    timeout 30 nvidia-smi 2>&1 | tee -a "$LOG"
fi

# --- install: the bundle's wheels, the stand-in model and the repository on PYTHONPATH
python3 scripts/gpu/compatible_wheels.py "$BUNDLE/wheels" >"$WORK/wheels.txt" 2>>"$LOG"
step install 90 python3 -m pip install --quiet --no-index --no-deps --no-compile \
    --disable-pip-version-check --target "$WORK/site" -r "$WORK/wheels.txt"
export PYTHONPATH=$WORK/site:$BUNDLE/python:$REPO
export HPSEARCH_TEST_DATA=$BUNDLE/data # tests/conftest.py reads the data here
export HF_HOME=$WORK/hf HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export HF_DATASETS_DISABLE_PROGRESS_BARS=1 MPLBACKEND=Agg PYTHONUNBUFFERED=1
export TOKENIZERS_PARALLELISM=false

# --- the checks, most important first
step preflight 90 python3 scripts/gpu/preflight.py "$OUTDIR" --data "$BUNDLE/data" \
    --device "$DEVICE"
step pytest 150 python3 -m pytest -q -p no:cacheprovider --junitxml="$OUTDIR/pytest.xml" \
    "${TESTS[@]}"
step bench-mfac 150 python3 scripts/bench_mfac.py --device "$DEVICE" "${MFAC[@]}" \
    --data "$BUNDLE/data" --json "$OUTDIR/bench_mfac.json"
step bench-trainer 120 python3 scripts/bench_trainer.py --device "$DEVICE" "${TRAINER[@]}" \
    --data "$BUNDLE/data" --json "$OUTDIR/bench_trainer.json"

# --- AdamW against M-FAC at num_grads = 1024: the search stops starting trials in time for
# the last one to finish within the step's limit (--timeout), then the report over seeds.
STUDIES=$WORK/studies
python3 scripts/gpu/studies.py "$STUDIES" --data "$BUNDLE/data" "${STUDY_SIZE[@]}" >>"$LOG" 2>&1
cat "$STUDIES"/quora-*.toml >>"$LOG"
soft() { # soft CAP MARGIN: hpsearch run --timeout for a step of this cap
    local t=$(($(limit_for "$1") - $2 * SCALE))
    echo $((t > 1 ? t : 1))
}
step study-adam 75 python3 -m hpsearch run "$STUDIES/quora-adam.toml" --timeout "$(soft 75 30)"
step study-mfac 130 python3 -m hpsearch run "$STUDIES/quora-mfac.toml" --timeout "$(soft 130 45)"
step report-1 90 python3 -m hpsearch report "$STUDIES/quora-mfac.toml" --seeds 1
step report-$SEEDS 150 python3 -m hpsearch report "$STUDIES/quora-mfac.toml" --seeds "$SEEDS"
RESULTS=$STUDIES/results/quora-mfac
cp "$RESULTS/report.json" "$OUTDIR/" 2>>"$LOG"

# --- the summary, printed last (where a log or terminal shows the end of the output)
say "gpu_check: done in $SECONDS s; summary:"
timeout 60 python3 scripts/gpu/summary.py "$OUTDIR" --report-md "$RESULTS/report.md" \
    2>>"$LOG" | tee -a "$LOG"
exit $FAILED
