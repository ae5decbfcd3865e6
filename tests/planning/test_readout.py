"""The read-out that draws imagined plans: exact on the simulator model, shapes, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_world.env.physics import simulate
from jepa_world.models import load_world_model
from jepa_world.planning.episodes import sample_episodes
from jepa_world.planning.readout import fit_readout, free_positions, imagined_paths
from jepa_world.planning.reference import simulator_model


def test_free_positions_avoid_the_wall() -> None:
    from jepa_world.env.geometry import in_wall

    episodes = sample_episodes(np.random.default_rng(0), 4)
    points = free_positions(np.random.default_rng(1), episodes, 200)
    assert points.shape == (800, 2)
    wall_x = np.repeat(episodes.wall_x, 200)
    door_y = np.repeat(episodes.door_y, 200)
    assert not in_wall(points, wall_x, door_y).any()


def test_readout_of_the_simulator_model_is_exact_and_imagines_the_true_path() -> None:
    model = simulator_model()
    episodes = sample_episodes(np.random.default_rng(3), 3)
    readout = fit_readout(model, episodes, per_layout=50)
    plans = np.random.default_rng(4).uniform(-1.5, 1.5, size=(3, 20, 2)).astype(np.float32)
    dream = imagined_paths(model, episodes, plans, readout)
    truth = simulate(episodes.start, plans, episodes.wall_x, episodes.door_y)
    assert dream.shape == (3, 21, 2)
    np.testing.assert_allclose(dream, truth, atol=0.05)


def test_imagined_paths_of_the_released_model_start_near_the_start(weights) -> None:
    model = load_world_model(weights).eval()
    episodes = sample_episodes(np.random.default_rng(5), 2)
    readout = fit_readout(model, episodes, per_layout=100)
    plans = np.zeros((2, 5, 2), dtype=np.float32)
    dream = imagined_paths(model, episodes, plans, readout)
    # Standing still: every imagined step stays at the start, to a pixel.
    assert np.abs(dream - episodes.start[:, None]).max() < 1.0


def test_bad_plans_and_settings_are_refused() -> None:
    model = simulator_model()
    episodes = sample_episodes(np.random.default_rng(0), 2)
    with pytest.raises(ValueError, match="per_layout"):
        fit_readout(model, episodes, per_layout=0)
    readout = fit_readout(model, episodes, per_layout=10)
    with pytest.raises(ValueError, match="shape"):
        imagined_paths(model, episodes, np.zeros((3, 4, 2), np.float32), readout)
    assert readout(torch.zeros(5, 4)).shape == (5, 2)
