"""A compact world model whose state is the agent's coordinates and the room layout.

Everything the task's dynamics depend on fits in four numbers: the agent's position ``(x, y)``
and the layout ``(wall_x, door_y)``. :class:`CoordinateEncoder` reads them off a frame with
spatial soft-argmaxes, :class:`CoordinatePredictor` moves the position by the action unless a
learned gate, which sees the position *relative to the wall and the door*, says the step is
blocked. Both write the state into the same fixed representation (:func:`expand_state`), so a
whole world model has about 10K trainable parameters.

What is learned and what is fixed (declared, because it is a prior and not a result):

- learned: the encoder's (mirror-symmetric) profile filter and the sharpness of its soft-argmax; the predictor's
  action matrix, its two gate networks (middle wall and door; border) and their temperatures.
- fixed: the pixel grid the soft-argmaxes average over; the reading of the layout from the
  wall channel (centre of the middle wall's columns, centre of its open rows); the
  representation layout (:func:`expand_state`), which tiles the normalised position
  ``tiles`` times and appends the layout at a small scale.

Why tile the position: the course prober (``Linear(D, 256) -> ReLU -> Linear(256, 2)`` trained
with a learning rate of 5e-5) cannot fit a 2-number code in its step budget; the same
information repeated over many dimensions is fitted about ten times better. Why the layout at a
small scale: the prober should read the position, not learn spurious uses of the wall column,
whose values at evaluation (``probe_wall_other``) lie outside the training range.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.env.geometry import BORDER_HIGH, BORDER_LOW, IMAGE_SIZE
from jepa_world.models.encoders import RAW_PEAK, check_frames
from jepa_world.models.predictors import check_step_inputs

#: Pixel coordinates are centred and scaled by these before they enter the representation,
#: so that a coordinate spanning the room (4..60) has a standard deviation near 1.
COORD_CENTRE: float = 32.0
COORD_SCALE: float = 16.0


# ---------------------------------------------------------------------------------------------
# The representation: plain functions shared by the encoder and the predictor
# ---------------------------------------------------------------------------------------------


def state_dim(tiles: int) -> int:
    """Size ``D`` of the representation: the position tiled ``tiles`` times plus the layout."""
    return 2 * tiles + 2


def expand_state(
    position: Tensor, layout: Tensor, tiles: int, position_gain: float, layout_gain: float
) -> Tensor:
    """Write ``position (N, 2)`` and ``layout (N, 2)``, in pixels, as a representation ``(N, D)``.

    ``[gain·(x - 32)/16, gain·(y - 32)/16] * tiles`` followed by the layout scaled the same way
    and multiplied by ``layout_gain``. Invertible by :func:`contract_state`.
    """
    pos = (position - COORD_CENTRE) / COORD_SCALE * position_gain
    lay = (layout - COORD_CENTRE) / COORD_SCALE * layout_gain
    return torch.cat([pos.repeat(1, tiles), lay], dim=-1)


def contract_state(
    z: Tensor, tiles: int, position_gain: float, layout_gain: float
) -> tuple[Tensor, Tensor]:
    """Read ``(position (N, 2), layout (N, 2))`` in pixels back from a representation ``(N, D)``.

    The position is the mean over its tiles, so a representation that is not exactly tiled (a
    prediction being trained) is read as its best tiled approximation.
    """
    n = z.shape[0]
    pos = z[:, : 2 * tiles].reshape(n, tiles, 2).mean(dim=1)
    lay = z[:, 2 * tiles :]
    position = pos / position_gain * COORD_SCALE + COORD_CENTRE
    layout = lay / layout_gain * COORD_SCALE + COORD_CENTRE
    return position, layout


def soft_argmax_1d(heat: Tensor, sharpness: Tensor | float, grid: Tensor) -> Tensor:
    """Expected grid position under weights ``heat ** sharpness`` (normalised) on the last axis.

    ``heat`` must be positive. With sharpness 1 this is the centroid of the heat; a Gaussian
    profile raised to any power is still a Gaussian with the same centre, so the estimate stays
    unbiased while the weights sharpen. An exponential soft-argmax (``softmax(beta·heat)``) is
    not: it either leaks weight to the empty background or snaps to the nearest pixel.
    """
    weights = torch.softmax(sharpness * torch.log(heat), dim=-1)
    return (weights * grid).sum(dim=-1)


def wall_layout(walls: Tensor, grid: Tensor) -> Tensor:
    """``(wall_x, door_y)`` in pixels from wall channels ``(N, 65, 65)`` (a fixed reader).

    Inside the border, only the middle wall has wall pixels: the centre of its columns (weighted
    by their wall pixels) is ``wall_x``, and the centre of the rows where it is open is
    ``door_y``. Exact on rendered frames whatever the wall intensity.
    """
    peak = walls.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)
    inner = slice(BORDER_LOW + 1, BORDER_HIGH)
    on = (walls[:, inner, inner] > 0.5 * peak).to(walls.dtype)
    index = grid[inner]
    columns = on.sum(dim=1)
    wall_x = (columns * index).sum(-1) / columns.sum(-1).clamp_min(1e-6)
    rows = on.sum(dim=2)
    open_rows = rows.amax(dim=-1, keepdim=True) - rows
    door_y = (open_rows * index).sum(-1) / open_rows.sum(-1).clamp_min(1e-6)
    return torch.stack([wall_x, door_y], dim=-1)


def _check_code(owner: str, tiles: int, position_gain: float, layout_gain: float) -> None:
    if tiles < 1:
        raise ValueError(f"{owner}: tiles must be a positive integer, got {tiles}")
    if not position_gain > 0 or not layout_gain > 0:
        raise ValueError(
            f"{owner}: position_gain and layout_gain must be > 0, got {position_gain} and "
            f"{layout_gain}"
        )


# ---------------------------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------------------------


class CoordinateEncoder(nn.Module):
    """Agent position by a learned soft-argmax, layout by a fixed reader, in a tiled code.

    The agent channel is summed into its column profile (whose centre is ``x``) and its row
    profile (``y``): the frame is an outer product of the two, so nothing is lost and the cost
    is two sums instead of a 2-D convolution. A bias-free 1-D filter, shared by both profiles,
    makes the heat map; a learned sharpness sets how peaked the soft-argmax weights are.

    Args:
        tiles: How many times the normalised position is repeated in the representation.
        position_gain: Scale of the position part (its std is about ``position_gain``).
        layout_gain: Scale of the layout part relative to the position part.
        kernel_size: Taps of the profile filter (odd).

    Example:
        >>> enc = CoordinateEncoder(tiles=4)
        >>> enc(torch.rand(3, 2, 65, 65) * 0.09).shape
        torch.Size([3, 10])
    """

    def __init__(
        self,
        tiles: int = 64,
        position_gain: float = 1.0,
        layout_gain: float = 0.1,
        kernel_size: int = 7,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        _check_code(name, tiles, position_gain, layout_gain)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"{name}: kernel_size must be a positive odd integer, got {kernel_size}"
            )
        self.init_args = {
            "tiles": tiles,
            "position_gain": float(position_gain),
            "layout_gain": float(layout_gain),
            "kernel_size": kernel_size,
        }
        self.tiles = tiles
        self.position_gain = float(position_gain)
        self.layout_gain = float(layout_gain)
        self.repr_dim = state_dim(tiles)
        # Only the centre tap and one side are parameters; the filter is their mirror image, so
        # it cannot shift the soft-argmax off the agent (an offset between the position and the
        # layout, which the predictor's gates would otherwise have to learn to undo).
        taps = torch.arange(kernel_size // 2 + 1, dtype=torch.float32)
        bump = torch.exp(-0.5 * taps.pow(2) / 4.0)
        self.half_kernel = nn.Parameter(bump / (2 * bump.sum() - bump[0]))
        # sharpness = 1 + softplus(raw) >= 1: below 1 the weights would flatten towards the
        # image centre, a shrinking code that a prediction loss alone would welcome.
        self.sharpness_raw = nn.Parameter(torch.zeros(()))
        self.register_buffer(
            "grid", torch.arange(IMAGE_SIZE, dtype=torch.float32), persistent=False
        )

    @property
    def kernel(self) -> Tensor:
        """The symmetric profile filter ``[w_k .. w_1, w_0, w_1 .. w_k]``."""
        return torch.cat([self.half_kernel.flip(0), self.half_kernel[1:]])

    @property
    def sharpness(self) -> Tensor:
        return 1.0 + F.softplus(self.sharpness_raw)

    def agent_position(self, agent: Tensor) -> Tensor:
        """``(x, y)`` in pixels from agent channels ``(N, 65, 65)`` in raw units."""
        profiles = torch.stack([agent.sum(dim=-2), agent.sum(dim=-1)], dim=1) / RAW_PEAK
        n = profiles.shape[0]
        kernel = self.kernel
        heat = F.conv1d(
            profiles.reshape(2 * n, 1, IMAGE_SIZE),
            kernel.view(1, 1, -1),
            padding=kernel.numel() // 2,
        )
        heat = F.relu(heat).reshape(n, 2, IMAGE_SIZE) + 1e-6
        return soft_argmax_1d(heat, self.sharpness, self.grid)

    def state(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """``(position (N, 2), layout (N, 2))`` in pixels."""
        check_frames(frames, type(self).__name__)
        return self.agent_position(frames[:, 0]), wall_layout(frames[:, 1], self.grid)

    def forward(self, frames: Tensor) -> Tensor:
        position, layout = self.state(frames)
        return expand_state(position, layout, self.tiles, self.position_gain, self.layout_gain)


# ---------------------------------------------------------------------------------------------
# Predictor
# ---------------------------------------------------------------------------------------------


def gate_mlp(in_dim: int, hidden: int, free_bias: float) -> nn.Sequential:
    """Two hidden SiLU layers to one logit, starting at ``free_bias`` (steps allowed at first)."""
    out = nn.Linear(hidden, 1)
    with torch.no_grad():
        out.bias.fill_(free_bias)
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), out
    )


class CoordinatePredictor(nn.Module):
    """``position' = position + g · A a``; the layout is carried over unchanged.

    The gate ``g`` in ``[0, 1]`` is the product of two learned "free to move" probabilities:

    - the wall gate reads the current and the proposed position *relative to the wall and the
      door* ``(x - wall_x, y - door_y, x' - wall_x, y' - door_y)``. Being blind to where the
      wall is in the room, what it learns at one wall column holds at every other, including
      the columns never seen in training;
    - the border gate reads each proposed coordinate on its own (the same small network for
      ``x'`` and ``y'``), since the border is the same on both axes.

    Each gate's logit is multiplied by a learned temperature so that training can sharpen the
    decision: a blocked step keeps the agent exactly in place, an open one moves it by the
    whole action, and an undecided gate would leave it in between.

    Args:
        tiles: Repetitions of the position in the representation (as the encoder's).
        position_gain: Scale of the position part (as the encoder's).
        layout_gain: Scale of the layout part (as the encoder's).
        wall_hidden: Width of the wall gate's two hidden layers.
        border_hidden: Width of the border gate's two hidden layers.
        relative_scale: Factor applied to the wall-relative pixel offsets before the wall gate.
        action_dim: Size of an action (2).

    Example:
        >>> pred = CoordinatePredictor(tiles=4)
        >>> pred(torch.zeros(3, 10), torch.ones(3, 2)).shape
        torch.Size([3, 10])
    """

    def __init__(
        self,
        tiles: int = 64,
        position_gain: float = 1.0,
        layout_gain: float = 0.1,
        wall_hidden: int = 96,
        border_hidden: int = 16,
        relative_scale: float = 1.0,
        action_dim: int = 2,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        _check_code(name, tiles, position_gain, layout_gain)
        if wall_hidden < 1 or border_hidden < 1:
            raise ValueError(
                f"{name}: wall_hidden and border_hidden must be positive, got {wall_hidden} and "
                f"{border_hidden}"
            )
        if not relative_scale > 0:
            raise ValueError(f"{name}: relative_scale must be > 0, got {relative_scale}")
        if action_dim != 2:
            raise ValueError(
                f"{name}: actions are (dx, dy) displacements, action_dim must be 2, got {action_dim}"
            )
        self.init_args = {
            "tiles": tiles,
            "position_gain": float(position_gain),
            "layout_gain": float(layout_gain),
            "wall_hidden": wall_hidden,
            "border_hidden": border_hidden,
            "relative_scale": float(relative_scale),
            "action_dim": action_dim,
        }
        self.tiles = tiles
        self.position_gain = float(position_gain)
        self.layout_gain = float(layout_gain)
        self.relative_scale = float(relative_scale)
        self.action_dim = action_dim
        self.repr_dim = state_dim(tiles)
        # Starts as "an action moves the agent by itself"; learned like everything else. From a
        # shrunken start the loss is first lowered by scaling every step down to the average
        # move (blocked steps included), a plateau the gates then take long to leave.
        self.action = nn.Parameter(torch.eye(2))
        self.wall_gate = gate_mlp(4, wall_hidden, free_bias=3.0)
        self.border_gate = gate_mlp(1, border_hidden, free_bias=3.0)
        self.log_temperature = nn.Parameter(torch.zeros(2))

    def gate_logits(self, position: Tensor, layout: Tensor, step: Tensor) -> Tensor:
        """Logits ``(N, 3)`` of "free": the wall gate, then the border gate for ``x'`` and ``y'``."""
        proposal = position + step
        relative = torch.cat([position - layout, proposal - layout], dim=-1) * self.relative_scale
        wall = self.wall_gate(relative)
        border = self.border_gate(((proposal - COORD_CENTRE) / COORD_SCALE).reshape(-1, 1))
        temperature = self.log_temperature.exp()
        return torch.cat([wall * temperature[0], border.reshape(-1, 2) * temperature[1]], dim=-1)

    def step(self, position: Tensor, layout: Tensor, action: Tensor) -> Tensor:
        """Next position ``(N, 2)`` in pixels."""
        move = action @ self.action.T
        free = torch.sigmoid(self.gate_logits(position, layout, move)).prod(dim=-1, keepdim=True)
        return position + free * move

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        check_step_inputs(z, action, self.repr_dim, self.action_dim, type(self).__name__)
        code = (self.tiles, self.position_gain, self.layout_gain)
        position, layout = contract_state(z, *code)
        return expand_state(self.step(position, layout, action), layout, *code)
