"""Fixtures shared by the test modules at this level."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import tiny_data_set


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated `tiny` data set (uint8, 33-frame expert splits), read-only for the tests."""
    return tiny_data_set(tmp_path_factory.mktemp("shared") / "tiny", dtype="uint8", expert_steps=33)
