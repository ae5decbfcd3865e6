"""Shared fixtures: one small generated data set for every probing test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from jepa_world.data.generate import generate_dataset

#: Small but with every probe set; the expert horizon (33) exceeds the 30 sampled timesteps,
#: so the subsampling path runs too.
SIZES = {
    "train_size": 128,
    "probe_train_size": 256,
    "probe_val_size": 64,
    "wall_size": 64,
    "wall_other_size": 64,
    "expert_train_size": 64,
    "expert_val_size": 64,
    "expert_steps": 33,
}


@pytest.fixture(scope="session")
def probe_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("probing") / "data"
    generate_dataset(str(root), preset="tiny", seed=0, progress=False, **SIZES)
    return root


def _location_variance(split_dir: Path) -> float:
    locations = np.load(split_dir / "locations.npy").reshape(-1, 2).astype(np.float64)
    return float(locations.var(axis=0).mean())


@pytest.fixture
def location_variance() -> Callable[[Path], float]:
    """Per-coordinate variance of a split's locations over all trajectories and timesteps,
    averaged over x and y: what always guessing the mean location scores."""
    return _location_variance


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Probers are tiny: on a busy machine, torch's thread pool costs more than it gives."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def small_world_model() -> torch.nn.Module:
    """A real WorldModel of the project's own parts (saved and loaded by the weights format)."""
    from jepa_world.models import ConvEncoder, MLPPredictor, WorldModel

    torch.manual_seed(0)
    return WorldModel(ConvEncoder(repr_dim=32), MLPPredictor(repr_dim=32, hidden_dim=32))
