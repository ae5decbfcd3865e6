"""Fixtures shared by the test modules at this level."""

from __future__ import annotations

import pytest

from jepa_world.data.generate import generate_dataset


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A generated `tiny` data set (uint8, 33-frame expert splits), read-only for the tests."""
    out = tmp_path_factory.mktemp("shared") / "tiny"
    generate_dataset(str(out), preset="tiny", seed=0, dtype="uint8", expert_steps=33, progress=False)
    return str(out)
