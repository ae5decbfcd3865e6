"""Named data-set presets: the size of every split and the storage dtype."""

from __future__ import annotations

from dataclasses import dataclass


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
