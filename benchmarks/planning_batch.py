"""Time of one imagined step per candidate against the number of candidates in a predictor call.

A planner scores its candidates by unrolling the predictor on all of them at once
(``representation_cost``): one call per horizon step for ``episodes × samples`` candidates.
How long one candidate-step takes depends on that batch: small batches pay Python and launch
overheads, large ones on a CPU can fall out of the caches. This prints, for a checkpoint, the
microseconds per candidate-step (predictor step plus the distance to the goal, as in planning)
at each batch size, and each against the best, so a user can pick ``--candidate_chunk``::

    python benchmarks/planning_batch.py --ckpt releases/generic/model_weights.pth
    python benchmarks/planning_batch.py --ckpt model_weights.pth --sizes 256,4096,25600
"""

from __future__ import annotations

import argparse
import time

import torch

from jepa_world.checkpoints import load_model
from jepa_world.planning.distance import GoalDistance, map_shape_of


@torch.no_grad()
def time_per_candidate(model: torch.nn.Module, size: int, steps: int, repeats: int) -> float:
    """Median seconds per candidate-step over ``repeats`` unrolls of ``steps`` steps."""
    frames = torch.zeros(2, 2, 65, 65)
    frames[:, 0, 32, 16] = 1.0
    frames[:, 1, :, 32] = 1.0
    z0, z_goal = model.encoder(frames).reshape(2, -1)
    to_goal = GoalDistance(z_goal[None], "auto", map_shape_of(model))
    actions = torch.randn(size, steps, 2)
    times = []
    for _ in range(repeats + 1):  # the first unroll warms up and is not counted
        z = z0.expand(size, -1).contiguous()
        tic = time.perf_counter()
        for t in range(steps):
            z = model.predictor(z, actions[:, t])
            to_goal(z.reshape(1, size, -1))
        times.append((time.perf_counter() - tic) / (size * steps))
    kept = sorted(times[1:])
    return kept[len(kept) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", required=True, help="a .ckpt or model_weights.pth")
    parser.add_argument(
        "--sizes", default="32,64,128,256,512,1024,2048,4096", help="candidates per call"
    )
    parser.add_argument("--steps", type=int, default=10, help="imagined steps per unroll")
    parser.add_argument("--repeats", type=int, default=3, help="timed unrolls per size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if not sizes or min(sizes) < 1 or args.steps < 1 or args.repeats < 1:
        parser.error("--sizes, --steps and --repeats must be positive")
    model = load_model(args.ckpt).eval()
    print(f"{args.ckpt}: repr_dim {model.repr_dim}, {torch.get_num_threads()} torch thread(s)")
    found = {size: time_per_candidate(model, size, args.steps, args.repeats) for size in sizes}
    best = min(found.values())
    print(f"{'candidates':>10} {'µs / candidate-step':>20} {'× best':>7}")
    for size, seconds in found.items():
        print(f"{size:>10} {seconds * 1e6:>20.2f} {seconds / best:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
