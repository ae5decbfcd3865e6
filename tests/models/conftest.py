import pytest
from helpers import generated_batch


@pytest.fixture
def batch():
    return generated_batch()


@pytest.fixture
def make_batch():
    """The batch generator itself, for tests that need other sizes."""
    return generated_batch
