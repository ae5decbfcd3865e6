"""A spatial world model: feature maps from a small CNN, a convolutional predictor.

The representation is a stack of low-resolution feature maps (17×17 at the default stride 4),
flattened. Nothing here knows what the task's quantities are: the encoder is two convolutional
branches and the predictor a residual CNN that updates the maps from themselves and the action.

Priors carried (declared, because they are choices and not results):

- **Two branches.** The agent and wall channels are encoded by separate convolutional branches;
  the representation is ``[dynamic maps (agent branch), static maps (wall branch)]``.
- **Static part carried.** The predictor updates the dynamic maps only; the static maps (the
  wall branch's code of the first frame) are passed through the unroll unchanged.
- **Locality and translation equivariance.** The representation keeps the image's layout
  (convolutions with stride), and the predictor is convolutional, so it learns one local rule
  that applies everywhere in the frame, wherever the wall is.
- **Action conditioning.** The action enters as two constant input maps and scales each hidden
  map (a learned ``1 + W a`` per hidden channel, FiLM-style), so the predictor can move content
  by an amount that depends on the action.

Initialisation choice (not a constraint): the predictor's last convolution starts at zero, so an
untrained predictor is the identity.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from jepa_world.checks import check_positive
from jepa_world.env.geometry import IMAGE_SIZE
from jepa_world.models.encoders import RAW_PEAK, check_frames
from jepa_world.models.generic import (
    KeypointBranch,
    coordinate_maps,
    map_grid,
)
from jepa_world.models.predictors import check_step_inputs


def map_side(stride: int) -> int:
    """Side of the feature maps of a 65×65 frame after two stride-2 convolutions (stride 4)."""
    side = IMAGE_SIZE
    for _ in range({2: 1, 4: 2}[stride]):
        side = (side - 1) // 2 + 1
    return side


def _branch(width: int, channels: int, stride: int) -> nn.Sequential:
    """``Conv5 s2 → ReLU → [Conv3 s2 → ReLU] → Conv3`` from one input channel."""
    layers: list[nn.Module] = [nn.Conv2d(1, width, 5, stride=2, padding=2), nn.ReLU()]
    if stride == 4:
        layers += [nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU()]
    layers.append(nn.Conv2d(width, channels, 3, padding=1))
    return nn.Sequential(*layers)


class SpatialEncoder(nn.Module):
    """Agent and wall channels through their own CNN branches → ``[dynamic, static]`` maps.

    Args:
        agent_channels: Maps of the agent branch (the part the predictor updates).
        wall_channels: Maps of the wall branch (carried unchanged through the unroll).
        agent_width: Hidden channels of the agent branch.
        wall_width: Hidden channels of the wall branch.
        stride: 2 (33×33 maps) or 4 (17×17 maps).
        input_scale: Factor applied to raw frames (default ``1 / RAW_PEAK``, peak ≈ 1).
        wall_code_dim: When set, the wall branch is a keypoint branch
            (:class:`~jepa_world.models.generic.KeypointBranch`, ``wall_keypoints`` learned
            soft-argmax keypoints widened to ``wall_code_dim`` numbers) instead of maps: a
            small code that varies smoothly with the layout.
        wall_keypoints: Keypoints of that branch.
        wall_softmax: That branch reads its maps with the exponential soft-argmax.
        wall_coords: That branch's first convolution gets CoordConv maps.

    Example:
        >>> enc = SpatialEncoder(agent_channels=2, wall_channels=1)
        >>> enc(torch.rand(3, 2, 65, 65) * 0.09).shape
        torch.Size([3, 867])
    """

    def __init__(
        self,
        agent_channels: int = 4,
        wall_channels: int = 2,
        agent_width: int = 16,
        wall_width: int = 8,
        stride: int = 4,
        input_scale: float = 1.0 / RAW_PEAK,
        wall_code_dim: int | None = None,
        wall_keypoints: int = 4,
        wall_softmax: bool = False,
        wall_coords: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(
            name,
            wall_keypoints=wall_keypoints,
            agent_channels=agent_channels,
            wall_channels=wall_channels,
            agent_width=agent_width,
            wall_width=wall_width,
            input_scale=input_scale,
        )
        if stride not in (2, 4):
            raise ValueError(f"{name}: stride must be 2 or 4, got {stride}")
        self.init_args = {
            "agent_channels": agent_channels,
            "wall_channels": wall_channels,
            "agent_width": agent_width,
            "wall_width": wall_width,
            "stride": stride,
            "input_scale": float(input_scale),
            "wall_code_dim": wall_code_dim,
            "wall_keypoints": wall_keypoints,
            "wall_softmax": bool(wall_softmax),
            "wall_coords": bool(wall_coords),
        }
        if wall_code_dim is not None and wall_code_dim < 1:
            raise ValueError(f"{name}: wall_code_dim must be positive, got {wall_code_dim}")
        self.side = map_side(stride)
        self.agent_channels = agent_channels
        self.wall_channels = wall_channels
        self.dynamic_dim = agent_channels * self.side**2
        self.static_dim = wall_code_dim or wall_channels * self.side**2
        self.wall_is_code = wall_code_dim is not None
        self.repr_dim = self.dynamic_dim + self.static_dim
        self.input_scale = float(input_scale)
        self.agent = _branch(agent_width, agent_channels, stride)
        self.wall: nn.Module
        if wall_code_dim is None:
            self.wall = _branch(wall_width, wall_channels, stride)
        else:
            self.wall = KeypointBranch(
                wall_width, wall_keypoints, wall_code_dim, 4, wall_softmax, wall_coords
            )
        # Channels-last convolutions run faster on CPU (oneDNN).
        self.to(memory_format=torch.channels_last)

    @property
    def map_shape(self) -> tuple[int, int, int]:
        """``(channels, side, side)`` of the feature maps that lead the code (flattened channel-major).

        The agent maps, then the wall maps unless the wall branch writes a keypoint code (which
        follows the maps). Planners use it to compare codes as maps
        (:mod:`jepa_world.planning.distance`).
        """
        channels = self.agent_channels + (0 if self.wall_is_code else self.wall_channels)
        return channels, self.side, self.side

    def forward(self, frames: Tensor) -> Tensor:
        check_frames(frames, type(self).__name__)
        scaled = frames * self.input_scale
        agent = self.agent(scaled[:, :1]).flatten(1)
        return torch.cat([agent, self.wall(scaled[:, 1:]).flatten(1)], dim=-1)


class SpatialPredictor(nn.Module):
    """Residual CNN on ``[dynamic maps, static maps, action maps]``; the static maps carried over.

    ``h = ReLU((conv(x)) · (1 + W_i a))`` for ``depth - 1`` hidden layers, then
    ``dynamic' = dynamic + conv(h)`` (zero at initialisation).

    Args:
        dynamic_channels: Dynamic maps (first ``dynamic_channels · side²`` entries of ``z``).
        static_channels: Static maps (the rest of ``z``).
        side: Side of the maps.
        hidden_channels: Width of the hidden convolutions.
        depth: Number of convolutions (at least 2).
        action_dim: Size of an action.
        static_code_dim: When set, the static part is a code of this many numbers (an encoder
            with ``wall_code_dim``) instead of maps: it enters as constant input maps, beside
            two CoordConv maps (column and row in ``[-1, 1]``), so the convolutions can compare
            a place with the layout the code describes.

    Example:
        >>> pred = SpatialPredictor(dynamic_channels=2, static_channels=1, side=17)
        >>> pred(torch.zeros(3, 867), torch.ones(3, 2)).shape
        torch.Size([3, 867])
    """

    def __init__(
        self,
        dynamic_channels: int = 4,
        static_channels: int = 2,
        side: int = 17,
        hidden_channels: int = 32,
        depth: int = 3,
        action_dim: int = 2,
        static_code_dim: int | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(
            name,
            dynamic_channels=dynamic_channels,
            static_channels=static_channels,
            side=side,
            hidden_channels=hidden_channels,
            action_dim=action_dim,
        )
        if depth < 2:
            raise ValueError(f"{name}: depth must be at least 2, got {depth}")
        self.init_args = {
            "dynamic_channels": dynamic_channels,
            "static_channels": static_channels,
            "side": side,
            "hidden_channels": hidden_channels,
            "depth": depth,
            "action_dim": action_dim,
            "static_code_dim": static_code_dim,
        }
        if static_code_dim is not None and static_code_dim < 1:
            raise ValueError(f"{name}: static_code_dim must be positive, got {static_code_dim}")
        self.side = side
        self.dynamic_channels = dynamic_channels
        self.dynamic_dim = dynamic_channels * side * side
        self.static_code_dim = static_code_dim
        static = static_channels * side * side if static_code_dim is None else static_code_dim
        self.repr_dim = self.dynamic_dim + static
        self.action_dim = action_dim
        if static_code_dim is None:
            channels = dynamic_channels + static_channels + action_dim
        else:
            channels = dynamic_channels + static_code_dim + 2 + action_dim
        self.register_buffer("grid", map_grid(side), persistent=False)
        self.hidden = nn.ModuleList()
        for _ in range(depth - 1):
            self.hidden.append(nn.Conv2d(channels, hidden_channels, 3, padding=1))
            channels = hidden_channels
        self.film = nn.ModuleList(
            nn.Linear(action_dim, hidden_channels, bias=False) for _ in range(depth - 1)
        )
        for film in self.film:
            nn.init.zeros_(film.weight)
        self.out = nn.Conv2d(channels, dynamic_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.to(memory_format=torch.channels_last)

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        check_step_inputs(z, action, self.repr_dim, self.action_dim, type(self).__name__)
        n, side = z.shape[0], self.side

        def constant_maps(values: Tensor) -> Tensor:
            return values[:, :, None, None].expand(n, values.shape[1], side, side).to(z.dtype)

        if self.static_code_dim is None:
            inputs = [z.reshape(n, -1, side, side)]
        else:
            dynamic_maps = z[:, : self.dynamic_dim].reshape(n, -1, side, side)
            coords = coordinate_maps(dynamic_maps, self.grid)
            inputs = [dynamic_maps, constant_maps(z[:, self.dynamic_dim :]), coords]
        h = torch.cat([*inputs, constant_maps(action)], dim=1)
        for conv, film in zip(self.hidden, self.film, strict=True):
            h = torch.relu(conv(h) * (1.0 + film(action))[:, :, None, None])
        dynamic = z[:, : self.dynamic_dim] + self.out(h).flatten(1)
        return torch.cat([dynamic, z[:, self.dynamic_dim :]], dim=-1)
