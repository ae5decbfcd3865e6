"""Small builders shared by the test modules (importable as ``helpers``: see pyproject's pythonpath).

Data sets generated on disk are fixtures in the conftest files; each calls :func:`tiny_data_set`
with the sizes its tests need.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, IterableDataset

from jepa_world.data.generate import generate_dataset
from jepa_world.env import random_trajectories, render
from jepa_world.env.trajectories import Trajectories
from jepa_world.probing.evaluator import evaluate_prober, train_prober
from jepa_world.probing.prober import probe_metric


def tiny_data_set(out: Path, seed: int = 0, **sizes: Any) -> Path:
    """A ``tiny``-preset data set at ``out`` (every size and the dtype overridable); returns its path."""
    generate_dataset(str(out), preset="tiny", seed=seed, progress=False, **sizes)
    return Path(out)


def generated_batch(n: int = 4, steps: int = 17, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Rendered random trajectories: states ``(n, steps, 2, 65, 65)`` raw scale, actions ``(n, steps-1, 2)``."""
    trajectories = random_trajectories(np.random.default_rng(seed), n, steps)
    states = render(trajectories.locations, trajectories.wall_x, trajectories.door_y)
    return torch.from_numpy(states), torch.from_numpy(trajectories.actions)


class Windows(Dataset):
    """Rendered random trajectories as the DataModule's dict samples, generated in memory."""

    def __init__(self, n: int = 16, steps: int = 5, seed: int = 0) -> None:
        self.states, self.actions = generated_batch(n, steps, seed)

    def __len__(self) -> int:
        return len(self.states)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"states": self.states[i], "actions": self.actions[i]}


class ConstantEncoder(nn.Module):
    """A collapsed encoder: every frame maps to the same learned vector."""

    def __init__(self, repr_dim: int = 16) -> None:
        super().__init__()
        self.repr_dim = repr_dim
        self.init_args = {"repr_dim": repr_dim}
        self.value = nn.Parameter(torch.linspace(-1.0, 1.0, repr_dim))

    def forward(self, frames: Tensor) -> Tensor:
        return self.value.expand(frames.shape[0], -1)


class WallOnlyEncoder(nn.Module):
    """A static code: a learned linear map of the pooled wall channel, blind to the agent."""

    def __init__(self, repr_dim: int = 16) -> None:
        super().__init__()
        self.repr_dim = repr_dim
        self.init_args = {"repr_dim": repr_dim}
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.linear = nn.Linear(16, repr_dim)

    def forward(self, frames: Tensor) -> Tensor:
        return self.linear(self.pool(frames[:, 1:2]).flatten(1) * 100.0)


class FreshWindows(IterableDataset):
    """Endless batches of newly rendered random trajectories (no files, little memory)."""

    def __init__(self, batch_size: int, seed: int) -> None:
        self.batch_size, self.seed = batch_size, seed

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        rng = np.random.default_rng(self.seed)
        while True:
            t = random_trajectories(rng, self.batch_size, 17)
            states = render(t.locations, t.wall_x, t.door_y)
            yield {"states": torch.from_numpy(states), "actions": torch.from_numpy(t.actions)}


def course_probe_scores(
    model: nn.Module, train: Trajectories, evaluation: dict[str, Trajectories]
) -> dict[str, float]:
    """The course prober (protocol §4) trained on ``train``'s predicted representations, scored
    on each evaluation set's (px² per coordinate); in memory, no files."""

    def representations(trajectories: Trajectories) -> Tensor:
        states = render(trajectories.locations[:, :1], trajectories.wall_x, trajectories.door_y)
        with torch.no_grad():
            return model(torch.from_numpy(states), torch.from_numpy(trajectories.actions))

    prober = train_prober(representations(train), torch.from_numpy(train.locations))
    return {
        name: probe_metric(
            evaluate_prober(prober, representations(t), torch.from_numpy(t.locations))[0]
        )
        for name, t in evaluation.items()
    }
