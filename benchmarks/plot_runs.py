"""What healthy runs look like: the TensorBoard curves of several runs side by side.

One panel per statistic every strategy logs (the total loss, the prediction term, the
inverse-dynamics term, the embeddings' mean per-dimension std and effective rank, and the
validation loss), one line per run, plus a table of each statistic's last value. Runs trained
with different strategies are what it is for: docs/training.md, "Per-strategy configs".

::

    python benchmarks/plot_runs.py runs/vicreg/version_0 runs/sigreg/version_0 \
        --labels VICReg SIGReg --out docs/training_strategy_curves.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from plot_results import scalars  # noqa: E402  (benchmarks/plot_results.py, beside this script)

#: (tag, log scale); the tag is the panel's title
PANELS = (
    ("train/loss", True),
    ("train/prediction", True),
    ("train/inverse_dynamics", True),
    ("train/embedding_std", False),
    ("train/effective_rank", True),
    ("val/loss", True),
)


def last_values(run: Path) -> dict[str, float]:
    """The last logged value of every panel's statistic (NaN where the run never logged it)."""
    out = {}
    for tag, _ in PANELS:
        _, values = scalars(run, tag)
        out[tag] = values[-1] if values else float("nan")
    return out


def markdown_table(runs: list[Path], labels: list[str]) -> str:
    lines = ["| run | " + " | ".join(tag for tag, _ in PANELS) + " |"]
    lines.append("|---|" + "---:|" * len(PANELS))
    for run, label in zip(runs, labels, strict=True):
        values = last_values(run)
        lines.append(f"| {label} | " + " | ".join(f"{values[t]:.4g}" for t, _ in PANELS) + " |")
    return "\n".join(lines)


def plot_runs(runs: list[Path], labels: list[str], out: Path) -> None:
    fig, grid = plt.subplots(2, 3, figsize=(15, 7))
    axes = grid.ravel()
    for ax, (tag, log) in zip(axes, PANELS, strict=True):
        for run, label in zip(runs, labels, strict=True):
            steps, values = scalars(run, tag)
            ax.plot(
                steps,
                values,
                lw=0.9,
                marker="o" if tag.startswith("val/") else None,
                ms=3,
                label=label,
            )
        ax.set_title(tag)
        ax.set_xlabel("step")
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories (runs/<name>/version_<n>)")
    parser.add_argument("--labels", nargs="+", default=None, help="one legend label per run")
    parser.add_argument("--out", required=True, help="the PNG to write")
    args = parser.parse_args(argv)
    runs = [Path(r) for r in args.runs]
    for run in runs:
        if not any(run.glob("events.out.tfevents.*")):
            parser.error(f"{run}: no TensorBoard event file (expected runs/<name>/version_<n>)")
    labels = args.labels or [r.parent.name for r in runs]
    if len(labels) != len(runs):
        parser.error(f"--labels: {len(labels)} labels for {len(runs)} runs")
    out = Path(args.out)
    if out.exists():
        parser.error(f"--out: {out} exists; remove it or choose another name")
    plot_runs(runs, labels, out)
    print(markdown_table(runs, labels))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
