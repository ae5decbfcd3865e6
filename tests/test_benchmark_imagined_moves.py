"""``benchmarks/imagined_moves.py`` reproduces what docs/planning.md says of the two models."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import imagined_moves  # noqa: E402


def gaps(output: str) -> dict[str, float]:
    """Largest gap (px) per case, read off the printed table."""
    out = {}
    for name in imagined_moves.CASES:
        line = next(row for row in output.splitlines() if row.startswith(name))
        out[name] = float(line.split(" px")[0].split()[-1])
    return out


@pytest.mark.parametrize(
    ("weights", "largest"),
    [
        ("model_weights.pth", {"door path": 0.5, "wall push": 1.0, "door edge": 0.5}),
        ("releases/generic/model_weights.pth", {"door path": 2.0, "wall push": 1.5}),
    ],
)
def test_the_printed_gaps_are_the_documented_ones(
    weights: str, largest: dict[str, float], capsys: pytest.CaptureFixture[str]
) -> None:
    path = ROOT / weights
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    imagined_moves.main(["--ckpt", str(path)])
    found = gaps(capsys.readouterr().out)
    for name, limit in largest.items():
        assert found[name] <= limit, (name, found)
    if "generic" in weights:
        assert found["door edge"] > 5.0, found  # the short cut through the wall at the door's edge


def leak_rates(output: str) -> dict[str, float]:
    """Imagined-through rate (%) per distance beyond the door's edge, and ``all``."""
    rates = {}
    for row in output.splitlines():
        words = row.split()
        if words and words[0] == "all":
            rates["all"] = float(words[2].rstrip("%"))
        elif len(words) == 6 and words[1] == "px":
            rates[words[0]] = float(words[3].rstrip("%"))
    return rates


def test_edge_starts_are_blocked_by_the_simulator() -> None:
    starts, directions, offsets = imagined_moves.edge_starts(30, 30)
    assert len(starts) == 2 * 2 * len(imagined_moves.EDGE_OFFSETS)
    # 0.5 px in front of a face, pushed towards the wall, off the door's rows.
    assert set(abs(starts[:, 0] - 30).tolist()) == {1.5}
    assert (directions == np.where(starts[:, 0] > 30, -1, 1)).all()
    assert (abs(starts[:, 1] - 30) - 4 == offsets).all()


@pytest.mark.parametrize(
    ("weights", "leaks"),
    [("model_weights.pth", False), ("releases/generic/model_weights.pth", True)],
)
def test_the_sweep_tells_a_leaky_door_edge_from_a_tight_one(
    weights: str, leaks: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ROOT / weights
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    imagined_moves.main(["--ckpt", str(path), "--sweep", "2", "--seed", "0"])
    output = capsys.readouterr().out
    assert "the simulator kept 48 of 48 starts" in output
    rates = leak_rates(output)
    assert set(rates) == {*(f"{o:.1f}" for o in imagined_moves.EDGE_OFFSETS), "all"}
    if leaks:  # docs/planning.md: through the wall within 1 px of the door's edge
        assert rates["0.5"] == rates["1.0"] == 100.0 and rates["8.0"] <= 10.0
    else:
        assert rates["all"] == 0.0


def test_polyline_actions_follow_the_points_in_short_steps() -> None:
    points = [np.array([10.0, 10.0]), np.array([10.0, 20.0]), np.array([13.0, 20.0])]
    actions = imagined_moves.polyline_actions(points, horizon=12, step=1.8)
    assert actions.shape == (12, 2)
    assert np.linalg.norm(actions, axis=1).max() <= 1.8 + 1e-6
    assert np.allclose(actions.sum(axis=0), [3.0, 10.0], atol=1e-5)
    assert not actions[-3:].any()  # 6 + 2 moves, then still


def test_detours_are_costed_by_the_model_and_the_simulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = ROOT / "model_weights.pth"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    imagined_moves.main(["--ckpt", str(path), "--detours", "6", "--layouts", "seen"])
    lines = capsys.readouterr().out.splitlines()
    assert "the simulator ends 6 detours on the goal" in lines[0]
    cost = {row.split()[0]: [float(v) for v in row.split()[1:]] for row in lines[2:5]}
    # The compact model imagines the detour's end where the simulator puts it (on the goal)
    # and ranks it below standing still.
    assert cost["detour"][1] < 0.05 and cost["detour"][0] < 0.5
    assert cost["stay"][0] > 10 * cost["detour"][0]
