"""The transition rule: walls block, the door lets through, blocked steps stay exactly put."""

import numpy as np
import pytest

from jepa_world.env import in_wall, random_trajectories, simulate

WALL, DOOR = np.array([30]), np.array([30])


def run(start, action, steps=12, wall=WALL, door=DOOR):
    actions = np.tile(np.asarray(action, dtype=np.float32), (1, steps, 1))
    return simulate(np.asarray([start], dtype=np.float32), actions, wall, door)[0]


def test_straight_through_the_door_passes():
    path = run((25.3, 30.2), (1.0, 0.0))
    assert path[-1, 0] == pytest.approx(37.3, abs=1e-4)
    assert np.all(np.diff(path[:, 0]) > 0)


def test_beside_the_door_stops_at_the_wall_face():
    path = run((25.3, 36.5), (1.0, 0.0))  # |36.5 - 30| > 4: off the door
    assert path[-1, 0] == pytest.approx(28.3, abs=1e-4)  # last position before face x = 29
    assert np.all(path[3:] == path[3])


def test_integer_positions_cannot_slip_into_the_wall():
    # lands exactly on the face x = 29 off the door: that step is blocked, so x never enters
    path = run((25.0, 40.0), (1.0, 0.0))
    assert path[:, 0].max() == 28.0
    # standing exactly on the door's top edge inside the slab, moving +y, is blocked
    path = run((30.0, 34.0), (0.0, 1.0), steps=3)
    assert np.all(path == path[0])


def test_leaving_the_door_band_inside_the_slab_is_blocked():
    path = run((30.0, 32.0), (0.0, 1.5))  # door band is rows 26..34
    assert path[-1, 1] == pytest.approx(33.5)
    path = run((30.0, 28.0), (0.0, -1.5))
    assert path[-1, 1] == pytest.approx(26.5)


def test_diagonal_through_the_door_edge_corner_is_blocked():
    # crosses y = 34 (door top) at x = 30, inside the slab, moving +y
    path = run((29.5, 33.5), (0.5, 1.0), steps=1)
    assert np.all(path[1] == path[0])


@pytest.mark.parametrize(
    "start, action",
    [
        ((5.0, 20.0), (-1.0, 0.0)),
        ((58.5, 20.0), (1.6, 0.0)),
        ((20.0, 4.5), (0.0, -0.6)),
        ((20.0, 59.5), (0.3, 0.6)),
    ],
)
def test_borders_block(start, action):
    path = run(start, action, steps=1)
    assert np.array_equal(path[1], path[0])


def test_free_steps_add_the_action_and_blocked_steps_repeat_bit_for_bit():
    rng = np.random.default_rng(1)
    tr = random_trajectories(rng, 3000)
    moved = tr.locations[:, :-1] + tr.actions
    same = tr.locations[:, 1:] == tr.locations[:, :-1]
    added = tr.locations[:, 1:] == moved
    assert np.all(np.all(same, -1) | np.all(added, -1))
    assert 0.05 < np.all(same, -1).mean() < 0.3


def test_no_location_ever_inside_a_wall_or_outside_the_borders():
    rng = np.random.default_rng(2)
    tr = random_trajectories(rng, 4000, cross_wall_rate=0.5)
    assert not in_wall(tr.locations, tr.wall_x[:, None], tr.door_y[:, None]).any()
    assert tr.locations.min() > 4 and tr.locations.max() < 60


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="actions"):
        simulate(np.zeros((2, 2)), np.zeros((3, 4, 2)), np.array([30, 30]), np.array([30, 30]))
    with pytest.raises(ValueError, match="wall_x"):
        simulate(np.zeros((2, 2)), np.zeros((2, 4, 2)), np.array([30]), np.array([30, 30]))
