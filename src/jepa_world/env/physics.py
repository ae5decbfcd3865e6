"""The transition rule of the two-rooms task (protocol §1), vectorised over trajectories.

A step proposes ``n = p + a``. It is rejected, and the agent stays exactly at ``p``, when it
touches or crosses a border line, leaves the door band through its top or bottom edge while
inside the middle wall's columns, or crosses a face of the middle wall outside the door band.
There is no sliding along walls and no noise: on the course data every recorded step is either
``loc[t+1] = loc[t] + action[t]`` or ``loc[t+1] = loc[t]``.

The protocol (docs/protocol.md §1) states rules 2 and 3 with strict crossings. Here a step that lands exactly on a wall
face, or starts exactly on a door edge, also counts as crossing it: with strict crossings an
agent on such a line could step into the wall on the next move (possible with integer
positions and scripted actions). For positions drawn from continuous distributions the two
readings differ only when a float lands exactly on an integer line.
"""

from __future__ import annotations

import numpy as np

from jepa_world.env.geometry import BORDER_HIGH, BORDER_LOW, DOOR_HALF_HEIGHT, WALL_HALF_WIDTH


def _layout_arrays(wall_x: np.ndarray, door_y: np.ndarray, batch: int) -> tuple[np.ndarray, ...]:
    wall_x = np.asarray(wall_x)
    door_y = np.asarray(door_y)
    for name, value in (("wall_x", wall_x), ("door_y", door_y)):
        if value.shape != (batch,):
            raise ValueError(f"{name}: expected shape ({batch},), got {value.shape}")
    wall_x = wall_x.astype(np.float64)
    door_y = door_y.astype(np.float64)
    return (
        wall_x - WALL_HALF_WIDTH,
        wall_x + WALL_HALF_WIDTH,
        door_y - DOOR_HALF_HEIGHT,
        door_y + DOOR_HALF_HEIGHT,
    )


def blocked_steps(
    p: np.ndarray,
    n: np.ndarray,
    wall_left: np.ndarray,
    wall_right: np.ndarray,
    door_low: np.ndarray,
    door_high: np.ndarray,
) -> np.ndarray:
    """Which proposed moves ``p -> n`` (each ``(B, 2)``) the rule rejects, as ``(B,)`` bool.

    ``wall_left``/``wall_right`` are the middle wall's faces ``wall_x -/+ 1`` and
    ``door_low``/``door_high`` the door band's edges ``door_y -/+ 4``, all ``(B,)``.
    """
    p = np.asarray(p, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    px, py, nx, ny = p[:, 0], p[:, 1], n[:, 0], n[:, 1]
    dx, dy = nx - px, ny - py

    # 1. Border: touching or crossing any border line (sign product <= 0).
    blocked = np.zeros(p.shape[0], dtype=bool)
    for b in (BORDER_LOW, BORDER_HIGH):
        blocked |= np.sign(px - b) * np.sign(nx - b) <= 0
        blocked |= np.sign(py - b) * np.sign(ny - b) <= 0

    # 2. Door edges: moving +y past y = door_high, or -y past y = door_low, inside the slab.
    # Starting exactly on the edge line counts, so the agent can never slip into the wall.
    safe_dy = np.where(dy == 0, 1.0, dy)
    for edge, crosses in (
        (door_high, (py <= door_high) & (ny > door_high)),
        (door_low, (py >= door_low) & (ny < door_low)),
    ):
        x_at = px + (edge - py) * dx / safe_dy
        blocked |= crosses & (x_at >= wall_left) & (x_at <= wall_right)

    # 3. Wall faces: a face crossed outside the door band. Crossing a face is the same as
    # entering, leaving or jumping the slab; landing exactly on a face counts as crossing it.
    safe_dx = np.where(dx == 0, 1.0, dx)
    for face in (wall_left, wall_right):
        lands = (nx == face) & (px != face)
        crosses = (np.sign(px - face) * np.sign(nx - face) < 0) | lands
        y_at = np.where(lands, ny, py + (face - px) * dy / safe_dx)
        blocked |= crosses & ((y_at < door_low) | (y_at > door_high))
    return blocked


def simulate(
    start_xy: np.ndarray, actions: np.ndarray, wall_x: np.ndarray, door_y: np.ndarray
) -> np.ndarray:
    """Roll the transition rule forward from ``start_xy`` through ``actions``.

    Args:
        start_xy: ``(B, 2)`` start positions ``(x, y)``.
        actions: ``(B, T-1, 2)`` displacements; a blocked action still counts as taken.
        wall_x: ``(B,)`` middle wall centre columns.
        door_y: ``(B,)`` door centre rows.

    Returns:
        ``(B, T, 2)`` float32 locations, ``locations[:, 0] == start_xy``. Each step is computed
        as ``float32(p) + float32(a)``, so a free step satisfies ``loc[t+1] == loc[t] + a[t]``
        bit for bit in float32 and a blocked step repeats ``loc[t]`` exactly.
    """
    start = np.asarray(start_xy, dtype=np.float32)
    acts = np.asarray(actions, dtype=np.float32)
    if start.ndim != 2 or start.shape[1] != 2:
        raise ValueError(f"start_xy: expected shape (B, 2), got {start.shape}")
    if acts.ndim != 3 or acts.shape[0] != start.shape[0] or acts.shape[2] != 2:
        raise ValueError(f"actions: expected shape ({start.shape[0]}, T-1, 2), got {acts.shape}")
    batch, steps = acts.shape[:2]
    faces_and_edges = _layout_arrays(wall_x, door_y, batch)
    locations = np.empty((batch, steps + 1, 2), dtype=np.float32)
    locations[:, 0] = start
    for t in range(steps):
        p = locations[:, t]
        n = p + acts[:, t]
        stay = blocked_steps(p, n, *faces_and_edges)
        locations[:, t + 1] = np.where(stay[:, None], p, n)
    return locations
