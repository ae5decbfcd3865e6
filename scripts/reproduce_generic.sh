#!/usr/bin/env bash
# Reproduce the generic world model from scratch: generate the training data, train with
# configs/generic.yaml, export the model, generate course-size evaluation sets with a seed that
# neither training nor tuning used, probe with the course protocol, and write
# releases/generic/model_weights.pth and releases/generic/metrics.txt.
#
#   bash scripts/reproduce_generic.sh
#   JEPA_GENERIC_OUT=/tmp/generic bash scripts/reproduce_generic.sh   # somewhere else
#
# Disk: about 5.5 GB of training data and 11 GB of evaluation data (uint8), kept for re-runs.
# Uses the active Python environment; on a fresh machine run `bash scripts/setup.sh` and
# `. .venv/bin/activate` first. Any extra arguments go to `jepa fit` (e.g. --trainer.max_steps 500).
set -euo pipefail
cd "$(dirname "$0")/.."

export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
TRAIN_DATA=${JEPA_GENERIC_TRAIN_DATA:-data/best}
EVAL_DATA=${JEPA_GENERIC_EVAL_DATA:-data/best_eval}
OUT=${JEPA_GENERIC_OUT:-releases/generic}
RUNS=${JEPA_GENERIC_RUNS:-runs}
TRAIN_SEED=1
EVAL_SEED=20261123   # used for nothing but these evaluation sets

started=$(date +%s)
stage() { echo "[$(( $(date +%s) - started )) s] $*"; }

if [ ! -f "$TRAIN_DATA/dataset.json" ]; then
  stage "generating training data in $TRAIN_DATA"
  # Only train/ is used; the probe splits of this set are kept minimal.
  jepa data generate --out "$TRAIN_DATA" --preset quickstart --seed "$TRAIN_SEED" \
    --train_size 40000 --probe_train_size 64 --probe_val_size 64 --wall_size 64 \
    --wall_other_size 64 --expert_train_size 64 --expert_val_size 64 --progress false
fi

stage "training (configs/generic.yaml)"
jepa fit --config configs/generic.yaml --data.data_dir "$TRAIN_DATA" \
  --trainer.logger.init_args.save_dir "$RUNS" --trainer.enable_progress_bar false "$@"
CKPT=$(ls -t $(find "$RUNS/generic" -name last.ckpt) | head -n 1)
REPORT=$(dirname "$(dirname "$CKPT")")/probe
mkdir -p "$OUT" "$REPORT"
jepa export "$CKPT" --out "$REPORT/model_weights.pth"
stage "trained: $CKPT"

if [ ! -f "$EVAL_DATA/dataset.json" ]; then
  stage "generating course-size evaluation sets in $EVAL_DATA (seed $EVAL_SEED)"
  jepa data generate --out "$EVAL_DATA" --preset course --seed "$EVAL_SEED" --train_size 1 \
    --dtype uint8 --progress false
fi

stage "probing"
# The report (metrics.txt, probe_results.json, pictures) stays beside the run; the two release
# files are copied out.
jepa probe --ckpt "$REPORT/model_weights.pth" --data "$EVAL_DATA" --out "$REPORT" \
  --command "bash scripts/reproduce_generic.sh" --progress false
cp "$REPORT/model_weights.pth" "$REPORT/metrics.txt" "$OUT/"
stage "done: $OUT/model_weights.pth and $OUT/metrics.txt (full report in $REPORT)"
