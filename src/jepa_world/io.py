"""Atomic writes shared by every layer: a reader sees the old file or the new one, never half.

Everything is written to a temporary name in the target's own directory (same file system,
so the final rename is atomic) and renamed into place only on success; on failure the
temporary file or directory is removed. Temporary names start with a dot and contain
``.incomplete-``, so an interrupted write never looks like a finished one.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INCOMPLETE_MARK = ".incomplete-"
"""Part of every temporary name; a path containing it was never completed."""


def temporary_sibling(final_path: str | os.PathLike[str], tag: str = INCOMPLETE_MARK) -> Path:
    """A fresh, unused hidden path beside ``final_path`` (same directory, same file system)."""
    final = Path(final_path)
    return final.parent / f".{final.name}{tag}{os.getpid()}-{secrets.token_hex(4)}"


def remove_path(path: str | os.PathLike[str]) -> None:
    """Delete a file, link or directory tree if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _move_into_place(tmp: Path, final: Path, overwrite: bool) -> None:
    if not final.exists() and not final.is_symlink():
        os.replace(tmp, final)
        return
    if not overwrite:
        raise FileExistsError(f"{final}: already exists; pass overwrite=True to replace it")
    if final.is_dir() and not final.is_symlink():
        # A directory cannot be replaced in one rename: move the old one aside first, so the
        # target is missing only between two renames and the old data is deleted last.
        old = temporary_sibling(final, ".replaced-")
        os.replace(final, old)
        os.replace(tmp, final)
        remove_path(old)
    else:
        os.replace(tmp, final)


@contextmanager
def atomic_path(final_path: str | os.PathLike[str], overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write (a file or a directory); rename it to ``final_path`` on success.

    The temporary path does not exist yet: create a file or a directory there. If the block
    raises (or is interrupted with Ctrl-C) the temporary path is removed and ``final_path`` is
    untouched. Files are flushed to disk (fsync) before the rename.

    Args:
        final_path: where the result must end up. Parent directories are created.
        overwrite: replace an existing ``final_path``; when False, an existing target raises
            ``FileExistsError`` before anything is written.

    Example:
        >>> with atomic_path("model_weights.pth") as tmp:  # doctest: +SKIP
        ...     torch.save(state, tmp)
    """
    final = Path(final_path)
    if not overwrite and (final.exists() or final.is_symlink()):
        raise FileExistsError(f"{final}: already exists; pass overwrite=True to replace it")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(final)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: nothing was written for {final}")
        if tmp.is_file():
            _fsync_file(tmp)
        _move_into_place(tmp, final, overwrite)
    except BaseException:
        remove_path(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode(encoding))
