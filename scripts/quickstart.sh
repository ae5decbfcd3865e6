#!/usr/bin/env bash
# The main job on a fresh machine: set up, generate the quickstart data, train a small model on CPU,
# then probe it with the course protocol and print the results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
DATA=${JEPA_DATA_DIR:-data/quickstart}
RUN=${JEPA_RUN_DIR:-runs/quickstart}
if [ ! -f "$DATA/dataset.json" ]; then
  jepa data generate --out "$DATA" --preset quickstart
fi
jepa fit --config configs/quickstart.yaml --data.data_dir "$DATA" --trainer.default_root_dir "$RUN"
CKPT=$(ls -t $(find "$RUN" -name last.ckpt) | head -n 1)
jepa probe --ckpt "$CKPT" --data "$DATA"
