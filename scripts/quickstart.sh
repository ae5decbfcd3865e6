#!/usr/bin/env bash
# The main job on a fresh machine: set up, generate the quickstart data, train a small model on CPU,
# then probe it with the course protocol and print the results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
DATA=${JEPA_DATA_DIR:-data/quickstart}
RUNS=${JEPA_RUN_DIR:-runs}   # the run goes to $RUNS/quickstart/version_<n>/
if [ ! -f "$DATA/dataset.json" ]; then
  jepa data generate --out "$DATA" --preset quickstart
fi
jepa fit --config configs/quickstart.yaml --data.data_dir "$DATA" \
  --trainer.default_root_dir "$RUNS" --trainer.logger.init_args.save_dir "$RUNS"
CKPT=$(ls -t $(find "$RUNS/quickstart" -name last.ckpt) | head -n 1)
jepa probe --ckpt "$CKPT" --data "$DATA"
