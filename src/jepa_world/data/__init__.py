"""Data sets of the two-rooms task: files on disk, the generator, the DataModule, pictures.

``files`` (numpy only) is imported eagerly; the rest loads on first use, so opening a split
does not pull in Lightning or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

from jepa_world.data.files import SPLITS, DataError, Split, open_split

_LAZY = {
    "PRESETS": "jepa_world.data.presets",
    "generate_dataset": "jepa_world.data.generate",
    "load_manifest": "jepa_world.data.generate",
    "TrajectoryDataModule": "jepa_world.data.datamodule",
    "WindowDataset": "jepa_world.data.datasets",
    "ProbeDataset": "jepa_world.data.datasets",
    "Mirror": "jepa_world.data.transforms",
    "show_trajectories": "jepa_world.data.show",
}

__all__ = ["SPLITS", "DataError", "Split", "open_split", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'jepa_world.data' has no attribute {name!r}")
