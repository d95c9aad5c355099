#!/usr/bin/env bash
# The case studies of docs/case-studies/, from scratch or resumed: each step is an hpsearch
# command that keeps what finished (a study resumes, compare and report skip the seeds that
# ran), so running this again after an interruption only runs what is missing.
#
#   bash scripts/case_studies.sh                # all three, one after the other
#   bash scripts/case_studies.sh quora          # one of: quora, multitask, sst2
#   CASE_DIR=/scratch/cases bash scripts/case_studies.sh sst2
#
# The studies' storage (and each step's log and wall time) go to $CASE_DIR, outside the
# repository (default ~/hpsearch-case-studies); the tool's tables and plots go to
# studies/results/, and scripts/case_study_pages.py writes the pages from them.
# THREADS=1 pins torch to one core, to run case studies side by side (the pages' runs
# started so, three at once on 2 cores; each page says which steps did); unset, torch
# takes every core, best for one case at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
CASE_DIR=${CASE_DIR:-$HOME/hpsearch-case-studies}
THREADS=${THREADS-}
mkdir -p "$CASE_DIR"
if [ -n "$THREADS" ]; then export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS; fi
PY=${PYTHON:-python3}

# step CASE NAME CMD...: run hpsearch CMD, its output appended to CASE_DIR/CASE.log, its wall
# time (seconds) appended to CASE_DIR/CASE-times.tsv; the pages add up a step's calls.
step() {
  local case=$1 name=$2
  shift 2
  echo "== $case: $name: $*" | tee -a "$CASE_DIR/$case.log"
  local start status=0
  start=$(date +%s)
  "$PY" -m hpsearch "$@" 2>&1 | tee -a "$CASE_DIR/$case.log" || status=$?
  # Counted also when the step stopped (a kill, Ctrl-C): its resumed call adds the rest.
  printf '%s\t%s\t%s\n' "$name" "$(($(date +%s) - start))" "$(date -u +%FT%TZ)" \
    >>"$CASE_DIR/$case-times.tsv"
  return "$status"
}

# What the pages say the runs ran on, written once per CASE_DIR.
[ -f "$CASE_DIR/machine.json" ] || "$PY" scripts/case_study_pages.py machine "$CASE_DIR"

quora() {
  local s="sqlite:///$CASE_DIR/quora.db"
  step quora search-adamw run studies/quora-adam.toml --storage "$s"
  step quora search-mfac run studies/quora-mfac.toml --storage "$s"
  step quora compare compare studies/quora-adam.toml studies/quora-mfac.toml --seeds 5 \
    --storage "$s"
}

multitask() {
  local s="sqlite:///$CASE_DIR/multitask.db"
  step multitask search run studies/multitask.toml --storage "$s"
  step multitask report report studies/multitask.toml --seeds 3 --storage "$s"
}

sst2() {
  local s="sqlite:///$CASE_DIR/sst2.db"
  step sst2 search run studies/sst2-testbed.toml --storage "$s"
  step sst2 report report studies/sst2-testbed.toml --seeds 3 --storage "$s"
}

for case in "${@:-quora multitask sst2}"; do
  for c in $case; do
    case $c in
      quora | multitask | sst2) "$c" ;;
      *) echo "case_studies.sh: a case is one of quora, multitask, sst2, but got '$c'" >&2; exit 2 ;;
    esac
  done
done
echo "case_studies.sh: done; the pages: $PY scripts/case_study_pages.py pages $CASE_DIR"
