"""Frames: the agent's Gaussian, the wall channel, and reading positions and layouts back."""

import numpy as np
import pytest

from jepa_world.env import AGENT_PEAK, agent_centroid, layout_from_walls, render, wall_mask


def test_agent_channel_peak_sum_and_centroid():
    loc = np.array([[[30.0, 20.0], [31.37, 40.62]]], dtype=np.float32)
    frames = render(loc, np.array([44]), np.array([30]))
    agent = frames[0, :, 0]
    assert frames.dtype == np.float32 and frames.shape == (1, 2, 2, 65, 65)
    assert agent[0].max() == pytest.approx(0.094175, abs=2e-6)
    assert agent[0, 20, 30] == agent[0].max()  # [row, column] = [y, x]
    assert agent.sum(axis=(1, 2)) == pytest.approx([1.0, 1.0], abs=1e-4)
    assert agent_centroid(agent) == pytest.approx(loc[0], abs=1e-3)


def test_wall_channel_is_the_mask_times_the_batch_agent_maximum():
    loc = np.array([[[10.4, 10.7]], [[50.0, 50.0]]], dtype=np.float32)
    frames = render(loc, np.array([25, 35]), np.array([12, 40]))
    walls = frames[:, 0, 1]
    top = frames[:, :, 0].max()
    assert top == pytest.approx(AGENT_PEAK, rel=1e-6)  # the second agent sits on a pixel centre
    assert set(np.unique(walls)) == {0.0, top}
    fixed = render(loc, np.array([25, 35]), np.array([12, 40]), wall_value=1.0)
    assert fixed[:, :, 1].max() == 1.0


def test_wall_pixels_and_door_gap():
    mask = wall_mask(np.array([30]), np.array([20]))[0]
    assert mask[:, 4].all() and mask[:, 60].all() and mask[4, :].all() and mask[60, :].all()
    assert not mask[10, 5:60][np.r_[0:24, 27:55]].any()  # interior row: only the middle wall
    assert mask[10, 29:32].all() and not mask[10, 28] and not mask[10, 32]
    assert not mask[16:25, 29:32].any()  # door rows 16..24 are open
    assert mask[15, 29:32].all() and mask[25, 29:32].all()
    assert mask.sum() == 4 * 65 - 4 + 3 * (65 - 9) - 3 * 2  # borders + wall (minus overlaps)


def test_layout_recovered_from_the_wall_channel():
    rng = np.random.default_rng(0)
    wall_x, door_y = rng.integers(20, 45, 50), rng.integers(10, 55, 50)
    loc = rng.uniform(10, 50, size=(50, 1, 2))
    frames = render(loc, wall_x, door_y)
    got_x, got_y = layout_from_walls(frames[:, 0, 1])
    assert np.array_equal(got_x, wall_x) and np.array_equal(got_y, door_y)


def test_render_into_a_given_buffer_and_shape_errors():
    loc = np.full((2, 3, 2), 30.0, dtype=np.float32)
    out = np.zeros((2, 3, 2, 65, 65), dtype=np.float32)
    assert render(loc, np.array([20, 21]), np.array([30, 31]), out=out) is out
    assert out[:, :, 0].max() > 0
    with pytest.raises(ValueError, match="locations"):
        render(np.zeros((2, 3)), np.array([20]), np.array([30]))
    with pytest.raises(ValueError, match="out"):
        render(loc, np.array([20, 21]), np.array([30, 31]), out=np.zeros((2, 3, 2, 64, 64)))
