"""Decode imagined representations into positions, to draw a plan the way the model sees it.

A planner works in representation space only; to show what it *imagined*, the predicted
representations along a plan need a read-out to pixels. This is a probe in the protocol's
sense, used for pictures and nothing else: a ridge regression from representations to the
agent's position, fitted on frames rendered at random free positions of the very layouts being
drawn (so a picture never depends on a data set). The planner never sees it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from jepa_world.env.geometry import START_MAX, START_MIN, in_wall
from jepa_world.planning.episodes import Episodes
from jepa_world.planning.mpc import frames_at

#: Positions rendered per layout to fit the read-out.
READOUT_SAMPLES: int = 300
#: Ridge penalty, relative to the mean squared norm of the centred representations.
READOUT_RIDGE: float = 1e-4

Readout = Callable[[Tensor], Tensor]


def _device(model: nn.Module) -> torch.device:
    """Where the model's parameters (or, without any, its buffers) live; the CPU for neither."""
    return next(model.parameters(), next(model.buffers(), torch.zeros(0))).device


def free_positions(rng: np.random.Generator, episodes: Episodes, per_layout: int) -> np.ndarray:
    """``(len(episodes) · per_layout, 2)`` positions uniform over each layout's free area."""
    n = len(episodes)
    wall_x = np.repeat(episodes.wall_x, per_layout)
    door_y = np.repeat(episodes.door_y, per_layout)
    points = rng.uniform(START_MIN, START_MAX, size=(n * per_layout, 2))
    blocked = in_wall(points, wall_x, door_y)
    while blocked.any():
        points[blocked] = rng.uniform(START_MIN, START_MAX, size=(int(blocked.sum()), 2))
        blocked = in_wall(points, wall_x, door_y)
    return points.astype(np.float32)


def fit_readout(
    model: nn.Module,
    episodes: Episodes,
    per_layout: int = READOUT_SAMPLES,
    ridge: float = READOUT_RIDGE,
    seed: int = 0,
) -> Readout:
    """A ridge read-out ``z → (x, y)`` fitted on rendered frames of ``episodes``' layouts.

    Args:
        model: A world model (its ``encoder`` is used).
        episodes: The layouts to fit on (starts and goals are not used).
        per_layout: Frames rendered per layout.
        ridge: Penalty relative to the mean squared norm of the centred representations.
        seed: Seed of the sampled positions.

    Returns:
        A function from representations ``(..., D)`` to positions ``(..., 2)`` in pixels.
    """
    if per_layout < 1 or not ridge > 0:
        raise ValueError(
            f"fit_readout: per_layout must be >= 1 and ridge > 0, got {per_layout}, {ridge}"
        )
    positions = free_positions(np.random.default_rng(seed), episodes, per_layout)
    index = np.repeat(np.arange(len(episodes)), per_layout)
    with torch.no_grad():
        frames = frames_at(positions, episodes.take(index)).to(_device(model))
        z = model.encoder(frames).cpu().double()  # MPS has no float64
    targets = torch.from_numpy(positions).double()
    z_mean, t_mean = z.mean(0), targets.mean(0)
    zc = z - z_mean
    scale = ridge * zc.pow(2).sum(1).mean()
    # Solve in whichever space is smaller: features (D × D) or samples (N × N).
    if zc.shape[1] <= zc.shape[0]:
        gram = zc.T @ zc + scale * zc.shape[0] * torch.eye(zc.shape[1], dtype=zc.dtype)
        weights = torch.linalg.solve(gram, zc.T @ (targets - t_mean))
    else:
        kernel = zc @ zc.T + scale * zc.shape[0] * torch.eye(zc.shape[0], dtype=zc.dtype)
        weights = zc.T @ torch.linalg.solve(kernel, targets - t_mean)

    def readout(representations: Tensor) -> Tensor:
        flat = representations.detach().cpu().double()
        return ((flat - z_mean) @ weights + t_mean).float()

    return readout


def imagined_paths(
    model: nn.Module, episodes: Episodes, plans: np.ndarray, readout: Readout
) -> np.ndarray:
    """Positions ``(N, H + 1, 2)`` the model imagines along ``plans (N, H, 2)`` from each start.

    The start frame is encoded, the predictor is unrolled on the plan's actions, and every
    representation (the encoded start included) goes through ``readout``.
    """
    if plans.ndim != 3 or plans.shape[0] != len(episodes) or plans.shape[2] != 2:
        raise ValueError(
            f"imagined_paths: expected plans of shape ({len(episodes)}, H, 2), got {plans.shape}"
        )
    device = _device(model)
    with torch.no_grad():
        z = model.encoder(frames_at(episodes.start, episodes).to(device))
        steps = [z]
        for action in torch.from_numpy(plans).to(device).unbind(1):
            z = model.predictor(z, action)
            steps.append(z)
    return readout(torch.stack(steps, dim=1)).numpy()
