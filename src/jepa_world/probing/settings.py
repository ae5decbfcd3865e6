"""How the probing protocol is run: :class:`ProbeSettings`, every knob a caller may change.

The defaults are the protocol's (and the course's); ``jepa probe`` exposes each field as a flag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from jepa_world.probing.prober import PROBE_BASE_LR, PROBE_BATCH_SIZE, PROBE_EPOCHS
from jepa_world.probing.representations import CACHE_DTYPES, DEFAULT_MAX_CACHE_BYTES


@dataclass(frozen=True)
class ProbeSettings:
    """How the protocol is run. The defaults are the protocol's (and the course's).

    Attributes:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``... The model is moved there.
        epochs: Prober training epochs (20 in the protocol).
        batch_size: Prober batch size (64 in the protocol), for training and scoring.
        seed: Seeds each prober's initialisation, shuffling and timestep draws.
        max_train: Train each prober on at most this many trajectories (None: all).
        max_val: Score at most this many trajectories per set (None: all).
        base_lr: Prober learning rate for batch 256 (2e-4 in the protocol; only monitors change
            it, to converge on fewer steps).
        forward_batch_size: Trajectories per forward pass of the frozen model (memory only).
        max_cache_bytes: Cached representations larger than this go to a temporary file.
        cache_dtype: ``float32`` (the protocol's), or ``float16`` to keep the cached
            representations in half the memory or disk (the prober still computes in float32).
        progress: Show progress bars.
    """

    device: str = "auto"
    epochs: int = PROBE_EPOCHS
    batch_size: int = PROBE_BATCH_SIZE
    seed: int = 0
    max_train: int | None = None
    max_val: int | None = None
    base_lr: float = PROBE_BASE_LR
    forward_batch_size: int = 256
    max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES
    cache_dtype: str = "float32"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "forward_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"ProbeSettings.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_train", "max_val"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"ProbeSettings.{name} must be >= 1 or None (all), got {value}")
        if self.cache_dtype not in CACHE_DTYPES:
            raise ValueError(
                f"ProbeSettings.cache_dtype must be one of {', '.join(CACHE_DTYPES)}, "
                f"got {self.cache_dtype!r}"
            )
        if not self.base_lr > 0:
            raise ValueError(f"ProbeSettings.base_lr must be > 0, got {self.base_lr}")

    def replace(self, **changes: Any) -> ProbeSettings:
        """A copy with ``changes`` applied (unknown names are refused)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            names = ", ".join(f.name for f in dataclasses.fields(self))
            raise TypeError(f"unknown probe setting(s) {sorted(unknown)}; expected some of {names}")
        return dataclasses.replace(self, **changes)
