"""Frames of the two-rooms task (protocol §1): an agent channel and a wall channel, float32.

Channel 0 is the agent's Gaussian density ``exp(-|c - p|^2 / (2 sigma^2)) / (2 pi sigma^2)``
over pixel centres ``c = (column, row)``. It factorises into a row profile times a column
profile, so a frame is an outer product of two length-65 vectors instead of 4225 exponentials.
Channel 1 is the binary wall mask times the largest agent value in the rendered batch, which is
how the course files were made (about 0.0941 there).
"""

from __future__ import annotations

import numpy as np

from jepa_world.env.geometry import (
    AGENT_PEAK,
    BORDER_HIGH,
    BORDER_LOW,
    DOOR_HALF_HEIGHT,
    IMAGE_SIZE,
    SIGMA,
    WALL_HALF_WIDTH,
)

_PIXELS = np.arange(IMAGE_SIZE, dtype=np.float64)


def wall_mask(wall_x: np.ndarray, door_y: np.ndarray) -> np.ndarray:
    """Wall pixels of each layout as ``(B, 65, 65)`` bool, indexed ``[row, column]``.

    Borders are the full columns and rows 4 and 60; the middle wall is columns
    ``wall_x - 1 .. wall_x + 1`` on every row except the door rows ``|row - door_y| <= 4``.
    """
    wall_x = np.asarray(wall_x, dtype=np.int64).reshape(-1)
    door_y = np.asarray(door_y, dtype=np.int64).reshape(-1)
    if wall_x.shape != door_y.shape:
        raise ValueError(f"wall_x {wall_x.shape} and door_y {door_y.shape} must have one length")
    cols = np.arange(IMAGE_SIZE)
    in_columns = np.abs(cols[None, :] - wall_x[:, None]) <= WALL_HALF_WIDTH  # (B, W)
    off_door = np.abs(cols[None, :] - door_y[:, None]) > DOOR_HALF_HEIGHT  # (B, H) over rows
    mask = off_door[:, :, None] & in_columns[:, None, :]
    mask[:, :, [BORDER_LOW, BORDER_HIGH]] = True
    mask[:, [BORDER_LOW, BORDER_HIGH], :] = True
    return mask


def render_agent(locations: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Agent channel for ``locations`` ``(..., 2)`` as ``(..., 65, 65)`` float32.

    ``out``, when given, receives the result (it may be a strided view such as
    ``states[..., 0, :, :]`` of a memory map).
    """
    loc = np.asarray(locations, dtype=np.float64)
    if loc.shape[-1] != 2:
        raise ValueError(f"locations: expected a last axis of 2 (x, y), got shape {loc.shape}")
    inv = -0.5 / SIGMA**2
    columns = np.exp(inv * (_PIXELS - loc[..., 0:1]) ** 2).astype(np.float32)
    rows = (np.exp(inv * (_PIXELS - loc[..., 1:2]) ** 2) * AGENT_PEAK).astype(np.float32)
    return np.multiply(rows[..., :, None], columns[..., None, :], out=out)


def render(
    locations: np.ndarray,
    wall_x: np.ndarray,
    door_y: np.ndarray,
    wall_value: float | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Render trajectories as course frames.

    Args:
        locations: ``(B, T, 2)`` agent positions ``(x, y)``.
        wall_x: ``(B,)`` middle wall centre columns.
        door_y: ``(B,)`` door centre rows.
        wall_value: value of wall pixels; ``None`` uses the maximum of the agent channel over
            this batch, as the course data does.
        out: optional ``(B, T, 2, 65, 65)`` float32 array to write into (e.g. a memory map).

    Returns:
        ``(B, T, 2, 65, 65)`` float32 states.
    """
    loc = np.asarray(locations)
    if loc.ndim != 3 or loc.shape[2] != 2:
        raise ValueError(f"locations: expected shape (B, T, 2), got {loc.shape}")
    batch, steps = loc.shape[:2]
    shape = (batch, steps, 2, IMAGE_SIZE, IMAGE_SIZE)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"out: expected float32 {shape}, got {out.dtype} {out.shape}")
    mask = wall_mask(wall_x, door_y)
    if mask.shape[0] != batch:
        raise ValueError(f"wall_x/door_y: expected {batch} layouts, got {mask.shape[0]}")
    render_agent(loc, out=out[:, :, 0])
    if wall_value is None:
        wall_value = float(out[:, :, 0].max()) if out.size else AGENT_PEAK
    np.multiply(mask[:, None], np.float32(wall_value), out=out[:, :, 1])
    return out


def layout_from_walls(wall_channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recover ``(wall_x, door_y)`` from wall channels ``(B, 65, 65)`` (one frame per layout).

    The middle wall is the interior columns that hold wall pixels; its centre is ``wall_x``. The
    door is the run of interior rows where those columns are open; its centre is ``door_y``.
    """
    walls = np.asarray(wall_channel)
    if walls.ndim == 2:
        walls = walls[None]
    if walls.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"wall_channel: expected (B, 65, 65), got {walls.shape}")
    on = walls > 0.5 * walls.reshape(walls.shape[0], -1).max(axis=1)[:, None, None]
    inner = slice(BORDER_LOW + 1, BORDER_HIGH)
    column_hits = on[:, inner, inner].sum(axis=1)  # (B, interior columns)
    wall_cols = column_hits > 0
    index = np.arange(BORDER_LOW + 1, BORDER_HIGH)
    count = np.maximum(wall_cols.sum(axis=1), 1)
    wall_x = np.rint((wall_cols * index).sum(axis=1) / count).astype(np.int64)
    batch = np.arange(walls.shape[0])[:, None]
    rows_open = ~on[batch, index[None, :], wall_x[:, None]]  # (B, interior rows)
    count = np.maximum(rows_open.sum(axis=1), 1)
    door_y = np.rint((rows_open * index).sum(axis=1) / count).astype(np.int64)
    return wall_x, door_y


def agent_centroid(agent_channel: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre ``(x, y)`` of agent channels ``(..., 65, 65)`` as ``(..., 2)``.

    Exact to a few hundredths of a pixel away from the borders; near a border the clipped blob
    pulls the estimate inwards slightly.
    """
    img = np.asarray(agent_channel, dtype=np.float64)
    total = img.sum(axis=(-2, -1))
    total = np.where(total > 0, total, 1.0)
    x = (img.sum(axis=-2) * _PIXELS).sum(axis=-1) / total
    y = (img.sum(axis=-1) * _PIXELS).sum(axis=-1) / total
    return np.stack([x, y], axis=-1)
