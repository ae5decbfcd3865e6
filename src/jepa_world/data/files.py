"""Opening split directories, real or generated, as validated lazy memory maps.

A split directory holds ``states.npy`` (N, T, 2, 65, 65), ``actions.npy`` (N, T-1, 2) float32
and, for probe sets, ``locations.npy`` (N, T, 2) float32. Generated splits may add
``layouts.npy`` (N, 2) = (wall_x, door_y), written as int64 (any integer type is read, as int64)
and ``split.json``, which records how states
are stored (float32, float16 or uint8 with a scale). Course directories have neither and load
unchanged. Whatever the storage, reads come back as float32 in the course scale.

:func:`open_split` validates cheaply (headers, file sizes and a small sample, never the whole
data) and opens nothing until an array is first read. A :class:`Split` pickles without its
memory maps, so DataLoader workers each open their own instead of copying arrays.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jepa_world.env.geometry import AGENT_PEAK, IMAGE_SIZE

SPLITS: tuple[str, ...] = (
    "train",
    "probe_normal/train",
    "probe_normal/val",
    "probe_wall/val",
    "probe_wall_other/val",
    "probe_expert/train",
    "probe_expert/val",
)
"""Every split of a full data set, as paths relative to the data directory."""

SPLIT_META = "split.json"
SPLIT_FORMAT = "jepa-world split"
SPLIT_FORMAT_VERSION = 1
STORAGE_DTYPES: tuple[str, ...] = ("float32", "float16", "uint8")
"""Ways to store states on disk; float32 is the course format."""

_SAMPLE_TRAJECTORIES = 8
_FULL_CHECK_LIMIT = 20_000_000


class DataError(ValueError):
    """A data file or directory is missing or does not match the expected format."""


def storage_scale(dtype: str) -> float:
    """Course-scale value of one stored unit: ``float32 = stored * scale``.

    uint8 maps 255 to the agent channel's largest possible value (about 0.0942), so one step is
    about 3.7e-4, under 0.4% of the peak. Floats are stored unscaled.
    """
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype: expected one of {', '.join(STORAGE_DTYPES)}, got {dtype!r}")
    return AGENT_PEAK / 255.0 if dtype == "uint8" else 1.0


def to_units(frames: np.ndarray, scale: float) -> np.ndarray:
    """Scale float32 frames, in place, to uint8 units rounded to nearest (values are >= 0)."""
    frames *= np.float32(1.0 / scale)
    frames += np.float32(0.5)  # the cast to uint8 truncates, so this rounds to nearest
    return np.clip(frames, 0.0, 255.0, out=frames)


def to_storage(states: np.ndarray, dtype: str, scale: float) -> np.ndarray:
    """Convert float32 course-scale states to their stored form (the inverse of reading)."""
    if dtype == "uint8":
        return to_units(np.array(states, dtype=np.float32), scale).astype(np.uint8)
    return np.asarray(states, dtype=np.dtype(dtype))


@dataclass(frozen=True)
class ArrayHeader:
    """What a ``.npy`` header says about its array, and where the data starts."""

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int


def read_header(path: str | os.PathLike[str], expected: str = "a NumPy .npy array") -> ArrayHeader:
    """Read and check a ``.npy`` header without touching the data.

    Args:
        path: the ``.npy`` file.
        expected: what the file should hold, for the message when it is missing.

    Raises:
        DataError: the file is missing, not a ``.npy`` file, Fortran-ordered, or shorter than
            its header promises (an interrupted copy or download).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected {expected}")
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            offset = f.tell()
    except (ValueError, OSError) as err:
        raise DataError(
            f"{path}: not a readable .npy file ({err}); expected a NumPy array file"
        ) from None
    if fortran:
        raise DataError(f"{path}: array is Fortran-ordered; expected C order (save with np.save)")
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = path.stat().st_size
    if size < expected:
        raise DataError(
            f"{path}: file is truncated: {size} bytes, but its header {tuple(shape)} {dtype} "
            f"needs {expected}; expected a complete file (copy or generate it again)"
        )
    return ArrayHeader(path, tuple(int(s) for s in shape), dtype, offset)


