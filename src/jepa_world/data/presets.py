"""Named data-set presets (the size of every split and the storage dtype), and the plan of the
split directories a preset turns into."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jepa_world.data.files import SPLITS
from jepa_world.env.geometry import IMAGE_SIZE

#: Values stored per frame (two channels of IMAGE_SIZE²).
FRAME_VALUES = 2 * IMAGE_SIZE * IMAGE_SIZE


@dataclass(frozen=True)
class Preset:
    """Split sizes (trajectories) and the storage dtype of a named preset."""

    train_size: int
    probe_train_size: int
    probe_val_size: int
    wall_size: int
    wall_other_size: int
    expert_train_size: int
    expert_val_size: int
    dtype: str
    about: str


PRESETS: dict[str, Preset] = {
    "tiny": Preset(96, 64, 32, 32, 32, 32, 16, "float32", "a few hundred trajectories, for tests"),
    "quickstart": Preset(
        train_size=8000,
        probe_train_size=8000,
        probe_val_size=500,
        wall_size=500,
        wall_other_size=500,
        expert_train_size=4000,
        expert_val_size=150,
        dtype="uint8",
        about="about 565k frames, 4.8 GB as uint8: a few minutes of CPU training, and probe-train "
        "sets large enough for the course prober",
    ),
    "course": Preset(
        train_size=147008,
        probe_train_size=9984,
        probe_val_size=4000,
        wall_size=4000,
        wall_other_size=4000,
        expert_train_size=10000,
        expert_val_size=4000,
        dtype="float32",
        about="the course sizes (2.5M training frames, 84.5 GB as float32 for train alone)",
    ),
}
"""Named presets; every size and the dtype can be overridden in :func:`generate_dataset`."""


@dataclass(frozen=True)
class SplitPlan:
    """What one split directory will hold and how its trajectories are drawn."""

    name: str
    kind: str  # "random", "wall_run" or "expert"
    size: int
    steps: int
    locations: bool
    exclude_wall: tuple[int, int] | None
    only_wall: tuple[int, int] | None

    def shapes(self) -> dict[str, list[int]]:
        out = {
            "states": [self.size, self.steps, 2, IMAGE_SIZE, IMAGE_SIZE],
            "actions": [self.size, self.steps - 1, 2],
            "layouts": [self.size, 2],
        }
        if self.locations:
            out["locations"] = [self.size, self.steps, 2]
        return out


def check_size(name: str, value: int, minimum: int = 1) -> int:
    if int(value) != value or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def plan_splits(
    preset: Preset,
    steps: int,
    expert_steps: int,
    exclude_wall: tuple[int, int] | None,
) -> list[SplitPlan]:
    """The seven splits of a data set, in :data:`~jepa_world.data.files.SPLITS` order."""
    p = preset
    ood = exclude_wall  # probe_wall_other draws exactly the layouts kept out of training
    rows = {
        "train": ("random", p.train_size, steps, False, exclude_wall, None),
        "probe_normal/train": ("random", p.probe_train_size, steps, True, exclude_wall, None),
        "probe_normal/val": ("random", p.probe_val_size, steps, True, exclude_wall, None),
        "probe_wall/val": ("wall_run", p.wall_size, steps, True, exclude_wall, None),
        "probe_wall_other/val": ("random", p.wall_other_size, steps, True, None, ood),
        "probe_expert/train": (
            "expert",
            p.expert_train_size,
            expert_steps,
            True,
            exclude_wall,
            None,
        ),
        "probe_expert/val": ("expert", p.expert_val_size, expert_steps, True, exclude_wall, None),
    }
    return [SplitPlan(name, *rows[name]) for name in SPLITS]


def estimate_bytes(plans: list[SplitPlan], dtype: str) -> int:
    """Bytes the data set will take on disk (states dominate)."""
    itemsize = np.dtype(dtype).itemsize
    total = 0
    for plan in plans:
        frames = plan.size * plan.steps
        total += frames * FRAME_VALUES * itemsize
        total += plan.size * (plan.steps - 1) * 2 * 4 + plan.size * 2 * 8
        total += frames * 2 * 4 if plan.locations else 0
    return total
