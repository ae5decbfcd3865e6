"""Where a command runs its model: one rule for probing and planning.

``"auto"`` picks CUDA, then Apple MPS, then the CPU. A device named explicitly must exist on
this machine: asking for ``cuda`` where torch sees no GPU is an error that says so at once,
rather than a failure deep inside the first batch.
"""

from __future__ import annotations

import torch


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The ``torch.device`` for ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``...).

    Raises:
        ValueError: ``device`` is not a device torch knows, or is not available here (naming
            what is).
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device {device!r}: not a torch device; use auto, cpu, cuda, cuda:N or mps"
        ) from error
    if chosen.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"device {device!r}: torch sees no CUDA GPU on this machine (a CPU build of "
                "torch, or no driver); use auto or cpu"
            )
        if chosen.index is not None and chosen.index >= count:
            raise ValueError(
                f"device {device!r}: this machine has {count} CUDA GPU(s), numbered 0-{count - 1}"
            )
    if chosen.type == "mps" and not _mps_available():
        raise ValueError(f"device {device!r}: Apple MPS is not available here; use auto or cpu")
    return chosen


def describe_device(device: torch.device) -> str:
    """A short human name of ``device`` for result files, e.g. ``cuda:0 (NVIDIA H100)``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} torch threads)"
    return str(device)