class ScaledArray:
    """Read-only, lazily memory-mapped ``.npy`` file that returns float32 in the course scale.

    Indexing (``a[i]``, ``a[i, s:e]``, ``a[[i, j]]``) reads only the requested part and returns
    a fresh array: stored integers are multiplied by ``scale``, floats converted to float32.
    Arrays read as another ``dtype`` (``layouts.npy``: int64) are converted and never scaled.
    """

    def __init__(
        self, header: ArrayHeader, scale: float = 1.0, dtype: str | np.dtype = "float32"
    ) -> None:
        self.path = header.path
        self.shape = header.shape
        self.stored_dtype = header.dtype
        self.scale = float(scale)
        self.dtype = np.dtype(dtype)
        self._map: np.ndarray | None = None

    @property
    def raw(self) -> np.ndarray:
        """The memory map itself, in the stored dtype (opened on first use)."""
        if self._map is None:
            self._map = np.load(self.path, mmap_mode="r")
        return self._map

    def convert(self, raw: np.ndarray) -> np.ndarray:
        """Turn stored values (any slice of :attr:`raw`) into the returned dtype and scale."""
        if self.dtype != np.float32:
            return np.array(raw, dtype=self.dtype)
        out = np.array(raw, dtype=np.float32)
        if self.scale != 1.0:
            out *= np.float32(self.scale)
        return out

    def __getitem__(self, index: Any) -> np.ndarray:
        return self.convert(self.raw[index])

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[...]
        return out if dtype is None else out.astype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def close(self) -> None:
        """Drop the memory map (it is reopened on the next read)."""
        self._map = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_map"] = None  # each process maps the file itself; arrays never travel
        return state

    def __repr__(self) -> str:
        return f"ScaledArray({str(self.path)!r}, shape={self.shape}, stored={self.stored_dtype})"


@dataclass
class Split:
    """One validated split directory. Arrays are :class:`ScaledArray` (lazy, float32 reads).

    Attributes:
        path: the split directory.
        states: ``(N, T, 2, 65, 65)``.
        actions: ``(N, T-1, 2)``.
        locations: ``(N, T, 2)`` or ``None`` when the split has no ``locations.npy``.
        layouts: ``(N, 2)`` ``(wall_x, door_y)``, read as int64, or ``None`` (course
            directories).
        storage_dtype: how states are stored on disk.
        scale: course-scale value of one stored unit.
        meta: the parsed ``split.json`` (empty for course directories).
    """

    path: Path
    states: ScaledArray
    actions: ScaledArray
    locations: ScaledArray | None = None
    layouts: ScaledArray | None = None
    storage_dtype: str = "float32"
    scale: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.states.shape[0]

    @property
    def steps(self) -> int:
        """Frames per trajectory, ``T``."""
        return self.states.shape[1]

    def close(self) -> None:
        """Drop every memory map (for example before deleting the files)."""
        for arr in (self.states, self.actions, self.locations, self.layouts):
            if arr is not None:
                arr.close()


def _read_meta(directory: Path) -> dict[str, Any]:
    path = directory / SPLIT_META
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err}); expected the split description") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: found {type(meta).__name__}; expected a JSON object")
    dtype = meta.get("storage_dtype", "float32")
    if dtype not in STORAGE_DTYPES:
        raise DataError(
            f"{path}: storage_dtype is {dtype!r}; expected one of {', '.join(STORAGE_DTYPES)}"
        )
    scale = meta.get("scale", 1.0)
    if not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
        raise DataError(f"{path}: scale is {scale!r}; expected a positive number")
    return meta


def _expect_shape(header: ArrayHeader, expected: tuple[int | None, ...], what: str) -> None:
    """Compare a shape with a pattern (``None`` = any size) and explain the mismatch."""
    shape = header.shape
    if len(shape) != len(expected):
        raise DataError(
            f"{header.path}: array has rank {len(shape)} with shape {shape}; "
            f"expected rank {len(expected)}: {what}"
        )
    for got, want in zip(shape, expected, strict=True):
        if want is not None and got != want:
            raise DataError(f"{header.path}: shape is {shape}; expected {what}")


def _expect_dtype(header: ArrayHeader, dtype: str, why: str = "") -> None:
    if header.dtype != np.dtype(dtype):
        raise DataError(f"{header.path}: dtype is {header.dtype}; expected {dtype}{why}")


def _expect_integer(header: ArrayHeader, why: str = "") -> None:
    """For side files read as int64 (``layouts.npy``): any integer type will do."""
    if not np.issubdtype(header.dtype, np.integer):
        raise DataError(
            f"{header.path}: dtype is {header.dtype}; expected int64 or another integer type{why}"
        )


