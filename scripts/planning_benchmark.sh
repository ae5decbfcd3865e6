#!/usr/bin/env bash
# The planning benchmark of docs/planning.md in one command: both released models, seen and
# unseen layouts, the benchmark planner settings (configs/planning/mppi.yaml), seed 0, with the
# random floor and the simulator ceiling. Meant for a machine with a GPU (`--device auto` picks
# it); on a 2-core CPU the generic rows take about two minutes per episode.
#
#   bash scripts/planning_benchmark.sh plans/benchmark            # 200 episodes per row
#   EPISODES=20 bash scripts/planning_benchmark.sh plans/quick    # fewer
#   DEVICE=cuda:1 bash scripts/planning_benchmark.sh plans/b      # another device (default auto)
#   bash scripts/planning_benchmark.sh plans/b --batch_size 50    # extra options go to every `jepa plan`
#
# Each row writes OUT/<model>-<layouts>/ (episode files, summary.json, pictures) and its log
# OUT/<model>-<layouts>.log; a row whose folder already holds a summary.json is skipped, so an
# interrupted run resumes at the row it was on (`jepa plan` writes a row's folder only at its end). Uses the active Python environment (on a fresh
# machine: `bash scripts/setup.sh` then `. .venv/bin/activate`; for a GPU, a CUDA build of torch).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  echo "usage: bash scripts/planning_benchmark.sh OUT [jepa plan options...]" >&2
  exit 2
fi
OUT=$1
shift
EPISODES=${EPISODES:-200}
SEED=${SEED:-0}
mkdir -p "$OUT"

row() {
  local name=$1 weights=$2 layouts=$3
  shift 3
  local dir="$OUT/$name-$layouts"
  if [ -f "$dir/summary.json" ]; then
    echo "[$name, $layouts] done already ($dir/summary.json)"
    return
  fi
  echo "[$name, $layouts] $EPISODES episodes -> $dir"
  jepa plan --ckpt "$weights" --episodes "$EPISODES" --layouts "$layouts" --seed "$SEED" \
    --device "${DEVICE:-auto}" --out "$dir" "$@" 2>&1 | tee "$dir.log"
}

for layouts in seen unseen; do
  row compact model_weights.pth "$layouts" "$@"
done
for layouts in seen unseen; do
  row generic releases/generic/model_weights.pth "$layouts" "$@"
done
