from pathlib import Path

import pytest
from helpers import tiny_data_set


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated data set (uint8 storage), shared by the data tests."""
    return tiny_data_set(
        tmp_path_factory.mktemp("data") / "tiny", seed=3, dtype="uint8", expert_steps=33
    )