def _check_finite(array: ScaledArray, rows: np.ndarray) -> None:
    if not np.issubdtype(array.stored_dtype, np.floating):
        return
    if int(np.prod(array.shape, dtype=np.int64)) <= _FULL_CHECK_LIMIT:
        bad = ~np.isfinite(array.raw)
        where = "" if not bad.any() else f" (first at index {np.argwhere(bad)[0].tolist()})"
    else:
        sample = array.raw[rows]
        bad = ~np.isfinite(sample)
        where = "" if not bad.any() else f" (in trajectory {int(rows[np.argwhere(bad)[0][0]])})"
    if bad.any():
        raise DataError(f"{array.path}: found NaN or Inf values{where}; expected finite numbers")


def open_split(path: str | os.PathLike[str], need_locations: bool = False) -> Split:
    """Validate a split directory and open its arrays lazily.

    Args:
        path: directory holding ``states.npy`` and ``actions.npy`` (and optionally
            ``locations.npy``, ``layouts.npy``, ``split.json``).
        need_locations: fail unless ``locations.npy`` is present (probe splits).

    Raises:
        DataError: naming the file, what was found and what was expected.
    """
    directory = Path(path)
    if not directory.is_dir():
        hint = ""
        if directory.parent.is_dir():
            found = sorted(p.name for p in directory.parent.iterdir() if p.is_dir())
            hint = f" (found there: {', '.join(found) or 'nothing'})"
        raise DataError(
            f"{directory}: split directory not found{hint}; expected a directory "
            "with states.npy and actions.npy (see `jepa data generate`)"
        )
    meta = _read_meta(directory)
    storage = meta.get("storage_dtype", "float32")
    scale = float(meta.get("scale", 1.0))

    frame = f"(N, T, 2, {IMAGE_SIZE}, {IMAGE_SIZE})"
    states_h = read_header(directory / "states.npy", f"the states {frame} of the split")
    _expect_shape(states_h, (None, None, 2, None, None), frame)
    if states_h.shape[3:] != (IMAGE_SIZE, IMAGE_SIZE):
        note = (
            " (the course README says 64x64, but the course arrays are 65x65)"
            if (states_h.shape[3:] == (64, 64))
            else ""
        )
        raise DataError(
            f"{states_h.path}: frames are {states_h.shape[3]}x{states_h.shape[4]}; "
            f"expected {IMAGE_SIZE}x{IMAGE_SIZE}{note}"
        )
    _expect_dtype(
        states_h, storage, "" if meta else " (course format; compact storage needs split.json)"
    )
    n, steps = states_h.shape[:2]
    if n == 0:
        raise DataError(
            f"{states_h.path}: split is empty (N = 0); expected at least one trajectory"
        )
    if steps < 2:
        raise DataError(f"{states_h.path}: trajectories have T = {steps} frames; expected T >= 2")

    actions_h = read_header(
        directory / "actions.npy", "the actions (N, T-1, 2) float32 of the split"
    )
    _expect_dtype(actions_h, "float32")
    _expect_shape(
        actions_h,
        (n, steps - 1, 2),
        f"(N, T-1, 2) = ({n}, {steps - 1}, 2) to match states.npy {states_h.shape}",
    )

    locations = None
    loc_path = directory / "locations.npy"
    if loc_path.exists():
        loc_h = read_header(loc_path)
        _expect_dtype(loc_h, "float32")
        _expect_shape(
            loc_h,
            (n, steps, 2),
            f"(N, T, 2) = ({n}, {steps}, 2) to match states.npy {states_h.shape}",
        )
        locations = ScaledArray(loc_h)
    elif need_locations:
        raise DataError(
            f"{loc_path}: file not found; expected locations (N, T, 2) float32 "
            "(probe splits need them)"
        )

    layouts = None
    layout_path = directory / "layouts.npy"
    if layout_path.exists():
        layout_h = read_header(layout_path)
        _expect_integer(layout_h, " (wall_x, door_y in pixels)")
        _expect_shape(layout_h, (n, 2), f"(N, 2) = ({n}, 2) (wall_x, door_y) to match states.npy")
        layouts = ScaledArray(layout_h, dtype="int64")

    split = Split(
        path=directory,
        states=ScaledArray(states_h, scale),
        actions=ScaledArray(actions_h),
        locations=locations,
        layouts=layouts,
        storage_dtype=storage,
        scale=scale,
        meta=meta,
    )
    rows = np.unique(np.linspace(0, n - 1, num=min(n, _SAMPLE_TRAJECTORIES)).astype(np.int64))
    for array in (split.states, split.actions, split.locations):
        if array is not None:
            _check_finite(array, rows)
    split.close()
    return split
