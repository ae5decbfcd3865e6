#!/usr/bin/env bash
# The planning benchmark at its full budget in one command: both released models, seen and
# unseen layouts, the benchmark planner settings (configs/planning/mppi.yaml) for both, seed 0,
# with the random floor and the simulator ceiling (docs/planning.md; its generic-model table
# was measured on a CPU with a reduced budget, 40 episodes: this is the run that replaces it). Meant for a machine with a GPU (`--device auto` picks
# it); on a 2-core CPU the generic rows take about two minutes per episode.
#
#   bash scripts/planning_benchmark.sh plans/benchmark            # 200 episodes per row
#   EPISODES=20 bash scripts/planning_benchmark.sh plans/quick    # fewer
#   DEVICE=cuda:1 bash scripts/planning_benchmark.sh plans/b      # another device (default auto)
#   bash scripts/planning_benchmark.sh plans/b --batch_size 50    # extra options go to every `jepa plan`
#
# Each row writes OUT/<model>-<layouts>/ (episode files, summary.json, pictures) and its log
# OUT/<model>-<layouts>.log; a row whose folder already holds a summary.json (written last) is
# skipped, so an interrupted run resumes at the row it was on. Uses the active Python environment (on a fresh
# machine: `bash scripts/setup.sh` then `. .venv/bin/activate`; for a GPU, a CUDA build of torch).
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bash scripts/planning_benchmark.sh OUT [jepa plan options...]" >&2
  exit 2
fi
OUT=$(realpath -m "$1")   # relative to where the script was called from
shift
cd "$(dirname "$0")/.."
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
  local again=()
  # A folder without summary.json is a row this script started and that died while writing
  # its files: `jepa plan --overwrite` replaces only its own result files there.
  if [ -d "$dir" ]; then again=(--overwrite true); fi
  echo "[$name, $layouts] $EPISODES episodes -> $dir"
  jepa plan --ckpt "$weights" --episodes "$EPISODES" --layouts "$layouts" --seed "$SEED" \
    --device "${DEVICE:-auto}" --out "$dir" "${again[@]}" "$@" 2>&1 | tee "$dir.log"
}

for layouts in seen unseen; do
  row compact model_weights.pth "$layouts" "$@"
done
for layouts in seen unseen; do
  row generic releases/generic/model_weights.pth "$layouts" "$@"
done
