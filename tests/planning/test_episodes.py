"""Episode sampling, success criteria, intervals and the episode file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jepa_world.env.geometry import DEFAULT_EXCLUDE_WALL, in_wall
from jepa_world.planning.episodes import (
    EpisodeRecord,
    load_episodes,
    replay,
    sample_episodes,
    save_episodes,
    success_curve,
    success_final,
    success_reach,
    summarise,
    wilson_interval,
)

LOW, HIGH = DEFAULT_EXCLUDE_WALL


@pytest.mark.parametrize("layouts", ["seen", "unseen"])
def test_start_and_goal_lie_in_opposite_rooms(layouts: str) -> None:
    e = sample_episodes(np.random.default_rng(0), 2000, layouts)
    start_left = e.start[:, 0] < e.wall_x
    goal_left = e.goal[:, 0] < e.wall_x
    assert np.all(start_left != goal_left)
    assert 0.45 < start_left.mean() < 0.55  # each direction half the time
    for points in (e.start, e.goal):
        assert not in_wall(points, e.wall_x, e.door_y).any()
        assert points.min() >= 4.01 - 1e-4 and points.max() <= 59.99 + 1e-4


def test_seen_layouts_avoid_the_excluded_range_and_unseen_use_only_it() -> None:
    seen = sample_episodes(np.random.default_rng(1), 3000, "seen")
    unseen = sample_episodes(np.random.default_rng(1), 3000, "unseen")
    assert not np.any((seen.wall_x >= LOW) & (seen.wall_x <= HIGH))
    assert set(np.unique(seen.wall_x)) == set(range(20, LOW))
    assert set(np.unique(unseen.wall_x)) == set(range(LOW, HIGH + 1))
    for e in (seen, unseen):
        assert e.door_y.min() >= 10 and e.door_y.max() <= 54


def test_sampling_is_reproducible_and_refuses_nonsense() -> None:
    a = sample_episodes(np.random.default_rng(3), 10)
    b = sample_episodes(np.random.default_rng(3), 10)
    assert np.array_equal(a.start, b.start) and np.array_equal(a.wall_x, b.wall_x)
    with pytest.raises(ValueError, match="at least 1 episode"):
        sample_episodes(np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match="layouts"):
        sample_episodes(np.random.default_rng(0), 3, "other")  # type: ignore[arg-type]


def test_success_criteria_on_hand_made_paths() -> None:
    goal = np.zeros((4, 2), dtype=np.float32) + 30
    paths = np.full((4, 3, 2), 30.0, dtype=np.float32)
    paths[0, :, 0] += [10, 5, 4.4]  # ends within 4.5, never within √2
    paths[1, :, 0] += [10, 1.4, 6]  # touches √2 then leaves: reach only
    paths[2, :, 0] += [10, 8, 4.6]  # neither
    paths[3, :, 0] += [10, 1, 0]  # both
    assert success_final(paths, goal).tolist() == [True, False, False, True]
    assert success_reach(paths, goal).tolist() == [False, True, False, True]
    s = summarise(paths, goal)
    assert s["final"]["success"] == 0.5 and s["reach"]["success"] == 0.5
    assert s["reach"]["steps"] == 1.0  # both reaching episodes get there at step 1
    assert math.isclose(s["final_distance"], (4.4 + 6 + 4.6 + 0) / 4, rel_tol=1e-6)
    curve = success_curve(paths, goal)
    assert curve["reach"].tolist() == [0.0, 0.5, 0.5]


def test_reach_counts_exactly_sqrt2() -> None:
    goal = np.array([[30.0, 30.0]], dtype=np.float32)
    path = np.array([[[31.0, 31.0]]], dtype=np.float32)  # distance √2 exactly (in float64)
    assert success_reach(path, goal).tolist() == [True]


def test_wilson_interval() -> None:
    low, high = wilson_interval(200, 200)
    assert (
        math.isclose(high, 1.0) and 0.98 < low < 0.985
    )  # 100 % of 200: the interval still admits 98.1 %
    low, high = wilson_interval(100, 200)
    assert low < 0.5 < high and math.isclose(low + high, 1.0, rel_tol=1e-9)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_episode_file_round_trips_and_replays(tmp_path) -> None:
    rng = np.random.default_rng(4)
    e = sample_episodes(rng, 5)
    actions = rng.uniform(-2, 2, (5, 30, 2)).astype(np.float32)
    from jepa_world.env.physics import simulate

    positions = simulate(e.start, actions, e.wall_x, e.door_y)
    rec = EpisodeRecord(
        e,
        actions,
        positions,
        {"seed": 4, "planner": {"class_path": "x"}},
        summarise(positions, e.goal),
    )
    npz, meta = save_episodes(rec, tmp_path / "model")
    assert npz.name == "model.npz" and meta.name == "model.json"
    header = json.loads(meta.read_text())
    assert header["format"] == "jepa-world/planning-episodes" and header["format_version"] == 1
    back = load_episodes(tmp_path / "model")
    for name in ("wall_x", "door_y", "start", "goal"):
        assert np.array_equal(getattr(back.episodes, name), getattr(e, name))
    assert np.array_equal(back.actions, actions)
    assert np.array_equal(replay(back), positions)
    assert back.settings["seed"] == 4


def test_loading_a_foreign_or_missing_episode_file_names_it(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_episodes(tmp_path / "nope")
    (tmp_path / "x.npz").write_bytes(b"")
    (tmp_path / "x.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a planning episode file"):
        load_episodes(tmp_path / "x")
