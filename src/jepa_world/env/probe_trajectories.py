"""The probe sets' purpose-built trajectories: runs straight at the wall, and expert paths.

``probe_wall`` (protocol §2) and ``probe_expert`` (goal-directed paths through the door) are not
random walks; their samplers live here, beside the random-walk samplers of
:mod:`jepa_world.env.trajectories`, and return the same :class:`Trajectories`.
"""

from __future__ import annotations

import numpy as np

from jepa_world.env.geometry import (
    BORDER_HIGH,
    BORDER_LOW,
    DEFAULT_EXCLUDE_WALL,
    DOOR_HALF_HEIGHT,
    START_MAX,
    START_MIN,
    WALL_HALF_WIDTH,
)
from jepa_world.env.physics import simulate
from jepa_world.env.trajectories import Trajectories, WallRange, sample_layouts


def wall_run_rows(
    rng: np.random.Generator,
    door_y: np.ndarray,
    door_fraction: float = 0.25,
    door_band: float = 2.0,
) -> np.ndarray:
    """Start rows ``(n,)`` float64 of wall runs (protocol §2).

    With probability ``door_fraction`` a row is uniform in the door band
    ``[door_y - door_band, door_y + door_band]``; otherwise the run starts above or below the
    door with probability 1/2 each, whatever the lengths of the two sides, and the row is uniform
    in ``[4, door_y - door_band]`` or ``[door_y + door_band, 60]``. Picking the side by a coin
    rather than by its length puts more runs near the border when the door is near it, which is
    what spreads the real start rows (sd 17.3 px against 16.2 for a uniform row).
    """
    n = door_y.shape[0]
    low = door_y - door_band
    high = door_y + door_band
    through_door = rng.random(n) < door_fraction
    above = rng.random(n) < 0.5
    band_row = rng.uniform(low, high)
    side_row = np.where(above, rng.uniform(BORDER_LOW, low), rng.uniform(high, BORDER_HIGH))
    return np.where(through_door, band_row, side_row)


