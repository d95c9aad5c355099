#!/usr/bin/env bash
# One hpsearch worker per GPU on a Slurm cluster, all on one study in a shared storage.
#
#   export HPSEARCH_STORAGE=postgresql://user@db-host/studies   # password: ~/.pgpass
#   hpsearch run studies/qqp-bert-tiny-mfac.toml --workers 0
#   sbatch --array=0-7 scripts/slurm_array.sh studies/qqp-bert-tiny-mfac.toml
#
# The first command creates the study and its tables once, so the workers never race to.
# hpsearch reads the storage URL from HPSEARCH_STORAGE: not on a command line, where `ps`
# would show a password to every user of the node.
# Slurm sets CUDA_VISIBLE_DEVICES to the GPU it gives each task. The budget (n_trials) holds
# across all tasks; a task killed at its time limit gets SIGTERM first, and its running
# trial is recorded as failed; one killed outright is found by the heartbeat sweep and its
# trial is re-run by another task. Resubmit the same array to finish an interrupted study.
#SBATCH --job-name=hpsearch
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
#SBATCH --signal=TERM@120
#SBATCH --output=hpsearch-%A_%a.log
set -euo pipefail
study_file=${1:?usage: sbatch --array=0-N scripts/slurm_array.sh STUDY.toml}
: "${HPSEARCH_STORAGE:?set HPSEARCH_STORAGE, e.g. postgresql://user:password@db-host/studies}"
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
exec python3 -m hpsearch run "$study_file" --worker-index "${SLURM_ARRAY_TASK_ID:-0}"
