"""The DataModule: shapes, dtypes, worker loading, determinism and clear errors."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from jepa_world.data.datamodule import (
    Mirror,
    ProbeDataset,
    TrajectoryDataModule,
    WindowDataset,
    check_full_batch,
    split_trajectories,
)
from jepa_world.data.files import DataError, open_split
from jepa_world.env import render, simulate


def make(data, **kwargs):
    kwargs = {"batch_size": 8, "num_workers": 0, "val_fraction": 0.1, **kwargs}
    dm = TrajectoryDataModule(data_dir=str(data), **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_batches_have_the_contract_shapes_and_dtypes(tiny_data):
    dm = make(tiny_data, window=5)
    batch = next(iter(dm.train_dataloader()))
    assert batch["states"].shape == (8, 5, 2, 65, 65) and batch["states"].dtype == torch.float32
    assert batch["actions"].shape == (8, 4, 2) and batch["actions"].dtype == torch.float32
    assert 0.09 < batch["states"][:, :, 0].amax() < 0.095  # course scale, not normalised
    # 96 trajectories, 10 held out, 13 windows of 5 frames in each 17-frame trajectory
    assert len(dm.train_set) == 86 * 13 and len(dm.val_set) == 10 * 13


def test_windows_are_consecutive_frames_of_one_trajectory(tiny_data):
    split = open_split(tiny_data / "train")
    ds = WindowDataset(split, window=4, trajectories=np.array([7, 2]))
    item = ds[1 * 14 + 3]  # trajectory 2, start 3
    assert torch.equal(item["states"], torch.from_numpy(split.states[2, 3:7]))
    assert torch.equal(item["actions"], torch.from_numpy(split.actions[2, 3:6]))


def test_train_and_val_trajectories_are_disjoint_and_seeded():
    train, val = split_trajectories(100, 0.2, seed=1)
    assert len(val) == 20 and not set(train) & set(val) and len(train) + len(val) == 100
    assert np.array_equal(val, split_trajectories(100, 0.2, seed=1)[1])
    assert not np.array_equal(val, split_trajectories(100, 0.2, seed=2)[1])


def test_same_seed_same_batches_different_seed_different(tiny_data):
    first = [next(iter(make(tiny_data, seed=s).train_dataloader()))["actions"] for s in (0, 0, 1)]
    assert torch.equal(first[0], first[1])
    assert not torch.equal(first[0], first[2])


def test_two_workers_give_the_same_batches_as_the_main_process(tiny_data):
    main = [b["actions"] for b in make(tiny_data, num_workers=0).train_dataloader()]
    dm = make(tiny_data, num_workers=2)
    workers = [b["actions"] for b in dm.train_dataloader()]
    assert len(main) == len(workers) > 1
    assert dm.train_set.split.states._map is None  # only the workers opened the files
    assert all(torch.equal(a, b) for a, b in zip(main, workers, strict=True))


def test_probe_dataset_returns_locations(tiny_data):
    ds = ProbeDataset(tiny_data / "probe_expert" / "val")
    item = ds[0]
    assert item["states"].shape == (33, 2, 65, 65) and item["locations"].shape == (33, 2)
    assert item["actions"].shape == (32, 2)
    with pytest.raises(DataError, match="locations.npy"):
        ProbeDataset(tiny_data / "train")


def test_mirror_is_an_exact_symmetry_of_the_task():
    rng = np.random.default_rng(0)
    start = rng.uniform(10, 50, (1, 2)).astype(np.float32)
    actions = rng.normal(0, 1, (1, 6, 2)).astype(np.float32)
    wall, door = np.array([27]), np.array([18])
    loc = simulate(start, actions, wall, door)
    sample = {
        "states": torch.from_numpy(render(loc, wall, door)[0]),
        "actions": torch.from_numpy(actions[0]),
        "locations": torch.from_numpy(loc[0]),
    }
    for axis, k in (("x", 0), ("y", 1)):
        out = Mirror(axis, p=1.0)(sample)
        m_start, m_actions = start.copy(), actions.copy()
        m_start[:, k] = 64 - m_start[:, k]
        m_actions[..., k] *= -1
        m_wall, m_door = (64 - wall, door) if axis == "x" else (wall, 64 - door)
        m_loc = simulate(m_start, m_actions, m_wall, m_door)
        assert np.allclose(out["locations"].numpy(), m_loc[0], atol=1e-4)
        expected = render(m_loc, m_wall, m_door)[0]
        assert np.allclose(out["states"].numpy(), expected, atol=1e-6)
        assert torch.equal(out["actions"], torch.from_numpy(m_actions[0]))


def test_mirror_x_warns_that_it_shows_excluded_walls(tiny_data):
    with pytest.warns(UserWarning, match="40, 41, 42, 43, 44"):
        make(tiny_data, mirror_x=0.5)


def test_clear_errors(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="T = 17"):
        make(tiny_data, window=18)
    with pytest.raises(ValueError, match="batch_size: 500"):
        make(tiny_data, batch_size=500)
    with pytest.raises(DataError, match="jepa data generate"):
        make(tmp_path / "absent")
    with pytest.raises(ValueError, match="val_fraction"):
        make(tiny_data, val_fraction=1.0)


def test_each_device_needs_a_full_batch():
    # 86 windows over 2 devices: 43 each, fewer than 64, and drop_last leaves no batch at all
    with pytest.raises(ValueError) as error:
        check_full_batch(Path("data/tiny/train"), 86, 86, 64, 2)
    message = str(error.value)
    assert "\n" not in message
    for part in (
        "batch_size: 64",
        "43 training windows of data/tiny/train per device",
        "2 device(s)",
    ):
        assert part in message
    check_full_batch(Path("data/tiny/train"), 86, 86, 43, 2)  # one batch each
    check_full_batch(Path("data/tiny/train"), 86, 86, 64, 1)
    with pytest.raises(ValueError, match="44 training windows"):  # the sampler pads 87 to 88
        check_full_batch(Path("data/tiny/train"), 87, 87, 45, 2)


def test_setup_counts_the_windows_per_device_of_the_trainer(tiny_data):
    windows = len(make(tiny_data).train_set)
    per_device = -(-windows // 2)
    dm = TrajectoryDataModule(
        data_dir=str(tiny_data), batch_size=per_device + 1, num_workers=0, val_fraction=0.1
    )
    dm.trainer = SimpleNamespace(world_size=2, global_rank=0)
    with pytest.raises(ValueError, match=f"{per_device} training windows of .* per device"):
        dm.setup("fit")
    assert dm.train_set is None  # a later setup checks again
    dm.trainer = SimpleNamespace(world_size=1, global_rank=0)  # the same batch fits on one device
    dm.setup("fit")
    assert len(dm.train_dataloader()) >= 1


def test_prepare_data_generates_when_allowed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "jepa_world.data.generate.generate_dataset", lambda out, **kw: calls.append((out, kw))
    )
    TrajectoryDataModule(str(tmp_path / "new"), preset="tiny").prepare_data()
    assert calls == []
    TrajectoryDataModule(
        str(tmp_path / "new"), preset="tiny", generate_if_missing=True
    ).prepare_data()
    assert calls and calls[0][0] == str(tmp_path / "new") and calls[0][1]["preset"] == "tiny"


def test_batched_fetch_equals_stacked_items(tiny_data):
    from torch.utils.data import default_collate

    split = open_split(tiny_data / "train")
    ds = WindowDataset(split, window=5, batched=True)
    index = [0, 17, 40, 3, len(ds) - 1]
    fast = ds.__getitems__(index)
    slow = default_collate([ds[i] for i in index])
    assert torch.equal(fast["states"], slow["states"])
    assert torch.equal(fast["actions"], slow["actions"])
    assert isinstance(WindowDataset(split, window=5).__getitems__(index), list)
