"""What an evaluation leaves behind: a table, ``metrics.txt``, a JSON and (via plots.py) pictures.

``metrics.txt`` follows the course format (protocol §4): one ``probe_<set> val loss:``
line per set, then ``# <trainable parameters>`` and ``# <training command>``. Every file is
written atomically, so a killed process never leaves half a report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jepa_world.io import atomic_write_text
from jepa_world.probing.results import ALL_SETS, ProbeResult, RepeatedResult

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


def format_repeated_table(repeated: RepeatedResult) -> str:
    """The table of the first run, then mean ± sd per set over every prober seed."""
    seeds = repeated.seeds
    lines = [
        format_table(repeated.first),
        "",
        f"over {len(seeds)} prober seeds ({seeds[0]}..{seeds[-1]}):",
    ]
    for name, mean in repeated.means.items():
        values = ", ".join(f"{v:.4f}" for v in repeated.values(name))
        lines.append(f"{name:<11} {mean:>11.4f} ± {repeated.stdevs[name]:.4f}   ({values})")
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


def report_files(out_dir: str | Path, plots: bool = True) -> list[Path]:
    """The files :func:`write_report` writes into ``out_dir``."""
    names = [METRICS_FILE, JSON_FILE] + ([CURVES_FILE, TRAJECTORIES_FILE] if plots else [])
    return [Path(out_dir) / name for name in names]


def write_report(
    result: ProbeResult | RepeatedResult, out_dir: str | Path, command: str, plots: bool = True
) -> dict[str, Path]:
    """Write ``metrics.txt``, the JSON and (optionally) both pictures into ``out_dir``.

    For a :class:`RepeatedResult`, ``metrics.txt`` keeps the course's single-number lines (the
    mean over the prober seeds), the JSON holds every run with the mean and sd, and the
    pictures show the first run.
    """
    out = Path(out_dir)
    repeated = result if isinstance(result, RepeatedResult) else None
    if repeated is not None:
        result = repeated.first
        losses = repeated.means
        extra: dict[str, Any] = {"repeats": repeated.to_dict()}
    else:
        losses, extra = result.losses, {}
    written = {
        "metrics": write_metrics(out / METRICS_FILE, losses, result.param_count, command),
        "json": write_json(out / JSON_FILE, result, command=command, **extra),
    }
    if plots and result.sets:
        from jepa_world.probing.plots import plot_curves, plot_trajectories, save_figure

        written["curves"] = save_figure(plot_curves(result), out / CURVES_FILE)
        written["trajectories"] = save_figure(plot_trajectories(result), out / TRAJECTORIES_FILE)
    return written
