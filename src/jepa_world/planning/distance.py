"""How far an imagined representation is from the goal's: the planner's distance.

``plain`` is the Euclidean distance between the two codes. It is the right measure for a code
whose distances grow with the distance between positions (the compact model's code is the
position itself), and a poor one for a code made of feature maps: once the agent's activity in
the two maps no longer overlaps, every further step away leaves the distance unchanged. For the
generic model (33×33 maps) it stops growing about 12 px from the goal, so a planner gets no
signal from candidates that end farther away.

``pyramid`` keeps the Euclidean distance but takes it at several scales: the maps are box-blurred
with windows of 1, 5, 9, 17 and 33 cells (as far as the map allows), and the distance at each
scale is divided by the size of the goal's own pattern at that scale (its maps minus their
spatial mean), so every scale saturates near √2 and counts alike. The coarse scales keep
growing where the fine one has saturated; the fine one keeps the minimum sharp. Nothing in it
knows about positions: it uses only the layout of the code (channels × side × side), which the
encoder declares as ``map_shape``. Numbers of the code after the maps (if any) are compared plainly.

``auto`` (the default everywhere) is ``pyramid`` for an encoder that declares ``map_shape`` and
``plain`` otherwise.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

#: How the distance to the goal is measured (see the module docstring).
DistanceMode = Literal["auto", "plain", "pyramid"]
DISTANCE_MODES: tuple[str, ...] = ("auto", "plain", "pyramid")
#: Box-blur windows of the ``pyramid`` distance, in map cells (those larger than the map are dropped).
PYRAMID_SIZES: tuple[int, ...] = (1, 5, 9, 17, 33)


def map_shape_of(model: nn.Module) -> tuple[int, int, int] | None:
    """``(channels, side, side)`` of the maps at the start of ``model``'s code, or ``None``.

    Read from ``model.encoder.map_shape``; encoders whose code is a plain vector do not declare it.
    """
    shape = getattr(getattr(model, "encoder", None), "map_shape", None)
    if shape is None:
        return None
    c, h, w = (int(v) for v in shape)
    return c, h, w


def resolve_distance(mode: DistanceMode, model: nn.Module) -> Literal["plain", "pyramid"]:
    """The distance ``mode`` means for ``model``: ``auto`` becomes ``pyramid`` or ``plain``."""
    return _resolve(mode, map_shape_of(model))


def _resolve(
    mode: DistanceMode, map_shape: tuple[int, int, int] | None
) -> Literal["plain", "pyramid"]:
    if mode not in DISTANCE_MODES:
        raise ValueError(f"unknown distance {mode!r}; expected one of {', '.join(DISTANCE_MODES)}")
    if mode == "auto":
        return "pyramid" if map_shape is not None else "plain"
    return mode


def box_blur(maps: Tensor, size: int) -> Tensor:
    """Mean over a ``size × size`` window around every cell of ``maps (..., H, W)``.

    Windows are cut at the border (the mean is over the cells inside the map). Computed with
    running sums, so the cost does not grow with ``size``; differentiable.
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"box_blur: size must be a positive odd number, got {size}")
    if size == 1:
        return maps
    return _box_mean(_box_mean(maps, size // 2, -1), size // 2, -2)


def _box_mean(x: Tensor, radius: int, dim: int) -> Tensor:
    n = x.shape[dim]
    zero = torch.zeros_like(x.narrow(dim, 0, 1))
    run = torch.cat([zero, x.cumsum(dim)], dim=dim)  # run[i] = sum of x[:i]
    idx = torch.arange(n, device=x.device)
    hi = (idx + radius + 1).clamp(max=n)
    lo = (idx - radius).clamp(min=0)
    shape = [1] * x.ndim
    shape[dim] = n
    count = (hi - lo).to(x.dtype).reshape(shape)
    return (run.index_select(dim, hi) - run.index_select(dim, lo)) / count


class GoalDistance:
    """Distance of candidate codes ``(B, S, D)`` to the goal codes ``(B, D)`` → ``(B, S)``.

    Args:
        z_goal: ``(B, D)`` encodings of the goal frames.
        mode: ``plain``, ``pyramid`` or ``auto`` (see the module docstring).
        map_shape: The code's leading ``(channels, side, side)`` maps (needed by ``pyramid``).
    """

    def __init__(
        self,
        z_goal: Tensor,
        mode: DistanceMode = "auto",
        map_shape: tuple[int, int, int] | None = None,
    ) -> None:
        self.mode = _resolve(mode, map_shape)
        self.map_shape = map_shape
        self.goal = z_goal
        if self.mode == "pyramid":
            if map_shape is None:
                raise ValueError(
                    "GoalDistance: the pyramid distance needs a code made of feature maps "
                    "(an encoder with `map_shape`); use distance 'plain' for this model"
                )
            c, h, w = map_shape
            if c * h * w > z_goal.shape[-1]:
                raise ValueError(
                    f"GoalDistance: map_shape {map_shape} holds {c * h * w} numbers, more than "
                    f"the code's {z_goal.shape[-1]}"
                )
            self.sizes = tuple(k for k in PYRAMID_SIZES if k <= max(h, w)) or (1,)
            maps = z_goal[:, : c * h * w].reshape(-1, c, h, w)
            self.goal_scales: list[tuple[Tensor, Tensor]] = []
            for k in self.sizes:
                blurred = box_blur(maps, k)
                spread = (blurred - blurred.mean(dim=(-2, -1), keepdim=True)).flatten(1).norm(dim=1)
                self.goal_scales.append((blurred, spread.clamp(min=1e-6)))
            self.rest = z_goal[:, c * h * w :]

    def __call__(self, z: Tensor) -> Tensor:
        b, s, d = z.shape
        if self.mode == "plain":
            return (z - self.goal[:, None]).norm(dim=-1)
        assert self.map_shape is not None
        c, h, w = self.map_shape
        maps = z[..., : c * h * w].reshape(b, s, c, h, w)
        total = torch.zeros(b, s, dtype=z.dtype, device=z.device)
        for k, (goal, spread) in zip(self.sizes, self.goal_scales, strict=True):
            diff = box_blur(maps, k) - goal[:, None]
            total = total + diff.flatten(2).norm(dim=-1) / spread[:, None]
        if self.rest.shape[-1]:
            total = total + (z[..., c * h * w :] - self.rest[:, None]).norm(dim=-1)
        return total
