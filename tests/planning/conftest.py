"""Fixtures of the planning tests: the released compact model and small planner settings."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "model_weights.pth"


@pytest.fixture(scope="session")
def weights() -> Path:
    """The released compact world model (a few thousand parameters, fast on CPU)."""
    if not WEIGHTS.is_file():
        pytest.skip(f"{WEIGHTS} is not present")
    return WEIGHTS
