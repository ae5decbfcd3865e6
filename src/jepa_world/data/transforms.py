"""Augmentations of training windows: mirror images with the actions mirrored to match."""

from __future__ import annotations

from collections.abc import Callable

import torch

from jepa_world.data.datasets import Sample
from jepa_world.env.geometry import IMAGE_SIZE

#: Pixel ``c`` maps to ``MIRROR - c`` (64 - c).
MIRROR = IMAGE_SIZE - 1


class Mirror:
    """Reflect a sample across the image's vertical (``axis="x"``) or horizontal (``"y"``) midline.

    The reflection ``c -> 64 - c`` maps the task onto itself exactly: borders 4 and 60 swap,
    ``door_y`` 10..54 and ``wall_x`` 20..44 map into their own ranges, the Gaussian and the
    transition rule are symmetric, and the random walks are isotropic. Images flip along one
    axis, that component of the actions (and locations) changes sign (``x -> 64 - x``).

    Mirroring in x turns ``wall_x`` into ``64 - wall_x``: with training walls outside 40..44
    it shows the model walls at 40..44, the columns ``probe_wall_other`` keeps out of training.
    Mirroring in y leaves ``wall_x`` alone.

    Args:
        axis: "x" (columns) or "y" (rows).
        p: probability of mirroring each sample.
    """

    def __init__(self, axis: str = "y", p: float = 0.5) -> None:
        if axis not in ("x", "y"):
            raise ValueError(f"axis: expected 'x' or 'y', got {axis!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p: expected a probability in [0, 1], got {p}")
        self.axis, self.p = axis, p
        self.component = 0 if axis == "x" else 1
        self.image_dim = -1 if axis == "x" else -2

    def __call__(self, sample: Sample) -> Sample:
        if self.p <= 0 or (self.p < 1 and torch.rand(()) >= self.p):
            return sample
        out = dict(sample)
        out["states"] = torch.flip(sample["states"], dims=[self.image_dim])
        actions = sample["actions"].clone()
        actions[..., self.component] = -actions[..., self.component]
        out["actions"] = actions
        if "locations" in sample:
            locations = sample["locations"].clone()
            locations[..., self.component] = MIRROR - locations[..., self.component]
            out["locations"] = locations
        return out


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: list[Callable[[Sample], Sample]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: Sample) -> Sample:
        for transform in self.transforms:
            sample = transform(sample)
        return sample
