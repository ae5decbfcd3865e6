"""run_on_rank_zero: rank 0 works, every rank gets its numbers or its failure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from jepa_world.rank_zero import run_on_rank_zero


def fake_trainer(rank: int, rank_zero_payload: dict | None = None) -> SimpleNamespace:
    """A trainer of a two-process run; its broadcast hands out what rank 0 sent."""

    def broadcast(obj, src=0):
        return obj if rank == 0 else rank_zero_payload

    return SimpleNamespace(is_global_zero=rank == 0, strategy=SimpleNamespace(broadcast=broadcast))


def test_only_rank_zero_works_and_every_rank_gets_its_numbers():
    calls = []

    def work():
        calls.append(1)
        return {"probe/normal": 0.5}

    assert run_on_rank_zero(fake_trainer(0), work, "Owner") == {"probe/normal": 0.5}
    assert calls == [1]
    broadcast = ("ok", {"probe/normal": 0.5})  # what rank 0 sent
    assert run_on_rank_zero(fake_trainer(1, broadcast), work, "Owner") == {"probe/normal": 0.5}
    assert calls == [1]


def test_a_failure_on_rank_zero_is_raised_on_every_rank():
    def work():
        raise ValueError("no probe data")

    with pytest.raises(ValueError, match="no probe data"):
        run_on_rank_zero(fake_trainer(0), work, "ProbingCallback")
    # What rank 0 broadcast when it failed reaches the other ranks as an error naming the owner.
    sent = []

    def capture(obj, src=0):
        sent.append(obj)
        return obj

    trainer = SimpleNamespace(is_global_zero=True, strategy=SimpleNamespace(broadcast=capture))
    with pytest.raises(ValueError):
        run_on_rank_zero(trainer, work, "ProbingCallback")
    with pytest.raises(
        RuntimeError, match="ProbingCallback failed on rank 0: ValueError: no probe"
    ):
        run_on_rank_zero(fake_trainer(1, sent[0]), work, "ProbingCallback")
