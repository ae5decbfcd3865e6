"""Samplers against the statistics of protocol §1-§2."""

import numpy as np
import pytest

from jepa_world.env import (
    expert_trajectories,
    in_wall,
    parse_wall_range,
    random_trajectories,
    sample_layouts,
    wall_run_trajectories,
)


@pytest.fixture(scope="module")
def walks():
    return random_trajectories(np.random.default_rng(0), 6000)


def side_of_wall(tr):
    return np.sign(tr.locations[..., 0] - tr.wall_x[:, None])


def test_step_lengths_match_the_course_data(walks):
    length = np.linalg.norm(walks.actions, axis=-1)
    assert length.mean() == pytest.approx(1.00, abs=0.01)
    assert length.std() == pytest.approx(0.355, abs=0.01)
    assert length.min() >= 0.2 - 1e-6 and length.max() <= 1.8 + 1e-6
    assert length.min() < 0.21 and length.max() > 1.79


def test_heading_changes_have_resultant_length_089(walks):
    heading = np.arctan2(walks.actions[..., 1], walks.actions[..., 0])
    resultant = np.abs(np.exp(1j * np.diff(heading, axis=1)).mean())
    assert resultant == pytest.approx(0.89, abs=0.01)


def test_blocked_fractions_and_location_spread(walks):
    blocked = walks.blocked
    assert 0.10 < blocked.mean() < 0.20  # course data: about 14%
    assert 0.33 < blocked.any(axis=1).mean() < 0.47  # course data: about 40%
    std = walks.locations.reshape(-1, 2).std(axis=0)
    assert std == pytest.approx([16.1, 16.1], abs=0.4)  # course normaliser: (16.10, 16.14)


def test_cross_wall_rate_controls_door_crossings():
    rng = np.random.default_rng(1)
    none = random_trajectories(rng, 3000, cross_wall_rate=0.0)
    every = random_trajectories(rng, 3000, cross_wall_rate=1.0)
    crossed = lambda tr: (side_of_wall(tr)[:, 0] != side_of_wall(tr)[:, -1]).mean()  # noqa: E731
    assert crossed(none) < 0.05
    assert crossed(every) > 0.6
    assert not in_wall(every.locations, every.wall_x[:, None], every.door_y[:, None]).any()


def test_layouts_uniform_and_ood_range_excluded():
    rng = np.random.default_rng(2)
    wall_x, door_y = sample_layouts(rng, 20000, exclude_wall=(40, 44))
    assert wall_x.min() == 20 and wall_x.max() == 39 and not np.isin(wall_x, range(40, 45)).any()
    assert door_y.min() == 10 and door_y.max() == 54
    assert np.bincount(wall_x)[20:40].min() > 850  # 1000 expected per column
    other, _ = sample_layouts(rng, 2000, exclude_wall=None, only_wall="40-44")
    assert set(np.unique(other)) == set(range(40, 45))
    everything, _ = sample_layouts(rng, 5000, exclude_wall=None)
    assert everything.min() == 20 and everything.max() == 44


def test_wall_range_parsing():
    assert parse_wall_range("30-34") == (30, 34)
    assert parse_wall_range("41") == (41, 41)
    assert parse_wall_range(None) is None and parse_wall_range("none") is None
    with pytest.raises(ValueError, match="expected"):
        parse_wall_range("10-50")
    with pytest.raises(ValueError, match="no wall column"):
        sample_layouts(np.random.default_rng(0), 3, exclude_wall="20-44")


def test_wall_runs_go_straight_at_the_wall_and_stop_off_the_door():
    tr = wall_run_trajectories(np.random.default_rng(3), 2000)
    dx = tr.actions[..., 0]
    assert np.all(np.abs(dx) == 1.0) and np.all(tr.actions[..., 1] == 0)
    assert np.all(dx == dx[:, :1])  # constant per trajectory
    assert (dx[:, 0] > 0).mean() == 0.5
    distance = (tr.wall_x - tr.locations[:, 0, 0]) * dx[:, 0]  # towards the wall
    assert distance.min() >= 2.0 and distance.max() <= 15.0
    off_door = np.abs(tr.locations[:, 0, 1] - tr.door_y) > 4
    assert off_door.mean() == pytest.approx(0.75, abs=0.04)
    assert tr.blocked[off_door].any(axis=1).all()  # every run off the door hits the wall
    crossed = side_of_wall(tr)[:, 0] != side_of_wall(tr)[:, -1]
    assert crossed[~off_door].all()


def test_expert_paths_cross_at_0_9_px_per_step_and_stop():
    tr = expert_trajectories(np.random.default_rng(4), 1500, T=65)
    length = np.linalg.norm(tr.actions, axis=-1)
    moving = length > 0
    short = moving & (np.abs(length - 0.9) > 1e-5)
    assert short.sum(axis=1).max() <= 3  # only the last step of each of the three legs
    assert length[moving].min() >= 0.2 - 1e-6 and length.max() <= 0.9 + 1e-5
    # once stopped, the walk stays stopped (zeros after the goal)
    first_zero = np.where(moving.all(1), 64, np.argmin(moving, axis=1))
    assert not np.any(moving & (np.arange(64)[None] > first_zero[:, None]))
    crossed = side_of_wall(tr)[:, 0] != side_of_wall(tr)[:, -1]
    assert crossed.mean() > 0.95
    assert tr.blocked.mean() < 1e-3
    assert not in_wall(tr.locations, tr.wall_x[:, None], tr.door_y[:, None]).any()
