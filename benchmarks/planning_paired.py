"""Two planning runs on the same episodes, compared episode by episode (a paired sign test).

Reads the ``model.npz`` that ``jepa plan --out DIR`` wrote for each run, checks that both
hold the same episodes (layouts, starts and goals), and prints, for each success criterion
((a) final distance < 4.5 px, (b) within √2 px at some step), how many episodes only the first
run solved, how many only the second, and the two-sided sign test's p-value on those
discordant episodes::

    python benchmarks/planning_paired.py plans/pyramid plans/horizon40
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from jepa_world.planning.episodes import success_final, success_reach


def solved(run: Path) -> dict[str, np.ndarray]:
    """Per episode: success (a) and (b), and the episodes' layouts, starts and goals."""
    path = run / "model.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (a folder written by `jepa plan --out`)")
    with np.load(path, allow_pickle=False) as data:
        return {
            "a": success_final(data["positions"], data["goal"]),
            "b": success_reach(data["positions"], data["goal"]),
            "episodes": np.concatenate(
                [data["wall_x"][:, None], data["door_y"][:, None], data["start"], data["goal"]],
                axis=1,
            ),
        }


def sign_test(only_first: int, only_second: int) -> float:
    """Two-sided exact sign test: p of a split at least this uneven under a fair coin."""
    n = only_first + only_second
    if n == 0:
        return 1.0
    k = min(only_first, only_second)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="a `jepa plan --out` folder")
    parser.add_argument("second", type=Path, help="another, on the same episodes")
    args = parser.parse_args(argv)
    try:
        one, two = solved(args.first), solved(args.second)
    except FileNotFoundError as err:
        parser.error(str(err))
    if one["episodes"].shape != two["episodes"].shape or not np.allclose(
        one["episodes"], two["episodes"]
    ):
        parser.error(
            f"{args.first} and {args.second} do not hold the same episodes (same --episodes, "
            "--layouts and --seed needed)"
        )
    n = len(one["a"])
    print(f"{n} episodes; first: {args.first}, second: {args.second}")
    for criterion in ("a", "b"):
        x, y = one[criterion], two[criterion]
        only_first, only_second = int((x & ~y).sum()), int((~x & y).sum())
        print(
            f"({criterion}) first {x.mean():.1%}, second {y.mean():.1%}; solved by the first only "
            f"{only_first}, by the second only {only_second}; sign test p = "
            f"{sign_test(only_first, only_second):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
