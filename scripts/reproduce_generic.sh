#!/usr/bin/env bash
# Reproduce the generic world model from scratch: generate the training data, train with
# configs/generic.yaml, export the model, generate course-size evaluation sets with a seed that
# neither training nor tuning used, probe with the course protocol, and write
# releases/generic/model_weights.pth and releases/generic/metrics.txt.
#
#   bash scripts/reproduce_generic.sh
#   JEPA_GENERIC_OUT=/tmp/generic bash scripts/reproduce_generic.sh   # somewhere else
#
# Disk: about 5.5 GB of training data and 11 GB of evaluation data (uint8), kept for re-runs,
# and 25 GB of temporary cache while the expert set is probed (the code has 9,801 numbers).
# Time: 2 h 2 min measured on one thread of a loaded 2-core CPU, data present (docs/results.md).
# Uses the active Python environment; on a fresh machine run `bash scripts/setup.sh` and
# `. .venv/bin/activate` first. Any extra arguments go to `jepa fit` (e.g. --trainer.max_steps 500).
set -euo pipefail
cd "$(dirname "$0")/.."

export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
TRAIN_DATA=${JEPA_GENERIC_TRAIN_DATA:-data/best}
EVAL_DATA=${JEPA_GENERIC_EVAL_DATA:-data/best_eval}
RUNS=${JEPA_GENERIC_RUNS:-runs}
. scripts/lib/reproduce.sh
reproduce_release generic "${JEPA_GENERIC_OUT:-releases/generic}" "$@"
