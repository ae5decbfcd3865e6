"""Does the planner's distance to the goal grow with the true distance? Plain against pyramid.

Renders a goal and many agent positions in one room of a layout, encodes them with the world
model, and ranks each distance (``plain`` Euclidean and ``pyramid``, src/jepa_world/planning/
distance.py) against the true distance in pixels: Spearman correlation by band of true
distance, and the mean distance by true distance (the profile a planner sees). A planner needs
a distance that keeps growing far from the goal; a code of feature maps gives a plain distance
that saturates a few pixels away. ``--out`` draws the profiles.

::

    python benchmarks/planning_distance.py --ckpt releases/generic/model_weights.pth \\
        --out docs/planning_distance.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from jepa_world.checkpoints import load_world_model
from jepa_world.env.render import render
from jepa_world.planning.distance import GoalDistance, map_shape_of

#: Bands of true distance (px) in which the ranks are compared.
BANDS = ((0.0, 1.5), (0.0, 4.0), (4.0, 15.0), (15.0, 80.0))
#: (wall column, door row, goal x, goal y): a goal in each room, two layouts.
CASES = ((30, 32, 15.0, 30.0), (25, 50, 40.0, 10.0))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def measure(model: torch.nn.Module, wall: int, door: int, goal: np.ndarray, n: int, seed: int):
    """True and model distances of ``n`` random positions plus ``n // 2`` near the goal."""
    rng = np.random.default_rng(seed)
    left = goal[0] < wall
    lo, hi = (4.5, wall - 1.5) if left else (wall + 1.5, 59.5)
    spread = np.stack([rng.uniform(lo, hi, n), rng.uniform(4.5, 59.5, n)], 1)
    near = goal + rng.normal(0.0, 2.5, (n // 2, 2))
    near[:, 0] = near[:, 0].clip(lo, hi)
    near[:, 1] = near[:, 1].clip(4.5, 59.5)
    points = np.concatenate([goal[None], spread, near]).astype(np.float32)
    frames = render(points[None], np.array([wall]), np.array([door]))
    with torch.no_grad():
        z = model.encode(torch.from_numpy(frames))[0]
    true = np.linalg.norm(points[1:] - goal, axis=1)
    out = {}
    for mode in ("plain", "pyramid"):
        dist = GoalDistance(z[:1], mode, map_shape_of(model))
        with torch.no_grad():
            out[mode] = dist(z[None, 1:])[0].numpy()
    return true, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", required=True, help="a model_weights.pth or .ckpt")
    parser.add_argument("--points", type=int, default=400, help="random positions per layout")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="a .png of the profiles (refused if it exists)")
    args = parser.parse_args(argv)
    if args.out and Path(args.out).exists():
        parser.error(f"--out {args.out} exists; choose a new name")
    model = load_world_model(args.ckpt).eval()
    if map_shape_of(model) is None:
        print("note: this model's code is not feature maps; pyramid is not available, plain only")
        return
    print(f"{args.ckpt}: code of {model.repr_dim} numbers, maps {map_shape_of(model)}")
    header = "  ".join(f"[{lo:g}, {hi:g}) px" for lo, hi in BANDS)
    print(f"{'layout / distance':<28} Spearman with the true distance by band: {header}")
    profiles = []
    for i, (wall, door, gx, gy) in enumerate(CASES):
        goal = np.array([gx, gy])
        true, dists = measure(model, wall, door, goal, args.points, args.seed + i)
        for mode, d in dists.items():
            cells = []
            for lo, hi in BANDS:
                inside = (true >= lo) & (true < hi)
                cells.append(f"{spearman(d[inside], true[inside]):>+10.2f}")
            print(f"wall {wall} door {door}, {mode:<8}   {'  '.join(cells)}")
        profiles.append((f"wall {wall}, goal ({gx:g}, {gy:g})", true, dists))
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(profiles), figsize=(5 * len(profiles), 3.6))
        for ax, (title, true, dists) in zip(np.atleast_1d(axes), profiles, strict=True):
            for mode, d in dists.items():
                ax.scatter(true, d / d.max(), s=4, label=mode)
            ax.set_xlabel("true distance to the goal (px)")
            ax.set_ylabel("distance / its maximum")
            ax.set_title(title)
            ax.legend()
        fig.suptitle(f"{args.ckpt}: the planner's distance to the goal")
        fig.tight_layout()
        fig.savefig(args.out, dpi=110)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
