"""A generic world model: learned keypoints from pixels, a gated residual MLP predictor.

Nothing in this file knows what the task's quantities are. The encoder does not read the agent's
position, the wall column or the door row by any fixed rule, and the predictor does not know
that the representation holds a position, let alone a 2-D one. Both are trained end to end by
the JEPA objective alone.

Priors carried (declared, because they are choices and not results):

- **Two branches.** The agent channel and the wall channel are encoded by separate convolutional
  branches, and the representation is ``[dynamic part (from the agent channel), static part
  (from the wall channel)]``.
- **Keypoints.** Each branch ends in a spatial soft-argmax over learned feature maps: every map
  becomes the expected ``(u, v)`` of its normalised weights over a fixed grid of the map's pixel
  centres scaled to ``[-1, 1]`` (the grid is the only fixed tensor, as in any soft-argmax). The
  weights are the rectified map normalised to sum to 1. A learned linear layer maps the
  keypoints to a wider code.
- **Static part carried.** The predictor updates the dynamic part only; the static part (the
  wall branch's code of the first frame) is passed through the unroll unchanged.
- **Gated residual predictor.** ``dynamic' = dynamic + gate · delta``, with ``gate`` one learned
  sigmoid in ``[0, 1]`` (with a learned temperature) and ``delta`` a learned linear read-out of
  an MLP's hidden features and of the action. Both are functions of the whole representation
  and the action; the single gate lets the model express "the step happens, or it does not" as
  easily as a GRU's update gate.

Initialisation choices (not constraints): the convolutions are bias-free, so an empty region
maps to zero; the last convolution of each branch starts with non-negative weights so that every
map responds to its channel's content from the first step; the predictor starts as the identity
(zero read-out) with the gate open.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.checks import check_positive
from jepa_world.env.geometry import IMAGE_SIZE
from jepa_world.models.encoders import RAW_PEAK, check_frames
from jepa_world.models.predictors import check_step_inputs

#: Added to the rectified maps, so an empty map gives uniform weights.
HEAT_FLOOR: float = 1e-6


# ---------------------------------------------------------------------------------------------
# Plain functions
# ---------------------------------------------------------------------------------------------


def map_grid(side: int) -> Tensor:
    """Pixel centres of a ``side``-wide map scaled to ``[-1, 1]``."""
    return torch.linspace(-1.0, 1.0, side)


def expected_position(weights: Tensor, grid: Tensor) -> Tensor:
    """``Σ weights · (u, v)`` over each map's pixels: ``(N, K, H, W)`` → ``(N, K, 2)``."""
    u = (weights.sum(dim=2) * grid).sum(dim=-1)
    v = (weights.sum(dim=3) * grid).sum(dim=-1)
    return torch.stack([u, v], dim=-1)


def spatial_soft_argmax(maps: Tensor, grid: Tensor) -> Tensor:
    """Expected ``(u, v)`` of each map under its rectified values, normalised to sum to 1.

    ``maps (N, K, H, W)`` with ``H == W == len(grid)`` and ``grid`` symmetric about 0 →
    ``(N, K, 2)``: ``u`` along the width, ``v`` along the height. The normalised rectified map
    plays the role of the softmax of the usual soft-argmax; unlike an exponential softmax it does
    not pull a smooth bump towards the pixel grid. ``HEAT_FLOOR`` per pixel is added to the mass
    (its mean position is 0), so an empty map reads as the centre.
    """
    heat = F.relu(maps)
    mass = heat.sum(dim=(2, 3)) + HEAT_FLOOR * maps.shape[2] * maps.shape[3]
    return expected_position(heat, grid) / mass[..., None]


def spatial_softmax_argmax(maps: Tensor, grid: Tensor, temperature: Tensor) -> Tensor:
    """Expected ``(u, v)`` of each map under ``softmax(temperature · map)`` over its pixels.

    The classic soft-argmax: a large ``temperature`` makes it the position of the strongest
    response, however many weaker responses the map has elsewhere. Shapes as
    :func:`spatial_soft_argmax`.
    """
    n, k, h, w = maps.shape
    weights = torch.softmax((temperature * maps).reshape(n, k, h * w), dim=-1).reshape(n, k, h, w)
    return expected_position(weights, grid)


def coordinate_maps(like: Tensor, grid: Tensor) -> Tensor:
    """``(N, 2, H, W)`` CoordConv maps (column and row positions in ``[-1, 1]``)."""
    n, _, h, w = like.shape
    cols = grid.view(1, 1, 1, w).expand(n, 1, h, w)
    rows = grid.view(1, 1, h, 1).expand(n, 1, h, w)
    return torch.cat([cols, rows], dim=1).to(like.dtype)


