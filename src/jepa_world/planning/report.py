"""The printed table and the pictures of a planning run.

Nothing here plans: it formats the summaries of :func:`~jepa_world.planning.episodes.summarise`
and draws episodes and success-against-budget curves with matplotlib (imported lazily).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from jepa_world.env.render import wall_mask
from jepa_world.planning.episodes import CRITERIA, EpisodeRecord, success_curve


def _rate(entry: Mapping[str, Any]) -> str:
    low, high = entry["ci95"]
    return f"{100 * entry['success']:5.1f} % [{100 * low:5.1f}, {100 * high:5.1f}]"


def _steps(value: float) -> str:
    return "   -" if math.isnan(value) else f"{value:5.1f}"


class ProgressLines:
    """A ``progress(done, total)`` for :func:`~jepa_world.planning.mpc.plan_episodes` that prints lines.

    One line each time another ``every`` fraction of the work is done (and at the end): share
    done, minutes so far and an estimate of the minutes left. Plain lines rather than a redrawn
    bar, so that a log file (a Slurm job, ``nohup``) shows how far a long run has got.

    Args:
        label: Names the run in every line (e.g. ``"jepa plan [model]"``).
        every: Fraction of the work between two lines, in (0, 1].
        stream: Where lines go (default: standard error, flushed at once).
        clock: Seconds since some origin (default :func:`time.monotonic`).
    """

    def __init__(
        self,
        label: str,
        every: float = 0.1,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < every <= 1:
            raise ValueError(f"ProgressLines: every must be in (0, 1], got {every}")
        self.label, self.every, self.stream, self.clock = label, every, stream, clock
        self.start = clock()
        self.lines = 0  # shares of `every` already reported

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total > 0 else 1.0
        reached = math.floor(share / self.every + 1e-9)  # 1e-9: 0.3 / 0.1 is 2.9999999999999996
        if reached <= self.lines and done < total:
            return
        self.lines = max(reached, self.lines + 1)
        minutes = (self.clock() - self.start) / 60
        left = minutes * (1 - share) / share if share > 0 else float("nan")
        line = f"{self.label}: {100 * share:3.0f} % done, {minutes:.1f} min"
        if done < total:
            line += f", about {left:.1f} min left"
        print(line, file=self.stream or sys.stderr, flush=True)


def format_table(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per row (model, random, simulator): both criteria with 95 % Wilson intervals."""
    head = (
        f"{'row':<10} {'final < 4.5 px [95% CI]':<26} {'reach <= √2 px [95% CI]':<26} "
        f"{'final dist':>10} {'steps a':>7} {'steps b':>7} {'s/episode':>9}"
    )
    lines = [head, "-" * len(head)]
    for name, s in summaries.items():
        lines.append(
            f"{name:<10} {_rate(s['final']):<26} {_rate(s['reach']):<26} "
            f"{s['final_distance']:10.2f} {_steps(s['final']['steps']):>7} "
            f"{_steps(s['reach']['steps']):>7} {s.get('seconds_per_episode', float('nan')):9.3f}"
        )
    lines.append(
        f"a: {CRITERIA['final']};  b: {CRITERIA['reach']};  steps: mean steps to first get within "
        "the radius, over the episodes that succeed"
    )
    return "\n".join(lines)


def plot_episodes(
    record: EpisodeRecord, count: int = 6, title: str = "", imagined: np.ndarray | None = None
) -> Any:
    """A grid of ``count`` episodes: layout, start (circle), goal (star), executed path.

    ``imagined`` ``(≥ count, H + 1, 2)``, when given, is drawn dashed: the first plan as the
    model imagined it (:func:`~jepa_world.planning.readout.imagined_paths`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = record.episodes
    count = min(count, len(e))
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    walls = wall_mask(e.wall_x[:count], e.door_y[:count])
    final = np.linalg.norm(record.positions[:count, -1] - e.goal[:count], axis=-1)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= count:
            continue
        ax.imshow(walls[i], cmap="Greys", origin="upper", vmin=0, vmax=1.5)
        path = record.positions[i]
        ax.plot(path[:, 0], path[:, 1], "-", color="tab:blue", lw=1.2)
        if imagined is not None:
            dream = imagined[i]
            ax.plot(dream[:, 0], dream[:, 1], "--", color="tab:orange", lw=1.2)
        ax.plot(*e.start[i], "o", color="tab:green", ms=6)
        ax.plot(*e.goal[i], "*", color="tab:red", ms=11)
        ax.set_title(f"wall {e.wall_x[i]}, door {e.door_y[i]}: final {final[i]:.1f} px", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_success_curves(records: Mapping[str, EpisodeRecord], title: str = "") -> Any:
    """Success against the step budget for each row: reach by step t (solid), within 4.5 px at t (dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (name, record), colour in zip(
        records.items(), ("tab:blue", "tab:grey", "tab:orange", "tab:green"), strict=False
    ):
        curves = success_curve(record.positions, record.episodes.goal)
        steps = np.arange(curves["reach"].shape[0])
        ax.plot(
            steps, 100 * curves["reach"], "-", color=colour, label=f"{name}: within √2 px by step t"
        )
        ax.plot(
            steps,
            100 * curves["final"],
            "--",
            color=colour,
            label=f"{name}: within 4.5 px at step t",
        )
    ax.set_xlabel("environment steps (budget)")
    ax.set_ylabel("episodes (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def save_figure(fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` (PNG) and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
