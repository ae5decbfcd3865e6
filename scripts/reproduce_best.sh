#!/usr/bin/env bash
# Reproduce the best compact world model from scratch: generate the training data, train with
# configs/best.yaml, export model_weights.pth, generate course-size evaluation sets with a seed
# that training never saw, probe with the course protocol and write metrics.txt.
#
#   bash scripts/reproduce_best.sh                 # writes ./model_weights.pth and ./metrics.txt
#   JEPA_BEST_OUT=/tmp/best bash scripts/reproduce_best.sh   # somewhere else
#
# Disk: about 5.5 GB of training data and 11 GB of evaluation data (uint8), kept for re-runs.
# Uses the active Python environment; on a fresh machine run `bash scripts/setup.sh` and
# `. .venv/bin/activate` first. Any extra arguments go to `jepa fit` (e.g. --trainer.max_steps 500).
set -euo pipefail
cd "$(dirname "$0")/.."

export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
TRAIN_DATA=${JEPA_BEST_TRAIN_DATA:-data/best}
EVAL_DATA=${JEPA_BEST_EVAL_DATA:-data/best_eval}
RUNS=${JEPA_BEST_RUNS:-runs}
. scripts/lib/reproduce.sh
reproduce_release best "${JEPA_BEST_OUT:-.}" "$@"
