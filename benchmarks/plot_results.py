"""Figures of docs/results.md: the strategy comparison and the training curves.

Reads what ``benchmarks/strategies.py`` wrote (``<strategies>/strategies.json`` and the
TensorBoard event files of each variant) and the event files of the released model's run, and
draws:

- ``docs/results_strategies.png``: probe MSE (log scale) of every variant on the four sets;
- ``docs/results_training.png``: the released run's loss terms and embedding std against the
  step, and every variant's prediction loss.

::

    python benchmarks/plot_results.py --strategies runs/strategies --best runs/best/version_0
    python benchmarks/plot_results.py --strategies runs/strategies_conv --best none \
        --strategies-png docs/results_strategies_conv.png --title "ConvEncoder + MLPPredictor"
    python benchmarks/plot_results.py --strategies none --best RUN_SEED0 RUN_SEED1 \
        --labels "seed 0" "seed 1" --training-png docs/results_generic_training.png
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

SETS = ("normal", "wall", "wall_other", "expert")


@functools.lru_cache(maxsize=32)
def _events(run_dir: str) -> EventAccumulator:
    """A run's event files, read once per script run (every panel asks for another tag)."""
    events = EventAccumulator(run_dir, size_guidance={"scalars": 0})
    events.Reload()
    return events


def scalars(run_dir: Path, tag: str) -> tuple[list[int], list[float]]:
    """Steps and values of one scalar of a TensorBoard run directory (empty when absent)."""
    events = _events(str(run_dir))
    if tag not in events.Tags()["scalars"]:
        return [], []
    points = events.Scalars(tag)
    return [p.step for p in points], [p.value for p in points]


def save_figure(fig: plt.Figure, out: Path, dpi: int = 110) -> None:
    """Lay out, write and close ``fig``."""
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def plot_strategies(results: list[dict], out: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(10, 4.6))
    width = 0.8 / len(SETS)
    for i, name in enumerate(SETS):
        xs = [k + (i - 1.5) * width for k in range(len(results))]
        ax.bar(xs, [r["mse"].get(name, float("nan")) for r in results], width, label=name)
    top = max(v for r in results for v in r["mse"].values())
    for k, r in enumerate(results):
        if not r["collapsed"]:
            continue
        embedding = r.get("embedding", {})
        # The flag also counts a CollapseMonitor warning that the run later recovered from.
        recovered = embedding.get("std", 0.0) >= 1e-2 and embedding.get("effective_rank", 0) >= 1.5
        label = "collapse warned,\nrecovered" if recovered else "collapsed"
        ax.annotate(label, (k, top * 2.5), ha="center", fontsize=8, color="red")
    ax.set_xticks(range(len(results)), [r["name"] for r in results], rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylim(top=top * 6)
    ax.set_ylabel("probe MSE per coordinate (px²)")
    ax.set_title(f"Strategies on the {title}, {results[0]['steps']} steps each (lower is better)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(ncol=4, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    save_figure(fig, out)


def plot_training(
    runs: list[Path], labels: list[str], strategies: Path | None, results: list[dict], out: Path
) -> None:
    """Loss terms and embedding std of the released run(s); the strategies' prediction terms
    (or, without a strategy comparison, the runs' inverse-dynamics term) in the last panel."""
    panels = [
        ("train/loss", "loss"),
        ("train/prediction", "prediction term"),
        ("train/variance", "variance term"),
        ("train/embedding_std", "embedding std"),
    ]
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(20, 3.6))
    for ax, (tag, title) in zip(axes[:-1], panels, strict=True):
        for run, label in zip(runs, labels, strict=True):
            steps, values = scalars(run, tag)
            ax.plot(steps, values, lw=0.8, label=label)
        ax.set_title(title)
        ax.set_xlabel("step")
        if tag != "train/embedding_std":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    if strategies:
        for r in results:
            steps, values = scalars(strategies / r["name"] / "run", "train/prediction")
            ax.plot(steps, values, lw=0.8, label=r["name"])
        ax.set_title("strategies: prediction term")
    else:
        for run, label in zip(runs, labels, strict=True):
            steps, values = scalars(run, "train/inverse_dynamics")
            ax.plot(steps, values, lw=0.8, label=label)
        ax.set_title("inverse-dynamics term")
    ax.set_xlabel("step")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, out, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--strategies", default="runs/strategies", help="benchmarks/strategies.py's --out"
    )
    parser.add_argument(
        "--best",
        nargs="+",
        default=["runs/best/version_0"],
        help="the released model's run directory, or several (e.g. one per training seed); "
        "'none': no training figure",
    )
    parser.add_argument(
        "--labels", nargs="+", default=None, help="one legend label per --best run directory"
    )
    parser.add_argument("--strategies-png", default="docs/results_strategies.png")
    parser.add_argument("--training-png", default="docs/results_training.png")
    parser.add_argument("--title", default="compact model", help="what the strategies trained")
    args = parser.parse_args(argv)
    strategies = Path(args.strategies)
    summary = strategies / "strategies.json"
    results = json.loads(summary.read_text()) if summary.exists() else []
    if results:
        plot_strategies(results, Path(args.strategies_png), args.title)
        print(f"wrote {args.strategies_png}")
    if args.best != ["none"]:
        labels = args.labels or ["released model"] * len(args.best)
        if len(labels) != len(args.best):
            parser.error(f"--labels: {len(labels)} labels for {len(args.best)} --best runs")
        runs = [Path(b) for b in args.best]
        plot_training(
            runs, labels, strategies if results else None, results, Path(args.training_png)
        )
        print(f"wrote {args.training_png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
