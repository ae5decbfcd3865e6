"""Reference models that bracket every score: the ceiling and the floor of the probe.

Both honour the model contract (``forward(states (B,1,2,65,65), actions (B,T-1,2)) ->
(B,T,D)``, ``repr_dim``) and go through the same evaluator as a trained world model.

- :class:`MockModel` outputs noise, as the course's mock does: the prober can only learn the
  mean location, so it scores about the variance of the locations (the ceiling).
- :class:`OracleModel` knows the exact future: it reads the agent's position and the layout
  off the first frame and runs the simulator on the actions. What it still loses is what the
  protocol's small prober, trained for a fixed number of small steps, cannot fit (the floor).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from jepa_world.env import IMAGE_SIZE, layout_from_walls, simulate
from jepa_world.probing.prober import normalise_locations


def positions_from_frames(agent: np.ndarray) -> np.ndarray:
    """Agent positions ``(..., 2)`` as ``(x, y)`` read off agent channels ``(..., 65, 65)``.

    The agent is a sampled Gaussian, so the logarithm of its column (row) profile is exactly a
    parabola: the vertex through the peak pixel and its two neighbours gives the position to
    about 1e-6 px, where the centroid is off by up to 1e-3 px near the image edge. The
    parabola's curvature is fitted too, so the blob's width need not be known.
    """
    img = np.asarray(agent, dtype=np.float64)
    if img.ndim < 2 or img.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"agent channel: expected (..., 65, 65), got {img.shape}")
    coords = []
    for profile in (img.sum(axis=-2), img.sum(axis=-1)):  # columns -> x, rows -> y
        peak = np.clip(profile.argmax(axis=-1), 1, IMAGE_SIZE - 2)[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            lm, l0, lp = (
                np.log(np.take_along_axis(profile, peak + k, -1))[..., 0] for k in (-1, 0, 1)
            )
            offset = (lp - lm) / (2.0 * (2.0 * l0 - lp - lm))
        if not np.isfinite(offset).all():
            raise ValueError("agent channel: a frame has no Gaussian blob to read a position from")
        coords.append(peak[..., 0] + offset)
    return np.stack(coords, axis=-1)


class MockModel(nn.Module):
    """Random representations, fresh at every call: the ceiling of the probe.

    Args:
        repr_dim: Size of the random representations.
        seed: Seeds the noise, so that two evaluations agree.
    """

    def __init__(self, repr_dim: int = 256, seed: int = 0) -> None:
        super().__init__()
        self.repr_dim = repr_dim
        self._generator = torch.Generator().manual_seed(seed)

    def forward(self, states: Tensor, actions: Tensor) -> Tensor:
        batch, steps, _ = actions.shape
        noise = torch.randn(batch, steps + 1, self.repr_dim, generator=self._generator)
        return noise.to(states.device)


class OracleModel(nn.Module):
    """The exact future locations, tiled: the floor of the probe.

    It reads the start position (agent channel) and the layout (wall channel) from
    the first frame, runs :func:`jepa_world.env.simulate` on the actions, and returns the
    normalised locations repeated ``repr_dim / 2`` times. The repetition is not information:
    it lets the protocol's prober, whose learning rate is tiny (5e-5), fit the identity in its
    step budget; with ``repr_dim = 2`` it stops around 0.3 px² on course-size data.

    Args:
        repr_dim: Size of the representation (even).
    """

    def __init__(self, repr_dim: int = 256) -> None:
        super().__init__()
        if repr_dim < 2 or repr_dim % 2:
            raise ValueError(
                f"OracleModel: repr_dim must be a positive even number, got {repr_dim}"
            )
        self.repr_dim = repr_dim

    def locations(self, states: Tensor, actions: Tensor) -> Tensor:
        """The simulated locations ``(B, T, 2)`` in pixels."""
        if states.dim() != 5 or states.shape[2] != 2:
            raise ValueError(
                f"OracleModel: expected states (B, 1, 2, 65, 65), got {tuple(states.shape)}"
            )
        first = states[:, 0].detach().float().cpu().numpy()
        start = positions_from_frames(first[:, 0])
        wall_x, door_y = layout_from_walls(first[:, 1])
        path = simulate(start, actions.detach().cpu().numpy(), wall_x, door_y)
        return torch.from_numpy(np.asarray(path, dtype=np.float32)).to(states.device)

    def forward(self, states: Tensor, actions: Tensor) -> Tensor:
        normalised = normalise_locations(self.locations(states, actions))
        return normalised.repeat(1, 1, self.repr_dim // 2)
