"""Fixed geometry of the two-rooms task (protocol §1), in pixels.

Coordinates are ``(x, y)`` = (column, row). Integer constants are pixel indices; every other
module reads its numbers from here so that a reader finds each one by name in one place.
"""

from __future__ import annotations

import math

import numpy as np

IMAGE_SIZE = 65
"""Frames are ``IMAGE_SIZE`` x ``IMAGE_SIZE`` (the course README says 64; the arrays are 65)."""

BORDER_LOW = 4
"""Column and row 4 are border wall pixels; the agent lives strictly inside (4, 60)."""
BORDER_HIGH = 60
"""Column and row 60 are border wall pixels."""

WALL_HALF_WIDTH = 1
"""The middle wall covers columns ``wall_x - 1 .. wall_x + 1`` (3 pixels)."""
DOOR_HALF_HEIGHT = 4
"""The door is the rows with ``|row - door_y| <= 4`` (a 9-pixel gap)."""

WALL_X_RANGE = (20, 44)
"""Inclusive range of the middle wall's centre column."""
DOOR_Y_RANGE = (10, 54)
"""Inclusive range of the door's centre row."""

DEFAULT_EXCLUDE_WALL: tuple[int, int] = (40, 44)
"""Wall columns kept out of training and used by ``probe_wall_other`` (this project's default).

The right edge of the range, so that ``probe_wall_other`` asks a model to extrapolate.
"""

SIGMA = 1.3
"""Standard deviation of the agent's Gaussian blob, pixels."""
AGENT_PEAK = 1.0 / (2.0 * math.pi * SIGMA**2)
"""Largest possible agent-channel value (agent exactly on a pixel centre), about 0.094175."""

START_MIN = 4.01
"""Lowest coordinate given to constructed starts and goals (just inside the border)."""
START_MAX = 59.99
"""Highest coordinate given to constructed starts and goals."""


def parse_wall_range(value: str | tuple[int, int] | list[int] | None) -> tuple[int, int] | None:
    """Read a wall-column range given as ``"40-44"``, ``"40"``, ``(40, 44)`` or ``None``.

    The command line passes strings and Python callers tuples; both end up as an inclusive
    ``(low, high)`` pair checked against ``WALL_X_RANGE``. ``None``, ``""`` and ``"none"`` mean
    no range.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "none"):
            return None
        parts = text.split("-")
        try:
            bounds = [int(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"wall range {value!r}: expected 'LOW-HIGH' or 'X' with integers, e.g. '40-44'"
            ) from None
    else:
        bounds = [int(v) for v in value]
    if len(bounds) == 1:
        bounds = bounds * 2
    if len(bounds) != 2:
        raise ValueError(f"wall range {value!r}: expected two bounds LOW-HIGH, got {len(bounds)}")
    low, high = bounds
    lo_ok, hi_ok = WALL_X_RANGE
    if not (lo_ok <= low <= high <= hi_ok):
        raise ValueError(
            f"wall range {value!r}: expected {lo_ok} <= LOW <= HIGH <= {hi_ok} "
            f"(the middle wall's possible columns)"
        )
    return low, high


def allowed_wall_columns(
    exclude_wall: tuple[int, int] | None = None, only_wall: tuple[int, int] | None = None
) -> np.ndarray:
    """The wall columns a sampler may draw: the full range, minus ``exclude_wall``, or only ``only_wall``."""
    lo, hi = WALL_X_RANGE
    columns = np.arange(lo, hi + 1)
    if only_wall is not None:
        a, b = parse_wall_range(only_wall)  # type: ignore[misc]
        columns = columns[(columns >= a) & (columns <= b)]
    if exclude_wall is not None:
        a, b = parse_wall_range(exclude_wall)  # type: ignore[misc]
        columns = columns[(columns < a) | (columns > b)]
    if columns.size == 0:
        raise ValueError(
            f"no wall column left to draw: only_wall={only_wall}, exclude_wall={exclude_wall}"
        )
    return columns


def in_wall(xy: np.ndarray, wall_x: np.ndarray, door_y: np.ndarray) -> np.ndarray:
    """True where a point lies on or beyond a wall: outside (4, 60), or in the middle slab off the door.

    ``xy`` is ``(..., 2)``; ``wall_x`` and ``door_y`` broadcast against ``xy[..., 0]``. A point on
    the slab's edge line outside the door counts as in the wall.
    """
    xy = np.asarray(xy, dtype=np.float64)
    x, y = xy[..., 0], xy[..., 1]
    wall_x = np.asarray(wall_x, dtype=np.float64)
    door_y = np.asarray(door_y, dtype=np.float64)
    outside = (x <= BORDER_LOW) | (x >= BORDER_HIGH) | (y <= BORDER_LOW) | (y >= BORDER_HIGH)
    in_slab = (x >= wall_x - WALL_HALF_WIDTH) & (x <= wall_x + WALL_HALF_WIDTH)
    off_door = np.abs(y - door_y) > DOOR_HALF_HEIGHT
    return outside | (in_slab & off_door)
