"""Generated data sets: every split in the course format, the protocol's splits, atomic writes."""

import json
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

from jepa_world.data import generate as gen
from jepa_world.data.files import SPLITS, open_split
from jepa_world.env import in_wall, render, simulate

SMALL = dict(
    train_size=12,
    probe_train_size=6,
    probe_val_size=6,
    wall_size=8,
    wall_other_size=6,
    expert_train_size=3,
    expert_val_size=3,
    expert_steps=20,
    progress=False,
)


def test_every_split_in_course_format_with_a_manifest(tiny_data):
    manifest = json.loads((tiny_data / "dataset.json").read_text())
    assert manifest["format_version"] == 1 and manifest["seed"] == 3
    assert manifest["generator"]["cross_wall_rate"] == 0.1
    assert manifest["generator"]["exclude_wall"] == [40, 44]
    for name in SPLITS:
        split = open_split(tiny_data / name, need_locations=name != "train")
        info = manifest["splits"][name]
        assert list(split.states.shape) == info["shapes"]["states"]
        assert split.states.stored_dtype == np.uint8 and split.states[0].dtype == np.float32
        assert split.layouts is not None and split.layouts[0].dtype == np.int64
        assert (split.locations is None) == (name == "train")
    assert not (tiny_data / "train" / "locations.npy").exists()  # like the course's train/


def test_stored_data_obey_the_simulator_and_the_renderer(tiny_data):
    split = open_split(tiny_data / "probe_normal" / "train")
    layouts, loc, actions = split.layouts[:], split.locations[:], split.actions[:]
    again = simulate(loc[:, 0], actions, layouts[:, 0], layouts[:, 1])
    assert np.array_equal(again, loc)
    frames = render(loc[:4], layouts[:4, 0], layouts[:4, 1])
    assert np.abs(split.states[:4] - frames).max() <= split.scale * 0.51
    assert not in_wall(loc, layouts[:, :1], layouts[:, 1:]).any()


def test_door_edge_rate_changes_the_training_split_only(tmp_path):
    plain = gen.generate_dataset(str(tmp_path / "plain"), preset="tiny", seed=5, **SMALL)
    edge = gen.generate_dataset(
        str(tmp_path / "edge"), preset="tiny", seed=5, door_edge_rate=1.0, **SMALL
    )
    manifest = json.loads((edge / "dataset.json").read_text())
    assert manifest["generator"]["door_edge_rate"] == 1.0
    assert not np.array_equal(
        open_split(plain / "train").actions[:], open_split(edge / "train").actions[:]
    )
    for name in SPLITS[1:]:
        assert np.array_equal(
            open_split(plain / name).states[:], open_split(edge / name).states[:]
        ), name
    with pytest.raises(ValueError, match="door_edge_rate"):
        gen.generate_dataset(str(tmp_path / "bad"), preset="tiny", door_edge_rate=2.0, **SMALL)
    assert not (tmp_path / "bad").exists()


def test_ood_layouts_kept_out_of_training_and_in_wall_other(tiny_data):
    for name in ("train", "probe_normal/train", "probe_normal/val", "probe_wall/val"):
        wall_x = open_split(tiny_data / name).layouts[:, 0]
        assert not np.isin(wall_x, range(40, 45)).any(), name
    other = open_split(tiny_data / "probe_wall_other" / "val").layouts[:, 0]
    assert np.isin(other, range(40, 45)).all()


def test_probe_wall_runs_at_the_wall(tiny_data):
    split = open_split(tiny_data / "probe_wall" / "val", need_locations=True)
    actions = split.actions[:]
    assert set(np.unique(actions[..., 0])) == {-1.0, 1.0} and not actions[..., 1].any()
    assert (actions[:, 0, 0] > 0).mean() == 0.5
    loc, layouts = split.locations[:], split.layouts[:]
    off_door = np.abs(loc[:, 0, 1] - layouts[:, 1]) > 4
    stuck = np.all(loc[:, -1] == loc[:, -2], axis=-1)
    assert stuck[off_door].all()


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = gen.generate_dataset(str(tmp_path / "a"), "tiny", seed=5, **SMALL)
    b = gen.generate_dataset(str(tmp_path / "b"), "tiny", seed=5, **SMALL)
    c = gen.generate_dataset(str(tmp_path / "c"), "tiny", seed=6, **SMALL)
    for name in ("states.npy", "actions.npy", "layouts.npy"):
        assert (a / "train" / name).read_bytes() == (b / "train" / name).read_bytes()
    assert (a / "train/actions.npy").read_bytes() != (c / "train/actions.npy").read_bytes()


def test_overrides_dtype_and_exclusion(tmp_path):
    out = gen.generate_dataset(
        str(tmp_path / "d"), "tiny", dtype="float16", exclude_wall="30-34", **SMALL
    )
    split = open_split(out / "probe_wall_other" / "val")
    assert split.states.stored_dtype == np.float16 and split.states[0].dtype == np.float32
    assert np.isin(split.layouts[:, 0], range(30, 35)).all()
    agent = render(split.locations[:2], *split.layouts[:2].T)[:, :, 0]
    assert np.array_equal(split.states.raw[:2, :, 0], agent.astype(np.float16))
    assert split.steps == 17 and open_split(out / "probe_expert" / "val").steps == 20
    with pytest.raises(ValueError, match="dtype"):
        gen.generate_dataset(str(tmp_path / "e"), "tiny", dtype="int8", **SMALL)
    with pytest.raises(ValueError, match="preset"):
        gen.generate_dataset(str(tmp_path / "e"), "huge", **SMALL)
    assert not (tmp_path / "e").exists()


def test_refuses_to_overwrite_unless_asked(tmp_path):
    out = gen.generate_dataset(str(tmp_path / "d"), "tiny", seed=1, **SMALL)
    with pytest.raises(FileExistsError, match="overwrite"):
        gen.generate_dataset(str(out), "tiny", seed=2, **SMALL)
    assert json.loads((out / "dataset.json").read_text())["seed"] == 1
    gen.generate_dataset(str(out), "tiny", seed=2, overwrite=True, **SMALL)
    assert json.loads((out / "dataset.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_a_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return render(*args, **kwargs)

    monkeypatch.setattr(gen, "render", failing)
    with pytest.raises(KeyboardInterrupt):
        gen.generate_dataset(str(tmp_path / "d"), "tiny", **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_not_enough_disk_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(gen.shutil, "disk_usage", lambda p: SimpleNamespace(free=0))
    with pytest.raises(OSError, match="uint8"):
        gen.generate_dataset(str(tmp_path / "d"), "tiny", **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_generation_does_not_look_complete(tmp_path):
    out = tmp_path / "big"
    code = (
        "from jepa_world.data.generate import generate_dataset\n"
        f"generate_dataset({str(out)!r}, 'tiny', train_size=10000, dtype='uint8', "
        "chunk_frames=512, progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not list(tmp_path.glob(".big.incomplete-*/train")):
            time.sleep(0.05)
        time.sleep(0.2)
        still_running = proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # about 1.4 GB of uint8: long enough to be killed mid-write, small enough for any disk
    assert still_running, "generation ended before it could be killed (see its stderr above)"
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert not out.exists()
    assert len(leftovers) == 1 and leftovers[0].startswith(".big.incomplete-")
    assert not (tmp_path / leftovers[0] / "dataset.json").exists()
