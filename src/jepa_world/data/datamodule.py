"""The Lightning DataModule that serves training windows from a split directory.

Training reads windows of ``L`` consecutive frames from ``train/``; a fixed, seeded fraction of
its trajectories (whole trajectories, so no frame leaks across) is held out for validation.
Arrays are memory maps opened lazily inside each DataLoader worker (see
:mod:`jepa_world.data.files`), so ``num_workers > 0`` never copies the data set between
processes.

The training order is a function of ``(seed, epoch)`` alone and the training loader records how
far into its epoch the run got, so a run resumed from any checkpoint, even one written in the
middle of an epoch, sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from jepa_world.data.datasets import ProbeDataset, Sample, WindowDataset, collate_windows
from jepa_world.data.files import DataError, Split, open_split
from jepa_world.data.sampling import (
    ResumableLoader,
    ResumableSampler,
    check_full_batch,
    split_trajectories,
    windows_per_device,
)
from jepa_world.data.transforms import MIRROR, Compose, Mirror
from jepa_world.env.geometry import WALL_X_RANGE

__all__ = [
    "Compose",
    "Mirror",
    "ProbeDataset",
    "ResumableLoader",
    "ResumableSampler",
    "TrajectoryDataModule",
    "WindowDataset",
    "check_full_batch",
    "collate_windows",
    "split_trajectories",
    "windows_per_device",
]


class TrajectoryDataModule(L.LightningDataModule):
    """Windows of consecutive frames from ``<data_dir>/train`` for training and validation.

    Batches are dicts with ``states`` ``(B, L, 2, 65, 65)`` and ``actions`` ``(B, L-1, 2)``,
    float32, values in the course scale (not normalised).

    Args:
        data_dir: Data set directory holding train/ (generated or the course's).
        window: Frames per training window L (at most the trajectories' T, 17 for the course).
        batch_size: Windows per batch.
        val_fraction: Fraction of train/ trajectories held out for validation (seeded).
        num_workers: DataLoader worker processes (0 reads in the main process).
        seed: Seed of the train/val partition and of the shuffling order.
        generate_if_missing: Generate the data set (preset below) when data_dir does not exist.
        preset: Preset used by generate_if_missing (tiny, quickstart or course).
        mirror_x: Probability of mirroring a window left-right (changes wall_x to 64 - wall_x,
            which shows training the wall columns excluded for probe_wall_other).
        mirror_y: Probability of mirroring a window top-bottom (an exact symmetry of the task).
        transform: Extra function applied to every training sample dict, after mirroring.
        pin_memory: Pin batches in page-locked memory (faster copies to a GPU).
        max_trajectories: Use only the first this many trajectories of train/ (quick runs).
    """

    def __init__(
        self,
        data_dir: str = "data/quickstart",
        window: int = 17,
        batch_size: int = 64,
        val_fraction: float = 0.05,
        num_workers: int = 2,
        seed: int = 0,
        generate_if_missing: bool = False,
        preset: str = "quickstart",
        mirror_x: float = 0.0,
        mirror_y: float = 0.0,
        transform: Callable[[Sample], Sample] | None = None,
        pin_memory: bool = False,
        max_trajectories: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["transform"])
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers: expected >= 0, got {num_workers}")
        if window < 2:
            raise ValueError(f"window: expected at least 2 frames, got {window}")
        if max_trajectories is not None and max_trajectories < 1:
            raise ValueError(f"max_trajectories: expected >= 1 or None, got {max_trajectories}")
        self.data_dir = Path(data_dir)
        self.window = window
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.num_workers = num_workers
        self.seed = seed
        self.generate_if_missing = generate_if_missing
        self.preset = preset
        self.pin_memory = pin_memory
        self.max_trajectories = max_trajectories
        steps: list[Callable[[Sample], Sample]] = []
        if mirror_x > 0:
            steps.append(Mirror("x", mirror_x))
        if mirror_y > 0:
            steps.append(Mirror("y", mirror_y))
        if transform is not None:
            steps.append(transform)
        self.train_transform = Compose(steps) if steps else None
        self.mirror_x = mirror_x
        self.train_set: WindowDataset | None = None
        self.val_set: WindowDataset | None = None
        self._train_loader: ResumableLoader | None = None
        self._resume_state: dict[str, Any] | None = None

    @property
    def train_dir(self) -> Path:
        return self.data_dir / "train"

    def prepare_data(self) -> None:
        """Generate the data set when it is missing and ``generate_if_missing`` is on."""
        if self.data_dir.exists() or not self.generate_if_missing:
            return
        from jepa_world.data.generate import generate_dataset

        generate_dataset(str(self.data_dir), preset=self.preset, seed=self.seed)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        if not self.train_dir.is_dir():
            raise DataError(
                f"{self.train_dir}: split directory not found; expected a data set with train/ "
                f"(create one with `jepa data generate --out {self.data_dir} --preset "
                f"{self.preset}`, or set generate_if_missing)"
            )
        split = open_split(self.train_dir)
        if self.window > split.steps:
            raise ValueError(
                f"window: {self.window} frames requested, but {self.train_dir} has T = "
                f"{split.steps} frames per trajectory; expected window <= {split.steps}"
            )
        n = len(split) if self.max_trajectories is None else min(len(split), self.max_trajectories)
        train_idx, val_idx = split_trajectories(n, self.val_fraction, self.seed)
        train_set = WindowDataset(split, self.window, train_idx, self.train_transform, batched=True)
        check_full_batch(
            self.train_dir, len(train_set), train_idx.size, self.batch_size, self._world_size()
        )
        self.train_set = train_set
        self.val_set = WindowDataset(split, self.window, val_idx, batched=True)
        self._warn_if_mirroring_leaks_ood(split)

    def _world_size(self) -> int:
        """Processes sharing each training epoch (1 without a trainer)."""
        trainer = self.trainer
        return int(trainer.world_size) if trainer is not None else 1

    def _warn_if_mirroring_leaks_ood(self, split: Split) -> None:
        if self.mirror_x <= 0:
            return
        excluded = split.meta.get("exclude_wall")
        if not excluded:
            return
        low, high = excluded
        mirrored = {
            MIRROR - x for x in range(WALL_X_RANGE[0], WALL_X_RANGE[1] + 1) if not low <= x <= high
        }
        leaked = sorted(x for x in mirrored if low <= x <= high)
        if leaked:
            warnings.warn(
                f"mirror_x: mirroring shows training the wall columns {leaked}, which "
                f"{self.train_dir} excludes ({low}-{high}) for probe_wall_other",
                stacklevel=2,
            )

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        options: dict[str, Any] = dict(
            batch_size=self.batch_size,
            collate_fn=collate_windows,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )
        if not train:
            return DataLoader(dataset, shuffle=False, **options)
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        sampler = ResumableSampler(dataset, num_replicas=replicas, rank=rank, seed=self.seed)
        return ResumableLoader(
            dataset,
            sampler=sampler,
            drop_last=True,
            # Seeds the workers' random streams (augmentation), independently of the global one.
            generator=torch.Generator().manual_seed(self.seed),
            progress=self._train_progress,
            **options,
        )

    def _train_progress(self) -> tuple[int, bool]:
        """Training batches the trainer has taken in the current epoch, and whether it is over."""
        trainer = self.trainer
        if trainer is None:
            return 0, False
        taken = int(trainer.fit_loop.epoch_loop.batch_progress.current.ready)
        return taken, taken >= trainer.num_training_batches

    def train_dataloader(self) -> DataLoader:
        if self.train_set is None:
            self.setup("fit")
        assert self.train_set is not None
        loader = self._loader(self.train_set, train=True)
        assert isinstance(loader, ResumableLoader)
        if self._resume_state:
            loader.load_state_dict(self._resume_state)
            self._resume_state = None
        self._train_loader = loader
        return loader

    def state_dict(self) -> dict[str, Any]:
        """The training loader's position in its epoch; Lightning stores it in every checkpoint.

        Saved here as well as by the loader itself because Lightning creates (and starts) the
        training loader before it restores the loops when ``configure_optimizers`` asks for
        ``estimated_stepping_batches``, too early for the loader's own state to be loaded; the
        DataModule's state is restored before that.
        """
        return {"train_loader": self._train_loader.state_dict()} if self._train_loader else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume the next training loader where the checkpointed run stopped."""
        self._resume_state = state_dict.get("train_loader")

    def val_dataloader(self) -> DataLoader | list[Any]:
        if self.val_set is None:
            self.setup("validate")
        assert self.val_set is not None
        return self._loader(self.val_set, train=False) if len(self.val_set) else []
