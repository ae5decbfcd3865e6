"""Work done by one process of a multi-process run, its numbers shared with every process.

Evaluation during training (planning, and the probers of probing) is run on global rank 0 only: it needs no
gradients and every process would compute the same thing. The numbers are then broadcast, so
every process logs the same values, and a failure on rank 0 is raised on every rank instead of
leaving the others waiting on a collective that never comes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import lightning.pytorch as pl

#: Status with which rank 0 tells the other ranks that its work failed.
ERROR_KEY = "__error__"

T = TypeVar("T")


def run_on_rank_zero(trainer: pl.Trainer, work: Callable[[], T], owner: str) -> T:
    """Run ``work`` on global rank 0 and return its result (picklable) on every rank.

    Every rank must call this at the same point (it takes part in one broadcast). If ``work``
    raises on rank 0, rank 0 re-raises that exception and the other ranks raise a
    ``RuntimeError`` naming ``owner`` and the error.
    """
    payload: tuple[str, Any] | None = None
    failure: BaseException | None = None
    if trainer.is_global_zero:
        try:
            payload = ("ok", work())
        except Exception as err:  # told to every rank below, then raised everywhere
            failure = err
            payload = (ERROR_KEY, f"{type(err).__name__}: {err}")
    payload = trainer.strategy.broadcast(payload, src=0)
    assert payload is not None
    status, value = payload
    if status == ERROR_KEY:
        if failure is not None:
            raise failure
        raise RuntimeError(f"{owner} failed on rank 0: {value}")
    return value


def log_on_every_rank(module: pl.LightningModule, values: Mapping[str, float]) -> None:
    """Log epoch-level ``values`` that every rank holds identically.

    ``sync_dist`` averages identical values (no change) and stops Lightning warning, under DDP,
    that epoch metrics are not reduced.
    """
    for key, value in values.items():
        module.log(key, float(value), on_step=False, on_epoch=True, sync_dist=True)
