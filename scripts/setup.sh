#!/usr/bin/env bash
# Set up a virtual environment in .venv with the CPU build of torch and the package (editable, dev extras).
# GPU users: skip the pinned CPU torch line and let pip pick the CUDA build for your machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  # A pinned torch keeps CI on the small CPU build; override JEPA_TORCH_VERSION for another one.
  python -m pip install -q "torch==${JEPA_TORCH_VERSION:-2.13.0}"
fi
python -m pip install -q -e ".[dev]"
