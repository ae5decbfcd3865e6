"""The planner's distance to the goal: plain and on blurred maps (the ``pyramid`` distance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.models import WorldModel
from jepa_world.models.spatial import SpatialEncoder
from jepa_world.planning import (
    MPPI,
    Episodes,
    GoalDistance,
    MPCSettings,
    box_blur,
    plan_episodes,
    representation_cost,
    simulator_model,
)
from jepa_world.planning.distance import map_shape_of, resolve_distance
from jepa_world.planning.mpc import frames_at
from jepa_world.planning.reference import peak_position

SIDE = 33
WIDTH = 1.0  # blob standard deviation, map cells


def blob_maps(position: Tensor) -> Tensor:
    """A one-channel ``SIDE × SIDE`` map with a narrow blob at ``position / 2`` (pixels → cells)."""
    grid = torch.arange(SIDE, dtype=position.dtype, device=position.device)
    x = torch.exp(-0.5 * ((grid - position[:, :1] / 2) / WIDTH) ** 2)
    y = torch.exp(-0.5 * ((grid - position[:, 1:] / 2) / WIDTH) ** 2)
    return (y[:, :, None] * x[:, None, :]).flatten(1)


def blob_centre(code: Tensor) -> Tensor:
    """Inverse of :func:`blob_maps` (exact: a Gaussian's log is a parabola)."""
    maps = code.reshape(-1, SIDE, SIDE)
    out = []
    for profile in (maps.sum(-2), maps.sum(-1)):
        logp = profile.clamp_min(1e-30).log()
        c = logp.argmax(-1, keepdim=True).clamp(1, SIDE - 2)
        shift = 0.5 * WIDTH**2 * (logp.gather(-1, c + 1) - logp.gather(-1, c - 1))
        out.append(2 * (c.to(code.dtype) + shift)[:, 0])
    return torch.stack(out, -1)


class BlobEncoder(nn.Module):
    """The agent's true position written as a blob on a map: a code of feature maps whose
    plain distance saturates a few pixels away, like a learned spatial code's."""

    repr_dim = SIDE * SIDE
    map_shape = (1, SIDE, SIDE)

    def forward(self, frames: Tensor) -> Tensor:
        return blob_maps(peak_position(frames[:, 0].float()))


class BlobPredictor(nn.Module):
    """Free motion (no walls): the blob moves by the action."""

    repr_dim = SIDE * SIDE
    action_dim = 2

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        return blob_maps(blob_centre(z) + action)


def blob_world() -> WorldModel:
    return WorldModel(BlobEncoder(), BlobPredictor()).eval()


def far_goals(n: int, gap: float) -> Episodes:
    """Start and goal ``gap`` px apart, side by side in the left room of a wall at column 58."""
    rng = np.random.default_rng(1)
    start = np.stack([np.full(n, 8.0), rng.uniform(15, 50, n)], 1).astype(np.float32)
    goal = (start + np.array([gap, 0.0])).astype(np.float32)
    return Episodes(np.full(n, 58), np.full(n, 30), start, goal)


def test_box_blur_is_the_windowed_mean_cut_at_the_border() -> None:
    x = torch.randn(2, 3, 17, 17)
    for k in (1, 3, 9, 17):
        expected = F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)
        torch.testing.assert_close(box_blur(x, k), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(box_blur(x, 35), x.mean((-2, -1), keepdim=True).expand_as(x))
    with pytest.raises(ValueError, match="odd"):
        box_blur(x, 4)


def test_plain_distance_is_euclidean() -> None:
    goal, z = torch.randn(2, 5), torch.randn(2, 3, 5)
    d = GoalDistance(goal, "plain")(z)
    torch.testing.assert_close(d, (z - goal[:, None]).norm(dim=-1))
    assert GoalDistance(goal, "auto").mode == "plain"  # no maps declared


def test_the_pyramid_distance_keeps_growing_where_the_plain_one_has_saturated() -> None:
    goal = blob_maps(torch.tensor([[20.0, 32.0]]))
    gaps = torch.arange(0, 37, 3.0)
    codes = blob_maps(torch.stack([20 + gaps, torch.full_like(gaps, 32.0)], -1))[None]
    plain = GoalDistance(goal, "plain")(codes)[0]
    pyramid = GoalDistance(goal, "pyramid", (1, SIDE, SIDE))(codes)[0]
    far = gaps >= 12
    assert plain[far].max() - plain[far].min() < 1e-3 * plain[far].max()  # flat: no signal
    assert (pyramid.diff() > 0).all(), pyramid  # strictly growing, 0 to 36 px
    assert pyramid[0] < 1e-5


def test_auto_is_pyramid_for_a_code_of_maps_and_plain_otherwise() -> None:
    assert resolve_distance("auto", blob_world()) == "pyramid"
    assert resolve_distance("auto", simulator_model()) == "plain"
    assert resolve_distance("plain", blob_world()) == "plain"
    with pytest.raises(ValueError, match="unknown distance 'near'"):
        resolve_distance("near", blob_world())  # type: ignore[arg-type]


def test_pyramid_on_a_vector_code_is_refused_with_what_to_do() -> None:
    model = simulator_model()
    z = torch.zeros(1, 4)
    with pytest.raises(ValueError, match="use distance 'plain'"):
        representation_cost(model, z, z, "last", distance="pyramid")
    with pytest.raises(ValueError, match="unknown distance"):
        MPCSettings(distance="near")  # type: ignore[arg-type]


@pytest.mark.parametrize("wall_code_dim", [None, 6])
def test_spatial_encoder_declares_the_maps_that_lead_its_code(wall_code_dim: int | None) -> None:
    enc = SpatialEncoder(agent_channels=2, wall_channels=1, wall_code_dim=wall_code_dim).eval()
    c, h, w = enc.map_shape
    frames = torch.rand(3, 2, 65, 65) * 0.09
    code = enc(frames)
    agent = enc.agent(frames[:, :1] * enc.input_scale)
    assert (h, w) == tuple(agent.shape[-2:])
    maps = code[:, : c * h * w].reshape(3, c, h, w)
    torch.testing.assert_close(maps[:, :2], agent)
    if wall_code_dim is None:
        assert c * h * w == enc.repr_dim
    else:
        assert c == 2 and c * h * w + wall_code_dim == enc.repr_dim
    holder = nn.Module()
    holder.encoder = enc
    assert map_shape_of(holder) == (c, h, w)


def test_cost_along_a_straight_path_falls_all_the_way_to_the_goal_with_pyramid() -> None:
    model = blob_world()
    e = far_goals(1, 30.0)
    z0 = model.encoder(frames_at(e.start, e))
    zg = model.encoder(frames_at(e.goal, e))
    lengths = torch.arange(0, 31, 2.0)  # candidates: one step right of each length
    actions = torch.stack([lengths, torch.zeros_like(lengths)], -1)[None, :, None]
    pyramid = representation_cost(model, z0, zg, "last")(actions)[0]  # auto → pyramid
    plain = representation_cost(model, z0, zg, "last", distance="plain")(actions)[0]
    assert (pyramid.diff() < 0).all(), pyramid
    assert plain[:8].max() - plain[:8].min() < 1e-3 * plain.max()  # 16 px and more away: flat


def test_mppi_reaches_goals_beyond_the_plain_distances_reach_with_pyramid() -> None:
    e = far_goals(4, 30.0)
    planner = MPPI(horizon=20, samples=32, iterations=2)
    finals = {}
    for distance in ("plain", "pyramid"):
        chosen = MPCSettings(steps=40, replan_every=5, distance=distance)
        result = plan_episodes(blob_world(), e, planner, chosen, seed=0)
        finals[distance] = np.linalg.norm(result.positions[:, -1] - e.goal, axis=1)
    assert (finals["pyramid"] < 2.0).all(), finals
    # The same planner, seed and episodes with the plain distance: some start never gets a signal.
    assert (finals["plain"] > 20.0).any(), finals
