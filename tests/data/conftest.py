import pytest

from jepa_world.data.generate import generate_dataset


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A small generated data set (uint8 storage), shared by the data tests."""
    out = tmp_path_factory.mktemp("data") / "tiny"
    return generate_dataset(
        str(out), preset="tiny", seed=3, dtype="uint8", expert_steps=33, progress=False
    )