def wall_run_trajectories(
    rng: np.random.Generator,
    n: int,
    T: int = 17,
    *,
    exclude_wall: WallRange = DEFAULT_EXCLUDE_WALL,
    only_wall: WallRange = None,
    door_fraction: float = 0.25,
    door_band: float = 2.0,
    min_distance: float = 2.0,
    max_distance: float = 15.0,
    speed: float = 1.0,
) -> Trajectories:
    """Runs straight at the middle wall (``probe_wall``): constant action ``(+-speed, 0)``.

    Args:
        rng: random generator.
        n: number of trajectories; half run in +x, half in -x (shuffled).
        T: frames per trajectory.
        exclude_wall: inclusive wall-column range never drawn, or ``None``.
        only_wall: inclusive wall-column range to draw from exclusively, or ``None``.
        door_fraction: probability that the start row lies in the door band (the run passes).
        door_band: half-height of the door band of start rows around ``door_y``, pixels.
        min_distance: closest start to the wall centre column, pixels, on the approach side.
        max_distance: farthest start from the wall centre column, pixels.
        speed: pixels per step.

    Rows outside the band are drawn by :func:`wall_run_rows`: a fair coin picks the side of the
    door, then the row is uniform on that side. Starts are clipped to ``[4.01, 59.99]``.
    """
    if not 0 < min_distance <= max_distance:
        raise ValueError(
            f"min_distance/max_distance: expected 0 < min <= max, got {min_distance}, {max_distance}"
        )
    if not 0.0 <= door_fraction <= 1.0:
        raise ValueError(f"door_fraction: expected a probability in [0, 1], got {door_fraction}")
    if not 0.0 <= door_band <= DOOR_HALF_HEIGHT:
        raise ValueError(
            f"door_band: expected 0 <= door_band <= {DOOR_HALF_HEIGHT} (the door's half-height), "
            f"got {door_band}"
        )
    wall_x, door_y = sample_layouts(rng, n, exclude_wall, only_wall)
    direction = np.where(rng.permutation(n) < (n + 1) // 2, 1.0, -1.0)
    x = wall_x - direction * rng.uniform(min_distance, max_distance, size=n)
    y = wall_run_rows(rng, door_y, door_fraction, door_band)
    start = np.clip(np.stack([x, y], axis=1), START_MIN, START_MAX).astype(np.float32)
    actions = np.zeros((n, T - 1, 2), dtype=np.float32)
    actions[:, :, 0] = (direction * speed)[:, None]
    locations = simulate(start, actions, wall_x, door_y)
    return Trajectories(locations, actions, wall_x, door_y)


def _leg(
    a: np.ndarray, b: np.ndarray, active: np.ndarray, speed: float, min_step: float
) -> tuple[np.ndarray, ...]:
    """Straight-line leg ``a -> b``: unit direction, full steps, last partial length, step count."""
    delta = np.where(active[:, None], b - a, 0.0)
    dist = np.linalg.norm(delta, axis=1)
    unit = delta / np.where(dist > 0, dist, 1.0)[:, None]
    full = np.floor(dist / speed)
    rest = dist - full * speed
    count = full + (rest >= min_step)
    return unit, full, rest, count


def expert_trajectories(
    rng: np.random.Generator,
    n: int,
    T: int = 65,
    *,
    exclude_wall: WallRange = DEFAULT_EXCLUDE_WALL,
    only_wall: WallRange = None,
    speed: float = 0.9,
    box_half_width: float = 3.0,
    lane_half_height: float = 2.0,
    min_step: float = 0.2,
) -> Trajectories:
    """Goal-directed walks from one room to the other through the door (``probe_expert``).

    Args:
        rng: random generator.
        n: number of trajectories.
        T: frames per trajectory; the plan is cut to ``T - 1`` actions, zeros after the goal.
        exclude_wall: inclusive wall-column range never drawn, or ``None``.
        only_wall: inclusive wall-column range to draw from exclusively, or ``None``.
        speed: pixels per step on every leg.
        box_half_width: the middle box spans ``wall_x -+ box_half_width`` (6 px wide by default).
        lane_half_height: the door lane row is uniform in ``door_y -+ lane_half_height``.
        min_step: a leg's last, shortened step is dropped when shorter than this.

    The walk goes start -> box entry ``(wall_x - 3, y_d)`` -> box exit ``(wall_x + 3, y_d)`` ->
    goal (mirrored right to left). A start inside the box skips the first leg and crosses
    horizontally at its own row; a goal inside the box skips the crossing leg.
    """
    s = T - 1
    wall_x, door_y = sample_layouts(rng, n, exclude_wall, only_wall)
    wx = wall_x.astype(np.float64)
    dy = door_y.astype(np.float64)
    left_room = np.stack(
        [rng.uniform(START_MIN, wx - WALL_HALF_WIDTH), rng.uniform(START_MIN, START_MAX, n)], 1
    )
    right_room = np.stack(
        [rng.uniform(wx + WALL_HALF_WIDTH, START_MAX), rng.uniform(START_MIN, START_MAX, n)], 1
    )
    rightwards = rng.random(n) < 0.5
    start = np.where(rightwards[:, None], left_room, right_room)
    goal = np.where(rightwards[:, None], right_room, left_room)
    side = np.where(rightwards, 1.0, -1.0)
    lane = rng.uniform(dy - lane_half_height, dy + lane_half_height)

    def in_box(p: np.ndarray) -> np.ndarray:
        return (np.abs(p[:, 0] - wx) <= box_half_width) & (np.abs(p[:, 1] - dy) <= lane_half_height)

    start_in, goal_in = in_box(start), in_box(goal)
    entry = np.stack([wx - side * box_half_width, lane], axis=1)
    first_end = np.where(start_in[:, None], start, entry)
    exit_point = np.stack([wx + side * box_half_width, first_end[:, 1]], axis=1)
    second_end = np.where(goal_in[:, None], first_end, exit_point)
    legs = [
        _leg(start, entry, ~start_in, speed, min_step),
        _leg(first_end, exit_point, ~goal_in, speed, min_step),
        _leg(second_end, goal, np.ones(n, dtype=bool), speed, min_step),
    ]
    t = np.arange(s)[None, :]
    actions = np.zeros((n, s, 2))
    offset = np.zeros((n, 1))
    for unit, full, rest, count in legs:
        j = t - offset
        length = np.where(j < full[:, None], speed, rest[:, None])
        length = np.where((j >= 0) & (j < count[:, None]), length, 0.0)
        actions += length[..., None] * unit[:, None, :]
        offset = offset + count[:, None]
    actions = actions.astype(np.float32)
    locations = simulate(start.astype(np.float32), actions, wall_x, door_y)
    return Trajectories(locations, actions, wall_x, door_y)
