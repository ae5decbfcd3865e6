"""Where does a world model's imagination part from the simulator? Three probes of the walls.

Each case starts the agent somewhere in a layout, unrolls the predictor on a fixed action
sequence, and decodes every imagined code to the position of the nearest encoded frame on a
0.5 px grid of the same layout (no trained read-out: the model's own encoder is the ruler).
Printed: the true and the imagined end positions and the largest gap along the way.

- ``door path``: down to the door row, through the door, up to a goal in the other room.
- ``wall push``: straight into a wall face, far from the door (the simulator stops the agent).
- ``door edge``: 0.5 px in front of the wall face, 1.5 px beyond the door's edge, straight into
  the wall (the simulator keeps the agent where it is).

``--sweep N`` measures the last case over ``N`` random layouts instead: from 0.5 px in front of
either wall face, at several distances beyond the door's edge (and far from the door), twelve
1.5 px moves into the wall; printed per distance is how often the imagined agent ends on the
other side of the wall (the simulator never lets it), a "leak rate" a planner can exploit.

``--detours N`` asks what a planner's cost sees over a long horizon: for ``N`` planning
episodes (start and goal in opposite rooms), three 80-step plans from the start: ``detour``
(to the door, through it, to the goal, then still: the simulator ends it on the goal),
``straight`` (at the goal through the wall) and ``stay``. Printed: each plan's mean last-step
cost in representation space (the planner's ``--cost last``, ``auto`` distance) beside the cost
of the frame the simulator ends in, and how often the model ranks the detour first. A model
that drifts over 80 imagined steps scores even the perfect detour far from 0.

::

    python benchmarks/imagined_moves.py --ckpt releases/generic/model_weights.pth
    python benchmarks/imagined_moves.py --ckpt releases/generic/model_weights.pth --sweep 20 --layouts unseen
    python benchmarks/imagined_moves.py --ckpt releases/generic/model_weights.pth --detours 100
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from jepa_world.checkpoints import load_model
from jepa_world.env.geometry import DOOR_HALF_HEIGHT, WALL_HALF_WIDTH
from jepa_world.env.physics import simulate
from jepa_world.env.render import render
from jepa_world.planning.base import representation_cost
from jepa_world.planning.distance import GoalDistance, map_shape_of
from jepa_world.planning.episodes import sample_episodes

#: Distances (px) beyond the door's edge at which ``--sweep`` pushes into the wall.
EDGE_OFFSETS = (0.5, 1.0, 1.5, 2.5, 4.0, 8.0)
PUSH = 1.5
PUSH_STEPS = 12
#: Horizon and longest step of the ``--detours`` plans (the planner's defaults).
DETOUR_HORIZON = 80
DETOUR_STEP = 1.8

#: name → (wall column, door row, start (x, y), [(action, repeats), ...])
CASES = {
    "door path": (24, 32, (25.6, 49.5), [((0.0, -1.5), 12), ((-1.5, 0.0), 8), ((0.0, -1.5), 11)]),
    "wall push": (30, 50, (24.0, 30.0), [((1.0, 0.0), 12)]),
    "door edge": (32, 18, (30.5, 23.5), [((1.5, 0.0), 12)]),
}


def grid_codes(
    model: torch.nn.Module, wall: int, door: int, columns: tuple[float, float] = (4.0, 60.0)
) -> tuple[np.ndarray, torch.Tensor]:
    """Positions on a 0.5 px grid of the open area (between ``columns``) and their encodings."""
    xs, ys = np.meshgrid(np.arange(columns[0], columns[1] + 0.01, 0.5), np.arange(4.0, 60.01, 0.5))
    points = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    codes = []
    with torch.no_grad():
        for lo in range(0, len(points), 1000):
            frames = render(points[None, lo : lo + 1000], np.array([wall]), np.array([door]))
            codes.append(model.encode(torch.from_numpy(frames))[0])
    return points, torch.cat(codes)


def edge_starts(wall: int, door: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts 0.5 px in front of either face, above and below the door, at :data:`EDGE_OFFSETS`.

    Returns the starts ``(K, 2)``, the push direction ``(K,)`` (+1: towards larger x) and the
    offset beyond the door's edge of each start ``(K,)``; starts outside the room are left out.
    """
    starts, directions, offsets = [], [], []
    for side in (-1, 1):  # -1: left face, pushed towards +x
        x = wall + side * (WALL_HALF_WIDTH + 0.5)
        for offset in EDGE_OFFSETS:
            for sign in (-1, 1):
                y = door + sign * (DOOR_HALF_HEIGHT + offset)
                if 4.5 <= y <= 59.5:
                    starts.append((x, y))
                    directions.append(-side)
                    offsets.append(offset)
    return np.array(starts, np.float32), np.array(directions), np.array(offsets)


