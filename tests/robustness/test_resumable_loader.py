"""The pieces that make a mid-epoch resume exact: the epoch-seeded sampler and the loader's state."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from jepa_world.data.sampling import ResumableLoader, ResumableSampler

DATA = TensorDataset(torch.arange(40))


def _batches(loader: ResumableLoader) -> list[list[int]]:
    return [batch[0].tolist() for batch in loader]


def test_the_order_of_an_epoch_depends_on_the_seed_and_the_epoch_only() -> None:
    first, fresh = ResumableSampler(DATA, seed=3), ResumableSampler(DATA, seed=3)
    list(first)  # epoch 0 drawn by one sampler only
    first.set_epoch(2)
    fresh.set_epoch(2)
    assert list(first) == list(fresh)
    fresh.set_epoch(1)
    assert list(fresh) != list(first)
    assert sorted(first) == list(range(40))


def test_resume_skips_the_samples_already_trained_on_once() -> None:
    sampler = ResumableSampler(DATA, seed=0)
    sampler.set_epoch(4)
    whole = list(sampler)
    sampler.resume(4, 12)
    assert list(sampler) == whole[12:]
    assert list(sampler) == whole  # the next pass over the epoch is whole again
    sampler.resume(4, 12)
    sampler.set_epoch(5)  # the trainer moved on: the skip belonged to epoch 4
    assert len(list(sampler)) == 40


def test_shards_of_two_processes_cover_the_epoch() -> None:
    shards = [list(ResumableSampler(DATA, num_replicas=2, rank=r, seed=1)) for r in (0, 1)]
    assert sorted(shards[0] + shards[1]) == list(range(40))


def _loader(progress: tuple[int, bool], batch_size: int = 4) -> ResumableLoader:
    return ResumableLoader(
        DATA,
        batch_size=batch_size,
        drop_last=True,
        sampler=ResumableSampler(DATA, seed=0),
        progress=lambda: progress,
    )


def test_the_loader_state_resumes_mid_epoch_and_after_a_finished_epoch() -> None:
    interrupted = _loader((3, False))
    interrupted.sampler.set_epoch(2)
    whole = _batches(interrupted)
    state = interrupted.state_dict()
    assert state == {
        "epoch": 2,
        "batches": 3,
        "finished": False,
        "batch_size": 4,
        "num_replicas": 1,
    }

    resumed = _loader((0, False))
    resumed.load_state_dict(state)
    assert _batches(resumed) == whole[3:]
    assert len(resumed) == 10  # the epoch keeps its length: the trainer counts the batches done

    after_epoch = _loader((0, False))
    after_epoch.load_state_dict({**state, "finished": True})
    expected = _loader((0, False))
    expected.sampler.set_epoch(3)
    assert _batches(after_epoch) == _batches(expected)


def test_a_different_batch_size_restarts_the_epoch_with_a_warning() -> None:
    resumed = _loader((0, False), batch_size=8)
    with pytest.warns(UserWarning, match="restarts from its first batch"):
        resumed.load_state_dict(
            {"epoch": 1, "batches": 3, "finished": False, "batch_size": 4, "num_replicas": 1}
        )
    assert len(_batches(resumed)) == 5


def test_the_loader_needs_the_resumable_sampler() -> None:
    with pytest.raises(TypeError, match="ResumableSampler"):
        ResumableLoader(DATA, batch_size=4)
