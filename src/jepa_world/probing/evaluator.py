"""The probing evaluation of protocol §4, with the frozen model's representations cached.

The course loop calls the frozen model on every probe batch in each of the 20 prober epochs.
The model is deterministic and frozen, so its representations are the same every epoch: here
they are computed once per split (in batches, under ``torch.no_grad`` and ``eval()``), kept,
and the prober is trained on them with the same shuffling, batch size, ``drop_last``,
timestep subsampling, optimiser and schedule. Same protocol, about 20 times less model time.

Any ``nn.Module`` honouring the model contract works: ``forward(states (B,1,2,65,65),
actions (B,T-1,2)) -> (B,T,D)`` and an integer attribute ``repr_dim``.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from jepa_world.checkpoints import PICKLE_OPT_IN, load_model
from jepa_world.probing.prober import (
    PROBE_BASE_LR,
    PROBE_BATCH_SIZE,
    PROBE_EPOCHS,
    PROBE_SAMPLE_TIMESTEPS,
    Prober,
    denormalise_locations,
    mse_pixels_per_timestep,
    normalise_locations,
    probe_lr,
    sample_timesteps,
    squared_error_per_timestep,
)


@dataclass(frozen=True)
class ProbeSet:
    """One evaluation set: the split its prober is trained on and the split it is scored on."""

    name: str
    train: str
    val: str


#: The four course sets. ``normal``, ``wall`` and ``wall_other`` share the prober trained on
#: ``probe_normal/train``; ``expert`` has its own.
PROBE_SETS: dict[str, ProbeSet] = {
    "normal": ProbeSet("normal", "probe_normal/train", "probe_normal/val"),
    "wall": ProbeSet("wall", "probe_normal/train", "probe_wall/val"),
    "wall_other": ProbeSet("wall_other", "probe_normal/train", "probe_wall_other/val"),
    "expert": ProbeSet("expert", "probe_expert/train", "probe_expert/val"),
}
ALL_SETS: tuple[str, ...] = tuple(PROBE_SETS)

#: Above this many bytes, cached representations go to an unlinked temporary file on disk
#: (memory-mapped) instead of RAM.
DEFAULT_MAX_CACHE_BYTES: int = 4 * 1024**3
#: Cached representations are moved onto an accelerator only when smaller than this.
DEVICE_CACHE_BYTES: int = 2 * 1024**3
#: How many validation trajectories per set keep their decoded path for the plots.
N_EXAMPLES: int = 6


@dataclass
class TrajectoryExamples:
    """A few validation trajectories with the prober's decoded path, for pictures."""

    true: list[list[list[float]]]  # (K, T, 2) pixels
    predicted: list[list[list[float]]]  # (K, T, 2) pixels
    layouts: list[list[int]] | None  # (K, 2) = (wall_x, door_y), when known


@dataclass
class SetResult:
    """The score of one probe set.

    Attributes:
        name: Set name (``normal``, ``wall``, ...).
        mse: The protocol's number in pixels²: MSE per coordinate, averaged over x/y and all T.
        per_timestep: The same, before averaging over time: one value per prediction step,
            ``t = 0`` (the encoded first frame) included.
        n_train: Trajectories the prober was trained on.
        n_val: Trajectories scored (after ``drop_last``).
        train_split: Relative path of the training split.
        val_split: Relative path of the scored split.
    """

    name: str
    mse: float
    per_timestep: list[float]
    n_train: int
    n_val: int
    train_split: str
    val_split: str
    examples: TrajectoryExamples | None = None


