"""The frozen model's predicted representations of a probe split, computed once and cached.

The course loop calls the frozen model on every probe batch in each of the 20 prober epochs.
The model is deterministic and frozen, so its representations are the same every epoch: here
they are computed once per split (in batches, under ``torch.no_grad`` and ``eval()``) and kept,
in RAM or, when large, in an unlinked temporary file. Such a file's space is reserved when it is
created, so a disk that is too small is reported at once, naming the split and the sizes, rather
than killing the process midway.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from jepa_world.probing.cache_space import CacheSpaceError, require_free, reserve

#: Above this many bytes, cached representations go to an unlinked temporary file on disk
#: (memory-mapped) instead of RAM.
DEFAULT_MAX_CACHE_BYTES: int = 4 * 1024**3
#: Cached representations are moved onto an accelerator only when smaller than this.
DEVICE_CACHE_BYTES: int = 2 * 1024**3
#: The element types a cache may be kept in (``float16`` halves its size).
CACHE_DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16}


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
def fork_rng(device: torch.device) -> Iterator[None]:
    """Leave the caller's random streams untouched (training stays reproducible)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield


def progress_bar(iterable: Any, enabled: bool, **kwargs: Any) -> Any:
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def empty_cache(
    shape: tuple[int, ...],
    max_bytes: int,
    dtype: torch.dtype = torch.float32,
    name: str = "split",
) -> Tensor:
    """A tensor in RAM, or backed by an unlinked temporary file when larger than ``max_bytes``.

    The file's whole size is reserved at once (``posix_fallocate`` where the system has it), so
    a full disk raises :class:`CacheSpaceError` here instead of failing while it is written.
    """
    nbytes = torch.empty((), dtype=dtype).element_size() * math.prod(shape)
    if nbytes <= max_bytes:
        return torch.empty(shape, dtype=dtype)
    what = f"{name}: its representations {shape}"
    require_free(nbytes, what)
    # The file is unlinked at creation; its space is freed when the mapping is dropped.
    handle = tempfile.TemporaryFile()
    try:
        reserve(handle, nbytes, what)
    except CacheSpaceError:
        handle.close()
        raise
    numpy_dtype = np.float16 if dtype == torch.float16 else np.float32
    array = np.memmap(handle, dtype=numpy_dtype, mode="w+", shape=shape)
    return torch.from_numpy(array)


def first_frames(split: Any, start: int, stop: int) -> np.ndarray:
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
    start: int = 0,
    cache_dtype: torch.dtype = torch.float32,
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
        start: Begin at this trajectory: the rows are ``start`` to ``limit`` (or the end).
        cache_dtype: The element type the representations are kept in (the model computes
            in its own; ``torch.float16`` halves the cache).
    """
    n_total = int(split.actions.shape[0])
    n = n_total if limit is None else min(limit, n_total)
    first = min(max(start, 0), n)
    horizon = int(split.actions.shape[1]) + 1
    repr_dim = int(model.repr_dim)
    out = empty_cache((n - first, horizon, repr_dim), max_cache_bytes, cache_dtype, name)
    with frozen(model):
        starts = range(first, n, batch_size)
        for start in progress_bar(starts, progress, desc=f"represent {name}", leave=False):
            stop = min(start + batch_size, n)
            states = torch.from_numpy(first_frames(split, start, stop)).to(device)
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
            kept = reps.to(cache_dtype)
            if kept.dtype != reps.dtype and not torch.isfinite(kept).all():
                raise FloatingPointError(
                    f"{name}: representations of trajectories {start}..{stop - 1} exceed the "
                    f"range of {cache_dtype}; cache them in float32"
                )
            out[start - first : stop - first] = kept.cpu()
    return out


def to_device_if_small(tensor: Tensor, device: torch.device) -> Tensor:
    if device.type != "cpu" and tensor.numel() * tensor.element_size() <= DEVICE_CACHE_BYTES:
        return tensor.to(device)
    return tensor
