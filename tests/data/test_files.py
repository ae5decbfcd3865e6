"""Opening split directories: course format, compact storage, and every bad input named clearly."""

import json
import pickle

import numpy as np
import pytest

from jepa_world.data.files import DataError, open_split, storage_scale, to_storage
from jepa_world.env import random_trajectories, render


def write_split(path, n=4, steps=5, size=65, locations=True, states_dtype=np.float32, **replace):
    """A course-format split directory (no split.json, no layouts.npy) with small arrays."""
    path.mkdir(parents=True, exist_ok=True)
    tr = random_trajectories(np.random.default_rng(0), n, steps)
    arrays = {
        "states": render(tr.locations, tr.wall_x, tr.door_y)[..., :size, :size].astype(
            states_dtype
        ),
        "actions": tr.actions,
        "locations": tr.locations if locations else None,
    }
    arrays.update(replace)
    for name, value in arrays.items():
        if value is not None:
            np.save(path / f"{name}.npy", value)
    return path, tr


def test_course_directory_loads_unchanged(tmp_path):
    path, tr = write_split(tmp_path / "probe_normal" / "val")
    split = open_split(path, need_locations=True)
    assert len(split) == 4 and split.steps == 5
    assert split.layouts is None and split.meta == {} and split.storage_dtype == "float32"
    assert split.states.shape == (4, 5, 2, 65, 65)
    assert split.states[1].dtype == np.float32
    assert np.array_equal(split.locations[2], tr.locations[2])
    assert np.array_equal(split.actions[:, 1:3], tr.actions[:, 1:3])
    assert np.asarray(split.actions).shape == (4, 4, 2)


def test_split_pickles_without_its_arrays(tmp_path):
    path, _ = write_split(tmp_path / "s", n=64)
    split = open_split(path)
    first = split.states[0]  # opens the memory map
    blob = pickle.dumps(split)
    assert len(blob) < 4096  # the states file is 8.6 MB
    copy = pickle.loads(blob)
    assert copy.states._map is None
    assert np.array_equal(copy.states[0], first)


def test_compact_storage_reads_back_as_float32_in_course_scale(tmp_path):
    path, tr = write_split(tmp_path / "s")
    frames = render(tr.locations, tr.wall_x, tr.door_y)
    for dtype in ("uint8", "float16"):
        scale = storage_scale(dtype)
        np.save(path / "states.npy", to_storage(frames, dtype, scale))
        (path / "split.json").write_text(json.dumps({"storage_dtype": dtype, "scale": scale}))
        back = open_split(path).states[:]
        assert back.dtype == np.float32
        assert np.abs(back - frames).max() <= (scale / 2 * 1.01 if dtype == "uint8" else 1e-4)
        assert back.max() == pytest.approx(frames.max(), abs=scale)


def expect_error(path, *fragments, need_locations=False):
    with pytest.raises(DataError) as info:
        open_split(path, need_locations=need_locations)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_directory_and_files(tmp_path):
    expect_error(tmp_path / "nope", "nope", "split directory not found")
    path, _ = write_split(tmp_path / "s", locations=False)
    expect_error(path, "locations.npy", "not found", "probe", need_locations=True)
    (path / "actions.npy").unlink()
    expect_error(path, "actions.npy", "file not found")


def test_mismatched_trajectory_counts(tmp_path):
    path, tr = write_split(tmp_path / "s", actions=np.zeros((3, 4, 2), np.float32))
    expect_error(path, "actions.npy", "(3, 4, 2)", "expected (N, T-1, 2) = (4, 4, 2)")


def test_actions_must_be_one_shorter_than_states(tmp_path):
    path, _ = write_split(tmp_path / "s", actions=np.zeros((4, 5, 2), np.float32))
    expect_error(path, "actions.npy", "(4, 4, 2)")


def test_wrong_rank_and_image_size(tmp_path):
    path, _ = write_split(tmp_path / "a", states=np.zeros((4, 5, 65, 65), np.float32))
    expect_error(path, "states.npy", "rank 4", "expected rank 5")
    path, _ = write_split(tmp_path / "b", size=64)
    message = expect_error(path, "states.npy", "64x64", "expected 65x65")
    assert "README" in message


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.int32])
def test_layouts_of_any_integer_type_are_read_as_int64(tmp_path, dtype):
    path, tr = write_split(tmp_path / "probe_wall" / "val")
    np.save(path / "layouts.npy", tr.layouts.astype(dtype))
    split = open_split(path, need_locations=True)
    assert split.layouts[1:3].dtype == np.int64
    assert np.array_equal(split.layouts[:], tr.layouts)


def test_side_file_types_stay_strict_where_they_are_read(tmp_path):
    path, tr = write_split(tmp_path / "s")
    np.save(path / "layouts.npy", tr.layouts.astype(np.float32))
    expect_error(path, "layouts.npy", "float32", "expected int64 or another integer type")
    path, tr = write_split(tmp_path / "t")
    np.save(path / "locations.npy", tr.locations.astype(np.float64))
    expect_error(path, "locations.npy", "float64", "expected float32")


def test_nan_in_states_and_wrong_dtype(tmp_path):
    states = render(np.full((2, 3, 2), 30.0), np.array([25, 25]), np.array([30, 30]))
    states[1, 2, 0, 10, 10] = np.nan
    path, _ = write_split(tmp_path / "a", n=2, steps=3, states=states)
    expect_error(path, "states.npy", "NaN", "expected finite")
    path, _ = write_split(tmp_path / "b", states_dtype=np.float64)
    expect_error(path, "states.npy", "float64", "expected float32")


def test_truncated_file_and_not_npy(tmp_path):
    path, _ = write_split(tmp_path / "s")
    data = (path / "states.npy").read_bytes()
    (path / "states.npy").write_bytes(data[: len(data) // 2])
    expect_error(path, "states.npy", "truncated", "bytes")
    (path / "states.npy").write_bytes(b"not numpy at all")
    expect_error(path, "states.npy", "not a readable .npy")


def test_empty_split_and_bad_split_json(tmp_path):
    path, _ = write_split(
        tmp_path / "a",
        states=np.zeros((0, 5, 2, 65, 65), np.float32),
        actions=np.zeros((0, 4, 2), np.float32),
        locations=None,
    )
    expect_error(path, "states.npy", "empty")
    path, _ = write_split(tmp_path / "b")
    (path / "split.json").write_text(json.dumps({"storage_dtype": "int16"}))
    expect_error(path, "split.json", "int16", "expected one of")