@dataclass
class ProbeResult:
    """Everything one evaluation produced; ``losses`` gives the course's four numbers."""

    sets: dict[str, SetResult]
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    param_count: int = 0
    repr_dim: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def losses(self) -> dict[str, float]:
        """``{set name: MSE in pixels²}`` for every set that was evaluated, in protocol order."""
        return {name: result.mse for name, result in self.sets.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters: the figure the course asks for."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then the CPU; anything else is passed to torch."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


@contextlib.contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Evaluation mode and no gradients for the duration, every submodule's mode restored after.

    Restoring each submodule's own flag (not calling ``train()`` on the root) keeps parts that
    were deliberately in eval mode, such as a frozen target network, as they were.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, mode in modes:
            module.training = mode


@contextlib.contextmanager
def _fork_rng(device: torch.device) -> Iterator[None]:
    """Leave the caller's random streams untouched (training stays reproducible)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield


def _progress(iterable: Any, enabled: bool, **kwargs: Any) -> Any:
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def _empty_cache(shape: tuple[int, ...], max_bytes: int) -> Tensor:
    """A float32 tensor in RAM, or backed by an unlinked temporary file when too large."""
    nbytes = 4 * math.prod(shape)
    if nbytes <= max_bytes:
        return torch.empty(shape, dtype=torch.float32)
    # The file is unlinked at creation; its space is freed when the mapping is dropped.
    array = np.memmap(tempfile.TemporaryFile(), dtype=np.float32, mode="w+", shape=shape)
    return torch.from_numpy(array)


def _first_frames(split: Any, start: int, stop: int) -> np.ndarray:
    """States of the first frame only, ``(B, 1, 2, 65, 65)``: the model never sees more."""
    return np.asarray(split.states[start:stop, :1], dtype=np.float32)


def compute_representations(
    model: nn.Module,
    split: Any,
    device: torch.device,
    batch_size: int = 256,
    limit: int | None = None,
    max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES,
    name: str = "split",
    progress: bool = False,
) -> Tensor:
    """The frozen model's predicted representations ``(N, T, D)`` of a split, on the CPU.

    Only the first frame and the actions are given to the model, as in the protocol.

    Args:
        model: A module honouring the model contract; it must already be on ``device``.
        split: An opened split (``states``/``actions`` indexable as arrays).
        device: Where the model runs.
        batch_size: Trajectories per forward pass (memory, not the protocol).
        limit: Use only the first ``limit`` trajectories.
        max_cache_bytes: Above this the result lives in a temporary file on disk.
        name: The split's name, for messages.
        progress: Show a progress bar.
    """
    n_total = int(split.actions.shape[0])
    n = n_total if limit is None else min(limit, n_total)
    horizon = int(split.actions.shape[1]) + 1
    repr_dim = int(model.repr_dim)
    out = _empty_cache((n, horizon, repr_dim), max_cache_bytes)
    with frozen(model):
        starts = range(0, n, batch_size)
        for start in _progress(starts, progress, desc=f"represent {name}", leave=False):
            stop = min(start + batch_size, n)
            states = torch.from_numpy(_first_frames(split, start, stop)).to(device)
            actions = torch.from_numpy(np.asarray(split.actions[start:stop], dtype=np.float32)).to(
                device
            )
            reps = model(states, actions)
            expected = (stop - start, horizon, repr_dim)
            if not isinstance(reps, Tensor) or tuple(reps.shape) != expected:
                found = tuple(reps.shape) if isinstance(reps, Tensor) else type(reps).__name__
                raise ValueError(
                    f"{name}: model(states {tuple(states.shape)}, actions {tuple(actions.shape)}) "
                    f"returned {found}; the model contract expects (B, T, repr_dim) = {expected}"
                )
            if not torch.isfinite(reps).all():
                raise FloatingPointError(
                    f"{name}: the model produced non-finite representations for trajectories "
                    f"{start}..{stop - 1}"
                )
            out[start:stop] = reps.float().cpu()
    return out


def _to_device_if_small(tensor: Tensor, device: torch.device) -> Tensor:
    if device.type != "cpu" and tensor.numel() * tensor.element_size() <= DEVICE_CACHE_BYTES:
        return tensor.to(device)
    return tensor


def _check_pair(representations: Tensor, locations: Tensor, what: str) -> None:
    if representations.shape[:2] != locations.shape[:2] or locations.shape[-1] != 2:
        raise ValueError(
            f"{what}: representations {tuple(representations.shape)} and locations "
            f"{tuple(locations.shape)} do not match; expected (N, T, D) and (N, T, 2)"
        )


def train_prober(
    representations: Tensor,
    locations: Tensor,
    device: torch.device | str = "cpu",
    epochs: int = PROBE_EPOCHS,
    batch_size: int = PROBE_BATCH_SIZE,
    base_lr: float = PROBE_BASE_LR,
    sample_timesteps_above: int = PROBE_SAMPLE_TIMESTEPS,
    seed: int = 0,
    progress: bool = False,
    name: str = "probe",
) -> Prober:
    """Train a fresh :class:`Prober` on cached representations, as protocol §4 step 4.

    Adam, ``epochs`` passes over the trajectories shuffled each epoch, batches of
    ``batch_size`` with the last partial batch dropped, loss = MSE over batch, timesteps and
    both coordinates in normalised units, the learning rate of :func:`probe_lr` set before each
    step, and 30 random timesteps per trajectory when ``T > 30``.

    Args:
        representations: ``(N, T, D)`` frozen predictions (CPU or ``device``).
        locations: ``(N, T, 2)`` true locations in pixels.
        device: Where the prober trains.
        epochs: Passes over the data.
        batch_size: Trajectories per step; when ``N < batch_size`` one batch of ``N`` is used.
        base_lr: Learning rate for batch 256, scaled by ``batch_size / 256``.
        sample_timesteps_above: Timesteps kept per trajectory when ``T`` exceeds it.
        seed: Seeds the prober's initialisation, the shuffling and the timestep draws.
        progress: Show a progress bar over epochs.
        name: For messages.
    """
    _check_pair(representations, locations, name)
    if epochs < 1 or batch_size < 1:
        raise ValueError(
            f"{name}: epochs and batch_size must be >= 1, got {epochs} and {batch_size}"
        )
    device = torch.device(device)
    n = representations.shape[0]
    if n == 0:
        raise ValueError(f"{name}: no trajectories to train the prober on")
    batch = min(batch_size, n)
    steps_per_epoch = n // batch
    total_steps = epochs * steps_per_epoch
    targets = normalise_locations(locations.float()).to(representations.device)
    generator = torch.Generator().manual_seed(seed)
    with _fork_rng(device):
        torch.manual_seed(seed)
        prober = Prober(representations.shape[-1]).to(device)
    optimizer = torch.optim.Adam(prober.parameters(), lr=probe_lr(0, total_steps, base_lr, batch))
    prober.train()
    step = 0
    loss = torch.zeros(())
    for _ in _progress(range(epochs), progress, desc=f"train prober {name}", leave=False):
        order = torch.randperm(n, generator=generator)
        for b in range(steps_per_epoch):
            index = order[b * batch : (b + 1) * batch].to(representations.device)
            reps, tgts = representations[index], targets[index]
            reps, tgts = sample_timesteps(reps, tgts, sample_timesteps_above, generator)
            reps, tgts = reps.to(device, non_blocking=True), tgts.to(device, non_blocking=True)
            for group in optimizer.param_groups:
                group["lr"] = probe_lr(step, total_steps, base_lr, batch)
            loss = (prober(reps) - tgts).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    if not math.isfinite(float(loss.detach())):
        raise FloatingPointError(f"{name}: the prober's loss became non-finite")
    prober.eval()
    return prober


def evaluate_prober(
    prober: Prober,
    representations: Tensor,
    locations: Tensor,
    batch_size: int = PROBE_BATCH_SIZE,
    name: str = "probe",
) -> tuple[Tensor, Tensor]:
    """Score a trained prober, as protocol §4 step 5.

    Batches of ``batch_size`` in order with the last partial batch dropped (one batch of all
    trajectories when there are fewer). Equal batch sizes make the mean over batches of the
    per-batch means equal to the mean over the kept trajectories, which is what is computed.

    Returns:
        ``(mse, predicted)``: the ``(T, 2)`` MSE in normalised units and the decoded locations
        ``(N_kept, T, 2)`` in pixels (on the CPU).
    """
    _check_pair(representations, locations, name)
    n = representations.shape[0]
    if n == 0:
        raise ValueError(f"{name}: no trajectories to evaluate")
    batch = min(batch_size, n)
    kept = (n // batch) * batch
    device = next(prober.parameters()).device
    squared = torch.zeros(representations.shape[1], 2, dtype=torch.float64)
    decoded = []
    prober.eval()
    with torch.no_grad():
        for start in range(0, kept, batch):
            reps = representations[start : start + batch].to(device)
            tgts = normalise_locations(locations[start : start + batch].float()).to(device)
            pred = prober(reps)
            squared += squared_error_per_timestep(pred, tgts).double().cpu()
            decoded.append(denormalise_locations(pred).cpu())
    return (squared / (kept // batch)).float(), torch.cat(decoded)


# --------------------------------------------------------------------------------------------
# Files


class ProbeDataError(RuntimeError):
    """A probe split needed for the evaluation is missing or unreadable."""


def open_probe_split(path: Path) -> Any:
    """Open and validate a probe split (locations required)."""
    from jepa_world.data.files import open_split

    return open_split(path, need_locations=True)


def _split_locations(split: Any, limit: int | None) -> Tensor:
    n = int(split.actions.shape[0]) if limit is None else min(limit, int(split.actions.shape[0]))
    return torch.from_numpy(np.asarray(split.locations[:n], dtype=np.float32))


def _split_layouts(split: Any, indices: Sequence[int]) -> list[list[int]] | None:
    layouts = getattr(split, "layouts", None)
    if layouts is not None:
        return [[int(v) for v in np.asarray(layouts[i])] for i in indices]
    from jepa_world.env import layout_from_walls

    walls = np.stack([_first_frames(split, i, i + 1)[0, 0, 1] for i in indices])
    wall_x, door_y = layout_from_walls(walls)
    return [[int(w), int(d)] for w, d in zip(wall_x.tolist(), door_y.tolist(), strict=True)]


def missing_splits(data_dir: str | Path, sets: Sequence[str]) -> dict[str, str]:
    """``{set: reason}`` for each requested set whose split directories are absent."""
    root = Path(data_dir)
    missing: dict[str, str] = {}
    for name in sets:
        if name not in PROBE_SETS:
            raise ValueError(f"unknown probe set {name!r}; expected one of {', '.join(ALL_SETS)}")
        probe_set = PROBE_SETS[name]
        absent = [s for s in (probe_set.train, probe_set.val) if not (root / s).is_dir()]
        if absent:
            missing[name] = "missing " + " and ".join(str(root / s) for s in absent)
    return missing


class ProbeEvaluator:
    """Runs the probing protocol for one model on one data directory.

    Representations are computed once per split and shared: ``probe_normal/train`` feeds the
    prober of ``normal``, ``wall`` and ``wall_other``.

    Args:
        model: Any module with ``forward(states, actions) -> (B, T, D)`` and ``repr_dim``.
        data_dir: Directory holding ``probe_normal/``, ``probe_wall/``, ... .
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ... The model is moved there.
        epochs: Prober training epochs (20 in the protocol).
        batch_size: Prober batch size (64 in the protocol), for training and scoring.
        seed: Seeds each prober's initialisation, shuffling and timestep draws.
        max_train: Train each prober on at most this many trajectories (all by default).
        max_val: Score at most this many trajectories per set (all by default).
        base_lr: Prober learning rate for batch 256 (2e-4 in the protocol; only monitors
            change it, to converge on fewer steps).
        forward_batch_size: Trajectories per forward pass of the frozen model.
        max_cache_bytes: Cached representations larger than this go to a temporary file.
        progress: Show progress bars.
    """

    def __init__(
        self,
        model: nn.Module,
        data_dir: str | Path,
        device: str | torch.device = "auto",
        epochs: int = PROBE_EPOCHS,
        batch_size: int = PROBE_BATCH_SIZE,
        seed: int = 0,
        max_train: int | None = None,
        max_val: int | None = None,
        base_lr: float = PROBE_BASE_LR,
        forward_batch_size: int = 256,
        max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES,
        progress: bool = True,
    ) -> None:
        if not isinstance(getattr(model, "repr_dim", None), int):
            raise TypeError(
                f"{type(model).__name__} has no integer attribute repr_dim; the model contract "
                "needs repr_dim = D and forward(states, actions) -> (B, T, D)"
            )
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.data_dir = Path(data_dir)
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.max_train = max_train
        self.max_val = max_val
        self.base_lr = base_lr
        self.forward_batch_size = forward_batch_size
        self.max_cache_bytes = max_cache_bytes
        self.progress = progress
        self._splits: dict[str, Any] = {}
        self._representations: dict[str, Tensor] = {}
        self._probers: dict[str, Prober] = {}
        self.notes: list[str] = []
        self.seconds: dict[str, float] = {"represent": 0.0, "train": 0.0, "score": 0.0}

    def split(self, relative: str) -> Any:
        if relative not in self._splits:
            path = self.data_dir / relative
            if not path.is_dir():
                raise ProbeDataError(f"probe split {path} is missing (no such directory)")
            self._splits[relative] = open_probe_split(path)
        return self._splits[relative]

    def _limit(self, relative: str) -> int | None:
        return self.max_train if relative.endswith("/train") else self.max_val

    def representations(self, relative: str) -> Tensor:
        """The cached ``(N, T, D)`` representations of a split, computed on first use."""
        if relative not in self._representations:
            tic = time.perf_counter()
            reps = compute_representations(
                self.model,
                self.split(relative),
                self.device,
                batch_size=self.forward_batch_size,
                limit=self._limit(relative),
                max_cache_bytes=self.max_cache_bytes,
                name=relative,
                progress=self.progress,
            )
            self._representations[relative] = _to_device_if_small(reps, self.device)
            self.seconds["represent"] += time.perf_counter() - tic
        return self._representations[relative]

    def prober(self, train_split: str) -> Prober:
        """The prober trained on ``train_split`` (trained on first use, then reused)."""
        if train_split not in self._probers:
            reps = self.representations(train_split)
            locations = _split_locations(self.split(train_split), self._limit(train_split))
            if reps.shape[0] < self.batch_size:
                self.notes.append(
                    f"{train_split} has {reps.shape[0]} trajectories, fewer than the batch size "
                    f"{self.batch_size}: the prober trains on one batch of all of them"
                )
            tic = time.perf_counter()
            self._probers[train_split] = train_prober(
                reps,
                locations,
                device=self.device,
                epochs=self.epochs,
                batch_size=self.batch_size,
                base_lr=self.base_lr,
                seed=self.seed,
                progress=self.progress,
                name=train_split,
            )
            self.seconds["train"] += time.perf_counter() - tic
        return self._probers[train_split]

    def evaluate_set(self, name: str, prober: Prober | None = None) -> SetResult:
        """Score a set with ``prober`` (default: the one trained on the set's training split)."""
        probe_set = PROBE_SETS[name]
        if prober is None:
            prober = self.prober(probe_set.train)
        reps = self.representations(probe_set.val)
        val_split = self.split(probe_set.val)
        locations = _split_locations(val_split, self.max_val)
        if reps.shape[0] < self.batch_size:
            self.notes.append(
                f"{probe_set.val} has {reps.shape[0]} trajectories, fewer than the batch size "
                f"{self.batch_size}: scored as one batch of all of them"
            )
        tic = time.perf_counter()
        mse, decoded = evaluate_prober(prober, reps, locations, self.batch_size, probe_set.val)
        self.seconds["score"] += time.perf_counter() - tic
        per_timestep = mse_pixels_per_timestep(mse)
        k = min(N_EXAMPLES, decoded.shape[0])
        examples = TrajectoryExamples(
            true=locations[:k].tolist(),
            predicted=decoded[:k].tolist(),
            layouts=_split_layouts(val_split, list(range(k))) if k else None,
        )
        n_train = self._representations.get(probe_set.train)
        return SetResult(
            name=name,
            mse=float(per_timestep.mean()),
            per_timestep=per_timestep.tolist(),
            n_train=int(n_train.shape[0]) if n_train is not None else 0,
            n_val=int(decoded.shape[0]),
            train_split=probe_set.train,
            val_split=probe_set.val,
            examples=examples,
        )

    def run(self, sets: Sequence[str] = ALL_SETS, require: Sequence[str] = ()) -> ProbeResult:
        """Evaluate ``sets``; those whose directories are missing are skipped with a note.

        Args:
            sets: Names among ``normal``, ``wall``, ``wall_other``, ``expert``.
            require: Sets that must be present: a missing one raises :class:`ProbeDataError`.
        """
        if not self.data_dir.is_dir():
            raise ProbeDataError(
                f"{self.data_dir}: data directory not found; expected probe_normal/, probe_wall/, "
                "... (create them with `jepa data generate --out DIR`)"
            )
        missing = missing_splits(self.data_dir, sets)
        for name in require:
            if name in missing:
                raise ProbeDataError(f"probe set {name!r} is required but {missing[name]}")
        results: dict[str, SetResult] = {}
        with _fork_rng(self.device):
            for name in sets:
                if name in missing:
                    self.notes.append(f"skipped {name}: {missing[name]}")
                    continue
                results[name] = self.evaluate_set(name)
        return ProbeResult(
            sets=results,
            skipped=missing,
            notes=list(self.notes),
            param_count=count_parameters(self.model),
            repr_dim=int(self.model.repr_dim),
            seconds=dict(self.seconds),
            config={
                "data_dir": str(self.data_dir),
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "seed": self.seed,
                "max_train": self.max_train,
                "max_val": self.max_val,
                "base_lr": self.base_lr,
                "device": str(self.device),
            },
        )


def evaluate(
    model: nn.Module,
    data_dir: str | Path,
    sets: Sequence[str] = ALL_SETS,
    device: str | torch.device = "auto",
    epochs: int = PROBE_EPOCHS,
    batch_size: int = PROBE_BATCH_SIZE,
    seed: int = 0,
    max_train: int | None = None,
    max_val: int | None = None,
    base_lr: float = PROBE_BASE_LR,
    progress: bool = True,
) -> ProbeResult:
    """Run the probing protocol on ``data_dir`` and return every set's score.

    Args:
        model: Any module with ``forward(states, actions) -> (B, T, D)`` and ``repr_dim``.
        data_dir: Directory holding the ``probe_*`` splits.
        sets: Which sets to score; missing ones are skipped and listed in ``result.skipped``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        epochs: Prober training epochs (20 in the protocol).
        batch_size: Prober batch size (64 in the protocol).
        seed: Seeds the probers' initialisation, shuffling and timestep draws.
        max_train: Train each prober on at most this many trajectories (all by default).
        max_val: Score at most this many trajectories per set (all by default).
        base_lr: Prober learning rate for batch 256 (2e-4 in the protocol).
        progress: Show progress bars.
    """
    evaluator = ProbeEvaluator(
        model,
        data_dir,
        device=device,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        max_train=max_train,
        max_val=max_val,
        base_lr=base_lr,
        progress=progress,
    )
    return evaluator.run(sets)


@dataclass
class ProbingConfig:
    """The protocol's settings under the course template's names (read-only reference)."""

    probe_targets: str = "locations"
    lr: float = PROBE_BASE_LR
    epochs: int = PROBE_EPOCHS
    batch_size: int = PROBE_BATCH_SIZE
    sample_timesteps: int = PROBE_SAMPLE_TIMESTEPS
    prober_arch: str = "256"


class ProbingEvaluator:
    """The course template's evaluator interface, on split directories instead of loaders.

    ``train_pred_prober()`` trains the prober on ``probe_normal/train``;
    ``evaluate_all(prober)`` returns ``{set: MSE}`` for the ``normal``, ``wall`` and
    ``wall_other`` sets present. The ``expert`` set has its own prober: use
    :func:`evaluate` (or :class:`ProbeEvaluator`) for all four.

    Args:
        device: Where the model and the prober run.
        model: Any module with ``forward(states, actions) -> (B, T, D)`` and ``repr_dim``.
        data_dir: Directory holding the ``probe_*`` splits.
        quick_debug: One epoch on at most 640 trajectories per split, to check the plumbing.
        config: The protocol's settings (epochs and batch size are read from it).
    """

    def __init__(
        self,
        device: str | torch.device,
        model: nn.Module,
        data_dir: str | Path = "data/quickstart",
        quick_debug: bool = False,
        config: ProbingConfig | None = None,
    ) -> None:
        self.config = config or ProbingConfig()
        limit = 640 if quick_debug else None
        self.evaluator = ProbeEvaluator(
            model,
            data_dir,
            device=device,
            epochs=1 if quick_debug else self.config.epochs,
            batch_size=self.config.batch_size,
            max_train=limit,
            max_val=limit,
        )

    def train_pred_prober(self) -> Prober:
        return self.evaluator.prober(PROBE_SETS["normal"].train)

    def evaluate_pred_prober(self, prober: Prober, name: str) -> float:
        return self.evaluator.evaluate_set(name, prober).mse

    def evaluate_all(self, prober: Prober) -> dict[str, float]:
        present = [
            n
            for n in ("normal", "wall", "wall_other")
            if n not in missing_splits(self.evaluator.data_dir, [n])
        ]
        return {name: self.evaluate_pred_prober(prober, name) for name in present}


# --------------------------------------------------------------------------------------------
# Probing a checkpoint


def find_training_command(path: str | Path) -> str | None:
    """How the model at ``path`` was trained, when the files around it say so.

    A ``metrics.txt`` beside the file (written with the model) gives its command; else a
    ``config.yaml`` saved by ``jepa fit`` in the run directory (up to two levels up) gives
    ``jepa fit --config <that file>``.
    """
    path = Path(path).resolve()
    metrics = path.parent / "metrics.txt"
    if metrics.is_file():
        from jepa_world.probing.report import read_metrics

        try:
            command = read_metrics(metrics).command
        except ValueError:
            command = None
        if command:
            return command
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        config = folder / "config.yaml"
        if config.is_file():
            return f"jepa fit --config {config}"
    return None


def probe_checkpoint(
    ckpt: str,
    data: str = "data/quickstart",
    out: str | None = None,
    sets: list[str] | None = None,
    device: str = "auto",
    epochs: int = PROBE_EPOCHS,
    batch_size: int = PROBE_BATCH_SIZE,
    seed: int = 0,
    max_train: int | None = None,
    max_val: int | None = None,
    command: str | None = None,
    plots: bool = True,
    progress: bool = True,
    trust_modules: str | None = None,
    trust_pickle: bool = False,
) -> ProbeResult:
    """Run the full probing protocol on a checkpoint and write its report.

    Prints the table, then writes ``metrics.txt`` (course format), ``probe_results.json``
    (per-timestep curves) and the pictures into ``out``.

    Args:
        ckpt: A Lightning ``.ckpt`` written by ``jepa fit``, or a ``model_weights.pth``.
        data: Directory holding the ``probe_*`` splits.
        out: Where the report goes; by default the checkpoint's own directory.
        sets: Sets to score, among normal, wall, wall_other, expert (default: all; missing
            ones are skipped with a note).
        device: auto, cpu, cuda, cuda:1, mps, ...
        epochs: Prober training epochs (20 in the protocol).
        batch_size: Prober batch size (64 in the protocol).
        seed: Seeds the probers.
        max_train: Train each prober on at most this many trajectories (default: all).
        max_val: Score at most this many trajectories per set (default: all).
        command: The training command recorded in metrics.txt (default: read from the run's
            files when possible).
        plots: Also save the pictures.
        progress: Show progress bars.
        trust_modules: Comma-separated packages besides jepa_world whose classes the file may
            name (also read from $JEPA_TRUSTED_MODULES); only for files you trust.
        trust_pickle: Open a .ckpt with full unpickling, which can run code (also
            $JEPA_TRUST_PICKLE=1); only for files you trust.
    """
    from jepa_world.probing.report import format_table, write_report

    model = load_model(ckpt, trust_modules=trust_modules, trust_pickle=trust_pickle, opt_in=PICKLE_OPT_IN)
    result = evaluate(
        model,
        data,
        sets=tuple(sets) if sets else ALL_SETS,
        device=device,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        max_train=max_train,
        max_val=max_val,
        progress=progress,
    )
    if not result.sets:
        raise ProbeDataError(
            f"{data}: none of the probe sets {', '.join(sets or ALL_SETS)} is there "
            f"({'; '.join(result.skipped.values())}); generate them with `jepa data generate`"
        )
    recorded = command or find_training_command(ckpt) or "unknown (pass --command to record it)"
    out_dir = Path(out) if out is not None else Path(ckpt).parent
    written = write_report(result, out_dir, recorded, plots=plots)
    print(format_table(result))
    for note in result.notes:
        print(f"note: {note}")
    for what, path in written.items():
        print(f"{what}: {path}")
    return result
