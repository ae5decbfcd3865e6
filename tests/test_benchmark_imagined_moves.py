"""``benchmarks/imagined_moves.py`` reproduces what docs/planning.md says of the two models."""

from __future__ import annotations

import sys
from pathlib import Path

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
