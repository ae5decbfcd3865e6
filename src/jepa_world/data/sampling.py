"""Which windows a process reads, in which order, and how far into its epoch a run got.

The training order is a function of ``(seed, epoch)`` alone and the training loader records how
far into its epoch the run got, so a run resumed from any checkpoint, even one written in the
middle of an epoch, sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler


def split_trajectories(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded partition of ``range(n)`` into sorted (train, val) trajectory indices."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected a fraction in [0, 1), got {val_fraction}")
    n_val = 0 if val_fraction == 0 else max(1, int(round(n * val_fraction)))
    if n_val >= n:
        raise ValueError(
            f"val_fraction: {val_fraction} of {n} trajectories leaves none for training"
        )
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def windows_per_device(windows: int, world_size: int) -> int:
    """Training windows each process reads per epoch: :class:`ResumableSampler` (a
    ``DistributedSampler`` that keeps every window) pads the epoch to a multiple of ``world_size``."""
    return math.ceil(windows / world_size)


def check_full_batch(
    train_dir: Path, windows: int, trajectories: int, batch_size: int, world_size: int
) -> None:
    """Refuse a training set that gives each process fewer windows than one batch.

    The training loader drops an incomplete last batch (``drop_last``), so such a run would train
    nothing: Lightning would stop with "no training batches" and exit successfully.
    """
    per_device = windows_per_device(windows, world_size)
    if batch_size > per_device:
        raise ValueError(
            f"batch_size: {batch_size} is larger than the {per_device} training windows of "
            f"{train_dir} per device ({windows} windows of {trajectories} trajectories shared by "
            f"{world_size} device(s)); the training loader drops an incomplete batch, so nothing "
            "would be trained: lower it, train on fewer devices or generate more data"
        )


class ResumableSampler(DistributedSampler):
    """Shuffled training order fixed by ``(seed, epoch)``, sharded over ranks, resumable mid-epoch.

    The order of epoch ``e`` never depends on how many epochs this process has already drawn, so a
    resumed process reproduces it; :meth:`resume` makes the next pass over epoch ``e`` skip the
    samples an interrupted run had already trained on. Being a ``DistributedSampler``, Lightning
    uses it as it is under DDP instead of wrapping it (each rank reads its own shard).

    Args:
        dataset: the dataset to index (only its length is used).
        num_replicas: number of ranks sharing the epoch (1 without DDP).
        rank: this process's rank.
        shuffle: draw a fresh permutation per epoch (else the natural order).
        seed: seed of the permutations; epoch ``e`` uses ``seed + e``.
    """

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self._resume: tuple[int, int] | None = None

    def resume(self, epoch: int, skip: int) -> None:
        """Continue epoch ``epoch`` after its first ``skip`` samples (of this rank's shard)."""
        self.set_epoch(epoch)
        self._resume = (epoch, skip)

    def __iter__(self):  # type: ignore[override]
        indices = list(super().__iter__())
        if self._resume is not None:
            epoch, skip = self._resume
            self._resume = None  # only the first pass after a resume is shortened
            if epoch == self.epoch:
                indices = indices[skip:]
        return iter(indices)


class ResumableLoader(DataLoader):
    """A training ``DataLoader`` whose position in its epoch is saved in Lightning checkpoints.

    Lightning calls :meth:`state_dict` when it writes a checkpoint and :meth:`load_state_dict`
    when it resumes from one. The position is the number of batches the training loop has taken
    in the current epoch (``progress``, read from the trainer, not counted here: the loop fetches
    ahead of what it has trained on). The loader must use a :class:`ResumableSampler`.

    Args:
        progress: returns ``(batches taken this epoch, whether the epoch is over)``.
        *args, **kwargs: those of ``DataLoader``.
    """

    def __init__(
        self, *args: Any, progress: Callable[[], tuple[int, bool]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.sampler, ResumableSampler):
            raise TypeError(
                f"ResumableLoader: expected a ResumableSampler, got {type(self.sampler).__name__}"
            )
        self.progress = progress

    def state_dict(self) -> dict[str, Any]:
        batches, finished = self.progress() if self.progress is not None else (0, False)
        sampler = self.sampler
        assert isinstance(sampler, ResumableSampler)
        return {
            "epoch": int(sampler.epoch),
            "batches": int(batches),
            "finished": bool(finished),
            "batch_size": self.batch_size,
            "num_replicas": sampler.num_replicas,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sampler = self.sampler
        assert isinstance(sampler, ResumableSampler)
        epoch, batches = int(state.get("epoch", 0)), int(state.get("batches", 0))
        if state.get("finished", False):
            sampler.resume(epoch + 1, 0)
            return
        same = (state.get("batch_size"), state.get("num_replicas")) == (
            self.batch_size,
            sampler.num_replicas,
        )
        if not same and batches:
            warnings.warn(
                f"resuming epoch {epoch} after {batches} batches, but the checkpoint used batch "
                f"size {state.get('batch_size')} on {state.get('num_replicas')} process(es) and "
                f"this run {self.batch_size} on {sampler.num_replicas}: the epoch restarts from "
                "its first batch",
                stacklevel=2,
            )
            batches = 0
        assert self.batch_size is not None
        sampler.resume(epoch, batches * self.batch_size)
