"""Torch datasets over split directories and the Lightning DataModule that serves training windows.

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

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate, get_worker_info
from torch.utils.data.distributed import DistributedSampler

from jepa_world.data.files import DataError, Split, open_split
from jepa_world.env.geometry import IMAGE_SIZE, WALL_X_RANGE

Sample = dict[str, torch.Tensor]
_MIRROR = IMAGE_SIZE - 1  # pixel c maps to 64 - c


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
        return torch.empty(shape, dtype=torch.float32).share_memory_()
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


class Mirror:
    """Reflect a sample across the image's vertical (``axis="x"``) or horizontal (``"y"``) midline.

    The reflection ``c -> 64 - c`` maps the task onto itself exactly: borders 4 and 60 swap,
    ``door_y`` 10..54 and ``wall_x`` 20..44 map into their own ranges, the Gaussian and the
    transition rule are symmetric, and the random walks are isotropic. Images flip along one
    axis, that component of the actions (and locations) changes sign (``x -> 64 - x``).

    Mirroring in x turns ``wall_x`` into ``64 - wall_x``: with training walls outside 40..44
    it shows the model walls at 40..44, the columns ``probe_wall_other`` keeps out of training.
    Mirroring in y leaves ``wall_x`` alone.

    Args:
        axis: "x" (columns) or "y" (rows).
        p: probability of mirroring each sample.
    """

    def __init__(self, axis: str = "y", p: float = 0.5) -> None:
        if axis not in ("x", "y"):
            raise ValueError(f"axis: expected 'x' or 'y', got {axis!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p: expected a probability in [0, 1], got {p}")
        self.axis, self.p = axis, p
        self.component = 0 if axis == "x" else 1
        self.image_dim = -1 if axis == "x" else -2

    def __call__(self, sample: Sample) -> Sample:
        if self.p <= 0 or (self.p < 1 and torch.rand(()) >= self.p):
            return sample
        out = dict(sample)
        out["states"] = torch.flip(sample["states"], dims=[self.image_dim])
        actions = sample["actions"].clone()
        actions[..., self.component] = -actions[..., self.component]
        out["actions"] = actions
        if "locations" in sample:
            locations = sample["locations"].clone()
            locations[..., self.component] = _MIRROR - locations[..., self.component]
            out["locations"] = locations
        return out


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: list[Callable[[Sample], Sample]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: Sample) -> Sample:
        for transform in self.transforms:
            sample = transform(sample)
        return sample


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
        mirrored = {_MIRROR - x for x in range(WALL_X_RANGE[0], WALL_X_RANGE[1] + 1)
                    if not low <= x <= high}  # fmt: skip
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
