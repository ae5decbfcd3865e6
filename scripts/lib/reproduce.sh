#!/usr/bin/env bash
# Shared by scripts/reproduce_best.sh and scripts/reproduce_generic.sh (sourced, not run):
#   reproduce_release NAME OUT [jepa fit options...]
# generates the training data (seed 1, 40,000 trajectories) unless present, trains
# configs/NAME.yaml, exports model_weights.pth, generates course-size evaluation sets with a seed
# that neither training nor tuning used unless present, probes with the course protocol and
# copies model_weights.pth and metrics.txt to OUT. Data and run folders: $TRAIN_DATA
# (data/best), $EVAL_DATA (data/best_eval), $RUNS (runs).

TRAIN_SEED=1
EVAL_SEED=20261123   # used for nothing but these evaluation sets

reproduce_release() {
  local name=$1 out=$2
  shift 2
  local train_data=${TRAIN_DATA:-data/best} eval_data=${EVAL_DATA:-data/best_eval} runs=${RUNS:-runs}
  local started
  started=$(date +%s)
  stage() { echo "[$(( $(date +%s) - started )) s] $*"; }

  if [ ! -f "$train_data/dataset.json" ]; then
    stage "generating training data in $train_data"
    # Only train/ is used; the probe splits of this set are kept minimal.
    jepa data generate --out "$train_data" --preset quickstart --seed "$TRAIN_SEED" \
      --train_size 40000 --probe_train_size 64 --probe_val_size 64 --wall_size 64 \
      --wall_other_size 64 --expert_train_size 64 --expert_val_size 64 --progress false
  fi

  stage "training (configs/$name.yaml)"
  jepa fit --config "configs/$name.yaml" --data.data_dir "$train_data" \
    --trainer.logger.init_args.save_dir "$runs" --trainer.enable_progress_bar false "$@"
  local ckpt report
  ckpt=$(ls -t $(find "$runs/$name" -name last.ckpt) | head -n 1)
  report=$(dirname "$(dirname "$ckpt")")/probe
  mkdir -p "$out" "$report"
  jepa export "$ckpt" --out "$report/model_weights.pth"
  stage "trained: $ckpt"

  if [ ! -f "$eval_data/dataset.json" ]; then
    stage "generating course-size evaluation sets in $eval_data (seed $EVAL_SEED)"
    jepa data generate --out "$eval_data" --preset course --seed "$EVAL_SEED" --train_size 1 \
      --dtype uint8 --progress false
  fi

  stage "probing"
  # The report (metrics.txt, probe_results.json, pictures) stays beside the run; the two release
  # files are copied out. metrics.txt records the command with any extra `jepa fit` options.
  jepa probe --ckpt "$report/model_weights.pth" --data "$eval_data" --out "$report" \
    --command "bash scripts/reproduce_$name.sh${*:+ $*}" --progress false
  cp "$report/model_weights.pth" "$report/metrics.txt" "$out/"
  stage "done: $out/model_weights.pth and $out/metrics.txt (full report in $report)"
}
