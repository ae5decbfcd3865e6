"""The collapse statistics of trained models, read on trajectories of a data split.

For each checkpoint (``.ckpt`` of ``jepa fit``) or weights file (``model_weights.pth``), the
encoder codes the first ``--window`` frames of ``--n`` trajectories of ``--split``, and the
statistics that ``JEPAModule`` logs during training are printed: the mean per-dimension std,
the effective rank and the step change (how much the code moves from one frame to the next,
relative to its spread over the batch), with the ``CollapseMonitor``'s verdict on its default
thresholds. A model whose probe error is that of a model that learned nothing, although its
std and rank look healthy, shows here as a step change near zero: a code that holds the layout
and not the agent.

::

    python benchmarks/embedding_stats.py releases/generic/model_weights.pth runs/x/last.ckpt \\
        --split data/quickstart/train
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from jepa_world.callbacks import CollapseMonitor
from jepa_world.checkpoints import load_model
from jepa_world.data.files import open_split
from jepa_world.module import embedding_stats


def verdict(stats: dict[str, float], monitor: CollapseMonitor) -> str:
    """``collapsed``, ``static`` or ``healthy``, by the monitor's thresholds."""
    found = monitor.diagnose(stats)
    return "healthy" if found is None else found[0]


@torch.no_grad()
def trajectory_stats(path: str, states: torch.Tensor) -> dict[str, float]:
    """``embedding_stats`` of the model at ``path`` on ``states (B, L, 2, 65, 65)``."""
    encoder = load_model(path).encoder.eval()
    batch, length = states.shape[:2]
    codes = encoder(states.flatten(0, 1)).reshape(batch, length, -1)
    return {name: float(value) for name, value in embedding_stats(codes).items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="checkpoints or model_weights.pth files")
    parser.add_argument("--split", default="data/quickstart/train", help="a split folder")
    parser.add_argument("--n", type=int, default=64, help="trajectories read (default 64)")
    parser.add_argument("--window", type=int, default=9, help="frames of each (default 9)")
    parser.add_argument("--seed", type=int, default=0, help="which trajectories (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    if args.n < 2 or args.window < 2:
        parser.error("--n and --window must be at least 2")
    torch.set_num_threads(args.threads)
    split = open_split(args.split)
    count = min(args.n, len(split.states))
    rows = np.sort(np.random.default_rng(args.seed).choice(len(split.states), count, replace=False))
    states = torch.from_numpy(np.ascontiguousarray(split.states[rows, : args.window]))
    monitor = CollapseMonitor()
    print(f"{count} trajectories x {states.shape[1]} frames of {args.split}")
    print("| model | std | eff. rank | step change | verdict |")
    print("|---|---|---|---|---|")
    for path in args.models:
        stats = trajectory_stats(path, states)
        print(
            f"| {path} | {stats['std']:.3f} | {stats['effective_rank']:.1f} | "
            f"{stats['step_change']:.4f} | {verdict(stats, monitor)} |"
        )


if __name__ == "__main__":
    main()
