"""Room for the cached representations: the peak a run holds, the refusals."""

from __future__ import annotations

import tempfile
from types import SimpleNamespace

import pytest

from jepa_world.probing import cache_space
from jepa_world.probing.cache_space import CacheSpaceError, peak_bytes, require_free, reserve

SIZES = {
    "normal/train": 60,
    "normal/val": 20,
    "wall/val": 25,
    "expert/train": 100,
    "expert/val": 40,
}
STEPS = [
    ("normal/train", "normal/val"),
    ("normal/train", "wall/val"),
    ("expert/train", "expert/val"),
]


def test_without_release_everything_computed_stays() -> None:
    assert peak_bytes(STEPS, SIZES.__getitem__) == sum(SIZES.values())


def test_with_release_a_cache_goes_after_its_last_step() -> None:
    # normal/train + normal/val (80), normal/train + wall/val (85), expert pair (140).
    assert peak_bytes(STEPS, SIZES.__getitem__, release=True) == 140
    assert peak_bytes(STEPS[:2], SIZES.__getitem__, release=True) == 85
    # A cache held before the run counts until it is no longer needed.
    assert peak_bytes(STEPS[2:], SIZES.__getitem__, held=["normal/train"], release=True) == 200
    assert peak_bytes([], SIZES.__getitem__, held=["wall/val"]) == 25


def test_caches_counted_as_zero_are_free() -> None:
    on_disk = {name: (n if n > 50 else 0) for name, n in SIZES.items()}
    assert peak_bytes(STEPS, on_disk.__getitem__, release=True) == 100


def test_a_run_that_does_not_fit_is_refused_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache_space.shutil, "disk_usage", lambda _: SimpleNamespace(free=3 * 2**30))
    require_free(2 * 2**30, "probing expert")  # fits
    require_free(0, "nothing")
    with pytest.raises(
        CacheSpaceError, match=r"probing expert needs 4\.0 GiB .* 3\.0 GiB are free"
    ):
        require_free(4 * 2**30, "probing expert")
    with pytest.raises(OSError, match="TMPDIR"):  # CacheSpaceError is an OSError
        require_free(4 * 2**30, "probing expert")


def test_reserving_more_than_the_disk_holds_names_the_cache() -> None:
    with tempfile.TemporaryFile() as handle:
        reserve(handle, 4096, "probe_normal/val")  # no error where the space exists
        if hasattr(cache_space.os, "posix_fallocate"):
            assert handle.seek(0, 2) == 4096  # the space is claimed at once
            with pytest.raises(CacheSpaceError, match="probe_normal/val needs"):
                reserve(handle, 2**62, "probe_normal/val")
