"""Where does a world model's imagination part from the simulator? Three probes of the walls.

Each case starts the agent somewhere in a layout, unrolls the predictor on a fixed action
sequence, and decodes every imagined code to the position of the nearest encoded frame on a
0.5 px grid of the same layout (no trained read-out: the model's own encoder is the ruler).
Printed: the true and the imagined end positions and the largest gap along the way.

- ``door path``: down to the door row, through the door, up to a goal in the other room.
- ``wall push``: straight into a wall face, far from the door (the simulator stops the agent).
- ``door edge``: 0.5 px in front of the wall face, 1.5 px beyond the door's edge, straight into
  the wall (the simulator keeps the agent where it is).

::

    python benchmarks/imagined_moves.py --ckpt releases/generic/model_weights.pth
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from jepa_world.checkpoints import load_world_model
from jepa_world.env.physics import simulate
from jepa_world.env.render import render

#: name → (wall column, door row, start (x, y), [(action, repeats), ...])
CASES = {
    "door path": (24, 32, (25.6, 49.5), [((0.0, -1.5), 12), ((-1.5, 0.0), 8), ((0.0, -1.5), 11)]),
    "wall push": (30, 50, (24.0, 30.0), [((1.0, 0.0), 12)]),
    "door edge": (32, 18, (30.5, 23.5), [((1.5, 0.0), 12)]),
}


def grid_codes(model: torch.nn.Module, wall: int, door: int) -> tuple[np.ndarray, torch.Tensor]:
    """Positions on a 0.5 px grid of the open area and their encodings."""
    xs, ys = np.meshgrid(np.arange(4.0, 60.01, 0.5), np.arange(4.0, 60.01, 0.5))
    points = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    codes = []
    with torch.no_grad():
        for lo in range(0, len(points), 1000):
            frames = render(points[None, lo : lo + 1000], np.array([wall]), np.array([door]))
            codes.append(model.encode(torch.from_numpy(frames))[0])
    return points, torch.cat(codes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", required=True, help="a model_weights.pth or .ckpt")
    args = parser.parse_args(argv)
    model = load_world_model(args.ckpt).eval()
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
