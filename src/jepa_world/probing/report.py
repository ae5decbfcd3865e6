"""What an evaluation leaves behind: a table, ``metrics.txt``, a JSON and pictures.

``metrics.txt`` follows the course format (protocol §4): one ``probe_<set> val loss:``
line per set, then ``# <trainable parameters>`` and ``# <training command>``. Every file is
written atomically, so a killed process never leaves half a report.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from jepa_world.io import atomic_path, atomic_write_text
from jepa_world.probing.evaluator import ALL_SETS, ProbeResult

METRICS_FILE = "metrics.txt"
JSON_FILE = "probe_results.json"
CURVES_FILE = "probe_curves.png"
TRAJECTORIES_FILE = "probe_trajectories.png"

_LOSS_LINE = re.compile(r"^probe_(?P<name>[A-Za-z0-9_]+) val loss:\s*(?P<value>\S+)\s*$")


# --------------------------------------------------------------------------------------------
# Table


def format_table(result: ProbeResult) -> str:
    """A plain-text table: one row per set with its MSE, first/last-step MSE and sizes."""
    header = (
        f"{'set':<11} {'MSE (px²)':>11} {'t=0':>9} {'last t':>9} {'T':>4} {'train':>7} {'val':>6}"
    )
    lines = [header, "-" * len(header)]
    for name, res in result.sets.items():
        lines.append(
            f"{name:<11} {res.mse:>11.4f} {res.per_timestep[0]:>9.4f} "
            f"{res.per_timestep[-1]:>9.4f} {len(res.per_timestep):>4d} {res.n_train:>7d} "
            f"{res.n_val:>6d}"
        )
    for name, reason in result.skipped.items():
        lines.append(f"{name:<11} {'skipped':>11}  ({reason})")
    lines.append(f"trainable parameters: {result.param_count:,}   repr_dim: {result.repr_dim}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# metrics.txt


@dataclass
class MetricsFile:
    """The content of a course ``metrics.txt``."""

    losses: dict[str, float]
    param_count: int | None
    command: str | None


def format_metrics(losses: Mapping[str, float], param_count: int, command: str) -> str:
    """The course's ``metrics.txt`` text, sets in protocol order (normal, wall, wall_other, expert)."""
    if "\n" in command:
        raise ValueError("metrics.txt: the training command must fit on one line")
    order = [n for n in ALL_SETS if n in losses] + [n for n in losses if n not in ALL_SETS]
    lines = [f"probe_{name} val loss: {float(losses[name])!r}" for name in order]
    lines += [f"# {int(param_count)}", f"# {command}"]
    return "\n".join(lines) + "\n"


def write_metrics(
    path: str | Path, losses: Mapping[str, float], param_count: int, command: str
) -> Path:
    """Write ``metrics.txt`` atomically; returns its path."""
    path = Path(path)
    atomic_write_text(path, format_metrics(losses, param_count, command))
    return path


def parse_metrics(text: str, source: str = METRICS_FILE) -> MetricsFile:
    """Read back the course format; a line that fits none of its three forms is an error."""
    losses: dict[str, float] = {}
    comments: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            comments.append(line[1:].strip())
            continue
        match = _LOSS_LINE.match(line)
        if match is None:
            raise ValueError(
                f"{source}, line {number}: expected 'probe_<set> val loss: <float>' or "
                f"'# ...', found {raw!r}"
            )
        try:
            losses[match["name"]] = float(match["value"])
        except ValueError:
            raise ValueError(
                f"{source}, line {number}: {match['value']!r} is not a number"
            ) from None
    param_count: int | None = None
    command: str | None = None
    if comments and comments[0].replace(",", "").isdigit():
        param_count = int(comments.pop(0).replace(",", ""))
    if comments:
        command = comments[0]
    return MetricsFile(losses=losses, param_count=param_count, command=command)


def read_metrics(path: str | Path) -> MetricsFile:
    """Parse a ``metrics.txt`` file (see :func:`parse_metrics`)."""
    path = Path(path)
    return parse_metrics(path.read_text(encoding="utf-8"), source=str(path))


# --------------------------------------------------------------------------------------------
# JSON


def write_json(path: str | Path, result: ProbeResult, **extra: Any) -> Path:
    """Every number of the evaluation, per-timestep curves and example paths included."""
    path = Path(path)
    payload = {**result.to_dict(), "losses": result.losses, **extra}
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n")
    return path


# --------------------------------------------------------------------------------------------
# Pictures


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


def write_report(
    result: ProbeResult, out_dir: str | Path, command: str, plots: bool = True
) -> dict[str, Path]:
    """Write ``metrics.txt``, the JSON and (optionally) both pictures into ``out_dir``."""
    out = Path(out_dir)
    written = {
        "metrics": write_metrics(out / METRICS_FILE, result.losses, result.param_count, command),
        "json": write_json(out / JSON_FILE, result, command=command),
    }
    if plots and result.sets:
        written["curves"] = save_figure(plot_curves(result), out / CURVES_FILE)
        written["trajectories"] = save_figure(plot_trajectories(result), out / TRAJECTORIES_FILE)
    return written
