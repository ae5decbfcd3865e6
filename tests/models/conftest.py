import numpy as np
import pytest
import torch

from jepa_world.env import random_trajectories, render


def generated_batch(n: int = 4, steps: int = 17, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Rendered random trajectories: states (n, steps, 2, 65, 65) raw scale, actions (n, steps-1, 2)."""
    rng = np.random.default_rng(seed)
    trajectories = random_trajectories(rng, n, steps)
    states = render(trajectories.locations, trajectories.wall_x, trajectories.door_y)
    return torch.from_numpy(states), torch.from_numpy(trajectories.actions)


@pytest.fixture
def batch():
    return generated_batch()


@pytest.fixture
def make_batch():
    """The batch generator itself, for tests that need other sizes."""
    return generated_batch