def leak_sweep(model: torch.nn.Module, layouts: int, kind: str, seed: int) -> None:
    """Print, per distance beyond the door's edge, how often imagined pushes cross the wall."""
    episodes = sample_episodes(np.random.default_rng(seed), layouts, kind)  # type: ignore[arg-type]
    crossed: dict[float, list[bool]] = {o: [] for o in EDGE_OFFSETS}
    advance: dict[float, list[float]] = {o: [] for o in EDGE_OFFSETS}
    blocked_true = 0
    for wall, door in zip(episodes.wall_x.tolist(), episodes.door_y.tolist(), strict=True):
        starts, directions, offsets = edge_starts(wall, door)
        actions = np.zeros((len(starts), PUSH_STEPS, 2), np.float32)
        actions[:, :, 0] = PUSH * directions[:, None]
        walls, doors = np.full(len(starts), wall), np.full(len(starts), door)
        true = simulate(starts, actions, walls, doors)
        blocked_true += int((np.sign(true[:, -1, 0] - wall) == -directions).sum())
        points, codes = grid_codes(model, wall, door, (wall - 14.0, wall + 14.0))
        with torch.no_grad():
            z0 = model.encode(torch.from_numpy(render(starts[:, None], walls, doors)))
            imagined = model.unroll(z0[:, 0], torch.from_numpy(actions))
            ends = points[torch.cdist(imagined[:, -1], codes).argmin(dim=1).numpy()]
        for k, offset in enumerate(offsets.tolist()):
            crossed[offset].append(bool(np.sign(ends[k, 0] - wall) == directions[k]))
            advance[offset].append(float((ends[k, 0] - starts[k, 0]) * directions[k]))
    total = sum(len(v) for v in crossed.values())
    print(
        f"{layouts} {kind} layouts (seed {seed}), {PUSH_STEPS} moves of {PUSH} px into the wall "
        f"from 0.5 px in front of it; the simulator kept {blocked_true} of {total} starts on their side"
    )
    print(
        f"{'beyond door edge':>17} {'starts':>7} {'imagined through':>17} {'mean imagined advance':>22}"
    )
    for offset in EDGE_OFFSETS:
        n = len(crossed[offset])
        rate = 100.0 * sum(crossed[offset]) / max(n, 1)
        print(f"{offset:>14.1f} px {n:>7} {rate:>16.1f}% {np.mean(advance[offset]):>19.2f} px")
    every = [c for v in crossed.values() for c in v]
    print(f"{'all':>17} {len(every):>7} {100.0 * sum(every) / max(len(every), 1):>16.1f}%")


def polyline_actions(points: list[np.ndarray], horizon: int, step: float) -> np.ndarray:
    """``(horizon, 2)`` actions of at most ``step`` px along ``points``, then zeros."""
    moves: list[np.ndarray] = []
    for a, b in zip(points[:-1], points[1:], strict=True):
        leg = np.asarray(b, np.float64) - np.asarray(a, np.float64)
        n = max(int(np.ceil(np.linalg.norm(leg) / step)), 1)
        moves += [leg / n] * n
    moves = moves[:horizon] + [np.zeros(2)] * max(0, horizon - len(moves))
    return np.array(moves, np.float32)


