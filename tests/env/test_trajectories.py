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


def door_edge_pushes(tr):
    """Per step: the agent 0-2.5 px beyond the door's edge, 0-3.5 px in front of a wall face,
    moving towards the wall."""
    x, y = tr.locations[:, :-1, 0], tr.locations[:, :-1, 1]
    dx = x - tr.wall_x[:, None]
    beyond = np.abs(y - tr.door_y[:, None]) - 4
    towards = np.sign(tr.actions[..., 0]) == -np.sign(dx)
    return (beyond > 0) & (beyond <= 2.5) & (np.abs(dx) <= 1 + 3.5) & towards


def test_door_edge_rate_adds_pushes_into_the_wall_beside_the_door():
    plain = random_trajectories(np.random.default_rng(4), 2000)
    again = random_trajectories(np.random.default_rng(4), 2000, door_edge_rate=0.0)
    assert np.array_equal(plain.locations, again.locations)  # 0: the course draws, unchanged
    edge = random_trajectories(np.random.default_rng(4), 2000, door_edge_rate=0.5)
    assert door_edge_pushes(plain).mean() < 0.02
    assert door_edge_pushes(edge).mean() > 10 * door_edge_pushes(plain).mean()
    assert edge.blocked.mean() > 2 * plain.blocked.mean()  # the wall stops them
    assert not in_wall(edge.locations, edge.wall_x[:, None], edge.door_y[:, None]).any()
    assert not np.isin(edge.wall_x, range(40, 45)).any()
    with pytest.raises(ValueError, match="door_edge_rate"):
        random_trajectories(np.random.default_rng(4), 10, door_edge_rate=1.5)


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


@pytest.fixture(scope="module")
def wall_runs():
    return wall_run_trajectories(np.random.default_rng(3), 4000)


def wall_set_figures(tr):
    """The figures protocol §2 quotes for the real ``probe_wall/val``."""
    variance = tr.locations.reshape(-1, 2).astype(np.float64).var(axis=0)
    last_blocked = np.all(tr.locations[:, -1] == tr.locations[:, -2], axis=-1)
    run = np.abs(tr.locations[:, -1, 0] - tr.locations[:, 0, 0])
    return dict(
        variance=variance.mean(),
        x=variance[0],
        y=variance[1],
        row_sd=tr.locations[:, 0, 1].std(),
        stopped=last_blocked.mean(),
        run=run.mean(),
    )


def test_wall_runs_go_straight_at_the_wall_and_stop_off_the_door(wall_runs):
    tr = wall_runs
    dx = tr.actions[..., 0]
    assert np.all(np.abs(dx) == 1.0) and np.all(tr.actions[..., 1] == 0)
    assert np.all(dx == dx[:, :1])  # constant per trajectory
    assert (dx[:, 0] > 0).mean() == 0.5
    distance = (tr.wall_x - tr.locations[:, 0, 0]) * dx[:, 0]  # towards the wall
    assert distance.min() >= 2.0 and distance.max() <= 15.0
    row = tr.locations[:, 0, 1] - tr.door_y
    assert (np.abs(row) <= 2).mean() == pytest.approx(0.25, abs=0.02)
    off_door = np.abs(row) > 4
    assert tr.blocked[off_door].any(axis=1).all()  # every run off the door hits the wall
    crossed = side_of_wall(tr)[:, 0] != side_of_wall(tr)[:, -1]
    assert crossed[np.abs(row) < 4].all()


def test_wall_runs_pick_each_side_of_the_door_with_equal_odds(wall_runs):
    row = wall_runs.locations[:, 0, 1] - wall_runs.door_y
    side = row[np.abs(row) > 2]
    assert (side < 0).mean() == pytest.approx(0.5, abs=0.03)
    # a door near the top border still sends half its off-door runs into the short band above
    near_top = (wall_runs.door_y <= 15)[np.abs(row) > 2]
    assert (side[near_top] < 0).mean() == pytest.approx(0.5, abs=0.08)


def test_wall_runs_match_the_real_wall_set(wall_runs):
    # protocol §2, from 39 real trajectories: row sd 17.3, 64 % stopped, runs of 10 px, y var 300
    # (drawing the side in proportion to its rows gives 15.5, 69 %, 9.8 and 241 instead)
    f = wall_set_figures(wall_runs)
    assert f["row_sd"] == pytest.approx(17.3, abs=0.6)
    assert f["stopped"] == pytest.approx(0.64, abs=0.04)
    assert f["run"] == pytest.approx(10.0, abs=0.6)
    assert f["y"] == pytest.approx(300, abs=20)
    # x var follows the wall columns drawn: 61 with walls 40-44 left out, 80 with every column
    assert f["variance"] == pytest.approx(178, abs=8)
    everywhere = wall_set_figures(
        wall_run_trajectories(np.random.default_rng(5), 4000, exclude_wall=None)
    )
    assert everywhere["x"] == pytest.approx(84, abs=8)
    assert everywhere["variance"] == pytest.approx(192, abs=10)


def test_wall_run_arguments_are_checked():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="door_band"):
        wall_run_trajectories(rng, 4, door_band=5.0)
    with pytest.raises(ValueError, match="door_fraction"):
        wall_run_trajectories(rng, 4, door_fraction=1.5)


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
