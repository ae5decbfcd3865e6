"""``benchmarks/planning_distance.py``: the released generic model's plain distance saturates
far from the goal and the pyramid distance does not (the claim docs/planning.md makes)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import planning_distance  # noqa: E402

GENERIC = ROOT / "releases" / "generic" / "model_weights.pth"


def far_band(output: str, mode: str) -> list[float]:
    """The last column (beyond 15 px) of every row of ``mode``."""
    rows = [line for line in output.splitlines() if re.search(rf",\s+{mode}\s", line)]
    return [float(line.split()[-1]) for line in rows]


def test_pyramid_keeps_ranking_far_goals_where_plain_has_saturated(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if not GENERIC.is_file():
        pytest.skip(f"{GENERIC} is not present")
    out = tmp_path / "profiles.png"
    planning_distance.main(["--ckpt", str(GENERIC), "--points", "120", "--out", str(out)])
    printed = capsys.readouterr().out
    plain, pyramid = far_band(printed, "plain"), far_band(printed, "pyramid")
    assert len(plain) == len(pyramid) == len(planning_distance.CASES), printed
    assert max(plain) < 0.5 and min(pyramid) > 0.9, printed
    assert out.is_file()
    with pytest.raises(SystemExit):  # an existing figure is never overwritten
        planning_distance.main(["--ckpt", str(GENERIC), "--points", "20", "--out", str(out)])


def test_a_vector_code_is_told_that_only_plain_applies(capsys: pytest.CaptureFixture[str]) -> None:
    compact = ROOT / "model_weights.pth"
    if not compact.is_file():
        pytest.skip(f"{compact} is not present")
    planning_distance.main(["--ckpt", str(compact), "--points", "20"])
    assert "plain only" in capsys.readouterr().out