def detour_costs(model: torch.nn.Module, episodes: int, kind: str, seed: int) -> None:
    """Print the model's and the simulator's last-step costs of three plans per episode."""
    ep = sample_episodes(np.random.default_rng(seed), episodes, kind)  # type: ignore[arg-type]
    names = ("detour", "straight", "stay")
    plans = []
    for start, goal, wall, door in zip(ep.start, ep.goal, ep.wall_x, ep.door_y, strict=True):
        side = np.sign(start[0] - wall)
        via = [start, (wall + side * 3.0, door), (wall - side * 3.0, door), goal]
        plans.append(
            [
                polyline_actions(via, DETOUR_HORIZON, DETOUR_STEP),
                polyline_actions([start, goal], DETOUR_HORIZON, DETOUR_STEP),
                np.zeros((DETOUR_HORIZON, 2), np.float32),
            ]
        )
    actions = np.array(plans)  # (episodes, 3, horizon, 2)
    k = len(names)
    walls, doors = np.repeat(ep.wall_x, k), np.repeat(ep.door_y, k)
    ends = simulate(
        np.repeat(ep.start, k, axis=0).astype(np.float32),
        actions.reshape(-1, DETOUR_HORIZON, 2),
        walls,
        doors,
    )[:, -1]
    with torch.no_grad():
        z0 = model.encode(torch.from_numpy(render(ep.start[:, None], ep.wall_x, ep.door_y)))[:, 0]
        goal = model.encode(torch.from_numpy(render(ep.goal[:, None], ep.wall_x, ep.door_y)))[:, 0]
        imagined = representation_cost(model, z0, goal, mode="last")(
            torch.from_numpy(actions)
        ).numpy()
        z_end = model.encode(torch.from_numpy(render(ends[:, None], walls, doors)))[:, 0]
        true = GoalDistance(goal, "auto", map_shape_of(model))(
            z_end.reshape(episodes, k, -1)
        ).numpy()
    arrived = np.linalg.norm(ends.reshape(episodes, k, 2)[:, 0] - ep.goal, axis=1) < 1.0
    print(
        f"{episodes} {kind} episodes (seed {seed}), {DETOUR_HORIZON}-step plans of steps up to "
        f"{DETOUR_STEP} px; the simulator ends {arrived.sum()} detours on the goal (< 1 px)"
    )
    print(f"{'plan':<9} {'model cost':>11} {'cost of the true end':>21}")
    for j, name in enumerate(names):
        print(f"{name:<9} {imagined[:, j].mean():>11.3f} {true[:, j].mean():>21.3f}")
    first = (imagined.argmin(axis=1) == 0).mean() * 100
    print(
        f"the model ranks the detour first in {first:.1f} % of the episodes (the simulator: "
        f"{(true.argmin(axis=1) == 0).mean() * 100:.1f} %)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", required=True, help="a model_weights.pth or .ckpt")
    parser.add_argument(
        "--sweep", type=int, default=0, help="measure the door-edge leak over this many layouts"
    )
    parser.add_argument(
        "--detours", type=int, default=0, help="compare 80-step plan costs over this many episodes"
    )
    parser.add_argument("--layouts", choices=("seen", "unseen"), default="unseen")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sweep's layouts")
    args = parser.parse_args(argv)
    model = load_model(args.ckpt).eval()
    if args.sweep > 0:
        leak_sweep(model, args.sweep, args.layouts, args.seed)
    if args.detours > 0:
        detour_costs(model, args.detours, args.layouts, args.seed)
    if args.sweep > 0 or args.detours > 0:
        return
    print(
        f"{'case':<10} {'true end':>14} {'imagined end':>14} {'largest gap':>12}  imagined x along the way"
    )
    for name, (wall, door, start, moves) in CASES.items():
        actions = np.concatenate([np.tile(np.float32(a), (k, 1)) for a, k in moves])[None]
        s = np.array([start], dtype=np.float32)
        true = simulate(s, actions, np.array([wall]), np.array([door]))[0]
        points, codes = grid_codes(model, wall, door)
        with torch.no_grad():
            z0 = model.encode(torch.from_numpy(render(s[None], np.array([wall]), np.array([door]))))
            imagined = model.unroll(z0[:, 0], torch.from_numpy(actions))[0]
            nearest = torch.cdist(imagined, codes).argmin(dim=1).numpy()
        decoded = points[nearest]
        gap = np.linalg.norm(decoded - true, axis=1).max()
        path = " ".join(f"{x:g}" for x in decoded[:, 0])
        print(
            f"{name:<10} {str(tuple(round(float(v), 1) for v in true[-1])):>14} "
            f"{str(tuple(round(float(v), 1) for v in decoded[-1])):>14} {gap:>10.1f} px  {path}"
        )


if __name__ == "__main__":
    main()
