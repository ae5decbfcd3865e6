"""``benchmarks/planning_paired.py``: two runs on the same episodes, episode by episode."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import planning_paired  # noqa: E402


def run(folder: Path, final: list[float], closest: list[float], shift: float = 0.0) -> Path:
    """A fake ``jepa plan --out`` folder: episodes ending ``final`` px from the goal after
    coming ``closest`` px from it."""
    n = len(final)
    goal = np.full((n, 2), 30.0, dtype=np.float32)
    positions = np.zeros((n, 3, 2), dtype=np.float32)
    positions[:, 0] = goal + [20.0, 0.0]
    positions[:, 1] = goal + np.stack([closest, np.zeros(n)], 1)
    positions[:, 2] = goal + np.stack([final, np.zeros(n)], 1)
    folder.mkdir()
    np.savez(
        folder / "model.npz",
        wall_x=np.full(n, 32),
        door_y=np.full(n, 30),
        start=positions[:, 0] + shift,
        goal=goal,
        actions=np.zeros((n, 2, 2), dtype=np.float32),
        positions=positions,
    )
    return folder


def test_discordant_episodes_and_the_sign_test(tmp_path: Path, capsys) -> None:
    first = run(tmp_path / "one", final=[1, 1, 1, 9, 9], closest=[1, 1, 3, 9, 1])
    second = run(tmp_path / "two", final=[1, 9, 9, 1, 9], closest=[1, 1, 1, 1, 9])
    assert planning_paired.main([str(first), str(second)]) == 0
    out = capsys.readouterr().out
    # (a) final < 4.5: first solves 0,1,2; second 0,3 → first only 2, second only 1.
    assert "(a) first 60.0%, second 40.0%; solved by the first only 2, by the second only 1" in out
    # (b) within √2 at some step (the final step counts): first 0,1,2,4; second 0,1,2,3.
    assert "(b) first 80.0%, second 80.0%; solved by the first only 1, by the second only 1" in out


def test_sign_test_values() -> None:
    assert planning_paired.sign_test(0, 0) == 1.0
    assert planning_paired.sign_test(4, 1) == pytest.approx(0.375)
    assert planning_paired.sign_test(12, 3) == pytest.approx(0.03516, abs=1e-4)
    assert planning_paired.sign_test(2, 2) == 1.0


def test_runs_on_other_episodes_or_missing_files_are_refused(tmp_path: Path, capsys) -> None:
    first = run(tmp_path / "one", final=[1, 9], closest=[1, 9])
    other = run(tmp_path / "other", final=[1, 9], closest=[1, 9], shift=1.0)
    with pytest.raises(SystemExit):
        planning_paired.main([str(first), str(other)])
    assert "do not hold the same episodes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        planning_paired.main([str(first), str(tmp_path / "nothing")])
    assert "model.npz: not found" in capsys.readouterr().err
