"""Torch datasets over split directories: training windows and whole probe trajectories.

Arrays are memory maps opened lazily inside each DataLoader worker (see
:mod:`jepa_world.data.files`), so ``num_workers > 0`` never copies the data set between
processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate, get_worker_info

from jepa_world.data.files import DataError, Split, open_split

#: One sample or batch: ``states``, ``actions`` (and ``locations`` for probe sets) as tensors.
Sample = dict[str, torch.Tensor]


def _as_split(split: Split | str | Path, need_locations: bool = False) -> Split:
    return split if isinstance(split, Split) else open_split(split, need_locations=need_locations)


class WindowDataset(Dataset):
    """Every window of ``window`` consecutive frames of the chosen trajectories.

    Item ``i`` is window ``i % per_trajectory`` of trajectory ``trajectories[i // per_trajectory]``
    and is a dict with ``states`` ``(L, 2, 65, 65)`` and ``actions`` ``(L-1, 2)``, float32.

    Args:
        split: an opened split or its directory.
        window: frames per window ``L`` (at most the split's ``T``).
        trajectories: indices of the trajectories to use (default: all).
        transform: optional function applied to each sample dict (augmentation).
        batched: let a DataLoader fetch whole batches at once (see :meth:`__getitems__`); it
            must then use :func:`collate_windows` as its ``collate_fn``.
    """

    def __init__(
        self,
        split: Split | str | Path,
        window: int = 17,
        trajectories: np.ndarray | None = None,
        transform: Callable[[Sample], Sample] | None = None,
        batched: bool = False,
    ) -> None:
        self.split = _as_split(split)
        steps = self.split.steps
        if not 2 <= window <= steps:
            raise ValueError(
                f"window: {window} frames requested, but {self.split.path} has T = {steps} "
                f"frames per trajectory; expected 2 <= window <= {steps}"
            )
        self.window = window
        self.per_trajectory = steps - window + 1
        if trajectories is None:
            trajectories = np.arange(len(self.split))
        self.trajectories = np.asarray(trajectories, dtype=np.int64)
        if self.trajectories.size and (
            self.trajectories.min() < 0 or self.trajectories.max() >= len(self.split)
        ):
            raise ValueError(f"trajectories: indices must lie in [0, {len(self.split)})")
        self.transform = transform
        self.batched = batched

    def __len__(self) -> int:
        return self.trajectories.size * self.per_trajectory

    def __getitems__(self, indices: list[int]) -> list[Sample] | Sample:
        """A whole batch, read straight into one array per key (the DataLoader's fast path).

        Stacking per-window tensors costs a second copy of a 37 MB batch; here each window is
        converted from its stored dtype directly into its slot. Returns a list of samples (the
        usual path) unless ``batched`` is set and there is no per-sample transform.
        """
        if not self.batched or self.transform is not None:
            return [self[i] for i in indices]
        index = np.asarray(indices, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError(f"window index out of range for {len(self)} windows")
        trajs = self.trajectories[index // self.per_trajectory]
        starts = index % self.per_trajectory
        states_raw, actions_raw = self.split.states.raw, self.split.actions.raw
        steps = self.window
        states_t = _batch_tensor((index.size, steps) + states_raw.shape[2:])
        actions_t = _batch_tensor((index.size, steps - 1, 2))
        states, actions = states_t.numpy(), actions_t.numpy()
        for row, (traj, start) in enumerate(zip(trajs.tolist(), starts.tolist(), strict=True)):
            states[row] = states_raw[traj, start : start + steps]
            actions[row] = actions_raw[traj, start : start + steps - 1]
        if self.split.states.scale != 1.0:
            states *= np.float32(self.split.states.scale)
        return {"states": states_t, "actions": actions_t}

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(f"window {index} out of range for {len(self)} windows")
        traj = int(self.trajectories[index // self.per_trajectory])
        start = index % self.per_trajectory
        stop = start + self.window
        sample = {
            "states": torch.from_numpy(self.split.states[traj, start:stop]),
            "actions": torch.from_numpy(self.split.actions[traj, start : stop - 1]),
        }
        return self.transform(sample) if self.transform is not None else sample


def _batch_tensor(shape: tuple[int, ...]) -> torch.Tensor:
    """An empty float32 tensor; in a DataLoader worker, in shared memory already (as
    ``default_collate`` does), so handing it to the main process needs no further copy."""
    if get_worker_info() is not None:
        # Allocated in shared memory directly, as default_collate does. The public
        # ``torch.empty(shape).share_memory_()`` allocates, then copies into shared memory: 24.6 ms
        # against 10.4 ms for a (64, 17, 2, 65, 65) batch, on a path that takes ~33 ms a batch.
        # tests/test_lightning_internals.py checks that this private call still exists.
        storage = torch.UntypedStorage._new_shared(math.prod(shape) * 4)
        return torch.tensor([], dtype=torch.float32).set_(storage).view(shape)
    return torch.empty(shape, dtype=torch.float32)


def collate_windows(batch: list[Sample] | Sample) -> Sample:
    """``collate_fn`` for :class:`WindowDataset`: passes a ready batch through, stacks a list."""
    return batch if isinstance(batch, dict) else default_collate(batch)


class ProbeDataset(Dataset):
    """Whole trajectories of a probe split: ``states`` ``(T, 2, 65, 65)``, ``actions`` ``(T-1, 2)``
    and ``locations`` ``(T, 2)``, float32.

    Args:
        split: an opened split or its directory (must hold ``locations.npy``).
        limit: use only the first ``limit`` trajectories.
    """

    def __init__(self, split: Split | str | Path, limit: int | None = None) -> None:
        self.split = _as_split(split, need_locations=True)
        if self.split.locations is None:
            raise DataError(
                f"{self.split.path}/locations.npy: file not found; probe splits need it"
            )
        n = len(self.split)
        self.size = n if limit is None else max(0, min(int(limit), n))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.size:
            raise IndexError(f"trajectory {index} out of range for {self.size}")
        assert self.split.locations is not None
        return {
            "states": torch.from_numpy(self.split.states[index]),
            "actions": torch.from_numpy(self.split.actions[index]),
            "locations": torch.from_numpy(self.split.locations[index]),
        }
