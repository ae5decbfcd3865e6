"""Room for the cached representations: how much a probing run holds at once, and whether the
disk behind the temporary files has it.

A cache larger than ``max_cache_bytes`` lives in an unlinked temporary file (under ``$TMPDIR``).
:func:`peak_bytes` replays the order in which a run fills and drops its caches to find the most
it holds at once; :func:`require_free` refuses, before any work, a run that cannot fit, and
:func:`reserve` claims a file's whole size at creation so that a disk filling meanwhile is
reported there and then.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO

GIB: int = 1024**3

#: What a user can do when the caches do not fit (appended to every refusal).
REMEDIES: str = (
    "Point TMPDIR at a larger disk, keep the cache in half precision (--cache_dtype float16), "
    "or probe fewer sets at a time (--sets)"
)


class CacheSpaceError(OSError):
    """A probing run's cached representations do not fit where they would be kept."""


def peak_bytes(
    steps: Sequence[tuple[str, ...]],
    size: Callable[[str], int],
    held: Iterable[str] = (),
    release: bool = False,
) -> int:
    """The most bytes held at once when ``steps`` run in order.

    Args:
        steps: For each step, the caches it uses (computed on first use).
        size: Bytes a cache counts for (0 for one kept in RAM, when only disk is counted).
        held: Caches already held before the first step.
        release: Drop a cache once no later step uses it.
    """
    live = {name: size(name) for name in held}
    peak = sum(live.values())
    for i, used in enumerate(steps):
        for name in used:
            live.setdefault(name, size(name))
        peak = max(peak, sum(live.values()))
        if release:
            later = {name for step in steps[i + 1 :] for name in step}
            live = {name: n for name, n in live.items() if name in later}
    return peak


def free_bytes() -> tuple[str, int]:
    """The temporary-file folder and the bytes free on its disk."""
    folder = tempfile.gettempdir()
    return folder, shutil.disk_usage(folder).free


def require_free(needed: int, what: str) -> None:
    """Raise :class:`CacheSpaceError` when the temporary-file disk has less than ``needed``."""
    if needed <= 0:
        return
    folder, free = free_bytes()
    if needed > free:
        raise CacheSpaceError(
            f"{what} needs {needed / GIB:.1f} GiB of temporary files in {folder}, where "
            f"{free / GIB:.1f} GiB are free. {REMEDIES}"
        )


def reserve(handle: IO[bytes], nbytes: int, what: str) -> None:
    """Claim ``nbytes`` for an open temporary file (where the system can), or raise
    :class:`CacheSpaceError` naming ``what``."""
    if not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(handle.fileno(), 0, nbytes)
    except OSError as err:
        folder, free = free_bytes()
        raise CacheSpaceError(
            f"{what} needs {nbytes / GIB:.1f} GiB of temporary files in {folder}, where "
            f"{free / GIB:.1f} GiB are free ({err.strerror}). {REMEDIES}"
        ) from err
