"""The probing evaluation of protocol §4 on a data directory, with representations cached.

:func:`evaluate` is the entry point: it scores any module honouring the model contract
(``forward(states (B,1,2,65,65), actions (B,T-1,2)) -> (B,T,D)`` and an integer ``repr_dim``)
on the course's probe sets. Every knob of the protocol that a caller may change is a field of
:class:`ProbeSettings`. :class:`ProbeRunner` does the work: it computes each split's
representations once (:mod:`~jepa_world.probing.representations`), trains a prober per
training split (:mod:`~jepa_world.probing.fitting`) and scores each set. Same protocol as the
course loop, about 20 times less model time. :class:`ProbeSettings` lives in
:mod:`~jepa_world.probing.settings` and is importable from here too.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from jepa_world.devices import resolve_device
from jepa_world.models.world_model import count_parameters
from jepa_world.probing.cache_space import peak_bytes, require_free
from jepa_world.probing.fitting import evaluate_prober, shard_starts, train_prober
from jepa_world.probing.prober import (
    Prober,
    mse_pixels_per_timestep,
)
from jepa_world.probing.representations import (
    CACHE_DTYPES,
    compute_representations,
    fork_rng,
    to_device_if_small,
)
from jepa_world.probing.results import (
    ALL_SETS,
    N_EXAMPLES,
    PROBE_SETS,
    ProbeResult,
    RepeatedResult,
    SetResult,
    TrajectoryExamples,
)
from jepa_world.probing.settings import ProbeSettings
from jepa_world.probing.splits import (
    ProbeDataError,
    missing_splits,
    open_probe_split,
    split_layouts,
    split_locations,
)


class ProbeRunner:
    """Runs the probing protocol for one model on one data directory.

    Representations are computed once per split and shared: ``probe_normal/train`` feeds the
    prober of ``normal``, ``wall`` and ``wall_other``; :meth:`reseed` drops the probers but
    keeps the representations, so repeats with other prober seeds cost only prober training.

    Args:
        model: Any module with ``forward(states, actions) -> (B, T, D)`` and ``repr_dim``.
        data_dir: Directory holding ``probe_normal/``, ``probe_wall/``, ... .
        settings: How to run the protocol (default: the protocol's own settings).
        rank: This process's rank in a multi-process run (the probing callback under DDP).
        world_size: Number of processes. With more than one, each scores its own whole batches
            of every val set and the scores are reduced across processes (every process must
            call :meth:`evaluate_set` / :meth:`run` for the same sets in the same order); probers
            are trained by one process and handed to the others with :meth:`use_prober`.
    """

    def __init__(
        self,
        model: nn.Module,
        data_dir: str | Path,
        settings: ProbeSettings | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not isinstance(getattr(model, "repr_dim", None), int):
            raise TypeError(
                f"{type(model).__name__} has no integer attribute repr_dim; the model contract "
                "needs repr_dim = D and forward(states, actions) -> (B, T, D)"
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"ProbeRunner: rank must be in [0, {world_size}), got {rank}")
        self.rank, self.world_size = rank, world_size
        self.settings = settings or ProbeSettings()
        self.device = resolve_device(self.settings.device)
        self.model = model.to(self.device)
        self.data_dir = Path(data_dir)
        self._splits: dict[str, Any] = {}
        self._representations: dict[str, Tensor] = {}
        self._probers: dict[str, Prober] = {}
        self.notes: list[str] = []
        self.seconds: dict[str, float] = {"represent": 0.0, "train": 0.0, "score": 0.0}

    def reseed(self, seed: int) -> None:
        """Use prober seed ``seed`` from now on; probers are retrained, representations kept."""
        self.settings = self.settings.replace(seed=seed)
        self._probers.clear()

    def split(self, relative: str) -> Any:
        if relative not in self._splits:
            path = self.data_dir / relative
            if not path.is_dir():
                raise ProbeDataError(f"probe split {path} is missing (no such directory)")
            self._splits[relative] = open_probe_split(path)
        return self._splits[relative]

    def _limit(self, relative: str) -> int | None:
        return self.settings.max_train if relative.endswith("/train") else self.settings.max_val

    def _set_size(self, relative: str) -> int:
        total = int(self.split(relative).actions.shape[0])
        limit = self._limit(relative)
        return total if limit is None else min(limit, total)

    def _shard(self, relative: str) -> list[int] | None:
        """First rows of this process's scoring batches of a val split (None: the whole split)."""
        if self.world_size == 1 or relative.endswith("/train"):
            return None
        return shard_starts(
            self._set_size(relative), self.settings.batch_size, self.rank, self.world_size
        )

    def representations(self, relative: str) -> Tensor:
        """The cached ``(N, T, D)`` representations of a split, computed on first use (of this
        process's batches only, for a val split of a multi-process run)."""
        if relative not in self._representations:
            tic = time.perf_counter()
            shard = self._shard(relative)
            compute = functools.partial(
                compute_representations,
                self.model,
                self.split(relative),
                self.device,
                batch_size=self.settings.forward_batch_size,
                max_cache_bytes=self.settings.max_cache_bytes,
                cache_dtype=CACHE_DTYPES[self.settings.cache_dtype],
                name=relative,
                progress=self.settings.progress,
            )
            if shard is None:
                reps = compute(limit=self._limit(relative))
            else:
                batch = min(self.settings.batch_size, self._set_size(relative))
                parts = [compute(start=row, limit=row + batch) for row in shard]
                horizon = int(self.split(relative).actions.shape[1]) + 1
                empty = torch.empty(0, horizon, int(self.model.repr_dim))
                reps = torch.cat(parts) if parts else empty
            self._representations[relative] = to_device_if_small(reps, self.device)
            self.seconds["represent"] += time.perf_counter() - tic
        return self._representations[relative]

    def _locations(self, relative: str) -> Tensor:
        """True locations of the rows :meth:`representations` holds."""
        split = self.split(relative)
        shard = self._shard(relative)
        if shard is None:
            return split_locations(split, self._limit(relative))
        batch = min(self.settings.batch_size, self._set_size(relative))
        rows = [np.asarray(split.locations[row : row + batch], dtype=np.float32) for row in shard]
        horizon = int(split.actions.shape[1]) + 1
        return torch.from_numpy(np.concatenate(rows) if rows else np.zeros((0, horizon, 2), "f4"))

    def train_probers(self, sets: Sequence[str]) -> dict[str, Prober]:
        """Train (or reuse) the probers ``sets`` need, keyed by training split."""
        splits = dict.fromkeys(PROBE_SETS[name].train for name in sets)
        with fork_rng(self.device):
            return {split: self.prober(split) for split in splits}

    def use_prober(self, train_split: str, prober: Prober) -> None:
        """Use ``prober`` (trained elsewhere, e.g. by another process) for ``train_split``."""
        self._probers[train_split] = prober.to(self.device)

    def _note_small(self, relative: str, n: int, what: str) -> None:
        if n < self.settings.batch_size:
            note = (
                f"{relative} has {n} trajectories, fewer than the batch size "
                f"{self.settings.batch_size}: {what} one batch of all of them"
            )
            if note not in self.notes:
                self.notes.append(note)

    def prober(self, train_split: str) -> Prober:
        """The prober trained on ``train_split`` (trained on first use, then reused)."""
        if train_split not in self._probers:
            reps = self.representations(train_split)
            locations = split_locations(self.split(train_split), self._limit(train_split))
            self._note_small(train_split, reps.shape[0], "the prober trains on")
            tic = time.perf_counter()
            s = self.settings
            self._probers[train_split] = train_prober(
                reps,
                locations,
                device=self.device,
                epochs=s.epochs,
                batch_size=s.batch_size,
                base_lr=s.base_lr,
                seed=s.seed,
                progress=s.progress,
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
        locations = self._locations(probe_set.val)
        n_set = self._set_size(probe_set.val)
        self._note_small(probe_set.val, n_set, "scored as")
        batch = min(self.settings.batch_size, n_set)
        tic = time.perf_counter()
        mse, decoded = evaluate_prober(
            prober, reps, locations, batch, probe_set.val, sync=self.world_size > 1
        )
        self.seconds["score"] += time.perf_counter() - tic
        per_timestep = mse_pixels_per_timestep(mse)
        # Rank 0's batches start at row 0: its first rows are the set's first rows.
        k = min(N_EXAMPLES, decoded.shape[0]) if self.rank == 0 else 0
        examples = TrajectoryExamples(
            true=locations[:k].tolist(),
            predicted=decoded[:k].tolist(),
            layouts=split_layouts(val_split, list(range(k))) if k else None,
        )
        n_train = self._representations.get(probe_set.train)
        return SetResult(
            name=name,
            mse=float(per_timestep.mean()),
            per_timestep=per_timestep.tolist(),
            n_train=int(n_train.shape[0]) if n_train is not None else 0,
            n_val=(n_set // batch) * batch,
            train_split=probe_set.train,
            val_split=probe_set.val,
            examples=examples,
        )

    def cache_bytes(self, relative: str) -> int:
        """Bytes the cached representations of a split take (all of it, whatever the shard)."""
        horizon = int(self.split(relative).actions.shape[1]) + 1
        element = torch.empty((), dtype=CACHE_DTYPES[self.settings.cache_dtype]).element_size()
        return element * self._set_size(relative) * horizon * int(self.model.repr_dim)

    def _disk_bytes(self, split: str) -> int:
        """What a split's cache takes on disk: 0 when it is small enough for RAM."""
        size = self.cache_bytes(split)
        return size if size > self.settings.max_cache_bytes else 0

    def peak_disk_bytes(self, sets: Sequence[str], release: bool = False) -> int:
        """The most temporary-file space scoring ``sets`` in order holds at once (caches held
        already included).

        Caches up to ``max_cache_bytes`` stay in RAM and do not count; with ``release``, a
        split's cache is dropped once no later set needs it (as :meth:`run` does).
        """
        steps = [(PROBE_SETS[name].train, PROBE_SETS[name].val) for name in sets]
        return peak_bytes(steps, self._disk_bytes, held=self._representations, release=release)

    def check_cache_space(self, sets: Sequence[str], release: bool = False) -> None:
        """Refuse, before any work, a run whose cached representations cannot fit on disk."""
        held = sum(self._disk_bytes(split) for split in self._representations)  # already taken
        require_free(
            self.peak_disk_bytes(sets, release) - held,
            f"probing {', '.join(sets)} with a {self.model.repr_dim}-number representation",
        )

    def release(self, name: str, later: Sequence[str]) -> None:
        """Drop the cached representations of set ``name``'s splits that no set in ``later``
        needs (their probers are kept)."""
        needed = {s for n in later for s in (PROBE_SETS[n].train, PROBE_SETS[n].val)}
        for split in (PROBE_SETS[name].train, PROBE_SETS[name].val):
            if split not in needed:
                self._representations.pop(split, None)

    def run(
        self, sets: Sequence[str] = ALL_SETS, require: Sequence[str] = (), release: bool = False
    ) -> ProbeResult:
        """Evaluate ``sets``; those whose directories are missing are skipped with a note.

        Args:
            sets: Names among ``normal``, ``wall``, ``wall_other``, ``expert``.
            require: Sets that must be present: a missing one raises :class:`ProbeDataError`.
            release: Drop each split's cached representations after the last set that needs
                them (less memory and disk at once; a later call computes them again). First
                checks that the temporary files the caches need fit on the disk
                (:class:`CacheSpaceError` otherwise, before any work).
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
        present = [name for name in sets if name not in missing]
        if self.rank == 0 and self.world_size == 1:
            self.check_cache_space(present, release)
        results: dict[str, SetResult] = {}
        with fork_rng(self.device):
            for name in sets:
                if name in missing:
                    note = f"skipped {name}: {missing[name]}"
                    if note not in self.notes:
                        self.notes.append(note)
                    continue
                results[name] = self.evaluate_set(name)
                if release:
                    self.release(name, present[present.index(name) + 1 :])
        config = dataclasses.asdict(self.settings)
        config.update(data_dir=str(self.data_dir), device=str(self.device))
        return ProbeResult(
            sets=results,
            skipped=missing,
            notes=list(self.notes),
            param_count=count_parameters(self.model),
            repr_dim=int(self.model.repr_dim),
            seconds=dict(self.seconds),
            config=config,
        )


def evaluate(
    model: nn.Module,
    data_dir: str | Path,
    sets: Sequence[str] = ALL_SETS,
    settings: ProbeSettings | None = None,
    **changes: Any,
) -> ProbeResult:
    """Run the probing protocol on ``data_dir`` and return every set's score.

    Args:
        model: Any module with ``forward(states, actions) -> (B, T, D)`` and ``repr_dim``.
        data_dir: Directory holding the ``probe_*`` splits.
        sets: Which sets to score; missing ones are skipped and listed in ``result.skipped``.
        settings: How to run the protocol (default: the protocol's own settings).
        **changes: Fields of :class:`ProbeSettings` to change, e.g. ``device="cpu"``,
            ``progress=False``.

    Example:
        >>> evaluate(model, "data/quickstart", progress=False).losses  # doctest: +SKIP
        {'normal': 0.10, 'wall': 0.12, 'wall_other': 0.09, 'expert': 3.5}
    """
    settings = (settings or ProbeSettings()).replace(**changes)
    return ProbeRunner(model, data_dir, settings).run(sets, release=True)


def evaluate_repeated(
    model: nn.Module,
    data_dir: str | Path,
    repeats: int,
    sets: Sequence[str] = ALL_SETS,
    settings: ProbeSettings | None = None,
    **changes: Any,
) -> RepeatedResult:
    """:func:`evaluate` with prober seeds ``seed, seed + 1, ..., seed + repeats - 1``.

    The representations are computed once; only the probers are retrained. The spread of the
    results is the prober's own noise, which at the level of good models is as large as the
    differences between them.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    settings = (settings or ProbeSettings()).replace(**changes)
    runner = ProbeRunner(model, data_dir, settings)
    seeds = [settings.seed + i for i in range(repeats)]
    runs = []
    for seed in seeds:
        runner.reseed(seed)
        runs.append(runner.run(sets, release=seed == seeds[-1]))
    return RepeatedResult(runs=runs, seeds=seeds)
