"""Opening the probe splits of a data directory, and which of them are missing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from jepa_world.probing.representations import first_frames
from jepa_world.probing.results import ALL_SETS, PROBE_SETS


class ProbeDataError(RuntimeError):
    """A probe split needed for the evaluation is missing or unreadable."""


def open_probe_split(path: Path) -> Any:
    """Open and validate a probe split (locations required)."""
    from jepa_world.data.files import open_split

    return open_split(path, need_locations=True)


def split_locations(split: Any, limit: int | None) -> Tensor:
    n = int(split.actions.shape[0]) if limit is None else min(limit, int(split.actions.shape[0]))
    return torch.from_numpy(np.asarray(split.locations[:n], dtype=np.float32))


def split_layouts(split: Any, indices: Sequence[int]) -> list[list[int]] | None:
    layouts = getattr(split, "layouts", None)
    if layouts is not None:
        return [[int(v) for v in np.asarray(layouts[i])] for i in indices]
    from jepa_world.env import layout_from_walls

    walls = np.stack([first_frames(split, i, i + 1)[0, 0, 1] for i in indices])
    wall_x, door_y = layout_from_walls(walls)
    return [[int(w), int(d)] for w, d in zip(wall_x.tolist(), door_y.tolist(), strict=True)]


def missing_splits(data_dir: str | Path, sets: Sequence[str]) -> dict[str, str]:
    """``{set: reason}`` for each requested set whose split directories are absent."""
    root = Path(data_dir)
    missing: dict[str, str] = {}
    for name in sets:
        if name not in PROBE_SETS:
            raise ValueError(f"unknown probe set {name!r}; expected one of {', '.join(ALL_SETS)}")
        probe_set = PROBE_SETS[name]
        absent = [s for s in (probe_set.train, probe_set.val) if not (root / s).is_dir()]
        if absent:
            missing[name] = "missing " + " and ".join(str(root / s) for s in absent)
    return missing
