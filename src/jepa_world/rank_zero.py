"""Work done by one process of a multi-process run, its numbers shared with every process.

Evaluation during training (probing, planning) is run on global rank 0 only: it needs no
gradients and every process would compute the same thing. The numbers are then broadcast, so
every process logs the same values, and a failure on rank 0 is raised on every rank instead of
leaving the others waiting on a collective that never comes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import lightning.pytorch as pl

#: Key under which rank 0 tells the other ranks that its work failed.
ERROR_KEY = "__error__"


def run_on_rank_zero(
    trainer: pl.Trainer, work: Callable[[], Mapping[str, float]], owner: str
) -> dict[str, float]:
    """Run ``work`` on global rank 0 and return its numbers on every rank.

    Every rank must call this at the same point (it takes part in one broadcast). If ``work``
    raises on rank 0, rank 0 re-raises that exception and the other ranks raise a
    ``RuntimeError`` naming ``owner`` and the error.
    """
    payload: dict[str, float | str] | None = None
    failure: BaseException | None = None
    if trainer.is_global_zero:
        try:
            payload = {key: float(value) for key, value in work().items()}
        except Exception as err:  # told to every rank below, then raised everywhere
            failure = err
            payload = {ERROR_KEY: f"{type(err).__name__}: {err}"}
    payload = trainer.strategy.broadcast(payload, src=0)
    assert payload is not None
    if ERROR_KEY in payload:
        if failure is not None:
            raise failure
        raise RuntimeError(f"{owner} failed on rank 0: {payload[ERROR_KEY]}")
    return {key: float(value) for key, value in payload.items()}


def log_on_every_rank(module: pl.LightningModule, values: Mapping[str, float]) -> None:
    """Log epoch-level ``values`` that every rank holds identically.

    ``sync_dist`` averages identical values (no change) and stops Lightning warning, under DDP,
    that epoch metrics are not reduced.
    """
    for key, value in values.items():
        module.log(key, float(value), on_step=False, on_epoch=True, sync_dist=True)