def gated_residual(state: Tensor, gate_logit: Tensor, temperature: Tensor, delta: Tensor) -> Tensor:
    """``state + sigmoid(temperature · gate_logit) · delta``."""
    return state + torch.sigmoid(temperature * gate_logit) * delta


# ---------------------------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------------------------


class KeypointBranch(nn.Module):
    """One channel → learned maps → spatial soft-argmax keypoints → learned linear code.

    ``Conv(1, width, 5, stride) → ReLU → Conv(width, keypoints, 3)`` on the 65×65 channel gives
    ``keypoints`` maps (33×33 at stride 2, 17×17 at stride 4), each read as an expected position,
    and a linear layer expands the ``2·keypoints`` numbers into ``out_dim``.

    ``softmax=True`` reads each map with the exponential soft-argmax (a learned temperature per
    map) instead of the rectified mean, so a map can point at its strongest response alone;
    ``coords=True`` gives the first convolution two CoordConv maps (column and row in
    ``[-1, 1]``), so the filters may respond differently in different parts of the frame.
    """

    def __init__(
        self,
        width: int,
        keypoints: int,
        out_dim: int,
        stride: int,
        softmax: bool = False,
        coords: bool = False,
    ) -> None:
        super().__init__()
        self.softmax, self.coords = softmax, coords
        self.features = nn.Sequential(
            nn.Conv2d(3 if coords else 1, width, 5, stride=stride, padding=2, bias=False),
            nn.ReLU(),
            nn.Conv2d(width, keypoints, 3, padding=1, bias=False),
        )
        nn.init.kaiming_normal_(self.features[0].weight, nonlinearity="relu")
        with torch.no_grad():
            last = self.features[2].weight
            last.copy_(last.abs() / last.abs().sum(dim=(1, 2, 3), keepdim=True))
        self.expand = nn.Linear(2 * keypoints, out_dim)
        if softmax:
            self.log_temperature = nn.Parameter(torch.full((1, keypoints, 1, 1), 2.0))
        self.register_buffer("grid", map_grid((IMAGE_SIZE - 1) // stride + 1), persistent=False)
        self.register_buffer("input_grid", map_grid(IMAGE_SIZE), persistent=False)
        # Channels-last convolutions run several times faster on CPU (oneDNN).
        self.to(memory_format=torch.channels_last)

    def keypoints(self, channel: Tensor) -> Tensor:
        """``(N, 1, 65, 65)`` scaled frames → ``(N, keypoints, 2)`` in ``[-1, 1]``."""
        if self.coords:
            channel = torch.cat([channel, coordinate_maps(channel, self.input_grid)], dim=1)
            channel = channel.contiguous(memory_format=torch.channels_last)
        maps = self.features(channel)
        if self.softmax:
            return spatial_softmax_argmax(maps, self.grid, self.log_temperature.exp())
        return spatial_soft_argmax(maps, self.grid)

    def forward(self, channel: Tensor) -> Tensor:
        return self.expand(self.keypoints(channel).flatten(1))


class GenericEncoder(nn.Module):
    """Agent and wall channels through their own keypoint branches: ``[dynamic, static]``.

    Args:
        dynamic_dim: Size of the agent branch's code (the part the predictor updates).
        static_dim: Size of the wall branch's code (carried unchanged through the unroll).
        agent_width: Channels of the agent branch's first convolution.
        agent_keypoints: Keypoints (feature maps) of the agent branch.
        wall_width: Channels of the wall branch's first convolution.
        wall_keypoints: Keypoints of the wall branch.
        agent_stride: Stride of the agent branch's first convolution (its maps' resolution).
        wall_stride: Stride of the wall branch's first convolution.
        input_scale: Factor applied to raw frames (default ``1 / RAW_PEAK``, peak ≈ 1).

    Example:
        >>> enc = GenericEncoder(dynamic_dim=16, static_dim=4)
        >>> enc(torch.rand(3, 2, 65, 65) * 0.09).shape
        torch.Size([3, 20])
    """

    def __init__(
        self,
        dynamic_dim: int = 64,
        static_dim: int = 16,
        agent_width: int = 8,
        agent_keypoints: int = 4,
        wall_width: int = 4,
        wall_keypoints: int = 4,
        agent_stride: int = 2,
        wall_stride: int = 4,
        input_scale: float = 1.0 / RAW_PEAK,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(
            name,
            dynamic_dim=dynamic_dim,
            static_dim=static_dim,
            agent_width=agent_width,
            agent_keypoints=agent_keypoints,
            wall_width=wall_width,
            wall_keypoints=wall_keypoints,
            agent_stride=agent_stride,
            wall_stride=wall_stride,
            input_scale=input_scale,
        )
        self.init_args = {
            "dynamic_dim": dynamic_dim,
            "static_dim": static_dim,
            "agent_width": agent_width,
            "agent_keypoints": agent_keypoints,
            "wall_width": wall_width,
            "wall_keypoints": wall_keypoints,
            "agent_stride": agent_stride,
            "wall_stride": wall_stride,
            "input_scale": float(input_scale),
        }
        self.dynamic_dim = dynamic_dim
        self.static_dim = static_dim
        self.repr_dim = dynamic_dim + static_dim
        self.input_scale = float(input_scale)
        self.agent = KeypointBranch(agent_width, agent_keypoints, dynamic_dim, agent_stride)
        self.wall = KeypointBranch(wall_width, wall_keypoints, static_dim, wall_stride)

    def forward(self, frames: Tensor) -> Tensor:
        check_frames(frames, type(self).__name__)
        # Scaling each one-channel slice on its own gives dense inputs (for one channel the
        # channels-first and channels-last layouts coincide).
        agent = self.agent(frames[:, :1] * self.input_scale)
        return torch.cat([agent, self.wall(frames[:, 1:] * self.input_scale)], dim=-1)


# ---------------------------------------------------------------------------------------------
# Predictor
# ---------------------------------------------------------------------------------------------


class GenericPredictor(nn.Module):
    """Gated residual MLP on ``[dynamic, static, action]``; the static part is carried over.

    ``h = MLP([z, a])`` (``depth`` SiLU layers of ``hidden_dim``), ``delta = W [h, a]``,
    ``gate = sigmoid(temperature · (w·h + b))``, ``dynamic' = dynamic + gate · delta``.
    ``W`` starts at zero (an untrained predictor is the identity) and ``b`` at ``gate_bias``
    (steps open at first).

    Args:
        dynamic_dim: Size of the dynamic part (first ``dynamic_dim`` entries of ``z``).
        static_dim: Size of the static part (the rest of ``z``).
        hidden_dim: Width of the hidden layers.
        depth: Number of hidden layers (at least 1).
        gate_bias: Initial bias of the gate's logit.
        action_dim: Size of an action.

    Example:
        >>> pred = GenericPredictor(dynamic_dim=16, static_dim=4, hidden_dim=32)
        >>> pred(torch.zeros(3, 20), torch.ones(3, 2)).shape
        torch.Size([3, 20])
    """

    def __init__(
        self,
        dynamic_dim: int = 64,
        static_dim: int = 16,
        hidden_dim: int = 128,
        depth: int = 2,
        gate_bias: float = 3.0,
        action_dim: int = 2,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(
            name,
            dynamic_dim=dynamic_dim,
            static_dim=static_dim,
            hidden_dim=hidden_dim,
            depth=depth,
            action_dim=action_dim,
        )
        self.init_args = {
            "dynamic_dim": dynamic_dim,
            "static_dim": static_dim,
            "hidden_dim": hidden_dim,
            "depth": depth,
            "gate_bias": float(gate_bias),
            "action_dim": action_dim,
        }
        self.dynamic_dim = dynamic_dim
        self.repr_dim = dynamic_dim + static_dim
        self.action_dim = action_dim
        layers: list[nn.Module] = []
        width = self.repr_dim + action_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden_dim), nn.SiLU()]
            width = hidden_dim
        self.body = nn.Sequential(*layers)
        self.delta = nn.Linear(hidden_dim + action_dim, dynamic_dim)
        nn.init.zeros_(self.delta.weight)
        nn.init.zeros_(self.delta.bias)
        self.gate = nn.Linear(hidden_dim, 1)
        with torch.no_grad():
            self.gate.weight.mul_(0.1)
            self.gate.bias.fill_(gate_bias)
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        check_step_inputs(z, action, self.repr_dim, self.action_dim, type(self).__name__)
        hidden = self.body(torch.cat([z, action], dim=-1))
        delta = self.delta(torch.cat([hidden, action], dim=-1))
        dynamic = gated_residual(
            z[:, : self.dynamic_dim], self.gate(hidden), self.log_temperature.exp(), delta
        )
        return torch.cat([dynamic, z[:, self.dynamic_dim :]], dim=-1)
