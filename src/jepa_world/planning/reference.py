"""The reference rows of a planning table: a floor (random actions) and a ceiling (the simulator).

- :class:`RandomActions` is a "planner" that ignores the cost and returns actions drawn
  uniformly in the disc of radius ``max_norm``: the success rate anything must beat.
- :func:`simulator_model` is a :class:`~jepa_world.models.WorldModel` whose representation is
  the true state ``(x, y, wall_x, door_y)`` in pixels, read exactly off the frame, and whose
  predictor is the simulator's transition rule. Planning with it under the same planner and
  settings shows what the planner achieves with a perfect model; the gap to a learned model is
  the model's, the gap to 100 % the planner's.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from jepa_world.env.geometry import DOOR_HALF_HEIGHT, SIGMA, WALL_HALF_WIDTH
from jepa_world.env.physics import blocked_steps
from jepa_world.models.coordinate import wall_layout
from jepa_world.models.world_model import WorldModel
from jepa_world.planning.base import CostFn, Planner, check_init


class RandomActions(Planner):
    """Random actions, uniform in the disc of radius ``max_norm``; the cost is ignored.

    Args:
        horizon: Actions per plan.
    """

    def __init__(self, horizon: int = 80) -> None:
        super().__init__(horizon)

    @torch.no_grad()
    def optimise(
        self, cost: CostFn, init: Tensor, max_norm: float, generator: torch.Generator
    ) -> Tensor:
        check_init(type(self).__name__, init, self.horizon)
        b, h, _ = init.shape
        radius = max_norm * torch.rand(b, h, generator=generator, device=init.device).sqrt()
        angle = 2 * math.pi * torch.rand(b, h, generator=generator, device=init.device)
        return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=-1)


def peak_position(agent: Tensor) -> Tensor:
    """The exact centre ``(x, y)`` of rendered agent blobs ``(N, 65, 65)``, in pixels.

    A Gaussian's logarithm is a parabola, so three pixels around the brightest one give the
    centre exactly: ``c + sigma^2 (log I(c+1) - log I(c-1)) / 2`` on each axis. The agent lives
    inside (4, 60), so the neighbours always exist.
    """
    columns = agent.sum(dim=-2).clamp_min(1e-30).log()  # (N, 65): log column profile
    rows = agent.sum(dim=-1).clamp_min(1e-30).log()
    out = []
    for profile in (columns, rows):
        c = profile.argmax(dim=-1, keepdim=True).clamp(1, profile.shape[-1] - 2)
        right = profile.gather(-1, c + 1)
        left = profile.gather(-1, c - 1)
        out.append((c.to(profile.dtype) + 0.5 * SIGMA**2 * (right - left))[:, 0])
    return torch.stack(out, dim=-1)


class SimulatorEncoder(nn.Module):
    """Frames ``(N, 2, 65, 65)`` → the true state ``(N, 4)`` = ``(x, y, wall_x, door_y)``."""

    repr_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("grid", torch.arange(65, dtype=torch.float32), persistent=False)

    def forward(self, frames: Tensor) -> Tensor:
        position = peak_position(frames[:, 0].float())
        layout = wall_layout(frames[:, 1].float(), self.grid.to(frames.device))
        return torch.cat([position, layout.round()], dim=-1)


class SimulatorPredictor(nn.Module):
    """The transition rule as a predictor: ``(z (N, 4), a (N, 2))`` → the next true state.

    Which steps are blocked is decided by :func:`~jepa_world.env.physics.blocked_steps` on
    detached values; a free step is ``p + a`` in torch, so a gradient flows through it (and
    is zero through a blocked one, as the physics says).
    """

    repr_dim = 4
    action_dim = 2

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        position, layout = z[:, :2], z[:, 2:]
        proposal = position + action
        lay = layout.detach().cpu().double().numpy()
        faces_and_edges = (
            lay[:, 0] - WALL_HALF_WIDTH,
            lay[:, 0] + WALL_HALF_WIDTH,
            lay[:, 1] - DOOR_HALF_HEIGHT,
            lay[:, 1] + DOOR_HALF_HEIGHT,
        )
        blocked = blocked_steps(
            position.detach().cpu().numpy().astype(np.float32),
            proposal.detach().cpu().numpy().astype(np.float32),
            *faces_and_edges,
        )
        stay = torch.from_numpy(blocked).to(z.device)[:, None]
        return torch.cat([torch.where(stay, position, proposal), layout], dim=-1)


def simulator_model() -> WorldModel:
    """A world model that is the simulator itself (the ceiling of a planning table)."""
    return WorldModel(SimulatorEncoder(), SimulatorPredictor()).eval()
