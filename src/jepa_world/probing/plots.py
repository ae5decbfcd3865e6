"""Pictures of an evaluation: error along the unroll, and true against probed paths.

Imported only when a picture is drawn, so that the rest of the probing package does not load
matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from jepa_world.io import atomic_path
from jepa_world.probing.results import ProbeResult


def _draw_layout(ax: Any, wall_x: int, door_y: int) -> None:
    """Border and middle wall with its door, in pixel coordinates (row axis pointing down)."""
    grey = {"facecolor": "0.75", "edgecolor": "none"}
    for x0, y0, w, h in (
        (3.5, 3.5, 57, 1),
        (3.5, 59.5, 57, 1),
        (3.5, 3.5, 1, 57),
        (59.5, 3.5, 1, 57),
    ):
        ax.add_patch(Rectangle((x0, y0), w, h, **grey))
    left = wall_x - 1.5
    ax.add_patch(Rectangle((left, 4.5), 3, door_y - 4.5 - 4.5, **grey))
    ax.add_patch(Rectangle((left, door_y + 4.5), 3, 59.5 - door_y - 4.5, **grey))


def _label_twos_and_fives(value: float, _: object) -> str:
    """Minor log-axis labels at 2·10^k and 5·10^k only, in plain notation."""
    if value <= 0:
        return ""
    leading = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if leading in (2, 5) else ""


def plot_curves(result: ProbeResult) -> Figure:
    """MSE (px², log scale) against prediction step, one line per set."""
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, res in result.sets.items():
        ax.plot(
            range(len(res.per_timestep)),
            res.per_timestep,
            marker=".",
            label=f"{name} ({res.mse:.3g})",
        )
    ax.set_xlabel("prediction step t (0 = encoded first frame)")
    ax.set_ylabel("probe MSE per coordinate (px²)")
    if any(v > 0 for res in result.sets.values() for v in res.per_timestep):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(_label_twos_and_fives))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="set (mean)")
    ax.set_title("Probe error along the unroll")
    return fig


def plot_trajectories(
    result: ProbeResult, sets: Sequence[str] | None = None, per_set: int = 3
) -> Figure:
    """True (solid) and decoded (dashed) paths of a few validation trajectories per set."""
    names = [n for n in (sets or result.sets) if n in result.sets and result.sets[n].examples]
    rows = max(len(names), 1)
    fig = Figure(figsize=(2.6 * per_set, 2.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, per_set, squeeze=False)
    for ax in axes.flat:
        ax.set_xlim(-0.5, 64.5)
        ax.set_ylim(64.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    for row, name in enumerate(names):
        examples = result.sets[name].examples
        assert examples is not None
        for col in range(min(per_set, len(examples.true))):
            ax = axes[row, col]
            if examples.layouts is not None:
                _draw_layout(ax, *examples.layouts[col])
            true, pred = examples.true[col], examples.predicted[col]
            ax.plot([p[0] for p in true], [p[1] for p in true], "-", color="tab:blue", lw=1.5)
            ax.plot([p[0] for p in pred], [p[1] for p in pred], "--", color="tab:orange", lw=1.2)
            ax.plot(*true[0], "o", color="tab:blue", ms=4)
            ax.plot(*pred[0], "x", color="tab:orange", ms=5)
            err = sum(
                (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 for p, q in zip(true, pred, strict=True)
            )
            ax.set_title(
                f"{name} #{col}  rmse {math.sqrt(err / (2 * len(true))):.2f}px", fontsize=8
            )
    fig.suptitle("true (solid) vs probed (dashed) locations", fontsize=9)
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save a figure as PNG atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path
