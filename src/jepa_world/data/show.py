"""Pictures of trajectories over their layouts, so a user can see what a data set holds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from jepa_world.data.files import open_split
from jepa_world.env.geometry import DOOR_HALF_HEIGHT, IMAGE_SIZE, WALL_HALF_WIDTH
from jepa_world.env.render import agent_centroid, layout_from_walls, wall_mask
from jepa_world.io import atomic_path


def show_trajectories(
    data_dir: str,
    split: str = "train",
    n: int = 8,
    out: str = "trajectories.png",
    seed: int = 0,
    columns: int = 4,
) -> Path:
    """Draw a grid of trajectories over their walls and doors and save it as a PNG.

    Each panel shows the walls (grey), the door gap (green), the path (blue, one dot per
    frame), the start (green circle), the end (red square) and blocked steps (orange x).
    Layouts come from layouts.npy when present, otherwise from the wall channel; positions
    from locations.npy, otherwise from the agent channel's centroid.

    Args:
        data_dir: Data set directory (generated or the course's).
        split: Split inside it, for example train or probe_wall/val.
        n: Number of trajectories to draw (picked at random).
        out: PNG file to write.
        seed: Seed of the random pick.
        columns: Panels per row.

    Returns:
        The path of the written PNG.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    if n < 1 or columns < 1:
        raise ValueError(f"n and columns: expected >= 1, got n={n}, columns={columns}")
    data = open_split(Path(data_dir) / split)
    count = min(n, len(data))
    picks = np.sort(np.random.default_rng(seed).choice(len(data), size=count, replace=False))
    if data.layouts is not None:
        layouts = data.layouts[picks]
        wall_x, door_y = layouts[:, 0], layouts[:, 1]
    else:
        wall_x, door_y = layout_from_walls(np.stack([data.states[i, 0, 1] for i in picks]))
    if data.locations is not None:
        paths = data.locations[picks]
        source = "locations.npy"
    else:
        paths = np.stack([agent_centroid(data.states[i, :, 0]) for i in picks])
        source = "agent-channel centroid"

    cols = min(columns, count)
    rows = math.ceil(count / cols)
    fig = Figure(figsize=(2.6 * cols, 3.0 * rows + 0.3), dpi=110)
    FigureCanvasAgg(fig)
    masks = wall_mask(wall_x, door_y)
    for k, index in enumerate(picks):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(
            masks[k],
            cmap="Greys",
            vmin=0,
            vmax=1.6,
            interpolation="nearest",
            extent=(-0.5, IMAGE_SIZE - 0.5, IMAGE_SIZE - 0.5, -0.5),
        )
        ax.add_patch(
            Rectangle(
                (wall_x[k] - WALL_HALF_WIDTH - 0.5, door_y[k] - DOOR_HALF_HEIGHT - 0.5),
                2 * WALL_HALF_WIDTH + 1,
                2 * DOOR_HALF_HEIGHT + 1,
                facecolor="tab:green",
                alpha=0.35,
                edgecolor="none",
            )
        )
        path = paths[k]
        ax.plot(path[:, 0], path[:, 1], "-", color="tab:blue", lw=1.2)
        ax.plot(path[:, 0], path[:, 1], ".", color="tab:blue", ms=3)
        stuck = np.flatnonzero(np.all(np.abs(np.diff(path, axis=0)) < 1e-6, axis=1))
        moving = np.linalg.norm(data.actions[int(index)], axis=-1) > 0
        stuck = stuck[moving[stuck]]
        if stuck.size:
            ax.plot(path[stuck, 0], path[stuck, 1], "x", color="tab:orange", ms=6, mew=1.5)
        ax.plot(*path[0], "o", color="tab:green", ms=6, mec="black", mew=0.6)
        ax.plot(*path[-1], "s", color="tab:red", ms=5, mec="black", mew=0.6)
        ax.set_xlim(-0.5, IMAGE_SIZE - 0.5)
        ax.set_ylim(IMAGE_SIZE - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"#{index}  wall x={wall_x[k]}  door y={door_y[k]}", fontsize=7)
    fig.suptitle(
        f"{Path(data_dir).name}/{split}: {count} of {len(data)} trajectories, "
        f"T={data.steps}, positions from {source}",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (3.0 * rows + 0.3)), h_pad=2.0)
    target = Path(out)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    return target
